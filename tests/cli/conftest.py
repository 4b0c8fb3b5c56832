"""Running ``netviz ...`` in this process: what a user's shell would get, without a torch import per call.

A subprocess per call spends seconds importing torch and loading the model again; ``main``
in this process reuses the loaded models.  The tests that are about the process boundary
(exit status and message as a shell sees them, the traceback hidden) keep a subprocess.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Completed:
    """What a finished ``netviz`` command gave: like ``subprocess.CompletedProcess``."""

    returncode: int
    stdout: str
    stderr: str


def netviz(*args: str) -> Completed:
    """``netviz ARGS`` in this process; paths in ARGS are as given (make them absolute)."""
    from netviz_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return Completed(int(code), out.getvalue(), err.getvalue())
