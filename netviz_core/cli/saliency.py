"""``netviz saliency IMAGE --method M --out map.png``: a saliency map over the image.

``--metrics`` adds how far the map can be trusted (``netviz_core.saliency.metrics``):
deletion/insertion AUC, ROAD MoRF/LeRF and the randomisation correlation, for the map
and for the random and centre reference maps (``baseline_random``, ``baseline_center``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_model_arguments, load_model_from_args, print_json


def register(sub) -> None:
    from ..saliency import METHODS  # the library's registry is the list of choices

    p = sub.add_parser(
        "saliency",
        help="saliency map / CAM / Grad-CAM of an image",
        description="Write a saliency map of IMAGE for a class, as a heatmap over the image (PNG) "
        "and optionally as a float32 array (NPY), both at the original image size.",
    )
    p.add_argument("image", help="image file (PNG, JPEG, ...)")
    p.add_argument("--method", default="vanilla", choices=tuple(METHODS), help="saliency method (default: vanilla)")
    p.add_argument("--target", "-c", default=None, help="class index or name (default: the predicted class)")
    p.add_argument("--out", "-o", default=None, help="PNG file for the heatmap over the image (required unless --metrics)")
    p.add_argument("--npy", default=None, help="also save the map (height, width) as float32 .npy")
    p.add_argument("--opacity", type=float, default=0.5, help="heatmap opacity, 0..1 (default 0.5; 1: heatmap only)")
    p.add_argument("--box", action="store_true", help="draw and print the localisation box")
    p.add_argument("--metrics", action="store_true",
                   help="also score the map: deletion/insertion AUC, ROAD MoRF/LeRF, randomisation Spearman, "
                   "beside a random and a centre map")
    p.add_argument("--steps", type=int, default=None, help="deletion/insertion steps from 1%% to 100%% (default 16)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_model_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..errors import SaliencyError
    from ..images import open_image, preprocess_with_geometry
    from ..saliency import localize, overlay, saliency, to_original_size

    if args.out is None and not args.metrics:
        raise SaliencyError("give --out map.png for the heatmap, --metrics for the trust metrics, or both.")
    out = Path(args.out) if args.out is not None else None
    if out is not None and out.suffix.lower() != ".png":
        raise SaliencyError(f"--out must be a .png file, got {args.out!r}.")
    if args.npy is not None and Path(args.npy).suffix.lower() != ".npy":
        raise SaliencyError(f"--npy must be a .npy file, got {args.npy!r}.")
    settings = None
    if args.metrics:
        from ..saliency.metrics import MetricSettings

        settings = MetricSettings() if args.steps is None else MetricSettings(steps=args.steps)  # checked before any work
    image = open_image(args.image)
    net = load_model_from_args(args)
    x, geometry = preprocess_with_geometry(net, image)
    target = args.target
    if target is None:
        from ..classify import predict_logits

        target = int(predict_logits(net, x).argmax(1)[0])
    maps = saliency(net, x, target, method=args.method)
    from ..classes import resolve_class

    target = resolve_class(target, net.class_names)
    box = localize(maps[0], geometry) if args.box else None
    if out is not None:
        overlay(image, maps[0], geometry, opacity=args.opacity, box=box).save(out)
    if args.npy is not None:
        np.save(args.npy, to_original_size(maps[0], geometry).astype(np.float32))
    result = {
        "image": args.image,
        "model": net.name,
        "model_label": net.label,
        "method": args.method,
        "target": {"index": target, "name": net.class_names[target]},
        "out": str(out) if out is not None else None,
        "npy": args.npy,
        "box": list(box.as_tuple()) if box else None,
    }
    if args.metrics:
        from ..saliency.metrics import evaluate_method

        scored = evaluate_method(net, x, args.method, target, settings=settings, saliency_map=maps[0])
        result.update(scored[args.method].summary())
        result.update({name: m.summary() for name, m in scored.items() if name != args.method})
    if args.json:
        print_json(result)
        return 0
    print(f"{args.image} - {net.label}")
    print(f"{args.method} map for class {target} ({net.class_names[target]})" + (f" -> {out}" if out else "")
          + (f", {args.npy}" if args.npy else ""))
    if box is not None:
        print("box (left, top, right, bottom): " + ", ".join(f"{v:.1f}" for v in box.as_tuple()))
    if args.metrics:
        print(f"{'map':<16} {'deletion':>9} {'insertion':>9} {'ROAD MoRF':>9} {'ROAD LeRF':>9} {'random. rho':>11}")
        for name in (args.method, "baseline_random", "baseline_center"):
            r = result if name == args.method else result[name]
            rho = "n/a" if r["randomization_spearman"] is None else f"{r['randomization_spearman']:.3f}"
            print(f"{name:<16} {r['deletion_auc']:>9.3f} {r['insertion_auc']:>9.3f} {r['road_morf']:>9.3f} "
                  f"{r['road_lerf']:>9.3f} {rho:>11}")
        print("deletion and ROAD MoRF: lower is better; insertion and ROAD LeRF: higher; randomisation: near 0 is better")
    return 0
