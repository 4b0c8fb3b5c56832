"""Fooling: a small change to the image that makes the model see a class of your choice."""

from __future__ import annotations

import streamlit as st

from netviz_app import live, settings_ui, sidebar
from netviz_app.charts import score_curve
from netviz_app.media import jpeg_bytes, png_bytes
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core.errors import NetVizError
from netviz_core.fooling import DEFAULT_MAGNIFY, FoolingSettings, fooling_frames, fooling_results
from netviz_core.images import preprocess, to_uint8

ctx = sidebar.page_header("Fooling images", "Gradient ascent on the target's score from your image until the model predicts it; "
                                            "then repaired on the 8-bit grid, so the downloaded PNG still fools.", image=True)
net = ctx.net
PREFIX = "fool"

state = UrlState(PREFIX).declare(
    Param("target", "int", 6 if net.num_classes > 6 else 0, lo=0, hi=net.num_classes - 1),
    Param("mode", "choice", "normalized", choices=("normalized", "linf")),
    # the bounded variant's widgets start at ε = 8 levels and a sign step of 1 (its settings' default is off)
    *settings_ui.params(FoolingSettings, settings_ui.shown(FoolingSettings), defaults={"linf": 8.0, "step_size": 1.0}),
    Param("magnify", "float", DEFAULT_MAGNIFY, lo=1.0, hi=50.0),
)
names = net.class_names
top = st.columns([3, 2])
state.class_select("target", names, container=top[0])
start, stop = live.buttons(PREFIX, container=top[1], start_label="Fool it", state=state)
c = st.columns(4)
mode = state.radio("mode", container=c[0])
used = settings_ui.shown(FoolingSettings, (mode, "run"))  # only what the chosen method uses
settings_ui.draw(state, FoolingSettings, settings_ui.shown(FoolingSettings, (mode,)), container=c[1])
settings_ui.draw(state, FoolingSettings, settings_ui.shown(FoolingSettings, ("run",)), container=c[2])
state.slider("magnify", step=1.0, container=c[3])
state.sync(sidebar_state())

target = int(state.get("target"))
try:  # only what the chosen method uses: a hidden setting cannot start a run
    settings = FoolingSettings(**settings_ui.values(state, FoolingSettings, used))
except NetVizError as exc:
    st.error(str(exc))
    st.stop()
config = (ctx.model_key, ctx.image_key, target, settings.to_json())

st.caption(f"Target **{target}: {names[target]}** - {net.label}")
cols = st.columns(3)
original_slot, fooled_slot, diff_slot = (col.empty() for col in cols)
progress_slot, status_slot, results_slot = st.empty(), st.empty(), st.empty()
original_slot.image(to_uint8(net, preprocess(net, ctx.image))[0], caption="original (model input)", width="stretch")


def draw(run: live.LiveRun) -> None:
    frame = run.last
    p = run.history[-1]
    fooled_slot.image(jpeg_bytes(run.pictures[-1]), caption=f"step {frame.step} ({frame.phase})", width="stretch")
    status_slot.caption(f"running ({frame.phase}): P({names[target].split(',')[0]}) = {p:.1%}")


if live.decide(PREFIX, config, start, stop):
    run = live.begin(PREFIX, config, total=settings.iterations)

    def record(run: live.LiveRun, frame) -> None:
        run.history.append(float(frame.probabilities[0]))
        run.pictures[:] = [to_uint8(net, frame.images[:1])[0]]

    try:
        frames = fooling_frames(net, ctx.image, target, settings)
    except NetVizError as exc:
        st.error(str(exc))
        st.stop()
    live.drive(run, frames, record, draw, max_fps=8, on_error=NetVizError, progress_slot=progress_slot)

run = live.shown(PREFIX, fooled_slot, "Press **Fool it**.", ready=lambda run: run.last is not None)
if run.result is None:
    try:
        run.result = fooling_results(net, run.last, magnify=float(state.get("magnify")))[0]
    except NetVizError as exc:
        st.error(str(exc))
        st.stop()
res = run.result
if res.magnify != float(state.get("magnify")):  # only the picture of the difference changes: no new run
    res = run.result = fooling_results(net, run.last, magnify=float(state.get("magnify")))[0]

run_target = run.config[2]  # the run's own target and image: the selectors may have moved on
if run.config[1] != ctx.image_key:
    original_slot.info("The run below was made from another image: press **Fool it** for this one.")
fooled = "fooled" if res.success else "not fooled"
fooled_slot.image(res.fooling_picture, caption=f"{fooled}: predicted {res.predicted_class}: {res.predicted_name}",
                  width="stretch")
diff_slot.image(res.difference_picture, caption=f"difference ×{res.magnify:g} (grey = no change)", width="stretch")
live.progress(run, progress_slot)
what = live.status_word(run)
verdict = "fools the model" if res.success else "does not fool the model"
status_slot.caption(f"{what}: the 8-bit image {verdict} - {net.label}")
results = results_slot.container()
if live.stale(run, config):
    results.warning("Made with other settings than those above: press **Fool it** to run them.")
m = results.container(horizontal=True, gap="large")  # wraps on a narrow screen instead of cutting the labels
m.metric("Iterations", res.iterations, help=f"{res.quantized_steps} of them on the 8-bit grid", width="content")
m.metric(f"P(target) {names[run_target].split(',')[0]}", f"{res.target_probability_after:.1%}",
         f"{(res.target_probability_after - res.target_probability_before) * 100:+.1f} pts", width="content")
m.metric(f"P(original) {res.original_name.split(',')[0]}", f"{res.original_probability_after:.1%}",
         f"{(res.original_probability_after - res.original_probability_before) * 100:+.1f} pts", width="content")
m.metric("L2 of the change", f"{res.l2:.1f}", help="0-255 pixel units", width="content")
m.metric("L∞ of the change", f"{res.linf:.0f}", help="0-255 pixel units", width="content")
if len(run.history) > 1:
    results.plotly_chart(score_curve({"P(target)": run.history}, title="target probability", y_title="P"),
                         key="fool_chart")
label = ("PNG (the fooling image: still fools when reloaded)" if res.success
         else "PNG (the last image: it does not fool the model)")
results.download_button(label, png_bytes(res.fooling_picture), file_name=f"fooling_{run_target}.png",
                        mime="image/png", on_click="ignore", key="fool.dl_png")
