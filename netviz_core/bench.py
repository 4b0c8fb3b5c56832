"""``netviz bench``: how fast NetViz is, next to the raw network step it is built on.

Every NetViz figure is divided by the *raw step* measured in the same process,
alternating (raw, NetViz, raw, NetViz, ...; step by step for class visualization),
so that a busy machine slows both sides of a ratio alike.  The raw step is what no
library can avoid: one forward pass of the frozen module and one backward pass to
the input,

    x.requires_grad_(); g = autograd.grad(module(x)[target].sum(), x)

with the input in the layout NetViz feeds the module (``LoadedModel.memory_format``).

What it measures, per model (tf_efficientnet_lite0/1/2 by default):

* class visualization (``ClassVisRun``, the CS231n preset: jitter, L2, normalised
  step, clamp, blur every 10) at batch 1 and batch 8: time per step, alternating
  step by step with the raw step (``interleaved_steps``), and end to end;
* the batching gain: image-iterations per second at batch 8 over batch 1;
* saliency latency (vanilla gradient and Grad-CAM, predicted class, one image);
* fooling (``fool``, CS231n settings) time to success and time per iteration;
* the live view (lite0): the class-visualization page's drawing code (JPEG of the
  upscaled picture, the score chart, the caption) driven by ``netviz_app.live.drive``
  inside Streamlit's ``AppTest`` (every element is marshalled and queued as for a
  browser; no browser), frames drawn per second and the optimiser's speed relative
  to the same run headless;
* layout and thread choices (lite0, batch 1): channels_last versus contiguous
  weights, 1 thread versus the default, the cost of the engine's per-step checks
  and of the torch blur;
* optionally the cold start of the dashboard (``--cold-start``) and Lucent
  (``--lucent-python``, run by ``benchmarks/lucent_compare.py`` in its own venv).

``run_benchmark`` returns a JSON-able dict; ``markdown`` turns it into the table in
benchmarks/results/bench.md.  ``--quick`` (lite0 only, short runs) takes well under
a minute on a quiet 2-core CPU.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
BENCH_MODELS = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
SAMPLE_IMAGE = ROOT / "assets" / "chelsea.png"
#: CS231n's fooling target (stingray) and a class to visualise (tarantula).
FOOL_TARGET = 6
CLASSVIS_TARGETS = (76, 1, 130, 207, 281, 340, 417, 948)

#: Targets the acceptance criteria set (compared in the Markdown and the report).
TARGETS = {
    "classvis_overhead_b1": 1.05,
    "classvis_overhead_b8": 1.05,
    "batch_gain": 1.5,
    "live_fps": 5.0,
    "live_speed": 0.90,
}


# --------------------------------------------------------------------------- timing helpers


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def _times(fn: Callable[[], Any], reps: int, device: torch.device) -> list[float]:
    out = []
    for _ in range(reps):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t)
    return out


def machine_info(device: torch.device) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    from .runtime import reuse_freed_memory

    info = {
        "reuse_freed_memory": reuse_freed_memory(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "python": platform.python_version(),
    }
    return info


def loadavg() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):  # pragma: no cover
        return None


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
    from .classvis import ClassVisRun

    targets = [CLASSVIS_TARGETS[i % len(CLASSVIS_TARGETS)] for i in range(batch)]
    _sync(net.device)
    before = _rusage()
    t0 = time.perf_counter()
    for frame in ClassVisRun(net, targets, preset="cs231n", iterations=iterations).frames():
        pass
    _sync(net.device)
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
    from .classvis import ClassVisRun

    targets = [CLASSVIS_TARGETS[i % len(CLASSVIS_TARGETS)] for i in range(batch)]
    job = ClassVisRun(net, targets, preset="cs231n", iterations=steps + 1)  # no step of these is the last
    frames = job.frames()
    out: dict[str, list[float]] = {"raw": [], "classvis": []}
    try:
        next(frames)  # the start image and its first forward pass
        for _ in range(steps):
            out["raw"].append(_times(raw, 1, net.device)[0])
            out["classvis"].append(_times(lambda: next(frames), 1, net.device)[0])
    finally:
        frames.close()
    return out


def saliency_latency(net, image: torch.Tensor, method: str, reps: int) -> list[float]:
    from .saliency import saliency

    return _times(lambda: saliency(net, image, None, method=method), reps, net.device)


def fooling_run(net, image: torch.Tensor, target: int = FOOL_TARGET) -> dict:
    from .fooling import fool

    _sync(net.device)
    t = time.perf_counter()
    result = fool(net, image, target)
    _sync(net.device)
    elapsed = time.perf_counter() - t
    iters = int(result.iterations)
    return {"time_s": elapsed, "iterations": iters, "quantized_steps": int(result.quantized_steps),
            "success": bool(result.success), "per_iteration_s": elapsed / max(iters, 1)}


def sample_image(net) -> torch.Tensor:
    from .images import open_image, preprocess

    if SAMPLE_IMAGE.exists():
        return preprocess(net, open_image(SAMPLE_IMAGE))
    h, w = net.input_size  # pragma: no cover - assets are part of the repo
    return torch.zeros(1, 3, h, w, device=net.device)


def bench_model(name: str, device: torch.device, *, quick: bool, log: Callable[[str], None]) -> dict:
    from .models import load_model

    t = time.perf_counter()
    net = load_model(name, device=device)
    load_s = time.perf_counter() - t
    rounds = 1 if quick else 3
    steps1, steps8 = (10, 2) if quick else (20, 5)

    raw1, raw8 = raw_step(net, 1), raw_step(net, 8)
    # Warm-up: oneDNN builds its kernels for each shape on first use.
    _times(raw1, 2, device)
    _times(raw8, 1, device)
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
        return _median([mean(r[key]) for r in rounds_])

    def ratio(rounds_: list[dict], a: str, b: str) -> float:
        # Per round, total time of a over total time of b (blur steps included), then the median.
        return _median([sum(r[a]) / sum(r[b]) for r in rounds_])

    out: dict[str, Any] = {
        "model": name,
        "input_size": list(net.input_size),
        "memory_format": "channels_last" if net.memory_format is torch.channels_last else "contiguous",
        "load_s": load_s,
        "raw_step_b1_s": per_step(b1, "raw"),
        "raw_step_b8_s": per_step(b8, "raw"),
        "classvis_b1_step_s": per_step(b1, "classvis"),
        "classvis_b8_step_s": per_step(b8, "classvis"),
        "classvis_b1_end_to_end_step_s": _median([e["end_to_end_s"] for e in e1]),
        "classvis_b8_end_to_end_step_s": _median([e["end_to_end_s"] for e in e8]),
        "classvis_b1_minor_faults_per_step": _median([e["minor_faults_per_step"] for e in e1]),
        "classvis_b8_minor_faults_per_step": _median([e["minor_faults_per_step"] for e in e8]),
        "classvis_b1_system_s_per_step": _median([e["system_s_per_step"] for e in e1]),
        "classvis_b8_system_s_per_step": _median([e["system_s_per_step"] for e in e8]),
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
        try:
            saliency_latency(net, image, method, 1)
            ts = saliency_latency(net, image, method, 3 if quick else 7)
            out[f"saliency_{method}_s"] = _median(ts)
            out[f"saliency_{method}_over_raw"] = out[f"saliency_{method}_s"] / out["raw_step_b1_s"]
        except ImportError as exc:  # pragma: no cover - a checkout without the module
            out[f"saliency_{method}_error"] = str(exc)
    try:
        fool_out = fooling_run(net, image)
        out["fooling"] = fool_out
        out["fooling_iteration_over_raw"] = fool_out["per_iteration_s"] / out["raw_step_b1_s"]
    except ImportError as exc:  # pragma: no cover
        out["fooling_error"] = str(exc)
    log(f"  {name}: classvis/raw b1 {out['classvis_b1_over_raw']:.3f}, b8 {out['classvis_b8_over_raw']:.3f}, "
        f"batch gain {out['batch_gain']:.2f}x")
    return out


# --------------------------------------------------------------------------- layout, threads, per-step extras


def bench_choices(name: str, device: torch.device, *, quick: bool) -> dict:
    """The measurements behind the engine's choices (lite0, batch 1)."""
    from .models import load_model
    from .optimize.engine import _check_finite
    from .optimize.transforms import gaussian_blur

    reps = 3 if quick else 9
    out: dict[str, Any] = {"model": name}
    nets = {fmt: load_model(name, device=device, memory_format=fmt) for fmt in ("contiguous", "channels_last")}
    steps = {fmt: raw_step(net, 1) for fmt, net in nets.items()}
    for fn in steps.values():
        _times(fn, 2, device)
    per = {fmt: [] for fmt in steps}
    for _ in range(1 if quick else 3):  # interleaved
        for fmt, fn in steps.items():
            per[fmt].append(_median(_times(fn, reps, device)))
    out["raw_step_contiguous_s"] = _median(per["contiguous"])
    out["raw_step_channels_last_s"] = _median(per["channels_last"])
    out["channels_last_speedup"] = _median([c / l for c, l in zip(per["contiguous"], per["channels_last"])])

    if device.type == "cpu":
        n = torch.get_num_threads()
        fn = steps["channels_last"]
        if n > 1:
            torch.set_num_threads(1)
            try:
                _times(fn, 1, device)
                one = _median(_times(fn, reps, device))
            finally:
                torch.set_num_threads(n)
            default = _median(_times(fn, reps, device))
            out["threads_default"] = n
            out["raw_step_1_thread_s"] = one
            out["raw_step_default_threads_s"] = default
            out["one_thread_speed"] = default / one

    net = nets["channels_last"]
    x = torch.randn(1, 3, *net.input_size, device=device)
    logits = torch.randn(1, net.num_classes, device=device)

    def checks() -> None:  # what the engine checks per step: logits, gradient, image
        _check_finite(logits, "class scores", 0, "")
        _check_finite(x, "gradient", 0, "")
        _check_finite(x, "image", 0, "")
        logits.softmax(1)

    _times(checks, 3, device)
    out["checks_per_step_s"] = _median(_times(checks, 50, device))
    _times(lambda: gaussian_blur(x, 0.5), 3, device)
    out["blur_s"] = _median(_times(lambda: gaussian_blur(x, 0.5), 50, device))
    out["checks_over_raw"] = out["checks_per_step_s"] / out["raw_step_channels_last_s"]
    out["blur_over_raw_every_10"] = out["blur_s"] / 10 / out["raw_step_channels_last_s"]
    return out


# --------------------------------------------------------------------------- live view


def _live_view_script(model: str, device: str, iterations: int, max_fps: float, rounds: int) -> None:  # pragma: no cover
    """Run inside Streamlit's AppTest: the class-visualization page's live loop, against the same loop not drawing.

    Each round runs the optimiser once headless (the frames only) and once live (the
    page's record + draw through ``netviz_app.live.drive``), in this same script
    thread, so that the ratio compares like with like on a busy machine.
    """
    import time

    import streamlit as st

    from netviz_app import live
    from netviz_app.charts import score_curve
    from netviz_app.media import as_pil, jpeg_bytes
    from netviz_core.classvis import ClassVisRun, upscale
    from netviz_core.images import to_uint8
    from netviz_core.models import load_model_cached

    net = load_model_cached(model, device=device)
    image_slot, chart_slot, status_slot = st.empty(), st.empty(), st.empty()
    keep = live.keep_every(iterations)
    out = []
    for r in range(rounds):
        t = time.perf_counter()
        for _ in ClassVisRun(net, [76], preset="cs231n", iterations=iterations).frames():
            pass
        headless_s = time.perf_counter() - t

        job = ClassVisRun(net, [76], preset="cs231n", iterations=iterations)
        run = live.begin("bench", ("bench", r), job)
        spent = {"draw": 0.0}

        def record(run, frame) -> None:
            run.history.append((float(frame.scores[0]), float(frame.probabilities[0])))
            if frame.step % keep == 0 or frame.final:
                run.steps.append(frame.step)
                run.pictures.append(to_uint8(net, frame.images[:1])[0])

        def draw(run) -> None:  # what app_pages/3_class_visualization.py draws while running
            t = time.perf_counter()
            step = run.steps[-1] if run.steps else 0
            image_slot.image(jpeg_bytes(upscale(as_pil(run.pictures[-1]), 448)), caption=f"step {step}", width=448)
            chart_slot.plotly_chart(score_curve({"S_c": [h[0] for h in run.history]}),
                                    key=f"bench_chart_{r}_{run.drawn}")
            rate = run.seen / max(run.elapsed, 1e-6)
            s, p = run.history[-1]
            status_slot.caption(f"running: step {len(run.history) - 1}/{iterations}, S_c {s:.2f}, P {p:.1%}, "
                                f"{rate:.1f} steps/s")
            spent["draw"] += time.perf_counter() - t

        t = time.perf_counter()
        live.drive(run, job.frames(), record, draw, max_fps=max_fps)
        live_s = time.perf_counter() - t
        out.append({"seen": run.seen, "drawn": run.drawn, "elapsed_s": live_s, "headless_s": headless_s,
                    "draw_s": spent["draw"]})
    st.session_state["bench_live"] = out


def bench_live_view(name: str, device: torch.device, *, quick: bool) -> dict:
    """Frames drawn per second and the optimiser's speed while drawing, relative to the same loop headless."""
    try:
        from streamlit.testing.v1 import AppTest
    except ImportError as exc:  # pragma: no cover - streamlit is a dashboard dependency
        return {"error": f"streamlit is not installed: {exc}"}
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        import netviz_app.live  # noqa: F401
    except ImportError as exc:  # pragma: no cover
        return {"error": f"the dashboard package netviz_app is not importable: {exc}"}
    from .models import load_model_cached

    iterations, rounds = (25, 1) if quick else (60, 5)
    max_fps = 8.0
    net = load_model_cached(name, device=str(device))
    classvis_run(net, 1, 2)  # warm-up
    at = AppTest.from_function(_live_view_script, default_timeout=1200,
                               kwargs=dict(model=name, device=str(device), iterations=iterations, max_fps=max_fps,
                                           rounds=rounds))
    at.run()
    if at.exception:
        return {"error": "; ".join(str(e.message) for e in at.exception)}
    runs = [dict(r) for r in at.session_state["bench_live"]]
    headless_rate = _median([iterations / r["headless_s"] for r in runs])
    # Per round, live over headless (neighbours in time); the figure is their median.
    per_round = [(r["seen"] / r["elapsed_s"]) / (iterations / r["headless_s"]) for r in runs]
    return {
        "model": name,
        "iterations": iterations,
        "rounds": rounds,
        "max_fps": max_fps,
        "frames_per_s": _median([r["drawn"] / r["elapsed_s"] for r in runs]),
        "steps_per_s_live": _median([r["seen"] / r["elapsed_s"] for r in runs]),
        "steps_per_s_headless": headless_rate,
        "speed_vs_headless": _median(per_round),
        "per_round_speed": per_round,
        "draw_ms": 1e3 * _median([r["draw_s"] / max(r["drawn"], 1) for r in runs]),
        "draw_share": _median([r["draw_s"] / r["elapsed_s"] for r in runs]),
        "step_s": 1 / headless_rate,
        # The goal: >= 5 drawn frames/s, or every step when a step takes longer than 200 ms.
        "fps_goal": min(TARGETS["live_fps"], headless_rate),
    }


# --------------------------------------------------------------------------- cold start


def cold_start(timeout: float = 180.0, port: int = 8599) -> dict:
    """Seconds from ``streamlit run app.py`` to the health check, and to the first page drawn (headless Chromium)."""
    import urllib.request

    app = ROOT / "app.py"
    if not app.exists():
        return {"error": "app.py not found"}
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, Any] = {}
    try:
        url = f"http://localhost:{port}"
        while time.perf_counter() - t0 < timeout:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            return {"error": f"no health check within {timeout:.0f} s"}
        out["health_s"] = time.perf_counter() - t0
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            out["error"] = "playwright is not installed: only the health check was timed"
            return out
        chromium = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(headless=True, executable_path=chromium,
                                         args=["--headless", "--no-sandbox", "--disable-gpu",
                                               "--disable-background-networking", "--disable-component-update",
                                               "--no-first-run"])
            try:
                page = browser.new_page()
                t1 = time.perf_counter()
                page.goto(url)
                # Drawn: the default page's title is there and the first script run (which loads the
                # default model in the sidebar) has finished: Streamlit's "Running..." widget is gone.
                page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=timeout * 1e3)
                out["title_s"] = time.perf_counter() - t0
                # The top-5 table: the model is loaded and has classified the sample image.
                page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=timeout * 1e3)
                out["top5_s"] = time.perf_counter() - t0
                page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout * 1e3)
                out["first_page_s"] = time.perf_counter() - t0
                out["page_after_health_s"] = time.perf_counter() - t1
            finally:
                browser.close()
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()


# --------------------------------------------------------------------------- Lucent


def lucent(python: str, model: str, iterations: int, rounds: int) -> dict:
    """Run benchmarks/lucent_compare.py with another interpreter (the venv that has torch-lucent)."""
    script = ROOT / "benchmarks" / "lucent_compare.py"
    if not Path(python).exists():
        return {"error": f"{python} does not exist (make it: see benchmarks/README.md)"}
    cmd = [python, str(script), "--model", model, "--iterations", str(iterations), "--rounds", str(rounds)]
    proc = subprocess.run(cmd, cwd=str(ROOT), capture_output=True, text=True, timeout=1800,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))
    if proc.returncode != 0:
        return {"error": f"lucent_compare.py exited {proc.returncode}: {proc.stderr.strip()[-1500:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the whole benchmark


def run_benchmark(*, quick: bool = False, models: tuple[str, ...] | None = None, device: str | None = None,
                  live_view: bool = True, choices: bool = True, cold: bool = False,
                  lucent_python: str | None = None, log: Callable[[str], None] = print) -> dict:
    from .models import default_device

    dev = torch.device(device) if device else default_device()
    models = tuple(models) if models else ((BENCH_MODELS[0],) if quick else BENCH_MODELS)
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": machine_info(dev), "quick": quick, "loadavg_start": loadavg(),
                              "targets": TARGETS, "models": []}
    log(f"netviz bench on {result['machine']['cpu']} ({result['machine']['cores']} cores), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {dev}; load {result['loadavg_start']}")
    for name in models:
        result["models"].append(bench_model(name, dev, quick=quick, log=log))
    if choices:
        log("  layout / threads / per-step extras ...")
        result["choices"] = bench_choices(models[0], dev, quick=quick)
    if live_view:
        log("  live view ...")
        result["live_view"] = bench_live_view(models[0], dev, quick=quick)
    if lucent_python:
        log("  Lucent ...")
        result["lucent"] = lucent(lucent_python, models[0], 10 if quick else 50, 1 if quick else 3)
    if cold:
        log("  cold start ...")
        result["cold_start"] = cold_start()
    result["loadavg_end"] = loadavg()
    result["total_s"] = time.perf_counter() - started
    return result


def _ms(s: float | None) -> str:
    return "-" if s is None else f"{s * 1e3:.1f}"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"### NetViz benchmark ({'quick' if result.get('quick') else 'full'})",
        "",
        f"{m['date']}; {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable); torch {m['torch']}, "
        f"{m['threads']} threads; device {m['device']}{' (' + m['gpu'] + ')' if m.get('gpu') else ''}; "
        f"Python {m['python']}; 1-min load average {result.get('loadavg_start')} at the start, "
        f"{result.get('loadavg_end')} at the end; malloc set to reuse freed memory: "
        f"{'yes' if m.get('reuse_freed_memory') else 'no'} (`netviz_core/runtime.py`).",
        "",
        "Every ratio divides a NetViz figure by the raw step (forward + backward to the input of the frozen "
        "module, same input layout) measured in the same process, step by step in alternation; per round the "
        "total times are divided, and the table gives the median over rounds. Class visualization uses the "
        "CS231n preset (jitter 16, L2 1e-3, normalised step 25, clamp, blur every 10).",
        "",
    ]
    models = result["models"]
    head = "| | " + " | ".join(f"{r['model'].replace('tf_efficientnet_', '')} ({r['input_size'][0]} px)"
                               for r in models) + " | target |"
    lines += [head, "|---" * (len(models) + 2) + "|"]

    def row(label: str, fmt: Callable[[dict], str], target: str = "") -> None:
        cells = []
        for r in models:
            try:
                cells.append(fmt(r))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("-")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    row("raw step, batch 1 (ms)", lambda r: _ms(r["raw_step_b1_s"]))
    row("class vis., batch 1 (ms/step)", lambda r: _ms(r["classvis_b1_step_s"]))
    row("**class vis. / raw, batch 1**", lambda r: f"**{r['classvis_b1_over_raw']:.3f}**", "≤ 1.05")
    row("class vis. end to end / raw, batch 1", lambda r: f"{r['classvis_b1_end_to_end_over_raw']:.3f}")
    row("raw step, batch 8 (ms)", lambda r: _ms(r["raw_step_b8_s"]))
    row("class vis., batch 8 (ms/step)", lambda r: _ms(r["classvis_b8_step_s"]))
    row("**class vis. / raw, batch 8**", lambda r: f"**{r['classvis_b8_over_raw']:.3f}**", "≤ 1.05")
    row("class vis. end to end / raw, batch 8", lambda r: f"{r['classvis_b8_end_to_end_over_raw']:.3f}")
    row("**class vis. batch 8 / batch 1, image-iterations/s**", lambda r: f"**{r['batch_gain']:.2f}×**", "≥ 1.5×")
    row("raw step batch 8 / batch 1, images/s", lambda r: f"{r['raw_batch_gain']:.2f}×")
    row("class vis. page faults / system ms per step, batch 1", lambda r: f"{r['classvis_b1_minor_faults_per_step']:.0f}"
        f" / {r['classvis_b1_system_s_per_step'] * 1e3:.1f}")
    row("class vis. page faults / system ms per step, batch 8", lambda r: f"{r['classvis_b8_minor_faults_per_step']:.0f}"
        f" / {r['classvis_b8_system_s_per_step'] * 1e3:.1f}")
    row("saliency, vanilla (ms)", lambda r: _ms(r["saliency_vanilla_s"]))
    row("saliency vanilla / raw", lambda r: f"{r['saliency_vanilla_over_raw']:.2f}")
    row("saliency, Grad-CAM (ms)", lambda r: _ms(r["saliency_gradcam_s"]))
    row("saliency Grad-CAM / raw", lambda r: f"{r['saliency_gradcam_over_raw']:.2f}")
    row("fooling: time to success (ms)", lambda r: f"{_ms(r['fooling']['time_s'])} "
        f"({r['fooling']['iterations']} it.{', fooled' if r['fooling']['success'] else ', NOT fooled'})")
    row("fooling per iteration / raw", lambda r: f"{r['fooling_iteration_over_raw']:.2f}")
    lines.append("")

    live = result.get("live_view")
    if live:
        if "error" in live:
            lines.append(f"Live view: not measured ({live['error']}).")
        else:
            lines.append(
                f"**Live view** ({live['model']}, class visualization, {live['iterations']} steps, drawn at most "
                f"{live['max_fps']:g}/s, in Streamlit's AppTest without a browser): "
                f"**{live['frames_per_s']:.1f} frames/s** drawn (target ≥ 5, or every step when a step > 200 ms), "
                f"optimiser at **{live['speed_vs_headless']:.1%} of its headless speed** (target ≥ 90 %): "
                f"{live['steps_per_s_live']:.1f} vs {live['steps_per_s_headless']:.1f} steps/s; "
                f"one draw {live['draw_ms']:.1f} ms ({live['draw_share']:.1%} of the run).")
        lines.append("")
    ch = result.get("choices")
    if ch:
        text = (f"**Choices** ({ch['model']}, raw step, batch 1): channels_last {_ms(ch['raw_step_channels_last_s'])} ms "
                f"vs contiguous {_ms(ch['raw_step_contiguous_s'])} ms (channels_last "
                f"**{ch['channels_last_speedup']:.2f}×** as fast; NetViz's CPU default is channels_last)")
        if "one_thread_speed" in ch:
            text += (f"; 1 thread {_ms(ch['raw_step_1_thread_s'])} ms vs {ch['threads_default']} threads "
                     f"{_ms(ch['raw_step_default_threads_s'])} ms (1 thread runs at **{ch['one_thread_speed']:.2f}×** "
                     f"the speed of torch's default, which NetViz keeps)")
        text += (f"; the engine's per-step finite checks + softmax {ch['checks_per_step_s'] * 1e6:.0f} µs "
                 f"({ch['checks_over_raw']:.2%} of a step); the torch blur {ch['blur_s'] * 1e6:.0f} µs per call "
                 f"({ch['blur_over_raw_every_10']:.2%} of a step at every 10 steps).")
        lines += [text, ""]
    lu = result.get("lucent")
    if lu:
        if "error" in lu:
            lines.append(f"Lucent: not measured ({lu['error']}).")
        else:
            lines.append(
                f"**Lucent** (torch-lucent {lu.get('lucent_version')}, {lu['model']}, {lu['size']} px, class logit, "
                f"roll-jitter {lu['jitter']}, {lu['iterations']} iterations, same process): NetViz "
                f"{_ms(lu['netviz_step_s'])} ms/iteration, Lucent `render_vis` {_ms(lu['lucent_step_s'])} ms/iteration, "
                f"hand-written loop {_ms(lu['plain_step_s'])} ms/iteration: **NetViz / Lucent = "
                f"{lu['netviz_over_lucent']:.2f}**, Lucent / hand loop = {lu['lucent_over_plain']:.2f}, "
                f"NetViz / hand loop = {lu['netviz_over_plain']:.2f}.")
        lines.append("")
    cs = result.get("cold_start")
    if cs:
        if "first_page_s" in cs:
            top5 = f", to the top-5 table of the sample image {cs['top5_s']:.1f} s" if "top5_s" in cs else ""
            lines.append(f"**Cold start**: `streamlit run app.py` to the health check {cs['health_s']:.1f} s{top5}, to the "
                         f"first page drawn with the default model, all six saliency maps included (headless "
                         f"Chromium) **{cs['first_page_s']:.1f} s**.")
        else:
            lines.append(f"Cold start: {cs}.")
        lines.append("")
    lines.append(f"Benchmark run time {result.get('total_s', 0):.0f} s.")
    return "\n".join(lines) + "\n"


def write_outputs(result: dict, out_dir: str | Path) -> tuple[Path, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = "bench-quick" if result.get("quick") else "bench"
    js, md = out / f"{stem}.json", out / f"{stem}.md"
    js.write_text(json.dumps(result, indent=2) + "\n")
    md.write_text(markdown(result))
    return js, md
