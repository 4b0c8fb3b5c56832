"""Class Impressions: saliency-driven class impressions (SCI) beside the plain baseline; negative images."""

from __future__ import annotations

import streamlit as st

from netviz_app import live, sidebar
from netviz_app.charts import score_curve
from netviz_app.media import gif_bytes, jpeg_bytes, png_bytes
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core.classvis import upscale
from netviz_core.errors import NetVizError
from netviz_core.images import to_uint8
from netviz_core.impressions import ImpressionSettings, impression_frames, negative_frames
from netviz_core.impressions.metrics import probabilities_of_saved
from netviz_core.impressions.settings import TRANSFORMS_ON

st.title("Class Impressions")
st.caption("Mopuri et al.'s class impressions, and Addepalli et al.'s saliency-driven version (SCI): "
           "TV regulariser, saliency-driven learning rate, single object grown from the most activated circle.")
ctx = sidebar.context()
if ctx.net is None:
    st.info("Pick a model in the sidebar.")
    st.stop()
net = ctx.net
PREFIX = "ci"
D = ImpressionSettings()
MODES = {"sci": "Class impression (SCI vs baseline)", "negative": "Negative image (two classes fused)"}
n_cls = net.num_classes

state = UrlState(PREFIX).declare(
    Param("mode", "choice", "sci", choices=tuple(MODES)),
    Param("cls", "int", 130 if n_cls > 130 else 0, lo=0, hi=n_cls - 1),
    Param("baseline", "bool", True),
    Param("iters", "int", D.iterations, lo=1, hi=1000),
    Param("lr", "float", D.lr, lo=0.01, hi=1.0),
    Param("seed", "int", D.seed, lo=0, hi=2**31 - 1),
    Param("tv", "bool", D.tv),
    Param("lambda1", "float", D.lambda1, lo=0.0, hi=2.0),
    Param("tv_every", "int", D.tv_every, lo=1, hi=10),
    Param("sal", "bool", D.saliency_lr),
    Param("c2", "float", D.c2, lo=0.5, hi=16.0),
    Param("t_switch", "int", D.t_switch, lo=1, hi=1000),
    Param("grad_cum0", "float", D.grad_cum0, lo=0.01, hi=1.0),
    Param("lr_map_peak", "float", D.lr_map_peak, lo=0.05, hi=0.95),
    Param("transforms_on", "choice", D.transforms_on, choices=TRANSFORMS_ON),
    Param("single", "bool", D.single_object),
    Param("select_radius", "float", D.select_radius, lo=5.0, hi=100.0),
    Param("preci", "int", D.preci_iterations, lo=0, hi=50),
    Param("first", "int", 130 if n_cls > 130 else 0, lo=0, hi=n_cls - 1),
    Param("second", "int", 1 if n_cls > 1 else 0, lo=0, hi=n_cls - 1),
    Param("iters1", "int", 60, lo=1, hi=500),
    Param("iters2", "int", 60, lo=1, hi=500),
)
names = net.class_names
fmt = lambda i: f"{i}: {names[i]}"  # noqa: E731
top = st.columns([3, 2])
mode = state.radio("mode", "What to make", container=top[0], format_func=MODES.get, horizontal=True)
start, stop = live.buttons(PREFIX, container=top[1])

if mode == "sci":
    c = st.columns([3, 1, 1, 1])
    c[0].selectbox("Class (type to search)", list(range(n_cls)), key=state.key("cls"), format_func=fmt)
    state.toggle("baseline", "Plain baseline beside it", container=c[1])
    state.slider("iters", "Iterations", container=c[2])
    state.number("seed", "Seed", container=c[3], step=1)
else:
    c = st.columns([3, 3, 1, 1])
    c[0].selectbox("First class (grown left)", list(range(n_cls)), key=state.key("first"), format_func=fmt)
    c[1].selectbox("Second class (grown right)", list(range(n_cls)), key=state.key("second"), format_func=fmt)
    state.slider("iters1", "Iterations, first", container=c[2])
    state.slider("iters2", "Iterations, second", container=c[3])

with st.expander("SCI controls", expanded=mode == "sci"):
    c = st.columns(4)
    state.toggle("tv", "TV regulariser (eq. 1)", container=c[0])
    state.slider("lambda1", "TV weight λ1", step=0.05, container=c[0])
    state.slider("tv_every", "TV every k steps", container=c[0])
    state.toggle("sal", "Saliency-driven learning rate (eqs. 2-4)", container=c[1])
    state.slider("lr", "Uniform learning rate", step=0.01, container=c[1])
    state.toggle("single", "Single object (sec. 3.3)", container=c[2])
    state.slider("select_radius", "Selection radius r (eq. 5)", step=1.0, container=c[2])
    state.slider("preci", "Pre-CI iterations", container=c[2])
    state.slider("c2", "C2", step=0.5, container=c[3])
    state.slider("t_switch", "t (switch iteration)", container=c[3])
    state.slider("grad_cum0", "grad_cum₀", step=0.01, container=c[3])
    state.slider("lr_map_peak", "Rate map peak (below the pre-CI's 1.0)", step=0.05, container=c[1])
    state.radio("transforms_on", "Random transforms act on", container=c[3], horizontal=True,
                format_func={"input": "network input", "image": "stored image"}.get)
state.sync(sidebar_state())

v = state.values()
try:
    sci = ImpressionSettings(
        iterations=int(v["iters"]), lr=float(v["lr"]), seed=int(v["seed"]), tv=bool(v["tv"]),
        lambda1=float(v["lambda1"]), tv_every=int(v["tv_every"]), saliency_lr=bool(v["sal"]), c2=float(v["c2"]),
        t_switch=int(v["t_switch"]), grad_cum0=float(v["grad_cum0"]), single_object=bool(v["single"]),
        select_radius=float(v["select_radius"]), preci_iterations=int(v["preci"]),
        lr_map_peak=float(v["lr_map_peak"]), transforms_on=v["transforms_on"],
    ).validated()
    base = ImpressionSettings.baseline(iterations=sci.iterations, lr=sci.lr, seed=sci.seed,
                                       transforms_on=sci.transforms_on).validated()
except NetVizError as exc:
    st.error(str(exc))
    st.stop()

if mode == "sci":
    variants = {"SCI": sci, **({"baseline": base} if v["baseline"] else {})}
    targets = [int(v["cls"])]
    config = (ctx.model_key, "sci", targets[0], tuple((k, s.to_json()) for k, s in variants.items()))
    st.caption(f"**{targets[0]}: {names[targets[0]]}** - {net.label}")
else:
    variants = {"negative": sci}
    targets = [int(v["first"]), int(v["second"])]
    config = (ctx.model_key, "negative", tuple(targets), int(v["iters1"]), int(v["iters2"]), sci.to_json())
    st.caption(f"**{names[targets[0]].split(',')[0]}** fused with **{names[targets[1]].split(',')[0]}** - {net.label}")

labels = list(variants)
cols = st.columns(max(2, len(labels)))
slots = {label: col.empty() for label, col in zip(labels, cols)}
chart_slot, status_slot = st.empty(), st.empty()
DISPLAY = 336


def draw(run: live.LiveRun) -> None:
    step = len(run.history) - 1
    for label in labels:
        slots[label].image(jpeg_bytes(upscale(_pil(run.pictures[-1][label]), DISPLAY)), caption=f"{label}, step {step}",
                           width=DISPLAY)
    status_slot.caption("running: step " + str(step) + ", " + ", ".join(
        f"P {label} {p:.1%}" for label, p in zip(labels, run.history[-1])))


def _pil(arr):
    from netviz_app.media import as_pil

    return as_pil(arr)


if live.decide(PREFIX, config, start, stop):
    try:
        if mode == "sci":
            gens = [impression_frames(net, targets, s) for s in variants.values()]
        else:
            gens = [negative_frames(net, targets[0], targets[1], sci, first_iterations=int(v["iters1"]),
                                    second_iterations=int(v["iters2"]))]
    except NetVizError as exc:
        st.error(str(exc))
        st.stop()
    run = live.begin(PREFIX, config)
    keep = live.keep_every(sci.iterations if mode == "sci" else int(v["iters1"]) + int(v["iters2"]), budget=60)

    def record(run: live.LiveRun, step) -> None:
        run.history.append(tuple(float(f.probabilities[0]) for f in step.frames))
        pics = {label: to_uint8(net, f.images[:1])[0] for label, f in zip(labels, step.frames)}
        if not run.pictures or len(run.history) % keep == 0 or step.final:
            run.pictures.append(pics)
        else:
            run.pictures[-1] = pics

    live.drive(run, live.lockstep(*gens), record, draw, max_fps=6, on_error=NetVizError)

run = live.current(PREFIX)
if run is None or run.config[1] != config[1]:  # nothing run yet in this mode
    slots[labels[0]].info("Press **Start**. Changing a control during a run restarts it; Stop keeps the images so far.")
    st.stop()
if run.error:
    st.error(run.error)
if not run.pictures:
    st.stop()

final = run.pictures[-1]
what = {live.DONE: "finished", live.STOPPED: "stopped", live.FAILED: "failed"}.get(run.status, run.status)
steps = len(run.history) - 1
for label in labels:
    if label in final and label in slots:
        slots[label].image(upscale(_pil(final[label]), DISPLAY), caption=f"{label}, step {steps}", width=DISPLAY)
run_labels = [label for label in final]
series = {f"P({label})": [h[i] for h in run.history] for i, label in enumerate(run_labels)}
chart_slot.plotly_chart(score_curve(series, title="target probability (the class being developed)", y_title="P"),
                        key="ci_chart")
last_frames = run.last.frames  # the latest frame of each variant (also after a stop)
if run.config[1] == "sci":
    t = run.config[2]
    probs = [probabilities_of_saved(net, f.images)[0] for f in last_frames]
    status_slot.caption(f"{what} after {steps} steps - P({names[t].split(',')[0]}) of the saved 8-bit image: "
                        + ", ".join(f"{label} {float(p[t]):.1%}" for label, p in zip(run_labels, probs)))
else:
    probs = probabilities_of_saved(net, last_frames[0].images)[0]
    a, b = run.config[2]
    status_slot.caption(f"{what} after {steps} steps - saved 8-bit image: P({names[a].split(',')[0]}) "
                        f"{float(probs[a]):.1%}, P({names[b].split(',')[0]}) {float(probs[b]):.1%}; "
                        f"top-1 {int(probs.argmax())}: {names[int(probs.argmax())]}")
d = st.columns(len(run_labels) * 2)
for i, label in enumerate(run_labels):
    d[2 * i].download_button(f"PNG ({label})", png_bytes(final[label]), file_name=f"impression_{label}.png",
                             mime="image/png", on_click="ignore", key=f"ci.dl_png_{label}")
    d[2 * i + 1].download_button(f"GIF ({label})", gif_bytes([p[label] for p in run.pictures]),
                                 file_name=f"impression_{label}.gif", mime="image/gif", on_click="ignore",
                                 key=f"ci.dl_gif_{label}")
