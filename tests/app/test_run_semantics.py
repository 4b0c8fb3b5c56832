"""Run semantics of the optimisation pages: Start starts, Live restarts, disabled controls do nothing.

The run on screen is ``st.session_state["<prefix>.live.run"]`` (``netviz_app.live``); its
``serial`` tells runs apart, so "no new run" is checked by identity, not by timing.
"""

from __future__ import annotations

import pytest

from .conftest import TIMEOUT, assert_ok, open_app

CV = "app_pages/3_class_visualization.py"
CI = "app_pages/4_class_impressions.py"


def run_serial(at, prefix: str):
    key = f"{prefix}.live.run"
    return at.session_state[key].serial if key in at.session_state else None


def progress_texts(at) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def test_nothing_runs_without_start_unless_live_is_on():
    at = open_app(CV, {"iterations": "2", "jitter": "4"})
    assert_ok(at)
    at.slider(key="cv.jitter").set_value(2).run(timeout=TIMEOUT)
    assert run_serial(at, "cv") is None  # a change before any run starts nothing
    at.button(key="cv.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    first = run_serial(at, "cv")
    assert first is not None
    assert any("steps/s" in t and "step 2/2" in t for t in progress_texts(at)), progress_texts(at)

    at.slider(key="cv.jitter").set_value(6).run(timeout=TIMEOUT)  # Live is off: the finished run stays
    assert_ok(at)
    assert run_serial(at, "cv") == first
    assert any("other settings" in w.value for w in at.warning)

    at.toggle(key="cv.live").set_value(True).run(timeout=TIMEOUT)  # Live on: the view catches up with the settings
    assert_ok(at)
    caught_up = run_serial(at, "cv")
    assert caught_up not in (None, first)
    assert at.query_params["live"] in ("1", ["1"])
    assert not at.warning
    at.slider(key="cv.jitter").set_value(8).run(timeout=TIMEOUT)  # ... and a change restarts it
    assert_ok(at)
    assert run_serial(at, "cv") not in (None, first, caught_up)

    at.button(key="cv.live.stop").click().run(timeout=TIMEOUT)  # Stop disarms, even with Live on
    second = run_serial(at, "cv")
    at.slider(key="cv.jitter").set_value(10).run(timeout=TIMEOUT)
    assert run_serial(at, "cv") == second


def test_switching_impressions_to_negative_does_not_start_a_run():
    at = open_app(CI, {"iterations": "2", "preci_iterations": "1", "baseline": "0"})
    at.button(key="ci.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    first = run_serial(at, "ci")
    assert first is not None
    at.radio(key="ci.make").set_value("negative").run(timeout=TIMEOUT)
    assert_ok(at)
    assert run_serial(at, "ci") == first


SWITCHED = {"tv": ("tv_weight", "tv_every"), "saliency_lr": ("c2", "t_switch", "grad_cum0"),
            "single_object": ("select_radius", "preci_iterations")}


@pytest.mark.parametrize("switch", list(SWITCHED))
def test_a_control_without_effect_is_disabled_and_cannot_restart_a_run(switch):
    at = open_app(CI, {"iterations": "2", "preci_iterations": "1", "baseline": "0", "live": "1"})
    assert_ok(at)
    at.toggle(key=f"ci.{switch}").set_value(False).run(timeout=TIMEOUT)
    at.button(key="ci.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    first = run_serial(at, "ci")
    assert first is not None
    widgets = {w.key: w for kind in ("slider", "select_slider") for w in at.get(kind)}
    for name in SWITCHED[switch]:
        w = widgets[f"ci.{name}"]
        assert w.proto.disabled, f"{name} has no effect with {switch} off and must be disabled"
        # The browser cannot change a disabled widget (AppTest refuses too); a value set from code
        # (as the URL or a preset would) must not start a run either.
        new = (0.001 if w.value != 0.001 else 0.002) if name == "tv_weight" else type(w.value)(
            w.proto.max if w.value != w.proto.max else w.proto.min)
        at.session_state[f"ci.{name}"] = new
        at.run(timeout=TIMEOUT)
        assert_ok(at)
        assert run_serial(at, "ci") == first, f"changing the disabled {name} started a run"
    # ... while with the switch on, the same control does restart a live run
    at.toggle(key=f"ci.{switch}").set_value(True).run(timeout=TIMEOUT)
    assert_ok(at)
    assert run_serial(at, "ci") != first
