"""Deletion and insertion curves and their AUC (Petsiuk et al. 2018, RISE).

* **deletion** (Petsiuk et al. 2018, RISE): replace the top fraction f of pixels by a
  baseline (``deletion_baseline``: ``"mean"``, the image's mean colour, a constant fill
  like RISE's; ``"blur"``, the image blurred with ``blur_sigma``; ``"black"``) for f = 0
  and ``steps`` fractions from 1 % to 100 %; AUC = trapezoid area under s(f).  Lower is
  better: a faithful map removes the evidence first.  Blur is not the default because a
  blurred object keeps its shape: on the sample cat, blurring away the pixels in
  Grad-CAM's order left the class standing longer than blurring the centre or random
  pixels, so blur-deletion rewarded scattered maps over ones that cover the object.
* **insertion** (ibid.): start from the blurred image (RISE's insertion baseline,
  Gaussian sigma = ``blur_sigma`` px, 5 as in RISE's code) and put the top fraction f
  of the original pixels back.  Higher is better.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ...models import LoadedModel
from ..base import reference_image
from .common import Curve, MetricSettings, class_scores, one_image, one_map, removal_ranks, target_class


def blurred(net: LoadedModel, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """The insertion baseline: the image blurred (Gaussian, ``sigma`` px)."""
    return reference_image(net, x, "blur", sigma)


def deletion_fill(net: LoadedModel, x: torch.Tensor, settings: MetricSettings) -> torch.Tensor:
    """What deleted pixels become: ``settings.deletion_baseline`` (see ``base.reference_image``)."""
    return reference_image(net, x, settings.deletion_baseline, settings.blur_sigma)


def fractions_for(steps: int) -> np.ndarray:
    """f = 0, then ``steps`` fractions evenly from 1 % to 100 %."""
    return np.concatenate([[0.0], np.linspace(0.01, 1.0, steps)])


def _pixel_counts(fractions, n: int) -> list[int]:
    return [int(round(float(f) * n)) for f in fractions]


def _perturbation_curve(net, x, ranks, target, settings, *, name, start, end) -> Curve:
    """s at each fraction f: the top f of pixels (by rank) come from ``end``, the rest from ``start``."""
    t0 = time.perf_counter()
    fractions = fractions_for(settings.steps)
    counts = _pixel_counts(fractions, ranks.numel())
    r = ranks.to(x.device)[None, None]
    images = [torch.where(r < k, end, start) for k in counts]
    scores = class_scores(net, images, target, settings)
    return Curve(name, tuple(float(f) for f in fractions), tuple(scores), time.perf_counter() - t0)


def deletion_curve(net: LoadedModel, x, saliency_map, target=None, settings: MetricSettings | None = None) -> Curve:
    """Petsiuk et al.'s deletion curve (lower AUC is better); see the module docstring."""
    settings = settings or MetricSettings()
    x = one_image(net, x)
    ranks = removal_ranks(one_map(saliency_map, net.input_size), settings.seed)
    return _perturbation_curve(net, x, ranks, target_class(net, x, target), settings, name="deletion",
                               start=x, end=deletion_fill(net, x, settings))


def insertion_curve(net: LoadedModel, x, saliency_map, target=None, settings: MetricSettings | None = None) -> Curve:
    """Petsiuk et al.'s insertion curve from the blurred image (higher AUC is better)."""
    settings = settings or MetricSettings()
    x = one_image(net, x)
    ranks = removal_ranks(one_map(saliency_map, net.input_size), settings.seed)
    return _perturbation_curve(net, x, ranks, target_class(net, x, target), settings, name="insertion",
                               start=blurred(net, x, settings.blur_sigma), end=x)
