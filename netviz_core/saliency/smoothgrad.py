"""SmoothGrad (Smilkov et al., 2017): the vanilla map averaged over noisy copies of the input."""

from __future__ import annotations

import torch

from ..errors import SaliencyError
from ..gradients import class_score_gradient
from .base import SaliencyMethod, channel_max_abs


class SmoothGrad(SaliencyMethod):
    """Mean over ``n`` copies I + e, e ~ N(0, sigma^2), of the vanilla map max_c |dS_c/dI|.

    ``sigma`` is relative to the valid input range: the noise's standard deviation is
    ``sigma * (pixel_max - pixel_min)`` per channel, i.e. ``sigma`` of the [0, 1] pixel
    range whatever the model's normalisation.  The N*n noisy copies go through the
    model in chunks of ``batch_size`` images, which bounds memory.

    Every image gets the same noise (from a private generator seeded with ``seed``), so
    a map does not depend on the image's position in the batch nor on other threads.
    """

    name = "smoothgrad"
    options = {"n": 25, "sigma": 0.15, "batch_size": 32, "seed": 0}

    def check_options(self) -> None:
        if not isinstance(self.n, int) or isinstance(self.n, bool) or not 1 <= self.n <= 10_000:
            raise SaliencyError(f"smoothgrad: n must be an integer from 1 to 10000, got {self.n!r}.")
        if not isinstance(self.sigma, (int, float)) or not 0.0 <= float(self.sigma) <= 10.0:
            raise SaliencyError(f"smoothgrad: sigma must be a number from 0 to 10 (relative to the input range), got {self.sigma!r}.")
        if not isinstance(self.batch_size, int) or isinstance(self.batch_size, bool) or self.batch_size < 1:
            raise SaliencyError(f"smoothgrad: batch_size must be a positive integer, got {self.batch_size!r}.")

    def compute(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        n_images, n = x.shape[0], self.n
        generator = torch.Generator().manual_seed(int(self.seed))
        scale = float(self.sigma) * (self.net.pixel_max - self.net.pixel_min)  # (1, 3, 1, 1)
        noise = torch.randn((n, *x.shape[1:]), generator=generator).to(x.device) * scale
        total = torch.zeros((n_images, *x.shape[2:]), device=x.device)
        # Copy k of the flattened N*n copies is image k // n plus noise k % n.
        for start in range(0, n_images * n, self.batch_size):
            k = torch.arange(start, min(start + self.batch_size, n_images * n), device=x.device)
            image, copy = k // n, k % n
            _logits, w = class_score_gradient(self.net, x[image] + noise[copy], targets[image])
            total.index_add_(0, image, channel_max_abs(w))
        return total / n
