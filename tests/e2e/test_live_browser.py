"""The live view's browser benchmark (benchmarks/bench/live_browser.py) measures what it says, in real Chromium.

No timing is asserted: the figures are the benchmark's to print.  What is checked is that the
browser saw the run (progress updates to the last step, pictures loaded) and that the report
holds every figure the README quotes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from conftest import ROOT

from .conftest import E2E

pytestmark = E2E


def test_the_browser_benchmark_sees_the_run_and_reports_every_figure(tmp_path):
    # In a process of its own, as it is run: Playwright's sync API refuses to start in a thread where
    # another test's Playwright (an asyncio loop) is still running.
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench.live_browser", "--iterations", "12", "--rounds", "1",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads((tmp_path / "live_browser.json").read_text())
    (row,) = r["per_round"]
    b, h = row["browser"], row["headless"]
    assert b["steps"] == h["steps"] == 12  # both sides ran the whole run, to the last step
    assert b["progress_updates"] >= 2 and b["frames"] >= 2  # the browser saw it move and drew pictures
    for key in ("steps_per_s_browser", "steps_per_s_headless", "frames_per_s", "speed_vs_headless",
                "server_cores", "chromium_cores"):
        assert math.isfinite(r[key]) and r[key] > 0, (key, r[key])
    assert r["chromium_cores"] > 0  # Chromium's processes were found and their CPU time read
    md = (tmp_path / "live_browser.md").read_text()
    assert "browser / headless" in md and "frames/s drawn in the browser" in md and "load average" in md
