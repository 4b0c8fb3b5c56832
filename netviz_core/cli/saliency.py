"""``netviz saliency IMAGE --method M --out map.png``: a saliency map over the image."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_model_arguments, load_model_from_args, print_json

METHOD_NAMES = ("vanilla", "smoothgrad", "guided", "deconvnet", "cam", "gradcam")  # netviz_core.saliency.METHODS


def register(sub) -> None:
    p = sub.add_parser(
        "saliency",
        help="saliency map / CAM / Grad-CAM of an image",
        description="Write a saliency map of IMAGE for a class, as a heatmap over the image (PNG) "
        "and optionally as a float32 array (NPY), both at the original image size.",
    )
    p.add_argument("image", help="image file (PNG, JPEG, ...)")
    p.add_argument("--method", default="vanilla", choices=METHOD_NAMES, help="saliency method (default: vanilla)")
    p.add_argument("--target", "-c", default=None, help="class index or name (default: the predicted class)")
    p.add_argument("--out", "-o", required=True, help="PNG file for the heatmap over the image")
    p.add_argument("--npy", default=None, help="also save the map (height, width) as float32 .npy")
    p.add_argument("--opacity", type=float, default=0.5, help="heatmap opacity, 0..1 (default 0.5; 1: heatmap only)")
    p.add_argument("--box", action="store_true", help="draw and print the localisation box")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_model_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..errors import SaliencyError
    from ..images import open_image, preprocess_with_geometry
    from ..saliency import localize, overlay, saliency, to_original_size

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise SaliencyError(f"--out must be a .png file, got {args.out!r}.")
    if args.npy is not None and Path(args.npy).suffix.lower() != ".npy":
        raise SaliencyError(f"--npy must be a .npy file, got {args.npy!r}.")
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
    overlay(image, maps[0], geometry, opacity=args.opacity, box=box).save(out)
    if args.npy is not None:
        np.save(args.npy, to_original_size(maps[0], geometry).astype(np.float32))
    result = {
        "image": args.image,
        "model": net.name,
        "model_label": net.label,
        "method": args.method,
        "target": {"index": target, "name": net.class_names[target]},
        "out": str(out),
        "npy": args.npy,
        "box": list(box.as_tuple()) if box else None,
    }
    if args.json:
        print_json(result)
        return 0
    print(f"{args.image} - {net.label}")
    print(f"{args.method} map for class {target} ({net.class_names[target]}) -> {out}" + (f", {args.npy}" if args.npy else ""))
    if box is not None:
        print("box (left, top, right, bottom): " + ", ".join(f"{v:.1f}" for v in box.as_tuple()))
    return 0
