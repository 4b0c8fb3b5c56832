"""``netviz classify`` end to end (in this process; the exit status in a shell: tests/cli/test_cli_errors.py)."""

import json

import pytest
from PIL import Image

from netviz_core.classify import classify

from .conftest import ROOT, netviz


def test_classify_json_parses_with_the_top_classes(lite0, chelsea):
    done = netviz("classify", str(ROOT / "assets" / "chelsea.png"), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["model"] == "tf_efficientnet_lite0"
    assert 281 <= out["top"][0]["index"] <= 285
    # The same classes and probabilities as the library gives for the same file.
    expected = classify(lite0, chelsea, top_k=5)
    assert [t["index"] for t in out["top"]] == expected.indices
    assert [t["name"] for t in out["top"]] == expected.names
    assert [t["probability"] for t in out["top"]] == pytest.approx(expected.probabilities, abs=1e-5)


def test_classify_bad_image_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    done = netviz("classify", str(bad))
    assert done.returncode == 2
    assert "not an image NetViz can read" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "model, size",
    [("tf_efficientnet_lite0", (741, 450)), ("tf_efficientnet_lite1", (741, 500)), ("tf_efficientnet_lite2", (741, 450))],
)
def test_classify_a_photo_whose_crop_rounds_past_its_edge(tmp_path, model, size):
    """Sizes whose crop box used to start at -3e-14 px, which PIL refused with a traceback (issue 15)."""
    photo = tmp_path / "photo.png"
    Image.open(ROOT / "assets" / "chelsea.png").convert("RGB").resize(size).save(photo)
    done = netviz("classify", str(photo), "--json", "--model", model)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["model"] == model
    assert 281 <= out["top"][0]["index"] <= 285, out["top"][0]  # still the tabby cat, stretched


def test_classify_with_the_bundled_mobilenet(mobilenet, coffee):
    """--model mobilenetv2_100 takes the offline torchvision weights (the tests' environment has no hub)."""
    done = netviz("classify", "assets/coffee.png", "--json", "--model", "mobilenetv2_100")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["model"] == "mobilenetv2_100" and out["top"][0]["index"] == 967  # espresso
    assert [t["index"] for t in out["top"]] == classify(mobilenet, coffee, top_k=5).indices
