"""Process-wide settings that make NetViz faster on a CPU.

``reuse_freed_memory()`` asks glibc's malloc to keep the memory that a step frees
and hand it to the next step, instead of returning it to the operating system and
taking it back, zero-filled page by page, a few milliseconds later.  By default
glibc trims the top of its heap once more than a (dynamic) threshold is free and
serves large blocks with fresh ``mmap``s; a forward + backward pass frees and
re-allocates tens of megabytes of activations every step, so a step pays thousands
of page faults and milliseconds of system time (the figures, and how the benchmark
re-measures them: benchmarks/results/malloc.md).  Threads other than the main one
allocate from heaps of at most 64 MiB, so there a larger block is still mapped
afresh each time (Streamlit runs pages in such threads).  Both settings are needed:
fixing only the trim threshold turns off glibc's adaptive mmap threshold and leaves
every block to ``mmap``.

The cost is that the process keeps its peak heap (a few hundred MB for a batch of 8
at 260 px) instead of shrinking between runs; memory then stays flat across runs.
It changes the whole process, so the library never does it on import: the
``netviz`` CLI, the dashboard and the benchmark (``python -m benchmarks.bench``)
call it at start-up, and a library user may.  NETVIZ_REUSE_FREED_MEMORY=0 turns it
off.  Elsewhere than glibc (musl, macOS, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import threading

#: glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Free heap kept at the top before glibc trims it.
TRIM_THRESHOLD_BYTES = 1 << 30
#: Blocks at least this large still get their own mmap.  A batch of 8 at 260 px has single
#: activations of 50-100 MB; glibc's documented maximum is 32 MiB, and where it refuses
#: more, ``FALLBACK_MMAP_THRESHOLD_BYTES`` is used.
MMAP_THRESHOLD_BYTES = 256 << 20
FALLBACK_MMAP_THRESHOLD_BYTES = 32 << 20

_lock = threading.Lock()
_state: dict[str, bool] = {}


def reuse_freed_memory() -> bool:
    """Set glibc's malloc to reuse freed memory (see the module docstring); True if it took effect.

    Idempotent and thread-safe; the first call decides.
    """
    with _lock:
        if "applied" not in _state:
            _state["applied"] = _apply()
        return _state["applied"]


def _apply() -> bool:
    if os.environ.get("NETVIZ_REUSE_FREED_MEMORY", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; the mmap threshold first, so that no moment has the
    # trim threshold fixed with the adaptive mmap threshold switched off at 128 KiB.
    mmap_set = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) or mallopt(M_MMAP_THRESHOLD, FALLBACK_MMAP_THRESHOLD_BYTES)
    return bool(mmap_set) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
