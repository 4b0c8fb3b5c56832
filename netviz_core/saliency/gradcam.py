"""Grad-CAM (Selvaraju et al., 2017) on the last feature map A of any timm model.

``feature_gradients`` is the one place that splits a model at A and takes dS_c/dA;
Grad-CAM++ and Layer-CAM weight the same two tensors differently.
"""

from __future__ import annotations

import torch

from ..errors import UnsupportedModelError
from ..models import LoadedModel
from .base import SaliencyMethod
from .features import split_features


def feature_gradients(net: LoadedModel, x: torch.Tensor, targets: torch.Tensor | None):
    """(A, dS_c/dA, targets): the last feature map and its gradient, both (N, K, h, w), without hooks.

    ``targets=None`` takes each image's predicted class from the same forward pass.
    """
    module = net.module
    with torch.enable_grad():
        split = split_features(module, x)
        logits = split.head(split.features)
        if targets is None:
            targets = logits.detach().argmax(1)
        score = logits.gather(1, targets[:, None]).sum()  # images do not interact: one backward for all
        (dS_dA,) = torch.autograd.grad(score, split.features)
    A, grad = split.to_grid(split.features.detach()), split.to_grid(dS_dA)
    if split.layout == "tokens" and not grad.any():
        raise UnsupportedModelError(
            f"{type(module).__name__}: the class scores do not depend on the patch tokens of {split.where} "
            "(the head reads only the class token), so a gradient-weighted CAM would be blank. Use method='vanilla'."
        )
    return A, grad, targets


class GradCAM(SaliencyMethod):
    """L_c = ReLU(sum_k alpha_k^c A_k), alpha_k^c = mean_ij dS_c/dA_k(i, j), upsampled to the input.

    A is the last feature map (see ``features.split_features``: CNN maps, Swin's
    channels-last maps, ViT/DeiT patch tokens on their grid).  S_c is the logit.
    """

    name = "gradcam"

    def needs_predictions(self) -> bool:
        return False  # the forward in feature_gradients gives the logits; target=None takes their argmax

    def compute(self, x: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        A, grad, _targets = feature_gradients(self.net, x, targets)
        alpha = grad.mean(dim=(2, 3), keepdim=True)
        return torch.relu((alpha * A).sum(dim=1))
