"""``netviz sweep --classes tarantula --lr 0.02 0.05 0.1 --out DIR``: a grid of settings, one picture.

Every combination of the values given to the grid options (the settings of
``netviz_core.atlas.spec.SWEEP_AXES``, each of which takes several values) makes one
image per class on ``--model``.  DIR gets the images and index of an atlas,
a contact sheet per class (``sheet-MODEL-CLASS.png``: the values on the axes, the ranks
under each picture) and ``table.csv``/``table.json`` with the ranks on the held-out
backbones (default: the other bundled ones).  Resumable and ``--ray`` as ``netviz atlas``.
"""

from __future__ import annotations

import argparse

from .atlas import add_job_arguments, add_settings_arguments, drive, overrides_from_args

from ..atlas.spec import SWEEP_AXES as GRID


def register(sub) -> None:
    from ..models import DEFAULT_MODEL

    p = sub.add_parser("sweep", help="a grid of class-visualization settings -> contact sheet and rank table",
                       description=" ".join(__doc__.split("\n\n")[1].split()).replace(
                           "the settings of ``netviz_core.atlas.spec.SWEEP_AXES``",
                           ", ".join("--" + a.replace("_", "-") for a in GRID)))
    add_job_arguments(p)
    p.add_argument("--model", "-m", default=DEFAULT_MODEL, help=f"the generating backbone (default {DEFAULT_MODEL})")
    p.add_argument("--held-out", nargs="*", default=None, metavar="MODEL",
                   help="backbones that rank the images (default: the other bundled ones; none: --held-out alone)")
    add_settings_arguments(p, grid=GRID)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..atlas.sheet import write_sweep_outputs
    from ..atlas.spec import sweep_spec

    grid = {name: getattr(args, name) for name in GRID if getattr(args, name) is not None}
    spec = sweep_spec(args.classes, args.model, grid, args.preset, held_out=args.held_out, gif=args.gif,
                      **overrides_from_args(args, skip=GRID))
    code = drive(args, spec, "sweep")
    outputs = write_sweep_outputs(spec, args.out)
    if not args.json:
        print("contact sheets and table: " + ", ".join(str(p) for p in outputs))
    return code
