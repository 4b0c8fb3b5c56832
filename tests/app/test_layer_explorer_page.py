"""Layer Explorer page: a short grid run and a detail run draw pictures; Stop; URL state; bad URLs do not crash."""

from __future__ import annotations

import pytest

from .conftest import TIMEOUT, assert_ok, open_app

PAGE = "app_pages/6_layer_explorer.py"


def captions(at) -> list[str]:
    return [c for im in at.main.image for c in (im.proto.imgs and [i.caption for i in im.proto.imgs] or [])]


@pytest.mark.long  # ~24 s on the shared 2-core machine: two optimisation runs through AppTest
def test_grid_and_detail_runs_draw_pictures_and_keep_the_url():
    at = open_app(PAGE, {"layer": "blocks.3", "count": "2", "first_channel": "5", "iterations": "2", "channel": "34"})
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="lx.layer").value == "blocks.3"
    assert at.query_params["layer"] in ("blocks.3", ["blocks.3"])
    assert any("channels 5, 6" in s.value for s in at.subheader), [s.value for s in at.subheader]
    # the ranked examples need no run: the sample photos with channel 34's map over them
    assert any(c.startswith(("chelsea.png", "coffee.png", "camera.png")) for c in captions(at)), captions(at)

    at.button(key="lx.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert {"ch 5", "ch 6"} <= {c.split(" · ")[0] for c in captions(at)}
    assert any("done: step 2/2" in p.proto.text for p in at.get("progress")), [p.proto.text for p in at.get("progress")]

    at.button(key="lxd.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    shown = captions(at)
    assert [c for c in shown if c.startswith("facet")] == ["facet 1", "facet 2", "facet 3", "facet 4"]
    assert "neuron 34 at the centre" in shown and "the photo, channel 34 accentuated" in shown
    assert "ch 5" in {c.split(" · ")[0] for c in shown}  # the grid stays on screen

    # Stop keeps the pictures; a settings change then only marks the grid as stale
    at.button(key="lx.live.stop").click().run(timeout=TIMEOUT)
    assert_ok(at)
    at.slider(key="lx.count").set_value(3).run(timeout=TIMEOUT)
    assert_ok(at)
    assert any("other settings" in w.value for w in at.warning), [w.value for w in at.warning]


def test_a_channel_outside_the_layer_is_one_clear_message_and_a_bad_layer_falls_back():
    at = open_app(PAGE, {"layer": "no_such_layer", "channel": "5000", "iterations": "2"})
    assert_ok(at)
    assert at.selectbox(key="lx.layer").value == "blocks.3"  # the middle layer of lite0
    errors = [e.value for e in at.error]
    assert any("Channel 5000 is out of range for layer 'blocks.3' (80 channels × 14×14 positions)" in e
               for e in errors), errors
