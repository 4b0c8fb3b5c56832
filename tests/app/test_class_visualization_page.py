"""Class Visualization page: a short run shows an image and a score chart; Stop; URL clamping."""

from __future__ import annotations

from netviz_core.classvis import PRESETS, ClassVisSettings
from netviz_core.settings import declarations

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
    assert at.slider(key="cv.iterations").value == 3
    at.button(key="cv.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.main.image) >= 1
    assert len(plotly_charts(at)) >= 1
    assert any("finished after 3 steps" in c.value for c in at.caption), [c.value for c in at.caption]
    assert at.query_params["iterations"] in ("3", ["3"])

    # drive the widgets: the scrubber, then a slider change, which does not start a run (Live is off)
    assert scrubber(at).value == 3  # the last frame
    scrubber(at).set_value(0).run(timeout=TIMEOUT)
    assert_ok(at)
    assert scrubber(at).value == 0
    serial = scrubber(at).key
    at.slider(key="cv.jitter").set_value(2).run(timeout=TIMEOUT)
    assert_ok(at)
    assert scrubber(at).key == serial  # the same run
    assert any("other settings" in w.value for w in at.warning), [w.value for w in at.warning]
    at.button(key="cv.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert any("finished after 3 steps" in c.value for c in at.caption)
    assert scrubber(at).key != serial and scrubber(at).value == 3  # a new run, shown at its end
    assert not at.warning
    assert {"PNG (final image)", "GIF (evolution)"} <= {d.label for d in at.get("download_button")}

    # Stop disarms: the frames stay, a further change does not start a run (a run has its own scrubber key)
    shown = scrubber(at).key
    at.button(key="cv.live.stop").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert scrubber(at).key == shown and scrubber(at).value == 3
    at.slider(key="cv.jitter").set_value(3).run(timeout=TIMEOUT)
    assert_ok(at)
    assert scrubber(at).key == shown and scrubber(at).value == 3
    assert any("finished after 3 steps" in c.value for c in at.caption)


def test_preset_and_hostile_url():
    at = open_app(PAGE, {"iters": "1e12", "lam": "-5", "lr": "inf", "blur_sigma": "99", "blur_every": "1e400", "seed": "-3",
                         "objective": "DROP TABLE", "preset": "simonyan"})
    assert_ok(at)
    declared = declarations(ClassVisSettings)  # values beyond a range are clamped to the declared one
    assert at.slider(key="cv.iterations").value == declared["iterations"].hi
    default = PRESETS["simonyan"]  # bad values fall back to the values of the preset the link names
    assert at.select_slider(key="cv.l2_weight").value == default["l2_weight"]
    assert at.select_slider(key="cv.lr").value == default["lr"]  # non-finite: the default
    assert at.slider(key="cv.blur_sigma").value == declared["blur_sigma"].hi
    assert at.slider(key="cv.blur_every").value == default["blur_every"]
    assert at.radio(key="cv.objective").value == "logit"
    assert at.number_input(key="cv.seed").value == 0
    at.selectbox(key="cv.preset").set_value("cs231n").run(timeout=TIMEOUT)
    assert_ok(at)
    assert at.slider(key="cv.iterations").value == 100
    assert at.slider(key="cv.jitter").value == 16
    assert at.selectbox(key="cv.parametrization").value == "pixel" and at.toggle(key="cv.transforms").value is False
    at.selectbox(key="cv.preset").set_value("lucid").run(timeout=TIMEOUT)
    assert_ok(at)
    assert at.selectbox(key="cv.parametrization").value == "fourier" and at.toggle(key="cv.transforms").value is True
    assert at.selectbox(key="cv.optimizer").value == "adam" and at.select_slider(key="cv.tv_weight").value == PRESETS["lucid"]["tv_weight"]


def test_the_preset_reads_custom_once_a_setting_left_it():
    at = open_app(PAGE, {"preset": "cs231n"})
    assert at.selectbox(key="cv.preset").value == "cs231n"
    at.slider(key="cv.jitter").set_value(4).run(timeout=TIMEOUT)
    assert_ok(at)
    assert at.selectbox(key="cv.preset").value == "custom"
    assert at.query_params["preset"] in ("custom", ["custom"])
    at.selectbox(key="cv.preset").set_value("cs231n").run(timeout=TIMEOUT)  # back to the preset's values
    assert at.slider(key="cv.jitter").value == 16
    assert at.selectbox(key="cv.preset").value == "cs231n"


def test_held_out_ranks_caption_reads_the_recorded_checks():
    from netviz_app.classvis_view import held_out_caption
    from netviz_app.live import LiveRun

    run = LiveRun(config=None)
    assert held_out_caption(run) is None  # the toggle was off: nothing is said
    run.notes["held_out"] = [(8, {"a": 3, "b": 1}), (16, {"a": 1, "b": 1}), (24, {"a": 2, "b": 1})]
    assert held_out_caption(run) == ("Held-out backbones (the 8-bit picture at step 24): a #2, b #1; "
                                     "top-1 on all of them first at step 16.")
    run.notes["held_out"] = [(8, {"a": 3, "b": 1})]
    assert held_out_caption(run).endswith("a #3, b #1; not yet top-1 on all of them.")


def test_held_out_ranks_are_shown_on_request():
    """With the toggle on, the other bundled backbones judge the 8-bit picture every 8 steps and at the end."""
    from netviz_core.models import BUNDLED_MODELS

    at = open_app(PAGE, {"iters": "9", "cls": "76", "held_out": "1"})
    assert_ok(at)
    assert at.toggle(key="cv.held_out").value is True
    at.button(key="cv.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    (caption,) = [c.value for c in at.caption if c.value.startswith("Held-out backbones")]
    assert "(the 8-bit picture at step 9)" in caption  # the last check is the final frame
    judged = [name for name in BUNDLED_MODELS if f"{name} #" in caption]
    assert judged == [name for name in BUNDLED_MODELS if name != "tf_efficientnet_lite0"]  # never the maker


def test_held_out_ranks_are_off_by_default():
    at = open_app(PAGE, {"iters": "2", "cls": "76"})
    at.button(key="cv.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert at.toggle(key="cv.held_out").value is False
    assert not [c.value for c in at.caption if c.value.startswith("Held-out backbones")]


def test_a_link_runs_the_page_on_the_bundled_mobilenet():
    """The sidebar offers every bundled backbone; ?model=mobilenetv2_100 (the README's advice) opens it offline."""
    at = open_app(PAGE, {"model": "mobilenetv2_100", "iters": "2", "cls": "1"})
    assert_ok(at)
    at.button(key="cv.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert any("finished after 2 steps" in c.value and "mobilenetv2_100 (ImageNet weights, bundled offline)" in c.value
               for c in at.caption), [c.value for c in at.caption]
