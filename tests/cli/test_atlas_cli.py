"""``netviz atlas`` and ``netviz sweep``: a killed run resumes, a sweep's sheet has one cell per grid point, bad inputs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from netviz_core.atlas import JobDir
from netviz_core.atlas.sheet import cell_boxes, thumbnail
from netviz_core.atlas.spec import sweep_spec
from netviz_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--iterations", "1", "--threads", "1", "--no-progress"]


def atlas_command(out: Path, classes: str, iterations: int) -> tuple[list[str], dict]:
    """``netviz atlas`` as a shell starts it (one image a batch, one thread): its argv and environment."""
    argv = [sys.executable, "-m", "netviz_core", "atlas", "--classes", classes, "--out", str(out), "--batch-size", "1",
            "--iterations", str(iterations), "--threads", "1", "--no-progress"]
    return argv, dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


def atlas_process(out: Path, classes: str, iterations: int) -> subprocess.Popen:
    """That command in a process of its own."""
    argv, env = atlas_command(out, classes, iterations)
    return subprocess.Popen(argv, env=env, cwd=out.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.long
def test_a_run_killed_mid_way_resumes_and_completes(tmp_path):
    out = tmp_path / "atlas"
    proc = atlas_process(out, "0-11", iterations=2)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            index = out / "index.jsonl"
            if index.exists() and len(index.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        proc.stderr.close()
    done_before = len(JobDir(out).scan(repair=False).rows)
    assert 3 <= done_before < 12
    argv, env = atlas_command(out, "0-11", iterations=2)
    result = subprocess.run(argv + ["--json"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["already_done"] == done_before and summary["written"] == 12 - done_before
    report = JobDir(out).scan()
    assert len(report.rows) == 12 and not report.rebuilt  # complete, and nothing left to repair
    lines = (out / "index.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["class"] for line in lines) == list(range(12))
    assert not list(out.rglob("*.tmp"))


def test_sweep_contact_sheet_has_one_cell_per_grid_point(tmp_path, capsys):
    out = tmp_path / "sweep"
    rc = main(["sweep", "--classes", "goldfish", "--out", str(out), "--iterations", "1", "--lr", "0.02", "0.1",
               "--tv-weight", "0", "0.001", "0.01", "--held-out", "--threads", "1", "--no-progress", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert json.loads(captured.out)["written"] == 6
    # --iterations is a grid option of sweep: one value is an axis of length 1
    spec = sweep_spec("goldfish", "tf_efficientnet_lite0",
                      {"lr": [0.02, 0.1], "tv_weight": [0, 0.001, 0.01], "iterations": [1]}, held_out=())
    sheet = Image.open(out / "sheet-tf_efficientnet_lite0-0001.png").convert("RGB")
    boxes = cell_boxes(spec)
    assert len(boxes) == 6
    rows = {r["variant"]: r for r in JobDir(out).rows()}
    for variant, box in boxes.items():  # each cell shows its own grid point's picture
        own = thumbnail(Image.open(out / rows[variant]["png"]))
        assert ImageChops.difference(sheet.crop(box), own).getbbox() is None
    table = json.loads((out / "table.json").read_text())
    assert len(table) == 6 and {(t["lr"], t["tv_weight"]) for t in table} == {
        (lr, tv) for lr in (0.02, 0.1) for tv in (0, 0.001, 0.01)}
    assert (out / "table.csv").read_text().splitlines()[0].startswith("backbone,class,name,tv_weight,iterations,lr")


def test_sweep_ranks_on_held_out_backbones(tmp_path, capsys):
    out = tmp_path / "sweep"
    rc = main(["sweep", "-c", "1", "--out", str(out), "--iterations", "1", "--lr", "0.05", "--held-out",
               "tf_efficientnet_lite1", "--threads", "1", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    (row,) = json.loads((out / "table.json").read_text())
    assert row["mean_held_out_rank"] == row["rank_tf_efficientnet_lite1"] >= 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args, words", [
    (["atlas", "-c", "5-2"], "runs backwards"),
    (["atlas", "-c", "0-1", "--backbones", "not_a_model_xyz"], "not_a_model_xyz"),
    (["atlas", "-c", "0-1", "--batch-size", "0"], "--batch-size"),
    (["atlas", "-c", "0-1", "--threads", "0"], "threads per task"),
    (["atlas", "-c", "0-1", "--ray", "127.0.0.1:PORT"], "No Ray cluster answers"),
    (["atlas", "-c", "0-1", "--ray", "head:x"], "Malformed Ray address"),
    (["sweep", "-c", "1"], "at least one axis"),
    (["sweep", "-c", "1", "--blur-every", "0", "5", "--blur-sigma", "0.5"], "Blur acts on pixels"),
])
def test_bad_inputs_are_one_clear_line(tmp_path, capsys, args, words):
    args = [a.replace("PORT", str(free_port())) for a in args]
    tiny = TINY if args[0] == "atlas" else TINY[2:]  # sweep: --iterations would be a grid axis
    assert main(args[:1] + tiny + ["--out", str(tmp_path / "d")] + args[1:]) == 2  # the case's options come last
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and err.startswith(f"netviz {args[0]}: error: ")
    assert not (tmp_path / "d" / "index.jsonl").exists()


def test_a_directory_of_another_run_is_one_line_and_keeps_its_files(tmp_path, capsys):
    out = tmp_path / "a"
    assert main(["atlas", "-c", "3", "--out", str(out)] + TINY) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["atlas", "-c", "3", "--out", str(out), "--tv-weight", "0"] + TINY) == 2
    err = capsys.readouterr().err
    assert "holds another run (tv_weight: 0.0005 there, 0.0 here)" in err and err.count("\n") == 1
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.long
def test_two_runs_writing_one_directory_at_once_leave_it_valid(tmp_path):
    out = tmp_path / "atlas"
    procs = [atlas_process(out, "0-5", iterations=1) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    for line in (out / "index.jsonl").read_text().splitlines():
        json.loads(line)  # no interleaved or cut lines
    report = JobDir(out).scan()
    assert sorted(key[2] for key in report.rows) == list(range(6)) and not report.corrupt_files
    assert not list(out.rglob("*.tmp"))
