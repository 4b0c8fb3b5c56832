"""Transforms and post-step operations on the image batch.

Two kinds, both per image and driven by each image's own random generator (so a
batch reproduces separate runs with the same seed):

* **Transforms** (``Transform``) act on the image on its way into the network and
  are differentiable, so autograd undoes them on the way back: the gradient lands
  on the untransformed image.  ``Jitter`` is CS231n's "roll the image, step, roll
  back", done as one differentiable roll (identical for a permutation like a roll).
* **Post-step operations** (``PostStep``) change the image itself after the step:
  clamping to the valid pixel range, periodic Gaussian blur (Yosinski et al.),
  the L∞ projection of fooling images, the random transforms of class impressions.

Everything is torch on the model's device: no numpy round trip per step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..filters import gaussian_blur

if TYPE_CHECKING:  # pragma: no cover
    from .engine import StepContext


def randint(ctx: "StepContext", i: int, low: int, high: int) -> int:
    """Uniform integer in [low, high] from image i's generator."""
    return int(torch.randint(low, high + 1, (1,), generator=ctx.generators[i]).item())


def uniform(ctx: "StepContext", i: int, low: float, high: float, shape=(1,)) -> torch.Tensor:
    """Uniform floats in [low, high) from image i's generator (on the CPU, to be moved by the caller)."""
    return torch.rand(shape, generator=ctx.generators[i]) * (high - low) + low


class Transform:
    """A differentiable map applied to the batch before the forward pass."""

    name = "transform"

    def __call__(self, x: torch.Tensor, ctx: "StepContext") -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def settings(self) -> dict:
        return {"transform": self.name, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class Jitter(Transform):
    """Roll each image by a random (dy, dx) with |dy|, |dx| ≤ ``pixels`` (CS231n's jitter)."""

    name = "jitter"

    def __init__(self, pixels: int):
        self.pixels = int(pixels)

    def __call__(self, x, ctx):
        if self.pixels <= 0:
            return x
        shifts = [(randint(ctx, i, -self.pixels, self.pixels), randint(ctx, i, -self.pixels, self.pixels))
                  for i in range(x.shape[0])]
        if all(s == shifts[0] for s in shifts):
            return torch.roll(x, shifts=shifts[0], dims=(2, 3))
        return torch.cat([torch.roll(x[i : i + 1], shifts=s, dims=(2, 3)) for i, s in enumerate(shifts)])


class PostStep:
    """An operation on the image after each step (or every ``every`` steps)."""

    name = "post_step"
    every: int = 1

    def active(self, step: int) -> bool:
        return self.every <= 1 or step % self.every == 0

    def __call__(self, x: torch.Tensor, ctx: "StepContext") -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def settings(self) -> dict:
        return {"op": self.name, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class ClampToPixelRange(PostStep):
    """Keep every channel inside the normalised image of [0, 1] (CS231n clamps after each step)."""

    name = "clamp"

    def __call__(self, x, ctx):
        return torch.maximum(torch.minimum(x, ctx.net.pixel_max), ctx.net.pixel_min)


class GaussianBlur(PostStep):
    """Blur with standard deviation ``sigma`` pixels every ``every`` steps (implicit regulariser)."""

    name = "blur"

    def __init__(self, sigma: float = 0.5, every: int = 10):
        self.sigma, self.every = float(sigma), int(every)

    def __call__(self, x, ctx):
        return gaussian_blur(x, self.sigma)


class ProjectLinf(PostStep):
    """Project onto ‖X − X₀‖∞ ≤ ε (ε in normalised units), X₀ in ``ctx.state['x0']``.

    ``epsilon`` is a number, or a tensor broadcastable to the batch, e.g. (1, 3, 1, 1):
    a bound fixed in 0–255 pixel units is a different number of normalised units on
    channels of different std.
    """

    name = "project_linf"

    def __init__(self, epsilon: "float | torch.Tensor"):
        self.epsilon = epsilon if isinstance(epsilon, torch.Tensor) else float(epsilon)

    def __call__(self, x, ctx):
        x0 = ctx.state["x0"]
        return torch.maximum(torch.minimum(x, x0 + self.epsilon), x0 - self.epsilon)
