"""Layer Explorer: what a layer's channels respond to, rendered live; one channel in detail."""

from __future__ import annotations

import streamlit as st

from netviz_app import live, settings_ui, sidebar
from netviz_app.media import jpeg_bytes
from netviz_app.state import Param, UrlState, sidebar_state
from netviz_core import layer_explorer as le
from netviz_core.classvis import ClassVisSettings
from netviz_core.errors import NetVizError
from netviz_core.images import preprocess, to_uint8
from netviz_core.layers import list_layers

ctx = sidebar.page_header("Layer Explorer", "What each channel of a layer responds to: the image that raises its "
                          "mean activation (Olah et al. 2017), diverse facets, the centre neuron, the photos that "
                          "excite it most, and feature accentuation of the current photo (Hamblin et al. 2024).")
net = ctx.net
PREFIX, DETAIL = "lx", "lxd"
GRID_WIDTH = 180  # px per picture: 3 per row at 1024 px beside the sidebar, 4 in presentation mode

try:
    layers = list_layers(net, feature_maps_only=True)
except NetVizError as exc:
    st.error(str(exc))
    st.stop()
if not layers:
    st.error(f"{net.name} has no layer whose output is a feature map.")
    st.stop()
infos = {i.name: i for i in layers}
SHOWN = settings_ui.shown(le.FeatureVisSettings, ("settings",))  # the optimisation comes from the preset
middle = layers[len(layers) // 2].name
state = UrlState(PREFIX).declare(
    Param("layer", "choice", middle, choices=tuple(infos)),
    Param("show", "choice", "first", choices=("first", "active")),
    Param("first_channel", "int", 0, lo=0, hi=8191),
    Param("count", "int", 8, lo=1, hi=16),
    Param("channel", "int", 0, lo=0, hi=8191),
    settings_ui.preset_param(ClassVisSettings, custom=False),
    # a grid of channels is rendered together: fewer steps than the preset's by default
    *settings_ui.params(le.FeatureVisSettings, SHOWN, defaults={"iterations": 64}),
)

top = st.columns([3, 2, 2])
state.selectbox("layer", container=top[0], format_func=lambda n: infos[n].label)
state.selectbox("preset", container=top[1])
start, stop = live.buttons(PREFIX, container=top[2], state=state)
info = infos[state.get("layer")]
with st.expander("Settings", expanded=False):
    cols = st.columns(3)
    state.radio("show", container=cols[0], horizontal=True)
    state.number("first_channel", container=cols[0], step=1)
    state.slider("count", container=cols[1])
    settings_ui.draw(state, le.FeatureVisSettings, SHOWN, cols[1:])
state.sync(sidebar_state())


def grid_channels() -> list[int]:
    """The first k channels from ``first_channel``, or the k most active on the current photo."""
    k = min(int(state.get("count")), info.channels)
    if state.get("show") == "active" and ctx.image is not None:
        return le.most_active_channels(net, info.name, preprocess(net, ctx.image), k)
    first = min(int(state.get("first_channel")), info.channels - k)
    return list(range(first, first + k))


def common_settings() -> dict:
    """The preset and the shown settings a whole grid shares (the facets and the photo distance are the detail's)."""
    chosen = settings_ui.values(state, le.FeatureVisSettings, SHOWN)
    return dict(preset=state.get("preset"), iterations=chosen["iterations"], seed=chosen["seed"])


def record(run: live.LiveRun, frames) -> None:
    """Keep only the latest pictures of each run of the batch (a grid is redrawn whole)."""
    frames = frames.frames if isinstance(frames, live.Lockstep) else (frames,)
    run.steps = [frames[0].step]
    run.pictures = [to_uint8(net, f.images) for f in frames]
    run.history.append([f.scores.tolist() for f in frames])


def draw_grid(slot, pictures, captions) -> None:
    slot.image([jpeg_bytes(p) for p in pictures], caption=captions, width=GRID_WIDTH)


# --------------------------------------------------------------------------- the grid

try:
    channels = grid_channels()
    grid_settings = le.settings_for(layer=info.name, channels=tuple(channels), **common_settings())
except NetVizError as exc:
    st.error(str(exc))
    st.stop()
st.subheader(f"{info.label}: channels {', '.join(map(str, channels))}")
grid_slot, grid_progress = st.empty(), st.empty()
config = (ctx.model_key, grid_settings.to_json())

if live.decide(PREFIX, config, start, stop):
    try:
        job = le.FeatureVisRun(net, grid_settings)
    except NetVizError as exc:
        st.error(str(exc))
        st.stop()
    run = live.begin(PREFIX, config, job, total=grid_settings.iterations)
    live.drive(run, job.frames(), record,
               lambda r: draw_grid(grid_slot, r.pictures[0], [f"ch {c}" for c in r.job.settings.channels]),
               max_fps=4, on_error=NetVizError, progress_slot=grid_progress)

grid_run = live.current(PREFIX)
if grid_run is None:
    grid_slot.info("Press **Start**: the layer's channels appear here while the optimiser runs "
                   "(one batch, the recognisable lucid preset by default).")
else:
    if grid_run.error:
        st.error(grid_run.error)
    if grid_run.pictures:
        shown = grid_run.job.settings.channels
        values = grid_run.history[-1][0] if grid_run.history else [float("nan")] * len(shown)
        draw_grid(grid_slot, grid_run.pictures[0], [f"ch {c} · {v:.2f}" for c, v in zip(shown, values)])
        live.progress(grid_run, grid_progress)
        if live.stale(grid_run, config):
            st.warning("The grid was made with other settings than those above: press **Start** to run them.")

# --------------------------------------------------------------------------- one channel in detail

st.divider()
head = st.columns([3, 2])
state.number("channel", container=head[0], step=1)
head[0].caption(f"{info.name} has channels 0-{info.channels - 1}.")
d_start, d_stop = live.buttons(DETAIL, container=head[1], start_label="Start detail")
channel = int(state.get("channel"))
try:
    info.check_channel(channel)
except NetVizError as exc:
    st.error(str(exc))
    st.stop()
base = dict(layer=info.name, channels=(channel,), **common_settings())
try:
    chosen = settings_ui.values(state, le.FeatureVisSettings, SHOWN)
    facet_settings = le.settings_for(diversity=4, diversity_weight=chosen["diversity_weight"], **base)
    neuron_settings = le.settings_for(objective="neuron", **base)
    accent_settings = le.settings_for(distance_weight=chosen["distance_weight"], **base)
except NetVizError as exc:
    st.error(str(exc))
    st.stop()
facet_slot = st.empty()
row = st.columns(2)
neuron_slot, accent_slot = row[0].empty(), row[1].empty()
detail_progress = st.empty()
d_config = (ctx.model_key, ctx.image_key, facet_settings.to_json(), accent_settings.to_json())


def draw_detail(run: live.LiveRun) -> None:
    facets, neuron, *accent = run.pictures
    facet_slot.image([jpeg_bytes(p) for p in facets], caption=[f"facet {i + 1}" for i in range(len(facets))],
                     width=GRID_WIDTH)
    neuron_slot.image(jpeg_bytes(neuron[0]), caption=f"neuron {channel} at the centre", width=GRID_WIDTH)
    if accent:
        accent_slot.image(jpeg_bytes(accent[0][0]), caption=f"the photo, channel {channel} accentuated",
                          width=GRID_WIDTH)


if live.decide(DETAIL, d_config, d_start, d_stop):
    try:
        jobs = [le.FeatureVisRun(net, facet_settings), le.FeatureVisRun(net, neuron_settings)]
        if ctx.image is not None:
            jobs.append(le.FeatureVisRun(net, accent_settings, photo=ctx.image))
    except NetVizError as exc:
        st.error(str(exc))
        st.stop()
    run = live.begin(DETAIL, d_config, jobs, total=facet_settings.iterations)
    live.drive(run, live.lockstep(*(j.frames() for j in jobs)), record, draw_detail, max_fps=4,
               on_error=NetVizError, progress_slot=detail_progress)

detail_run = live.current(DETAIL)
if detail_run is None:
    facet_slot.info(f"Press **Start detail**: 4 diverse facets of channel {channel}, its centre neuron and the "
                    "accentuation of the sidebar's photo appear here.")
else:
    if detail_run.error:
        st.error(detail_run.error)
    if detail_run.pictures:
        draw_detail(detail_run)
        live.progress(detail_run, detail_progress)
        if live.stale(detail_run, d_config):
            st.warning("The detail was made with other settings than those above: press **Start detail**.")

# Ranked examples need no optimisation: the sample photos (and an uploaded one) through the layer, cached.
photos = le.folder_photos(sidebar.ASSETS)
if ctx.image is not None and ctx.image_name not in dict(photos):
    photos.append((ctx.image_name or "upload", ctx.image))
try:
    examples = le.ranked_examples(net, info.name, channel, photos, top=4)
except NetVizError as exc:
    st.error(str(exc))
else:
    st.markdown(f"**The photos that excite channel {channel} most** (mean activation; the map over each)")
    st.image([jpeg_bytes(e.overlay) for e in examples], caption=[f"{e.name} · {e.activation:.2f}" for e in examples],
             width=GRID_WIDTH)
