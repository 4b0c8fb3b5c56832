"""Class Impressions: saliency-driven class impressions (SCI) beside the plain baseline; negative images."""

from __future__ import annotations

import streamlit as st

from netviz_app import live, sidebar
from netviz_app.charts import score_curve
from netviz_app.media import gif_bytes, jpeg_bytes, png_bytes
from netviz_app.state import Param, UrlState, log_steps, sidebar_state
from netviz_core.classvis import upscale
from netviz_core.errors import NetVizError
from netviz_core.images import to_uint8
from netviz_core.impressions import ImpressionSettings, impression_frames, negative_frames
from netviz_core.impressions.metrics import probabilities_of_saved
from netviz_core.impressions.settings import PRESETS, TRANSFORMS_ON
from netviz_core.optimize.parametrizations import PARAMETRIZATIONS

ctx = sidebar.page_header("Class Impressions", "Mopuri et al.'s class impressions, and Addepalli et al.'s saliency-driven version (SCI): "
                                               "TV regulariser, saliency-driven learning rate, single object grown from the most activated circle.")
net = ctx.net
PREFIX = "ci"
D = ImpressionSettings()
n_cls = net.num_classes
# The negative image had two step sliders (first_iterations/iters1 + second_iterations/iters2) that add up to
# the joint run's length: an old link reads as that sum.
_old = [st.query_params.get(a) or st.query_params.get(b) for a, b in (("first_iterations", "iters1"),
                                                                        ("second_iterations", "iters2"))]
if "iterations" not in st.query_params and "iters" not in st.query_params and all(
        o and o.strip().isdigit() for o in _old):
    st.query_params["iterations"] = str(sum(int(o) for o in _old))

state = UrlState(PREFIX).declare(
    Param("make", "choice", "sci", choices=("sci", "negative"), aliases=("mode",)),
    Param("target", "int", 130 if n_cls > 130 else 0, lo=0, hi=n_cls - 1, aliases=("cls",)),
    Param("baseline", "bool", True),
    Param("iterations", "int", D.iterations, lo=1, hi=1000, aliases=("iters",)),
    Param("parametrization", "choice", D.parametrization, choices=tuple(PARAMETRIZATIONS)),
    Param("lr", "float", D.lr, lo=0.01, hi=1.0),
    Param("seed", "int", D.seed, lo=0, hi=2**31 - 1),
    Param("tv", "bool", D.tv),
    # log-spaced steps that contain the default (0.02): a linear 0.05 grid could not return to it
    Param("tv_weight", "logfloat", D.tv_weight, choices=(*log_steps(-4, 0), 2.0), aliases=("lambda1",)),
    Param("tv_every", "int", D.tv_every, lo=1, hi=10),
    Param("saliency_lr", "bool", D.saliency_lr, aliases=("sal",)),
    Param("c2", "float", D.c2, lo=0.5, hi=16.0),
    Param("t_switch", "int", D.t_switch, lo=1, hi=1000),
    Param("grad_cum0", "float", D.grad_cum0, lo=0.01, hi=1.0),
    Param("lr_map_peak", "float", D.lr_map_peak, lo=0.05, hi=0.95),
    Param("transforms_on", "choice", D.transforms_on, choices=TRANSFORMS_ON),
    Param("single_object", "bool", D.single_object, aliases=("single",)),
    Param("select_radius", "float", D.select_radius, lo=5.0, hi=100.0),
    Param("preci_iterations", "int", D.preci_iterations, lo=0, hi=50, aliases=("preci",)),
    Param("first", "int", 130 if n_cls > 130 else 0, lo=0, hi=n_cls - 1),
    Param("second", "int", 1 if n_cls > 1 else 0, lo=0, hi=n_cls - 1),
)
names = net.class_names
top = st.columns([3, 2])
mode = state.radio("make", container=top[0], horizontal=True)
start, stop = live.buttons(PREFIX, container=top[1], state=state)

# Rows that wrap on a narrow screen: fixed widths, so that no label is cut.
row = st.container(horizontal=True, gap="medium")
if mode == "sci":
    state.class_select("target", names, container=row, width=320)
    state.toggle("baseline", container=row, width="content")
    state.slider("iterations", container=row, width=220)
    state.number("seed", container=row, step=1, width=160)
else:
    state.class_select("first", names, container=row, width=320)
    state.class_select("second", names, container=row, width=320)
    state.slider("iterations", container=row, width=220)  # the joint run: both classes grow at once
state.selectbox("parametrization", container=row, width=200)

with st.expander("SCI controls", expanded=mode == "sci"):
    groups = st.container(horizontal=True, gap="large")
    # A control without effect under the current switches is disabled (and left out of the run's settings).
    g = groups.container(width=300)
    tv_on = state.toggle("tv", container=g)
    state.log_slider("tv_weight", container=g, disabled=not tv_on)
    state.slider("tv_every", container=g, disabled=not tv_on)
    state.radio("transforms_on", container=g, horizontal=True)
    g = groups.container(width=300)
    sal_on = state.toggle("saliency_lr", container=g)
    state.slider("lr", step=0.01, container=g)
    state.slider("lr_map_peak", step=0.05, container=g, disabled=not sal_on)
    state.slider("c2", step=0.5, container=g, disabled=not sal_on)
    state.slider("t_switch", container=g, disabled=not sal_on)
    state.slider("grad_cum0", step=0.01, container=g, disabled=not sal_on)
    g = groups.container(width=300)
    single_on = state.toggle("single_object", container=g)
    state.slider("select_radius", step=1.0, container=g, disabled=not single_on)
    state.slider("preci_iterations", container=g, disabled=not single_on)
state.sync(sidebar_state())

v = state.values()
# Controls that a switch turns off keep their defaults in the settings, so that changing one cannot start a run.
for switch, names_off in (("tv", ("tv_weight", "tv_every")),
                          ("saliency_lr", ("c2", "t_switch", "grad_cum0", "lr_map_peak")),
                          ("single_object", ("select_radius", "preci_iterations"))):
    if not v[switch]:
        v.update({name: state.params[name].default for name in names_off})
# pixel: the paper's recipe; fourier/maco: the lucid one.  lr and λ1 mean different things on the two
# (an Adam step on a spectrum, a TV term), so a slider left at its default takes the recipe's own value.
recipe = PRESETS["paper" if v["parametrization"] == "pixel" else "lucid"]
for name in ("lr", "tv_weight"):
    if v[name] == state.params[name].default:
        v[name] = recipe[name]
try:
    sci = ImpressionSettings.preset("paper" if v["parametrization"] == "pixel" else "lucid").with_overrides(
        parametrization=v["parametrization"],
        iterations=int(v["iterations"]), lr=float(v["lr"]), seed=int(v["seed"]), tv=bool(v["tv"]),
        tv_weight=float(v["tv_weight"]), tv_every=int(v["tv_every"]), saliency_lr=bool(v["saliency_lr"]),
        c2=float(v["c2"]), t_switch=int(v["t_switch"]), grad_cum0=float(v["grad_cum0"]),
        lr_map_peak=float(v["lr_map_peak"]), single_object=bool(v["single_object"]),
        select_radius=float(v["select_radius"]), preci_iterations=int(v["preci_iterations"]),
        transforms_on=v["transforms_on"],
    )
    base = sci.plain()
except NetVizError as exc:
    st.error(str(exc))
    st.stop()

if mode == "sci":
    variants = {"SCI": sci, **({"baseline": base} if v["baseline"] else {})}
    targets = [int(v["target"])]
    config = (ctx.model_key, "sci", targets[0], tuple((k, s.to_json()) for k, s in variants.items()))
    st.caption(f"**{targets[0]}: {names[targets[0]]}** - {net.label}")
else:
    variants = {"negative": sci}
    targets = [int(v["first"]), int(v["second"])]
    config = (ctx.model_key, "negative", tuple(targets), sci.to_json())
    st.caption(f"**{names[targets[0]].split(',')[0]}** fused with **{names[targets[1]].split(',')[0]}** - {net.label}")

total_steps = sci.iterations
labels = list(variants)
cols = st.columns(2)  # two pictures side by side at the column's width (a single variant keeps half the width)
slot_list = [col.empty() for col in cols]
slots = dict(zip(labels, slot_list))
progress_slot, status_slot, results_slot = st.empty(), st.empty(), st.empty()
DISPLAY = 336  # upscaled with nearest neighbours, then shown at the column's width


def draw(run: live.LiveRun) -> None:
    step = len(run.history) - 1
    for label in labels:
        slots[label].image(jpeg_bytes(upscale(_pil(run.pictures[-1][label]), DISPLAY)), caption=f"{label}, step {step}",
                           width="stretch")
    status_slot.caption("running: " + ", ".join(f"P {label} {p:.1%}" for label, p in zip(labels, run.history[-1])))


def _pil(arr):
    from netviz_app.media import as_pil

    return as_pil(arr)


if live.decide(PREFIX, config, start, stop):
    try:
        if mode == "sci":
            gens = [impression_frames(net, targets, s) for s in variants.values()]
        else:
            gens = [negative_frames(net, targets[0], targets[1], sci, iterations=sci.iterations)]
    except NetVizError as exc:
        st.error(str(exc))
        st.stop()
    run = live.begin(PREFIX, config, total=total_steps)
    keep = live.keep_every(total_steps, budget=60)

    def record(run: live.LiveRun, step) -> None:
        run.history.append(tuple(float(f.probabilities[0]) for f in step.frames))
        pics = {label: to_uint8(net, f.images[:1])[0] for label, f in zip(labels, step.frames)}
        if not run.pictures or len(run.history) % keep == 0 or step.final:
            run.pictures.append(pics)
        else:
            run.pictures[-1] = pics

    live.drive(run, live.lockstep(*gens), record, draw, max_fps=6, on_error=NetVizError, progress_slot=progress_slot)

run = live.shown(PREFIX, slots[labels[0]], "Press **Start**. With **Live** on, changing a control restarts the run; "
                 "Stop keeps the images so far.",
                 made_for=lambda run: run.config[1] == config[1])  # nothing run yet in this mode

final = run.pictures[-1]
what = live.status_word(run)
steps = len(run.history) - 1
run_labels = [label for label in final]
for label, slot in zip(run_labels, slot_list):  # the run's own pictures, also when its variants differ from the controls
    slot.image(upscale(_pil(final[label]), DISPLAY), caption=f"{label}, step {steps}", width="stretch")
live.progress(run, progress_slot)
results = results_slot.container()
if live.stale(run, config):
    results.warning("Made with other settings than those above: press **Start** to run them.")
series = {f"P({label})": [h[i] for h in run.history] for i, label in enumerate(run_labels)}
results.plotly_chart(score_curve(series, title="target probability (the class being developed)", y_title="P"),
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
d = results.container(horizontal=True)  # wraps on a narrow screen
for i, label in enumerate(run_labels):
    d.download_button(f"PNG ({label})", png_bytes(final[label]), file_name=f"impression_{label}.png",
                      mime="image/png", on_click="ignore", key=f"ci.dl_png_{label}")
    d.download_button(f"GIF ({label})", gif_bytes([p[label] for p in run.pictures]),
                      file_name=f"impression_{label}.gif", mime="image/gif", on_click="ignore",
                      key=f"ci.dl_gif_{label}")
