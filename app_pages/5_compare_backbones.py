"""Compare Backbones: the same class visualization (class, seed, settings) on 2-3 models, live, side by side."""

from __future__ import annotations

import streamlit as st

from netviz_app import classvis_view, live, settings_ui, sidebar
from netviz_app.charts import matrix, score_curve
from netviz_app.media import as_pil, png_bytes
from netviz_app.models import cached_model
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core.classvis import ClassVisRun, ClassVisSettings, transfer_scores
from netviz_core.errors import NetVizError
from netviz_core.images import to_uint8
from netviz_core.models import BUNDLED_MODELS

st.title("Compare Backbones")
st.caption("One class visualization (same class, seed and settings) on several models at once, and the transfer "
           "matrix: does the image made for one model convince the others?")
ctx = sidebar.context()
PREFIX = "cmp"
SIDEBAR_MODEL = "(sidebar model)"
choices = (*BUNDLED_MODELS, SIDEBAR_MODEL)
SHOWN = settings_ui.shown(ClassVisSettings)
state = UrlState(PREFIX).declare(
    Param("models", "multi", list(BUNDLED_MODELS[:2]), choices=choices, min_items=1, max_items=3),
    Param("target", "int", 76, lo=0, hi=999, aliases=("cls",)),
    settings_ui.preset_param(ClassVisSettings),
    *settings_ui.params(ClassVisSettings, SHOWN, preset=settings_ui.preset_from_url(ClassVisSettings)),
)


def apply_preset() -> None:
    settings_ui.apply_preset(state, ClassVisSettings)


# ImageNet class names: every bundled backbone has the same 1000 classes.
from netviz_core.classes import imagenet_class_names  # noqa: E402

names = imagenet_class_names()
state.multiselect("models")  # a row of its own: three model names fit without cutting them
top = st.columns([3, 2])
state.class_select("target", names, container=top[0])
start, stop = live.buttons(PREFIX, container=top[1], state=state)
with st.expander("Settings (the same for every model)", expanded=False):
    settings_ui.mark_custom(state, ClassVisSettings)
    state.selectbox("preset", on_change=apply_preset, width=320)
    settings_ui.draw(state, ClassVisSettings, SHOWN, st.columns(4))
state.sync(sidebar_state())

picked = list(state.get("models"))
if len(picked) < 2:
    st.info("Choose at least two models.")
nets, keys = {}, {}
for name in picked:
    if name == SIDEBAR_MODEL:
        if ctx.net is None:
            st.error("The sidebar has no model loaded.")
            continue
        label, net, key = f"{ctx.net.name} (sidebar)", ctx.net, ctx.model_key
    else:
        try:
            label, net, key = name, cached_model(name, None), f"{name}|None"
        except NetVizError as exc:
            st.error(str(exc))
            continue
    if net.num_classes != 1000:
        st.error(f"{net.label} has {net.num_classes} classes, not the 1000 ImageNet classes; it cannot be compared.")
        continue
    nets[label], keys[label] = net, key
if len(nets) < 2:
    st.stop()

target = int(state.get("target"))
try:
    settings = ClassVisSettings.from_preset(None, **settings_ui.values(state, ClassVisSettings, SHOWN))
except NetVizError as exc:
    st.error(str(exc))
    st.stop()
labels = list(nets)
config = (tuple(keys[label] for label in labels), target, settings.to_json())
st.caption(f"**{target}: {names[target]}** - " + "; ".join(net.label for net in nets.values()))
cols = st.columns(len(labels))
slots = {label: col.empty() for label, col in zip(labels, cols)}
captions = {label: col.empty() for label, col in zip(labels, cols)}
progress_slot, status_slot, results_slot = st.empty(), st.empty(), st.empty()
DISPLAY = 300  # upscaled with nearest neighbours, then shown at the column's width


def draw(run: live.LiveRun) -> None:
    for label, pic, (s, p) in zip(labels, run.pictures[-1], run.history[-1]):
        classvis_view.show(slots[label], pic, size=DISPLAY)
        captions[label].caption(f"**{label}**: step {len(run.history) - 1}, S_c {s:.2f}, P {p:.1%}")


if live.decide(PREFIX, config, start, stop):
    try:
        jobs = [ClassVisRun(nets[label], [target], settings) for label in labels]
    except NetVizError as exc:
        st.error(str(exc))
        st.stop()
    run = live.begin(PREFIX, config, jobs, total=settings.iterations)

    def record(run: live.LiveRun, step) -> None:
        run.history.append(tuple((float(f.scores[0]), float(f.probabilities[0])) for f in step.frames))
        run.pictures[:] = [[to_uint8(nets[label], f.images[:1])[0] for label, f in zip(labels, step.frames)]]

    live.drive(run, live.lockstep(*(job.frames() for job in jobs)), record, draw, max_fps=6, on_error=NetVizError,
               progress_slot=progress_slot)

run = live.shown(PREFIX, slots[labels[0]], "Press **Start**: every model runs the same class visualization, side by side, live.",
                 made_for=lambda run: run.config[0] == config[0])
draw(run)
live.progress(run, progress_slot)
what = live.status_word(run)
status_slot.caption(f"{what} after {len(run.history) - 1} steps")
results = results_slot.container()
if live.stale(run, config):
    results.warning("Made with other settings than those above: press **Start** to run them.")
run_target = run.config[1]
results.plotly_chart(
    score_curve({label: [h[i][0] for h in run.history] for i, label in enumerate(labels)}, title="class score S_c"),
    key="cmp_chart")

# The transfer matrix: P(target) that each model gives each model's saved 8-bit picture.
if run.result is None:
    pictures = [as_pil(p) for p in run.pictures[-1]]
    scores = transfer_scores(pictures, [run_target] * len(pictures), nets)  # scorer -> P(target) of each picture
    # result[i][j]: the picture made for model i, scored by model j
    run.result = [[scores[scorer][i] for scorer in labels] for i in range(len(pictures))]
results.plotly_chart(matrix(run.result, labels, labels, title=f"Transfer matrix: P({names[run_target].split(',')[0]})"),
                     key="cmp_matrix")
results.caption("Transfer matrix: row = the model the image was made for, column = the model that scores it "
                "(the saved 8-bit picture, preprocessed for that model).")
d = results.container(horizontal=True)  # wraps on a narrow screen
for label, pic in zip(labels, run.pictures[-1]):
    d.download_button(f"PNG ({label})", png_bytes(pic), file_name=f"compare_{label.split()[0]}_{run_target}.png",
                      mime="image/png", on_click="ignore", key=f"cmp.dl_{label}")
