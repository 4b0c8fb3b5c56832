"""``netviz impressions``: in-process (a model load per subprocess is too slow on a shared CPU)."""

import json

import pytest
from PIL import Image

from netviz_core.classify import predict_proba
from netviz_core.cli import main
from netviz_core.images import preprocess


def impressions_json(capsys, *args: str) -> dict:
    """``netviz impressions ARGS --json``: it must succeed; its JSON."""
    assert main(["impressions", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_impressions_json_writes_the_png(lite0, tmp_path, capsys):
    out = tmp_path / "ci.png"
    data = impressions_json(capsys, "--target", "goldfish", "--iterations", "2", "--t-switch", "1", "--no-tv",
                            "--out", str(out))
    assert data["targets"] == [1] and data["settings"]["tv"] is False and data["settings"]["iterations"] == 2
    assert Image.open(out).size == (224, 224)
    # The reported P(goldfish) is what the written PNG gives when read back
    read_back = float(predict_proba(lite0, preprocess(lite0, out))[0, 1])
    assert data["metrics"][0]["target_probability"] == pytest.approx(read_back, rel=1e-4)


def test_impressions_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main(["impressions", "--target", "1", "--out", str(tmp_path / "x.jpg")]) == 2
    assert ".png" in capsys.readouterr().err
    assert main(["impressions", "--target", "1", "--tv-weight", "-1", "--out", str(tmp_path / "x.png")]) == 2
    assert "tv_weight" in capsys.readouterr().err
    assert main(["impressions", "--target", "no such class zzz", "--out", str(tmp_path / "x.png")]) == 2


def test_fuse_grows_both_classes_together_and_reports_both(lite0, tmp_path, capsys):
    out = tmp_path / "neg.png"
    data = impressions_json(capsys, "--target", "goldfish", "--fuse", "hen", "--iterations", "2", "--no-transforms",
                            "--out", str(out))
    assert data["classes"] == [1, 8] and len(data["ranks"]) == 2 and len(data["top5"]) == 5
    # the reported probabilities are those of the written PNG
    read_back = predict_proba(lite0, preprocess(lite0, out))[0]
    assert data["probabilities"] == pytest.approx([float(read_back[1]), float(read_back[8])], rel=1e-4)


def test_fuse_iterations_belong_to_the_sequential_growth(tmp_path, capsys):
    out = tmp_path / "neg.png"
    assert main(["impressions", "--target", "1", "--fuse", "8", "--fuse-iterations", "3", "--out", str(out)]) == 2
    assert "--growth sequential" in capsys.readouterr().err
    assert main(["impressions", "--target", "1", "--fuse", "8", "--growth", "sequential", "-n", "1",
                 "--fuse-iterations", "1", "--no-transforms", "--out", str(out)]) == 0
    assert "rank" in capsys.readouterr().out


def test_parametrization_and_preset_flags(lite0, tmp_path, capsys):
    out = tmp_path / "ci.png"
    # --parametrization pixel alone: the paper's recipe (its numbers go with pixels)
    s = impressions_json(capsys, "-t", "1", "-n", "1", "--no-single-object", "--parametrization", "pixel",
                         "--out", str(out))["settings"]
    assert (s["parametrization"], s["lr"], s["tv_weight"], s["transform_set"]) == ("pixel", 0.1, 0.02, "mopuri")
    s = impressions_json(capsys, "-t", "1", "-n", "1", "--no-single-object", "--preset", "paper",
                         "--parametrization", "maco", "--out", str(out))["settings"]
    assert (s["parametrization"], s["lr"]) == ("maco", 0.1)
    s = impressions_json(capsys, "-t", "1", "-n", "1", "--no-single-object", "--out", str(out))["settings"]
    assert s["parametrization"] == "fourier"  # the default
    with pytest.raises(SystemExit):  # argparse: "invalid choice: 'wavelet' (choose from pixel, fourier, maco)"
        main(["impressions", "-t", "1", "--parametrization", "wavelet", "--out", str(out)])
    assert "invalid choice" in capsys.readouterr().err
