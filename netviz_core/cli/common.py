"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys

from ..models import DEFAULT_MODEL


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", "-m", default=DEFAULT_MODEL, help=f"timm architecture name (default: {DEFAULT_MODEL})")
    group.add_argument(
        "--weights",
        default=None,
        help="a .safetensors/.pth/.pt weights file, 'random' for an untrained model, or 'hub' "
        "(default: bundled offline weights for tf_efficientnet_lite0/1/2 and mobilenetv2_100, else the Hugging Face hub)",
    )
    group.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")


def load_model_from_args(args: argparse.Namespace):
    """The model the arguments name.  Bundled and hub weights are loaded once per process
    (``load_model_cached``), so a script or notebook that calls ``main`` repeatedly does not
    reload them; random weights are drawn afresh and weights files reloaded when they change."""
    from ..models import RANDOM_WEIGHTS, load_model, load_model_cached

    random_weights = args.weights is not None and str(args.weights).lower() in RANDOM_WEIGHTS
    net = (load_model if random_weights else load_model_cached)(args.model, args.weights, device=args.device)
    if not net.trained:
        print(f"note: {net.label}", file=sys.stderr)
    return net


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2)
    sys.stdout.write("\n")
