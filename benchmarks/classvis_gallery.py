"""Class-visualization gallery: do the pictures mean the class to backbones that did not make them?

For 20 classes spread over ImageNet, each preset makes its images on a *maker*
backbone (``--makers``, default tf_efficientnet_lite0; batches of 4, seed 0) at its
default number of steps.  Each image is saved as an 8-bit PNG and judged as a user's
picture would be, by every bundled backbone (resized to each one's input) for the
target's rank and probability.  Only the *held-out* backbones, those that did not make
the image, count for transfer: lite0's pictures are judged on lite1, lite2 and
mobilenetv2_100 (another network family and training pipeline), MobileNet-V2's on the
three Lites.

Per preset it also reports how the pictures compare with photographs
(``netviz_core.image_stats``: Hasler-Süsstrunk colourfulness, the share of near-white
and near-black pixels, the radially averaged power-spectrum slope; the sample photos'
figures at the same size beside them), the mean |Δ| between neighbouring pixels, the
seconds per image, and the *time to recognition*: every ``--check-every`` steps the
8-bit image is judged by the held-out backbones, and the optimiser seconds (the
batch's seconds spent in the optimiser up to that step, divided by the batch size;
the checks are not counted) until it is top-1 on every one of them; median and
maximum over the classes.

Writes benchmarks/results/classvis_gallery.{json,md}, the PNGs to
benchmarks/results/classvis_gallery/, one contact sheet per preset
(classvis_gallery_<preset>.png: classes as columns, maker backbones as rows) and the
README's gallery (12 classes, the default preset beside cs231n, made on lite0) to
docs/images/classvis_gallery.png.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/classvis_gallery.py [--presets lucid maco] \
        [--makers tf_efficientnet_lite0 mobilenetv2_100] [--classes 9 22] [--set iterations=128 --label lucid128]

On a shared machine the presets can run as separate processes (``--presets lucid
--out lucid.json``, ...) and be combined with ``--merge lucid.json maco.json ...``.
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

#: 20 classes spread over the 1000 (animals, objects, food, scenes); none was used to tune a preset.
CLASSES = (9, 22, 71, 107, 145, 207, 281, 323, 340, 388, 417, 466, 508, 574, 717, 779, 850, 920, 947, 980)
#: The 12 shown in the README's gallery.
GALLERY = (9, 22, 107, 145, 281, 323, 340, 388, 466, 779, 947, 980)
#: The EfficientNet-Lite family (impressions_table.py imports this name) and every judge.
MODELS = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
JUDGES = (*MODELS, "mobilenetv2_100")
SHORT = {"tf_efficientnet_lite0": "lite0", "tf_efficientnet_lite1": "lite1", "tf_efficientnet_lite2": "lite2",
         "mobilenetv2_100": "mnv2"}
RESULTS = ROOT / "benchmarks" / "results"
BATCH = 4
STATS = ("colourfulness", "near_white", "near_black", "spectrum_slope")


def mean_abs_neighbour_difference(im) -> float:
    """Mean |Δ| of an 8-bit RGB image between horizontal and vertical neighbours, in 0-255 levels."""
    import numpy as np

    a = np.asarray(im.convert("RGB"), dtype=np.float64)
    dh = np.abs(np.diff(a, axis=0)).mean()
    dw = np.abs(np.diff(a, axis=1)).mean()
    return float((dh + dw) / 2)


def _photos_as_seen(net):
    """The sample photos as the model sees them (resized to its input, 8-bit)."""
    from netviz_core.images import deprocess, open_image, preprocess

    return {p.stem: deprocess(net, preprocess(net, open_image(p))) for p in sorted((ROOT / "assets").glob("*.png"))}


def photo_roughness(net) -> float:
    """Mean |Δ| of the sample photos as the model sees them (resized to its input, 8-bit)."""
    values = [mean_abs_neighbour_difference(im) for im in _photos_as_seen(net).values()]
    return sum(values) / len(values)


def photo_stats(net) -> dict[str, dict[str, float]]:
    """``image_stats`` and mean |Δ| of each sample photo at the model's input size."""
    from netviz_core.image_stats import image_stats

    return {name: {**image_stats(im), "roughness": mean_abs_neighbour_difference(im)}
            for name, im in _photos_as_seen(net).items()}


def short(name: str) -> str:
    return SHORT.get(name, name)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def judge(models, png_path: Path, target: int) -> dict:
    """Rank (1 = top) and probability of the target on each model, for the saved PNG."""
    from netviz_core.images import open_image

    return judge_image(models, open_image(png_path), [target])[0]


def judge_image(models, images, targets) -> list[dict]:
    """Per image: rank and probability of its target on each model, each image fed as a user's picture."""
    import torch

    from netviz_core.images import preprocess

    images = images if isinstance(images, (list, tuple)) else [images]
    out: list[dict] = [{} for _ in images]
    t = torch.as_tensor(list(targets))
    for m in models:
        with torch.no_grad():
            p = m(torch.cat([preprocess(m, im) for im in images])).float().softmax(1).cpu()
        target_p = p.gather(1, t[:, None])
        ranks = (p > target_p).sum(1) + 1
        for i in range(len(images)):
            out[i][m.name] = {"rank": int(ranks[i]), "p": float(target_p[i, 0])}
    return out


def run_batch(net, held_out, settings, batch, check_every: int) -> tuple:
    """One batch to the end; returns (result, optimiser seconds, per target: (step, seconds) first recognised).

    Recognised: the 8-bit image is top-1 on every held-out backbone, judged every
    ``check_every`` steps and at the last.  Only the time spent in the optimiser counts.
    """
    from netviz_core.classvis import ClassVisRun
    from netviz_core.images import deprocess_batch

    run = ClassVisRun(net, batch, settings)
    frames = run.frames()
    recognised: list[tuple[int, float] | None] = [None] * len(batch)
    optimiser_s = 0.0
    while True:
        t0 = time.perf_counter()
        frame = next(frames, None)
        optimiser_s += time.perf_counter() - t0
        if frame is None:
            break
        if held_out and (frame.step % check_every == 0 or frame.final) and None in recognised:
            verdicts = judge_image(held_out, deprocess_batch(net, frame.images), batch)
            for i, v in enumerate(verdicts):
                if recognised[i] is None and all(j["rank"] == 1 for j in v.values()):
                    recognised[i] = (frame.step, optimiser_s / len(batch))
    return run.result(), optimiser_s, recognised


def run_preset(net, judges, preset: str, classes, out_dir: Path, seed: int, *, label: str | None = None,
               overrides: dict | None = None, check_every: int = 8, batch_size: int = BATCH) -> list[dict]:
    """Images of ``classes`` made on ``net`` with a preset (plus ``overrides``), each judged by every judge."""
    from PIL import Image

    from netviz_core.classvis import settings_for
    from netviz_core.image_stats import image_stats

    label = label or preset
    settings = settings_for(preset, seed=seed, **(overrides or {}))
    held_out = [m for m in judges if m.name != net.name]
    rows = []
    for start in range(0, len(classes), batch_size):
        batch = list(classes[start : start + batch_size])
        res, seconds, recognised = run_batch(net, held_out, settings, batch, check_every)
        for i, t in enumerate(batch):
            path = out_dir / f"{label}_{short(net.name)}_{t:03d}.png"
            res.images[i].save(path)
            saved = Image.open(path)
            rows.append({
                "preset": label, "base_preset": preset, "maker": net.name, "class": t, "name": res.class_names[i],
                "png": _rel(path), "steps": res.steps, "seconds": seconds / len(batch),
                "recognised_step": recognised[i][0] if recognised[i] else None,
                "recognised_s": recognised[i][1] if recognised[i] else None,
                "roughness": mean_abs_neighbour_difference(saved), **image_stats(saved),
                "models": judge(judges, path, t), "held_out": [m.name for m in held_out],
            })
            r = rows[-1]
            seen = "never" if r["recognised_s"] is None else f"{r['recognised_s']:.0f} s (step {r['recognised_step']})"
            print(f"{label:9s} {short(net.name):5s} {t:4d} {res.class_names[i][:20]:20s} "
                  + " ".join(f"{short(m)}{'*' if m == net.name else ''} #{v['rank']} {v['p']:.2f}"
                             for m, v in r["models"].items())
                  + f"  M {r['colourfulness']:.0f} white {r['near_white']:.1%} black {r['near_black']:.1%} "
                  f"slope {r['spectrum_slope']:.2f}  recognised {seen}  {seconds / len(batch):.0f} s", flush=True)
    for r in rows:
        r["settings"] = settings.to_dict()
    return rows


def _median(values):
    return statistics.median(values) if values else None


def summary(rows: list[dict], photo: float | None = None) -> dict:
    """Totals for one (preset, maker): transfer to the held-out backbones, picture statistics, time."""
    n = len(rows)
    held_out = rows[0]["held_out"]
    judges = list(rows[0]["models"])
    never = sum(r["recognised_s"] is None for r in rows)
    # Unrecognised images count as slower than any recognised one: the median is None once half never were.
    times = sorted(r["recognised_s"] if r["recognised_s"] is not None else float("inf") for r in rows)
    median_s = statistics.median(times)
    out = {
        "classes": n, "maker": rows[0]["maker"], "held_out": held_out,
        "top1": {m: sum(r["models"][m]["rank"] == 1 for r in rows) for m in judges},
        "mean_p": {m: sum(r["models"][m]["p"] for r in rows) / n for m in judges},
        "top1_all_held_out": sum(all(r["models"][m]["rank"] == 1 for m in held_out) for r in rows),
        "top5_all_held_out": sum(all(r["models"][m]["rank"] <= 5 for m in held_out) for r in rows),
        "roughness": sum(r["roughness"] for r in rows) / n,
        **{k: sum(r[k] for r in rows) / n for k in STATS},
        **{f"{k}_range": [min(r[k] for r in rows), max(r[k] for r in rows)] for k in STATS},
        "seconds_per_image": sum(r["seconds"] for r in rows) / n,
        "steps": rows[0]["steps"],
        "recognised_median_s": None if median_s == float("inf") else median_s,
        "recognised_max_s": None if never else max(times),
        "never_recognised": never,
        # Rows judged again from an earlier run's PNGs (--rejudge) have no time to recognition.
        "recognition_measured": not any("rejudged_from" in r for r in rows),
    }
    if photo:
        out["roughness_vs_photos"] = out["roughness"] / photo
    return out


def _groups(rows):
    """(preset label, maker) -> rows, in first-seen order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["preset"], r.get("maker", MODELS[0])), []).append(r)
    return groups


def _s(v, fmt="{:.0f}") -> str:
    return "never" if v is None else fmt.format(v)


def markdown(results: dict) -> str:
    photos = results["photo_stats"]
    lines = [
        "# Class-visualization gallery benchmark",
        "",
        f"Each preset makes the images on the maker backbone (batches of {results.get('batch', BATCH)}, seed "
        f"{results.get('seed', 0)}); each saved 8-bit PNG is judged by every bundled backbone, and only the held-out "
        "ones (those that did not make it) count for transfer. Time to recognition: optimiser seconds per image "
        "(the batch's, divided by its size) until the 8-bit image is top-1 on every held-out backbone, judged every "
        f"{results.get('check_every', 8)} steps. Seconds are on the shared 2-core CPU (one thread, other sessions "
        f"running): compare presets within one run only. torch {results['torch']}.",
        "",
        "| preset | made on | steps | top-1 on each judge (* = maker) | top-1 on all held-out | top-5 on all held-out "
        "| recognised: median / max s (never) | s / image |",
        "|---|---|---|---|---|---|---|---|",
    ]
    groups = _groups(results["rows"])
    summaries = {k: summary(v, results.get("photo_roughness")) for k, v in groups.items()}
    for (label, maker), s in summaries.items():
        n = s["classes"]
        each = ", ".join(f"{short(m)}{'*' if m == maker else ''} {c}" for m, c in s["top1"].items())
        seen = (f"{_s(s['recognised_median_s'])} / {_s(s['recognised_max_s'])} ({s['never_recognised']})"
                if s["recognition_measured"] else "not measured (re-judged PNGs)")
        lines.append(
            f"| {label} | {short(maker)} | {s['steps']} | {each} | **{s['top1_all_held_out']}/{n}** "
            f"| {s['top5_all_held_out']}/{n} | {seen} | {s['seconds_per_image']:.0f} |")
    lines += [
        "",
        "Colour and contrast: mean over the pictures [min, max]; the sample photos at 224 px beside them. "
        "Colourfulness M (Hasler-Süsstrunk, 0 = grey, ~33 moderate), share of near-white / near-black pixels "
        "(every channel within 10 levels of 255 / 0), power-spectrum slope (log power vs log frequency; "
        "white noise 0, 1/f amplitude -2), mean |Δ| between neighbouring pixels.",
        "",
        "| pictures | colourfulness | near-white | near-black | spectrum slope | mean abs Δ |",
        "|---|---|---|---|---|---|",
    ]
    for name, st in photos.items():
        lines.append(f"| photo {name} | {st['colourfulness']:.0f} | {st['near_white']:.1%} | {st['near_black']:.1%} "
                     f"| {st['spectrum_slope']:.2f} | {st['roughness']:.1f} |")
    for (label, maker), s in summaries.items():
        c, w, b, sl = (s[f"{k}_range"] for k in STATS)
        lines.append(
            f"| {label} on {short(maker)} | {s['colourfulness']:.0f} [{c[0]:.0f}, {c[1]:.0f}] "
            f"| {s['near_white']:.1%} [{w[0]:.1%}, {w[1]:.1%}] | {s['near_black']:.1%} [{b[0]:.1%}, {b[1]:.1%}] "
            f"| {s['spectrum_slope']:.2f} [{sl[0]:.2f}, {sl[1]:.2f}] | {s['roughness']:.1f} |")
    lines += ["", "Per class: rank on each judge (maker's own in brackets), then seconds to recognition.", ""]
    keys = list(groups)
    lines.append("| class | " + " | ".join(f"{label} on {short(maker)}" for label, maker in keys) + " |")
    lines.append("|---|" + "---|" * len(keys))
    by = {(r["preset"], r.get("maker", MODELS[0]), r["class"]): r for r in results["rows"]}
    classes = list(dict.fromkeys(r["class"] for r in results["rows"]))
    for c in classes:
        name = next(r["name"] for r in results["rows"] if r["class"] == c)
        cells = []
        for label, maker in keys:
            r = by.get((label, maker, c))
            if r is None:
                cells.append("")
                continue
            ranks = " / ".join(f"({v['rank']})" if m == maker else str(v["rank"]) for m, v in r["models"].items())
            cells.append(ranks if "rejudged_from" in r else f"{ranks}, {_s(r['recognised_s'], '{:.0f} s')}")
        lines.append(f"| {c} {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Judges in each cell: " + " / ".join(short(m) for m in results["rows"][0]["models"]) + ".")
    return "\n".join(lines) + "\n"


def contact_sheet(rows: list[dict], label: str, path: Path, tile: int = 128) -> None:
    """One preset's pictures: classes as columns, maker backbones as rows; held-out ranks under each."""
    from PIL import Image, ImageDraw

    rows = [r for r in rows if r["preset"] == label]
    classes = list(dict.fromkeys(r["class"] for r in rows))
    makers = list(dict.fromkeys(r["maker"] for r in rows))
    by = {(r["maker"], r["class"]): r for r in rows}
    left, head, caption, gap = 64, 16, 14, 4
    width = left + len(classes) * (tile + gap)
    height = head + len(makers) * (tile + caption + gap)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for j, c in enumerate(classes):
        name = next(r["name"] for r in rows if r["class"] == c)
        draw.text((left + j * (tile + gap) + 2, 2), f"{c} {name}"[: tile // 6], fill=(0, 0, 0))
    for i, maker in enumerate(makers):
        y = head + i * (tile + caption + gap)
        draw.text((2, y + tile // 2 - 12), f"{short(maker)}\nmade", fill=(0, 0, 0))
        for j, c in enumerate(classes):
            r = by.get((maker, c))
            if r is None:
                continue
            x = left + j * (tile + gap)
            canvas.paste(Image.open(ROOT / r["png"]).convert("RGB").resize((tile, tile)), (x, y))
            ranks = "/".join(str(r["models"][m]["rank"]) for m in r["held_out"])
            ok = all(r["models"][m]["rank"] == 1 for m in r["held_out"])
            draw.text((x + 2, y + tile + 1), f"#{ranks}", fill=(0, 110, 0) if ok else (190, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def gallery(rows: list[dict], left: str, right: str, path: Path) -> None:
    """12 classes in 3 rows of 4, each as [left preset | right preset] with the class name underneath."""
    from PIL import Image, ImageDraw

    by = {(r["preset"], r["class"]): r for r in rows if r.get("maker", MODELS[0]) == MODELS[0]}
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
        r, r2 = by[(left, c)], by[(right, c)]
        ranks = "/".join(str(r["models"][m]["rank"]) for m in r.get("held_out", MODELS[1:]))
        ranks2 = "/".join(str(r2["models"][m]["rank"]) for m in r2.get("held_out", MODELS[1:]))
        draw.text((x + 2, y + tile + 4), f"{c} {r['name'][:20]}  {left} #{ranks} | {right} #{ranks2}", fill=(0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def write(results: dict, out: Path, with_gallery: bool) -> None:
    from netviz_core.classvis import DEFAULT_PRESET

    results["summary"] = {f"{label}@{maker}": summary(rows, results.get("photo_roughness"))
                          for (label, maker), rows in _groups(results["rows"]).items()}
    out.write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(markdown(results))
    for label in dict.fromkeys(r["preset"] for r in results["rows"]):
        contact_sheet(results["rows"], label, out.with_name(f"{out.stem}_{label}.png"))
    print(markdown(results))
    if with_gallery and DEFAULT_PRESET in results["presets"] and "cs231n" in results["presets"]:
        gallery(results["rows"], DEFAULT_PRESET, "cs231n", ROOT / "docs" / "images" / "classvis_gallery.png")


def merge(parts: list[Path], out: Path, with_gallery: bool) -> int:
    loaded = [json.loads(p.read_text()) for p in parts]
    rows = [row for r in loaded for row in r["rows"]]
    presets = list(dict.fromkeys(p for r in loaded for p in r["presets"]))
    classes = list(dict.fromkeys(c for r in loaded for c in r["classes"]))
    results = {**loaded[0], "presets": presets, "classes": classes, "rows": rows}
    write(results, out, with_gallery)
    return 0


def rejudge(previous: Path, out: Path) -> int:
    """Judge the PNGs of an earlier run again on today's judges and add the picture statistics.

    No image is made again (so there is no time to recognition): this puts an earlier
    gallery, made before MobileNet-V2 was bundled, beside a new one at the cost of a few
    forward passes.  Rows keep their seconds per image, from the earlier run.
    """
    import torch
    from PIL import Image

    from netviz_core.image_stats import image_stats
    from netviz_core.models import load_model_cached

    old = json.loads(previous.read_text())
    judges = [load_model_cached(m, device="cpu") for m in JUDGES]
    rows = []
    for r in old["rows"]:
        path = ROOT / r["png"]
        if not path.is_file():
            print(f"skipped (no PNG): {r['png']}", file=sys.stderr)
            continue
        maker = r.get("maker", MODELS[0])
        with Image.open(path) as im:
            stats = image_stats(im)
            roughness = mean_abs_neighbour_difference(im)
        rows.append({**r, "maker": maker, "models": judge(judges, path, r["class"]), **stats, "roughness": roughness,
                     "held_out": [m for m in JUDGES if m != maker], "recognised_step": None, "recognised_s": None,
                     "rejudged_from": _rel(previous)})
    photos = photo_stats(judges[0])
    results = {**old, "presets": list(dict.fromkeys(r["preset"] for r in rows)), "rows": rows,
               "torch": torch.__version__, "photo_stats": photos,
               "photo_roughness": sum(st["roughness"] for st in photos.values()) / len(photos)}
    write(results, out, with_gallery=False)
    return 0


def parse_overrides(pairs: list[str]) -> dict:
    """KEY=VALUE settings overrides; VALUE is read as JSON when it parses (numbers, true/false), else a string."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def main(argv=None) -> int:
    from netviz_core.classvis import PRESETS
    from netviz_core.models import BUNDLED_MODELS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    ap.add_argument("--makers", nargs="+", default=[MODELS[0]], choices=list(BUNDLED_MODELS),
                    help="backbones that make the images (each picture is judged on the others)")
    ap.add_argument("--classes", type=int, nargs="+", default=list(CLASSES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", dest="overrides",
                    help="settings overrides applied to every preset (a trial of a lever), e.g. iterations=128")
    ap.add_argument("--label", default=None, help="name of the preset variant in the results (one preset only)")
    ap.add_argument("--check-every", type=int, default=8, help="steps between held-out checks (time to recognition)")
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--out", default=str(RESULTS / "classvis_gallery.json"))
    ap.add_argument("--images", default=str(RESULTS / "classvis_gallery"), help="folder for the PNGs")
    ap.add_argument("--no-gallery", action="store_true", help="do not write docs/images/classvis_gallery.png")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="combine the results of separate runs and stop")
    ap.add_argument("--rejudge", metavar="JSON", help="judge an earlier run's PNGs on today's judges and stop")
    args = ap.parse_args(argv)
    if args.rejudge:
        return rejudge(Path(args.rejudge), Path(args.out))
    if args.merge:
        return merge([Path(p) for p in args.merge], Path(args.out), not args.no_gallery)
    if args.label and len(args.presets) != 1:
        ap.error("--label names one preset variant: give one --presets")
    overrides = parse_overrides(args.overrides)

    import torch

    from netviz_core.models import load_model_cached

    judges = [load_model_cached(m, device="cpu") for m in JUDGES]
    out = Path(args.out)
    img_dir = Path(args.images)
    img_dir.mkdir(parents=True, exist_ok=True)
    photos = photo_stats(judges[0])
    print("sample photos: " + "; ".join(f"{k}: " + ", ".join(f"{n} {v:.3g}" for n, v in st.items())
                                        for k, st in photos.items()), flush=True)
    rows = []
    for preset in args.presets:
        for maker in args.makers:
            net = next(m for m in judges if m.name == maker)
            rows += run_preset(net, judges, preset, args.classes, img_dir, args.seed, label=args.label,
                               overrides=overrides, check_every=args.check_every, batch_size=args.batch)
    results = {
        "classes": list(args.classes), "presets": [args.label or p for p in args.presets], "seed": args.seed,
        "batch": args.batch, "check_every": args.check_every, "overrides": overrides, "makers": args.makers,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "photo_roughness": sum(st["roughness"] for st in photos.values()) / len(photos), "photo_stats": photos,
        "rows": rows,
    }
    write(results, out, not args.no_gallery)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
