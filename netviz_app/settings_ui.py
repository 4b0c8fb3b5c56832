"""A technique's settings on a page, made from their declarations (``netviz_core.settings``).

A page says which settings class it runs and which of its groups it shows; the URL
parameters (names, older aliases, ranges, defaults), the widgets (kind, range, steps,
label, unit, tooltip, disabled-when) and the values handed back to the library all come
from the class's declarations, and its presets from ``cls.presets``.  Nothing here or on
a page repeats a setting's range, label or rules.
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any, Iterable, Sequence

import streamlit as st

from netviz_core.settings import DEFAULT, Setting, declarations

from .params import Spec
from .state import Param, UrlState

CUSTOM = "custom"


def spec_of(decl: Setting) -> Spec:
    """How a declared setting is shown: its label, tooltip, unit and choice labels."""
    return Spec(decl.title, decl.help, decl.unit, dict(decl.choice_labels))


def shown(cls, groups: Iterable[str] | None = None) -> tuple[str, ...]:
    """The URL settings of ``cls`` in ``groups``, in the class's order; ``None``: every group, then every other
    URL setting (so that a new field is on the page without another edit)."""
    decls = declarations(cls)
    wanted = [n for group, names in cls.groups if groups is None or group in groups for n in names]
    if groups is None:
        wanted += [n for n in decls if n not in wanted]
    return tuple(n for n in wanted if decls[n].url)


def ungrouped(cls) -> tuple[str, ...]:
    """The URL settings of ``cls`` in none of its groups (a field added without a place: shown by itself)."""
    return tuple(n for n in shown(cls) if n not in shown(cls, [g for g, _ in cls.groups]))


def param(decl: Setting, default: Any = DEFAULT) -> Param:
    """The URL parameter of a declared setting: its name, older names, kind, range or grid."""
    value = decl.default if default is DEFAULT else default
    common = dict(aliases=tuple(decl.aliases), spec=spec_of(decl))
    if decl.kind == "bool":
        return Param(decl.name, "bool", value, **common)
    if decl.kind == "choice":
        return Param(decl.name, "choice", value, choices=tuple(decl.choices), **common)
    if decl.kind in ("int", "float") and decl.steps:
        return Param(decl.name, "logfloat", value, choices=tuple(decl.steps), **common)
    if decl.kind in ("int", "float"):
        return Param(decl.name, decl.kind, value, lo=decl.lo, hi=decl.hi, **common)
    return Param(decl.name, "text", value, **common)


def params(cls, names: Sequence[str], *, preset: str | None = None, defaults: dict | None = None) -> tuple[Param, ...]:
    """The URL parameters of ``names``, with ``preset``'s values (else the field defaults, else ``defaults``)."""
    decls = declarations(cls)
    base = dict(cls.presets[preset]) if preset is not None else {}
    base.update(defaults or {})
    return tuple(param(decls[n], base.get(n, DEFAULT)) for n in names)


def widget(state: UrlState, decl: Setting, container, disabled: bool = False):
    """Draw the widget of a declared setting (its kind from the declaration)."""
    kind = decl.widget or ("toggle" if decl.kind == "bool" else "selectbox" if decl.kind == "choice"
                           else "select_slider" if decl.steps else "slider")
    if kind == "toggle":
        return state.toggle(decl.name, container=container, disabled=disabled)
    if kind == "radio":
        return state.radio(decl.name, container=container, horizontal=True, disabled=disabled)
    if kind == "selectbox":
        return state.selectbox(decl.name, container=container, disabled=disabled)
    if kind == "select_slider":
        return state.log_slider(decl.name, container=container, disabled=disabled)
    if kind == "number":
        return state.number(decl.name, container=container, step=1 if decl.kind == "int" else decl.step,
                            disabled=disabled)
    return state.slider(decl.name, container=container, step=decl.step, disabled=disabled)


def current(state: UrlState, cls) -> ChainMap:
    """The page's values of ``cls``'s settings, over the field defaults of those it does not show."""
    return ChainMap({n: state.get(n) for n in declarations(cls) if n in state.params},
                    {n: d.default for n, d in declarations(cls).items()})


def draw(state: UrlState, cls, names: Sequence[str], columns: Sequence | None = None, *, container=None) -> None:
    """The widgets of ``names``, dealt over ``columns`` in turn (or all in ``container``).

    A setting without effect under the current values (``enabled_if``) is drawn disabled.
    Toggles come last, each on a full row: a toggle's label does not wrap, and at 1024 px a
    column is too narrow for it.
    """
    decls = declarations(cls)
    values = current(state, cls)
    toggles = [n for n in names if (decls[n].widget or ("toggle" if decls[n].kind == "bool" else "")) == "toggle"]
    others = [n for n in names if n not in toggles]
    for i, name in enumerate(others):
        where = columns[i % len(columns)] if columns else (container or st)
        widget(state, decls[name], where, disabled=not decls[name].enabled(values))
    for name in toggles:
        widget(state, decls[name], container or st, disabled=not decls[name].enabled(values))


def values(state: UrlState, cls, names: Sequence[str] | None = None) -> dict[str, Any]:
    """The settings the page's widgets hold, by name; a disabled one gives its ``off`` value (or its default),
    so that a control without effect can neither break nor restart a run."""
    decls = declarations(cls)
    names = [n for n in decls if n in state.params] if names is None else names
    now = current(state, cls)
    out = {}
    for n in names:
        d = decls[n]
        if d.enabled(now):
            out[n] = state.get(n)
        else:
            out[n] = state.params[n].default if d.off is DEFAULT else d.off
    return out


# --------------------------------------------------------------------------- presets


def preset_spec(cls) -> Spec:
    presets = cls.presets
    lines = "; ".join(f"{name}{' (default)' if name == presets.default else ''}: {presets.help[name]}"
                      for name in presets)
    return Spec("Paper preset", f"{lines}. Shows custom once a setting differs from the preset.",
                choices={**{n: n for n in presets}, CUSTOM: CUSTOM})


def preset_from_url(cls) -> str:
    """The preset a shared link names (``?preset=cs231n``), else the default one.

    Its values are the defaults of the settings the link leaves out, so a link that names
    only a preset opens that preset, not the default preset's values under its name.
    """
    named = st.query_params.get("preset")
    return named if named in cls.presets else cls.presets.default


def preset_param(cls, *, custom: bool = True) -> Param:
    presets = cls.presets
    return Param("preset", "choice", presets.default, choices=(*presets, *((CUSTOM,) if custom else ())),
                 spec=preset_spec(cls))


def apply_preset(state: UrlState, cls) -> None:
    """Set every shown setting to the value of the preset chosen in ``state`` (nothing for 'custom')."""
    preset = state.get("preset")
    if preset in cls.presets:
        for name in declarations(cls):
            if name in state.params and name in cls.presets[preset]:
                state.set(name, cls.presets[preset][name])


def mark_custom(state: UrlState, cls) -> None:
    """Show 'custom' as the preset once a setting differs from the chosen preset (before the preset's widget)."""
    preset = state.get("preset")
    if preset not in cls.presets:
        return
    chosen = cls.presets[preset]
    now = current(state, cls)
    # Only a setting in effect counts: a disabled one has no effect (its widget may hold the default preset's value).
    if any(name in chosen and name in state.params and decl.enabled(now) and chosen[name] != now[name]
           for name, decl in declarations(cls).items()):
        state.set("preset", CUSTOM)
