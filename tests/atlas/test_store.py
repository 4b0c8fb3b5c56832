"""A job directory: resume by checksum, repair of a damaged index, refusal of other runs, a full disk, two writers."""

from __future__ import annotations

import errno
import json
import shutil
import threading

import pytest
import torch
from PIL import Image

from netviz_core.atlas import JobDir, LocalExecutor, atlas_spec, run_job, sweep_spec
from netviz_core.atlas import store as store_mod
from netviz_core.atlas.render import Rendered, encode_png, read_png_meta
from netviz_core.errors import AtlasError
from netviz_core.images import preprocess

CLASSES = "0-2"


def tiny(**kw):
    return atlas_spec(CLASSES, ["tf_efficientnet_lite0"], "lucid", iterations=1, **kw)


def make(spec, directory, **kw):
    return run_job(spec, directory, LocalExecutor(threads=1), batch_size=1, **kw)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A finished 3-class atlas (1 step each); tests work on copies of it."""
    directory = tmp_path_factory.mktemp("atlas") / "a"
    summary = make(tiny(gif=True), directory)
    assert summary.written == 3
    return directory


@pytest.fixture
def atlas(made, tmp_path):
    copy = tmp_path / "a"
    shutil.copytree(made, copy)
    return copy


def index_lines(directory):
    return (directory / "index.jsonl").read_text().splitlines()


def test_layout_manifest_and_index_rows(atlas, lite0):
    manifest = json.loads((atlas / "manifest.json").read_text())
    assert manifest["identity"]["kind"] == "atlas" and manifest["identity"]["settings"]["iterations"] == 1
    assert manifest["identity"]["netviz"]
    rows = [json.loads(line) for line in index_lines(atlas)]
    assert sorted(r["class"] for r in rows) == [0, 1, 2]
    for r in rows:
        assert (atlas / r["png"]).is_file() and (atlas / r["gif"]).is_file()
        assert r["torch_threads"] == 1 and r["seed"] == 0 and r["settings"]["targets"] == [r["class"]]
        # The recorded rank is the written PNG's: read it back, score it, count the classes above the target.
        with torch.no_grad():
            logits = lite0(preprocess(lite0, Image.open(atlas / r["png"])))[0]
        assert r["rank"] == 1 + int((logits > logits[r["class"]]).sum())
        assert r["ranks"] == {"tf_efficientnet_lite0": r["rank"]}
        assert set(r["timings"]) >= {"optimize_s", "score_s", "batch_s"}
        assert read_png_meta((atlas / r["png"]).read_bytes())["class"] == r["class"]  # the PNG carries its row


def test_a_rerun_skips_everything_valid(atlas):
    before = (atlas / "index.jsonl").read_bytes()
    summary = make(tiny(gif=True), atlas)
    assert (summary.skipped, summary.written) == (3, 0)
    assert (atlas / "index.jsonl").read_bytes() == before


def test_a_corrupted_and_a_missing_png_are_detected_and_redone(atlas):
    rows = {json.loads(line)["class"]: json.loads(line) for line in index_lines(atlas)}
    corrupt, missing = atlas / rows[0]["png"], atlas / rows[2]["png"]
    original = corrupt.read_bytes()
    corrupt.write_bytes(original[:100] + b"\0" * 64 + original[164:])  # same size, different bytes
    missing.unlink()
    summary = make(tiny(gif=True), atlas)
    assert summary.written == 2 and summary.scan.stale_rows == 2 and summary.scan.rebuilt
    assert corrupt.read_bytes() == original  # same seed, threads and batch: the same file again
    report = JobDir(atlas).scan()
    assert len(report.rows) == 3 and not report.rebuilt
    assert len(index_lines(atlas)) == 3


def test_a_damaged_index_is_rebuilt_from_the_pngs(atlas):
    lines = index_lines(atlas)
    (atlas / "index.jsonl").write_text(lines[0] + "\n{not json\n" + lines[1][: len(lines[1]) // 2])
    report = JobDir(atlas).scan()
    assert report.rebuilt and report.bad_lines == 2 and report.recovered == 2
    rows = [json.loads(line) for line in index_lines(atlas)]
    assert sorted(r["class"] for r in rows) == [0, 1, 2]
    recovered = [r for r in rows if r.get("recovered")]
    assert len(recovered) == 2 and all(r["gif_sha256"] and r["timings"] is None for r in recovered)
    (atlas / "index.jsonl").unlink()
    assert len(JobDir(atlas).scan().rows) == 3
    assert make(tiny(gif=True), atlas).written == 0


def test_a_directory_of_another_run_is_refused_and_left_alone(atlas, tmp_path):
    before = sorted(p.name for p in atlas.rglob("*"))
    with pytest.raises(AtlasError, match="iterations: 1 there, 2 here"):
        make(atlas_spec(CLASSES, ["tf_efficientnet_lite0"], "lucid", iterations=2), atlas)
    with pytest.raises(AtlasError, match="a atlas, not a sweep"):
        make(sweep_spec("1", "tf_efficientnet_lite0", {"lr": [0.05]}, iterations=1, held_out=()), atlas)
    assert sorted(p.name for p in atlas.rglob("*")) == before
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(AtlasError, match="no NetViz manifest"):
        make(tiny(), other)
    assert [p.name for p in other.iterdir()] == ["holiday.jpg"]


def test_a_full_disk_is_one_error_and_the_index_stays_valid(atlas, monkeypatch):
    rows = {json.loads(line)["class"]: json.loads(line) for line in index_lines(atlas)}
    (atlas / rows[1]["png"]).unlink()
    (atlas / rows[2]["png"]).unlink()
    real_write = store_mod.os.write
    calls = []

    def full_after_one(fd, data):  # the first index line fits, half of the second does, then the disk is full
        calls.append(data)
        if len(calls) == 1:
            return real_write(fd, data)
        real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod.os, "write", full_after_one)
    with pytest.raises(AtlasError, match="Disk full"):
        make(tiny(gif=True), atlas)
    monkeypatch.undo()
    for line in index_lines(atlas):
        json.loads(line)  # no line cut short
    assert make(tiny(gif=True), atlas).written == 0  # the PNG written before the full disk still counts


def test_a_full_disk_while_writing_a_png_leaves_no_partial_file(atlas, monkeypatch):
    (atlas / "images/tf_efficientnet_lite0/0001.png").unlink()

    real_replace = store_mod.os.replace

    def no_space_for_pngs(src, dst):  # the index's rebuild (a stale row) still fits; the image does not
        if str(dst).endswith(".png"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(store_mod.os, "replace", no_space_for_pngs)
    with pytest.raises(AtlasError, match="Disk full while writing .*0001"):
        make(tiny(gif=True), atlas)
    monkeypatch.undo()
    assert not list(atlas.rglob("*.tmp"))
    assert len(JobDir(atlas).scan().rows) == 2


def fake_rendered(target: int, shade: int) -> Rendered:
    path = f"images/m/{target:04d}.png"
    meta = {"kind": "atlas", "backbone": "m", "variant": "", "class": target, "name": str(target), "png": path,
            "gif": None, "rank": 1}
    return Rendered(target, encode_png(Image.new("RGB", (8, 8), (shade, 0, 0)), meta), None, meta, {})


def test_two_writers_on_one_directory_never_corrupt_it(tmp_path):
    directory = JobDir(tmp_path / "shared")
    directory.root.mkdir()

    def writer(shade: int) -> None:
        for round_ in range(30):
            for target in range(5):
                directory.write(fake_rendered(target, shade), {"round": round_})

    threads = [threading.Thread(target=writer, args=(s,)) for s in (10, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = index_lines(directory.root)
    assert len(lines) == 300 and all(json.loads(line)["backbone"] == "m" for line in lines)
    report = directory.scan()
    # every PNG is one writer's whole file, and one of the rows naming it has its checksum
    assert len(report.rows) == 5 and report.recovered == 0
    assert all(Image.open(directory.root / r["png"]).getpixel((0, 0))[0] in (10, 200) for r in report.rows.values())
    assert len(index_lines(directory.root)) == 5  # the stale rows were dropped by the rebuild
