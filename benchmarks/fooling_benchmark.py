"""Fooling-image benchmark: success rate, median iterations and median L∞ per model.

Every sample image (assets/*.png) is fooled towards 10 random target classes
(fixed seed; never the image's own prediction) on tf_efficientnet_lite0/1/2 with
the library defaults (normalised step, lr 1, at most 100 iterations).  Sizes are
in 0–255 pixel units, measured on the 8-bit images that are returned (and saved).

    .venv/bin/python benchmarks/fooling_benchmark.py            # full run, a few minutes on a CPU
    .venv/bin/python benchmarks/fooling_benchmark.py --quick    # lite0, 3 targets per image

Writes benchmarks/results/fooling.json (every run, and the summary per model).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from netviz_core.fooling import DEFAULT_ITERATIONS, DEFAULT_LR, fool_batch  # noqa: E402
from netviz_core.images import preprocess  # noqa: E402
from netviz_core.models import load_model  # noqa: E402

MODELS = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
SEED = 0


def random_targets(generator: torch.Generator, count: int, exclude: int, num_classes: int) -> list[int]:
    """``count`` distinct classes drawn uniformly, never ``exclude`` (that would be no fooling at all)."""
    order = torch.randperm(num_classes, generator=generator).tolist()
    return [c for c in order if c != exclude][:count]


def run_model(name: str, images: list[Path], targets_per_image: int, lr: float, iterations: int) -> dict:
    net = load_model(name, device="cpu")
    generator = torch.Generator().manual_seed(SEED)  # same targets for every model
    runs = []
    started = time.perf_counter()
    for path in images:
        x = preprocess(net, path)
        with torch.no_grad():
            own = int(net(x).argmax())
        targets = random_targets(generator, targets_per_image, own, net.num_classes)
        t0 = time.perf_counter()
        # One batch per image: the (image, target) pairs run side by side.
        results = fool_batch(net, x.expand(len(targets), -1, -1, -1), targets, lr=lr, iterations=iterations)
        seconds = time.perf_counter() - t0
        for r in results:
            runs.append({"image": path.name, "target": r.target, "target_name": r.target_name.split(",")[0],
                         "success": r.success, "iterations": r.iterations, "quantized_steps": r.quantized_steps,
                         "linf": r.linf, "l2": r.l2, "target_probability_after": r.target_probability_after})
        print(f"  {name} {path.name}: {sum(r.success for r in results)}/{len(results)} fooled, "
              f"iterations {[r.iterations for r in results]}, {seconds:.0f} s", flush=True)
    return {
        "model": name,
        "runs": runs,
        "summary": {
            "runs": len(runs),
            "success_rate": sum(r["success"] for r in runs) / len(runs),
            "median_iterations": statistics.median(r["iterations"] for r in runs),
            "max_iterations": max(r["iterations"] for r in runs),
            "median_linf": statistics.median(r["linf"] for r in runs),
            "median_l2": statistics.median(r["l2"] for r in runs),
            "quantized_runs": sum(r["quantized_steps"] > 0 for r in runs),
            "seconds": round(time.perf_counter() - started, 1),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="lite0 only, 3 targets per image")
    parser.add_argument("--lr", type=float, default=DEFAULT_LR, help=f"step length (default {DEFAULT_LR})")
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    parser.add_argument("--models", nargs="+", default=None, metavar="MODEL",
                        help=f"models to run (default: {' '.join(MODELS)})")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fooling.json")
    args = parser.parse_args(argv)

    images = sorted((ROOT / "assets").glob("*.png"))
    models = args.models or (MODELS[:1] if args.quick else MODELS)
    per_image = 3 if args.quick else 10
    print(f"fooling benchmark: {len(images)} images x {per_image} targets (seed {SEED}), lr {args.lr}, "
          f"iterations {args.iterations}, torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    reports = []
    for m in models:
        reports.append(run_model(m, images, per_image, args.lr, args.iterations))
        # Written after every model, so that a long run interrupted later keeps what it measured.
        write_json(args, images, per_image, reports, complete=len(reports) == len(models))

    print()
    print(f"{'model':<24}{'runs':>6}{'success':>9}{'med iter':>10}{'max iter':>10}{'med Linf':>10}"
          f"{'med L2':>9}{'8-bit fix':>11}{'seconds':>9}")
    for rep in reports:
        s = rep["summary"]
        print(f"{rep['model']:<24}{s['runs']:>6}{s['success_rate']:>9.0%}{s['median_iterations']:>10g}"
              f"{s['max_iterations']:>10}{s['median_linf']:>10.1f}{s['median_l2']:>9.0f}"
              f"{s['quantized_runs']:>11}{s['seconds']:>9.0f}")

    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


def write_json(args, images: list[Path], per_image: int, reports: list[dict], complete: bool) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "settings": {"images": [p.name for p in images], "targets_per_image": per_image, "seed": SEED,
                     "lr": args.lr, "iterations": args.iterations, "quick": args.quick,
                     "units": "linf and l2 in 0-255 pixel units, on the returned 8-bit images"},
        "environment": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                        "python": platform.python_version(), "machine": platform.machine()},
        "complete": complete,
        "models": reports,
    }, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
