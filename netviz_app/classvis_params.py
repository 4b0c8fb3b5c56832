"""Class-visualization settings as URL parameters: one definition for every page that runs one.

The Class Visualization and Compare Backbones pages expose the same settings; their
ranges, the URL names and the mapping to ``ClassVisSettings`` fields live here.
New parameters carry the settings' own names (CONVENTIONS: one name per quantity).
"""

from __future__ import annotations

import streamlit as st

from netviz_core.classvis import DEFAULT_PRESET, INITS, OBJECTIVES, PRESETS
from netviz_core.optimize.parametrizations import PARAMETRIZATIONS
from netviz_core.optimize.spectrum import MAGNITUDES
from netviz_core.optimize.steps import OPTIMIZERS

from .state import Param, UrlState, log_steps

#: URL parameter -> ClassVisSettings field (the same names: CONVENTIONS.md)
FIELDS = {name: name for name in ("l2_weight", "blur_every", "blur_sigma", "jitter", "lr", "iterations", "objective",
                                  "init", "tv_weight", "parametrization", "magnitude", "optimizer", "transforms")}

#: The TV weight's steps: off, then 1e-7 ... 1e-2 (TV sums |Δ| over every pixel, so useful weights are small).
TV_WEIGHTS = (0.0, *log_steps(-7, -2))
#: λ's steps: off (the spectral presets), then 1e-6 ... 1.
L2_WEIGHTS = (0.0, *log_steps(-6, 0))


def settings_params(max_iterations: int, preset: str = DEFAULT_PRESET) -> tuple[Param, ...]:
    """The URL parameters of the settings, with ``preset``'s values as defaults."""
    base = PRESETS[preset]
    return (
        Param("l2_weight", "choice", base["l2_weight"], choices=L2_WEIGHTS, aliases=("lam",)),
        Param("blur_every", "int", base["blur_every"], lo=0, hi=50),
        Param("blur_sigma", "float", base["blur_sigma"], lo=0.0, hi=3.0),
        Param("jitter", "int", base["jitter"], lo=0, hi=32),
        Param("lr", "logfloat", base["lr"], choices=log_steps(-3, 3, (1, 2, 2.5, 5))),
        Param("iterations", "int", base["iterations"], lo=1, hi=max_iterations, aliases=("iters",)),
        Param("objective", "choice", base["objective"], choices=OBJECTIVES),
        Param("init", "choice", base["init"], choices=INITS),
        Param("seed", "int", 0, lo=0, hi=2**31 - 1),
        # weights are a "choice" among their steps, so that 0 (off) is one of them; drawn with a select slider
        Param("tv_weight", "choice", base["tv_weight"], choices=TV_WEIGHTS),
        Param("parametrization", "choice", base["parametrization"], choices=tuple(PARAMETRIZATIONS)),
        Param("magnitude", "choice", base["magnitude"], choices=MAGNITUDES),
        Param("optimizer", "choice", base["optimizer"], choices=tuple(OPTIMIZERS)),
        Param("transforms", "bool", base["transforms"]),
    )


def preset_from_url(default: str = DEFAULT_PRESET) -> str:
    """The preset a shared link names (``?preset=cs231n``), else ``default``.

    Its values are the defaults of the settings the link leaves out, so a link that names
    only a preset opens that preset, not the default preset's values under its name.
    """
    named = st.query_params.get("preset")
    return named if named in PRESETS else default


def apply_preset(state: UrlState) -> None:
    """Set every setting to the values of the preset chosen in ``state`` (nothing for 'custom')."""
    preset = state.get("preset")
    if preset in PRESETS:
        for param, field in FIELDS.items():
            state.set(param, PRESETS[preset][field])


def mark_custom(state: UrlState, custom: str = "custom") -> None:
    """Show ``custom`` as the preset once a setting differs from the chosen preset (before the preset's widget)."""
    preset = state.get("preset")
    if preset in PRESETS and any(PRESETS[preset][field] != value for field, value in settings_values(state).items()):
        state.set("preset", custom)


def settings_values(state: UrlState) -> dict:
    """The ``ClassVisSettings`` fields as the URL state holds them.

    Blur acts on pixels only, so with a spectral parametrization the blur sliders
    are shown (disabled) but not used.
    """
    values = {field: state.get(param) for param, field in FIELDS.items()}
    if values["parametrization"] != "pixel":
        values["blur_every"] = 0
    return values


def draw_settings(state: UrlState, columns) -> None:
    """The settings' widgets, dealt over ``columns`` in turn (the same on every page that runs one).

    Controls without effect are disabled: blur with a spectral parametrization (it acts on
    pixels) or with blur_every 0, the photo magnitude outside MACO.
    """
    pixels = state.get("parametrization") == "pixel"
    draws = [
        lambda c: state.log_slider("l2_weight", container=c),
        lambda c: state.slider("iterations", container=c),
        lambda c: state.log_slider("lr", container=c),
        lambda c: state.log_slider("tv_weight", container=c),
        lambda c: state.selectbox("parametrization", container=c),
        lambda c: state.selectbox("magnitude", container=c, disabled=state.get("parametrization") != "maco"),
        lambda c: state.selectbox("optimizer", container=c),
        lambda c: state.slider("jitter", container=c),
        lambda c: state.slider("blur_every", container=c, disabled=not pixels),
        lambda c: state.slider("blur_sigma", step=0.05, container=c,
                               disabled=not pixels or state.get("blur_every") == 0),
        lambda c: state.radio("objective", container=c, horizontal=True),
        lambda c: state.radio("init", container=c, horizontal=True),
        lambda c: state.number("seed", container=c, step=1),
    ]
    for i, draw in enumerate(draws):
        draw(columns[i % len(columns)])
    # A toggle's label does not wrap: at 1024 px a column is too narrow for it, so it gets the full row.
    state.toggle("transforms")
