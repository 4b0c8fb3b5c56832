"""Batch jobs: a class atlas (every class on every backbone) and a settings sweep, resumable, local or on Ray.

* ``spec``: what a job makes (``atlas_spec``, ``sweep_spec``, ``parse_classes``).
* ``render``: one task, a batch of classes -> PNG bytes with their rows (the only code that makes images).
* ``store``: the directory (manifest, index.jsonl, images/), atomic writes, scan and repair.
* ``executors``: ``LocalExecutor`` (this process) and ``RayExecutor`` (a Ray cluster).
* ``run``: the driver (``run_job``): scan, plan what is missing, run, write as results arrive.
* ``sheet``: a sweep's contact sheet and table.
"""

from .executors import LocalExecutor, RayExecutor
from .run import RunSummary, run_job
from .spec import JobSpec, atlas_spec, parse_classes, sweep_spec
from .store import JobDir

__all__ = ["JobSpec", "JobDir", "LocalExecutor", "RayExecutor", "RunSummary", "atlas_spec", "parse_classes",
           "run_job", "sweep_spec"]
