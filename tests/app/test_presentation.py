"""Presentation mode from the URL (present=1): big class name and probability, settings folded away."""

from __future__ import annotations

from .conftest import TIMEOUT, assert_ok, open_app


def test_present_in_the_url_folds_the_settings_and_shows_the_class_large():
    at = open_app("app_pages/3_class_visualization.py", {"present": "1", "iterations": "2"})
    assert_ok(at)
    assert at.toggle(key="sidebar.present").value is True
    assert at.expander[0].proto.expanded is False
    at.button(key="cv.live.start").click().run(timeout=TIMEOUT)
    assert_ok(at)
    assert any(m.value.startswith("## tarantula") for m in at.markdown), [m.value for m in at.markdown]
    assert at.query_params["present"] in ("1", ["1"])


def test_without_present_the_settings_are_open():
    at = open_app("app_pages/3_class_visualization.py", {"iterations": "2"})
    assert at.expander[0].proto.expanded is True
    at = open_app("app_pages/1_classify_saliency.py", {"present": "1", "methods": "cam"})
    assert_ok(at)
    assert any(m.value.startswith("# Egyptian cat") or m.value.startswith("# tabby") for m in at.markdown), \
        [m.value for m in at.markdown]
