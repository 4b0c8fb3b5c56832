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

from .common import add_model_arguments, load_model_from_args, print_json


def register(sub) -> None:
    # The choices are the library's registries, so a new preset or part appears here by itself.
    from ..classvis import DEFAULT_PRESET, INITS, OBJECTIVES, PRESETS
    from ..optimize.parametrizations import PARAMETRIZATIONS
    from ..optimize.spectrum import MAGNITUDES
    from ..optimize.steps import OPTIMIZERS

    p = sub.add_parser(
        "classvis",
        help="generate the image a class scores highest (class visualization)",
        description="Class visualization: gradient ascent on an image to maximise a class score "
        "(Simonyan et al. 2014; Olah et al. 2017; Fel et al. 2023; CS231n). " + __doc__.split("\n\n")[1].replace("\n", " "),
    )
    p.add_argument("--target", "-t", action="append", required=True, metavar="CLASS",
                   help="class index or name; repeat for several classes (optimised together)")
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=tuple(PRESETS),
                   help=f"named settings (default {DEFAULT_PRESET}: Fourier parametrization, Lucid's transforms, "
                   "Adam lr 0.05, 256 steps; maco: fixed photo spectrum, phase optimised, random crops, NAdam; "
                   "cs231n: pixels, λ=1e-3, lr=25, 100 iterations, blur σ=0.5 every 10, jitter 16; "
                   "simonyan: pixels from the mean image, L2 only); the options below override it")
    p.add_argument("--iterations", "-n", type=int, default=None, help="number of gradient steps")
    p.add_argument("--l2-weight", dest="l2_weight", type=float, default=None, metavar="LAMBDA",
                   help="λ, the weight of the L2 penalty λ‖I‖²")
    p.add_argument("--blur-every", type=int, default=None, metavar="K", help="blur every K steps (0: never)")
    p.add_argument("--blur-sigma", type=float, default=None, metavar="S", help="blur standard deviation in pixels")
    p.add_argument("--jitter", type=int, default=None, metavar="J", help="random roll of up to J pixels per step")
    p.add_argument("--tv-weight", type=float, default=None, metavar="W",
                   help="weight of the total-variation penalty (0: off)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (normalized: the length of each step; adam/nadam: their step size)")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default=None, help="step rule")
    p.add_argument("--parametrization", choices=tuple(PARAMETRIZATIONS), default=None,
                   help="what is optimised: the pixels, a 1/f-scaled spectrum, or the phase of a fixed spectrum")
    p.add_argument("--magnitude", choices=MAGNITUDES, default=None,
                   help="maco's fixed magnitude spectrum: a 1/f prior or the sample photos' average")
    p.add_argument("--transforms", action=argparse.BooleanOptionalAction, default=None,
                   help="random transforms on the network's input (Lucid's; maco: random crops and noise)")
    p.add_argument("--objective", choices=OBJECTIVES, default=None,
                   help="maximise the unnormalised score S_c (logit) or log P_c (posterior)")
    p.add_argument("--init", choices=INITS, default=None,
                   help="start from random noise or from the zero image plus the training mean")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0); every target uses it")
    p.add_argument("--batch-invariant", action="store_true", default=None,
                   help="one forward/backward per image: bit-identical to separate runs, slower")
    p.add_argument("--out", "-o", required=True, help="PNG file for the final image (one per target, see above)")
    p.add_argument("--gif", default=None, help="also write the evolution as an animated GIF (one per target)")
    p.add_argument("--gif-every", type=int, default=None, metavar="K", help="GIF frame every K steps (default 5)")
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

    from ..classvis import ClassVisRun, upscale
    from ..errors import ClassVisualizationError

    if args.size is not None and args.size < 1:
        raise ClassVisualizationError(f"--size must be 1 or more pixels, got {args.size}.")
    net = load_model_from_args(args)
    run_ = ClassVisRun(
        net, args.target, preset=args.preset, iterations=args.iterations, l2_weight=args.l2_weight,
        blur_every=args.blur_every, blur_sigma=args.blur_sigma, jitter=args.jitter, lr=args.lr,
        tv_weight=args.tv_weight, optimizer=args.optimizer, parametrization=args.parametrization,
        magnitude=args.magnitude, transforms=args.transforms,
        objective=args.objective, init=args.init, seed=args.seed, batch_invariant=args.batch_invariant,
        gif_every=args.gif_every,
    )
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
