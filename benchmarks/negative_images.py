"""Negative images (Addepalli et al. sec. 4.1): are both classes in the generating model's top 5?

Five pairs of classes, chosen before any tuning (goldfish + hen, the issue's example,
then pairs of distinct shapes and colours spread over ImageNet), each fused on
tf_efficientnet_lite0 on a preset's recipe (``--preset``; default ``lucid``, the
impressions' default, with the switch t and the radius schedule at half the joint run;
``paper``: pixels, with the settings of the old test: t and the radius schedule
compressed to 20 steps, random transforms off), in two ways:

* sequential (the paper's recipe, the old default): the first class grown from the
  left third for ``--first`` steps, then the second from the right third for ``--second``;
* together (the default now): both grown at once for ``--together`` steps from
  their two centres, objective log P_first + log P_second, for ``--seeds`` seeds.

Prints both classes' ranks and probabilities of the saved 8-bit image and the top 5, and
both classes' ranks on the two bundled backbones that did not make the image (lite1, lite2),
writes benchmarks/results/negative_images.md (``--preset paper``: negative_images_paper.md)
and the images (seed 0) to benchmarks/results/negative_images/<preset>_<growth>_<a>_<b>.png.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/negative_images.py [--together 100] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: goldfish + hen (the issue's example), flamingo + golden retriever, analog clock + Granny Smith,
#: ostrich + volcano, monarch + school bus.
PAIRS = ((1, 8), (130, 207), (409, 948), (9, 980), (323, 779))
SETTINGS = {"paper": dict(t_switch=20, radius_iterations=20, transforms=False)}
HEADER = [
    "| growth | seed | first | second | rank first | rank second | P first | P second | both in top 5 | top 5 "
    "| ranks on lite1 | ranks on lite2 | CPU s |",
    "|---|---:|---|---|---:|---:|---:|---:|---|---|---|---|---:|",
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", type=int, default=40, help="sequential: steps of the first class")
    ap.add_argument("--second", type=int, default=12, help="sequential: steps of the second class")
    ap.add_argument("--together", type=int, default=100, help="together: steps of the joint run")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the joint runs")
    ap.add_argument("--preset", default="lucid", choices=("lucid", "paper"))
    ap.add_argument("--no-sequential", action="store_true", help="only the joint runs")
    ap.add_argument("--out", default=None, help="default: benchmarks/results/negative_images[_paper].md")
    args = ap.parse_args(argv)

    from netviz_core.classify import predict_proba
    from netviz_core.images import deprocess_batch, preprocess
    from netviz_core.impressions import ImpressionSettings, negative_image
    from netviz_core.models import load_model_cached

    import torch

    torch.set_num_threads(1)
    settings = SETTINGS.get(args.preset, dict(t_switch=max(1, args.together // 2),
                                             radius_iterations=max(1, args.together // 2)))
    net = load_model_cached("tf_efficientnet_lite0", device="cpu")
    held_out = [load_model_cached(name, device="cpu") for name in ("tf_efficientnet_lite1", "tf_efficientnet_lite2")]

    def ranks_on(model, picture, classes) -> str:
        probs = predict_proba(model, preprocess(model, picture))[0]
        return " / ".join(str(int((probs > probs[c]).sum()) + 1) for c in classes)
    results = ROOT / "benchmarks" / "results"
    if args.out is None:
        args.out = str(results / ("negative_images.md" if args.preset == "lucid" else f"negative_images_{args.preset}.md"))
    img_dir = results / "negative_images"
    img_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        f"Negative images on tf_efficientnet_lite0, preset {args.preset} with {settings}; "
        + ("" if args.no_sequential else f"sequential: {args.first} + {args.second} steps, seed 0; ")
        + f"together: {args.together} steps, seeds {args.seeds}. Ranks and probabilities of the saved 8-bit image.",
        "",
        *HEADER,
    ]
    runs = [] if args.no_sequential else [
        ("sequential", 0, dict(growth="sequential", first_iterations=args.first, second_iterations=args.second))]
    runs += [("together", s, dict(growth="together", iterations=args.together)) for s in args.seeds]
    summary = []
    for growth, seed, kwargs in runs:
        both = 0
        for a, b in PAIRS:
            t0 = time.process_time()
            res = negative_image(net, a, b, ImpressionSettings.preset(args.preset, seed=seed, **settings), **kwargs)
            seconds = time.process_time() - t0
            ok = max(res.ranks) <= 5
            both += ok
            picture = deprocess_batch(net, res.image)[0]
            if seed == 0:
                picture.save(img_dir / f"{args.preset}_{growth}_{a}_{b}.png")
            transfer = " | ".join(ranks_on(m, picture, (a, b)) for m in held_out)
            top5 = ", ".join(f"{i} ({p:.2f})" for i, _, p in res.top5)
            lines.append(f"| {growth} | {seed} | {a} {res.class_names[0][:20]} | {b} {res.class_names[1][:20]} | "
                         f"{res.ranks[0]} | {res.ranks[1]} | {res.probabilities[0]:.3f} | {res.probabilities[1]:.3f} | "
                         f"{'yes' if ok else 'no'} | {top5} | {transfer} | {seconds:.0f} |")
            print(lines[-1], flush=True)
        summary.append(f"- {growth}, seed {seed}: both classes in the top 5 for {both} of {len(PAIRS)} pairs.")
    lines += ["", *summary]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
