"""Every technique's settings: one declaration per setting, and what is made from it.

A technique's settings are a frozen dataclass that mixes in ``JsonSettings``.  Each
field a person can set is declared once with ``setting``: its default, its range or
choices, unit, the one-line help a person reads, the paper's symbol; rules between
fields are ``Rule``s on the class::

    @dataclass(frozen=True)
    class FoolingSettings(JsonSettings):
        error: ClassVar[type[NetVizError]] = FoolingError
        what: ClassVar[str] = "fooling settings"
        iterations: int = setting(100, like=ITERATIONS, lo=0, hi=2000)
        ...

From the declarations come validation (``validate``: a message that names the setting
and its range), the CLI's flags (``netviz_core.cli.common.add_settings_arguments``),
the dashboard's URL parameters and widgets (``netviz_app.settings_ui``), and the JSON
round trip (``to_json``/``from_json``).  Presets are data (``Presets``): named partial
settings, listed once.  This module imports nothing of the engine and no front end.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from typing import Any, Callable, ClassVar, Iterable, Mapping, TypeVar

from .errors import NetVizError

S = TypeVar("S", bound="JsonSettings")

#: The ``off`` of a setting that keeps its default while it is disabled.
DEFAULT = "__default__"


@dataclass(frozen=True, eq=False)
class Setting:
    """How one setting is declared: everything a validator, a CLI flag, a URL parameter and a widget need.

    ``label`` is the widget's words (``symbol`` goes in front: "λ (L2 weight)"), ``unit``
    follows in brackets; ``short`` names it where space is tight (a contact sheet's axis:
    ``brief`` falls back to the symbol, then the label).  Numbers take ``lo``/``hi`` (inclusive) or, for settings shown
    nowhere, a strict lower bound ``above``; ``steps`` is a widget's grid within them
    (log-spaced weights; URL values snap to it), ``step`` a slider's step.  ``choices``
    are the allowed values (``choice_labels`` their words).  ``optional``: None is
    allowed too; ``many``: a tuple of such values is too (a seed per target).
    ``enabled_if(values)`` says when the setting has an effect (a widget is disabled
    otherwise, and the value ``off`` is used; ``DEFAULT``: the default).  ``aliases``
    are older URL names, ``flags`` more CLI flags (``-n``).  ``cli``/``url``: whether
    it is a flag / a URL parameter and widget at all; ``in_presets``: whether presets set it (not a
    seed).  ``name``, ``kind`` and
    ``default`` are filled in from the dataclass field (``declarations``).
    """

    help: str = ""
    label: str = ""
    symbol: str = ""
    short: str = ""
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    above: float | None = None
    choices: tuple = ()
    choice_labels: Mapping[Any, str] = field(default_factory=dict)
    optional: bool = False
    many: bool = False
    steps: tuple = ()
    step: float | None = None
    widget: str = ""
    enabled_if: Callable[[Mapping[str, Any]], bool] | None = None
    off: Any = DEFAULT
    aliases: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    cli: bool = True
    url: bool = True
    in_presets: bool = True
    name: str = ""
    kind: str = ""
    default: Any = None

    # ------------------------------------------------------------------ words
    @property
    def title(self) -> str:
        """The widget label without the unit: "λ (L2 weight)"."""
        if self.symbol and self.label and not self._says_symbol:
            return f"{self.symbol} ({self.label})"
        return self.label or self.symbol or self.name

    @property
    def brief(self) -> str:
        """A few characters for a tight space (a contact sheet's axis): ``short``, else the symbol, else the label."""
        return self.short or self.symbol or self.label.lower() or self.name

    @property
    def text(self) -> str:
        """The widget label: symbol (label) [unit]."""
        return f"{self.title} [{self.unit}]" if self.unit else self.title

    @property
    def words(self) -> str:
        """The setting in a sentence: its name, then the symbol and label a person reads where they add something."""
        label = self.label
        if label and not label[:2].isupper():
            label = label[0].lower() + label[1:]
        said = label if self._says_symbol else ", ".join(x for x in (self.symbol, label) if x)
        return self.name if not said or said.replace(" ", "_").lower() == self.name else f"{self.name} ({said})"

    @property
    def _says_symbol(self) -> bool:
        return bool(self.symbol) and f" {self.symbol} " in f" {self.label} "

    def choice_text(self, value) -> str:
        return str(self.choice_labels.get(value, value))

    # ------------------------------------------------------------------ range
    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(lo, hi) of a number: what the validation, the CLI and the widget accept."""
        return self.lo, self.hi

    def range_text(self) -> str:
        """The allowed values in words: 'a whole number from 0 to 50', 'one of: a, b'."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of: " + ", ".join(map(str, self.choices))
        if self.kind == "text":
            return "a text"
        if self.kind not in ("int", "float"):
            return "a value"
        what = "a whole number" if self.kind == "int" else "a finite number"
        noun = {"px": "pixels", "steps": "steps"}.get(self.unit)
        if noun:
            what += f" of {noun}"
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            text = f"{what} from {_num(lo)} to {_num(hi)}"
        elif lo is not None:
            text = f"{what}, {_num(lo)} or more"
        elif self.above is not None:
            text = f"{what} above {_num(self.above)}"
        elif hi is not None:
            text = f"{what}, at most {_num(hi)}"
        else:
            text = what
        if self.unit and not noun:
            text += f" ({self.unit})"
        if self.optional:
            text += ", or none"
        return text

    def problem(self, value) -> str | None:
        """Why ``value`` is not allowed (a sentence naming the setting and its range), or None."""
        if value is None and self.optional:
            return None
        if self.many and isinstance(value, (tuple, list)):
            for v in value:
                if self._bad(v):
                    return f"{self.words}: every value must be {self.range_text()}; got {list(value)!r}."
            return None
        if self._bad(value):
            if self.kind == "choice":
                return f"Unknown {self.words} {value!r}; choose one of: {', '.join(map(str, self.choices))}."
            return f"{self.words} must be {self.range_text()}; got {value!r}."
        return None

    def _bad(self, v) -> bool:
        k = self.kind
        if k == "bool":
            return not isinstance(v, bool)
        if k == "choice":
            return v not in self.choices
        if k == "text":
            return not isinstance(v, str)
        if k == "int" and not is_whole_number(v):
            return True
        if k == "float" and not is_finite_number(v):
            return True
        if k in ("int", "float"):
            return ((self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi)
                    or (self.above is not None and v <= self.above))
        return False

    def parse(self, text: str):
        """A CLI/URL word -> a value of this setting (ValueError when it is not one; the range is not checked)."""
        text = str(text).strip()
        if self.optional and text.lower() in ("none", "null", ""):
            return None
        if self.kind == "bool":
            return parse_bool(text)
        if self.kind == "int":
            v = float(text)
            if not v.is_integer():
                raise ValueError(text)
            return int(v)
        if self.kind == "float":
            return float(text)
        if self.kind == "choice":
            return parse_choice(text, self.choices)
        return text

    def enabled(self, values: Mapping[str, Any]) -> bool:
        return self.enabled_if is None or bool(self.enabled_if(values))

    def but(self, **changes) -> "Setting":
        return replace(self, **changes)


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def setting(default: Any, *, like: Setting | None = None, **declared) -> Any:
    """A dataclass field with its declaration (``Setting``'s arguments; ``like``: a shared text to start from)."""
    decl = (like or Setting()).but(**declared)
    return field(default=default, metadata={"setting": decl})


def _kind(decl: Setting, f: Field) -> str:
    if decl.choices:
        return "choice"
    t = str(f.type).replace(" ", "").replace("|None", "").replace("None|", "")
    for k in ("bool", "int", "float"):
        if t.startswith(k):
            return k
    return "text" if t.startswith("str") else "any"


_CACHE: dict[type, dict[str, Setting]] = {}


def declarations(cls) -> dict[str, Setting]:
    """name -> the complete declaration of every declared field of the settings class ``cls``, in field order."""
    cls = cls if isinstance(cls, type) else type(cls)
    if cls not in _CACHE:
        out = {}
        for f in fields(cls):
            decl = f.metadata.get("setting")
            if decl is None:
                continue
            default = f.default if f.default is not MISSING else None
            out[f.name] = decl.but(name=f.name, kind=decl.kind or _kind(decl, f), default=default)
        _CACHE[cls] = out
    return _CACHE[cls]


@dataclass(frozen=True)
class Rule:
    """A rule between fields: ``holds(settings)`` must be true, else ``message`` (``str.format`` with the
    fields; or a function of the settings)."""

    holds: Callable[[Any], bool]
    message: str | Callable[[Any], str]


def validate(s) -> None:
    """Raise ``s.error`` for the first declared setting out of its range, then for the first broken rule."""
    for name, decl in declarations(s).items():
        problem = decl.problem(getattr(s, name))
        if problem:
            raise s.error(problem)
    for rule in type(s).rules:
        if not rule.holds(s):
            if callable(rule.message):
                raise s.error(rule.message(s))
            raise s.error(rule.message.format(**{f.name: getattr(s, f.name) for f in fields(s)}))


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    """A named partial settings value: the values it sets and one line about it."""

    name: str
    help: str
    values: Mapping[str, Any]


class Presets(dict):
    """name -> a preset's values, in the order listed; ``help[name]``, ``default``, ``own[name]``.

    A preset lists only the values it sets (``own``); once ``bind``-ed to its settings
    class, ``PRESETS[name]`` holds every declared setting (those it leaves out at their
    field defaults), so that switching presets sets everything.  The CLI's ``--preset``,
    the URL's ``?preset=``, the dashboard's preset picker and the README's preset table
    are all made from this one list.
    """

    def __init__(self, *presets: Preset, default: str):
        super().__init__((p.name, dict(p.values)) for p in presets)
        self.own = {p.name: dict(p.values) for p in presets}
        self.help = {p.name: p.help for p in presets}
        self.default = default
        if default not in self:
            raise ValueError(f"the default preset {default!r} is not among {', '.join(self)}")

    def bind(self, cls) -> None:
        """Complete every preset with ``cls``'s field defaults and check it builds valid settings."""
        decls = {n: d for n, d in declarations(cls).items() if d.in_presets and n != "preset"}
        for name, own in self.own.items():
            unknown = sorted(set(own) - set(decls))
            if unknown:
                raise ValueError(f"preset {name!r} sets {', '.join(unknown)}, which {cls.__name__} does not declare")
            self[name] = {**{n: d.default for n, d in decls.items()}, **own}
            cls(**self[name])  # a preset out of range fails at import, not in front of an audience

    def markdown(self) -> str:
        """The README's table of the presets."""
        rows = ["| preset | what it is |", "|---|---|"]
        rows += [f"| `{name}`{' (default)' if name == self.default else ''} | {self.help[name]} |" for name in self]
        return "\n".join(rows)


# --------------------------------------------------------------------------- the mixin


class JsonSettings:
    """JSON round trip, keyword overrides and declared validation for a frozen settings dataclass."""

    error: ClassVar[type[NetVizError]] = NetVizError
    what: ClassVar[str] = "settings"
    #: Rules between fields, checked after every field is in range.
    rules: ClassVar[tuple[Rule, ...]] = ()
    #: Named partial settings (None: the technique has none).
    presets: ClassVar[Presets | None] = None
    #: Groups of settings in the order a page shows them: ((group, (name, ...)), ...).
    groups: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = ()

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def check_names(cls, names) -> None:
        """Raise ``cls.error`` naming every one of ``names`` that is not a setting."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(names) - known)
        if unknown:
            raise cls.error(f"Unknown {cls.what}: {', '.join(unknown)} (known: {', '.join(sorted(known))}).")

    @classmethod
    def from_dict(cls: type[S], d: dict) -> S:
        if not isinstance(d, dict):
            raise cls.error(f"{cls.what.capitalize()} must be a JSON object, got {type(d).__name__}.")
        cls.check_names(d)
        return cls(**d)

    @classmethod
    def from_json(cls: type[S], text: str) -> S:
        try:
            d = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise cls.error(f"{cls.what.capitalize()} are not valid JSON: {exc}") from None
        return cls.from_dict(d)

    @classmethod
    def from_preset(cls: type[S], preset: str | None = None, **overrides: Any) -> S:
        """The settings of a named preset (default: the default preset; None: the field defaults), then
        ``overrides`` (None values are ignored; a misspelt name is an error even then)."""
        presets = cls.presets
        if presets is not None and preset is not None and preset not in presets:
            raise cls.error(f"Unknown preset {preset!r}; choose one of: {', '.join(presets)}.")
        cls.check_names(overrides)
        base = dict(presets[preset]) if presets is not None and preset is not None else {}
        if any(f.name == "preset" for f in fields(cls)):  # type: ignore[arg-type]
            base["preset"] = preset
        return cls(**base).with_overrides(**{k: v for k, v in overrides.items() if v is not None})

    def with_overrides(self: S, **overrides: Any) -> S:
        """A copy with ``overrides`` applied (and validated again); an unknown name is an error."""
        if not overrides:
            return self
        self.check_names(overrides)
        return replace(self, **overrides)  # type: ignore[type-var]


def parse_bool(text: str) -> bool:
    """A CLI/URL word for on or off (1/true/yes/on, 0/false/no/off, any case); ValueError otherwise."""
    low = str(text).strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def parse_choice(text: str, choices):
    """The one of ``choices`` whose text is ``text`` (choices may be numbers); ValueError otherwise."""
    for c in choices:
        if str(c) == text:
            return c
    raise ValueError(text)


def is_whole_number(v) -> bool:
    """An int that is not a bool (``True`` is an int to Python, never a count to a user)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_finite_number(v) -> bool:
    """An int or float (not a bool) that is neither infinite nor NaN."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def log_steps(lo_exp: int, hi_exp: int, mantissas: Iterable[float] = (1, 2, 5)) -> tuple[float, ...]:
    """1e-6, 2e-6, 5e-6, 1e-5 ... up to 10**hi_exp: the grid of a weight's widget."""
    out = []
    for e in range(lo_exp, hi_exp + 1):
        for m in mantissas:
            v = float(f"{m}e{e}")
            if v <= 10**hi_exp * 1.0000001:
                out.append(v)
    return tuple(out)


# --------------------------------------------------------------------------- shared words
# One label and tooltip per name on every page: techniques that share a name start from these.

ITERATIONS = Setting(label="Iterations", short="iters", unit="steps", help="How many optimisation steps one run takes.",
                     aliases=("iters",), flags=("-n",))
LR = Setting(label="Learning rate", short="lr", help="How far each optimisation step moves the image (the step size); larger "
             "is faster but less stable.")
SEED = Setting(label="Seed", lo=0, hi=2**31 - 1, widget="number", in_presets=False,
               help="Seeds the random start and the random transformations: the same seed and settings give the "
               "same image.")
TV_WEIGHT = Setting(label="TV weight", symbol="λ1", short="TV", widget="select_slider",
                    help="Weight of the total-variation term: penalises differences between neighbouring pixels "
                    "(log scale). Class impressions: eq. 1 of Addepalli et al., only with the TV regulariser on; "
                    "class visualization: 0 is off.")
PARAMETRIZATION = Setting(label="Parametrization", short="param", help="What the optimiser changes: the pixels, a Fourier spectrum, "
                          "or the phase only (MACO).",
                          choice_labels={"pixel": "pixels", "fourier": "Fourier", "maco": "MACO"})
