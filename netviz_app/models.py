"""Models cached once per process and shared by every session.

``load_model`` returns a frozen model (eval mode, no parameter gradients, no
hooks), so one instance can serve all sessions at once; pages only read it.
Uploaded weights files are written to a temporary file named by their SHA-256 and
cached under that hash, so the same upload in two sessions loads once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import streamlit as st

from netviz_core.models import load_model

#: Where uploaded weights files are written (one file per content hash).
UPLOAD_DIR = Path(tempfile.gettempdir()) / "netviz-uploaded-weights"


@st.cache_resource(show_spinner="Loading model...", max_entries=6)
def cached_model(name: str, weights: str | None, _path: str | None = None):
    """``load_model(name, weights)``; for uploads ``weights`` is ``'sha256:<hex>'`` and ``_path`` the file.

    The cache key is (name, weights): the path is left out of the key because the
    hash already identifies the file.  Errors (NetVizError) are not cached.
    """
    return load_model(name, _path if _path is not None else weights)


def save_uploaded_weights(filename: str, data: bytes) -> tuple[str, str]:
    """Write an uploaded weights file to a temp file; returns (cache key, path)."""
    digest = hashlib.sha256(data).hexdigest()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename or "weights").name)[:80] or "weights"
    suffix = Path(stem).suffix.lower()
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    path = UPLOAD_DIR / f"{digest[:16]}-{stem if suffix else stem + '.bin'}"
    if not path.exists() or path.stat().st_size != len(data):
        fd, tmp = tempfile.mkstemp(dir=UPLOAD_DIR, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return f"sha256:{digest}", str(path)


def model_from_upload(arch: str, filename: str, data: bytes):
    key, path = save_uploaded_weights(filename, data)
    return cached_model(arch, key, _path=path)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: Set to 0 to let the dashboard's torch use every core (no browser on this machine).
BROWSER_CORE_ENV = "NETVIZ_LEAVE_A_CORE_FOR_THE_BROWSER"

#: Torch's own choice of intra-op threads in this process (OMP_NUM_THREADS, else the cores), read once.
_TORCH_THREADS = None


def leave_a_core_for_the_browser() -> int:
    """Run this script thread's torch work on one core fewer than torch would use (at least one); returns it.

    The dashboard usually shares its machine with the browser that shows it: Chromium
    decodes every live frame and lays out the page while the optimiser runs.  Torch's
    threads wait for each other at every operation, so one of them pre-empted by the
    browser holds up all of them, and the run slows by far more than the browser's share
    of the CPU; one thread fewer than the cores costs little (the live-view
    benchmark, ``python -m benchmarks.bench.live_browser``, measures the page against
    torch's default headless).  Torch keeps the number per thread (a thread started later
    takes the last one set), and Streamlit runs every script run in a thread of its
    own, so ``app.py`` calls this on every run.

    ``NETVIZ_LEAVE_A_CORE_FOR_THE_BROWSER``: ``1`` (default) leaves a core, ``0`` gives torch
    every core, ``keep`` changes nothing (the test suite sets it: a process-wide setting that
    one test changed would change every later test's arithmetic).
    """
    import torch

    global _TORCH_THREADS
    if _TORCH_THREADS is None:
        _TORCH_THREADS = torch.get_num_threads()
    mode = os.environ.get(BROWSER_CORE_ENV, "1").strip().lower()
    if mode == "keep":  # an embedding process (the test suite) owns torch's thread count: leave it alone
        return torch.get_num_threads()
    # A server whose viewers sit on other machines has no browser to make room for.
    spare = 0 if mode == "0" else 1
    n = max(1, min(_TORCH_THREADS, _usable_cores() - spare))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
