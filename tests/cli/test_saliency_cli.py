"""``netviz saliency IMAGE --method M --out map.png [--npy map.npy]``."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from netviz_core.cli import main


def test_saliency_cli_writes_png_and_npy_at_the_original_size(assets, tmp_path, capsys):
    out, npy = tmp_path / "map.png", tmp_path / "map.npy"
    rc = main(["saliency", str(assets / "chelsea.png"), "--method", "gradcam", "--out", str(out), "--npy", str(npy),
               "--box", "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "gradcam" and result["target"]["index"] == 285  # Egyptian cat, the top class
    left, top, right, bottom = result["box"]
    assert 75 <= left < right <= 376 and 0 <= top < bottom <= 300
    assert Image.open(out).size == (451, 300)
    saved = np.load(npy)
    assert saved.shape == (300, 451) and saved.dtype == np.float32 and saved.min() >= 0 and saved.max() > 0


def test_saliency_cli_target_by_name_and_text_output(assets, tmp_path, capsys):
    out = tmp_path / "m.png"
    rc = main(["saliency", str(assets / "chelsea.png"), "--method", "cam", "--target", "tabby", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "cam map for class 281 (tabby" in text and out.exists()


def test_saliency_cli_reports_bad_arguments(assets, tmp_path, capsys):
    rc = main(["saliency", str(assets / "chelsea.png"), "--out", str(tmp_path / "map.jpg")])
    assert rc == 2 and "--out must be a .png file" in capsys.readouterr().err
    rc = main(["saliency", str(assets / "chelsea.png"), "--target", "1000", "--out", str(tmp_path / "m.png")])
    assert rc == 2 and "out of range" in capsys.readouterr().err
    rc = main(["saliency", str(tmp_path / "missing.png"), "--out", str(tmp_path / "m.png")])
    assert rc == 2 and "not found" in capsys.readouterr().err
