"""Integrated Gradients (Sundararajan et al., 2017), batched over the path's alpha steps."""

from __future__ import annotations

import numpy as np
import torch

from ..gradients import class_score_gradient
from .base import SaliencyMethod, check_blur_sigma, check_choice, check_integer, reference_image

BASELINES = ("black", "blur")


class IntegratedGradients(SaliencyMethod):
    """IG_i = (x_i - x'_i) * integral_0^1 dS_c/dx_i (x' + a (x - x')) da, S_c the logit.

    The integral is a Gauss-Legendre rule with ``steps`` nodes on [0, 1] (Captum's
    default rule), so completeness, sum_i IG_i = S_c(x) - S_c(x'), holds up to the
    quadrature error; along a path through many ReLU6 kinks that error shrinks slowly
    with ``steps``, so check it with ``attributions`` before reading IG as exact.  ``baseline`` x': ``"black"`` (pixel value 0) or ``"blur"`` (the
    image blurred with ``blur_sigma`` px, Sturmfels et al.'s blurred baseline).  The
    N * steps path points go through the model ``batch_size`` at a time.  The map is
    |sum over colour channels of IG| (signed attributions: ``attributions``).
    """

    name = "integrated_gradients"
    options = {"steps": 32, "baseline": "black", "blur_sigma": 10.0, "batch_size": 32}

    def check_options(self) -> None:
        check_integer(self.steps, "integrated_gradients: steps", 1, 1000)
        check_choice(self.baseline, "integrated_gradients: baseline", BASELINES)
        check_blur_sigma(self.blur_sigma, "integrated_gradients: blur_sigma")
        check_integer(self.batch_size, "integrated_gradients: batch_size")

    def baseline_image(self, x: torch.Tensor) -> torch.Tensor:
        return reference_image(self.net, x, self.baseline, self.blur_sigma)

    def attributions(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Signed IG (N, 3, H, W) of preprocessed ``x`` for class indices ``targets``."""
        nodes, weights = np.polynomial.legendre.leggauss(self.steps)
        alphas = torch.tensor((nodes + 1) / 2, dtype=x.dtype, device=x.device)  # [-1, 1] -> [0, 1]
        weights = torch.tensor(weights / 2, dtype=x.dtype, device=x.device)
        baseline = self.baseline_image(x)
        delta = x - baseline
        n_images, steps = x.shape[0], self.steps
        total = torch.zeros_like(x)
        # Path point k of the flattened N*steps points is image k // steps at alpha k % steps.
        for start in range(0, n_images * steps, self.batch_size):
            k = torch.arange(start, min(start + self.batch_size, n_images * steps), device=x.device)
            image, step = k // steps, k % steps
            a = alphas[step].view(-1, 1, 1, 1)
            _logits, grad = class_score_gradient(self.net, baseline[image] + a * delta[image], targets[image])
            total.index_add_(0, image, grad * weights[step].view(-1, 1, 1, 1))
        return delta * total

    def compute(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.attributions(x, targets).sum(dim=1).abs()
