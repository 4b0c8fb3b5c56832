"""Settings of a (saliency-driven) class-impression run, as one JSON-friendly dataclass.

Every component of Addepalli et al. can be switched off on its own (``tv``,
``saliency_lr``, ``single_object``, ``transforms``), so the dashboard and the
benchmark can show what each one does; ``ImpressionSettings.baseline()`` is the
plain class impressions of Mopuri et al. (transforms on, everything else off).

Paper values where the paper gives them: C2 = 4, t = 150, grad_cum_0 = 0.1, TV
every k = 1 step, mask radius 1 → 150 over 150 iterations.  The paper gives no λ1,
pre-CI length or rate, selection radius or iteration count; those defaults were
chosen by experiment on tf_efficientnet_lite0 and say so below.

**Two recipes** (``PRESETS``; ``ImpressionSettings.preset(name)``):

* ``lucid`` (the field defaults): the image is a 1/f-scaled Fourier spectrum
  (``parametrization="fourier"``), stepped by Adam at ``lr`` 0.02, TV a term of the
  objective (weight 5e-4, as class visualization's lucid preset), the rate map and
  the growing circle acting on the decoded image (``parametrized``).  Pixel ascent
  makes texture that only the generating network reads (README, "Class impressions").
* ``paper``: Addepalli et al. on pixels: the uniform rate 0.1, the map-scaled step, a
  separate TV step of λ1 = 0.02, the pre-CI at rate 1.0.

``lr``, ``tv_weight`` and ``preci_lr`` mean different things on the two: pixels take
a step of ``lr`` (normalised units at the most salient pixel), a spectrum an Adam step;
TV is a separate descent step on pixels and a weighted term otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ImpressionError, NetVizError
from ..optimize.parametrizations import PARAMETRIZATIONS
from ..settings import (ITERATIONS, LR, PARAMETRIZATION, SEED, TV_WEIGHT, JsonSettings, Preset, Presets, Rule,
                        log_steps, setting, validate)
from .schedule import C2, GRAD_CUM0, T_SWITCH, c1_for
from .transforms import SCALES

#: Where the random transforms act: the network's input only, or the stored image (Mopuri's reading).
TRANSFORMS_ON = ("input", "image")

#: Which random transforms: Mopuri et al.'s (noise, colour shift, ±5°, 0.95-1.05) or Lucid's standard ones
#: (pad 12, jitter 8, scale 0.9-1.1, ±10°, jitter 4: also translations, and twice the zoom and angle).
TRANSFORM_SETS = ("lucid", "mopuri")

DEFAULT_PRESET = "lucid"
#: Named recipes; each names every setting whose meaning depends on the parametrization.
PRESETS = Presets(
    Preset("lucid", "a Fourier image stepped by Adam (lr 0.02), TV a term of weight 5e-4, Lucid's transforms",
           dict(parametrization="fourier", lr=0.02, tv_weight=5e-4, preci_lr=0.2, transform_set="lucid",
                saliency_sigma=4.0)),
    # The paper's recipe differentiates the network as loaded: ascent on pixels follows the float
    # rounding of the network closely (benchmarks/results/negative_images_paper.md was measured so).
    Preset("paper", "Addepalli et al. on pixels: uniform rate 0.1, map-scaled step, a TV step of λ1 0.02, the "
           "pre-CI at rate 1.0, Mopuri's transforms",
           dict(parametrization="pixel", lr=0.1, tv_weight=0.02, preci_lr=1.0, transform_set="mopuri",
                saliency_sigma=0.0, fold_batchnorm=False)),
    default=DEFAULT_PRESET,
)


def _on(switch: str):
    return lambda v: bool(v[switch])


def _hidden(**declared):
    """A setting of the JSON only (``netviz impressions --settings FILE``): no flag, no URL parameter."""
    return dict(cli=False, url=False, **declared)


@dataclass(frozen=True)
class ImpressionSettings(JsonSettings):
    """Validated on construction (``ImpressionError`` names the bad setting and its range); ``to_json``/``from_json``
    reproduce a run, ``with_overrides`` changes settings.  Each setting is declared once."""

    error: ClassVar[type[NetVizError]] = ImpressionError
    what: ClassVar[str] = "impression settings"
    presets: ClassVar = PRESETS
    rules: ClassVar = (
        Rule(lambda s: s.radius_max >= s.radius_start, "radius_max ({radius_max}) must be ≥ radius_start ({radius_start})."),
        Rule(lambda s: s.parametrization == "pixel" or s.transforms_on == "input",
             "transforms_on='image' resamples the stored pixels; the {parametrization} parametrization has none: "
             "use transforms_on='input', or parametrization='pixel'."),
        Rule(lambda s: s.transforms_on == "input" or s.transform_set == "mopuri",
             "transforms_on='image' is Mopuri's reading of their own transforms: use transform_set='mopuri'."),
        Rule(lambda s: s.lr_map_peak < s.preci_lr or not s.single_object or s.parametrization != "pixel",
             lambda s: f"lr_map_peak ({s.lr_map_peak:g}) must stay below the pre-CI's rate preci_lr ({s.preci_lr:g}): "
             "the main run is the slower one."),
    )
    #: What a page shows, by group: the run, each of the three parts of SCI.
    groups: ClassVar = (
        ("run", ("iterations", "seed", "parametrization")),
        ("tv", ("tv", "tv_weight", "tv_every", "transforms_on")),
        ("saliency", ("saliency_lr", "lr", "lr_map_peak", "c2", "t_switch", "grad_cum0")),
        ("single", ("single_object", "select_radius", "preci_iterations")),
    )

    # run
    # the paper's max_iter: not stated (fig. 2 shows 500); C1 = C2·max_iter/t
    iterations: int = setting(300, like=ITERATIONS, lo=0, hi=2000)
    # pixel | fourier | maco (see PRESETS for the numbers that go with each)
    parametrization: str = setting("fourier", like=PARAMETRIZATION, choices=tuple(PARAMETRIZATIONS))
    # fourier/maco: Adam's lr (0.02: at class visualization's 0.05 SCI's discs saturate to black or white,
    # README "Class impressions"); pixel: the uniform rate (the paper's 0.1, MapScaledGradient)
    lr: float = setting(0.02, like=LR, lo=0.001, hi=1.0, step=0.001)
    seed: int = setting(0, like=SEED)  # image i uses seed + i
    # random transforms on (transforms), which (transform_set), where (transforms_on); Mopuri's parameters
    # below (8-bit levels, degrees, pixels); Lucid's are fixed (optimize.transforms.lucid_transforms)
    transforms: bool = setting(True, url=False, help="Random transforms of the network's input.")
    transform_set: str = setting("lucid", **_hidden(choices=TRANSFORM_SETS, help="Which random transforms."))
    transforms_on: str = setting("input", choices=TRANSFORMS_ON, label="Random transforms act on", widget="radio",
                                 choice_labels={"input": "network input", "image": "stored image"},
                                 help="Where the random jitter, scale and rotation are applied: the network's input "
                                 "(the stored image never changes) or the stored image itself (they then pile up "
                                 "over the steps).")
    noise: float = setting(2.0, **_hidden(lo=0.0, help="Mopuri's noise (8-bit levels)."))
    color_shift: float = setting(4.0, **_hidden(lo=0.0, help="Mopuri's colour shift (8-bit levels)."))
    scales: tuple[float, ...] = SCALES
    max_rotation: float = setting(5.0, **_hidden(lo=0.0, help="Mopuri's largest rotation (degrees)."))
    pad: int = setting(16, **_hidden(lo=0, help="Mopuri's padding (pixels)."))
    # eq. 1: TV descent step of weight λ1 every k iterations
    tv: bool = setting(True, label="TV regulariser (eq. 1)",
                       help="Total-variation regulariser: penalises differences between neighbouring pixels.")
    # ours (the paper gives none): pixel 0.02 by experiment on lite0; fourier: classvis's
    tv_weight: float = setting(5e-4, like=TV_WEIGHT, lo=0.0, hi=2.0, steps=(0.0, *log_steps(-7, 0), 2.0),
                               aliases=("lambda1",), enabled_if=_on("tv"))
    tv_every: int = setting(1, label="TV every k steps", symbol="k", unit="steps", lo=1, hi=10, enabled_if=_on("tv"),
                            help="Apply the TV step every k iterations (the paper shows k = 1 and k = 2). Only with "
                            "the TV regulariser on.")
    # eqs. 2-4: saliency-driven per-pixel learning rate
    saliency_lr: bool = setting(True, label="Saliency-driven learning rate (eqs. 2-4)", aliases=("sal",),
                                help="Off: every pixel moves with the uniform learning rate.")
    c2: float = setting(C2, label="C2 (eq. 3)", lo=0.5, hi=16.0, step=0.5, enabled_if=_on("saliency_lr"),
                        help="Scales the saliency-driven learning rate; C1 = C2 · iterations / t. Only with the "
                        "saliency-driven learning rate on.")
    t_switch: int = setting(T_SWITCH, label="switch iteration", symbol="t", unit="steps", lo=1, hi=1000,
                            enabled_if=_on("saliency_lr"),
                            help="Iteration at which the learning-rate schedule switches (eq. 3). Only with the "
                            "saliency-driven learning rate on.")
    grad_cum0: float = setting(GRAD_CUM0, label="grad_cum₀ (eq. 2)", lo=0.01, hi=1.0, step=0.01,
                               enabled_if=_on("saliency_lr"),
                               help="Starting value of the accumulated gradient map. Only with the saliency-driven "
                               "learning rate on.")
    c1: float | None = setting(None, **_hidden(lo=0.0, optional=True, help="C1 of eq. 3 (none: C2 · max_iter / t)."))
    # eq. 4's map is rescaled per step so that its largest entry is ``lr_map_peak`` (see
    # schedule.SaliencyLearningRate): the most salient pixel's rate, above the plain run's
    # uniform ``lr`` (the pixels that contribute most develop faster, sec. 3.2) and below the
    # pre-CI's "very high" ``preci_lr`` (ours: half of it).
    lr_map_peak: float = setting(0.5, label="Rate-map peak", lo=0.05, hi=0.95, step=0.05,
                                 enabled_if=_on("saliency_lr"),
                                 help="The saliency-driven learning-rate map (eq. 4) is rescaled each step so that "
                                 "its largest entry is this (below the pre-CI rate). Only with the saliency-driven "
                                 "learning rate on.")
    # blur (px) of the saliency before eqs. 2-4; 0: the paper's per-pixel map.  On a spectrum the per-pixel map
    # scatters the gradient over single pixels, which Adam turns into isolated bright and dark dots; σ 4 px (the
    # single-object score's blur) makes it a rate per region (chosen on 4 of the table's classes, 128 steps).
    saliency_sigma: float = setting(4.0, **_hidden(lo=0.0, help="Blur (px) of the saliency before eqs. 2-4."))
    # sec. 3.3: single object from the most activated circle of a pre-CI
    single_object: bool = setting(True, label="Single object (sec. 3.3)", aliases=("single",),
                                  help="Grow one object from the most activated circle instead of filling the image.")
    # "a very few iterations" (ours)
    preci_iterations: int = setting(10, label="Pre-CI iterations", unit="steps", lo=0, hi=50, aliases=("preci",),
                                    enabled_if=_on("single_object"),
                                    help="A few high-learning-rate steps that find the most activated circle. Only "
                                    "with single object on.")
    # "a very high learning rate" (ours): pixel 1.0 (10× the uniform rate), fourier 10× lr
    preci_lr: float = setting(0.2, **_hidden(above=0.0, help="The pre-CI's learning rate."))
    # r of eq. 5 (ours; the paper does not say)
    select_radius: float = setting(30.0, label="selection radius, eq. 5", symbol="r", unit="px", lo=5.0, hi=100.0,
                                   step=1.0, enabled_if=_on("single_object"),
                                   help="Radius of the most activated circle that is kept. Only with single object "
                                   "on.")
    radius_start: float = setting(1.0, **_hidden(lo=0.0, help="The growing circle's first radius (px)."))
    radius_max: float = setting(150.0, **_hidden(lo=0.0, help="The growing circle's last radius (px)."))
    radius_iterations: int = setting(150, **_hidden(lo=0, help="Steps over which the circle grows."))
    # the run differentiates a copy of the network with each BatchNorm folded into its convolution
    # (optimize.folding; the same function, float rounding differs)
    fold_batchnorm: bool = setting(True, **_hidden(help="Fold each BatchNorm into its convolution."))

    # ------------------------------------------------------------------ derived
    @property
    def c1_value(self) -> float:
        return float(self.c1) if self.c1 is not None else c1_for(self.c2, self.iterations, self.t_switch)

    @classmethod
    def preset(cls, name: str = DEFAULT_PRESET, **overrides: Any) -> "ImpressionSettings":
        """The settings of a named recipe (``PRESETS``), then ``overrides``."""
        if name not in PRESETS:
            raise ImpressionError(f"Unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
        cls.check_names(overrides)
        return cls(**PRESETS[name]).with_overrides(**overrides)

    @classmethod
    def baseline(cls, preset: str = DEFAULT_PRESET, **overrides: Any) -> "ImpressionSettings":
        """Plain class impressions (Mopuri et al.): random transforms and logit ascent only, on ``preset``'s recipe."""
        return cls.preset(preset, tv=False, saliency_lr=False, single_object=False).with_overrides(**overrides)

    def plain(self) -> "ImpressionSettings":
        """These settings with the three parts of SCI off: the plain class impressions they are compared with."""
        return self.with_overrides(tv=False, saliency_lr=False, single_object=False)

    # ------------------------------------------------------------------ checks
    def __post_init__(self) -> None:
        """Raise ``ImpressionError`` naming the bad setting."""
        # A list from JSON becomes a tuple, so settings stay hashable and compare equal after a round trip.
        if isinstance(self.scales, list):
            object.__setattr__(self, "scales", tuple(self.scales))
        if not (isinstance(self.scales, tuple) and len(self.scales) >= 1
                and all(isinstance(s, (int, float)) and math.isfinite(s) and 0.5 <= s <= 2.0 for s in self.scales)):
            raise ImpressionError(f"scales must be a list of one or more factors between 0.5 and 2, got {self.scales!r}.")
        validate(self)


PRESETS.bind(ImpressionSettings)
