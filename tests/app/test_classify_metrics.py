"""The trust metrics on the Classify & Saliency page: lazy, under each map, and the 'which map to trust' table."""

from __future__ import annotations

from .conftest import TIMEOUT, assert_ok, open_app

PAGE = "app_pages/1_classify_saliency.py"


def test_trust_metrics_appear_under_each_map_and_in_the_table():
    at = open_app(PAGE, {"methods": "cam,gradcam"})
    assert_ok(at)
    assert not at.metric, "the metrics are computed only on demand"
    at.toggle(key="cls_trust").set_value(True).run(timeout=TIMEOUT)
    assert_ok(at)
    assert not at.warning, [w.value for w in at.warning]
    labels = [m.label for m in at.metric]
    assert labels.count("Deletion ↓") == 2 and labels.count("Rand. ρ ↓") == 2, labels
    values = [float(m.value) for m in at.metric if m.label in ("Deletion ↓", "Insertion ↑")]
    assert all(0.0 <= v <= 1.0 for v in values), values
    table = at.dataframe[-1].value
    assert list(table["map"])[-2:] == ["reference: random", "reference: center"]
    assert set(list(table["map"])[:2]) == {"CAM", "Grad-CAM"}
    gaps = list(table["insertion − deletion ↑"])[:2]
    assert gaps == sorted(gaps, reverse=True)


def test_trust_metrics_are_computed_once_per_map_and_then_cached(monkeypatch):
    """One evaluate_map per (model, image, class, method): two maps and the two references, none on a rerun."""
    import streamlit as st

    from netviz_core.saliency import metrics

    calls = []
    real = metrics.evaluate_map
    monkeypatch.setattr(metrics, "evaluate_map", lambda *a, **k: calls.append(k.get("method")) or real(*a, **k))
    st.cache_data.clear()
    at = open_app(PAGE, {"methods": "cam,gradcam"})
    at.toggle(key="cls_trust").set_value(True).run(timeout=TIMEOUT)
    assert_ok(at)
    assert sorted(calls) == ["cam", "center", "gradcam", "random"], calls
    at.toggle(key="cls_trust").set_value(False).run(timeout=TIMEOUT)
    at.toggle(key="cls_trust").set_value(True).run(timeout=TIMEOUT)
    assert_ok(at)
    assert len(calls) == 4, calls
    assert [m.label for m in at.metric].count("Deletion ↓") == 2
