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
from ..settings import JsonSettings
from ..optimize.parametrizations import PARAMETRIZATIONS
from .schedule import C2, GRAD_CUM0, T_SWITCH, c1_for
from .transforms import SCALES

#: Where the random transforms act: the network's input only, or the stored image (Mopuri's reading).
TRANSFORMS_ON = ("input", "image")

#: Which random transforms: Mopuri et al.'s (noise, colour shift, ±5°, 0.95-1.05) or Lucid's standard ones
#: (pad 12, jitter 8, scale 0.9-1.1, ±10°, jitter 4: also translations, and twice the zoom and angle).
TRANSFORM_SETS = ("lucid", "mopuri")

#: Named recipes; every preset names every setting whose meaning depends on the parametrization.
PRESETS: dict[str, dict[str, Any]] = {
    "lucid": dict(parametrization="fourier", lr=0.02, tv_weight=5e-4, preci_lr=0.2, transform_set="lucid",
                  saliency_sigma=4.0),
    # The paper's recipe differentiates the network as loaded: ascent on pixels follows the float
    # rounding of the network closely (benchmarks/results/negative_images_paper.md was measured so).
    "paper": dict(parametrization="pixel", lr=0.1, tv_weight=0.02, preci_lr=1.0, transform_set="mopuri",
                  saliency_sigma=0.0, fold_batchnorm=False),
}
DEFAULT_PRESET = "lucid"


@dataclass(frozen=True)
class ImpressionSettings(JsonSettings):
    """Validated on construction (``ImpressionError`` names the bad setting); ``to_json``/``from_json``
    reproduce a run, ``with_overrides`` changes settings."""

    error: ClassVar[type[NetVizError]] = ImpressionError
    what: ClassVar[str] = "impression settings"

    # run
    iterations: int = 300        # the paper's max_iter: not stated (fig. 2 shows 500); C1 = C2·max_iter/t
    parametrization: str = "fourier"  # pixel | fourier | maco (see PRESETS for the numbers that go with each)
    # fourier/maco: Adam's lr (0.02: at class visualization's 0.05 SCI's discs saturate to black or white,
    # README "Class impressions"); pixel: the uniform rate (the paper's 0.1, MapScaledGradient)
    lr: float = 0.02
    seed: int = 0                # image i uses seed + i
    # random transforms on (transforms), which (transform_set), where (transforms_on); Mopuri's parameters
    # below (8-bit levels, degrees, pixels); Lucid's are fixed (optimize.transforms.lucid_transforms)
    transforms: bool = True
    transform_set: str = "lucid"
    transforms_on: str = "input"  # "input": the network's input only; "image": the stored image (piles up)
    noise: float = 2.0
    color_shift: float = 4.0
    scales: tuple[float, ...] = SCALES
    max_rotation: float = 5.0
    pad: int = 16
    # eq. 1: TV descent step of weight λ1 every k iterations
    tv: bool = True
    tv_weight: float = 5e-4      # ours (the paper gives none): pixel 0.02 by experiment on lite0; fourier: classvis's
    tv_every: int = 1            # k (the paper shows k = 1 and k = 2)
    # eqs. 2-4: saliency-driven per-pixel learning rate
    saliency_lr: bool = True
    c2: float = C2
    t_switch: int = T_SWITCH
    grad_cum0: float = GRAD_CUM0
    c1: float | None = None      # None: eq. 3, C1 = C2 · max_iter / t
    # eq. 4's map is rescaled per step so that its largest entry is ``lr_map_peak`` (see
    # schedule.SaliencyLearningRate): the most salient pixel's rate, above the plain run's
    # uniform ``lr`` (the pixels that contribute most develop faster, sec. 3.2) and below the
    # pre-CI's "very high" ``preci_lr`` (ours: half of it).
    lr_map_peak: float = 0.5
    # blur (px) of the saliency before eqs. 2-4; 0: the paper's per-pixel map.  On a spectrum the per-pixel map
    # scatters the gradient over single pixels, which Adam turns into isolated bright and dark dots; σ 4 px (the
    # single-object score's blur) makes it a rate per region (chosen on 4 of the table's classes, 128 steps).
    saliency_sigma: float = 4.0
    # sec. 3.3: single object from the most activated circle of a pre-CI
    single_object: bool = True
    preci_iterations: int = 10   # "a very few iterations" (ours)
    preci_lr: float = 0.2        # "a very high learning rate" (ours): pixel 1.0 (10× the uniform rate), fourier 10× lr
    select_radius: float = 30.0  # r of eq. 5 (ours; the paper does not say)
    radius_start: float = 1.0
    radius_max: float = 150.0
    radius_iterations: int = 150
    # the run differentiates a copy of the network with each BatchNorm folded into its convolution
    # (optimize.folding; the same function, float rounding differs)
    fold_batchnorm: bool = True

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

        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ImpressionError(msg)

        def finite(name: str, low: float = -math.inf, strict: bool = False) -> None:
            v = getattr(self, name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v > low if strict else v >= low)
            need(ok, f"{name} must be a finite number {'>' if strict else '≥'} {low:g}, got {v!r}.")

        for name in ("iterations", "tv_every", "t_switch", "preci_iterations", "radius_iterations", "pad", "seed"):
            v = getattr(self, name)
            need(isinstance(v, int) and not isinstance(v, bool), f"{name} must be an integer, got {v!r}.")
        need(self.iterations >= 0, f"iterations must be 0 or more, got {self.iterations}.")
        need(self.iterations <= 100_000, f"iterations of {self.iterations} is too many; use at most 100000.")
        need(self.tv_every >= 1, f"tv_every (k) must be 1 or more, got {self.tv_every}.")
        need(self.t_switch >= 1, f"t_switch must be 1 or more, got {self.t_switch}.")
        need(self.preci_iterations >= 0, f"preci_iterations must be 0 or more, got {self.preci_iterations}.")
        need(self.radius_iterations >= 0, f"radius_iterations must be 0 or more, got {self.radius_iterations}.")
        need(self.pad >= 0, f"pad must be 0 or more, got {self.pad}.")
        for name in ("lr", "preci_lr", "grad_cum0", "lr_map_peak"):
            finite(name, 0.0, strict=True)
        for name in ("noise", "color_shift", "max_rotation", "tv_weight", "c2", "radius_start", "saliency_sigma"):
            finite(name, 0.0)
        finite("select_radius", 0.0)
        finite("radius_max", 0.0)
        need(self.radius_max >= self.radius_start, f"radius_max ({self.radius_max}) must be ≥ radius_start ({self.radius_start}).")
        if self.c1 is not None:
            finite("c1", 0.0)
        need(isinstance(self.scales, tuple) and len(self.scales) >= 1
             and all(isinstance(s, (int, float)) and math.isfinite(s) and 0.5 <= s <= 2.0 for s in self.scales),
             f"scales must be a list of one or more factors between 0.5 and 2, got {self.scales!r}.")
        need(self.transforms_on in TRANSFORMS_ON,
             f"transforms_on must be one of {', '.join(TRANSFORMS_ON)}, got {self.transforms_on!r}.")
        need(self.parametrization in PARAMETRIZATIONS,
             f"parametrization must be one of {', '.join(PARAMETRIZATIONS)}, got {self.parametrization!r}.")
        need(self.parametrization == "pixel" or self.transforms_on == "input",
             f"transforms_on='image' resamples the stored pixels; the {self.parametrization} parametrization has "
             "none: use transforms_on='input', or parametrization='pixel'.")
        need(self.transform_set in TRANSFORM_SETS,
             f"transform_set must be one of {', '.join(TRANSFORM_SETS)}, got {self.transform_set!r}.")
        need(self.transforms_on == "input" or self.transform_set == "mopuri",
             "transforms_on='image' is Mopuri's reading of their own transforms: use transform_set='mopuri'.")
        need(self.lr_map_peak < self.preci_lr or not self.single_object or self.parametrization != "pixel",
             f"lr_map_peak ({self.lr_map_peak:g}) must stay below the pre-CI's rate preci_lr ({self.preci_lr:g}): "
             "the main run is the slower one.")
        for name in ("transforms", "tv", "saliency_lr", "single_object", "fold_batchnorm"):
            need(isinstance(getattr(self, name), bool), f"{name} must be true or false, got {getattr(self, name)!r}.")

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        d = super().to_dict()
        d["scales"] = list(self.scales)
        return d
