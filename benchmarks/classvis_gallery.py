"""Class-visualization gallery: do the pictures mean the class to backbones that did not make them?

For 20 classes spread over ImageNet, each preset makes its images on
tf_efficientnet_lite0 at its default number of steps (batches of 4, seed 0).  Each
image is saved as an 8-bit PNG and judged as a user's picture would be: fed to
lite0, lite1 and lite2 (resized to each one's input) for the target's rank and
probability; its mean |Δ| between neighbouring pixels (0-255 levels, both
directions, all channels) against the sample photos' at the same size; and the
seconds it took (wall clock of its batch / 4; the machine is shared, so compare
within one run).

Writes benchmarks/results/classvis_gallery.{json,md}, the PNGs to
benchmarks/results/classvis_gallery/ and the README's gallery (12 classes, the
default preset beside cs231n) to docs/images/classvis_gallery.png.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/classvis_gallery.py [--presets lucid cs231n] [--classes 9 22]

On a shared machine the presets can run as separate processes (``--presets lucid
--out lucid.json``, ...) and be combined with ``--merge lucid.json maco.json ...``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: 20 classes spread over the 1000 (animals, objects, food, scenes); none was used to tune a preset.
CLASSES = (9, 22, 71, 107, 145, 207, 281, 323, 340, 388, 417, 466, 508, 574, 717, 779, 850, 920, 947, 980)
#: The 12 shown in the README's gallery.
GALLERY = (9, 22, 107, 145, 281, 323, 340, 388, 466, 779, 947, 980)
MODELS = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
RESULTS = ROOT / "benchmarks" / "results"
BATCH = 4


def mean_abs_neighbour_difference(im) -> float:
    """Mean |Δ| of an 8-bit RGB image between horizontal and vertical neighbours, in 0-255 levels."""
    import numpy as np

    a = np.asarray(im.convert("RGB"), dtype=np.float64)
    dh = np.abs(np.diff(a, axis=0)).mean()
    dw = np.abs(np.diff(a, axis=1)).mean()
    return float((dh + dw) / 2)


def photo_roughness(net) -> float:
    """Mean |Δ| of the sample photos as the model sees them (resized to its input, 8-bit)."""
    from netviz_core.images import deprocess, open_image, preprocess

    values = [mean_abs_neighbour_difference(deprocess(net, preprocess(net, open_image(p))))
              for p in sorted((ROOT / "assets").glob("*.png"))]
    return sum(values) / len(values)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def judge(models, png_path: Path, target: int) -> dict:
    """Rank (1 = top) and probability of the target on each model, for the saved PNG."""
    import torch

    from netviz_core.images import open_image, preprocess

    im = open_image(png_path)
    out = {}
    for m in models:
        with torch.no_grad():
            p = m(preprocess(m, im)).float().softmax(1)[0]
        out[m.name] = {"rank": int((p > p[target]).sum()) + 1, "p": float(p[target])}
    return out


def run_preset(net, models, preset: str, classes, out_dir: Path, seed: int) -> list[dict]:
    from netviz_core.classvis import class_visualization, settings_for

    rows = []
    for start in range(0, len(classes), BATCH):
        batch = list(classes[start : start + BATCH])
        t0 = time.perf_counter()
        res = class_visualization(net, batch, preset=preset, seed=seed)
        seconds = time.perf_counter() - t0
        for i, t in enumerate(batch):
            path = out_dir / f"{preset}_{t:03d}.png"
            res.images[i].save(path)
            from PIL import Image

            rows.append({
                "preset": preset, "class": t, "name": res.class_names[i], "png": _rel(path),
                "steps": res.steps, "seconds": seconds / len(batch),
                "roughness": mean_abs_neighbour_difference(Image.open(path)),
                "models": judge(models, path, t),
            })
            r = rows[-1]["models"]
            print(f"{preset:9s} {t:4d} {res.class_names[i][:22]:22s} "
                  + " ".join(f"{m[-5:]}: #{v['rank']} {v['p']:.2f}" for m, v in r.items())
                  + f"  |Δ| {rows[-1]['roughness']:.1f}  {seconds / len(batch):.0f} s", flush=True)
    settings = settings_for(preset).to_dict()
    for r in rows:
        r["settings"] = settings
    return rows


def summary(rows: list[dict], photo: float) -> dict:
    held_out = MODELS[1:]
    n = len(rows)
    top1_both = sum(all(r["models"][m]["rank"] == 1 for m in held_out) for r in rows)
    top5_both = sum(all(r["models"][m]["rank"] <= 5 for m in held_out) for r in rows)
    rough = sum(r["roughness"] for r in rows) / n
    return {
        "classes": n,
        "top1_lite0": sum(r["models"][MODELS[0]]["rank"] == 1 for r in rows),
        "top1_lite1": sum(r["models"][MODELS[1]]["rank"] == 1 for r in rows),
        "top1_lite2": sum(r["models"][MODELS[2]]["rank"] == 1 for r in rows),
        "top1_both_held_out": top1_both,
        "top5_both_held_out": top5_both,
        "median_rank_lite2": sorted(r["models"][MODELS[2]]["rank"] for r in rows)[n // 2],
        "mean_p_lite1": sum(r["models"][MODELS[1]]["p"] for r in rows) / n,
        "mean_p_lite2": sum(r["models"][MODELS[2]]["p"] for r in rows) / n,
        "roughness": rough,
        "roughness_vs_photos": rough / photo,
        "seconds_per_image": sum(r["seconds"] for r in rows) / n,
        "steps": rows[0]["steps"],
    }


def markdown(results: dict) -> str:
    photo = results["photo_roughness"]
    lines = [
        "# Class-visualization gallery benchmark",
        "",
        f"lite0 makes the images (batches of {BATCH}, seed 0); each saved 8-bit PNG is judged by lite0 and the "
        "held-out lite1 and lite2. Mean |Δ| between neighbouring pixels in 0-255 levels; "
        f"the sample photos at 224 px: {photo:.1f}. Seconds per image on the shared 2-core CPU "
        f"(one thread; compare presets within this run only). torch {results['torch']}.",
        "",
        "| preset | steps | top-1 lite0 | top-1 lite1 | top-1 lite2 | top-1 on both held-out | top-5 on both "
        "| median rank lite2 | mean P lite1 | mean P lite2 | mean abs Δ (x photos) | s / image |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for preset, s in results["summary"].items():
        n = s["classes"]
        lines.append(
            f"| {preset} | {s['steps']} | {s['top1_lite0']}/{n} | {s['top1_lite1']}/{n} | {s['top1_lite2']}/{n} "
            f"| **{s['top1_both_held_out']}/{n}** | {s['top5_both_held_out']}/{n} | {s['median_rank_lite2']} "
            f"| {s['mean_p_lite1']:.2f} | {s['mean_p_lite2']:.2f} | {s['roughness']:.1f} ({s['roughness_vs_photos']:.2f}x) "
            f"| {s['seconds_per_image']:.0f} |")
    lines += ["", "Per class: rank on lite0 / lite1 / lite2 (1 = top-1).", ""]
    presets = list(results["summary"])
    lines.append("| class | " + " | ".join(presets) + " |")
    lines.append("|---|" + "---|" * len(presets))
    by = {(r["preset"], r["class"]): r for r in results["rows"]}
    classes = sorted({r["class"] for r in results["rows"]}, key=lambda c: results["classes"].index(c))
    for c in classes:
        name = next(r["name"] for r in results["rows"] if r["class"] == c)
        cells = []
        for p in presets:
            r = by.get((p, c))
            cells.append(" / ".join(str(r["models"][m]["rank"]) for m in MODELS) if r else "")
        lines.append(f"| {c} {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def gallery(rows: list[dict], left: str, right: str, path: Path) -> None:
    """12 classes in 3 rows of 4, each as [left preset | right preset] with the class name underneath."""
    from PIL import Image, ImageDraw

    by = {(r["preset"], r["class"]): r for r in rows}
    tile, gap, caption = 224, 8, 22
    cols, n_rows = 4, 3
    width = cols * (2 * tile + gap) + (cols - 1) * gap * 2
    height = n_rows * (tile + caption) + (n_rows - 1) * gap
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for k, c in enumerate(GALLERY):
        if (left, c) not in by or (right, c) not in by:
            continue
        row, col = divmod(k, cols)
        x = col * (2 * tile + 3 * gap)
        y = row * (tile + caption + gap)
        for j, preset in enumerate((left, right)):
            canvas.paste(Image.open(ROOT / by[(preset, c)]["png"]).convert("RGB").resize((tile, tile)),
                         (x + j * (tile + gap), y))
        r = by[(left, c)]
        ranks = "/".join(str(r["models"][m]["rank"]) for m in MODELS[1:])
        r2 = by[(right, c)]
        ranks2 = "/".join(str(r2["models"][m]["rank"]) for m in MODELS[1:])
        draw.text((x + 2, y + tile + 4), f"{c} {r['name'][:20]}  {left} #{ranks} | {right} #{ranks2}", fill=(0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def write(results: dict, out: Path, with_gallery: bool) -> None:
    from netviz_core.classvis import DEFAULT_PRESET

    out.write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    if with_gallery and DEFAULT_PRESET in results["presets"] and "cs231n" in results["presets"]:
        gallery(results["rows"], DEFAULT_PRESET, "cs231n", ROOT / "docs" / "images" / "classvis_gallery.png")


def merge(parts: list[Path], out: Path, with_gallery: bool) -> int:
    loaded = [json.loads(p.read_text()) for p in parts]
    rows = [row for r in loaded for row in r["rows"]]
    presets = list(dict.fromkeys(p for r in loaded for p in r["presets"]))
    classes = list(dict.fromkeys(c for r in loaded for c in r["classes"]))
    photo = loaded[0]["photo_roughness"]
    results = {**loaded[0], "presets": presets, "classes": classes,
               "summary": {p: summary([r for r in rows if r["preset"] == p], photo) for p in presets},
               "rows": rows}
    write(results, out, with_gallery)
    return 0


def main(argv=None) -> int:
    from netviz_core.classvis import PRESETS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    ap.add_argument("--classes", type=int, nargs="+", default=list(CLASSES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS / "classvis_gallery.json"))
    ap.add_argument("--images", default=str(RESULTS / "classvis_gallery"), help="folder for the PNGs")
    ap.add_argument("--no-gallery", action="store_true", help="do not write docs/images/classvis_gallery.png")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="combine the results of separate runs and stop")
    args = ap.parse_args(argv)
    if args.merge:
        return merge([Path(p) for p in args.merge], Path(args.out), not args.no_gallery)

    import torch

    from netviz_core.models import load_model_cached

    net = load_model_cached(MODELS[0], device="cpu")
    models = [net] + [load_model_cached(m, device="cpu") for m in MODELS[1:]]
    out = Path(args.out)
    img_dir = Path(args.images)
    img_dir.mkdir(parents=True, exist_ok=True)
    photo = photo_roughness(net)
    print(f"sample photos: mean |Δ| {photo:.2f}", flush=True)
    rows = []
    for preset in args.presets:
        rows += run_preset(net, models, preset, args.classes, img_dir, args.seed)
    results = {
        "classes": list(args.classes), "presets": args.presets, "seed": args.seed, "batch": BATCH,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "photo_roughness": photo,
        "summary": {p: summary([r for r in rows if r["preset"] == p], photo) for p in args.presets},
        "rows": rows,
    }
    write(results, out, not args.no_gallery)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
