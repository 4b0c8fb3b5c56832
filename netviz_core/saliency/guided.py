"""Guided backpropagation and DeconvNet: the input gradient with modified rectifier rules.

Simonyan et al. (2014, "Relation to Deconvolutional Networks") compare, at a ReLU
X_{n+1} = max(X_n, 0), the backward signal R_{n+1} -> R_n of

* backpropagation (the gradient):  R_n = R_{n+1} * 1(X_n > 0)
* a DeconvNet:                     R_n = R_{n+1} * 1(R_{n+1} > 0)
* guided backpropagation (Springenberg et al.): both conditions,
                                   R_n = R_{n+1} * 1(X_n > 0) * 1(R_{n+1} > 0)

and every other layer (convolution, max-pooling with its switches, linear, norm)
back-propagates as the gradient does.

Rules for activations other than ReLU (the rule applied to every activation module
in ``RECTIFIERS``: ReLU, ReLU6, LeakyReLU, ELU/CELU/SELU, SiLU/Swish, GELU and its
tanh/quick variants, Mish, HardSwish/HardMish, Softplus), with phi'(X_n) the
activation's true local derivative:

* ``guided``:    R_n = phi'(X_n) * 1(X_n > 0) * max(R_{n+1}, 0)
  The true local derivative is kept, and both of the guided conditions are added:
  the sign of the incoming signal and the sign of the layer input.  For ReLU
  phi'(X_n) = 1(X_n > 0), so this is exactly the rule above; for ReLU6 it also
  stops the signal where the unit saturates (X_n >= 6); for SiLU/GELU/Mish the
  negative branch (where phi' can be negative) is dropped, so, as with ReLU, only
  non-negative signals leave a rectifier.
* ``deconvnet``: R_n = max(R_{n+1}, 0) whatever the activation.  A DeconvNet does not
  use the layer input at a rectifier at all, only the sign of the reconstruction;
  so no local derivative is kept (keeping phi' would make DeconvNet guided
  backpropagation for ReLU).

Gates that are not rectifiers (the sigmoid of squeeze-excitation, softmax
attention, tanh, hard-sigmoid) keep their true gradient, as do activations computed
by functional calls inside a module's ``forward`` (e.g. ``F.relu(x)``): only
activation *modules* can be swapped without touching the model.  A model with no
rectifier module at all is refused (``UnsupportedModelError``) rather than silently
returning the plain gradient.

The shared model is never modified: the rules live in a copy of the module tree
(one per rule, made once and cached weakly on the module) whose activation modules
are wrapped by ``RuleActivation``; the copy *shares* the original parameters and
buffers (no extra weight memory), which stay frozen.
"""

from __future__ import annotations

import copy
import itertools
import threading
import weakref

import torch
from torch import nn

from ..errors import UnsupportedModelError
from ..gradients import class_score_gradient
from ..models import LoadedModel
from .base import ModuleAsNet, SaliencyMethod, channel_max_abs

RULES = ("guided", "deconvnet")

#: Class names of the rectifier-like activation modules (torch.nn and timm.layers).
RECTIFIERS = frozenset(
    {
        "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "CELU", "SELU", "Softplus",
        "SiLU", "Swish", "SwishMe", "SwishAuto",
        "GELU", "GELUTanh", "QuickGELU",
        "Mish", "MishMe", "MishAuto",
        "Hardswish", "HardSwish", "HardSwishMe", "HardMish", "HardMishMe",
    }
)


class RectifierRule(torch.autograd.Function):
    """y = phi(x) forward; the ``rule``'s backward (see the module docstring)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, phi: nn.Module, rule: str) -> torch.Tensor:
        ctx.phi, ctx.rule = phi, rule
        ctx.save_for_backward(x)
        return phi(x)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        positive = grad_out.clamp(min=0)
        if ctx.rule == "deconvnet":
            return positive, None, None
        (x,) = ctx.saved_tensors
        # phi'(x) * max(R, 0) by the activation's own autograd, so every activation gets its true derivative.
        with torch.enable_grad():
            x_leaf = x.detach().requires_grad_(True)
            (local,) = torch.autograd.grad(ctx.phi(x_leaf), x_leaf, positive)
        return local * (x > 0), None, None


class RuleActivation(nn.Module):
    """Wraps one activation module of the copy so that its backward follows ``rule``."""

    def __init__(self, phi: nn.Module, rule: str) -> None:
        super().__init__()
        if hasattr(phi, "inplace"):
            phi.inplace = False  # the input X_n is saved for the backward rule: it must not be overwritten
        self.phi = phi
        self.rule = rule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return RectifierRule.apply(x, self.phi, self.rule)

    def extra_repr(self) -> str:
        return f"rule={self.rule}"


def is_rectifier(module: nn.Module) -> bool:
    return type(module).__name__ in RECTIFIERS and not isinstance(module, RuleActivation)


def rule_copy(module: nn.Module, rule: str) -> nn.Module:
    """A copy of ``module`` sharing its parameters and buffers, with every rectifier module wrapped."""
    shared = {id(t): t for t in itertools.chain(module.parameters(), module.buffers())}
    clone = copy.deepcopy(module, memo=shared)
    swapped = 0
    for parent in list(clone.modules()):
        for child_name, child in list(parent.named_children()):
            if is_rectifier(child):
                setattr(parent, child_name, RuleActivation(child, rule))
                swapped += 1
    if swapped == 0:
        raise UnsupportedModelError(
            f"{type(module).__name__} has no activation modules (ReLU, SiLU, GELU, ...) that {rule} could modify; "
            "its activations are functional calls, so the result would be the plain gradient. Use method='vanilla'."
        )
    return clone.eval()


_copies: "weakref.WeakKeyDictionary[nn.Module, dict[str, nn.Module]]" = weakref.WeakKeyDictionary()
_copies_lock = threading.Lock()


def cached_rule_copy(module: nn.Module, rule: str) -> nn.Module:
    """``rule_copy`` made once per (module, rule); the cache entry goes away with the module."""
    with _copies_lock:
        per_rule = _copies.setdefault(module, {})
        if rule not in per_rule:
            per_rule[rule] = rule_copy(module, rule)
        return per_rule[rule]


def modified_input_gradient(net: LoadedModel, x: torch.Tensor, targets, rule: str) -> torch.Tensor:
    """The signed input "gradient" (N, 3, H, W) of the target logits under ``rule`` ('guided' or 'deconvnet')."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    clone = cached_rule_copy(net.module, rule)
    _logits, grad = class_score_gradient(ModuleAsNet(clone, net.device), x, targets)
    return grad


class GuidedBackprop(SaliencyMethod):
    """max over channels of |R_0| with guided backpropagation's rule (both conditions)."""

    name = "guided"

    def compute(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return channel_max_abs(modified_input_gradient(self.net, x, targets, "guided"))


class DeconvNet(SaliencyMethod):
    """max over channels of |R_0| with the DeconvNet rule (sign of the reconstruction only)."""

    name = "deconvnet"

    def compute(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return channel_max_abs(modified_input_gradient(self.net, x, targets, "deconvnet"))
