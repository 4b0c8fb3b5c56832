"""``netviz impressions --target C --out img.png``: (saliency-driven) class impressions and negative images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import (add_model_arguments, add_preset_argument, add_settings_arguments, load_model_from_args,
                     print_json, setting_help)
from .common import settings_from_args as declared_from_args


def register(sub) -> None:
    from ..impressions import ImpressionSettings
    from ..settings import declarations

    p = sub.add_parser(
        "impressions",
        help="saliency-driven class impressions (Addepalli et al.) or a fused negative image",
        description="Generate a class impression of a class from the model's memory (no data). "
        "All components of Addepalli et al. are on by default; switch them off to get the plain "
        "class impressions of Mopuri et al. With --fuse C2, grow C and C2 at once from two regions "
        "into one negative image (--growth sequential: C first, then C2, the paper's recipe).",
    )
    p.add_argument("--target", "-t", required=True, help="class index or name fragment (e.g. 1 or goldfish)")
    p.add_argument("--out", "-o", required=True, help="PNG file to write")
    p.add_argument("--fuse", default=None, metavar="C2", help="second class: make a negative image of both")
    p.add_argument("--iterations", "-n", type=int, default=None,  # its range and words are the declaration's
                   help=setting_help(declarations(ImpressionSettings)["iterations"],
                                     "default 300; with --fuse: of the joint run, default 100, or of the first "
                                     "class with --growth sequential, default 40"))
    p.add_argument("--growth", choices=("together", "sequential"), default="together",
                   help="with --fuse: grow both classes at once (default) or one after the other")
    p.add_argument("--fuse-iterations", type=int, default=None,
                   help="with --fuse --growth sequential: steps of the second class (default 12)")
    add_preset_argument(p, ImpressionSettings, default=None)
    p.add_argument("--baseline", action="store_true", help="plain class impressions of Mopuri et al. (all --no-*)")
    # The settings' flags (--tv/--no-tv, --c2, --t-switch ...) come from their declarations; --iterations is
    # above (with --fuse it counts the negative image's steps).
    add_settings_arguments(p, ImpressionSettings, skip=("iterations",), defaults={"seed": 0},
                           default_text="default: the preset's")
    p.add_argument("--settings", default=None, help="JSON file of ImpressionSettings (flags override it)")
    p.add_argument("--transfer", action="store_true", help="also report the target probability on the other bundled models")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_model_arguments(p)
    p.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace):
    from ..errors import ImpressionError
    from ..impressions import ImpressionSettings
    from ..impressions.settings import PRESETS

    if args.settings:
        try:
            text = Path(args.settings).read_text()
        except OSError as exc:
            raise ImpressionError(f"Cannot read the settings file {args.settings} ({exc.strerror}).") from None
        s = ImpressionSettings.from_json(text)
        if args.preset:
            s = s.with_overrides(**PRESETS[args.preset])
    else:
        preset = args.preset or ("paper" if args.parametrization == "pixel" else PRESETS.default)
        s = ImpressionSettings.preset(preset)
    changes = declared_from_args(args, ImpressionSettings, skip=("iterations",))
    if args.baseline:
        changes.update(tv=False, saliency_lr=False, single_object=False)
    if args.iterations is not None and not args.fuse:
        changes["iterations"] = args.iterations
    return s.with_overrides(**changes)


def run(args: argparse.Namespace) -> int:
    from ..errors import ImpressionError
    from ..images import deprocess
    from ..impressions import class_impressions, negative_image
    from ..models import BUNDLED_MODELS, load_model_cached

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ImpressionError(f"--out must be a .png file, got {out.name!r} (a lossy format would change the image).")
    if not out.parent.exists():
        raise ImpressionError(f"The folder of --out does not exist: {out.parent}")
    settings = settings_from_args(args)
    net = load_model_from_args(args)
    target = int(args.target) if args.target.strip().lstrip("-").isdigit() else args.target

    if args.fuse:
        second = int(args.fuse) if args.fuse.strip().lstrip("-").isdigit() else args.fuse
        if args.growth == "together":
            if args.fuse_iterations is not None:
                raise ImpressionError("--fuse-iterations is the second class's steps of --growth sequential; "
                                      "with --growth together give the joint run's steps with --iterations.")
            res = negative_image(net, target, second, settings, growth="together", iterations=args.iterations,
                                 seed=args.seed)
        else:
            res = negative_image(net, target, second, settings, growth="sequential",
                                 first_iterations=args.iterations, second_iterations=args.fuse_iterations,
                                 seed=args.seed)
        deprocess(net, res.image).save(out)
        if args.json:
            print_json({"out": str(out), "model": net.name, **res.as_dict()})
        else:
            print(f"{out} - negative image on {net.label}")
            for name, c, p, r in zip(res.class_names, res.classes, res.probabilities, res.ranks):
                print(f"  {p:7.2%}  rank {r:>4}  {c:>4}  {name}")
            print("  top 5: " + ", ".join(f"{name} {p:.1%}" for _, name, p in res.top5))
        return 0

    transfer = []
    if args.transfer:
        transfer = [load_model_cached(m, device=str(net.device)) for m in BUNDLED_MODELS if m != net.name]

    def progress(frame) -> None:
        if not args.json and (frame.step % 25 == 0 or frame.final):
            print(f"  step {frame.step:>4}  p = {float(frame.probabilities[0]):.3f}", file=sys.stderr)

    res = class_impressions(net, [target], settings, transfer_models=transfer, on_frame=progress)
    deprocess(net, res.images[:1]).save(out)
    if args.json:
        print_json({"out": str(out), "model": net.name, **res.as_dict()})
        return 0
    m = res.metrics[0]
    print(f"{out} - class impression of {res.targets[0]} {res.class_names[0]} on {net.label}")
    print(f"  target probability {m['target_probability']:.2%} (rank {m['target_rank']}), "
          f"single-object score {m['single_object']:.2f}")
    for name, p in m["transfer"].items():
        print(f"  transfer to {name}: {p:.2%}")
    return 0
