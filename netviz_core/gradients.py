"""Gradients of class scores with respect to the input image.

Everything here uses ``torch.autograd.grad`` with respect to the *input* tensor:
the model's parameters are frozen at load time, so no parameter ever receives a
``.grad`` and a model shared by several threads is never written to.
"""

from __future__ import annotations

import torch

from .models import LoadedModel
from .targets import as_target_tensor


def class_score_gradient(net: LoadedModel, x: torch.Tensor, targets) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, dS/dx) where S is the sum over the batch of each image's target logit.

    Images in a batch do not interact (eval mode: BatchNorm uses running
    statistics), so the gradient of the sum is each image's own gradient.
    """
    x = x.detach().to(net.device).requires_grad_(True)
    with torch.enable_grad():
        logits = net(x)
        t = as_target_tensor(targets, x.shape[0], logits.device)
        score = logits.gather(1, t[:, None]).sum()
        (grad,) = torch.autograd.grad(score, x)
    return logits.detach(), grad
