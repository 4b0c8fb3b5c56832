"""``netviz classvis --target C --out img.png``: the image a classifier scores highest for a class.

With several ``--target`` options all classes are optimised in one batch and
``--out``/``--gif`` name one file per target: ``img.png`` becomes
``img-076-tarantula.png``, ``img-001-goldfish.png``, ... (the class index, zero
padded to three digits, and the class's first name).  With one target the files
are written exactly where ``--out``/``--gif`` say.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .common import (add_model_arguments, add_preset_argument, add_settings_arguments, load_model_from_args,
                     print_json, settings_from_args)


def register(sub) -> None:
    # The flags, their ranges and help, and the presets come from ClassVisSettings' declarations.
    from ..classvis import ClassVisSettings

    p = sub.add_parser(
        "classvis",
        help="generate the image a class scores highest (class visualization)",
        description="Class visualization: gradient ascent on an image to maximise a class score "
        "(Simonyan et al. 2014; Olah et al. 2017; Fel et al. 2023; CS231n). " + __doc__.split("\n\n")[1].replace("\n", " "),
    )
    p.add_argument("--target", "-t", action="append", required=True, metavar="CLASS",
                   help="class index or name; repeat for several classes (optimised together)")
    add_preset_argument(p, ClassVisSettings)
    add_settings_arguments(p, ClassVisSettings, default_text="default: the preset's")
    p.add_argument("--out", "-o", required=True, help="PNG file for the final image (one per target, see above)")
    p.add_argument("--gif", default=None, help="also write the evolution as an animated GIF (one per target)")
    p.add_argument("--size", type=int, default=None,
                   help="side of the written PNG in pixels (default: the model's input size; upscaled nearest)")
    p.add_argument("--transfer", action="store_true",
                   help="also report the probability the other bundled backbones give each image")
    p.add_argument("--json", action="store_true", help="print the settings and results as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_model_arguments(p)
    p.set_defaults(func=run)


def output_paths(path: str | Path, targets, names) -> list[Path]:
    """``--out``/``--gif`` for each target: the path itself for one target, else stem-IDX-name.suffix."""
    p = Path(path)
    if len(targets) == 1:
        return [p]
    return [p.with_name(f"{p.stem}-{t:03d}-{_slug(n)}{p.suffix}") for t, n in zip(targets, names)]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "class"


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..classvis import ClassVisRun, ClassVisSettings, upscale
    from ..errors import ClassVisualizationError

    if args.size is not None and args.size < 1:
        raise ClassVisualizationError(f"--size must be 1 or more pixels, got {args.size}.")
    settings = ClassVisSettings.from_preset(args.preset, **settings_from_args(args, ClassVisSettings))
    net = load_model_from_args(args)
    run_ = ClassVisRun(net, args.target, settings)
    s = run_.settings
    bar = tqdm(total=s.iterations, desc="classvis", unit="step", file=sys.stderr, disable=args.no_progress)
    frames = run_.frames()
    try:
        for frame in frames:
            bar.n = frame.step
            bar.set_postfix(p=f"{float(frame.probabilities.min()):.3f}", refresh=False)
            bar.refresh()
    finally:
        frames.close()
        bar.close()
    result = run_.result(transfer=args.transfer)

    outs = output_paths(args.out, s.targets, result.class_names)
    for out, im in zip(outs, result.images):
        out.parent.mkdir(parents=True, exist_ok=True)
        (upscale(im, args.size) if args.size else im).save(out)
    gifs = output_paths(args.gif, s.targets, result.class_names) if args.gif else []
    for i, gif in enumerate(gifs):
        gif.parent.mkdir(parents=True, exist_ok=True)
        result.save_gif(gif, i)

    if args.json:
        summary = result.as_dict()
        for i, entry in enumerate(summary["targets"]):
            entry["out"] = str(outs[i])
            if gifs:
                entry["gif"] = str(gifs[i])
        print_json(summary)
        return 0
    print(f"{net.label}, preset {s.preset}, {result.steps} steps in {result.elapsed_s:.1f} s")
    others = list(result.transfer)
    for i, (t, name) in enumerate(zip(s.targets, result.class_names)):
        line = f"{t:>4} {name:<24} P={result.probabilities[i]:.3f} (8-bit PNG {result.probabilities_8bit[i]:.3f})"
        line += "".join(f"  {m}={result.transfer[m][i]:.3f}" for m in others)
        print(f"{line}  -> {outs[i]}" + (f", {gifs[i]}" if gifs else ""))
    return 0
