"""Saliency-driven class impressions (SCI) against plain class impressions on tf_efficientnet_lite0.

Ten classes in one batch, the same seeds and iteration budget for both methods (SCI's
pre-CI steps are extra, and the table says how many), on a preset's recipe (default:
``lucid``, the impressions' default: a Fourier image, Lucid's transforms, Adam; ``paper``:
Addepalli et al. on pixels).  Plain CI is the same settings with the three parts of SCI
off (``ImpressionSettings.plain``).  For each saved 8-bit PNG: the target's probability
and rank on lite0 and on the two backbones that did not make it (lite1, lite2), the
single-object score, the mean |Δ| between neighbouring pixels against the sample
photos', and seconds (CPU time of one torch thread; the machine may be shared).

Each method writes ``<out>_<method>.json``; once both exist (same settings) the Markdown
table ``<out>.md`` and a contact sheet ``<out>/sheet.png`` (plain CI above SCI) are
written, so the two methods can run as two processes:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/impressions_table.py --methods plain &
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/impressions_table.py --methods sci

``--iterations`` other than 300 compresses the paper's schedule (t, radius growth, pre-CI)
by iterations / 300, so that the switch at t keeps its place in the run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.classvis_gallery import judge, mean_abs_neighbour_difference, photo_roughness  # noqa: E402

# goldfish, flamingo, golden retriever, analog clock, Granny Smith, ostrich, monarch, zebra, school bus,
# volcano: distinct shapes and colours, fixed before any tuning
CLASSES = (1, 130, 207, 409, 948, 9, 323, 340, 779, 980)
MODELS = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
METHODS = {"plain": "plain CI", "sci": "SCI"}


def settings_for(method: str, preset: str, iterations: int, seed: int, overrides: dict):
    from netviz_core.impressions import ImpressionSettings

    f = iterations / 300.0
    sci = ImpressionSettings.preset(preset, iterations=iterations, seed=seed, **overrides)
    if iterations != 300:
        sci = sci.with_overrides(t_switch=max(1, round(150 * f)), radius_iterations=max(1, round(150 * f)),
                                 preci_iterations=max(1, round(sci.preci_iterations * f)))
    return sci if method == "sci" else sci.plain()


def run_method(method: str, args, overrides: dict, base: Path) -> dict:
    import torch

    from netviz_core.images import deprocess_batch
    from netviz_core.impressions import class_impressions
    from netviz_core.impressions.metrics import single_object_score
    from netviz_core.models import load_model_cached

    torch.set_num_threads(1)
    models = [load_model_cached(m, device="cpu") for m in MODELS]
    net = models[0]
    s = settings_for(method, args.preset, args.iterations, args.seed, overrides)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    res = class_impressions(net, list(args.classes), s, metrics=False)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    base.mkdir(parents=True, exist_ok=True)
    rows = []
    so = single_object_score(net, res.images, res.targets)
    for i, (c, im) in enumerate(zip(res.targets, deprocess_batch(net, res.images))):
        path = base / f"{method}_{c}.png"
        im.save(path)
        rows.append({"class": c, "name": res.class_names[i].split(",")[0], "png": str(path.relative_to(ROOT)),
                     "judged": judge(models, path, c), "single_object": so[i],
                     "roughness": mean_abs_neighbour_difference(im)})
    return {"method": method, "settings": s.to_dict(), "overrides": overrides, "cpu_s": cpu, "wall_s": wall,
            "centres": res.centres, "photo_roughness": photo_roughness(net), "rows": rows}


def summary(result: dict) -> dict:
    rows = result["rows"]
    out = {"single_object": statistics.mean(r["single_object"] for r in rows),
           "roughness": statistics.mean(r["roughness"] for r in rows)}
    for m in MODELS:
        short = m.rsplit("_", 1)[1]
        out[f"p_{short}"] = statistics.mean(r["judged"][m]["p"] for r in rows)
        out[f"median_rank_{short}"] = statistics.median(r["judged"][m]["rank"] for r in rows)
        out[f"top1_{short}"] = sum(r["judged"][m]["rank"] == 1 for r in rows)
    return out


def markdown(results: dict) -> str:
    plain, sci = results["plain"], results["sci"]
    s = sci["settings"]
    photo = sci["photo_roughness"]
    lines = [
        f"Class impressions on tf_efficientnet_lite0, {len(sci['rows'])} classes in one batch, "
        f"{s['iterations']} iterations, seeds {s['seed']}+i, parametrization {s['parametrization']}, "
        f"{s['transform_set']} transforms on the {s['transforms_on']}, lr {s['lr']}; SCI: t = {s['t_switch']}, "
        f"radius 1→{s['radius_max']:g} over {s['radius_iterations']} steps, {s['preci_iterations']} extra pre-CI "
        f"steps at {s['preci_lr']}, λ1 = {s['tv_weight']:g}, the map peaking at {s['lr_map_peak']}, saliency blur "
        f"{s['saliency_sigma']:g} px{', overrides ' + json.dumps(sci['overrides']) if sci['overrides'] else ''}. "
        "Plain CI: the same settings with TV, the saliency-driven rate and the single object off.",
        "Probability (rank) of the target for the saved 8-bit PNG on lite0 (which made it) and on lite1 / lite2 "
        "(held out, the PNG resized to their inputs); single-object = saliency mass in the largest blob; "
        f"mean abs Δ between neighbouring pixels in 0-255 levels (the sample photos at 224 px: {photo:.1f}).",
        "",
        "| class | method | lite0 | lite1 | lite2 | single-object | mean abs Δ |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]

    def cell(r, m):
        j = r["judged"][m]
        return f"{j['p']:.3f} ({j['rank']})"

    for rp, rs in zip(plain["rows"], sci["rows"]):
        for label, r in (("plain CI", rp), ("SCI", rs)):
            lines.append(f"| {r['class']} {r['name']} | {label} | " + " | ".join(cell(r, m) for m in MODELS)
                         + f" | {r['single_object']:.2f} | {r['roughness']:.1f} |")
    lines += ["", "| method | mean P lite0 | mean P lite1 | mean P lite2 | median rank lite1 / lite2 "
              "| top-1 on lite1 / lite2 | single-object | mean abs Δ (x photos) | CPU s (wall s) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, res in (("plain", plain), ("sci", sci)):
        m = summary(res)
        lines.append(f"| {METHODS[key]} | {m['p_lite0']:.3f} | {m['p_lite1']:.3f} | {m['p_lite2']:.3f} | "
                     f"{m['median_rank_lite1']:g} / {m['median_rank_lite2']:g} | {m['top1_lite1']} / {m['top1_lite2']} "
                     f"| {m['single_object']:.2f} | {m['roughness']:.1f} ({m['roughness'] / photo:.2f}x) "
                     f"| {res['cpu_s']:.0f} ({res['wall_s']:.0f}) |")
    wins = sum(b["judged"][MODELS[0]]["p"] >= a["judged"][MODELS[0]]["p"] for a, b in zip(plain["rows"], sci["rows"]))
    lines += ["", f"SCI at least as probable as plain CI on lite0 for {wins} of {len(sci['rows'])} classes. "
              "CPU seconds of one torch thread for the whole batch (wall seconds on a machine shared with other "
              "sessions)."]
    return "\n".join(lines) + "\n"


def contact_sheet(results: dict, path: Path) -> None:
    from PIL import Image, ImageDraw

    rows = [results["plain"]["rows"], results["sci"]["rows"]]
    size, label_w = 160, 70
    sheet = Image.new("RGB", (label_w + size * len(rows[0]), size * 2 + 18), "white")
    draw = ImageDraw.Draw(sheet)
    for j, r in enumerate(rows[0]):
        draw.text((label_w + j * size + 4, 2), r["name"][:22], fill="black")
    for i, (label, row) in enumerate(zip(("plain CI", "SCI"), rows)):
        draw.text((4, 18 + i * size + size // 2), label, fill="black")
        for j, r in enumerate(row):
            sheet.paste(Image.open(ROOT / r["png"]).convert("RGB").resize((size, size)), (label_w + j * size, 18 + i * size))
    sheet.save(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="lucid", choices=("lucid", "paper"))
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--classes", type=int, nargs="+", default=list(CLASSES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="+", choices=tuple(METHODS), default=list(METHODS))
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=JSON", help="more ImpressionSettings, e.g. saliency_sigma=4")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "impressions"))
    args = ap.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    base = Path(args.out).resolve()
    for method in args.methods:
        result = run_method(method, args, overrides, base)
        Path(f"{base}_{method}.json").write_text(json.dumps(result, indent=1))
        print(f"{METHODS[method]}: {result['cpu_s']:.0f} s CPU, {summary(result)}", flush=True)
    results = {m: json.loads(Path(f"{base}_{m}.json").read_text()) for m in METHODS if Path(f"{base}_{m}.json").exists()}
    if len(results) == 2 and results["plain"]["settings"] == results["sci"]["settings"] | {
            "tv": False, "saliency_lr": False, "single_object": False}:
        text = markdown(results)
        Path(f"{base}.md").write_text(text)
        contact_sheet(results, base / "sheet.png")
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
