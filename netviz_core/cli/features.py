"""``netviz features``: what a layer's channels respond to (the Layer Explorer on the command line).

``--list-layers`` prints the model's layers with their output shapes.  Otherwise the
PNG at ``--out`` holds one row per view of ``--layer``/``--channel``: the channel's
visualization (``--diversity N``: N facets pushed apart), ``--neuron`` adds the centre
unit's, ``--accentuate PHOTO`` the photo beside its accentuation, ``--examples DIR``
the folder's photos that excite the channel most, with its map over them.
"""

from __future__ import annotations

import argparse

from .common import (add_model_arguments, add_preset_argument, add_settings_arguments, load_model_from_args,
                     print_json, settings_from_args)


def register(sub) -> None:
    from ..classvis import ClassVisSettings
    from ..layer_explorer import FeatureVisSettings

    p = sub.add_parser(
        "features",
        help="what a layer, channel or neuron responds to (feature visualization, accentuation, examples)",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1] + " " + " ".join(__doc__.split("\n\n")[1].split()),
    )
    p.add_argument("--list-layers", action="store_true", help="list the model's layers with their shapes and exit")
    p.add_argument("--layer", "-l", default=None, help="layer name, e.g. blocks.3 (see --list-layers)")
    p.add_argument("--channel", "-c", type=int, action="append", default=None,
                   help="channel index (repeat for a row of several channels)")
    p.add_argument("--neuron", action="store_true", help="also visualize the channel's centre unit (a row)")
    p.add_argument("--accentuate", default=None, metavar="PHOTO",
                   help="also accentuate the channel in this photo (Hamblin et al. 2024)")
    p.add_argument("--examples", default=None, metavar="DIR", help="also rank this folder's photos by the channel")
    p.add_argument("--top", type=int, default=4, help="how many ranked examples to show (default 4)")
    add_preset_argument(p, ClassVisSettings)
    add_settings_arguments(p, FeatureVisSettings, default_text="default: the preset's")
    p.add_argument("--size", type=int, default=224, help="side of each picture in the PNG (default 224)")
    p.add_argument("--out", "-o", default=None, help="PNG file for the pictures (required unless --list-layers)")
    p.add_argument("--json", action="store_true", help="print the settings and results as JSON")
    add_model_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import layer_explorer as le
    from ..errors import LayerError
    from ..layers import list_layers

    net = load_model_from_args(args)
    if args.list_layers:
        layers = list_layers(net)
        if args.json:
            print_json({"model": net.name, "layers": [i.as_dict() for i in layers]})
        else:
            print(net.label)
            for info in layers:
                print(f"  {info.label}" + ("" if info.is_feature_map or info.layout == "logits" else f": {info.reason}"))
        return 0
    if not args.layer or not args.channel:
        raise LayerError("Give --layer and --channel (or --list-layers to see the layers).")
    if not args.out:
        raise LayerError("Give --out FILE.png for the pictures.")
    if args.top < 1 or args.size < 1:
        raise LayerError(f"--top and --size must be 1 or more; got {args.top}, {args.size}.")
    # The declared settings the flags gave; the facets and the photo distance belong to their own rows.
    common = settings_from_args(args, le.FeatureVisSettings, skip=("diversity", "diversity_weight", "distance_weight"))
    rows, summary = [], {"model": net.name, "model_label": net.label, "layer": args.layer}
    result = le.visualize_channels(net, args.layer, args.channel, preset=args.preset, diversity=args.diversity,
                                   diversity_weight=args.diversity_weight, **common)
    rows.append(result.images)
    summary.update(layer_label=result.layer_label, visualization=result.as_dict())
    if args.neuron:
        neuron = le.visualize_channels(net, args.layer, args.channel, preset=args.preset, objective="neuron", **common)
        rows.append(neuron.images)
        summary["neuron"] = neuron.as_dict()
    if args.accentuate:
        from ..images import open_image

        photo = open_image(args.accentuate)
        acc = [le.accentuate(net, photo, args.layer, c, preset=args.preset, distance_weight=args.distance_weight,
                             **common) for c in args.channel]
        rows.append([acc[0].photo] + [a.images[0] for a in acc])
        summary["accentuation"] = [a.as_dict() for a in acc]
    if args.examples:
        ranked = {c: le.ranked_examples(net, args.layer, c, args.examples, top=args.top) for c in args.channel}
        for c, examples in ranked.items():
            rows.append([e.overlay for e in examples])
        summary["examples"] = {str(c): [{"name": e.name, "activation": e.activation} for e in ex]
                               for c, ex in ranked.items()}
    from pathlib import Path

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    le.contact_sheet(rows, args.size).save(out)
    summary["out"] = str(out)
    if args.json:
        print_json(summary)
        return 0
    print(f"{net.label}, {result.layer_label}, {result.steps} steps in {result.elapsed_s:.1f} s -> {out}")
    what = "logit" if args.layer == "logits" else "mean activation"
    for c, a in zip(result.channels, result.activations):
        print(f"  {'class' if args.layer == 'logits' else 'channel'} {c}: {what} {a:.3f}")
    for c, ex in summary.get("examples", {}).items():
        print(f"  channel {c} examples: " + ", ".join(f"{e['name']} ({e['activation']:.3f})" for e in ex))
    return 0
