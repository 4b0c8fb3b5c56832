"""``ClassVisSettings``: every setting of a class-visualization run, each declared once.

A setting's declaration (``netviz_core.settings.setting``) gives its default, range or
choices, unit, label, symbol and help; validation, the CLI's flags, the dashboard's URL
parameters and widgets and the JSON round trip are made from it.  To add a setting, add
a field here (and its use in ``parts.engine_parts`` if the engine needs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable

from ..errors import ClassVisualizationError, NetVizError
from ..optimize.parametrizations import PARAMETRIZATIONS
from ..optimize.spectrum import MAGNITUDES
from ..optimize.steps import OPTIMIZERS
from ..settings import (ITERATIONS, LR, PARAMETRIZATION, SEED, TV_WEIGHT, JsonSettings, Rule, log_steps, setting,
                        validate)
from .presets import DEFAULT_PRESET, PRESETS

OBJECTIVES = ("logit", "posterior")
INITS = ("noise", "mean")


def _pixels(v) -> bool:
    return v["parametrization"] == "pixel"


def _blur_error(s) -> str:
    return (f"Blur acts on pixels, and the {s.parametrization} parametrization is smooth by construction: "
            "set blur_every to 0, or choose the pixel parametrization.")


def _seed_count_error(s) -> str:
    return f"Got {len(s.seed)} seeds for {len(s.targets)} targets; give one seed, or one per target."


@dataclass(frozen=True)
class ClassVisSettings(JsonSettings):
    """Everything that determines a class-visualization run (with the model's weights).

    ``l2_weight`` is λ of R(I) = λ‖I‖²₂ (I in normalised units); ``tv_weight`` the
    weight of the total variation Σ|ΔI| (normalised units, both directions);
    ``parametrization`` what is optimised (``pixel``, ``fourier``, ``maco``; MACO's
    fixed ``magnitude`` is "1/f" or "photos"); ``optimizer`` the step rule
    (``normalized``: a step of length ``lr``; ``adam``/``nadam``: their lr);
    ``transforms`` the random transforms on the network's input: Lucid's pad, jitter,
    scale and rotation (pixel and fourier), then random crops of at least ``crop_min``
    of the side, noise of std ``input_noise`` and a random colour shift of strength
    ``color_shift`` (every parametrization; MACO's own transforms are its crops and noise).  Blur and clamp act on pixels,
    so they need ``pixel``; the spectral parametrizations are smooth and bounded by
    construction.  ``fold_batchnorm`` runs the optimisation on a copy of the network
    with each BatchNorm folded into its convolution (faster; the same function, but
    float rounding differs, and class visualization amplifies any difference, so a
    run pinned bit for bit on the original network needs it off).  ``seed`` is an int
    (every image's generator gets it) or one int per target.  ``preset`` only records
    where the values came from.  The field defaults are those of ``DEFAULT_PRESET``.
    Validated on construction (``ClassVisualizationError`` names the bad setting and
    its range); ``to_json``/``from_json`` reproduce a run.
    """

    error: ClassVar[type[NetVizError]] = ClassVisualizationError
    what: ClassVar[str] = "class-visualization settings"
    presets: ClassVar = PRESETS
    rules: ClassVar = (
        Rule(lambda s: s.parametrization == "pixel" or not (s.blur_every > 0 and s.blur_sigma > 0), _blur_error),
        Rule(lambda s: not isinstance(s.seed, tuple) or not s.targets or len(s.seed) == len(s.targets),
             _seed_count_error),
    )
    #: The settings a page shows, in its order.
    groups: ClassVar = (
        ("optimisation", ("l2_weight", "iterations", "lr", "tv_weight", "parametrization", "magnitude", "optimizer",
                          "jitter", "blur_every", "blur_sigma", "objective", "init", "seed", "transforms",
                          "crop_min", "input_noise", "color_shift", "transform_samples")),
    )

    targets: tuple[int, ...] = ()
    model: str | None = None
    preset: str | None = setting(DEFAULT_PRESET, choices=tuple(PRESETS), optional=True, cli=False, url=False,
                                 help="The preset the values came from (a record only).")
    objective: str = setting("logit", choices=OBJECTIVES, label="Objective", widget="radio",
                             choice_labels={"logit": "score S_c", "posterior": "log P_c"},
                             help="What is maximised: the class score S_c (the logit) or log P_c (the log-posterior, "
                             "which also pushes the other classes down).")
    init: str = setting("noise", choices=INITS, label="Initial image", widget="radio",
                        choice_labels={"noise": "noise", "mean": "mean image"},
                        help="Where the optimisation starts: random noise or the zero image plus the dataset's mean.")
    iterations: int = setting(256, like=ITERATIONS, lo=0, hi=2000)
    l2_weight: float = setting(0.0, label="L2 weight", symbol="λ", lo=0.0, hi=1e6, steps=(0.0, *log_steps(-6, 6)),
                               widget="select_slider", metavar="LAMBDA", aliases=("lam",),
                               help="Weight of the L2 regulariser λ‖I‖²: larger keeps the image closer to grey "
                               "(log scale).")
    lr: float = setting(0.05, like=LR, lo=1e-4, hi=1e6, steps=log_steps(-4, 6, (1, 2, 2.5, 5)))
    blur_every: int = setting(0, label="Blur every", unit="steps", lo=0, hi=100, metavar="K", enabled_if=_pixels, off=0,
                              help="Blur the image every this many steps (0: never). Pixels only.")
    blur_sigma: float = setting(0.0, label="Blur σ", symbol="σ", unit="px", lo=0.0, hi=5.0, step=0.05, metavar="S",
                                enabled_if=lambda v: _pixels(v) and v["blur_every"] > 0,
                                help="Standard deviation of the periodic Gaussian blur. Pixels only.")
    jitter: int = setting(0, label="Jitter", unit="px", lo=0, hi=64, metavar="J",
                          help="Random shift of the image by up to this many pixels before each step "
                          "(transformation robustness).")
    tv_weight: float = setting(5e-4, like=TV_WEIGHT, lo=0.0, hi=2.0, steps=(0.0, *log_steps(-7, 0), 2.0), metavar="W")
    parametrization: str = setting("fourier", like=PARAMETRIZATION, choices=tuple(PARAMETRIZATIONS))
    magnitude: str = setting("1/f", choices=tuple(MAGNITUDES), label="MACO magnitude",
                             enabled_if=lambda v: v["parametrization"] == "maco",
                             help="The fixed Fourier magnitude MACO keeps while it optimises the phase: a 1/f prior, "
                             "or the average spectrum of the bundled photos. Only with the MACO parametrization.")
    optimizer: str = setting("adam", choices=tuple(OPTIMIZERS), label="Optimizer",
                             help="The update rule of each step (normalized: a step of length lr; adam/nadam: Adam's "
                             "and NAdam's rules with step size lr).")
    transforms: bool = setting(True, label="Transforms",
                               help="Transformation robustness: random pad, jitter, scale and rotation of the "
                               "network's input before each step (not with MACO), then the crops, noise and colour "
                               "shift below; the stored image is never transformed.")
    crop_min: float = setting(0.5, label="Smallest crop", short="crop", unit="of the side", lo=0.1, hi=1.0, step=0.05, metavar="F",
                              enabled_if=lambda v: v["transforms"],
                              help="Zoom robustness (MACO's crops): each step the network sees a random square crop "
                              "of at least this fraction of the image's side, resized back to full size. 1: no crops.")
    input_noise: float = setting(0.1, label="Input noise", symbol="σ_n", lo=0.0, hi=1.0, step=0.01, metavar="S",
                                 enabled_if=lambda v: v["transforms"],
                                 help="Standard deviation of Gaussian noise added to the network's input each step "
                                 "(normalised units; MACO's 0.1). 0: none.")
    color_shift: float = setting(1.0, label="Colour shift", short="colour", lo=0.0, hi=2.0, step=0.05, metavar="C",
                                 enabled_if=lambda v: v["transforms"],
                                 help="Colour robustness (Plug-In Inversion): each step every channel of the network's "
                                 "input is shifted by up to ±C and its contrast scaled by e^±C at random, so the "
                                 "picture cannot rest on exact colours (blown white and black). 0: none.")
    transform_samples: int = setting(2, label="Samples per step", lo=1, hi=8, metavar="K",
                                     enabled_if=lambda v: v["transforms"],
                                     help="Average the objective over K independently transformed copies of the "
                                     "image each step (K passes a step: K times slower, a less noisy direction).")
    noise_std: float = setting(1.0, above=0.0, cli=False, url=False,
                               help="The standard deviation of the start noise (normalised units).")
    clamp: bool = setting(True, cli=False, url=False, help="Clamp the pixels to their valid range after every step.")
    seed: int | tuple[int, ...] = setting(0, like=SEED, many=True)
    batch_invariant: bool = setting(False, url=False,
                                    help="One forward/backward per image: bit-identical to separate runs, slower.")
    fold_batchnorm: bool = setting(True, cli=False, url=False,
                                   help="Fold each BatchNorm into its convolution (faster; float rounding differs).")
    gif_every: int = setting(5, lo=1, hi=1000, unit="steps", url=False, metavar="K",
                             help="A GIF frame every this many steps.")

    def __post_init__(self) -> None:
        # Lists from JSON become tuples, so settings stay hashable and compare equal after a round trip.
        if isinstance(self.targets, (str, bytes)) or not isinstance(self.targets, Iterable):
            raise ClassVisualizationError(
                f"Targets in settings must be a list of class indices, e.g. [76]; got {self.targets!r}.")
        object.__setattr__(self, "targets", tuple(self.targets))
        if isinstance(self.seed, list):
            object.__setattr__(self, "seed", tuple(self.seed))
        if not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in self.targets):
            raise ClassVisualizationError(f"Targets in settings must be class indices; got {list(self.targets)!r}.")
        validate(self)

    def seeds(self) -> list[int]:
        n = len(self.targets)
        return [int(self.seed)] * n if isinstance(self.seed, int) else [int(s) for s in self.seed]


PRESETS.bind(ClassVisSettings)


def validate_settings(s: ClassVisSettings) -> None:
    """Raise ``ClassVisualizationError`` naming the first bad setting (settings validate themselves on construction)."""
    validate(s)


def settings_for(preset: str | None = DEFAULT_PRESET, **overrides) -> ClassVisSettings:
    """Settings of a named preset, with ``overrides`` (None values are ignored) applied."""
    return ClassVisSettings.from_preset(preset, **overrides)
