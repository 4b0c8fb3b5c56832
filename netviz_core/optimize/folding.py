"""BatchNorm folded into the convolution before it, for the paths that need only input gradients.

In eval mode a BatchNorm is an affine map per channel, y = γ (x − μ)/√(σ² + ε) + β,
so the convolution before it can absorb it: W' = W · s, b' = (b − μ) · s + β with
s = γ/√(σ² + ε).  The folded network computes the same function with one pass over
each activation fewer, forward and backward.  Class visualization, fooling images
and class impressions only need ∂score/∂input, so they may use it; Grad-CAM and
guided backpropagation read or hook the original layers and keep the unfolded module.

The folded copy is made once per loaded model (a deep copy: the shared model is not
touched), frozen and in eval mode like the original, and shared by every thread.
"""

from __future__ import annotations

import copy
import threading
import weakref
from dataclasses import replace

import torch
from torch import nn

_BATCHNORMS = (nn.BatchNorm2d,)
_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _is_batchnorm(m: nn.Module) -> bool:
    return isinstance(m, _BATCHNORMS) and m.track_running_stats and m.running_mean is not None


def _after_batchnorm(bn: nn.Module) -> nn.Module:
    """What remains of a BatchNorm once its affine map is in the convolution: timm's activation, if any."""
    act = getattr(bn, "act", None)
    drop = getattr(bn, "drop", None)
    parts = [m for m in (drop, act) if m is not None and not isinstance(m, nn.Identity)]
    for m in parts:
        # In place, the activation would overwrite the convolution's output, and a layer reader
        # (Layer Explorer, layer objectives) must see that output as the BatchNorm's, before the activation.
        if getattr(m, "inplace", False):
            m.inplace = False
    if not parts:
        return nn.Identity()
    return parts[0] if len(parts) == 1 else nn.Sequential(*parts)


@torch.no_grad()
def _fold_into(conv: nn.Conv2d, bn: nn.Module) -> None:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else 1.0 / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    conv.weight.mul_(scale.view(-1, 1, 1, 1))
    conv.bias = nn.Parameter((bias - bn.running_mean) * scale + shift, requires_grad=False)


def fold_batchnorm(module: nn.Module) -> tuple[nn.Module, int]:
    """A deep copy of ``module`` with every BatchNorm that directly follows a Conv2d sibling folded into it.

    "Directly follows" is the order of the parent's children, which is the forward
    order in timm's blocks (conv, bn, conv, bn, ...); a test checks that the folded
    network's logits and input gradients equal the original's.  Returns the copy and
    the number of folded BatchNorms.
    """
    folded = copy.deepcopy(module)
    count = 0

    def visit(parent: nn.Module) -> None:
        nonlocal count
        previous: nn.Module | None = None
        for name, child in list(parent.named_children()):
            if _is_batchnorm(child) and isinstance(previous, nn.Conv2d) and previous.out_channels == child.num_features:
                _fold_into(previous, child)
                setattr(parent, name, _after_batchnorm(child))
                count += 1
                previous = None
                continue
            visit(child)
            previous = child
    visit(folded)
    folded.eval()
    folded.requires_grad_(False)
    return folded, count


def input_gradient_model(net):
    """``net`` with its BatchNorms folded (cached per model; thread-safe), for input-gradient-only paths."""
    with _lock:
        cached = _cache.get(net)
        if cached is None:
            module, _ = fold_batchnorm(net.module)
            cached = replace(net, module=module)
            _cache[net] = cached
    return cached
