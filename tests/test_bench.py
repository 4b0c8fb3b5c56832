"""The benchmark (``python -m benchmarks.bench``): it runs and writes what it promises.

No timing assertions (speed is in the numbers it prints).
"""

from __future__ import annotations

import json
import math

import pytest

from benchmarks.bench import markdown
from benchmarks.bench.__main__ import main
from netviz_core.cli import build_parser

MODEL_KEYS = {
    "model", "input_size", "memory_format", "raw_step_b1_s", "raw_step_b8_s", "classvis_b1_step_s",
    "classvis_b8_step_s", "classvis_b1_over_raw", "classvis_b8_over_raw", "classvis_b1_end_to_end_over_raw",
    "classvis_b8_end_to_end_over_raw", "batch_gain", "raw_batch_gain", "classvis_b1_minor_faults_per_step",
    "classvis_b8_minor_faults_per_step", "saliency_vanilla_s",
    "saliency_vanilla_over_raw", "saliency_gradcam_s", "fooling", "fooling_iteration_over_raw",
}


@pytest.mark.long
def test_bench_quick_writes_json_and_markdown(tmp_path, capsys):
    assert main(["--quick", "--no-live", "--no-choices", "--device", "cpu", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "bench-quick.json").read_text())
    assert result["quick"] is True
    assert {"date", "cpu", "cores", "torch", "threads", "device"} <= set(result["machine"])
    (row,) = result["models"]
    assert row["model"] == "tf_efficientnet_lite0"
    assert MODEL_KEYS <= set(row)
    for key in ("raw_step_b1_s", "raw_step_b8_s", "classvis_b1_step_s", "classvis_b1_over_raw",
                "classvis_b8_over_raw", "batch_gain"):
        assert math.isfinite(row[key]) and row[key] > 0
    assert row["classvis_b1_minor_faults_per_step"] >= 0
    assert {"time_s", "iterations", "success"} <= set(row["fooling"])
    md = (tmp_path / "bench-quick.md").read_text()
    assert "class vis. / raw, batch 1" in md and result["machine"]["cpu"] in md
    assert "wrote" in capsys.readouterr().out


def test_markdown_renders_every_section():
    row = {
        "model": "tf_efficientnet_lite0", "input_size": [224, 224], "raw_step_b1_s": 0.05, "raw_step_b8_s": 0.25,
        "classvis_b1_step_s": 0.051, "classvis_b8_step_s": 0.26, "classvis_b1_over_raw": 1.02,
        "classvis_b8_over_raw": 1.01, "classvis_b1_end_to_end_over_raw": 1.04, "classvis_b8_end_to_end_over_raw": 1.03,
        "classvis_b1_minor_faults_per_step": 12, "classvis_b8_minor_faults_per_step": 345,
        "classvis_b1_system_s_per_step": 0.001, "classvis_b8_system_s_per_step": 0.004,
        "batch_gain": 1.6, "raw_batch_gain": 1.6, "saliency_vanilla_s": 0.05, "saliency_vanilla_over_raw": 1.0,
        "fooling": {"time_s": 0.5, "iterations": 9, "success": True}, "fooling_iteration_over_raw": 1.1,
    }
    result = {
        "machine": {"date": "2026-01-01 00:00 UTC", "cpu": "Some CPU", "cores": 2, "usable_cores": 2,
                    "torch": "2.14.1", "threads": 2, "device": "cpu", "gpu": None, "python": "3.11"},
        "quick": False, "loadavg_start": 0.1, "loadavg_end": 0.2, "models": [row], "total_s": 1.0,
        "live_view": {"model": "tf_efficientnet_lite0", "iterations": 100, "max_fps": 8.0, "frames_per_s": 7.5,
                      "speed_vs_headless": 0.95, "steps_per_s_live": 19.0, "steps_per_s_headless": 20.0,
                      "draw_ms": 5.0, "draw_share": 0.04},
        "lucent": {"error": "not installed"},
        "cold_start": {"health_s": 2.0, "first_page_s": 6.0},
    }
    md = markdown(result)
    assert "Some CPU" in md and "**1.020**" in md and "1.60×" in md and "| 345 / 4.0 |" in md
    assert "Grad-CAM" in md  # a missing figure is a dash, not an error
    assert "7.5 frames/s" in md and "Lucent: not measured (not installed)" in md and "6.0 s" in md


def test_bench_is_not_a_subcommand_of_the_installed_cli():
    """The benchmark needs the repository (assets, app.py, netviz_app): the ``netviz`` command does not offer it."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--quick"])


def test_the_module_runs_from_the_repository_root():
    import subprocess
    import sys

    from conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--quick" in proc.stdout and "--lucent-python" in proc.stdout


@pytest.mark.long
def test_the_live_view_it_times_is_the_pages_view():
    """The benchmark's live-view script draws through netviz_app.classvis_view (the view of pages 3 and 5)."""
    from streamlit.testing.v1 import AppTest

    from benchmarks.bench.live_view import _live_view_script

    at = AppTest.from_function(_live_view_script, default_timeout=600,
                               kwargs=dict(model="tf_efficientnet_lite0", device="cpu", iterations=3, max_fps=8.0,
                                           rounds=1))
    at.run()
    assert not at.exception
    (run,) = at.session_state["bench_live"]
    assert run["seen"] == 4 and 2 <= run["drawn"] <= 4 and run["draw_s"] > 0
    # What classvis_view.LiveView.draw writes: the progress bar with the scores (and the picture and the chart).
    assert any(p.proto.text.startswith("running: step 3/3, S_c ") for p in at.get("progress"))
    drawn = {getattr(el, "type", None): el for el in at.main}
    assert {"image", "plotly_chart"} <= set(drawn)
    (picture,) = drawn["image"].proto.imgs
    assert picture.caption == "step 3" and picture.url.endswith(".jpg")  # the live view's JPEG
