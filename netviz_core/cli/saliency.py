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
    from ..saliency.overlay import COLORMAPS, DEFAULT_CLIP_PERCENTILE, DEFAULT_COLORMAP, DEFAULT_OPACITY, DEFAULT_SMOOTH

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
    p.add_argument("--raw", default=None, help="also write the map alone, in the same colours, as this PNG")
    p.add_argument("--opacity", type=float, default=DEFAULT_OPACITY,
                   help=f"heatmap opacity where the map is strongest, 0..1; weaker pixels get proportionally less "
                   f"and the photo shows where the map is 0 (default {DEFAULT_OPACITY:g})")
    p.add_argument("--clip-percentile", type=float, default=DEFAULT_CLIP_PERCENTILE,
                   help=f"this percentile of the map gets the brightest colour, higher values are clipped; "
                   f"100: scaled by the maximum (default {DEFAULT_CLIP_PERCENTILE:g})")
    p.add_argument("--smooth", type=float, default=DEFAULT_SMOOTH,
                   help=f"Gaussian blur of the drawn map, sigma in model-input pixels; the --npy map stays raw "
                   f"(default {DEFAULT_SMOOTH:g}; 0: none)")
    p.add_argument("--colormap", default=DEFAULT_COLORMAP, choices=tuple(COLORMAPS),
                   help=f"colour map (default {DEFAULT_COLORMAP}: perceptually uniform, dark = weak)")
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
    from ..saliency import localize, saliency, to_original_size
    from ..saliency.overlay import DEFAULT_OUTSIDE_SHADE, heatmap, overlay

    if args.out is None and args.raw is None and not args.metrics:
        raise SaliencyError("give --out map.png for the heatmap, --raw for the map alone, --metrics for the trust "
                            "metrics, or several of them.")
    out = Path(args.out) if args.out is not None else None
    if out is not None and out.suffix.lower() != ".png":
        raise SaliencyError(f"--out must be a .png file, got {args.out!r}.")
    if args.npy is not None and Path(args.npy).suffix.lower() != ".npy":
        raise SaliencyError(f"--npy must be a .npy file, got {args.npy!r}.")
    if args.raw is not None and Path(args.raw).suffix.lower() != ".png":
        raise SaliencyError(f"--raw must be a .png file, got {args.raw!r}.")
    if not 0.0 <= args.opacity <= 1.0:
        raise SaliencyError(f"--opacity must be between 0 and 1, got {args.opacity!r}.")
    if not 0.0 < args.clip_percentile <= 100.0:
        raise SaliencyError(f"--clip-percentile must be in (0, 100], got {args.clip_percentile!r}.")
    if not 0.0 <= args.smooth <= 20.0:
        raise SaliencyError(f"--smooth must be between 0 and 20 (model-input pixels), got {args.smooth!r}.")
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
    from ..targets import resolve_targets

    target = resolve_targets(net, target, 1)[0]
    box = localize(maps[0], geometry) if args.box else None
    look = {"colormap": args.colormap, "clip_percentile": args.clip_percentile, "smooth": args.smooth,
            "outside_shade": DEFAULT_OUTSIDE_SHADE}
    if out is not None:
        overlay(image, maps[0], geometry, opacity=args.opacity, box=box, **look).save(out)
    if args.raw is not None:
        heatmap(image, maps[0], geometry, **look).save(args.raw)
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
        "raw": args.raw,
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
          + (f", {args.npy}" if args.npy else "") + (f", {args.raw}" if args.raw else ""))
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
