"""Class Impressions page: SCI beside the baseline, the SCI controls, a negative image."""

from __future__ import annotations

from .conftest import TIMEOUT, assert_ok, open_app

PAGE = "app_pages/4_class_impressions.py"


def test_sci_beside_baseline_short_run():
    at = open_app(PAGE, {"iters": "2", "preci": "1"})
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    at.toggle(key="ci.tv").set_value(False)
    at.slider(key="ci.c2").set_value(2.0)
    at.button(key="ci.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.main.image) >= 2  # SCI and baseline
    assert at.get("plotly_chart")
    assert any("finished after 2 steps" in c.value for c in at.caption), [c.value for c in at.caption]
    assert any("step 2/2" in p.proto.text and "steps/s" in p.proto.text for p in at.get("progress"))
    assert {"PNG (SCI)", "PNG (baseline)"} <= {d.label for d in at.get("download_button")}


def test_negative_image_short_run():
    # an old link's two step counts (first class 1, second class 1) read as the joint run's length, 2
    at = open_app(PAGE, {"mode": "negative", "iters1": "1", "iters2": "1", "first": "130", "second": "1"})
    assert_ok(at)
    assert at.slider(key="ci.iterations").value == 2
    assert not any(s.key in ("ci.first_iterations", "ci.second_iterations") for s in at.slider)
    at.button(key="ci.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert any("fused with" in c.value for c in at.caption)
    assert any("finished after 2 steps" in c.value and "top-1" in c.value for c in at.caption), \
        [c.value for c in at.caption]


def test_parametrization_selector_runs_sci_on_pixels_with_the_papers_numbers():
    at = open_app(PAGE, {"iters": "2", "preci": "1", "baseline": "0"})
    assert_ok(at)
    assert at.selectbox(key="ci.parametrization").value == "fourier"  # the default
    at.selectbox(key="ci.parametrization").set_value("pixel").run(timeout=TIMEOUT)
    at.button(key="ci.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert any("finished after 2 steps" in c.value for c in at.caption), [c.value for c in at.caption]
