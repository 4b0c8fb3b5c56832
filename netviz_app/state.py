"""A page's configuration mirrored in the URL, so that a view can be bookmarked or shared.

Each page declares its parameters once (``Param`` specs with a range or choices);
``UrlState``'s widget methods (``slider``, ``selectbox``, ``class_select`` ...) draw the
Streamlit widget with its value taken, in order of precedence, from the page's own
session state (kept while the widget is not drawn, see ``UrlState._kw``), the URL
(``st.query_params``) or the default, and its label, unit and tooltip from
``params.PARAMS``.  Anything read from the URL is parsed defensively and clamped to
the widget's range: a hostile URL can neither crash the app nor ask for a million
iterations.  ``UrlState.sync`` writes the current values back to the URL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import streamlit as st

from netviz_core.settings import log_steps, parse_bool, parse_choice  # noqa: F401  (pages import log_steps from here)

from .params import spec

#: Longest query-parameter value that is even looked at.
MAX_RAW = 200


@dataclass(frozen=True)
class Param:
    """One URL-backed setting.

    kind: "int" | "float" | "logfloat" | "choice" | "bool" | "text" | "multi".
    For int/float: ``lo``/``hi`` bound the value.  A "logfloat" is one of the
    log-spaced ``choices`` (URL values snap to the nearest).  For choice/multi: ``choices``.
    """

    name: str
    kind: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    max_items: int = 3
    min_items: int = 0
    max_len: int = 80
    #: Older URL names of this parameter, still read (bookmarks made before the canonical names).
    aliases: tuple = ()
    #: Its label, unit and tooltip when they are not ``params.PARAMS``' (a declared setting's own).
    spec: Any = None

    def parse(self, raw: Any) -> Any:
        """URL text -> a valid value, or raise ValueError."""
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else ""
        text = str(raw)[:MAX_RAW].strip()
        if self.kind == "int":
            v = float(text)
            if not math.isfinite(v):
                raise ValueError(text)
            return int(min(max(round(v), self.lo), self.hi))
        if self.kind == "float":
            v = float(text)
            if not math.isfinite(v):
                raise ValueError(text)
            return float(min(max(v, self.lo), self.hi))
        if self.kind == "logfloat":  # snapped to the nearest of the log-spaced choices (0 among them: off)
            v = float(text)
            if not math.isfinite(v) or (v < 0 and 0 in self.choices):  # a negative weight is no weight: the default
                raise ValueError(text)
            positive = [c for c in self.choices if c > 0]
            if v <= 0:
                return 0.0 if 0 in self.choices else positive[0]
            return min(positive, key=lambda c: abs(math.log10(c) - math.log10(v)))
        if self.kind == "bool":
            return parse_bool(text)
        if self.kind == "choice":
            return parse_choice(text, self.choices)
        if self.kind == "multi":
            picked = []
            for part in text.split(","):
                for c in self.choices:
                    if str(c) == part.strip() and c not in picked:
                        picked.append(c)
            if len(picked) < self.min_items:
                raise ValueError(text)
            return picked[: self.max_items]
        if self.kind == "text":
            return "".join(ch for ch in text if ch.isprintable())[: self.max_len]
        raise ValueError(f"unknown kind {self.kind}")

    def dump(self, value: Any) -> str:
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "multi":
            return ",".join(str(v) for v in value)
        if self.kind in ("float", "logfloat"):
            return f"{float(value):.6g}"
        return str(value)

    def valid(self, value: Any) -> bool:
        """Whether ``value`` (e.g. live widget state) is within this parameter's range."""
        if self.kind in ("int", "float"):
            ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
            return ok_type and math.isfinite(value) and self.lo <= value <= self.hi
        if self.kind == "logfloat":
            return value in self.choices
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "choice":
            return value in self.choices
        if self.kind == "multi":
            return isinstance(value, list) and all(v in self.choices for v in value) and (
                self.min_items <= len(value) <= self.max_items)
        if self.kind == "text":
            return isinstance(value, str) and len(value) <= self.max_len
        return False


@dataclass
class UrlState:
    """The URL-backed settings of one page; ``prefix`` keeps widget keys apart between pages."""

    prefix: str
    params: dict[str, Param] = field(default_factory=dict)

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def declare(self, *params: Param) -> "UrlState":
        for p in params:
            self.params[p.name] = p
            self._seed(p)
        return self

    def _seed(self, p: Param) -> None:
        """Put the starting value in session state before the widget is drawn."""
        key = self.key(p.name)
        if key in st.session_state and p.valid(st.session_state[key]):
            return
        value = p.default
        raw = None
        for url_name in (p.name, *p.aliases):
            if url_name in st.query_params:
                raw = st.query_params.get_all(url_name)
                break
        if raw:
            try:
                value = p.parse(raw)
            except (ValueError, TypeError, OverflowError):
                value = p.default
        else:
            saved = st.session_state.get("_netviz_saved", {}).get(key)
            if saved is not None and p.valid(saved):
                value = saved
        st.session_state[key] = value

    def get(self, name: str) -> Any:
        return st.session_state[self.key(name)]

    def set(self, name: str, value: Any) -> None:
        """Set a value before its widget is drawn (e.g. from a preset's on_change callback)."""
        p = self.params[name]
        try:
            value = p.parse(p.dump(value))
        except (ValueError, TypeError, OverflowError):
            value = p.default
        st.session_state[self.key(name)] = value

    def values(self) -> dict[str, Any]:
        return {name: self.get(name) for name in self.params}

    # -- widgets -----------------------------------------------------------------
    # Every widget is keyed "<page prefix>.<name>" and drawn with persist_state="session":
    # Streamlit forgets the value of a widget that is not drawn on a run (a page that stops
    # early while the sidebar asks for an upload, a failing model, a collapsed mode) and the
    # browser then shows the widget's default while the server still holds the old value.
    # With persist_state the value is kept under the key and sent to the browser again when
    # the widget is drawn again.  Labels, units, tooltips and choice labels come from
    # ``params.PARAMS``, so every page names a parameter the same way.
    def spec(self, name: str):
        """The parameter's label, unit and tooltip: its own (a declared setting's), else the table's."""
        p = self.params.get(name)
        return p.spec if p is not None and p.spec is not None else spec(name)

    def _kw(self, name: str, kw: dict, *, choices: bool = False) -> dict:
        s = self.spec(name)
        kw.setdefault("help", s.help)
        if choices:
            kw.setdefault("format_func", s.format)
        return {"key": self.key(name), "persist_state": "session", **kw}

    def _label(self, name: str, label: str | None) -> str:
        return self.spec(name).text if label is None else label

    def slider(self, name: str, label: str | None = None, *, step=None, fmt: str | None = None, container=st, **kw):
        p = self.params[name]
        lo, hi = (int(p.lo), int(p.hi)) if p.kind == "int" else (float(p.lo), float(p.hi))
        return container.slider(self._label(name, label), lo, hi, step=step, format=fmt, **self._kw(name, kw))

    def log_slider(self, name: str, label: str | None = None, *, container=st, **kw) -> float:
        """A float picked from log-spaced steps (a ``logfloat`` Param, or a ``choice`` of steps with 0 for off)."""
        p = self.params[name]
        kw.setdefault("format_func", lambda v: "0 (off)" if v == 0 else f"{v:.0e}" if v < 0.01 or v >= 1000 else f"{v:g}")
        return container.select_slider(self._label(name, label), options=list(p.choices), **self._kw(name, kw))

    def select_slider(self, name: str, label: str | None = None, *, container=st, **kw):
        """A value from the Param's ``choices`` (e.g. a float grid that contains the default)."""
        p = self.params[name]
        return container.select_slider(self._label(name, label), options=list(p.choices), **self._kw(name, kw))

    def selectbox(self, name: str, label: str | None = None, *, container=st, **kw):
        p = self.params[name]
        return container.selectbox(self._label(name, label), list(p.choices), **self._kw(name, kw, choices=True))

    def class_select(self, name: str, class_names, label: str | None = None, *, container=st,
                     top1: str | None = None, **kw) -> int:
        """A searchable class picker over an "int" Param (``top1``: the label of the value -1, if allowed)."""
        p = self.params[name]
        options = list(range(int(p.lo), int(p.hi) + 1))

        def fmt(i: int) -> str:
            return top1 if i == -1 and top1 is not None else f"{i}: {class_names[i]}"

        kw.setdefault("format_func", fmt)
        return container.selectbox(self._label(name, label), options, **self._kw(name, kw))

    def radio(self, name: str, label: str | None = None, *, container=st, **kw):
        p = self.params[name]
        return container.radio(self._label(name, label), list(p.choices), **self._kw(name, kw, choices=True))

    def multiselect(self, name: str, label: str | None = None, *, container=st, **kw):
        p = self.params[name]
        return container.multiselect(self._label(name, label), list(p.choices), max_selections=p.max_items,
                                     **self._kw(name, kw, choices=True))

    def toggle(self, name: str, label: str | None = None, *, container=st, **kw) -> bool:
        return container.toggle(self._label(name, label), **self._kw(name, kw))

    def number(self, name: str, label: str | None = None, *, container=st, step=None, fmt: str | None = None, **kw):
        p = self.params[name]
        lo, hi = (int(p.lo), int(p.hi)) if p.kind == "int" else (float(p.lo), float(p.hi))
        return container.number_input(self._label(name, label), lo, hi, step=step, format=fmt, **self._kw(name, kw))

    def text(self, name: str, label: str | None = None, *, container=st, **kw) -> str:
        p = self.params[name]
        return container.text_input(self._label(name, label), max_chars=p.max_len, **self._kw(name, kw))

    def follow(self, name: str, dependency: Any) -> None:
        """Reset ``name`` to its default when ``dependency`` changed since the last run (before its widget).

        E.g. a class picked for one image is not carried over to the next image.
        """
        seen_key = self.key(name) + ".follows"
        if seen_key in st.session_state and st.session_state[seen_key] != dependency:
            st.session_state[self.key(name)] = self.params[name].default
        st.session_state[seen_key] = dependency

    # -- URL ----------------------------------------------------------------------
    def sync(self, extra: "UrlState | Sequence[UrlState]" = ()) -> None:
        """Write this page's values (and ``extra`` states', e.g. the sidebar's) to the URL."""
        states = [self, *([extra] if isinstance(extra, UrlState) else extra)]
        wanted: dict[str, str] = {}
        saved = st.session_state.setdefault("_netviz_saved", {})
        for s in states:
            for name, p in s.params.items():
                value = s.get(name)
                saved[s.key(name)] = value
                wanted[name] = p.dump(value)
        current = {k: st.query_params.get(k) for k in st.query_params}
        if current != wanted:
            st.query_params.from_dict(wanted)


def sidebar_state() -> UrlState | None:
    """The sidebar's UrlState of this run (set by ``sidebar.draw``)."""
    return st.session_state.get("_netviz_sidebar_state")
