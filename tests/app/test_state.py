"""netviz_app.state: every page keeps its settings through a sidebar detour.

A detour: the sidebar asks for an upload (the page stops early, drawing none of its
widgets), or a hub model fails to load; then the sidebar goes back.  Afterwards every
widget must hold its value on the server *and* tell the browser to show it: a widget
drawn again without ``set_value`` is shown at its element default by the browser (the
bug of issue 14, finding 1), which AppTest alone would not show.
"""

from __future__ import annotations

import pytest

from .conftest import TIMEOUT, assert_ok, open_app

#: Per page: URL values that differ from every widget's element default (min, first option, off).
PAGES = {
    "app_pages/1_classify_saliency.py": ("cls", {
        "target": "281", "opacity": "0.8", "smoothgrad_samples": "20", "box_threshold": "0.6",
        "methods": "vanilla,smoothgrad", "model": "tf_efficientnet_lite1"}),
    "app_pages/2_fooling.py": ("fool", {
        "target": "6", "mode": "linf", "linf": "16", "step_size": "2", "iterations": "50", "magnify": "20"}),
    "app_pages/3_class_visualization.py": ("cv", {
        "target": "130", "l2_weight": "0.01", "iterations": "50", "jitter": "4", "blur_every": "5",
        "blur_sigma": "1", "objective": "posterior", "init": "mean", "seed": "7"}),
    "app_pages/4_class_impressions.py": ("ci", {
        "target": "207", "iterations": "50", "tv_weight": "0.1", "tv_every": "2", "c2": "8", "t_switch": "100",
        "grad_cum0": "0.2", "select_radius": "40", "preci_iterations": "5", "seed": "3", "lr": "0.2"}),
    "app_pages/5_compare_backbones.py": ("cmp", {
        "target": "130", "models": "tf_efficientnet_lite0,(sidebar model)", "iterations": "50", "jitter": "4",
        "seed": "5"}),
}


def keyed_widgets(at, prefixes: tuple[str, ...]) -> dict:
    """key -> widget for every drawn widget whose key starts with one of ``prefixes``."""
    out = {}
    for kind in ("slider", "select_slider", "selectbox", "multiselect", "radio", "toggle", "number_input",
                 "text_input"):
        for w in at.get(kind):
            if w.key and w.key.startswith(prefixes):
                out[w.key] = w
    return out


def values(at, prefixes) -> dict:
    return {k: w.value for k, w in keyed_widgets(at, prefixes).items()}


def query(at) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def detour_upload(at) -> set:
    """Ask for an upload, then go back; returns the keys drawn while away."""
    at.selectbox(key="sidebar.image").set_value("(upload)").run(timeout=TIMEOUT)
    assert_ok(at)
    away = set(keyed_widgets(at, ("",)))
    at.selectbox(key="sidebar.image").set_value("chelsea.png").run(timeout=TIMEOUT)
    return away


def detour_hub(at) -> set:
    """Choose a hub model that fails offline, then the bundled one again; returns the keys drawn while away."""
    at.radio(key="sidebar.src").set_value("hub").run(timeout=TIMEOUT)
    assert_ok(at)
    assert at.sidebar.error, "the hub model must fail offline (HF_HUB_OFFLINE)"
    message = at.sidebar.error[0].value
    assert "Bundled (offline)" in message and "--weights" not in message, message  # the sidebar's words
    away = set(keyed_widgets(at, ("",)))
    at.radio(key="sidebar.src").set_value("bundled").run(timeout=TIMEOUT)
    return away


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("detour", [detour_upload, detour_hub], ids=["upload", "hub"])
@pytest.mark.parametrize("page", list(PAGES), ids=lambda p: p.split("/")[1].split("_", 1)[1][:-3])
def test_a_sidebar_detour_leaves_every_widget_and_the_url_as_they_were(page, detour):
    prefix, url = PAGES[page]
    prefixes = (f"{prefix}.", "sidebar.")
    at = open_app(page, url)
    assert_ok(at)
    before, before_url = values(at, prefixes), query(at)
    assert any(k.startswith(prefix) for k in before), before
    for name, raw in url.items():  # the URL was read (canonical names)
        assert before_url[name] == raw or str(before_url[name]).rstrip("0").rstrip(".") == raw, (name, before_url)

    away = detour(at)
    assert_ok(at)
    after = keyed_widgets(at, prefixes)
    assert {k: w.value for k, w in after.items()} == before
    assert query(at) == before_url
    # The browser must be told each value again: a widget drawn again without set_value shows its element default.
    for name in url:
        key = f"{prefix}.{name}" if name != "model" else "sidebar.model"
        if key in after and key not in away:
            assert after[key].proto.set_value, f"{key} is drawn again without its value: the browser shows its default"


def test_a_class_picked_for_one_image_does_not_stick_to_the_next():
    at = open_app("app_pages/1_classify_saliency.py", {"methods": "cam"})
    at.selectbox(key="cls.target").set_value(281).run(timeout=TIMEOUT)
    assert any("281:" in c.value for c in at.caption)
    at.selectbox(key="sidebar.image").set_value("coffee.png").run(timeout=TIMEOUT)
    assert_ok(at)
    assert at.selectbox(key="cls.target").value == -1  # back to the top-1 class of the new image
    top1 = at.dataframe[0].value["class"][0]
    assert any(f"Saliency for class **{top1}" in c.value for c in at.caption), [c.value for c in at.caption]
