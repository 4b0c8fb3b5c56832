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


# --------------------------------------------------------------------------- settings as flags


def _parser_for(decl):
    """argparse's ``type`` for a declared setting: the word's syntax only; its range is the settings' own check,
    so a value out of range gets the one-line message that names the setting (exit status 2)."""

    def convert(text: str):
        try:
            return decl.parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{decl.words} must be {decl.range_text()}; got {text!r}") from None

    convert.__name__ = {"int": "whole number", "float": "number"}.get(decl.kind, decl.kind)
    return convert


def setting_help(decl, default_text: str | None = None) -> str:
    """A flag's help: the declaration's help, the allowed values, the default."""
    allowed = "" if decl.kind in ("bool", "choice") else f" [{decl.range_text()}]"
    default = default_text if default_text is not None else f"default {decl.default}"
    return f"{decl.help}{allowed} ({default})".replace("%", "%%")


def add_settings_arguments(parser, cls, *, names=None, skip=(), many=(), defaults=None,
                           default_text: str | None = None, title: str | None = None) -> tuple[str, ...]:
    """A flag for every declared setting of the settings class ``cls`` that has one (``Setting.cli``).

    The flag is the name with dashes (``--blur-sigma``) plus the declaration's ``flags``;
    its help, choices and range come from the declaration.  ``names``/``skip`` choose the
    settings, the ``many`` ones take several values (a sweep's axes), ``defaults`` are
    the flags' defaults (otherwise None: the preset's value).  Returns the names added;
    ``settings_from_args`` reads them back.
    """
    from ..settings import declarations

    target = parser.add_argument_group(title) if title else parser
    added = []
    for name, d in declarations(cls).items():
        if not d.cli or (names is not None and name not in names) or name in skip:
            continue
        default = (defaults or {}).get(name)
        said = f"default {default}" if default is not None else default_text or "default: none"
        kw = dict(dest=name, default=default, help=setting_help(d, said))
        if d.kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif d.kind == "choice":
            kw["choices"] = d.choices
            if not all(isinstance(c, str) for c in d.choices):
                kw["type"] = _parser_for(d)
        else:
            kw["type"] = _parser_for(d)
            kw["metavar"] = d.metavar or name.upper()
        if name in many:
            kw["nargs"] = "+"
        target.add_argument(f"--{name.replace('_', '-')}", *d.flags, **kw)
        added.append(name)
    return tuple(added)


def settings_from_args(args: argparse.Namespace, cls, names=None, skip=()) -> dict:
    """The declared settings of ``cls`` that the flags gave (not None), by name."""
    from ..settings import declarations

    return {n: getattr(args, n) for n, d in declarations(cls).items()
            if d.cli and (names is None or n in names) and n not in skip and getattr(args, n, None) is not None}


def add_preset_argument(parser, cls, *, default: str | None = "") -> None:
    """``--preset``: the names and one-line descriptions of ``cls.presets`` (default: its default preset)."""
    presets = cls.presets
    default = presets.default if default == "" else default
    lines = "; ".join(f"{name}: {presets.help[name]}" for name in presets)
    parser.add_argument("--preset", default=default, choices=tuple(presets),
                        help=f"named settings (default {default}): {lines}; the options below override it"
                        .replace("%", "%%"))
