"""netviz_app.params: one label, unit and tooltip per name on every page.

Walks every page (in each of its modes) and checks each settings widget against its words:
a technique's setting's come from its declaration (netviz_core.settings), the others' from
the table; its label and tooltip are those, its choices read their choice labels, and a
slider's default lies on its own grid (it can be set back).  A name that several
techniques declare reads the same in all of them.
"""

from __future__ import annotations

import math

import pytest

from netviz_app.params import PARAMS, declared, declared_classes, spec
from netviz_core.settings import declarations

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
            assert name in PARAMS or name in declared(), f"{w.key}: {name!r} is neither declared nor in the table"
            words = spec(name)
            assert w.label == words.text, (w.key, w.label, words.text)
            assert w.help == words.help, (w.key, w.help)
            if words.choices and kind in ("radio", "selectbox", "multiselect"):
                assert set(w.options) <= set(words.choices.values()), (w.key, w.options)
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


def test_a_name_declared_by_several_techniques_reads_the_same_in_each():
    seen: dict[str, tuple] = {}
    for cls in declared_classes():
        for name, d in declarations(cls).items():
            if d.url:
                words = (d.title, d.unit, d.help, dict(d.choice_labels))
                assert seen.setdefault(name, words) == words, f"{name}: {cls.__name__} words it differently"
    assert not set(seen) & set(PARAMS), "a declared setting's words are its declaration's, not the table's"
