"""Classify & Saliency: the top-5 classes, then every saliency method side by side for one class."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from netviz_app import sidebar
from netviz_app.media import npy_bytes, png_bytes
from netviz_app.params import spec
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core.classify import classify
from netviz_core.errors import NetVizError

METHOD_TITLES = spec("methods").choices
#: Tens of forward passes per map: chosen by hand, not shown by default.
SLOW_METHODS = ("scorecam", "integrated_gradients", "occlusion")

ctx = sidebar.page_header("Classify & Saliency", image=True)
net = ctx.net

from netviz_core.saliency import METHODS  # noqa: E402  (after the early exit: saliency imports are not free)
from netviz_core.saliency.overlay import (  # noqa: E402
    DEFAULT_CLIP_PERCENTILE, DEFAULT_OPACITY, DEFAULT_OUTSIDE_SHADE, DEFAULT_SMOOTH,
)

methods = tuple(METHODS)
state = UrlState("cls").declare(
    Param("target", "int", -1, lo=-1, hi=net.num_classes - 1, aliases=("cls",)),
    Param("methods", "multi", [m for m in methods if m not in SLOW_METHODS], choices=methods, max_items=len(methods)),
    Param("opacity", "float", DEFAULT_OPACITY, lo=0.0, hi=1.0),
    Param("clip_percentile", "float", DEFAULT_CLIP_PERCENTILE, lo=90.0, hi=100.0),
    Param("smooth", "float", DEFAULT_SMOOTH, lo=0.0, hi=5.0),
    Param("raw_map", "bool", False),
    # auto: a box only where the method's box localises (netviz_core.saliency.localize.box_by_default)
    Param("box", "choice", "auto", choices=("auto", "all", "off")),
    Param("box_threshold", "float", 0.3, lo=0.05, hi=0.95, aliases=("thr",)),
    Param("smoothgrad_samples", "int", 8, lo=1, hi=50, aliases=("sg_n",)),
)
state.follow("target", ctx.image_key)  # a class picked for one image does not stick to the next


@st.cache_data(max_entries=32, show_spinner=False)
def top_k(_net, model_key: str, _image, image_key: str, k: int = 5):
    return classify(_net, _image, top_k=k)


@st.cache_data(max_entries=64, show_spinner=False)
def saliency_map(_net, model_key: str, _image, image_key: str, target: int, method: str, options: tuple):
    """(map at input resolution as float32 numpy, geometry) for one method; NetVizError passes through."""
    from netviz_core.images import preprocess_with_geometry
    from netviz_core.saliency import saliency

    x, geometry = preprocess_with_geometry(_net, _image)
    return saliency(_net, x, target, method, **dict(options))[0].numpy(), geometry


try:
    result = top_k(net, ctx.model_key, ctx.image, ctx.image_key)
except NetVizError as exc:
    st.error(str(exc))
    st.stop()

left, right = st.columns([1, 2])
with left:
    st.image(ctx.image, caption=ctx.image_name, width="stretch")
with right:
    if sidebar.presenting():  # presentation mode: the prediction in large type
        st.markdown(f"# {result.names[0].split(',')[0]}  \n## P = {result.probabilities[0]:.1%}")
    st.subheader("Top 5")
    st.caption(net.label)
    st.dataframe(
        {
            "class": [f"{i}: {n}" for i, n in zip(result.indices, result.names)],
            "probability": result.probabilities,
            "logit": [round(v, 2) for v in result.logits],
        },
        column_config={"probability": st.column_config.ProgressColumn("probability", min_value=0.0, max_value=1.0,
                                                                      format="percent")},
        hide_index=True, width="stretch",
    )

st.subheader("Saliency")
# One row that wraps on a narrow screen (fixed widths, no cut labels); the methods below it.
row = st.container(horizontal=True, gap="medium")
names = net.class_names
# The URL holds the class index (-1: the top-1 class); the selectbox lists every class and is searchable.
# The -1 entry's label does not name a class: the browser keeps a selectbox's label across
# reruns, and a label naming the last image's class went stale when the image changed.
state.class_select("target", names, container=row, top1="top-1 (the model's prediction)", width=320)
opacity = state.slider("opacity", step=0.05, container=row, width=200)
box_mode = state.selectbox("box", container=row, width=200)
thr = state.slider("box_threshold", step=0.05, container=row, disabled=box_mode == "off", width=200)
clip = state.slider("clip_percentile", step=0.5, container=row, width=200)
smooth = state.slider("smooth", step=0.5, container=row, width=200)
show_raw = state.toggle("raw_map", container=row, width="content")
chosen = state.multiselect("methods")
sg_n = state.slider("smoothgrad_samples", container=row, disabled="smoothgrad" not in chosen, width=200)
state.sync(sidebar_state())

target = result.indices[0] if state.get("target") == -1 else int(state.get("target"))
st.caption(f"Saliency for class **{target}: {names[target]}** - {net.label}")

from netviz_core.saliency.localize import box_by_default, localize  # noqa: E402
from netviz_core.saliency.overlay import heatmap, overlay  # noqa: E402


def draws_box(method: str) -> bool:
    """Whether ``method``'s map gets a localisation box under the page's box setting."""
    return box_mode == "all" or (box_mode == "auto" and box_by_default(method))


#: A plain mid-grey photo: a DeconvNet map that is the same for it does not show the photo.
BLANK = Image.new("RGB", (256, 256), (128, 128, 128))


def photo_blind_note(method: str, m: np.ndarray) -> str | None:
    """Why a DeconvNet map shows a grid and not the photo, when the map is that of a blank grey image too.

    DeconvNet passes only the positive part of the signal back through a rectifier, whatever the
    layer's input; in Zeiler & Fergus's network the photo enters through max-pooling switches.  A
    backbone without them (or input-dependent gates) gives a map that depends on the class alone,
    whose pattern is that of the stride-2 convolutions: no display smoothing makes it readable.
    The comparison with the grey image's map is what says so for the model at hand.
    """
    if method != "deconvnet":
        return None
    from netviz_core.saliency.metrics import spearman

    blank, _ = saliency_map(net, ctx.model_key, BLANK, "blank-grey-256", target, method, ())
    rho = spearman(m, blank)
    if not rho > 0.9:  # NaN (a constant map) says nothing either
        return None
    return (f"Not the photo: this map is that of a plain grey image too (rank correlation {rho:.2f}). DeconvNet "
            "passes only the positive part of the signal back through each rectifier, whatever the layer's "
            "input; its link to the photo is max-pooling switches, which this backbone does not have. The grid "
            "is the pattern of its stride-2 convolutions; Guided backprop also uses the layer inputs and does "
            "see the photo.")


# --------------------------------------------------------------------------- trust metrics (lazy, cached)


@st.cache_data(max_entries=256, show_spinner=False)
def trust_metrics(_net, model_key: str, _image, image_key: str, target: int, method: str, options: tuple, _map) -> dict:
    """Deletion/insertion/ROAD curves and the randomisation correlation of one map (``_map``: that map, or None)."""
    from netviz_core.images import preprocess
    from netviz_core.saliency.metrics import evaluate_map, method_class

    x = preprocess(_net, _image)
    m = method_class(method)(_net, **dict(options))(x, target)[0] if _map is None else _map
    result = evaluate_map(_net, x, m, target, method=method, method_options=dict(options))
    curves = {c.name: {"fraction": list(c.fractions), "score": list(c.scores)}
              for c in (result.deletion, result.insertion, result.road_morf, result.road_lerf)}
    return {"summary": result.summary(), "curves": curves}


@st.cache_data(max_entries=64, show_spinner=False)
def randomization_cascade(_net, model_key: str, _image, image_key: str, target: int, method: str, options: tuple):
    """Spearman with the map after re-initialising the top k units, k = 1 .. all (one map per k)."""
    from netviz_core.images import preprocess
    from netviz_core.saliency.metrics import randomization_curve

    curve = randomization_curve(_net, preprocess(_net, _image), method, target, method_options=dict(options))
    return {"unit": list(curve.units[: len(curve.depths)]), "spearman": list(curve.spearman)}


def compute_trust(methods: list[str], options_for) -> dict[str, dict]:
    """Metrics of every chosen map and of the two reference maps, with a progress bar (cache hits are instant)."""
    names = [*methods, "random", "center"]
    bar = st.progress(0.0, text="Trust metrics...")
    out = {}
    for i, method in enumerate(names):
        bar.progress(i / len(names), text=f"Trust metrics: {METHOD_TITLES.get(method, method)} ({i + 1}/{len(names)})")
        key = method if method in methods else f"baseline_{method}"
        try:
            out[key] = trust_metrics(net, ctx.model_key, ctx.image, ctx.image_key, target, method, options_for(method),
                                     maps.get(method))
        except NetVizError as exc:
            st.warning(f"{METHOD_TITLES.get(method, method)}: {exc}")
    bar.empty()
    return out


def metrics_row(method: str, trust: dict[str, dict]) -> None:
    """Deletion AUC, insertion AUC, randomisation correlation under a map; its curves on demand."""
    if method not in trust:
        return
    s = trust[method]["summary"]
    ref = trust.get("baseline_random", {}).get("summary")
    rho = s["randomization_spearman"]
    m1, m2, m3 = st.columns(3)
    m1.metric("Deletion ↓", f"{s['deletion_auc']:.3f}",
              help="Deletion AUC (Petsiuk et al.): probability as the most salient pixels are replaced by the mean colour; "
              "lower is better. "
              + (f"Random map: {ref['deletion_auc']:.3f}." if ref else ""))
    m2.metric("Insertion ↑", f"{s['insertion_auc']:.3f}",
              help="Insertion AUC: probability as the most salient pixels are put back into a blurred image; higher is better. "
              + (f"Random map: {ref['insertion_auc']:.3f}." if ref else ""))
    m3.metric("Rand. ρ ↓", "n/a" if rho is None else f"{rho:.2f}",
              help="Adebayo et al.: Spearman correlation with the same method's map on a copy of the model with every "
              "layer re-initialised. Near 1: the map shows the image, not what the model learned.")
    with st.expander("Curves"):
        curves = trust[method]["curves"]
        st.line_chart({"fraction of pixels": curves["deletion"]["fraction"], "deletion": curves["deletion"]["score"],
                       "insertion": curves["insertion"]["score"]}, x="fraction of pixels", y=["deletion", "insertion"],
                      height=220)
        if st.button("Randomisation cascade", key=f"cascade_{method}", help="one map per re-initialised layer"):
            with st.spinner("Re-initialising layer by layer..."):
                cascade = randomization_cascade(net, ctx.model_key, ctx.image, ctx.image_key, target, method,
                                                method_options(method))
            st.line_chart({"layers re-initialised": list(range(1, len(cascade["spearman"]) + 1)),
                           "Spearman ρ": cascade["spearman"]}, x="layers re-initialised", y="Spearman ρ", height=220)
            st.caption(" → ".join(cascade["unit"]))


def trust_table_section(trust: dict[str, dict]) -> None:
    from netviz_core.saliency.metrics import trust_table

    rows = trust_table({name: r["summary"] for name, r in trust.items()})
    if not rows:
        return
    st.subheader("Which map to trust")
    st.caption("Sorted by insertion − deletion (higher is better); the random and centre maps are the references. "
               "ROAD (Rong et al.): probability after removing 10-90 % of the pixels, most (MoRF ↓) or least "
               "(LeRF ↑) relevant first, filled by noisy linear imputation.")
    st.dataframe(
        {
            "map": [METHOD_TITLES.get(r["map"], r["map"].replace("baseline_", "reference: ")) for r in rows],
            "insertion − deletion ↑": [round(r["insertion_minus_deletion"], 3) for r in rows],
            "deletion ↓": [round(r["deletion_auc"], 3) for r in rows],
            "insertion ↑": [round(r["insertion_auc"], 3) for r in rows],
            "ROAD MoRF ↓": [round(r["road_morf"], 3) for r in rows],
            "ROAD LeRF ↑": [round(r["road_lerf"], 3) for r in rows],
            "randomisation ρ ↓": [None if r["randomization_spearman"] is None else round(r["randomization_spearman"], 2)
                                  for r in rows],
        },
        hide_index=True, width="stretch",
    )


def method_options(method: str) -> tuple:
    return (("n", sg_n),) if method == "smoothgrad" else ()


show_trust = st.toggle("Trust metrics", key="cls_trust",
                       help="Deletion/insertion AUC, ROAD and the randomisation sanity check under each map "
                       "(a few seconds per map on a CPU; cached)")
maps: dict[str, np.ndarray] = {}
metric_slots = {}  # method -> the container under its map, filled once the metrics are in

crop_note = st.empty()  # filled once a map's geometry is known
geometry = None
per_row = 2 if show_raw else 3  # with the raw map beside it each method takes two pictures
for row in range(0, len(chosen), per_row):
    cols = st.columns(per_row)
    for col, method in zip(cols, chosen[row: row + per_row]):
        with col:
            st.markdown(f"**{METHOD_TITLES.get(method, method)}**")
            options = method_options(method)
            try:
                with st.spinner(f"{METHOD_TITLES.get(method, method)}..."):
                    m, geometry = saliency_map(net, ctx.model_key, ctx.image, ctx.image_key, target, method, options)
                box = localize(m, geometry, threshold=thr) if draws_box(method) and float(m.max()) > 0 else None
                look = {"clip_percentile": clip, "smooth": smooth, "outside_shade": DEFAULT_OUTSIDE_SHADE}
                pic = overlay(ctx.image, m, geometry, opacity=opacity, box=box, **look)
                raw = heatmap(ctx.image, m, geometry, **look) if show_raw else None
            except NetVizError as exc:
                st.warning(str(exc))
                continue
            if raw is None:
                st.image(pic, width="stretch")
            else:
                p1, p2 = st.columns(2)
                p1.image(pic, caption="over the photo", width="stretch")
                p2.image(raw, caption="the map alone", width="stretch")
            if box is not None:
                st.caption(f"box ({box.left:.0f}, {box.top:.0f}) - ({box.right:.0f}, {box.bottom:.0f})")
            note = photo_blind_note(method, m)
            if note:
                st.caption(note)
            d1, d2 = st.columns(2)
            d1.download_button("PNG", png_bytes(pic), file_name=f"{method}_{target}.png", mime="image/png", on_click="ignore",
                               key=f"dl_png_{method}")
            d2.download_button("NPY", npy_bytes(m.astype(np.float32)), file_name=f"{method}_{target}.npy",
                               mime="application/octet-stream", on_click="ignore", key=f"dl_npy_{method}")
            maps[method] = m
            metric_slots[method] = st.container()

if geometry is not None:
    left_, top_, right_, bottom_ = geometry.crop_box
    width_, height_ = geometry.original_size
    cropped = (left_, top_, right_, bottom_) != (0.0, 0.0, float(width_), float(height_))
    nth = f"{clip:g}" + ("th" if clip != int(clip) or 10 <= int(clip) % 100 <= 20
                         else {1: "st", 2: "nd", 3: "rd"}.get(int(clip) % 10, "th"))
    crop_note.caption(
        "Colours: inferno, dark to bright yellow = weak to strong; the map's "
        f"{nth} percentile gets the brightest colour, and where the map is weak the photo shows through."
        + (f" Greyed out: the part of the photo the model never saw. It classifies a centre crop "
           f"({right_ - left_:.0f}×{bottom_ - top_:.0f} px of the {width_}×{height_} photo, resized to "
           f"{geometry.input_size[1]}×{geometry.input_size[0]}), so no map can point there." if cropped else "")
    )

if show_trust and maps:
    trust = compute_trust(list(maps), method_options)
    for method, slot in metric_slots.items():
        with slot:
            metrics_row(method, trust)
    trust_table_section(trust)
