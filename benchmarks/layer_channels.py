"""Layer Explorer benchmark: do channel visualizations excite their channel, and what does a channel step cost?

1. Excitation.  For 16 channels of a middle layer of each bundled backbone, one batch
   of 16 feature visualizations (lucid preset, ``--steps`` steps).  Each channel c is
   standardised over every position of the sample photos, z_c = (a − μ_c)/σ_c, since
   a stage output can be negative and ratios of raw means mislead.  For visualization
   i of channel c_i: the rank of c_i among the layer's channels by the image's mean z,
   z of c_i, and its margin over the next most excited channel; against that, the
   highest z that channel reaches on a sample photo.
2. Cost (lite0, interleaved rounds in one process: the machine is shared, so only
   ratios within a round mean something):
   * time per channel image-step of the 16-channel batch against a class-
     visualization step of the same batch (lucid, the engine on the folded net);
   * a class-visualization step with and without the layer machinery (the same
     ClassLogit objective plus a zero-weighted Channel on ``bn2``, the last map, so that
     the pass goes through the layer reader and still computes everything).
3. Pictures for the README: the 16-channel grid of lite0, 4 diverse facets of one
   channel, and a feature accentuation of the cat photo.

Writes benchmarks/results/layer_channels.md, .json and layer_channels/*.png.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/layer_channels.py [--steps 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAYERS = {"tf_efficientnet_lite0": "blocks.3", "tf_efficientnet_lite1": "blocks.3", "tf_efficientnet_lite2": "blocks.3",
          "mobilenetv2_100": "blocks.3"}


def photos(net):
    import torch

    from netviz_core.images import open_image, preprocess

    files = sorted((ROOT / "assets").glob("*.png"))
    return [f.name for f in files], torch.cat([preprocess(net, open_image(f)) for f in files])


def excitation(net, layer: str, channels: list[int], steps: int) -> dict:
    import torch

    from netviz_core import layer_explorer as le

    names, x = photos(net)
    mean, std = le.channel_statistics(net, layer, x)
    z_photos = le.standardised_excitation(net, layer, x, mean, std)  # (photos, C)
    t0 = time.perf_counter()
    result = le.visualize_channels(net, layer, channels, iterations=steps, seed=0)
    elapsed = time.perf_counter() - t0
    z = le.standardised_excitation(net, layer, result.tensors, mean, std)  # (16, C)
    rows = []
    for i, c in enumerate(channels):
        others = torch.cat([z[i, :c], z[i, c + 1:]])
        rank = int((z[i] > z[i, c]).sum()) + 1
        rows.append({"channel": c, "z": float(z[i, c]), "rank": rank, "margin": float(z[i, c] - others.max()),
                     "photo_best_z": float(z_photos[:, c].max())})
    return {"layer": layer, "label": result.layer_label, "steps": steps, "seconds": elapsed, "photos": names,
            "channels": rows, "grid": result.images}


def timed_steps(frames, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        next(frames)
    return (time.perf_counter() - t0) / steps


def costs(net, layer: str, channels: list[int], steps: int, rounds: int) -> dict:
    from netviz_core import classvis
    from netviz_core import layer_explorer as le
    from netviz_core.optimize import engine
    from netviz_core.optimize.folding import input_gradient_model
    from netviz_core.optimize.objectives import Channel, ClassLogit, TotalVariation
    from netviz_core.settings import declarations

    n = len(channels)
    targets = list(range(1, 1 + 50 * n, 50))[:n]
    budget = declarations(classvis.ClassVisSettings)["iterations"].hi  # the longest run: it is stopped after `steps`

    def channel_frames():
        return le.FeatureVisRun(net, layer=layer, channels=tuple(channels), iterations=budget).frames()

    def class_frames(with_layers: bool):
        s = classvis.settings_for("lucid", iterations=budget, targets=tuple(targets), model=net.name)
        parts = classvis.engine_parts(s)
        if with_layers:
            parts["objective"] = ClassLogit() + 0.0 * Channel("bn2", 0) - s.tv_weight * TotalVariation()
        gens = engine.make_generators(0, n)
        x0 = classvis.start_images(net, s, gens)
        return engine.optimize(input_gradient_model(net), x0, targets, generators=gens, **parts)

    runs = {"channel": channel_frames(), "class": class_frames(False), "class+layers": class_frames(True)}
    for frames in runs.values():  # warm up: first steps build caches and allocators
        timed_steps(frames, 2)
    per_round = []
    order = list(runs)
    for r in range(rounds):  # the order turns every round, so that no run always follows the same one
        turn = order[r % len(order):] + order[: r % len(order)]
        per_round.append({name: timed_steps(runs[name], steps) for name in turn})
    for frames in runs.values():
        frames.close()
    ratio = lambda a, b: statistics.median(r[a] / r[b] for r in per_round)  # noqa: E731
    return {
        "batch": n, "steps_per_round": steps, "rounds": rounds,
        "ms_per_step": {k: statistics.median(r[k] for r in per_round) * 1e3 for k in runs},
        "channel_over_class": ratio("channel", "class"),
        "class_with_layers_over_plain": ratio("class+layers", "class"),
        "per_round": per_round,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=32, help="optimisation steps per visualization (default 32)")
    ap.add_argument("--cost-steps", type=int, default=3, help="steps per timing round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", nargs="+", default=list(LAYERS))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--cost-only", action="store_true",
                    help="only the cost rounds: update them in an existing layer_channels.json and .md")
    args = ap.parse_args(argv)

    import torch

    from netviz_core import layer_explorer as le
    from netviz_core.images import open_image
    from netviz_core.models import load_model

    out = Path(args.out)
    if args.cost_only:
        report = json.loads((out / "layer_channels.json").read_text())
        report["load_start"] = os.getloadavg()[0]
        net = load_model("tf_efficientnet_lite0", device="cpu")
        report["cost"] = costs(net, "blocks.3", list(range(0, 80, 5)), args.cost_steps, args.rounds)
        report["load_end"] = os.getloadavg()[0]
        print_cost(report["cost"])
        (out / "layer_channels.json").write_text(json.dumps(report, indent=2))
        args.steps = report["models"]["tf_efficientnet_lite0"]["steps"]
        (out / "layer_channels.md").write_text(markdown(report, args))
        return 0
    pictures = out / "layer_channels"
    pictures.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    report = {"torch": torch.__version__, "threads": torch.get_num_threads(), "load_start": load, "models": {}}
    channels = list(range(0, 80, 5))  # 16 channels spread over the 80 of blocks.3
    for name in args.models:
        net = load_model(name, device="cpu")
        ex = excitation(net, LAYERS[name], channels, args.steps)
        short = name.replace("tf_efficientnet_", "")
        le.contact_sheet([ex["grid"][:8], ex["grid"][8:]], 160).save(pictures / f"{short}_{LAYERS[name]}_grid.png")
        del ex["grid"]
        report["models"][name] = ex
        print(f"{name} {ex['label']}: {args.steps} steps, 16 channels in {ex['seconds']:.1f} s")
        for r in ex["channels"]:
            print(f"  ch {r['channel']:>2}: rank {r['rank']:>2}  z {r['z']:6.1f}  margin {r['margin']:5.1f}  "
                  f"best photo z {r['photo_best_z']:5.1f}")
        if name == "tf_efficientnet_lite0":
            report["cost"] = costs(net, LAYERS[name], channels, args.cost_steps, args.rounds)
            print_cost(report["cost"])
            facets = le.visualize_channels(net, "blocks.3", [34], diversity=4, iterations=args.steps)
            le.contact_sheet([facets.images], 160).save(pictures / "lite0_blocks3_ch34_diversity.png")
            cat = open_image(ROOT / "assets" / "chelsea.png")
            acc = le.accentuate(net, cat, "blocks.3", 34, iterations=args.steps)
            le.contact_sheet([[acc.photo, acc.images[0]]], 224).save(pictures / "lite0_blocks3_ch34_accentuation.png")
            report["accentuation"] = {"photo": acc.start_activations[0], "accentuated": acc.activations[0]}
    report["load_end"] = os.getloadavg()[0]
    report["seconds"] = time.perf_counter() - started
    (out / "layer_channels.json").write_text(json.dumps(report, indent=2))
    (out / "layer_channels.md").write_text(markdown(report, args))
    print(f"wrote {out / 'layer_channels.md'} in {report['seconds']:.0f} s")
    return 0


def print_cost(c: dict) -> None:
    print(f"cost (batch {c['batch']}, ms/step): " + ", ".join(f"{k} {v:.0f}" for k, v in c["ms_per_step"].items())
          + f"; channel/class {c['channel_over_class']:.2f}; class with layer machinery / plain "
          f"{c['class_with_layers_over_plain']:.3f}")


def markdown(report: dict, args) -> str:
    lines = [
        "# Layer Explorer: channel excitation and cost",
        "",
        f"`OMP_NUM_THREADS=1 python benchmarks/layer_channels.py --steps {args.steps}`, cost rounds: "
        f"`--cost-steps {report['cost']['steps_per_round']} --rounds {report['cost']['rounds']}` "
        f"(torch {report['torch']}, {report['threads']} thread(s); a shared 2-core machine, 1-min load "
        f"{report['load_start']:.1f} at the start, {report['load_end']:.1f} at the end: compare ratios, not times). "
        f"{args.steps} lucid steps per visualization (Lucid's default is 512: these are short runs).",
        "",
        "z: a channel's mean activation over the image, in standard deviations of that channel over every "
        "position of the sample photos (" + ", ".join(next(iter(report["models"].values()))["photos"]) + ").",
        "",
        "| model | layer | channels that are the most excited of their layer | median z of the target | "
        "median margin over the next channel (z) | median best z on a photo |",
        "|---|---|---|---|---|---|",
    ]
    for name, ex in report["models"].items():
        rows = ex["channels"]
        top = sum(r["rank"] == 1 for r in rows)
        med = lambda k: statistics.median(r[k] for r in rows)  # noqa: E731
        lines.append(f"| {name} | {ex['label']} | {top} / {len(rows)} | {med('z'):.1f} | {med('margin'):.1f} | "
                     f"{med('photo_best_z'):.1f} |")
    for name, ex in report["models"].items():
        lines += ["", f"{name}, per channel (rank 1 = the most excited channel of the layer):", "",
                  "| channel | rank | z | margin | best photo z |", "|---|---|---|---|---|"]
        lines += [f"| {r['channel']} | {r['rank']} | {r['z']:.1f} | {r['margin']:.1f} | {r['photo_best_z']:.1f} |"
                  for r in ex["channels"]]
    c = report.get("cost")
    if c:
        ms = c["ms_per_step"]
        lines += [
            "",
            f"## Cost (lite0, batch {c['batch']}, median of {c['rounds']} interleaved rounds of "
            f"{c['steps_per_round']} steps)",
            "",
            "| step | ms per step (batch) | ms per image-step |",
            "|---|---|---|",
            f"| channel of blocks.3 (pass stops after blocks.3) | {ms['channel']:.0f} | {ms['channel'] / c['batch']:.1f} |",
            f"| class visualization (lucid, plain pass) | {ms['class']:.0f} | {ms['class'] / c['batch']:.1f} |",
            f"| class visualization through the layer reader (+0·Channel(bn2)) | {ms['class+layers']:.0f} | "
            f"{ms['class+layers'] / c['batch']:.1f} |",
            "",
            f"Channel step / class step: **{c['channel_over_class']:.2f}**; class step through the layer machinery / "
            f"plain: **{c['class_with_layers_over_plain']:.3f}** (medians of the per-round ratios).  A run whose "
            "objective reads no layer but the logits takes the plain pass, `net(x)`, the code path of every run "
            "before the layer machinery existed (tests/optimize/test_layer_objectives.py checks it never calls the "
            "reader).",
        ]
    if "accentuation" in report:
        a = report["accentuation"]
        lines += ["", f"Feature accentuation, lite0 blocks.3 channel 34 on chelsea.png ({args.steps} steps, "
                  f"distance weight 1000): mean activation {a['photo']:.2f} on the photo, {a['accentuated']:.2f} "
                  "accentuated."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
