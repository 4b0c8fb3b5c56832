"""``netviz fool``: the acceptance runs (2 images x 5 targets, PNGs read back) and clear errors.

The tests call the CLI's ``main`` in this process (a subprocess would spend most of its
time importing torch); tests/cli/test_cli_errors.py checks the exit status and message as
a shell sees them.
"""

import json
import statistics

import pytest

from netviz_core.classify import classify
from netviz_core.cli import main
from netviz_core.images import open_image, preprocess

from .conftest import ROOT, netviz

CHELSEA = str(ROOT / "assets" / "chelsea.png")
TARGETS = ["tarantula", "goldfish", "409", "orange", "859"]  # by name and by index
TARGET_INDICES = [76, 1, 409, 950, 859]


@pytest.mark.long
def test_every_fooling_png_written_by_the_cli_is_classified_as_its_target(lite0, tmp_path, capsys):
    runs = []
    for image in ("chelsea", "coffee"):
        for target, index in zip(TARGETS, TARGET_INDICES):
            out, diff = tmp_path / f"{image}-{index}.png", tmp_path / f"{image}-{index}-diff.png"
            code = main(["fool", str(ROOT / "assets" / f"{image}.png"), "--target", target, "--out", str(out),
                         "--diff", str(diff), "--json", "--device", "cpu"])
            report = json.loads(capsys.readouterr().out)
            assert code == 0, report
            assert report["success"] and report["target"]["index"] == index
            assert report["iterations"] <= 100
            assert set(report["probabilities"]) == {"target_before", "target_after", "original_before",
                                                    "original_after"}
            # Read back as a user would: decode, preprocess, classify.
            picture = open_image(out)
            assert picture.size == (224, 224) and open_image(diff).size == (224, 224)
            assert classify(lite0, preprocess(lite0, picture)).indices[0] == index
            runs.append(report)
    iterations = [r["iterations"] for r in runs]
    linf = [r["linf"] for r in runs]
    print(f"iterations {iterations} median {statistics.median(iterations)}; "
          f"linf {[round(v) for v in linf]} median {statistics.median(linf)}; "
          f"quantized_steps {[r['quantized_steps'] for r in runs]}")
    assert statistics.median(iterations) <= 15
    assert statistics.median(linf) <= 24


def test_fool_bad_input_is_a_clear_error(tmp_path):
    done = netviz("fool", CHELSEA, "--target", "no such class", "--out", str(tmp_path / "f.png"))
    assert done.returncode == 2
    assert "No class name contains" in done.stderr and "Traceback" not in done.stderr
    done = netviz("fool", CHELSEA, "--target", "76", "--out", str(tmp_path / "f.jpg"))
    assert done.returncode == 2 and "must be a .png file" in done.stderr
    done = netviz("fool", CHELSEA, "--target", "76", "--linf", "0", "--out", str(tmp_path / "f.png"))
    assert done.returncode == 2 and "L∞ bound" in done.stderr


def test_fool_help_says_the_image_is_the_model_input():
    done = netviz("fool", "--help")
    assert done.returncode == 0
    assert "centre square" in done.stdout and "input size" in done.stdout
