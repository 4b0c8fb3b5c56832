"""The saliency-driven learning-rate map (eqs. 2-4) and the circle-radius schedule (sec. 3.3).

Addepalli et al. give every pixel its own learning rate, built from the saliency
of the current step and a cumulative weighted saliency of the earlier steps::

    grad_cum_0 = 0.1                                             (uniform start)
    grad_cum_i = (iter · grad_cum_{i-1} + C · ĝ_i) / (iter + C)   (eq. 2, our reading)
    C          = C1 if iter < t else C2,   C1 = C2 · max_iter / t (eq. 3)
    lr_map_i   = grad_cum_{i-1} · ĝ_i                             (eq. 4)

**Our reading of eq. 2.**  As printed, ``grad_cum_{i-1} · iter + C · grad_i/‖grad_i‖``
multiplies the history by the iteration number at every step, so grad_cum would grow
like iter! (10^262 after 150 steps) and the learning rate with it: no run could
survive that.  The text calls grad_cum a "cumulative weighted gradient" and lets
C weigh "the direction of the current gradient"; the only reading under which both
hold and the map stays on the scale of its start value 0.1 is a *weighted running
average* -- the history counts ``iter`` times, the new map ``C`` times, and the sum is
divided by ``iter + C``.  Then C1 = C2 · max_iter / t (large early) lets the map follow
the current saliency closely while the object is forming, and C2 (small, late)
freezes the map onto the pixels that were salient for long: exactly the behaviour
the paper describes ("pixels that maximally contribute develop at a faster rate").
``iter`` is the 1-based number of the step being taken (i), so grad_cum_0 weighs like
one earlier map at the first step.

**What ĝ_i is.**  The map multiplies a per-pixel rate, and a rate must not change
sign (a negative rate would descend), so ĝ_i is the *saliency* (Simonyan et al.:
max over colour channels of |∂L_c/∂I|), one value per pixel shared by the three
channels.  We normalise it by its per-image maximum (the L∞ norm) instead of the
L2 norm: with the L2 norm over 50 000 pixels each entry is ~0.004, grad_cum would
collapse ~25× below its 0.1 start after one step, and the start value would be
meaningless; with the maximum, ĝ_i and grad_cum both live in [0, 1].

**Scale.**  ĝ and grad_cum in [0, 1] make eq. 4's map small where the saliency is
spread out, because ĝ's maximum is one pixel, and its size changes from step to
step with how concentrated the saliency is.  The paper's map multiplies the raw
VGG-F gradient in 0-255 units, a scale we do not have.  What the paper says is the
intent: the map starts at the uniform rate (grad_cum_0 = the plain run's 0.1), the
pixels that contribute most develop fastest, and the main run moves slower than
the pre-CI's "very high" rate.  So the map is rescaled per image and step to peak
at ``peak`` (``lr_map_peak``, 0.5: above the uniform 0.1, half the pre-CI's 1.0):
every other pixel moves in proportion to eq. 4.  (A fixed
factor instead let the peak reach 4.4 normalised units, 560 levels, in one step.)
``ctx.state['lr_map_stats']`` keeps, per step, the map's peak, mean and the
fraction of pixels it leaves still; the result's JSON reports them.

The radius of the single-object mask grows linearly from ``radius_start`` (1) to
``radius_max`` (150 px) over ``radius_iterations`` (150) steps and then stays.
"""

from __future__ import annotations

from dataclasses import dataclass
import torch

from ..errors import ImpressionError

from ..filters import gaussian_blur
from ..optimize.context import StepContext

#: Paper values (sec. 3.2): C2 = 4, t = 150, grad_cum_0 = 0.1.
C2 = 4.0
T_SWITCH = 150
GRAD_CUM0 = 0.1


def c1_for(c2: float, iterations: int, t_switch: int) -> float:
    """Eq. 3: C1 = C2 · max_iter / t, the paper's max_iter being the ``iterations`` setting."""
    if t_switch <= 0:
        raise ImpressionError(f"t_switch must be a positive number of iterations, got {t_switch}.")
    return float(c2) * float(iterations) / float(t_switch)


def current_weight(iteration: int, c1: float, c2: float, t_switch: int) -> float:
    """The weight C of the new saliency map at 1-based ``iteration``: C1 while iter < t, then C2."""
    return float(c1) if iteration < t_switch else float(c2)


def radius_at(step: int, radius_start: float = 1.0, radius_max: float = 150.0, radius_iterations: int = 150) -> float:
    """Mask radius (pixels) at 0-based ``step``: linear from start to max over ``radius_iterations`` steps, then flat."""
    if radius_iterations <= 0:
        return float(radius_max)
    frac = min(max(step, 0), radius_iterations) / radius_iterations
    return float(radius_start) + (float(radius_max) - float(radius_start)) * frac


def saliency(grad: torch.Tensor) -> torch.Tensor:
    """Simonyan saliency: max over channels of |grad|, shape (N, 1, H, W)."""
    return grad.abs().amax(dim=1, keepdim=True)


def normalised_saliency(grad: torch.Tensor, eps: float = 1e-12, sigma: float = 0.0) -> torch.Tensor:
    """ĝ: the saliency (blurred by ``sigma`` px if > 0) divided by its per-image maximum (values in [0, 1])."""
    s = gaussian_blur(saliency(grad), sigma)
    return s / (s.flatten(1).amax(1).view(-1, 1, 1, 1) + eps)


def update_grad_cum(grad_cum: torch.Tensor, g_hat: torch.Tensor, iteration: int, weight: float) -> torch.Tensor:
    """Eq. 2 (weighted running average): (iter · grad_cum + C · ĝ) / (iter + C)."""
    return (iteration * grad_cum + weight * g_hat) / (iteration + weight)


@dataclass
class SaliencyLearningRate:
    """The ``before_step`` hook of a saliency-driven run: writes ``ctx.state['lr_map']``.

    With ``enabled`` False the map is the uniform ``grad_cum0`` (the plain CI rate).
    ``mask`` (optional) is a function ``(ctx) -> (N, 1, H, W)`` multiplied in (the
    growing circle of sec. 3.3).  The engine's step rule multiplies the map into the
    (normalised) gradient.  ``ctx.state`` keeps ``grad_cum`` between steps and
    ``saliency`` (the last ĝ) for the live view.
    """

    c2: float = C2
    t_switch: int = T_SWITCH
    grad_cum0: float = GRAD_CUM0
    iterations: int = 300
    c1: float | None = None
    enabled: bool = True
    mask: object = None
    peak: float = 0.5  # the map's largest entry per image and step (lr_map_peak, see the module doc)
    sigma: float = 0.0  # blur of the saliency before eqs. 2-4 (saliency_sigma; 0: the paper's per-pixel map)

    def __post_init__(self) -> None:
        if self.c1 is None:
            self.c1 = c1_for(self.c2, self.iterations, self.t_switch)

    def __call__(self, ctx: StepContext, grad: torch.Tensor) -> None:
        n, _, h, w = grad.shape
        if self.enabled:
            iteration = ctx.step + 1  # 1-based: the step being taken is i
            g_hat = normalised_saliency(grad, sigma=self.sigma)
            grad_cum = ctx.state.get("grad_cum")
            if grad_cum is None:
                grad_cum = torch.full((n, 1, h, w), float(self.grad_cum0), device=grad.device, dtype=grad.dtype)
            lr_map = grad_cum * g_hat  # eq. 4 uses grad_cum_{i-1}
            weight = current_weight(iteration, self.c1, self.c2, self.t_switch)
            ctx.state["grad_cum"] = update_grad_cum(grad_cum, g_hat, iteration, weight)
            ctx.state["saliency"] = g_hat
            if self.mask is not None:
                lr_map = lr_map * self.mask(ctx)
            top = lr_map.flatten(1).amax(1).view(-1, 1, 1, 1)
            lr_map = lr_map * (self.peak / top.clamp_min(1e-12))
        else:
            lr_map = torch.full((n, 1, h, w), float(self.grad_cum0), device=grad.device, dtype=grad.dtype)
            if self.mask is not None:
                lr_map = lr_map * self.mask(ctx)
        ctx.state["lr_map"] = lr_map
        flat = lr_map.flatten(1)
        ctx.state.setdefault("lr_map_stats", []).append({
            "step": ctx.step,
            "peak": flat.amax(1).tolist(),
            "mean": flat.mean(1).tolist(),
            "still_fraction": (flat <= 1e-6 * self.peak).float().mean(1).tolist(),
        })


class MapScaledGradient:
    """Step rule: x + lr_map ⊙ g / max|g|, the gradient normalised by its per-image maximum.

    Why a normalisation at all: the paper steps 0-255 pixels by 0.1 · ∂L/∂I of VGG-F;
    carried literally into our normalised units (1 unit = 127.5 levels for
    mean = std = 0.5) that is 0.1 / 127.5² · ∂L/∂x, which for EfficientNet-lite moves
    a pixel by ~1e-7 per step.  Gradient scales differ between networks anyway, so we
    fix the scale instead: with lr_map = 0.1 the most salient pixel moves 0.1
    normalised units (~13 of 255 levels) and the others in proportion.  The engine's
    ``PlainGradient`` would need the 1/max|g| folded into the map, which would make
    ``ctx.state['lr_map']`` no longer the paper's map.
    """

    name = "map_scaled"

    def __init__(self, lr: float = 1.0, eps: float = 1e-12):
        self.lr, self.eps = float(lr), float(eps)

    def __call__(self, x: torch.Tensor, grad: torch.Tensor, ctx: StepContext) -> torch.Tensor:
        scale = grad.abs().flatten(1).amax(1).view(-1, 1, 1, 1) + self.eps
        lr_map = ctx.state.get("lr_map")
        step = grad / scale if lr_map is None else lr_map * grad / scale
        return x + self.lr * step

    def settings(self) -> dict:
        return {"rule": self.name, "lr": self.lr}
