"""Throughput of the class atlas: images per minute locally and on Ray, Ray's per-task overhead, a scaling estimate.

Two parts (each a few minutes on the project's 2-core machine):

* ``--part throughput`` (default): 16 classes on tf_efficientnet_lite0 with the
  local executor at batch 1 and at batch 8 (one torch thread per task; the two are
  interleaved in halves of 8 classes, because the machine is shared), then with Ray
  on this machine (a local cluster of 2 CPUs: 2 workers x 1 thread, batch 8).  Ray's
  per-task overhead is the round trip of empty tasks on the same cluster.  From the
  per-image cost it estimates 1000 classes x 3 backbones on 10 and 100 workers.
  Writes benchmarks/results/atlas_throughput.{json,md}.
* ``--part atlas``: the atlas the dashboard's Atlas page opens by default
  (``benchmarks/results/atlas``, 50 classes on lite0 and lite1), for the README's
  screenshot.  Resumable like any atlas.

Iterations default to 32 (the lucid preset runs 256) so that the measurement fits in
minutes; the cost of a class visualization is linear in its iterations (the same step
repeated), and the estimate scales the measured optimisation time by 256/32 while the
per-image scoring cost (ranking on every backbone) is kept as measured.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.atlas_throughput [--part atlas] [--iterations 32]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
MODEL = "tf_efficientnet_lite0"
#: Multiply-accumulates per forward pass at each model's own input size (EfficientNet-Lite's published
#: figures: 407M, 631M, 899M), used only to scale lite0's measured cost to lite1/lite2 in the estimate.
MACS = {"tf_efficientnet_lite0": 407e6, "tf_efficientnet_lite1": 631e6, "tf_efficientnet_lite2": 899e6}


def timed_run(spec, directory: Path, executor, batch_size: int) -> tuple[float, list[dict]]:
    from netviz_core.atlas import run_job

    rows: list[dict] = []
    t0 = time.perf_counter()
    run_job(spec, directory, executor, batch_size=batch_size, on_image=rows.append)
    return time.perf_counter() - t0, rows


def per_image(rows: list[dict], key: str) -> float:
    return statistics.mean(r["timings"][key] for r in rows)


def ray_overhead(n: int = 200) -> dict:
    """Round trip of ``n`` empty tasks (submitted together, gathered with ray.wait) and of one at a time."""
    import ray

    @ray.remote(num_cpus=1)
    def noop(i):
        return i

    ray.get([noop.remote(i) for i in range(4)])  # workers up
    t0 = time.perf_counter()
    pending = [noop.remote(i) for i in range(n)]
    while pending:
        _, pending = ray.wait(pending, num_returns=1)
    batched = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for i in range(20):
        ray.get(noop.remote(i))
    serial = (time.perf_counter() - t0) / 20
    return {"tasks": n, "throughput_s_per_task": batched, "round_trip_s": serial}


def estimate(cost_per_image_s: dict[str, float], overhead_s: float, load_s: float, workers: int,
             classes: int = 1000, batch: int = 8) -> dict:
    """Wall time of ``classes`` x backbones on ``workers`` one-thread workers.

    Tasks are whole batches, so a worker runs ceil(tasks / workers) of them (with 100 workers and 375
    tasks some run 4, some 3): wall = rounds x (batch x mean cost per image + per-task overhead) + model loads.
    """
    images = classes * len(cost_per_image_s)
    work = sum(classes * c for c in cost_per_image_s.values())
    tasks = -(-classes // batch) * len(cost_per_image_s)
    rounds = -(-tasks // workers)
    wall = rounds * (batch * work / images + overhead_s) + load_s
    return {"workers": workers, "images": images, "tasks": tasks, "tasks_per_worker": rounds,
            "cpu_hours": work / 3600, "wall_minutes": wall / 60, "ideal_wall_minutes": work / workers / 60}


def add_estimate(results: dict) -> None:
    """The 1000 x 3 estimate from the measured figures in ``results``."""
    b8 = results["local_batch8"]
    scale = 256 / results["iterations"]
    lite0 = b8["optimize_s_per_image"] * scale + b8["score_s_per_image"] * 3  # ranked on all three backbones
    cost = {m: lite0 * MACS[m] / MACS[MODEL] for m in MACS}
    overhead = max(results["ray_overhead"]["throughput_s_per_task"], 0.0)
    load = results["ray_2x1"]["model_load_s_first_task_per_worker"] * 3
    results["estimate_1000x3"] = {
        "assumptions": "ESTIMATE, not a measurement: lucid at 256 iterations, batch 8; per-image cost = lite0's "
                       "measured batch-8 one-thread optimisation time x 256/iterations + its scoring time x 3 "
                       "backbones; lite1/lite2 scaled by their MACs (631M, 899M vs 407M); Ray's measured per-task "
                       "overhead per batch; each worker loads 3 backbones once; workers as fast as one core of "
                       "this machine and undisturbed (no stragglers, no driver bottleneck); a worker runs "
                       "ceil(tasks/workers) whole batches.",
        "cost_per_image_s": cost,
        "runs": [estimate(cost, overhead, load, w) for w in (1, 10, 100)],
    }


def throughput(args) -> None:
    import torch

    from netviz_core.atlas import LocalExecutor, RayExecutor, atlas_spec
    from netviz_core.runtime import reuse_freed_memory

    reuse_freed_memory()
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="atlas-bench-"))
    halves = ["0-7", "8-15"]
    results: dict = {"iterations": args.iterations, "classes": 16, "model": MODEL, "preset": "lucid",
                     "machine": "2-core CPU shared with other engineers' jobs: absolute numbers are noisy; "
                                "compare within this file", "torch": torch.__version__}
    results["loadavg_before"] = os.getloadavg()
    # Local, interleaved: batch 1 and batch 8 on the same halves, one torch thread per task.
    local = {1: {"s": 0.0, "rows": []}, 8: {"s": 0.0, "rows": []}}
    from netviz_core.models import load_model_cached

    load_model_cached(MODEL)  # the load is not part of either run
    for half in halves:
        for batch in (1, 8):
            spec = atlas_spec(half, [MODEL], "lucid", iterations=args.iterations)
            s, rows = timed_run(spec, work / f"local-b{batch}", LocalExecutor(threads=1), batch)
            local[batch]["s"] += s
            local[batch]["rows"] += rows
            print(f"local batch {batch}, classes {half}: {s:.1f} s", flush=True)
    for batch in (1, 8):
        rows = local[batch]["rows"]
        results[f"local_batch{batch}"] = {
            "seconds": local[batch]["s"], "images_per_minute": 60 * len(rows) / local[batch]["s"],
            "optimize_s_per_image": per_image(rows, "optimize_s"), "score_s_per_image": per_image(rows, "score_s"),
            "threads_per_task": 1, "workers": 1}
    # Ray: a local cluster of 2 CPUs, one-thread tasks of 8 classes.
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    started = time.perf_counter() - t0
    try:
        overhead = ray_overhead()
        spec = atlas_spec("0-15", [MODEL], "lucid", iterations=args.iterations)
        s, rows = timed_run(spec, work / "ray", RayExecutor(threads=1), 8)
    finally:
        ray.shutdown()
    loads = [r["timings"]["load_s"] for r in rows]
    results["ray_2x1"] = {"seconds": s, "images_per_minute": 60 * len(rows) / s, "cluster_start_s": started,
                          "workers": 2, "threads_per_task": 1, "batch": 8,
                          "optimize_s_per_image": per_image(rows, "optimize_s"),
                          "model_load_s_first_task_per_worker": max(loads),
                          "workers_seen": sorted({r["worker"] for r in rows})}
    results["ray_overhead"] = overhead
    print(f"ray 2x1: {s:.1f} s (cluster start {started:.1f} s); overhead {overhead}", flush=True)
    results["loadavg_after"] = os.getloadavg()
    add_estimate(results)
    shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "atlas_throughput.json").write_text(json.dumps(results, indent=1))
    (RESULTS / "atlas_throughput.md").write_text(report(results))
    print(report(results))


def loadavg(r: dict) -> str:
    if "loadavg_before" not in r:
        return ""
    return f" (1-minute load average {r['loadavg_before'][0]:.1f} before the run, {r['loadavg_after'][0]:.1f} after)"


def report(r: dict) -> str:
    lines = [
        "# Atlas throughput",
        "",
        f"`OMP_NUM_THREADS=1 python -m benchmarks.atlas_throughput` - {r['classes']} classes, {r['model']}, "
        f"preset {r['preset']} at **{r['iterations']} iterations** (the preset runs 256; fewer to keep the run "
        f"to minutes), one torch thread per task. {r['machine']}.",
        "",
        "| executor | workers x threads | batch | images/min | optimisation s/image | wall s |",
        "|---|---|---|---|---|---|",
    ]
    for key, label, batch in (("local_batch1", "local", 1), ("local_batch8", "local", 8), ("ray_2x1", "Ray", 8)):
        x = r[key]
        lines.append(f"| {label} | {x['workers']} x {x['threads_per_task']} | {batch} | {x['images_per_minute']:.1f} | "
                     f"{x['optimize_s_per_image']:.2f} | {x['seconds']:.1f} |")
    o = r["ray_overhead"]
    ray = r["ray_2x1"]
    lines += [
        "",
        f"Ray: the local cluster started in {ray['cluster_start_s']:.1f} s; a worker's first task loads the model "
        f"({ray['model_load_s_first_task_per_worker']:.1f} s at most), later tasks reuse it. Per-task overhead "
        f"(empty tasks): {1000 * o['throughput_s_per_task']:.1f} ms per task when {o['tasks']} are queued, "
        f"{1000 * o['round_trip_s']:.1f} ms for one submit-and-wait round trip. Workers seen: "
        f"{len(ray['workers_seen'])}.",
        "",
        "## Estimate: 1000 classes x 3 bundled backbones (an estimate, not a measurement)",
        "",
        r["estimate_1000x3"]["assumptions"],
        "",
        "| workers (1 thread each) | images | tasks (batches of 8) | batches per worker | CPU hours | "
        "wall minutes (estimate) | work / workers |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in r["estimate_1000x3"]["runs"]:
        lines.append(f"| {e['workers']} | {e['images']} | {e['tasks']} | {e['tasks_per_worker']} | "
                     f"{e['cpu_hours']:.1f} | {e['wall_minutes']:.1f} | {e['ideal_wall_minutes']:.1f} |")
    lines += [
        "",
        f"On this machine each Ray worker took {ray['optimize_s_per_image']:.2f} s of optimisation per image "
        f"against {r['local_batch8']['optimize_s_per_image']:.2f} s in the local run: two workers on a 2-core "
        f"machine shared with other jobs{loadavg(r)} do not get a core each. The estimate therefore uses the local "
        "batch-8 cost per image, i.e. one undisturbed core per worker.",
    ]
    return "\n".join(lines) + "\n"


def make_atlas(args) -> None:
    """The dashboard's default atlas: 50 classes on lite0 and lite1 (fewer iterations than the preset, see above)."""
    import torch

    from netviz_core.atlas import LocalExecutor, atlas_spec, run_job
    from netviz_core.runtime import reuse_freed_memory

    reuse_freed_memory()
    spec = atlas_spec(args.classes, ["tf_efficientnet_lite0", "tf_efficientnet_lite1"], "lucid",
                      iterations=args.iterations, gif=True)
    t0 = time.perf_counter()
    summary = run_job(spec, RESULTS / "atlas", LocalExecutor(threads=torch.get_num_threads()), batch_size=8,
                      on_image=lambda row: print(row["backbone"], row["class"], row["name"], "rank", row["rank"],
                                                 flush=True))
    print(f"{summary.written} written, {summary.skipped} already there, {time.perf_counter() - t0:.0f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("throughput", "atlas", "report"), default="throughput",
                   help="report: recompute the estimate and the .md from the saved JSON (no measurement)")
    p.add_argument("--iterations", type=int, default=32)
    p.add_argument("--classes", default="0-49", help="classes of --part atlas")
    args = p.parse_args()
    if args.part == "report":
        results = json.loads((RESULTS / "atlas_throughput.json").read_text())
        add_estimate(results)
        (RESULTS / "atlas_throughput.json").write_text(json.dumps(results, indent=1))
        (RESULTS / "atlas_throughput.md").write_text(report(results))
        print(report(results))
    else:
        throughput(args) if args.part == "throughput" else make_atlas(args)


if __name__ == "__main__":
    main()
