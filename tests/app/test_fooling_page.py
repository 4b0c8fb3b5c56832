"""Fooling page: pick a target, run a few steps, see original / fooled / difference and the numbers."""

from __future__ import annotations

import pytest

from netviz_core.classify import classify
from netviz_core.fooling import FoolingSettings
from netviz_core.images import open_image, preprocess
from netviz_core.settings import declarations

from .conftest import TIMEOUT, assert_ok, open_app

PAGE = "app_pages/2_fooling.py"


@pytest.fixture
def media_written(monkeypatch) -> dict:
    """The bytes of every media file a page hands to Streamlit (images, downloads), by file id."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    stored: dict[str, bytes] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        file_id = real(self, path_or_data, mimetype, kind, filename)
        stored[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return stored


def test_fooling_run_shows_three_pictures_and_numbers(media_written, lite0):
    at = open_app(PAGE, {"target": "6", "iters": "60"})
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    at.button(key="fool.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.main.image) >= 3  # original, fooled, difference
    labels = {m.label for m in at.metric}
    assert "Iterations" in labels and "L2 of the change" in labels
    dl = [d for d in at.get("download_button") if d.label.startswith("PNG")]
    assert dl
    # The PNG a user downloads, read back as a user's photo, is classified as the target (stingray).
    file_id = dl[0].proto.url.rsplit("/", 1)[-1].split(".")[0]
    downloaded = open_image(media_written[file_id])
    assert downloaded.size == (224, 224)
    assert classify(lite0, preprocess(lite0, downloaded), top_k=1).indices == [6]
    # the magnification slider redraws the difference without a new run
    at.slider(key="fool.magnify").set_value(20.0).run(timeout=TIMEOUT)
    assert_ok(at)
    assert len(at.main.image) >= 3
    assert any("the 8-bit image fools the model" in c.value for c in at.caption), [c.value for c in at.caption]


def test_linf_mode_and_hostile_url():
    at = open_app(PAGE, {"mode": "linf", "eps": "1e9", "target": "-4", "iters": "0x10"})
    assert_ok(at)
    assert at.slider(key="fool.linf").value == declarations(FoolingSettings)["linf"].hi  # clamped to the range
    assert at.selectbox(key="fool.target").value == 0
    assert at.slider(key="fool.iterations").value == 100


def test_a_run_that_did_not_fool_says_so():
    at = open_app(PAGE, {"target": "6", "iterations": "1"})  # one step is too few to fool lite0
    at.button(key="fool.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    captions = [c.value for c in at.caption]
    assert any("does not fool the model" in c for c in captions), captions
    labels = [d.label for d in at.get("download_button")]
    assert labels and not any("still fools" in label for label in labels), labels
    image_captions = [i.caption for img in at.main.image for i in img.proto.imgs]
    assert any(c.startswith("not fooled:") for c in image_captions), image_captions
    assert any("steps/s" in p.proto.text for p in at.get("progress"))
