"""Saliency-driven class impressions on any parametrization (pixel, fourier, maco).

With ``pixel`` the paper's parts act on the optimised tensor itself: the learning-rate
map multiplies the step (``schedule.MapScaledGradient``), the growing circle is part of
the map, TV is a separate descent step (``transforms.TVStep``).  A spectral
parametrization has no per-pixel parameter: every Fourier coefficient moves every
pixel.  So here the same three parts act on the *decoded* image x = decode(p):

* the rate map scales the gradient w.r.t. x on its way back to p
  (``RateMapGradient``, the first transform of the network's input: identity going
  in, ∂L/∂x → lr_map ⊙ ∂L/∂x / max|∂L/∂x| coming back, the map of eqs. 2-4 computed
  from that very gradient);
* the circular mask composites the decoded image over the background,
  x = b + m_k ⊙ (decode(p) − b) (``MaskedOverBackground``): outside the circle the
  picture is the start image b, whatever the spectrum does there;
* TV is a term of the objective on x (method.py), not scaled by the map, so that the
  logit's saliency alone drives the map (as the separate TV step does for pixels).

The step rule then moves p (Adam).  No hook is registered anywhere: the gradient is
scaled by a custom autograd function inside the graph of one step, which is freed
with it.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..optimize.context import StepContext
from ..optimize.parametrizations import Parametrization
from ..optimize.transforms import Transform
from .schedule import SaliencyLearningRate


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; backward returns ``scale(grad)``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        ctx.scale = scale
        return x.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return ctx.scale(grad), None


def per_image_max(t: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """max |t_n| of each image, shaped (N, 1, 1, 1) (the normalisation of ``MapScaledGradient``)."""
    return t.abs().flatten(1).amax(1).view(-1, 1, 1, 1) + eps


class RateMapGradient(Transform):
    """The saliency-driven learning-rate map as a scaling of the image gradient (see the module doc).

    Put it first in the transforms, so that the gradient it scales is ∂L/∂x of the
    untransformed image.  ``rate`` (a ``SaliencyLearningRate``) writes ``ctx.state['lr_map']``
    and its statistics, as in the pixel path.
    """

    name = "rate_map_gradient"

    def __init__(self, rate: SaliencyLearningRate):
        self.rate = rate

    def __call__(self, x: torch.Tensor, ctx: StepContext) -> torch.Tensor:
        def scale(grad: torch.Tensor) -> torch.Tensor:
            self.rate(ctx, grad)
            return ctx.state["lr_map"] * grad / per_image_max(grad)

        return _ScaleGradient.apply(x, scale)


class MaskedOverBackground(Parametrization):
    """x_k = b + m_k ⊙ (decode(p) − b): the inner parametrization's image inside the mask, ``background`` outside.

    ``mask(ctx)`` gives (N or 1, 1, H, W) for the step (the growing circle of sec. 3.3);
    ``background`` is (N, 3, H, W) in normalised units (the run's start image).
    """

    def __init__(self, inner: Parametrization, mask: Callable[[StepContext], torch.Tensor], background: torch.Tensor):
        self.inner, self.mask, self.background = inner, mask, background.detach()
        self.name = inner.name

    def encode(self, x, net):
        return self.inner.encode(x, net)

    def decode(self, p, net):
        return self.inner.decode(p, net)

    def decode_at(self, p, ctx):
        b = self.background
        return b + self.mask(ctx) * (self.inner.decode(p, ctx.net) - b)

    def random(self, net, generators, size):
        return self.inner.random(net, generators, size)

    def settings(self) -> dict:
        return self.inner.settings()
