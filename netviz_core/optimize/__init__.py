"""Gradient ascent on images: one engine, composable parts.

``engine.optimize`` runs the loop and yields frames; ``objectives`` (what to
maximise), ``steps`` (how to move), ``parametrizations`` (what is moved: pixels, a
1/f-scaled spectrum, or the phase of a fixed spectrum), ``transforms`` (random
transforms on the network's input; clamp, blur, projection after the step) and
``init`` (where to start) are the parts; ``context.StepContext`` is what they see.
Fooling images, class visualization and class impressions are small modules that
pick parts and call the engine.
"""

from .context import StepContext
from .engine import Frame, make_generators, optimize, run
from .objectives import ClassLogit, ClassLogProbability, L2Norm, Lambda, Objective, TotalVariation, total_variation
from .parametrizations import PARAMETRIZATIONS, Fourier, Maco, Parametrization, Pixel, parametrization_for
from .steps import OPTIMIZERS, Adam, NAdam, NormalizedGradient, PlainGradient, SignGradient, StepRule, per_image_norm, step_rule_for
from .transforms import (
    AdditiveNoise,
    ClampToPixelRange,
    ColorShift,
    GaussianBlur,
    Jitter,
    JitterCrop,
    Pad,
    PostStep,
    ProjectLinf,
    RandomAffine,
    RandomCrop,
    Transform,
    gaussian_blur,
    lucid_transforms,
    maco_transforms,
)

__all__ = [
    "Frame", "StepContext", "make_generators", "optimize", "run",
    "Objective", "ClassLogit", "ClassLogProbability", "L2Norm", "TotalVariation", "Lambda", "total_variation",
    "Parametrization", "Pixel", "Fourier", "Maco", "PARAMETRIZATIONS", "parametrization_for",
    "StepRule", "NormalizedGradient", "SignGradient", "PlainGradient", "Adam", "NAdam", "per_image_norm",
    "OPTIMIZERS", "step_rule_for",
    "Transform", "Jitter", "Pad", "JitterCrop", "RandomAffine", "RandomCrop", "AdditiveNoise", "ColorShift",
    "lucid_transforms", "maco_transforms",
    "PostStep", "ClampToPixelRange", "GaussianBlur", "ProjectLinf", "gaussian_blur",
]
