"""``netviz``: any error ends in one ``error:`` line and exit status 2; the traceback only with ``--debug``.

A bug is simulated by replacing ``classify``'s subcommand with one that raises, in a
subprocess started as a user starts the CLI (so the malloc setting the CLI applies
stays out of the test process).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BROKEN_CLASSIFY = """
import sys
import netviz_core.cli.classify as classify

def run(args):
    raise ValueError("box offset can't be\\nnegative")

classify.run = run
from netviz_core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def broken_netviz(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BROKEN_CLASSIFY, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_an_unexpected_exception_is_one_error_line_and_exit_status_2():
    done = broken_netviz("classify", "assets/chelsea.png")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "netviz classify: error: unexpected ValueError: box offset can't be negative "
        "(a bug in NetViz, please report it; run again with --debug to see the traceback)"
    ]


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(where):
    args = ["--debug", "classify", "assets/chelsea.png"] if where == "before" else ["classify", "assets/chelsea.png",
                                                                                     "--debug"]
    done = broken_netviz(*args)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert 'File "<string>", line 6, in run' in done.stderr  # where the bug was raised
    assert "ValueError: box offset can't be\nnegative\n" in done.stderr
    assert lines[-1] == ("netviz classify: error: unexpected ValueError: box offset can't be negative "
                         "(a bug in NetViz, please report it)")
