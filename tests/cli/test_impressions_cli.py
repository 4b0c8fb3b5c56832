"""``netviz impressions``: in-process (a model load per subprocess is too slow on a shared CPU)."""

import json

from PIL import Image

from netviz_core.cli import main


def test_impressions_json_writes_the_png(tmp_path, capsys):
    out = tmp_path / "ci.png"
    rc = main(["impressions", "--target", "goldfish", "--iterations", "2", "--t-switch", "1", "--no-tv",
               "--out", str(out), "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["targets"] == [1] and data["settings"]["tv"] is False and data["settings"]["iterations"] == 2
    assert 0 <= data["metrics"][0]["target_probability"] <= 1
    assert Image.open(out).size == (224, 224)


def test_impressions_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main(["impressions", "--target", "1", "--out", str(tmp_path / "x.jpg")]) == 2
    assert ".png" in capsys.readouterr().err
    assert main(["impressions", "--target", "1", "--lambda1", "-1", "--out", str(tmp_path / "x.png")]) == 2
    assert "lambda1" in capsys.readouterr().err
    assert main(["impressions", "--target", "no such class zzz", "--out", str(tmp_path / "x.png")]) == 2
