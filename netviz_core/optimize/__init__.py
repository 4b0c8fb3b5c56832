"""Gradient ascent on images: one engine, composable parts.

``engine.optimize`` runs the loop and yields frames; ``objectives`` (what to
maximise), ``steps`` (how to move), ``transforms`` (jitter before the forward pass;
clamp, blur, projection after the step) and ``init`` (where to start) are the parts.
Fooling images, class visualization and class impressions are small modules that
pick parts and call the engine.
"""

from .engine import Frame, StepContext, make_generators, optimize, run
from .objectives import ClassLogit, ClassLogProbability, L2Norm, Lambda, Objective, TotalVariation, total_variation
from .steps import Adam, NormalizedGradient, PlainGradient, SignGradient, StepRule, per_image_norm
from .transforms import ClampToPixelRange, GaussianBlur, Jitter, PostStep, ProjectLinf, Transform, gaussian_blur

__all__ = [
    "Frame", "StepContext", "make_generators", "optimize", "run",
    "Objective", "ClassLogit", "ClassLogProbability", "L2Norm", "TotalVariation", "Lambda", "total_variation",
    "StepRule", "NormalizedGradient", "SignGradient", "PlainGradient", "Adam", "per_image_norm",
    "Transform", "Jitter", "PostStep", "ClampToPixelRange", "GaussianBlur", "ProjectLinf", "gaussian_blur",
]
