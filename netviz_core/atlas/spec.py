"""What a batch job makes: the classes, the backbones, the settings of every image.

Two kinds of job share this description and everything downstream of it (the
directory, the executors, resume):

* an **atlas**: one class visualization per (backbone, class), every image made with
  the same settings; each image is also ranked by every other backbone of the run.
* a **sweep**: a grid of settings (λ, blur interval, TV weight, iterations, learning
  rate, parametrization) for one class or a few on one backbone; each image is ranked
  by the held-out backbones (by default the other bundled ones).

A job is split into *items*, one image each: (backbone, variant, class), where a
variant is one point of the settings grid (an atlas has a single variant, "").
Items of the same backbone and variant are batched together through the batched
engine.  The *identity* of a job (``JobSpec.identity``) is what must match before a
directory's images may be mixed with a new run's: its kind, the settings, the grid,
the backbones and the NetViz version.  The classes are not part of it: a rerun with
more classes extends the same atlas.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Iterable, Sequence

from .. import __version__
from ..classes import imagenet_class_names
from ..classvis import DEFAULT_PRESET, ClassVisSettings, settings_for
from ..errors import AtlasError, ClassLookupError, NetVizError
from ..settings import declarations
from ..targets import resolve_targets

KINDS = ("atlas", "sweep")
#: The settings a sweep may vary (ClassVisSettings fields), in the order of the contact sheet's axes.
SWEEP_AXES = ("l2_weight", "blur_every", "tv_weight", "iterations", "lr", "parametrization", "crop_min", "color_shift")
#: Short axis labels for the contact sheet and the table: the declarations' ``brief`` ("λ", "blur every", "TV").
AXIS_LABELS = {name: declarations(ClassVisSettings)[name].brief for name in SWEEP_AXES}


# --------------------------------------------------------------------------- classes


def parse_classes(spec: str | Sequence[str], class_names: Sequence[str] | None = None) -> tuple[int, ...]:
    """Class indices from ``all``, ranges ``0-999``, indices and name fragments, comma-separated.

    ``"0-9,76,goldfish"`` -> (0, ..., 9, 76, 1); ``"all"`` -> every class.  Several
    strings (a repeated option) are joined.  Order is kept, duplicates dropped.
    Names and single indices go through the one target resolver
    (``netviz_core.targets.resolve_targets``), so they mean what they mean everywhere.
    """
    names = tuple(class_names) if class_names is not None else imagenet_class_names()
    n = len(names)
    parts = [spec] if isinstance(spec, str) else list(spec)
    tokens = [t.strip() for p in parts for t in str(p).split(",")]
    if not any(tokens):
        raise AtlasError("No classes given: use e.g. --classes 0-999, --classes all or --classes 1,76,goldfish.")
    out: list[int] = []
    lookup = SimpleNamespace(class_names=names)
    for token in tokens:
        if not token:
            raise AtlasError(f"Empty entry in the class list {','.join(tokens)!r} (two commas in a row?).")
        if token.lower() == "all":
            out.extend(range(n))
            continue
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", token)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise AtlasError(f"Class range {token!r} runs backwards; write it low-high, e.g. {hi}-{lo}.")
            if hi >= n:
                raise AtlasError(f"Class range {token!r} goes past the last class: classes are 0 to {n - 1}.")
            out.extend(range(lo, hi + 1))
            continue
        if "-" in token and re.fullmatch(r"[\d\s-]+", token):  # digits and dashes, but not LOW-HIGH
            raise AtlasError(f"Malformed class range {token!r}; write it as LOW-HIGH, e.g. 0-999.")
        try:
            out.extend(resolve_targets(lookup, token))
        except ClassLookupError as exc:
            raise AtlasError(f"Class list entry {token!r}: {exc}") from None
    return tuple(dict.fromkeys(out))


# --------------------------------------------------------------------------- backbones


def check_backbones(backbones: Sequence[str]) -> tuple[str, ...]:
    """The backbone names, checked (an unknown timm name is an error before any work starts)."""
    from ..models import check_model_name

    names = [str(b).strip() for b in backbones]
    if not names or not all(names):
        raise AtlasError("No backbone given: name at least one, e.g. --backbones tf_efficientnet_lite0.")
    for name in names:
        try:
            check_model_name(name)
        except NetVizError as exc:
            raise AtlasError(f"Backbone {name!r}: {exc}") from None
    if len(set(names)) != len(names):
        raise AtlasError(f"A backbone is named twice in {', '.join(names)}.")
    return tuple(names)


# --------------------------------------------------------------------------- variants (sweep grid points)


@dataclass(frozen=True)
class Variant:
    """One point of a settings grid: the overridden values and a stable short id (file names, resume)."""

    values: tuple[tuple[str, Any], ...] = ()

    @property
    def id(self) -> str:
        if not self.values:
            return ""
        text = json.dumps(dict(self.values), sort_keys=True)
        return "v" + hashlib.sha256(text.encode()).hexdigest()[:10]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)

    def label(self) -> str:
        return ", ".join(f"{AXIS_LABELS.get(k, k)}={format_value(v)}" for k, v in self.values)


def format_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def grid_variants(grid: dict[str, Sequence[Any]]) -> list[Variant]:
    """Every combination of the grid's values, in a fixed order (axes as in ``SWEEP_AXES``)."""
    for name, values in grid.items():
        if name not in SWEEP_AXES:
            raise AtlasError(f"A sweep cannot vary {name!r}; it varies: {', '.join(SWEEP_AXES)}.")
        if not values:
            raise AtlasError(f"The sweep axis {name} has no values.")
        if len(set(map(repr, values))) != len(values):
            raise AtlasError(f"The sweep axis {name} repeats a value: {list(values)}.")
    axes = [a for a in SWEEP_AXES if a in grid]
    values = [tuple(_axis_value(a, v) for v in grid[a]) for a in axes]
    return [Variant(tuple(zip(axes, combo))) for combo in itertools.product(*values)]


#: The type of each axis's values, so that 0 and 0.0 are one grid point (with one id) however they were given.
AXIS_TYPES = {"l2_weight": float, "tv_weight": float, "lr": float, "blur_every": int, "iterations": int,
              "parametrization": str}


def _axis_value(axis: str, value: Any) -> Any:
    kind = AXIS_TYPES[axis]
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise AtlasError(f"The sweep axis {axis} takes whole numbers; got {value!r}.")
    try:
        return kind(value) if not isinstance(value, bool) else value
    except (TypeError, ValueError):
        raise AtlasError(f"The sweep axis {axis} cannot take {value!r}.") from None


# --------------------------------------------------------------------------- the job


@dataclass(frozen=True)
class Item:
    """One image of a job."""

    backbone: str
    variant: str
    target: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.backbone, self.variant, self.target)


@dataclass(frozen=True)
class JobSpec:
    """A batch job: ``kind`` (atlas/sweep), classes, generating backbones, base settings, grid, scorers.

    ``settings`` holds everything but the targets and the model (they come per item);
    its ``seed`` is an int (every image gets it, so an image does not depend on its
    batch-mates' seeds).  ``held_out`` backbones only rank the images.  ``gif`` asks
    for a GIF per image (not part of the identity: a rerun with ``gif`` adds the
    missing GIFs).
    """

    kind: str
    classes: tuple[int, ...]
    backbones: tuple[str, ...]
    settings: ClassVisSettings
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    held_out: tuple[str, ...] = ()
    gif: bool = False
    variants: tuple[Variant, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise AtlasError(f"Unknown job kind {self.kind!r}; one of {', '.join(KINDS)}.")
        if not self.classes:
            raise AtlasError("The job has no classes.")
        if not isinstance(self.settings.seed, int):
            raise AtlasError("A batch job takes one seed for every image (an int), so that an image does not depend "
                             "on which classes share its batch.")
        if self.settings.targets or self.settings.model is not None:
            object.__setattr__(self, "settings", self.settings.with_overrides(targets=(), model=None))
        overlap = set(self.held_out) & set(self.backbones)
        if overlap:
            raise AtlasError(f"{', '.join(sorted(overlap))} is both a generating and a held-out backbone.")
        variants = grid_variants(dict(self.grid)) if self.grid else [Variant()]
        # the grid as its variants hold it (typed values, axes in SWEEP_AXES order): one identity however given
        grid = dict(self.grid)
        object.__setattr__(self, "grid", tuple((a, tuple(_axis_value(a, v) for v in grid[a]))
                                               for a in SWEEP_AXES if a in grid))
        for v in variants:
            self.settings_of(v)  # every grid point must be valid settings: fail before any work
        object.__setattr__(self, "variants", tuple(variants))

    @property
    def scorers(self) -> tuple[str, ...]:
        """Every backbone that ranks every image: the generating ones, then the held-out ones."""
        return self.backbones + self.held_out

    def settings_of(self, variant: Variant) -> ClassVisSettings:
        try:
            return self.settings.with_overrides(**variant.as_dict())
        except NetVizError as exc:
            raise AtlasError(f"Sweep point {variant.label()}: {exc}") from None

    def items(self) -> list[Item]:
        return [Item(b, v.id, c) for b in self.backbones for v in self.variants for c in self.classes]

    def identity(self) -> dict[str, Any]:
        """What a directory's manifest must match for its images to be mixed with this run's."""
        return {
            "kind": self.kind,
            "netviz": __version__,
            "settings": self.settings.to_dict(),
            "grid": {k: list(v) for k, v in self.grid},
            "backbones": list(self.backbones),
            "held_out": list(self.held_out),
        }


def atlas_spec(classes: str | Sequence[str], backbones: Sequence[str], preset: str | None = DEFAULT_PRESET, *,
               gif: bool = False, **overrides) -> JobSpec:
    """An atlas job from the CLI's words: a class list, backbone names, a preset and setting overrides."""
    settings = _settings(preset, overrides)
    return JobSpec("atlas", parse_classes(classes), check_backbones(backbones), settings, gif=gif)


def sweep_spec(classes: str | Sequence[str], backbone: str, grid: dict[str, Iterable[Any]],
               preset: str | None = DEFAULT_PRESET, *, held_out: Sequence[str] | None = None, gif: bool = False,
               **overrides) -> JobSpec:
    """A sweep job: classes on one backbone, a grid of settings; ranked by ``held_out`` (default: the other bundled)."""
    from ..models import BUNDLED_MODELS

    (name,) = check_backbones([backbone])
    if held_out is None:
        held_out = [m for m in BUNDLED_MODELS if m != name]
    held = check_backbones(held_out) if held_out else ()
    grid = {k: tuple(v) for k, v in grid.items() if v is not None}
    if not grid:
        raise AtlasError(f"A sweep needs at least one axis with values; choose among: {', '.join(SWEEP_AXES)}.")
    settings = _settings(preset, overrides)
    return JobSpec("sweep", parse_classes(classes), (name,), settings,
                   grid=tuple((a, grid[a]) for a in SWEEP_AXES if a in grid), held_out=held, gif=gif)


def _settings(preset: str | None, overrides: dict) -> ClassVisSettings:
    try:
        return settings_for(preset, **overrides)
    except NetVizError as exc:
        raise AtlasError(str(exc)) from None
