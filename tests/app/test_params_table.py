"""netviz_app.params: one table of names, labels, units and tooltips, used by every page.

Walks every page (in each of its modes) and checks each settings widget against the table:
its key names a table entry, its label and tooltip are the table's, its choices read the
table's choice labels, and a slider's default lies on its own grid (it can be set back).
"""

from __future__ import annotations

import math

import pytest

from netviz_app.params import PARAMS

from .conftest import assert_ok, open_app

#: page -> (widget key prefix, URL variants that draw each of its modes)
PAGES = {
    "app_pages/1_classify_saliency.py": ("cls", [{"methods": "vanilla"}]),
    "app_pages/2_fooling.py": ("fool", [{}, {"mode": "linf"}]),
    "app_pages/3_class_visualization.py": ("cv", [{}]),
    "app_pages/4_class_impressions.py": ("ci", [{}, {"make": "negative"}]),
    "app_pages/5_compare_backbones.py": ("cmp", [{}]),
    "app_pages/6_layer_explorer.py": ("lx", [{}]),
    "app_pages/7_atlas.py": ("atlas", [{}]),
}
KINDS = ("slider", "select_slider", "selectbox", "multiselect", "radio", "toggle", "number_input", "text_input")


def settings_widgets(at, prefixes):
    for kind in KINDS:
        for w in at.get(kind):
            if w.key and w.key.startswith(prefixes) and ".live." not in w.key and ".scrub." not in w.key:
                yield kind, w


@pytest.mark.parametrize("page", list(PAGES), ids=lambda p: p.split("/")[1][:-3])
def test_every_widget_takes_its_words_from_the_table(page):
    prefix, variants = PAGES[page]
    seen = set()
    for query in variants:
        at = open_app(page, query)
        assert_ok(at)
        for kind, w in settings_widgets(at, (f"{prefix}.", "sidebar.")):
            name = w.key.split(".", 1)[1]
            assert name in PARAMS, f"{w.key}: no entry {name!r} in netviz_app/params.py"
            spec = PARAMS[name]
            assert w.label == spec.text, (w.key, w.label, spec.text)
            assert w.help == spec.help, (w.key, w.help)
            if spec.choices and kind in ("radio", "selectbox", "multiselect"):
                assert set(w.options) <= set(spec.choices.values()), (w.key, w.options)
            if kind == "slider" and w.proto.step and not isinstance(w.value, (list, tuple)):
                # every default can be set back with the mouse (λ1 = 0.02 could not on a 0.05 grid)
                k = (float(w.value) - w.proto.min) / w.proto.step
                assert math.isclose(k, round(k), abs_tol=1e-6), f"{w.key} = {w.value} is off its slider's grid"
            seen.add(name)
    assert seen, "no settings widget found"


def test_the_table_has_a_label_and_a_tooltip_for_every_entry():
    for name, spec in PARAMS.items():
        assert spec.label.strip() and spec.help.strip(), name
        assert name == name.lower() and " " not in name, name
    for banned in ("iters", "lam", "lambda1", "max_iter", "n_iter", "cls", "thr", "sg_n"):
        assert banned not in PARAMS, f"{banned}: not a canonical name (CONVENTIONS.md)"
