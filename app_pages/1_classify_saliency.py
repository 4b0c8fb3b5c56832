"""Classify & Saliency: the top-5 classes, then every saliency method side by side for one class."""

from __future__ import annotations

import numpy as np
import streamlit as st

from netviz_app import sidebar
from netviz_app.media import npy_bytes, png_bytes
from netviz_app.params import spec
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core.classify import classify
from netviz_core.errors import NetVizError

METHOD_TITLES = spec("methods").choices

st.title("Classify & Saliency")
ctx = sidebar.context()
if ctx.net is None or ctx.image is None:
    st.info("Pick a model and an image in the sidebar.")
    st.stop()
net = ctx.net

from netviz_core.saliency import METHODS  # noqa: E402  (after the early exit: saliency imports are not free)

methods = tuple(METHODS)
state = UrlState("cls").declare(
    Param("target", "int", -1, lo=-1, hi=net.num_classes - 1, aliases=("cls",)),
    Param("methods", "multi", list(methods), choices=methods, max_items=len(methods)),
    Param("opacity", "float", 0.5, lo=0.0, hi=1.0),
    Param("box", "bool", True),
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
show_box = state.toggle("box", container=row, width="content")
thr = state.slider("box_threshold", step=0.05, container=row, disabled=not show_box, width=200)
chosen = state.multiselect("methods")
sg_n = state.slider("smoothgrad_samples", container=row, disabled="smoothgrad" not in chosen, width=200)
state.sync(sidebar_state())

target = result.indices[0] if state.get("target") == -1 else int(state.get("target"))
st.caption(f"Saliency for class **{target}: {names[target]}** - {net.label}")

from netviz_core.saliency import localize, overlay  # noqa: E402

per_row = 3
for row in range(0, len(chosen), per_row):
    cols = st.columns(per_row)
    for col, method in zip(cols, chosen[row: row + per_row]):
        with col:
            st.markdown(f"**{METHOD_TITLES.get(method, method)}**")
            options = (("n", sg_n),) if method == "smoothgrad" else ()
            try:
                with st.spinner(f"{METHOD_TITLES.get(method, method)}..."):
                    m, geometry = saliency_map(net, ctx.model_key, ctx.image, ctx.image_key, target, method, options)
                box = localize(m, geometry, threshold=thr) if show_box and float(m.max()) > 0 else None
                pic = overlay(ctx.image, m, geometry, opacity=opacity, box=box)
            except NetVizError as exc:
                st.warning(str(exc))
                continue
            st.image(pic, width="stretch")
            if box is not None:
                st.caption(f"box ({box.left:.0f}, {box.top:.0f}) - ({box.right:.0f}, {box.bottom:.0f})")
            d1, d2 = st.columns(2)
            d1.download_button("PNG", png_bytes(pic), file_name=f"{method}_{target}.png", mime="image/png", on_click="ignore",
                               key=f"dl_png_{method}")
            d2.download_button("NPY", npy_bytes(m.astype(np.float32)), file_name=f"{method}_{target}.npy",
                               mime="application/octet-stream", on_click="ignore", key=f"dl_npy_{method}")
