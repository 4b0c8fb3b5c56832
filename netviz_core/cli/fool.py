"""``netviz fool IMAGE --target C --out fooled.png``: a fooling image (Szegedy et al. 2014)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..fooling import DEFAULT_MAGNIFY, FoolingSettings
from ..settings import declarations
from .common import add_model_arguments, add_settings_arguments, load_model_from_args, print_json, settings_from_args

DESCRIPTION = """\
Change IMAGE slightly so that the model classifies it as the target class:
gradient ascent on the target's score, stopping as soon as the model predicts it.
By default each step has length --lr in normalised units (dX = lr*g/||g||);
--linf EPS bounds the change instead (sign steps, |change| <= EPS of 255 per pixel).

Geometry: the fooling image is the model's input, i.e. the centre square of IMAGE
resized to the model's input size (224x224 for tf_efficientnet_lite0), not the
whole picture at its original size.  It is written as an 8-bit PNG that the model
still classifies as the target (checked after rounding; rounding that breaks it
is repaired on the 8-bit grid and reported as quantized_steps).

Exit status: 0 when the saved image is classified as the target, 1 when it is not
(it is saved anyway), 2 on bad input.
"""


def register(sub) -> None:
    p = sub.add_parser(
        "fool", help="make a fooling image for a target class", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", help="image file (PNG, JPEG, ...); its centre square is used")
    p.add_argument("--target", "-t", required=True, help="target class: an index (76) or a name (tarantula)")
    p.add_argument("--out", "-o", required=True, help="where to write the fooling image (.png, at the model's input size)")
    p.add_argument("--diff", default=None, help="also write the change, magnified, as a PNG (128 = no change)")
    p.add_argument("--magnify", type=float, default=DEFAULT_MAGNIFY,
                   help=f"magnification of the --diff picture (default {DEFAULT_MAGNIFY:g})")
    add_settings_arguments(p, FoolingSettings, defaults={n: d.default for n, d in declarations(FoolingSettings).items()})
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_model_arguments(p)
    p.set_defaults(func=run)


def _png_path(path: str, what: str) -> Path:
    from ..errors import FoolingError

    out = Path(path)
    if out.suffix.lower() != ".png":
        # A lossy format would change the pixels, and with them the classification.
        raise FoolingError(f"{what} must be a .png file (lossless), got {path!r}.")
    if not out.parent.exists():
        raise FoolingError(f"The folder of {what} does not exist: {out.parent}")
    return out


def run(args: argparse.Namespace) -> int:
    from ..fooling import fool
    from ..images import open_image

    settings = FoolingSettings(**settings_from_args(args, FoolingSettings))
    out = _png_path(args.out, "--out")
    diff = _png_path(args.diff, "--diff") if args.diff else None
    image = open_image(args.image)
    net = load_model_from_args(args)
    result = fool(net, image, args.target, settings, magnify=args.magnify)
    result.fooling_picture.save(out, format="PNG")
    if diff is not None:
        result.difference_picture.save(diff, format="PNG")
    h, w = net.input_size
    if args.json:
        print_json({"image": args.image, "model": net.name, "model_label": net.label, "out": str(out),
                    "diff": str(diff) if diff else None, "size": [w, h], **result.as_dict()})
    else:
        verdict = "fooled" if result.success else "NOT fooled"
        print(f"{args.image} - {net.label}")
        if result.already_target:
            print(f"note: the image is already classified as the target ({result.target_name}); nothing to change")
        print(f"{verdict}: {result.original_name} -> {result.predicted_name} "
              f"(target {result.target} {result.target_name})")
        print(f"iterations: {result.iterations} ({result.quantized_steps} on the 8-bit grid after rounding)")
        print(f"target probability:   {result.target_probability_before:7.2%} -> {result.target_probability_after:7.2%}")
        print(f"original probability: {result.original_probability_before:7.2%} -> "
              f"{result.original_probability_after:7.2%}")
        print(f"change: L2 {result.l2:.1f}, Linf {result.linf:.0f} (0-255 pixel units)")
        print(f"wrote {out} ({w}x{h}, the model input: centre square of the image, resized)"
              + (f" and {diff} (x{result.magnify:g})" if diff else ""))
    if not result.success:
        print(f"netviz fool: the saved image is not classified as {result.target_name} after "
              f"{result.iterations} iterations; try more --iterations or a larger --linf", file=sys.stderr)
        return 1
    return 0
