"""The ``netviz`` command line: one subcommand per module in this package.

Each subcommand module defines ``register(subparsers)``, which adds its parser and
sets ``func`` to a function ``(args) -> int``.  Add a module name to
``SUBCOMMANDS`` to add a subcommand.

Exit status: 0 on success, 2 for any error (a bad input, which has its own message, or a
bug, reported in one line; ``--debug`` shows its traceback), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from ..errors import NetVizError

SUBCOMMANDS = ("classify", "saliency", "fool", "classvis", "impressions", "features", "atlas", "sweep")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netviz",
        description="NetViz: what a pretrained image classifier sees (saliency, fooling images, class visualization).",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f".{name}", __name__).register(sub)
    for subparser in sub.choices.values():  # `netviz classify x.png --debug` as well as `netviz --debug classify ...`
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                               help="show the traceback of an unexpected error")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from ..runtime import reuse_freed_memory

        reuse_freed_memory()  # fewer page faults per optimisation step (netviz_core/runtime.py)
        return int(args.func(args) or 0)
    except NetVizError as exc:
        print(f"netviz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"netviz {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if args.debug:
            traceback.print_exc()
        reason = " ".join(str(exc).split()) or "(no message)"
        hint = "" if args.debug else "; run again with --debug to see the traceback"
        print(f"netviz {args.command}: error: unexpected {type(exc).__name__}: {reason} "
              f"(a bug in NetViz, please report it{hint})", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
