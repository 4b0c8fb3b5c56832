"""Simonyan et al. (2014): the class saliency map from the gradient of the class score."""

from __future__ import annotations

import torch

from ..gradients import class_score_gradient
from .base import SaliencyMethod, channel_max_abs


class Vanilla(SaliencyMethod):
    """M(i, j) = max_channels |w(i, j)| with w = dS_c/dI at I_0, S_c the logit (not the softmax).

    The unnormalised score is used because the posterior P_c can also rise by lowering
    the other classes' scores, which says nothing about class c itself.
    """

    name = "vanilla"

    def compute(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        _logits, w = class_score_gradient(self.net, x, targets)
        return channel_max_abs(w)
