"""Class impressions' compiler: settings -> the engine's parts, in one place.

``engine_parts`` is the only function that turns an ``ImpressionSettings`` (and the
run's learning-rate map) into the objective, step rule, parametrization, transforms,
post-steps and step count of ``netviz_core.optimize.optimize``; ``start_images`` makes
x0, ``learning_rate_map`` the map of eqs. 2-4 and ``optimization_model`` the network the
run differentiates.  A new setting that the engine needs is read here.
"""

from __future__ import annotations

from typing import Any

import torch

from ..optimize.folding import input_gradient_model
from ..optimize.init import uniform_noise_on_mean
from ..optimize.objectives import ClassLogit, Objective, TotalVariation
from ..optimize.parametrizations import Maco, Parametrization, Pixel, parametrization_for
from ..optimize.steps import Adam
from ..optimize.transforms import ClampToPixelRange, lucid_transforms
from .parametrized import MaskedOverBackground, RateMapGradient
from .schedule import MapScaledGradient, SaliencyLearningRate
from .settings import ImpressionSettings
from .transforms import RandomImpressionInputTransforms, RandomImpressionTransforms, TVStep


def _mopuri(settings: ImpressionSettings, kind):
    return kind(settings.noise, settings.color_shift, settings.scales, settings.max_rotation, settings.pad)


def _pixel_post_steps(settings: ImpressionSettings, tv: bool) -> list:
    """TV step (if on), Mopuri's random transforms (if on the image), clamp: the ops after each logit step."""
    ops: list = []
    if tv and settings.tv_weight > 0:
        ops.append(TVStep(settings.tv_weight, lr=settings.lr, every=settings.tv_every))
    if settings.transforms and settings.transforms_on == "image":
        ops.append(_mopuri(settings, RandomImpressionTransforms))
    ops.append(ClampToPixelRange())
    return ops


def _input_transforms(settings: ImpressionSettings) -> list:
    """The random transforms on the network's input (if on, and set to act there): Lucid's or Mopuri's."""
    if not settings.transforms or settings.transforms_on != "input":
        return []
    if settings.transform_set == "lucid":
        return lucid_transforms()
    return [_mopuri(settings, RandomImpressionInputTransforms)]


def parametrization(settings: ImpressionSettings) -> Parametrization:
    """The engine's parametrization for ``settings.parametrization`` (MACO with the photos' magnitude)."""
    if settings.parametrization == "maco":
        return Maco("photos")
    return parametrization_for(settings.parametrization)


def optimization_model(net, settings: ImpressionSettings):
    """The network the run differentiates: ``net`` with its BatchNorms folded (``fold_batchnorm``), or ``net``.

    Only input gradients are needed, so the folded copy computes the same function with one
    pass over each activation fewer; the metrics and the saved image's scores use ``net``.
    """
    return input_gradient_model(net) if settings.fold_batchnorm else net


def start_images(net, settings: ImpressionSettings, generators: list[torch.Generator]) -> torch.Tensor:
    """x0: Mopuri's noise on the mean (pixel), or the parametrization's own random start, decoded."""
    n = len(generators)
    if settings.parametrization == "pixel":
        return uniform_noise_on_mean(net, n, generators)
    param = parametrization(settings)
    with torch.no_grad():
        return param.decode(param.random(net, generators, net.input_size), net)


def learning_rate_map(settings: ImpressionSettings, iterations: int, c1: float, mask=None) -> SaliencyLearningRate:
    """Eqs. 2-4 for a run of ``iterations`` steps (or the uniform rate, with ``saliency_lr`` off), times ``mask``."""
    return SaliencyLearningRate(c2=settings.c2, t_switch=settings.t_switch,
                                grad_cum0=settings.grad_cum0 if settings.saliency_lr else settings.lr,
                                iterations=iterations, c1=c1, enabled=settings.saliency_lr,
                                peak=settings.lr_map_peak, sigma=settings.saliency_sigma, mask=mask)


def engine_parts(settings: ImpressionSettings, rate: SaliencyLearningRate | None, *,
                 objective: Objective | None = None, mask=None, background: torch.Tensor | None = None,
                 tv: bool | None = None) -> dict[str, Any]:
    """The engine's parts of one (saliency-driven) run on ``settings.parametrization``.

    ``rate`` None: the pre-CI, ``preci_iterations`` plain steps at ``preci_lr``; otherwise a
    run of ``rate.iterations`` steps (the map's schedule is laid out over them) at ``lr``.
    ``objective`` defaults to the target logit.  ``mask``/``background``: the growing circle;
    on pixels it is part of the map, otherwise it composites the decoded image over
    ``background``.  ``tv`` overrides ``settings.tv`` (the pre-CI has none).
    """
    objective = objective if objective is not None else ClassLogit()
    tv = settings.tv if tv is None else tv
    iterations = settings.preci_iterations if rate is None else rate.iterations
    if settings.parametrization == "pixel":
        parts = dict(objective=objective, parametrization=Pixel(), transforms=_input_transforms(settings),
                     post_steps=_pixel_post_steps(settings, tv), iterations=iterations)
        if rate is None:
            return dict(parts, step_rule=MapScaledGradient(settings.preci_lr))
        return dict(parts, step_rule=MapScaledGradient(1.0), before_step=rate)
    param = parametrization(settings)
    if mask is not None:
        param = MaskedOverBackground(param, mask, background)
    if tv and settings.tv_weight > 0:
        objective = objective - settings.tv_weight * TotalVariation(every=settings.tv_every)
    transforms = _input_transforms(settings)
    if rate is not None:
        transforms = [RateMapGradient(rate), *transforms]
    return dict(objective=objective, step_rule=Adam(settings.preci_lr if rate is None else settings.lr),
                parametrization=param, transforms=transforms, post_steps=[], iterations=iterations)
