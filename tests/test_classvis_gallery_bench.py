"""benchmarks/classvis_gallery.py: held-out judging, time to recognition, summaries and contact sheets."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from benchmarks import classvis_gallery as gallery
from conftest import assert_model_clean

HELD_OUT = ["tf_efficientnet_lite1", "tf_efficientnet_lite2", "mobilenetv2_100"]


def row(cls: int, ranks: dict[str, int], recognised_s: float | None, png: str = "x.png") -> dict:
    return {
        "preset": "lucid", "maker": "tf_efficientnet_lite0", "class": cls, "name": f"class {cls}", "png": png,
        "steps": 256, "seconds": 10.0, "recognised_step": None if recognised_s is None else 8,
        "recognised_s": recognised_s, "roughness": 7.0, "colourfulness": 30.0, "near_white": 0.01,
        "near_black": 0.02, "spectrum_slope": -2.5, "held_out": HELD_OUT,
        "models": {m: {"rank": r, "p": 1.0 / r} for m, r in ranks.items()},
    }


def ranks(lite0=1, lite1=1, lite2=1, mnv2=1) -> dict[str, int]:
    return {"tf_efficientnet_lite0": lite0, "tf_efficientnet_lite1": lite1, "tf_efficientnet_lite2": lite2,
            "mobilenetv2_100": mnv2}


def test_summary_counts_only_the_held_out_backbones_and_ranks_never_recognised_last():
    rows = [row(1, ranks(lite0=7), 10.0),  # the maker's own rank does not count
            row(2, ranks(mnv2=2), 20.0),
            row(3, ranks(lite2=4), None)]
    s = gallery.summary(rows)
    assert s["top1_all_held_out"] == 1 and s["top5_all_held_out"] == 3
    assert s["top1"]["tf_efficientnet_lite0"] == 2 and s["top1"]["mobilenetv2_100"] == 2
    assert s["recognised_median_s"] == 20.0  # 10, 20, never
    assert s["recognised_max_s"] is None and s["never_recognised"] == 1
    assert s["colourfulness_range"] == [30.0, 30.0]
    rows.append(row(4, ranks(), None))
    assert gallery.summary(rows)["recognised_median_s"] is None  # half never recognised


def test_markdown_and_contact_sheet(tmp_path, monkeypatch):
    monkeypatch.setattr(gallery, "ROOT", tmp_path)
    for c in (1, 2, 3):
        Image.new("RGB", (224, 224), (c * 40, 0, 0)).save(tmp_path / f"{c}.png")
    rows = [row(c, ranks(mnv2=c), 5.0 * c if c < 3 else None, png=f"{c}.png") for c in (1, 2, 3)]
    results = {"torch": "x", "photo_stats": {"chelsea": {"colourfulness": 38.0, "near_white": 0.0, "near_black": 0.003,
                                                       "spectrum_slope": -3.0, "roughness": 7.2}}, "rows": rows}
    md = gallery.markdown(results)
    assert "| lucid | lite0 | 256 | lite0* 3, lite1 3, lite2 3, mnv2 1 | **1/3** | 3/3 | 10 / never (1) | 10 |" in md
    assert "| photo chelsea | 38 | 0.0% | 0.3% | -3.00 | 7.2 |" in md
    assert "| 3 class 3 | (1) / 1 / 1 / 3, never |" in md
    sheet = tmp_path / "sheet.png"
    gallery.contact_sheet(rows, "lucid", sheet, tile=64)
    with Image.open(sheet) as im:
        assert im.size == (64 + 3 * (64 + 4), 16 + 1 * (64 + 14 + 4))  # 3 classes as columns, 1 maker as a row


def test_time_to_recognition_is_the_first_check_at_which_every_held_out_judge_says_top_1(mobilenet):
    """With the maker as its own judge the answer is known: replay the run and judge every 2nd step."""
    from netviz_core.classvis import ClassVisRun, settings_for
    from netviz_core.images import deprocess_batch

    settings = settings_for("lucid", iterations=8)
    _res, seconds, recognised = gallery.run_batch(mobilenet, [mobilenet], settings, [9], check_every=2)
    first = None
    for frame in ClassVisRun(mobilenet, [9], settings).frames():
        if frame.step % 2 == 0 and first is None:
            verdict = gallery.judge_image([mobilenet], deprocess_batch(mobilenet, frame.images), [9])[0]
            first = frame.step if verdict["mobilenetv2_100"]["rank"] == 1 else None
    assert first is not None, "ostrich should be top-1 on its own maker within 8 steps"
    assert recognised[0][0] == first and 0 < recognised[0][1] <= seconds
    assert_model_clean(mobilenet)


@pytest.mark.long
def test_two_step_run_writes_results_png_and_contact_sheet(tmp_path):
    out = tmp_path / "g.json"
    assert gallery.main(["--presets", "maco", "--makers", "mobilenetv2_100", "--classes", "9", "--set",
                         "iterations=2", "--label", "tiny", "--out", str(out), "--images", str(tmp_path / "img"),
                         "--no-gallery"]) == 0
    results = json.loads(out.read_text())
    (r,) = results["rows"]
    assert r["maker"] == "mobilenetv2_100" and r["held_out"] == list(gallery.MODELS) and r["steps"] == 2
    assert r["settings"]["iterations"] == 2 and r["settings"]["preset"] == "maco"
    assert (tmp_path / "img" / "tiny_mnv2_009.png").is_file() and (tmp_path / "g_tiny.png").is_file()
    assert set(results["photo_stats"]) == {"camera", "chelsea", "coffee"}
    assert out.with_suffix(".md").read_text().startswith("# Class-visualization gallery benchmark")
