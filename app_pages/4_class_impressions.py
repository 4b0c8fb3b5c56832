"""Class Impressions: saliency-driven class impressions (SCI) beside the plain baseline; negative images."""

from __future__ import annotations

import streamlit as st

from netviz_app import live, settings_ui, sidebar
from netviz_app.charts import score_curve
from netviz_app.media import gif_bytes, jpeg_bytes, png_bytes
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core.classvis import upscale
from netviz_core.errors import NetVizError
from netviz_core.images import to_uint8
from netviz_core.impressions import ImpressionSettings, impression_frames, negative_frames
from netviz_core.impressions.metrics import probabilities_of_saved

ctx = sidebar.page_header("Class Impressions", "Mopuri et al.'s class impressions, and Addepalli et al.'s saliency-driven version (SCI): "
                                               "TV regulariser, saliency-driven learning rate, single object grown from the most activated circle.")
net = ctx.net
PREFIX = "ci"
SHOWN = settings_ui.shown(ImpressionSettings)  # the run, and the controls of SCI's three parts
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
    *settings_ui.params(ImpressionSettings, SHOWN),
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
    for group in ("tv", "saliency", "single"):
        settings_ui.draw(state, ImpressionSettings, settings_ui.shown(ImpressionSettings, (group,)),
                         container=groups.container(width=300))
    if settings_ui.ungrouped(ImpressionSettings):
        settings_ui.draw(state, ImpressionSettings, settings_ui.ungrouped(ImpressionSettings),
                         container=groups.container(width=300))
state.sync(sidebar_state())

v = state.values()
# Controls that a switch turns off keep their defaults in the settings, so that changing one cannot start a run.
chosen = settings_ui.values(state, ImpressionSettings, SHOWN)
# pixel: the paper's recipe; fourier/maco: the lucid one.  lr and λ1 mean different things on the two
# (an Adam step on a spectrum, a TV term), so a control left at its default takes the recipe's own value.
recipe = "paper" if chosen["parametrization"] == "pixel" else "lucid"
for name, value in ImpressionSettings.presets.own[recipe].items():
    if name in chosen and name != "parametrization" and chosen[name] == state.params[name].default:
        chosen[name] = value
try:
    sci = ImpressionSettings.preset(recipe).with_overrides(**chosen)
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
