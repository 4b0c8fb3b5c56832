"""Class impressions' random transforms (Mopuri et al.) and the TV step.

**Random transforms** (Mopuri et al., "Ask, Acquire and Attack": the image must stay
the class under them, as natural images do).  Where they act is a setting
(``transforms_on``):

* ``"input"`` (the default): on the network's input only (``RandomImpressionInputTransforms``),
  as feature-visualization code does.  The stored image is never resampled, so
  transforms cannot pile up over the steps.
* ``"image"``: on the stored image after every step (``RandomImpressionTransforms``),
  our earlier reading of the paper.  Then they do pile up: every bilinear resample
  is a small blur and every noise and colour draw a random walk, so a noise image
  loses its detail and the channel means drift over a run (measured in the README).

Per image, from that image's own generator, in this order:

* uniform noise: every pixel and channel gets U[-noise, noise] (default ±2 of 255 levels);
* colour shift: each channel gets one U[-color_shift, color_shift] offset (default ±4 of 255);
* reflect padding by ``pad`` pixels (default 16, enough for the rotation and the
  0.95 zoom-out to stay inside real content at 224 px);
* rescale by one of ``scales`` = {0.95, 0.975, 1, 1.025, 1.05}, chosen uniformly;
* rotation by U[-max_rotation, max_rotation] degrees (default ±5°) about the centre;
* crop the centre back to the original size.

Levels are 8-bit levels of the 0-255 image and are converted with the model's std
(1 level = 1 / (255 · std) normalised units).  Rescale and rotation are one
``affine_grid`` / ``grid_sample`` (bilinear) for the whole batch; with scale 1 and
angle 0 the grid hits pixel centres exactly, so that step changes nothing.

**TV step.**  Addepalli et al. optimise the two parts of eq. 1 separately: the logit
step, and every ``every`` (k) iterations a descent step on the total variation,
x ← x - lr · λ1 · ∂TV/∂x.  It is a post-step, not a term of the objective, so that
the saliency of the logit alone drives the learning-rate map, and it is not masked
by that map, so that TV fades the background around the object (sec. 3.3).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

from ..optimize.objectives import total_variation
from ..optimize.transforms import PostStep, Transform, randint, uniform

#: Mopuri et al.'s rescale factors.
SCALES = (0.95, 0.975, 1.0, 1.025, 1.05)


class _MopuriTransforms:
    """Noise, colour shift, reflect pad, random rescale and rotation, centre crop (see module doc)."""

    def __init__(
        self,
        noise: float = 2.0,
        color_shift: float = 4.0,
        scales: Sequence[float] = SCALES,
        max_rotation: float = 5.0,
        pad: int = 16,
        every: int = 1,
    ):
        self.noise, self.color_shift = float(noise), float(color_shift)
        self.scales = tuple(float(s) for s in scales)
        self.max_rotation, self.pad, self.every = float(max_rotation), int(pad), int(every)

    def __call__(self, x: torch.Tensor, ctx) -> torch.Tensor:
        return self.apply(x, ctx)

    def apply(self, x: torch.Tensor, ctx) -> torch.Tensor:
        n, c, h, w = x.shape
        level = 1.0 / (255.0 * ctx.net.std)  # (1, 3, 1, 1): one 8-bit level in normalised units
        noise, shift, thetas = [], [], []
        for i in range(n):
            noise.append(uniform(ctx, i, -self.noise, self.noise, (c, h, w)))
            shift.append(uniform(ctx, i, -self.color_shift, self.color_shift, (c, 1, 1)))
            s = self.scales[randint(ctx, i, 0, len(self.scales) - 1)] if self.scales else 1.0
            a = math.radians(float(uniform(ctx, i, -self.max_rotation, self.max_rotation)))
            thetas.append(affine_theta(s, a, h + 2 * self.pad, w + 2 * self.pad))
        dev = x.device
        x = x + (torch.stack(noise).to(dev) + torch.stack(shift).to(dev)) * level
        return rescale_rotate(x, torch.stack(thetas).to(dev), self.pad)


class RandomImpressionTransforms(_MopuriTransforms, PostStep):
    """Mopuri's random transforms applied to the stored image after each step (``transforms_on="image"``)."""

    name = "random_transforms"


class RandomImpressionInputTransforms(_MopuriTransforms, Transform):
    """Mopuri's random transforms applied to the network's input only (``transforms_on="input"``)."""

    name = "random_input_transforms"


def affine_theta(scale: float, angle: float, h: int, w: int) -> torch.Tensor:
    """The (2, 3) ``affine_grid`` matrix that zooms by ``scale`` and rotates by ``angle`` (radians) about the centre.

    affine_grid maps output to input coordinates in [-1, 1] per axis, so the pixel-space
    rotation is corrected for the aspect ratio; a zoom by s reads the input at 1/s.
    """
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    return torch.tensor([[cos, -sin * h / w, 0.0], [sin * w / h, cos, 0.0]], dtype=torch.float32)


def rescale_rotate(x: torch.Tensor, theta: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflect-pad by ``pad``, resample every image with its own ``theta``, crop the centre back."""
    n, c, h, w = x.shape
    p = min(int(pad), h - 1, w - 1)  # reflect padding needs pad < size
    xp = F.pad(x, (p, p, p, p), mode="reflect") if p > 0 else x
    grid = F.affine_grid(theta.to(x.dtype), list(xp.shape), align_corners=False)
    out = F.grid_sample(xp, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return out[:, :, p : p + h, p : p + w]


def tv_gradient(x: torch.Tensor) -> torch.Tensor:
    """∂TV/∂x of the anisotropic total variation of eq. 1 (per image; no network involved)."""
    with torch.enable_grad():
        xi = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(total_variation(xi).sum(), xi)
    return g


class TVStep(PostStep):
    """x ← x − lr · λ1 · ∂TV/∂x every ``every`` (k) steps: the TV part of eq. 1, optimised on its own."""

    name = "tv_step"

    def __init__(self, tv_weight: float, lr: float = 0.1, every: int = 1):
        self.tv_weight, self.lr, self.every = float(tv_weight), float(lr), int(every)

    def __call__(self, x: torch.Tensor, ctx) -> torch.Tensor:
        if self.tv_weight == 0.0:
            return x
        return x - self.lr * self.tv_weight * tv_gradient(x)
