"""Compare Backbones page: two models side by side, live, with the transfer matrix."""

from __future__ import annotations

from .conftest import TIMEOUT, assert_ok, open_app

PAGE = "app_pages/5_compare_backbones.py"


def test_two_models_short_run_and_transfer_matrix():
    at = open_app(PAGE, {"iters": "2", "models": "tf_efficientnet_lite0,(sidebar model)", "cls": "130"})
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    at.button(key="cmp.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.main.image) >= 2
    assert len(at.get("plotly_chart")) >= 2  # score curves and the transfer matrix
    assert any("finished after 2 steps" in c.value for c in at.caption), [c.value for c in at.caption]
    assert any("step 2/2" in p.proto.text and "steps/s" in p.proto.text for p in at.get("progress"))


def test_hostile_models_param():
    at = open_app(PAGE, {"models": "evil,,tf_efficientnet_lite0," * 50, "cls": "1e3"})
    assert_ok(at)
    assert at.multiselect(key="cmp.models").value == ["tf_efficientnet_lite0"]
    assert at.selectbox(key="cmp.target").value == 999
    assert any("at least two" in i.value for i in at.info)
