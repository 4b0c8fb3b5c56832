"""Negative images (Addepalli et al. sec. 4.1): are both classes in the generating model's top 5?

Five pairs of classes, each fused on tf_efficientnet_lite0 (first class grown from
the left third for ``--first`` steps, then the second from the right third for
``--second``), seed 0, with the settings of the test: the switch t and the radius
schedule compressed to 20 steps, random transforms off.  Prints both classes' ranks and probabilities
of the saved 8-bit image and the top 5, writes benchmarks/results/negative_images.md
and the images to benchmarks/results/negative_images/.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/negative_images.py [--first 40] [--second 8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: goldfish + hen (the issue's blank example), then pairs of distinct shapes and colours.
PAIRS = ((1, 8), (130, 207), (409, 948), (9, 980), (323, 779))
SETTINGS = dict(t_switch=20, radius_iterations=20, transforms=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", type=int, default=40, help="steps of the first class")
    ap.add_argument("--second", type=int, default=12, help="steps of the second class")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "negative_images.md"))
    args = ap.parse_args(argv)

    from netviz_core.images import deprocess_batch
    from netviz_core.impressions import ImpressionSettings, negative_image
    from netviz_core.models import load_model_cached

    net = load_model_cached("tf_efficientnet_lite0", device="cpu")
    img_dir = Path(args.out).with_suffix("")
    img_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        f"Negative images on tf_efficientnet_lite0, {args.first} + {args.second} steps, seed {args.seed}, "
        f"settings {SETTINGS}; ranks and probabilities of the saved 8-bit image.",
        "",
        "| first | second | rank first | rank second | P first | P second | both in top 5 | top 5 | s |",
        "|---|---|---:|---:|---:|---:|---|---|---:|",
    ]
    both = 0
    for a, b in PAIRS:
        t0 = time.perf_counter()
        res = negative_image(net, a, b, ImpressionSettings(seed=args.seed, **SETTINGS), first_iterations=args.first,
                             second_iterations=args.second)
        seconds = time.perf_counter() - t0
        ok = max(res.ranks) <= 5
        both += ok
        deprocess_batch(net, res.image)[0].save(img_dir / f"negative_{a}_{b}.png")
        top5 = ", ".join(f"{i} ({p:.2f})" for i, _, p in res.top5)
        lines.append(f"| {a} {res.class_names[0][:20]} | {b} {res.class_names[1][:20]} | {res.ranks[0]} | "
                     f"{res.ranks[1]} | {res.probabilities[0]:.3f} | {res.probabilities[1]:.3f} | "
                     f"{'yes' if ok else 'no'} | {top5} | {seconds:.0f} |")
        print(lines[-1], flush=True)
    lines += ["", f"Both classes in the top 5 for {both} of {len(PAIRS)} pairs."]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
