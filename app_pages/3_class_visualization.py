"""Class Visualization: the image the model scores highest for a class, evolving live."""

from __future__ import annotations

import streamlit as st

from netviz_app import classvis_view, live, settings_ui, sidebar
from netviz_app.charts import score_curve
from netviz_app.media import gif_bytes, png_bytes
from netviz_app.models import cached_model
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core.classvis import ClassVisRun, ClassVisSettings
from netviz_core.errors import NetVizError
from netviz_core.images import to_uint8
from netviz_core.models import BUNDLED_MODELS

ctx = sidebar.page_header("Class Visualization", "I* = argmax_I S_c(I) - λ‖I‖² - λ1·TV(I), I = decode(p)  (Simonyan et al.; CS231n; "
                                                 "Lucid's Fourier parametrization and transforms; MACO).")
net = ctx.net
PREFIX = "cv"
SHOWN = settings_ui.shown(ClassVisSettings)  # every group of the settings, in the class's order

state = UrlState(PREFIX).declare(
    Param("target", "int", 76 if net.num_classes > 76 else 0, lo=0, hi=net.num_classes - 1, aliases=("cls",)),
    settings_ui.preset_param(ClassVisSettings),
    Param("held_out", "bool", False),
    *settings_ui.params(ClassVisSettings, SHOWN, preset=settings_ui.preset_from_url(ClassVisSettings)),
)


def apply_preset() -> None:
    settings_ui.apply_preset(state, ClassVisSettings)


names = net.class_names
top = st.columns([3, 2, 2])
state.class_select("target", names, container=top[0])
settings_ui.mark_custom(state, ClassVisSettings)
state.selectbox("preset", container=top[1], on_change=apply_preset)
start, stop = live.buttons(PREFIX, container=top[2], state=state)
state.toggle("held_out", container=top[2])

# The evolving image on the left, the settings beside it: with the settings open the image's top
# stays above the fold (1024x768 and up); picture sizes follow the column width.
present = sidebar.presenting()  # presentation mode: a larger picture, big class name, settings folded away
left, right = st.columns([2, 1] if present else [1, 1])
if present:  # the class name and probability in large type above the picture
    status_slot, image_slot, progress_slot = left.empty(), left.empty(), left.empty()
else:
    image_slot, progress_slot, status_slot = left.empty(), left.empty(), left.empty()
held_out_slot = left.empty()  # the other backbones' ranks of the class (the Held-out ranks toggle)
with right.expander("Settings", expanded=not present):
    settings_ui.draw(state, ClassVisSettings, SHOWN, st.columns(2))
chart_slot = right.empty()
results_slot = st.empty()  # the finished run's scrubber and downloads; empty while a run is going
state.sync(sidebar_state())

preset = state.get("preset")
try:  # mark_custom made the preset "custom" if the settings left it
    settings = ClassVisSettings.from_preset(None, **settings_ui.values(state, ClassVisSettings, SHOWN)).with_overrides(
        preset=preset if preset in ClassVisSettings.presets else None)
except NetVizError as exc:
    st.error(str(exc))
    st.stop()
target = int(state.get("target"))
config = (ctx.model_key, target, settings.to_json())
view = classvis_view.LiveView(image_slot, chart_slot, status_slot, settings.iterations, key=PREFIX,
                              headline=names[target].split(",")[0] if present else None, progress_slot=progress_slot)


def held_out_judges() -> dict:
    """The bundled backbones that are not making the picture, loaded (cached per process), by name."""
    if net.num_classes != 1000:
        held_out_slot.info("Held-out ranks need a model of the 1000 ImageNet classes.")
        return {}
    judges = {}
    for name in BUNDLED_MODELS:
        if name != net.name:
            try:
                judges[name] = cached_model(name, None)
            except NetVizError as exc:
                held_out_slot.error(str(exc))
                return {}
    return judges


def show_held_out(run) -> None:
    caption = classvis_view.held_out_caption(run)
    if caption:
        held_out_slot.caption(caption)


if live.decide(PREFIX, config, start, stop):
    try:
        job = ClassVisRun(net, [target], settings)
    except NetVizError as exc:
        st.error(str(exc))
        st.stop()
    run = live.begin(PREFIX, config, job, total=settings.iterations)
    record = classvis_view.recorder(net, settings.iterations)
    judges = held_out_judges() if state.get("held_out") else {}
    if judges:
        record = classvis_view.held_out_recorder(record, net, target, judges)

    def draw(run):
        view.draw(run)
        if judges:
            show_held_out(run)

    live.drive(run, job.frames(), record, draw, max_fps=8, on_error=NetVizError)  # the view draws the progress bar

run = live.shown(PREFIX, image_slot, "Press **Start**: the image evolves here while the optimiser runs. "
                 "With **Live** on, changing a setting restarts the run; Stop keeps the frames so far.")
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
live.progress(run, progress_slot)
show_held_out(run)
shown_target = run.config[1]  # the class of the run shown (the selector may have moved on)
results = results_slot.container()
if live.stale(run, config):
    results.warning("Made with other settings than those above: press **Start** to run them.")
steps = run.steps
pick = results.select_slider("Scrub through the saved frames (step)", options=steps, value=steps[-1],
                             key=f"{PREFIX}.scrub.{run.serial}") if len(steps) > 1 else steps[0]  # each run starts at its end
i = steps.index(pick)
classvis_view.show(image_slot, run.pictures[i], caption=f"step {pick}")
chart_slot.plotly_chart(score_curve({"S_c": [h[0] for h in run.history]}, marker_step=pick), key="cv_chart_after")
res = run.result
what = live.status_word(run)
if res is not None:
    pred = res.predictions[0]
    summary = (f"{what} after {res.steps} steps in {res.elapsed_s:.1f} s - S_c {res.scores[0]:.2f}, "
               f"P {res.probabilities[0]:.1%} (as 8-bit PNG {res.probabilities_8bit[0]:.1%}), "
               f"predicted {pred}: {names[pred]} - {res.model_label}")
    if present:
        status_slot.markdown(f"## {names[shown_target].split(',')[0]}  \nP = {res.probabilities_8bit[0]:.1%} "
                             f"(saved 8-bit image)")
        results.caption(summary)
    else:
        status_slot.caption(summary)
    d = results.columns(3)
    d[0].download_button("PNG (final image)", png_bytes(res.images[0]), file_name=f"classvis_{shown_target}.png",
                         mime="image/png", on_click="ignore", key="cv.dl_png", width="stretch")
    d[1].download_button("GIF (evolution)", res.gif_bytes(0), file_name=f"classvis_{shown_target}.gif",
                         mime="image/gif", on_click="ignore", key="cv.dl_gif", width="stretch")
    d[2].download_button("PNG (this frame)", png_bytes(run.pictures[i]),
                         file_name=f"classvis_{shown_target}_step{pick}.png", mime="image/png", on_click="ignore",
                         key="cv.dl_frame", width="stretch")
else:
    status_slot.caption(f"{what} after {len(run.history) - 1} steps")
    results.download_button("GIF (evolution)", gif_bytes(run.pictures), file_name=f"classvis_{shown_target}.gif",
                            mime="image/gif", on_click="ignore", key="cv.dl_gif")
