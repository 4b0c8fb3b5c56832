"""The ``netviz`` command line: one subcommand per module in this package.

Each subcommand module defines ``register(subparsers)``, which adds its parser and
sets ``func`` to a function ``(args) -> int``.  Add a module name to
``SUBCOMMANDS`` to add a subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import NetVizError

SUBCOMMANDS = ("classify", "saliency", "fool", "classvis", "impressions")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netviz",
        description="NetViz: what a pretrained image classifier sees (saliency, fooling images, class visualization).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f".{name}", __name__).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ..runtime import reuse_freed_memory

    reuse_freed_memory()  # fewer page faults per optimisation step (netviz_core/runtime.py)
    try:
        return int(args.func(args) or 0)
    except NetVizError as exc:
        print(f"netviz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"netviz {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
