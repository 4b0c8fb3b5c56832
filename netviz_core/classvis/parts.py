"""Class visualization's compiler: settings -> the engine's parts, in one place.

``engine_parts`` is the only function that turns a ``ClassVisSettings`` into the
objective, step rule, parametrization, transforms and post-steps of
``netviz_core.optimize.optimize``; ``start_images`` makes the batch it starts from.
A new setting that the engine needs is read here.
"""

from __future__ import annotations

from typing import Any

import torch

from ..optimize import init as start
from ..optimize.objectives import ClassLogit, ClassLogProbability, L2Norm, Objective, TotalVariation
from ..optimize.parametrizations import Fourier, Maco, Pixel
from ..optimize.steps import step_rule_for
from ..optimize.transforms import (AdditiveNoise, ClampToPixelRange, ColorShift, GaussianBlur, Jitter, RandomCrop,
                                  lucid_transforms)
from .settings import ClassVisSettings


def parametrization(s: ClassVisSettings):
    """The engine's parametrization for these settings."""
    if s.parametrization == "fourier":
        return Fourier()
    if s.parametrization == "maco":
        return Maco(s.magnitude)
    return Pixel()


def engine_parts(s: ClassVisSettings) -> dict[str, Any]:
    """The engine's objective, step rule, parametrization, transforms and post-steps for these settings."""
    objective: Objective = ClassLogit() if s.objective == "logit" else ClassLogProbability()
    if s.l2_weight > 0:
        objective = objective - s.l2_weight * L2Norm()
    if s.tv_weight > 0:
        objective = objective - s.tv_weight * TotalVariation()
    pixel = s.parametrization == "pixel"
    post_steps = [ClampToPixelRange()] if s.clamp and pixel else []
    if pixel and s.blur_every > 0 and s.blur_sigma > 0:
        post_steps.append(GaussianBlur(s.blur_sigma, s.blur_every))
    transforms = [Jitter(s.jitter)] if s.jitter > 0 else []
    if s.transforms:
        if s.parametrization != "maco":  # MACO's phase image has its own robustness: the crops and noise alone
            transforms += lucid_transforms()
        if s.crop_min < 1:
            transforms.append(RandomCrop((s.crop_min, 1.0)))
        if s.input_noise > 0:
            transforms.append(AdditiveNoise(s.input_noise))
        if s.color_shift > 0:
            transforms.append(ColorShift(s.color_shift, s.color_shift))
    return dict(
        objective=objective,
        step_rule=step_rule_for(s.optimizer, s.lr),
        parametrization=parametrization(s),
        transforms=transforms,
        post_steps=post_steps,
        iterations=s.iterations,
        transform_samples=s.transform_samples if s.transforms else 1,  # CS231n's jitter alone: one pass
        batch_invariant=s.batch_invariant,
    )


def start_images(net, s: ClassVisSettings, generators: list[torch.Generator]) -> torch.Tensor:
    """The starting images: noise (in the parametrization's own sense) or the mean image."""
    n = len(s.targets)
    if s.init == "mean":
        return start.mean_image(net, n)
    if s.parametrization == "pixel":
        return start.noise_image(net, n, generators, std=s.noise_std)
    param = parametrization(s)
    return param.decode(param.random(net, generators[:n], net.input_size), net)
