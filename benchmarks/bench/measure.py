"""The measurements: the raw step, class visualization, saliency, fooling, and the engine's choices."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch

from netviz_core.classvis import ClassVisRun
from netviz_core.fooling import fool
from netviz_core.images import open_image, preprocess
from netviz_core.models import load_model
from netviz_core.filters import gaussian_blur
from netviz_core.saliency import saliency

from .common import CLASSVIS_TARGETS, FOOL_TARGET, SAMPLE_IMAGE, median, sync, times

# --------------------------------------------------------------------------- the raw step


def raw_step(net, batch: int, targets=None) -> Callable[[], torch.Tensor]:
    """The bare step: forward of the frozen module + backward to the input, nothing else."""
    h, w = net.input_size
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, h, w, generator=gen).to(net.device)
    x = x.contiguous(memory_format=net.memory_format)
    pool = list(targets or CLASSVIS_TARGETS)
    t = torch.as_tensor([pool[i % len(pool)] for i in range(batch)], device=net.device)
    module = net.module

    def step() -> torch.Tensor:
        xi = x.detach().requires_grad_(True)
        logits = module(xi)
        (g,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), xi)
        return g

    return step


# --------------------------------------------------------------------------- NetViz runs


def classvis_run(net, batch: int, iterations: int) -> dict:
    """One whole class-visualization run (CS231n preset): end-to-end seconds, page faults and system time per step."""
    targets = [CLASSVIS_TARGETS[i % len(CLASSVIS_TARGETS)] for i in range(batch)]
    sync(net.device)
    before = _rusage()
    t0 = time.perf_counter()
    for frame in ClassVisRun(net, targets, preset="cs231n", iterations=iterations).frames():
        pass
    sync(net.device)
    end = time.perf_counter()
    after = _rusage()
    steps = frame.step
    return {
        "end_to_end_s": (end - t0) / steps,
        "steps": steps,
        # The whole process over the run: page faults and kernel time per step (see netviz_core/runtime.py).
        "minor_faults_per_step": (after[0] - before[0]) / steps,
        "system_s_per_step": (after[1] - before[1]) / steps,
    }


def _rusage() -> tuple[int, float]:
    """(minor page faults, system CPU seconds) of this process so far."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not Unix
        return 0, 0.0
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_minflt, r.ru_stime


def interleaved_steps(net, batch: int, raw: Callable[[], Any], steps: int) -> dict[str, list[float]]:
    """Seconds per step of the raw step and of a class-visualization run, alternating step by step.

    Each of the ``steps`` rounds times ``raw`` once, then one step of a running
    ``ClassVisRun`` (CS231n preset: every step's jitter, L2, normalised step, clamp,
    the frame's softmax and checks, a GIF snapshot every 5 steps, a blur every 10).
    Neighbouring steps share the machine's load, so their ratio holds on a busy machine.
    """
    targets = [CLASSVIS_TARGETS[i % len(CLASSVIS_TARGETS)] for i in range(batch)]
    job = ClassVisRun(net, targets, preset="cs231n", iterations=steps + 1)  # no step of these is the last
    frames = job.frames()
    out: dict[str, list[float]] = {"raw": [], "classvis": []}
    try:
        next(frames)  # the start image and its first forward pass
        for _ in range(steps):
            out["raw"].append(times(raw, 1, net.device)[0])
            out["classvis"].append(times(lambda: next(frames), 1, net.device)[0])
    finally:
        frames.close()
    return out


def saliency_latency(net, image: torch.Tensor, method: str, reps: int) -> list[float]:
    return times(lambda: saliency(net, image, None, method=method), reps, net.device)


def fooling_run(net, image: torch.Tensor, target: int = FOOL_TARGET) -> dict:
    sync(net.device)
    t = time.perf_counter()
    result = fool(net, image, target)
    sync(net.device)
    elapsed = time.perf_counter() - t
    iters = int(result.iterations)
    return {"time_s": elapsed, "iterations": iters, "quantized_steps": int(result.quantized_steps),
            "success": bool(result.success), "per_iteration_s": elapsed / max(iters, 1)}


def sample_image(net) -> torch.Tensor:
    if SAMPLE_IMAGE.exists():
        return preprocess(net, open_image(SAMPLE_IMAGE))
    h, w = net.input_size  # pragma: no cover - assets are part of the repo
    return torch.zeros(1, 3, h, w, device=net.device)


def bench_model(name: str, device: torch.device, *, quick: bool, log: Callable[[str], None]) -> dict:
    t = time.perf_counter()
    net = load_model(name, device=device)
    load_s = time.perf_counter() - t
    rounds = 1 if quick else 3
    steps1, steps8 = (10, 2) if quick else (20, 5)

    raw1, raw8 = raw_step(net, 1), raw_step(net, 8)
    # Warm-up: oneDNN builds its kernels for each shape on first use.
    times(raw1, 2, device)
    times(raw8, 1, device)
    classvis_run(net, 1, 2)
    classvis_run(net, 8, 1)

    mean = statistics.fmean
    b1, b8, e1, e8 = [], [], [], []
    for r in range(rounds):
        b1.append(interleaved_steps(net, 1, raw1, steps1))
        b8.append(interleaved_steps(net, 8, raw8, steps8))
        e1.append(classvis_run(net, 1, steps1))
        e8.append(classvis_run(net, 8, steps8))
        log(f"  {name} round {r + 1}/{rounds}: raw b1 {mean(b1[-1]['raw']) * 1e3:.1f} ms, "
            f"classvis b1 {mean(b1[-1]['classvis']) * 1e3:.1f} ms; raw b8 {mean(b8[-1]['raw']) * 1e3:.0f} ms, "
            f"classvis b8 {mean(b8[-1]['classvis']) * 1e3:.0f} ms")

    def per_step(rounds_: list[dict], key: str) -> float:
        return median([mean(r[key]) for r in rounds_])

    def ratio(rounds_: list[dict], a: str, b: str) -> float:
        # Per round, total time of a over total time of b (blur steps included), then the median.
        return median([sum(r[a]) / sum(r[b]) for r in rounds_])

    out: dict[str, Any] = {
        "model": name,
        "input_size": list(net.input_size),
        "memory_format": "channels_last" if net.memory_format is torch.channels_last else "contiguous",
        "load_s": load_s,
        "raw_step_b1_s": per_step(b1, "raw"),
        "raw_step_b8_s": per_step(b8, "raw"),
        "classvis_b1_step_s": per_step(b1, "classvis"),
        "classvis_b8_step_s": per_step(b8, "classvis"),
        "classvis_b1_end_to_end_step_s": median([e["end_to_end_s"] for e in e1]),
        "classvis_b8_end_to_end_step_s": median([e["end_to_end_s"] for e in e8]),
        "classvis_b1_minor_faults_per_step": median([e["minor_faults_per_step"] for e in e1]),
        "classvis_b8_minor_faults_per_step": median([e["minor_faults_per_step"] for e in e8]),
        "classvis_b1_system_s_per_step": median([e["system_s_per_step"] for e in e1]),
        "classvis_b8_system_s_per_step": median([e["system_s_per_step"] for e in e8]),
        "classvis_b1_over_raw": ratio(b1, "classvis", "raw"),
        "classvis_b8_over_raw": ratio(b8, "classvis", "raw"),
        "rounds": rounds,
        "iterations": {"b1": steps1, "b8": steps8},
    }
    out["classvis_b1_end_to_end_over_raw"] = out["classvis_b1_end_to_end_step_s"] / out["raw_step_b1_s"]
    out["classvis_b8_end_to_end_over_raw"] = out["classvis_b8_end_to_end_step_s"] / out["raw_step_b8_s"]
    out["batch_gain"] = (8 / out["classvis_b8_step_s"]) / (1 / out["classvis_b1_step_s"])
    out["raw_batch_gain"] = (8 / out["raw_step_b8_s"]) / (1 / out["raw_step_b1_s"])

    image = sample_image(net)
    for method in ("vanilla", "gradcam"):
        saliency_latency(net, image, method, 1)
        out[f"saliency_{method}_s"] = median(saliency_latency(net, image, method, 3 if quick else 7))
        out[f"saliency_{method}_over_raw"] = out[f"saliency_{method}_s"] / out["raw_step_b1_s"]
    out["fooling"] = fooling_run(net, image)
    out["fooling_iteration_over_raw"] = out["fooling"]["per_iteration_s"] / out["raw_step_b1_s"]
    log(f"  {name}: classvis/raw b1 {out['classvis_b1_over_raw']:.3f}, b8 {out['classvis_b8_over_raw']:.3f}, "
        f"batch gain {out['batch_gain']:.2f}x")
    return out


# --------------------------------------------------------------------------- layout, threads, per-step extras


def bench_choices(name: str, device: torch.device, *, quick: bool) -> dict:
    """The measurements behind the engine's choices (lite0, batch 1)."""
    reps = 3 if quick else 9
    out: dict[str, Any] = {"model": name}
    nets = {fmt: load_model(name, device=device, memory_format=fmt) for fmt in ("contiguous", "channels_last")}
    steps = {fmt: raw_step(net, 1) for fmt, net in nets.items()}
    for fn in steps.values():
        times(fn, 2, device)
    per = {fmt: [] for fmt in steps}
    for _ in range(1 if quick else 3):  # interleaved
        for fmt, fn in steps.items():
            per[fmt].append(median(times(fn, reps, device)))
    out["raw_step_contiguous_s"] = median(per["contiguous"])
    out["raw_step_channels_last_s"] = median(per["channels_last"])
    out["channels_last_speedup"] = median([c / l for c, l in zip(per["contiguous"], per["channels_last"])])

    if device.type == "cpu":
        n = torch.get_num_threads()
        fn = steps["channels_last"]
        if n > 1:
            torch.set_num_threads(1)
            try:
                times(fn, 1, device)
                one = median(times(fn, reps, device))
            finally:
                torch.set_num_threads(n)
            default = median(times(fn, reps, device))
            out["threads_default"] = n
            out["raw_step_1_thread_s"] = one
            out["raw_step_default_threads_s"] = default
            out["one_thread_speed"] = default / one

    net = nets["channels_last"]
    x = torch.randn(1, 3, *net.input_size, device=device)
    logits = torch.randn(1, net.num_classes, device=device)

    def checks() -> None:
        # The engine's per-step work beside the passes: one max |value| reduction (read on the host)
        # for each of the logits, the gradient and the image, and the frame's softmax.
        for t in (logits, x, x):
            float(t.detach().abs().amax())
        logits.softmax(1)

    times(checks, 3, device)
    out["checks_per_step_s"] = median(times(checks, 50, device))
    times(lambda: gaussian_blur(x, 0.5), 3, device)
    out["blur_s"] = median(times(lambda: gaussian_blur(x, 0.5), 50, device))
    out["checks_over_raw"] = out["checks_per_step_s"] / out["raw_step_channels_last_s"]
    out["blur_over_raw_every_10"] = out["blur_s"] / 10 / out["raw_step_channels_last_s"]
    return out

