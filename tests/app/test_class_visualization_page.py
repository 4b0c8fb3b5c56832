"""Class Visualization page: a short run shows an image and a score chart; Stop; URL clamping."""

from __future__ import annotations

from netviz_core.classvis import DEFAULT_PRESET, PRESETS

from .conftest import TIMEOUT, assert_ok, open_app

PAGE = "app_pages/3_class_visualization.py"


def plotly_charts(at):
    return at.get("plotly_chart")


def scrubber(at):
    """The frame scrubber; its key names the run, so that each new run starts at its own last frame."""
    (scrub,) = [s for s in at.select_slider if s.key.startswith("cv.scrub.")]
    return scrub


def test_short_run_shows_image_and_score_chart():
    at = open_app(PAGE, {"iters": "3", "cls": "76", "jitter": "4"})
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert at.slider(key="cv.iters").value == 3
    at.button(key="cv.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.main.image) >= 1
    assert len(plotly_charts(at)) >= 1
    assert any("finished after 3 steps" in c.value for c in at.caption), [c.value for c in at.caption]
    assert at.query_params["iters"] in ("3", ["3"])

    # drive the widgets: the scrubber, then a slider change starts a new run (the page stays armed)
    assert scrubber(at).value == 3  # the last frame
    scrubber(at).set_value(0).run(timeout=TIMEOUT)
    assert_ok(at)
    assert scrubber(at).value == 0
    at.slider(key="cv.jitter").set_value(2).run(timeout=TIMEOUT)
    assert_ok(at)
    assert any("finished after 3 steps" in c.value for c in at.caption)
    assert scrubber(at).value == 3  # the new run is shown at its end, not at the old run's step 0
    assert {"PNG (final image)", "GIF (evolution)"} <= {d.label for d in at.get("download_button")}

    # Stop disarms: the frames stay, a further change does not start a run
    at.button(key="cv.live.stop").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert len(at.main.image) >= 1


def test_preset_and_hostile_url():
    at = open_app(PAGE, {"iters": "1e12", "lam": "-5", "lr": "inf", "blur_sigma": "99", "blur_every": "1e400", "seed": "-3",
                         "objective": "DROP TABLE", "preset": "simonyan"})
    assert_ok(at)
    assert at.slider(key="cv.iters").value == 500
    default = PRESETS[DEFAULT_PRESET]  # bad values fall back to the default preset's
    assert at.select_slider(key="cv.lam").value == default["l2_weight"]
    assert at.select_slider(key="cv.lr").value == default["lr"]  # non-finite: the default
    assert at.slider(key="cv.blur_sigma").value == 3.0
    assert at.slider(key="cv.blur_every").value == default["blur_every"]
    assert at.radio(key="cv.objective").value == "logit"
    assert at.number_input(key="cv.seed").value == 0
    at.selectbox(key="cv.preset").set_value("cs231n").run(timeout=TIMEOUT)
    assert_ok(at)
    assert at.slider(key="cv.iters").value == 100
    assert at.slider(key="cv.jitter").value == 16
    assert at.selectbox(key="cv.parametrization").value == "pixel" and at.toggle(key="cv.transforms").value is False
    at.selectbox(key="cv.preset").set_value("lucid").run(timeout=TIMEOUT)
    assert_ok(at)
    assert at.selectbox(key="cv.parametrization").value == "fourier" and at.toggle(key="cv.transforms").value is True
    assert at.selectbox(key="cv.optimizer").value == "adam"
    assert at.select_slider(key="cv.tv_weight").value == PRESETS["lucid"]["tv_weight"]
