"""Step rules: how the gradient of the objective moves the image.

A step rule is called as ``rule(x, grad, ctx) -> new x`` and must treat every image
of the batch on its own (norms per image, element-wise state), so that a batch of
N images gives the same result as N separate runs.  Rules return new tensors and
never modify ``x`` in place: frames already handed out keep their pictures.
"""

from __future__ import annotations

import torch

from .context import StepContext


def per_image_norm(t: torch.Tensor) -> torch.Tensor:
    """‖t_n‖₂ for each image (or parameter tensor), shaped (N, 1, ..., 1) for broadcasting."""
    return t.flatten(1).norm(dim=1).view(-1, *[1] * (t.dim() - 1))


class StepRule:
    name = "step"

    def __call__(self, x: torch.Tensor, grad: torch.Tensor, ctx: StepContext) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def settings(self) -> dict:
        return {"rule": self.name, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class NormalizedGradient(StepRule):
    """dX = lr · g / ‖g‖₂ (CS231n): a step of fixed length ``lr`` in normalised pixel units."""

    name = "normalized"

    def __init__(self, lr: float = 1.0, eps: float = 1e-12):
        self.lr, self.eps = float(lr), float(eps)

    def __call__(self, x, grad, ctx):
        # One fused pass over the image: x + g · (lr / ‖g‖), the scale computed per image.
        return torch.addcmul(x, grad, self.lr / (per_image_norm(grad) + self.eps))


class SignGradient(StepRule):
    """dX = ε_step · sign(g): the L∞ steepest-ascent step (FGSM / PGD).

    ``step_size`` is a number, or a tensor broadcastable to the batch, e.g. (1, 3, 1, 1)
    for a step of the same size in 0–255 pixel units on channels of different std.
    """

    name = "sign"

    def __init__(self, step_size: "float | torch.Tensor"):
        self.step_size = step_size if isinstance(step_size, torch.Tensor) else float(step_size)

    def __call__(self, x, grad, ctx):
        return x + self.step_size * grad.sign()


class PlainGradient(StepRule):
    """dX = lr · g, optionally times a per-pixel learning-rate map put in ``ctx.state['lr_map']``."""

    name = "plain"

    def __init__(self, lr: float = 1.0):
        self.lr = float(lr)

    def __call__(self, x, grad, ctx):
        lr_map = ctx.state.get("lr_map")
        return x + (self.lr * grad if lr_map is None else self.lr * lr_map * grad)


class Adam(StepRule):
    """Adam ascent, element-wise (so batched and separate runs agree); state lives in ``ctx.state``."""

    name = "adam"

    def __init__(self, lr: float = 0.05, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), float(eps)

    def __call__(self, x, grad, ctx):
        m = ctx.state.get("adam_m")
        v = ctx.state.get("adam_v")
        t = ctx.state.get("adam_t", 0) + 1
        m = grad * (1 - self.beta1) if m is None else m * self.beta1 + grad * (1 - self.beta1)
        v = grad.square() * (1 - self.beta2) if v is None else v * self.beta2 + grad.square() * (1 - self.beta2)
        ctx.state.update(adam_m=m, adam_v=v, adam_t=t)
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        return x + self.lr * m_hat / (v_hat.sqrt() + self.eps)


class NAdam(StepRule):
    """NAdam ascent (Dozat 2016, as ``torch.optim.NAdam``: momentum decay ψ = 0.004), element-wise.

    MACO (Fel et al. 2023) optimises the phase with NAdam; Nesterov momentum looks one
    step ahead, which helps where the landscape turns quickly (a phase wraps around).
    """

    name = "nadam"

    def __init__(self, lr: float = 0.05, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 momentum_decay: float = 0.004):
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), float(eps)
        self.momentum_decay = float(momentum_decay)

    def __call__(self, x, grad, ctx):
        m = ctx.state.get("nadam_m")
        v = ctx.state.get("nadam_v")
        t = ctx.state.get("nadam_t", 0) + 1
        mu_product = ctx.state.get("nadam_mu_product", 1.0)
        mu = self.beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = self.beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        mu_product *= mu
        m = grad * (1 - self.beta1) if m is None else m * self.beta1 + grad * (1 - self.beta1)
        v = grad.square() * (1 - self.beta2) if v is None else v * self.beta2 + grad.square() * (1 - self.beta2)
        ctx.state.update(nadam_m=m, nadam_v=v, nadam_t=t, nadam_mu_product=mu_product)
        denom = (v / (1 - self.beta2**t)).sqrt() + self.eps
        direction = grad * ((1 - mu) / (1 - mu_product)) + m * (mu_next / (1 - mu_product * mu_next))
        return x + self.lr * direction / denom


#: Step rules by the name of the ``optimizer`` setting; each takes the learning rate ``lr``.
OPTIMIZERS: dict[str, type[StepRule]] = {"normalized": NormalizedGradient, "adam": Adam, "nadam": NAdam}


def step_rule_for(optimizer: str, lr: float) -> StepRule:
    """The step rule named ``optimizer`` (one of ``OPTIMIZERS``) with learning rate ``lr``."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}.")
    return OPTIMIZERS[optimizer](lr)
