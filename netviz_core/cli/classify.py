"""``netviz classify IMAGE``: the top classes of an image."""

from __future__ import annotations

import argparse

from .common import add_model_arguments, load_model_from_args, print_json


def register(sub) -> None:
    p = sub.add_parser("classify", help="top-k classes of an image", description="Classify an image.")
    p.add_argument("image", help="image file (PNG, JPEG, ...)")
    p.add_argument("--top-k", "-k", type=int, default=5, help="how many classes to show (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_model_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..classify import classify
    from ..images import open_image

    image = open_image(args.image)
    net = load_model_from_args(args)
    result = classify(net, image, top_k=args.top_k)
    if args.json:
        print_json({"image": args.image, "model": net.name, "model_label": net.label, **result.as_dict()})
        return 0
    print(f"{args.image} - {net.label}")
    for rank, (i, name, p) in enumerate(zip(result.indices, result.names, result.probabilities), 1):
        print(f"{rank:>2}. {p:7.2%}  {i:>4}  {name}")
    return 0
