"""``netviz atlas --classes 0-999 --backbones ... --out DIR``: a class visualization of every class, resumable.

One PNG per (backbone, class) under DIR/images/, a GIF on request, and DIR/index.jsonl
with each image's settings, seed, torch threads, probability and rank on its backbone,
its rank on every other backbone of the run, timings and sha256.  Run the same command
again to continue an interrupted run or redo damaged images.  ``--ray`` spreads the
batches over a Ray cluster (``--ray`` alone starts a local one; ``--ray HOST:PORT``
joins a running cluster).
"""

from __future__ import annotations

import argparse
import sys

from .common import print_json

#: Class-visualization settings that are not flags of a batch job (a GIF is --gif, every GIF frame kept per step).
NOT_FLAGS = ("gif_every",)


def add_settings_arguments(p: argparse.ArgumentParser, grid: tuple[str, ...] = ()) -> None:
    """The class-visualization settings as options (from their declarations); the ``grid`` ones take several
    values (a sweep's axes)."""
    from ..classvis import ClassVisSettings
    from .common import add_preset_argument
    from .common import add_settings_arguments as add_declared

    g = p.add_argument_group("class-visualization settings (a preset, then overrides)")
    add_preset_argument(g, ClassVisSettings)
    add_declared(g, ClassVisSettings, skip=NOT_FLAGS, many=grid, defaults={"seed": 0},
                 default_text="default: the preset's")


def add_job_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--classes", "-c", action="append", required=True, metavar="LIST",
                   help="classes: all, a range 0-999, indices and names, comma-separated (repeatable)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="the job's directory (created; reruns resume)")
    p.add_argument("--gif", action="store_true", help="also write the evolution of each image as a GIF")
    run = p.add_argument_group("execution")
    run.add_argument("--batch-size", "-b", type=int, default=8, help="classes per task (default 8)")
    run.add_argument("--threads", type=int, default=None,
                     help="torch threads per task (default: local: this process's count; Ray: 1); recorded per image")
    run.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                     help="run the batches on Ray: --ray alone starts a local cluster, --ray HOST:PORT joins one")
    run.add_argument("--ray-cpus", type=int, default=None, metavar="N",
                     help="CPUs of the local Ray cluster that --ray starts (default: all)")
    run.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def register(sub) -> None:
    from ..models import DEFAULT_MODEL

    p = sub.add_parser("atlas", help="class visualizations of many classes on one or more backbones, into a directory",
                       description=__doc__.split("\n\n")[0] + " " + " ".join(__doc__.split("\n\n")[1].split()))
    add_job_arguments(p)
    p.add_argument("--backbones", "-m", nargs="+", default=[DEFAULT_MODEL], metavar="MODEL",
                   help=f"backbones that each make every class (default {DEFAULT_MODEL})")
    add_settings_arguments(p)
    p.set_defaults(func=run)


def executor_from_args(args):
    from ..atlas.executors import LocalExecutor, RayExecutor
    from ..errors import AtlasError

    if args.batch_size < 1:
        raise AtlasError(f"--batch-size must be 1 or more; got {args.batch_size}.")
    if args.ray is None:
        return LocalExecutor(threads=args.threads)
    return RayExecutor(args.ray or None, threads=args.threads or 1, num_cpus=args.ray_cpus)


def overrides_from_args(args, skip: tuple[str, ...] = ()) -> dict:
    from ..classvis import ClassVisSettings
    from .common import settings_from_args

    return settings_from_args(args, ClassVisSettings, skip=(*NOT_FLAGS, *skip))


def drive(args, spec, label: str) -> int:
    """Run ``spec`` with the executor the options choose, a progress bar with an ETA, and a summary."""
    from tqdm import tqdm

    from ..atlas.run import run_job

    executor = executor_from_args(args)
    bar = None

    def on_start(to_do: int, total: int) -> None:
        nonlocal bar
        if to_do < total:
            print(f"netviz {label}: {total - to_do} of {total} images already done in {args.out}", file=sys.stderr)
        bar = tqdm(total=to_do, desc=label, unit="img", file=sys.stderr, disable=args.no_progress)

    def on_image(row: dict) -> None:
        bar.set_postfix_str(f"{row['backbone']} {row['class']} rank {row['rank']}", refresh=False)
        bar.update(1)

    try:
        summary = run_job(spec, args.out, executor, batch_size=args.batch_size, device=args.device,
                          on_start=on_start, on_image=on_image)
    finally:
        if bar is not None:
            bar.close()
    report = summary.scan
    result = {"directory": str(summary.directory), "executor": summary.executor, "threads_per_task": executor.threads,
              "images": summary.total, "already_done": summary.skipped, "written": summary.written,
              "index_rebuilt": report.rebuilt, "damaged_rows_dropped": report.stale_rows + report.bad_lines,
              "rows_recovered_from_pngs": report.recovered, "elapsed_s": round(summary.elapsed_s, 3)}
    if args.json:
        print_json(result)
    else:
        repaired = f", index repaired ({report.stale_rows + report.bad_lines} rows dropped, {report.recovered} " \
                   f"recovered)" if report.rebuilt else ""
        print(f"{label}: {summary.written} images written, {summary.skipped} already done, {summary.total} in "
              f"{args.out} ({summary.executor}, {executor.threads} torch thread(s) per task, "
              f"{summary.elapsed_s:.1f} s){repaired}")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..atlas.spec import atlas_spec

    spec = atlas_spec(args.classes, args.backbones, args.preset, gif=args.gif, **overrides_from_args(args))
    return drive(args, spec, "atlas")
