"""Class Visualization: the image the model scores highest for a class, evolving live."""

from __future__ import annotations

import streamlit as st

from netviz_app import classvis_params, classvis_view, live, sidebar
from netviz_app.charts import score_curve
from netviz_app.media import gif_bytes, png_bytes
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core.classvis import DEFAULT_PRESET, PRESETS, ClassVisRun, settings_for
from netviz_core.errors import NetVizError
from netviz_core.images import to_uint8

st.title("Class Visualization")
st.caption("I* = argmax_I S_c(I) - λ‖I‖² - w·TV(I), I = decode(p)  (Simonyan et al.; CS231n; "
           "Lucid's Fourier parametrization and transforms; MACO).")
ctx = sidebar.context()
if ctx.net is None:
    st.info("Pick a model in the sidebar.")
    st.stop()
net = ctx.net
PREFIX = "cv"
CUSTOM = "custom"

state = UrlState(PREFIX).declare(
    Param("cls", "int", 76 if net.num_classes > 76 else 0, lo=0, hi=net.num_classes - 1),
    Param("preset", "choice", DEFAULT_PRESET, choices=(*PRESETS, CUSTOM)),
    *classvis_params.settings_params(max_iterations=500, preset=DEFAULT_PRESET),
)


def apply_preset() -> None:
    classvis_params.apply_preset(state)


names = net.class_names
top = st.columns([3, 2, 2])
top[0].selectbox("Class (type to search)", list(range(net.num_classes)), key=state.key("cls"),
                 format_func=lambda i: f"{i}: {names[i]}")
state.selectbox("preset", "Paper preset", container=top[1], on_change=apply_preset,
                help="lucid: Fourier parametrization, transforms, Adam; maco: fixed photo spectrum, phase "
                "optimised, random crops; cs231n: the assignment's settings; simonyan: L2 only, from the mean image.")
start, stop = live.buttons(PREFIX, container=top[2])

with st.expander("Settings", expanded=True):
    c = st.columns(4)
    state.log_slider("lam", "λ (L2 weight, log scale)", container=c[0])
    state.log_slider("lr", "Learning rate (log scale)", container=c[0])
    state.log_slider("tv_weight", "TV weight (log scale, 0 = off)", container=c[0])
    state.slider("iters", "Iterations", container=c[1])
    state.slider("jitter", "Jitter (pixels)", container=c[1])
    state.selectbox("parametrization", "Parametrization", container=c[1],
                    help="pixel: the image itself; fourier: a 1/f-scaled spectrum (Lucid); "
                    "maco: the phase of a fixed natural spectrum (Fel et al.)")
    pixels = state.get("parametrization") == "pixel"
    state.slider("blur_every", "Blur every (steps, 0 = never)", container=c[2], disabled=not pixels,
                 help=None if pixels else "Blur acts on pixels; the spectral parametrizations are smooth already.")
    state.slider("blur_sigma", "Blur σ (pixels)", step=0.05, container=c[2], disabled=not pixels)
    state.selectbox("optimizer", "Optimizer", container=c[2])
    state.toggle("transforms", "Random transforms on the input", container=c[2],
                 help="Lucid's pad, jitter, scale and rotation (maco: random crops and noise); "
                 "the stored image is never transformed")
    state.radio("objective", "Objective", container=c[3], horizontal=True,
                format_func={"logit": "score S_c", "posterior": "log P_c"}.get)
    state.radio("init", "Start", container=c[3], horizontal=True, format_func={"noise": "noise", "mean": "mean image"}.get)
    state.number("seed", "Seed", container=c[3], step=1)
state.sync(sidebar_state())

values = classvis_params.settings_values(state)
preset = state.get("preset")
if preset in PRESETS and any(PRESETS[preset][f] != v for f, v in values.items()):
    preset = None  # the sliders moved away from the preset: record the values only
try:
    settings = settings_for(None, seed=int(state.get("seed")), **values)
except NetVizError as exc:
    st.error(str(exc))
    st.stop()
if preset in PRESETS:
    from dataclasses import replace

    settings = replace(settings, preset=preset)
target = int(state.get("cls"))
config = (ctx.model_key, target, settings.to_json())

st.caption(f"**{target}: {names[target]}** - {net.label}")
left, right = st.columns([1, 1])
image_slot, chart_slot = left.empty(), right.empty()
status_slot = st.empty()
view = classvis_view.LiveView(image_slot, chart_slot, status_slot, settings.iterations, key=PREFIX)

if live.decide(PREFIX, config, start, stop):
    try:
        job = ClassVisRun(net, [target], settings)
    except NetVizError as exc:
        st.error(str(exc))
        st.stop()
    run = live.begin(PREFIX, config, job)
    live.drive(run, job.frames(), classvis_view.recorder(net, settings.iterations), view.draw, max_fps=8,
               on_error=NetVizError)

run = live.current(PREFIX)
if run is None:
    image_slot.info("Press **Start**: the image evolves here while the optimiser runs. "
                    "Changing a setting during a run restarts it; Stop keeps the frames so far.")
    st.stop()
if run.error:
    st.error(run.error)
if not run.pictures:
    st.stop()
if run.result is None and run.job is not None and run.job.last is not None:
    last = run.job.last
    if run.steps[-1] != last.step:  # stopped between two kept pictures: keep the one the result describes
        run.steps.append(last.step)
        run.pictures.append(to_uint8(net, last.images[:1])[0])
    try:
        run.result = run.job.result()
    except NetVizError as exc:
        st.error(str(exc))

# After the run: a scrubber over the saved frames, the score curve, downloads.
steps = run.steps
pick = st.select_slider("Scrub through the saved frames (step)", options=steps, value=steps[-1],
                        key=f"{PREFIX}.scrub.{run.serial}") if len(steps) > 1 else steps[0]  # each run starts at its end
i = steps.index(pick)
classvis_view.show(image_slot, run.pictures[i], caption=f"step {pick}")
chart_slot.plotly_chart(score_curve({"S_c": [h[0] for h in run.history]}, marker_step=pick), key="cv_chart_after")
res = run.result
what = {live.DONE: "finished", live.STOPPED: "stopped", live.FAILED: "failed"}.get(run.status, run.status)
if res is not None:
    pred = res.predictions[0]
    status_slot.caption(
        f"{what} after {res.steps} steps in {res.elapsed_s:.1f} s - S_c {res.scores[0]:.2f}, "
        f"P {res.probabilities[0]:.1%} (as 8-bit PNG {res.probabilities_8bit[0]:.1%}), "
        f"predicted {pred}: {names[pred]} - {res.model_label}"
    )
    d = st.columns(3)
    d[0].download_button("PNG (final image)", png_bytes(res.images[0]), file_name=f"classvis_{target}.png",
                         mime="image/png", on_click="ignore", key="cv.dl_png")
    d[1].download_button("GIF (evolution)", res.gif_bytes(0), file_name=f"classvis_{target}.gif", mime="image/gif",
                         on_click="ignore", key="cv.dl_gif")
    d[2].download_button("PNG (this frame)", png_bytes(run.pictures[i]), file_name=f"classvis_{target}_step{pick}.png",
                         mime="image/png", on_click="ignore", key="cv.dl_frame")
else:
    status_slot.caption(f"{what} after {len(run.history) - 1} steps")
    st.download_button("GIF (evolution)", gif_bytes(run.pictures), file_name=f"classvis_{target}.gif",
                       mime="image/gif", on_click="ignore", key="cv.dl_gif")
