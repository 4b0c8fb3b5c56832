"""``netviz classvis``: files, naming, JSON and errors; the PNGs it writes, read back, are their classes.

The presets are named explicitly: the tests check what a preset gives, not which one is the default.
"""

from __future__ import annotations

import json

import pytest
from PIL import Image

from netviz_core.classify import predict_proba
from netviz_core.cli import main
from netviz_core.cli.classvis import output_paths
from netviz_core.images import open_image, preprocess

TARGETS = ["tarantula", "1", "flamingo", "187", "pizza"]  # by name and by index
TARGET_INDICES = [76, 1, 130, 187, 963]


def test_one_target_writes_out_and_gif_with_json(tmp_path, capsys):
    out, gif = tmp_path / "img.png", tmp_path / "evo.gif"
    rc = main(["classvis", "--target", "tarantula", "--preset", "cs231n", "--iterations", "2", "--gif-every", "1",
               "--seed", "4",
               "--out", str(out), "--gif", str(gif), "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    d = json.loads(captured.out)
    assert d["settings"]["targets"] == [76] and d["settings"]["seed"] == 4 and d["settings"]["iterations"] == 2
    assert d["settings"]["preset"] == "cs231n" and d["settings"]["lr"] == 25.0
    assert d["targets"][0]["out"] == str(out) and d["targets"][0]["gif"] == str(gif)
    assert Image.open(out).size == (224, 224)
    assert Image.open(gif).n_frames == 3
    assert "classvis" in captured.err  # the tqdm bar goes to stderr


def test_several_targets_write_one_file_each(tmp_path, capsys):
    out = tmp_path / "cv.png"
    rc = main(["classvis", "-t", "76", "-t", "goldfish", "--preset", "simonyan", "--iterations", "1", "--l2-weight", "0.01",
               "--no-progress", "--out", str(out), "--size", "100"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    paths = output_paths(out, (76, 1), ["tarantula", "goldfish"])
    assert [p.name for p in paths] == ["cv-076-tarantula.png", "cv-001-goldfish.png"]
    assert all(Image.open(p).size == (100, 100) for p in paths)
    assert "tarantula" in captured.out and "goldfish" in captured.out
    assert not out.exists()


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    out = str(tmp_path / "x.png")
    assert main(["classvis", "-t", "no_such_class_xyz", "--out", out]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["classvis", "-t", "1", "--iterations", "-3", "--out", out]) == 2
    assert "iterations" in capsys.readouterr().err
    assert main(["classvis", "-t", "1", "--lr", "nan", "--out", out]) == 2
    assert "learning rate" in capsys.readouterr().err


@pytest.mark.long
def test_every_png_written_by_the_cli_is_its_class_with_p_at_least_0_9_when_read_back(lite0, tmp_path, capsys):
    """The cs231n preset's claim, checked on the files a user gets: decode each PNG, preprocess, classify."""
    out = tmp_path / "cv.png"
    args = ["classvis", "--preset", "cs231n", "--out", str(out), "--json", "--no-progress", "--device", "cpu"]
    for target in TARGETS:
        args += ["--target", target]
    rc = main(args)
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    report = json.loads(captured.out)
    assert report["settings"]["preset"] == "cs231n" and report["steps"] == report["settings"]["iterations"]
    assert [t["index"] for t in report["targets"]] == TARGET_INDICES
    paths = output_paths(out, tuple(TARGET_INDICES), [t["name"] for t in report["targets"]])
    read_back = {}
    for index, path, reported in zip(TARGET_INDICES, paths, report["targets"]):
        assert reported["out"] == str(path)
        picture = open_image(path)
        assert picture.size == (224, 224)  # the model's input, written without resampling
        p = predict_proba(lite0, preprocess(lite0, picture))[0]
        read_back[index] = (int(p.argmax()), round(float(p[index]), 4))
        # What the report says of the 8-bit image is what the file gives.
        assert float(p[index]) == pytest.approx(reported["probability_8bit"], abs=1e-4), index
    print(f"\nread back from the PNGs (lite0): {{index: (top-1, P)}} = {read_back}")
    assert all(top1 == index for index, (top1, _) in read_back.items()), read_back
    assert min(p for _, p in read_back.values()) >= 0.9, read_back


def test_default_is_robust_and_the_choices_are_the_library_registries(tmp_path, capsys):
    import argparse

    from netviz_core.classvis import DEFAULT_PRESET, PRESETS
    from netviz_core.cli import classvis
    from netviz_core.optimize import OPTIMIZERS, PARAMETRIZATIONS

    parser = argparse.ArgumentParser()
    classvis.register(parser.add_subparsers())
    actions = {a.dest: a for a in parser._subparsers._group_actions[0].choices["classvis"]._actions}
    assert tuple(actions["preset"].choices) == tuple(PRESETS) and actions["preset"].default == DEFAULT_PRESET == "robust"
    assert tuple(actions["optimizer"].choices) == tuple(OPTIMIZERS)
    assert tuple(actions["parametrization"].choices) == tuple(PARAMETRIZATIONS)
    out = tmp_path / "x.png"
    rc = main(["classvis", "-t", "76", "--iterations", "1", "--no-transforms", "--tv-weight", "1e-4",
               "--optimizer", "nadam", "--no-progress", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    s = json.loads(captured.out)["settings"]
    assert (s["preset"], s["parametrization"], s["transforms"], s["tv_weight"], s["optimizer"]) == (
        "robust", "fourier", False, 1e-4, "nadam")
