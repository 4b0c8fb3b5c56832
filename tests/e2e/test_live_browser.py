"""The live view's browser benchmark (benchmarks/bench/live_browser.py) measures what it says, in real Chromium.

No timing is asserted: the figures are the benchmark's to print.  What is checked is that the
browser saw the run (progress updates to the last step, pictures loaded) and that the report
holds every figure the README quotes.
"""

from __future__ import annotations

import math

from .conftest import E2E

pytestmark = E2E


def test_the_browser_benchmark_sees_the_run_and_reports_every_figure():
    from benchmarks.bench.live_browser import bench_live_browser, markdown

    r = bench_live_browser(iterations=12, rounds=1, log=lambda s: None)
    (row,) = r["per_round"]
    b, h = row["browser"], row["headless"]
    assert b["steps"] == h["steps"] == 12  # both sides ran the whole run, to the last step
    assert b["progress_updates"] >= 2 and b["frames"] >= 2  # the browser saw it move and drew pictures
    for key in ("steps_per_s_browser", "steps_per_s_headless", "frames_per_s", "speed_vs_headless",
                "server_cores", "chromium_cores"):
        assert math.isfinite(r[key]) and r[key] > 0, (key, r[key])
    assert r["chromium_cores"] > 0  # Chromium's processes were found and their CPU time read
    md = markdown(r)
    assert "browser / headless" in md and "frames/s drawn in the browser" in md and "load average" in md
