"""NetViz versus Lucent (torch-lucent) on the same class-visualization problem, in one process.

Run it with the interpreter of a venv that has torch-lucent (never NetViz's own venv:
Lucent is not a NetViz dependency)::

    .venv-bench/bin/python benchmarks/lucent_compare.py --iterations 50
    python -m benchmarks.bench --lucent-python .venv-bench/bin/python   # runs this and adds its line

Both sides get the same frozen model (``netviz_core.models.load_model``, so the same
weights and layout), the class-logit objective, 224 px (the model's input size), the
same transform (a random roll of up to ``--jitter`` pixels, then the model's
normalisation; Lucent's own jitter crops, so it gets the roll as a custom transform)
and the same number of iterations.  The differences that remain are each library's
parametrisation and step: Lucent optimises a pixel parameter through a sigmoid with
Adam (``param.image(224, fft=False, decorrelate=False)``), NetViz the normalised image
with its normalised-gradient step and clamp.  A hand-written loop (Lucent's recipe
without the library: same parameter, sigmoid, transforms, Adam) shows what Lucent's
machinery costs.  Rounds are interleaved; times are medians of whole runs divided by
the iterations.  Prints one JSON line.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def roll_jitter(pixels: int, gen: torch.Generator):
    def inner(x: torch.Tensor) -> torch.Tensor:
        dy, dx = (int(v) for v in torch.randint(-pixels, pixels + 1, (2,), generator=gen))
        return torch.roll(x, shifts=(dy, dx), dims=(2, 3))

    return inner


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tf_efficientnet_lite0")
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--jitter", type=int, default=16)
    p.add_argument("--target", type=int, default=76)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    from importlib.metadata import version

    from lucent.optvis import param, render

    from netviz_core.classvis import ClassVisRun
    from netviz_core.models import load_model
    from netviz_core.runtime import reuse_freed_memory

    reuse_freed_memory()  # as `python -m benchmarks.bench` does: the same allocator for all three loops

    net = load_model(args.model, device=args.device)
    size = net.input_size[0]
    mean, std, layout = net.mean, net.std, net.memory_format
    n, target = args.iterations, args.target
    to_layout = lambda x: x.contiguous(memory_format=layout)  # noqa: E731  (what NetViz's net(x) does)
    normalize = lambda x: (x - mean) / std  # noqa: E731

    def netviz() -> float:
        t = time.perf_counter()
        for _ in ClassVisRun(net, [target], preset=None, objective="logit", init="noise", iterations=n,
                             l2_weight=0.0, lr=25.0, blur_every=0, blur_sigma=0.0, jitter=args.jitter).frames():
            pass
        return (time.perf_counter() - t) / n

    def lucent() -> float:
        module = copy.deepcopy(net.module)  # render_vis leaves its forward hooks on the model: a fresh copy per run
        gen = torch.Generator().manual_seed(0)
        t = time.perf_counter()
        render.render_vis(module, f"classifier:{target}",
                          param_f=lambda: param.image(size, fft=False, decorrelate=False),
                          transforms=[roll_jitter(args.jitter, gen), normalize, to_layout], thresholds=(n,),
                          preprocess=False, progress=False, show_image=False)
        return (time.perf_counter() - t) / n

    def plain() -> float:
        gen = torch.Generator().manual_seed(0)
        jitter = roll_jitter(args.jitter, gen)
        t = time.perf_counter()
        pixels = (torch.randn(1, 3, size, size) * 0.01).to(args.device).requires_grad_(True)
        opt = torch.optim.Adam([pixels], lr=5e-2)
        for _ in range(n):
            opt.zero_grad()
            logits = net.module(to_layout(normalize(jitter(torch.sigmoid(pixels)))))
            loss = -logits[:, target].mean()
            loss.backward()
            opt.step()
        return (time.perf_counter() - t) / n

    small = max(2, n // 10)
    n_saved, n = n, small
    for fn in (netviz, lucent, plain):  # warm-up
        fn()
    n = n_saved
    times = {"netviz": [], "lucent": [], "plain": []}
    for _ in range(args.rounds):
        for name, fn in (("netviz", netviz), ("lucent", lucent), ("plain", plain)):
            times[name].append(fn())
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = lambda a, b: statistics.median([x / y for x, y in zip(times[a], times[b])])  # noqa: E731
    print(json.dumps({
        "model": args.model, "size": size, "iterations": n, "rounds": args.rounds, "jitter": args.jitter,
        "target": target, "lucent_version": version("torch-lucent"), "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "netviz_step_s": med["netviz"], "lucent_step_s": med["lucent"], "plain_step_s": med["plain"],
        "netviz_over_lucent": ratio("netviz", "lucent"), "lucent_over_plain": ratio("lucent", "plain"),
        "netviz_over_plain": ratio("netviz", "plain"), "per_round": times,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
