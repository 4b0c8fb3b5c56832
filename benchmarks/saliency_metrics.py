"""How far each saliency map can be trusted: every method x the sample images x lite0/1/2.

For each (model, image, method) the map of the predicted class is scored with
``netviz_core.saliency.metrics.evaluate_map`` (default ``MetricSettings``: deletion
and insertion at 16 steps, ROAD at 10/30/50/70/90 %, the randomisation Spearman with
the whole cascade re-initialised), beside the two reference maps (random, centre
Gaussian), and the seconds each metric took are recorded.

``--timing`` times the four metrics of one map on lite0 for the fast methods, in wall
seconds and in the process's CPU seconds (``time.process_time``): with one torch
thread on a machine shared with other work the wall time counts the waits for a core,
the CPU time does not, so it is what one free core would take; with ``--threads 2`` on
a quiet machine the wall time is what a user waits.  What a model pays once (the
BatchNorm-folded copy that scores the perturbed images, the randomised copy of the
summary correlation) is timed apart, before the first map.

    .venv/bin/python benchmarks/saliency_metrics.py                 # lite0/1/2
    .venv/bin/python benchmarks/saliency_metrics.py --models tf_efficientnet_lite0
    .venv/bin/python benchmarks/saliency_metrics.py --timing --threads 2   # the 3-second goal, CPU and wall seconds
    .venv/bin/python benchmarks/saliency_metrics.py --timing --road 0.1,0.5,0.9   # ... with ROAD at 3 fractions
    .venv/bin/python benchmarks/saliency_metrics.py --completeness  # IG: sum of attributions vs f(x) - f(x')

Writes benchmarks/results/saliency_metrics-<model>.json per model (``--timing``:
saliency_metrics_timing-<n>thread[-road...].json/.md) and
benchmarks/results/saliency_metrics.md (the table the README includes) from every
model's JSON present.  Seconds depend on what else runs: the header records the load
average at the start and at the end of each model's run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from netviz_core.images import preprocess  # noqa: E402
from netviz_core.models import load_model  # noqa: E402
from netviz_core.saliency import METHODS  # noqa: E402
from netviz_core.saliency.metrics import MetricSettings, cascade_units, evaluate_map, method_class  # noqa: E402

MODELS = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")
BASELINES = ("random", "center")
RESULTS = ROOT / "benchmarks" / "results"
METRICS = ("deletion_auc", "insertion_auc", "road_morf", "road_lerf", "randomization_spearman")


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def run_model(name: str, images: list[Path], methods: list[str], settings: MetricSettings) -> dict:
    net = load_model(name, device="cpu")
    started, load_start = time.perf_counter(), load_average()
    runs = []
    for path in images:
        x = preprocess(net, path)
        with torch.no_grad():
            target = int(net(x).argmax())
        for method in [*methods, *BASELINES]:
            t0 = time.perf_counter()
            m = method_class(method)(net)(x, target)[0]
            map_seconds = time.perf_counter() - t0
            scored = evaluate_map(net, x, m, target, method=method, settings=settings)
            summary = scored.summary()
            run = {"image": path.name, "target": target, "method": method, "map_seconds": map_seconds,
                   **{k: summary[k] for k in METRICS}, "seconds": summary["seconds"],
                   "curves": {c.name: {"fractions": c.fractions, "scores": c.scores}
                              for c in (scored.deletion, scored.insertion, scored.road_morf, scored.road_lerf)}}
            runs.append(run)
            seconds = sum(summary["seconds"].values())
            print(f"{name} {path.name} {method:<22} del {summary['deletion_auc']:.3f} ins {summary['insertion_auc']:.3f} "
                  f"MoRF {summary['road_morf']:.3f} LeRF {summary['road_lerf']:.3f} "
                  f"rho {summary['randomization_spearman'] if summary['randomization_spearman'] is not None else float('nan'):.3f} "
                  f"| map {map_seconds:.1f} s, metrics {seconds:.1f} s", flush=True)
    return {
        "model": name,
        "settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
        "images": [p.name for p in images],
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "load_average_start": load_start, "load_average_end": load_average()},
        "seconds_total": time.perf_counter() - started,
        "runs": runs,
    }


FAST_METHODS = ("vanilla", "guided", "cam", "gradcam", "gradcampp", "layercam")


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def timing_run(images: list[Path], settings: MetricSettings, name: str = MODELS[0]) -> dict:
    """Wall and CPU seconds of deletion, insertion, ROAD (both orders) and randomisation for one map."""
    from netviz_core.optimize.folding import input_gradient_model
    from netviz_core.saliency.metrics import (
        deletion_curve, insertion_curve, randomization_curve, randomized_model, road_curves,
    )

    net = load_model(name, device="cpu")
    load_start = load_average()
    depth = settings.randomization_depth or len(cascade_units(net.module))
    _copies, once_wall, once_cpu = _timed(lambda: (input_gradient_model(net), randomized_model(net, depth, settings.seed)))
    rows = []
    for path in images:
        x = preprocess(net, path)
        with torch.no_grad():
            target = int(net(x).argmax())
        for method in FAST_METHODS:
            m = method_class(method)(net)(x, target)[0]
            parts = {
                "deletion": lambda: deletion_curve(net, x, m, target, settings),
                "insertion": lambda: insertion_curve(net, x, m, target, settings),
                "road": lambda: road_curves(net, x, m, target, settings),
                "randomization": lambda: randomization_curve(net, x, method, target, saliency_map=m, depths=depth,
                                                             seed=settings.seed),
            }
            row = {"image": path.name, "method": method}
            for part, fn in parts.items():
                _out, row[f"{part}_wall"], row[f"{part}_cpu"] = _timed(fn)
            row["total_wall"] = sum(row[f"{p}_wall"] for p in parts)
            row["total_cpu"] = sum(row[f"{p}_cpu"] for p in parts)
            rows.append(row)
            print(f"{name} {path.name} {method:<10} all four: wall {row['total_wall']:.2f} s, CPU {row['total_cpu']:.2f} s "
                  + " ".join(f"{p} {row[f'{p}_cpu']:.2f}" for p in parts), flush=True)
    return {"model": name, "load_average_start": load_start, "load_average_end": load_average(),
            "torch_threads": torch.get_num_threads(), "road_percentages": list(settings.road_percentages),
            "steps": settings.steps, "once_per_model": {"wall": once_wall, "cpu": once_cpu}, "rows": rows}


def completeness_run(images: list[Path], name: str = MODELS[0], steps=(32, 128)) -> dict:
    """|sum IG - (S_c(x) - S_c(x'))| / |S_c(x) - S_c(x')| for each image, baseline and number of steps."""
    from netviz_core.saliency.integrated_gradients import IntegratedGradients

    net = load_model(name, device="cpu")
    rows = []
    for path in images:
        x = preprocess(net, path)
        with torch.no_grad():
            target = net(x).argmax(1)
        for baseline in ("black", "blur"):
            for n in steps:
                ig = IntegratedGradients(net, steps=n, baseline=baseline)
                total = ig.attributions(x, target).sum().item()
                with torch.no_grad():
                    difference = (net(x) - net(ig.baseline_image(x)))[0, int(target)].item()
                rows.append({"image": path.name, "baseline": baseline, "steps": n, "sum_ig": total,
                             "difference": difference, "relative_error": abs(total - difference) / abs(difference)})
                print(f"{path.name} {baseline} {n} steps: relative error {rows[-1]['relative_error']:.4f}", flush=True)
    return {"model": name, "rows": rows}


def completeness_table(result: dict) -> str:
    rows = result["rows"]
    steps = sorted({r["steps"] for r in rows})
    lines = [f"#### Integrated Gradients completeness, {result['model']}: |Σ IG − (S_c(x) − S_c(x′))| / |S_c(x) − S_c(x′)|, "
             "predicted class", "", "| image | baseline | " + " | ".join(f"{n} steps" for n in steps) + " |",
             "|---|---|" + "---|" * len(steps)]
    for image in sorted({r["image"] for r in rows}):
        for baseline in ("black", "blur"):
            cells = [next(r for r in rows if r["image"] == image and r["baseline"] == baseline and r["steps"] == n)
                     for n in steps]
            lines.append(f"| {image} | {baseline} | " + " | ".join(f"{100 * c['relative_error']:.1f} %" for c in cells) + " |")
    return "\n".join(lines)


def timing_table(result: dict) -> str:
    rows = result["rows"]
    parts = ("deletion", "insertion", "road", "randomization", "total")
    med = {p: (statistics.median(r[f"{p}_cpu"] for r in rows), statistics.median(r[f"{p}_wall"] for r in rows)) for p in parts}
    return "\n".join([
        f"#### The four metrics of one map, {result['model']}, {result['torch_threads']} torch thread(s), "
        f"deletion/insertion at {result['steps']} steps, ROAD at {', '.join(f'{p:g}' for p in result['road_percentages'])} "
        f"({len(rows)} maps: {', '.join(FAST_METHODS)} x the sample images)",
        "",
        f"Median seconds per map, CPU (process time) and wall; load average "
        f"{result['load_average_start']} at the start, {result['load_average_end']} at the end. "
        f"Once per model, before the first map: the BatchNorm-folded and the randomised copies, "
        f"{result['once_per_model']['cpu']:.2f} CPU s, {result['once_per_model']['wall']:.2f} wall s.",
        "",
        "| | deletion | insertion | ROAD (MoRF + LeRF) | randomisation | **all four** |",
        "|---|---|---|---|---|---|",
        "| CPU s | " + " | ".join(f"{med[p][0]:.2f}" for p in parts[:-1]) + f" | **{med['total'][0]:.2f}** |",
        "| wall s | " + " | ".join(f"{med[p][1]:.2f}" for p in parts[:-1]) + f" | **{med['total'][1]:.2f}** |",
    ])


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def _fmt(v, digits=3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def table(result: dict) -> str:
    """Markdown: one row per method (mean over the images), the two references last, sorted by insertion - deletion."""
    by_method: dict[str, list[dict]] = {}
    for run in result["runs"]:
        by_method.setdefault(run["method"], []).append(run)
    rows = []
    for method, runs in by_method.items():
        mean = {k: _mean(r[k] for r in runs) for k in METRICS}
        secs = {k: statistics.median(r["seconds"][k] for r in runs) for k in ("deletion", "insertion", "road", "randomization")}
        rows.append((method, mean, secs, statistics.median(r["map_seconds"] for r in runs)))
    methods = sorted((r for r in rows if r[0] not in BASELINES), key=lambda r: -(r[1]["insertion_auc"] - r[1]["deletion_auc"]))
    ordered = methods + [r for r in rows if r[0] in BASELINES]
    machine = result["machine"]
    lines = [
        f"#### {result['model']} ({len(result['images'])} images: {', '.join(result['images'])}; predicted class)",
        "",
        f"Load average {machine['load_average_start']} at the start, {machine['load_average_end']} at the end "
        f"({machine['cpus']} CPUs, {machine['torch_threads']} torch thread(s)); seconds are medians over the images.",
        "",
        "| map | deletion ↓ | insertion ↑ | ins − del ↑ | ROAD MoRF ↓ | ROAD LeRF ↑ | rand. ρ ↓ | map s | del s | ins s | ROAD s | rand. s | 4 metrics s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, mean, secs, map_s in ordered:
        name = f"*{method} (reference)*" if method in BASELINES else method
        lines.append(
            f"| {name} | {_fmt(mean['deletion_auc'])} | {_fmt(mean['insertion_auc'])} | "
            f"{_fmt(mean['insertion_auc'] - mean['deletion_auc'])} | {_fmt(mean['road_morf'])} | {_fmt(mean['road_lerf'])} | "
            f"{_fmt(mean['randomization_spearman'])} | {map_s:.2f} | {secs['deletion']:.2f} | {secs['insertion']:.2f} | "
            f"{secs['road']:.2f} | {secs['randomization']:.2f} | {sum(secs.values()):.2f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated timm names (default: lite0/1/2)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods (default: all)")
    parser.add_argument("--out", default=str(RESULTS), help="folder for the JSON and the Markdown table")
    parser.add_argument("--timing", action="store_true", help="only time the four metrics of one map on lite0")
    parser.add_argument("--road", default=None, help="ROAD fractions for --timing, e.g. 0.1,0.5,0.9 (default: the library's)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, OMP_NUM_THREADS)")
    parser.add_argument("--completeness", action="store_true", help="only IG's completeness error on lite0")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = sorted((ROOT / "assets").glob("*.png"))
    settings = MetricSettings()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.completeness:
        result = completeness_run(images)
        (out / "saliency_ig_completeness.json").write_text(json.dumps(result, indent=1))
        (out / "saliency_ig_completeness.md").write_text(completeness_table(result) + "\n")
        print(completeness_table(result))
        return 0
    if args.timing:
        suffix = f"-{torch.get_num_threads()}thread"
        if args.road:
            settings = MetricSettings(road_percentages=tuple(float(p) for p in args.road.split(",")))
            suffix += "-road" + "-".join(f"{p:g}" for p in settings.road_percentages)
        result = timing_run(images, settings)
        (out / f"saliency_metrics_timing{suffix}.json").write_text(json.dumps(result, indent=1))
        (out / f"saliency_metrics_timing{suffix}.md").write_text(timing_table(result) + "\n")
        print(timing_table(result))
        return 0
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        result = run_model(name, images, [m.strip() for m in args.methods.split(",") if m.strip()], settings)
        (out / f"saliency_metrics-{name}.json").write_text(json.dumps(result, indent=1))
    tables = [table(json.loads(p.read_text())) for p in sorted(out.glob("saliency_metrics-*.json"))]
    (out / "saliency_metrics.md").write_text("\n\n".join(tables) + "\n")
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
