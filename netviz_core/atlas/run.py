"""The driver of a batch job: check the directory, plan what is missing, run it on an executor, write as it comes.

    spec = atlas_spec("0-15", ["tf_efficientnet_lite0"], "robust", iterations=64)
    summary = run_job(spec, "atlas-dir", LocalExecutor(threads=1), batch_size=8)

Only the driver writes (``store.JobDir.write``), one image at a time as each task's
results arrive; an interrupted run keeps every image written before and loses at
most the images of the tasks in flight.  A rerun with the same spec scans the
directory (checksums), and plans only the images that are missing or damaged.

Batches are the missing classes of one (backbone, grid point), in class order,
``batch_size`` at a time.  By default the engine batches images (one forward and
backward pass per step for the batch), which equals separate runs only to float
tolerance: an image is reproduced bit for bit by the same seed, threads *and* batch
(the index records all three).  With ``batch_invariant=True`` in the settings the
batch makes no difference, at the cost of the batching speed-up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import __version__
from ..errors import AtlasError
from .render import Task
from .spec import Item, JobSpec
from .store import JobDir, ScanReport, gif_path, png_path


@dataclass
class RunSummary:
    """What a run did."""

    directory: Path
    total: int  # images the job has
    skipped: int  # already done and valid
    written: int
    scan: ScanReport
    elapsed_s: float
    executor: str


def plan(spec: JobSpec, done: set[tuple[str, str, int]], batch_size: int, threads: int,
         device: str | None = None) -> list[Task]:
    """The tasks that make the job's missing images: per (backbone, grid point), ``batch_size`` classes at a time."""
    if batch_size < 1:
        raise AtlasError(f"The batch size must be 1 or more; got {batch_size}.")
    tasks = []
    for backbone in spec.backbones:
        for variant in spec.variants:
            settings = spec.settings_of(variant).to_dict()
            missing = [c for c in spec.classes if (backbone, variant.id, c) not in done]
            for start in range(0, len(missing), batch_size):
                items = [Item(backbone, variant.id, c) for c in missing[start:start + batch_size]]
                tasks.append(Task(
                    kind=spec.kind, backbone=backbone, variant=variant.id, variant_values=variant.as_dict(),
                    settings=settings, targets=tuple(i.target for i in items), scorers=spec.scorers,
                    threads=threads, paths=tuple(png_path(i) for i in items),
                    gif_paths=tuple(gif_path(i) if spec.gif else None for i in items), device=device,
                ))
    return tasks


def done_items(spec: JobSpec, report: ScanReport) -> set[tuple[str, str, int]]:
    """Items whose valid row also has what this run asks for (a GIF, when ``spec.gif``)."""
    return {key for key, row in report.rows.items() if not spec.gif or row.get("gif")}


def run_job(spec: JobSpec, directory: str | Path, executor, *, batch_size: int = 8, device: str | None = None,
            on_start: Callable[[int, int], None] | None = None,
            on_image: Callable[[dict], None] | None = None) -> RunSummary:
    """Make the job's missing images in ``directory`` with ``executor``; ``on_image(row)`` after each is written.

    ``on_start(to_do, total)`` is called once the directory is scanned (for a progress bar).
    """
    started = time.perf_counter()
    store = JobDir(directory)
    store.open_for(spec)
    report = store.scan()
    done = done_items(spec, report)
    wanted = {i.key for i in spec.items()}
    skipped = len(wanted & done)
    with executor:
        tasks = plan(spec, done, batch_size, executor.threads, device)
        if on_start is not None:
            on_start(sum(len(t.targets) for t in tasks), len(wanted))
        written = 0
        results = executor.run(tasks)
        try:
            for task, rendered in results:
                for image in rendered:
                    if image.meta.get("netviz") != __version__:  # a cluster node with another install
                        raise AtlasError(f"A worker ({image.extra.get('worker')}) runs NetViz "
                                         f"{image.meta.get('netviz')}, this driver {__version__}: install the same "
                                         "version on every node, so that one atlas is made by one version.")
                    row = store.write(image, {"executor": executor.name})
                    written += 1
                    if on_image is not None:
                        on_image(row)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    return RunSummary(Path(directory), len(wanted), skipped, written, report, time.perf_counter() - started,
                      executor.name)
