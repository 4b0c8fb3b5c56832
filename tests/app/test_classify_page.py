"""The frame (sidebar, navigation) and the Classify & Saliency page, through AppTest."""

from __future__ import annotations

from .conftest import TIMEOUT, assert_ok, open_app

PAGE = "app_pages/1_classify_saliency.py"
QUICK = {"methods": "vanilla,cam"}  # two cheap methods: keep the CPU time short


def test_classify_sample_shows_top5_and_saliency():
    at = open_app(PAGE, QUICK)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    df = at.dataframe[0].value
    assert len(df) == 5
    assert "tabby" in " ".join(df["class"]).lower() or "cat" in " ".join(df["class"]).lower()
    # the input image and one overlay per method
    assert len(at.main.image) >= 3
    assert any("ImageNet weights" in c.value for c in at.caption)

    # drive the widgets: another class, opacity, the box threshold
    at.selectbox(key="cls.target").set_value(281).run(timeout=TIMEOUT)
    at.slider(key="cls.opacity").set_value(0.8).run(timeout=TIMEOUT)
    at.slider(key="cls.box_threshold").set_value(0.5).run(timeout=TIMEOUT)
    assert_ok(at)
    assert any("281" in c.value for c in at.caption)
    assert at.query_params["target"] in ("281", ["281"])


def test_upload_image_and_bad_upload(png_upload):
    at = open_app(PAGE, QUICK)
    at.selectbox(key="sidebar.image").set_value("(upload)").run(timeout=TIMEOUT)
    assert_ok(at)
    at.file_uploader(key="sidebar.image_file").set_value(("cup.png", png_upload, "image/png")).run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error
    assert len(at.dataframe[0].value) == 5

    at.file_uploader(key="sidebar.image_file").set_value(("notes.txt", b"hello, not an image", "text/plain"))
    at.run(timeout=TIMEOUT)
    assert_ok(at)
    assert any("not an image" in e.value for e in at.sidebar.error)


def test_hostile_url_is_clamped():
    at = open_app(PAGE, {"methods": "vanilla,evil", "opacity": "1e308", "cls": "99999999", "thr": "nan",
                         "src": "<script>", "image": "../../etc/passwd"})
    assert_ok(at)
    assert at.slider(key="cls.opacity").value == 1.0
    assert at.selectbox(key="cls.target").value == 999
    assert at.slider(key="cls.box_threshold").value == 0.3
    assert at.multiselect(key="cls.methods").value == ["vanilla"]


def test_unknown_model_and_bad_weights_show_errors():
    at = open_app(PAGE, {"src": "hub", "arch": "no_such_net", **QUICK})
    assert_ok(at)
    assert any("Unknown model" in e.value for e in at.sidebar.error)
    at.radio(key="sidebar.src").set_value("file").run(timeout=TIMEOUT)
    at.text_input(key="sidebar.arch").set_value("tf_efficientnet_lite0").run(timeout=TIMEOUT)
    at.file_uploader(key="sidebar.weights_file").set_value(("w.pth", b"\x80\x04not a pickle", "application/octet-stream"))
    at.run(timeout=TIMEOUT)
    assert_ok(at)
    assert at.sidebar.error, "a bad weights file must show an error"


def test_untrained_model_is_labelled():
    at = open_app(PAGE, {"src": "random", "arch": "resnet18", **QUICK})
    assert_ok(at)
    assert any("UNTRAINED" in w.value for w in at.sidebar.warning)
    assert any("UNTRAINED" in c.value for c in at.caption)


def box_captions(at) -> list[str]:
    return [c.value for c in at.main.caption if c.value.startswith("box (")]


def test_box_by_default_only_on_region_maps_and_the_raw_map_beside():
    at = open_app(PAGE, QUICK)  # vanilla (a pixel gradient) and CAM (a region map)
    assert_ok(at)
    assert at.selectbox(key="cls.box").value == "auto"
    assert len(box_captions(at)) == 1  # CAM's box only: vanilla's box would be the whole crop
    overlays = len(at.main.image)
    # the model sees the 300x300 centre of the 451x300 photo: the rest is greyed out and the caption says why
    assert any("never saw" in c.value and "300×300" in c.value for c in at.main.caption)

    at.selectbox(key="cls.box").set_value("all").run(timeout=TIMEOUT)
    assert_ok(at)
    assert len(box_captions(at)) == 2
    assert at.query_params["box"] in ("all", ["all"])
    at.selectbox(key="cls.box").set_value("off").run(timeout=TIMEOUT)
    assert box_captions(at) == [] and at.slider(key="cls.box_threshold").disabled

    at.toggle(key="cls.raw_map").set_value(True).run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.main.warning, [w.value for w in at.main.warning]
    assert len(at.main.image) == overlays + 2  # one raw map beside each of the two overlays


def test_display_settings_come_from_the_url():
    at = open_app(PAGE, {**QUICK, "clip_percentile": "92", "smooth": "0", "box": "off"})
    assert_ok(at)
    assert at.slider(key="cls.clip_percentile").value == 92.0
    assert at.slider(key="cls.smooth").value == 0.0
    assert box_captions(at) == []
    assert any("92nd percentile" in c.value for c in at.main.caption)


def test_a_deconvnet_map_blind_to_the_photo_says_so():
    """On the bundled backbones (no max-pooling switches) DeconvNet's map is that of a blank grey image too:
    the page says why it shows a grid; guided backprop, which sees the photo, gets no such note."""
    at = open_app(PAGE, {"methods": "deconvnet,guided"})
    assert_ok(at)
    notes = [c.value for c in at.main.caption if c.value.startswith("Not the photo")]
    assert len(notes) == 1, notes
    assert "max-pooling switches" in notes[0] and "stride-2" in notes[0]
    rho = float(notes[0].split("rank correlation ")[1].split(")")[0])
    assert 0.9 < rho <= 1.0
    at.multiselect(key="cls.methods").set_value(["guided"]).run(timeout=TIMEOUT)
    assert_ok(at)
    assert not [c.value for c in at.main.caption if c.value.startswith("Not the photo")]
