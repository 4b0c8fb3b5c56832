"""Data parallelism over the images of a batch, for CPUs with a few cores.

Why: on a 2-core CPU, torch's intra-op threads scale the EfficientNet-Lite step
poorly (one thread runs at ~0.75x the speed of two: depthwise convolutions are
small, memory-bound kernels), and a batch of 8 in one pass gains nothing over
batch 1 (its activations no longer fit in the cache).  Splitting the batch into
micro-batches of ``MICRO_BATCH`` images, each run start to finish on its own
worker thread with one intra-op thread, keeps every core busy on cache-sized
work.  Measured on tf_efficientnet_lite0, 224 px, forward + backward to the
input, torch 2.14 on the project's 2-core CPU, median of 5 interleaved rounds:
batch 8 as one pass 0.97x the images/s of batch 1; as micro-batches of 1, 2 and 4
on 2 workers 1.43x, 1.66x and 1.28x.  ``netviz bench`` re-measures it.

Scope: CPU only, 2 to ``MAX_THREADS`` intra-op threads (on a larger CPU torch's
own threading of a whole batch is left alone; not measured here), batches of 2 or
more, and only where this module can set a worker thread's OpenMP thread count
without touching any other thread's (see ``_single_threaded``).  Otherwise the
engine runs the batch in one pass, as before.  NETVIZ_CPU_WORKERS=0 (or 1) turns
it off; NETVIZ_CPU_WORKERS=N asks for N workers.

A worker never changes torch's process-wide settings: ``torch.set_num_threads``
would also lower the default of every thread started later (Streamlit starts one
per script run), so the worker calls OpenMP's ``omp_set_num_threads``, whose
setting belongs to the calling thread alone.

The results do not depend on scheduling: each micro-batch's arithmetic is that of
a one-thread pass over those images, whichever worker runs it.  They do differ
from a one-pass batch in float rounding (other kernels), as a batch always did
from separate runs; ``batch_invariant`` runs stay image by image on the calling
thread.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")

#: Images per micro-batch (the measured best of 1, 2 and 4 on 2 workers; module docstring).
MICRO_BATCH = 2
#: Above this many intra-op threads, torch's own threading is used (not measured here).
MAX_THREADS = 4

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_in_worker = threading.local()
_omp_set_num_threads: Callable[[int], None] | None = None
_omp_searched = False


def _openmp_setter() -> Callable[[int], None] | None:
    """``omp_set_num_threads`` of the OpenMP runtime that torch itself loaded, or None."""
    global _omp_set_num_threads, _omp_searched
    if _omp_searched:
        return _omp_set_num_threads
    _omp_searched = True
    if "OpenMP" not in torch.__config__.parallel_info():
        return None
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if line.rstrip().endswith((".so.1", ".so")) and ("libgomp" in line or "libiomp" in line)})
    except OSError:  # not Linux
        return None
    for path in paths:
        try:
            fn = ctypes.CDLL(path).omp_set_num_threads
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], None
        _omp_set_num_threads = fn
        break
    return _omp_set_num_threads


def _single_threaded() -> None:
    """Pool initializer: this worker thread runs torch ops on one OpenMP thread."""
    _in_worker.active = True
    torch.get_num_threads()  # torch sets a new thread's OpenMP count on first use; do that first
    setter = _openmp_setter()
    if setter is not None:
        setter(1)


def cpu_workers() -> int:
    """How many workers a CPU batch is split across (0: no split) in this process."""
    env = os.environ.get("NETVIZ_CPU_WORKERS", "").strip()
    if env:
        try:
            requested = int(env)
        except ValueError:
            requested = 0
        return requested if requested >= 2 and _openmp_setter() is not None else 0
    threads = torch.get_num_threads()
    if not 2 <= threads <= MAX_THREADS or _openmp_setter() is None:
        return 0
    return threads


def plan(n: int, device: torch.device) -> list[slice] | None:
    """Micro-batches for a batch of ``n`` images on ``device``, or None to run it in one pass."""
    workers = cpu_workers() if torch.device(device).type == "cpu" else 0
    if workers < 2 or n < 2:
        return None
    chunks = min(n, max(workers, math.ceil(n / MICRO_BATCH)))
    bounds = [round(i * n / chunks) for i in range(chunks + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def _executor(workers: int) -> ThreadPoolExecutor:
    """The process's one pool, made on first use with ``workers`` threads and kept.

    Shared by every session: concurrent runs queue their micro-batches on it instead
    of starting threads of their own, so the cores are never oversubscribed.
    """
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="netviz-worker", initializer=_single_threaded)
        return _pool


def map_parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(item) for item in items]`` on the worker pool, in order; the first error is raised."""
    workers = cpu_workers()
    if workers < 2 or len(items) < 2 or getattr(_in_worker, "active", False):
        # Serially: nothing to split, or already on a worker (waiting for the pool there could deadlock).
        return [fn(item) for item in items]
    futures = [_executor(workers).submit(fn, item) for item in items]
    return [f.result() for f in futures]
