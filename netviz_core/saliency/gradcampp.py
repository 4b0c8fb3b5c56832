"""Grad-CAM++ (Chattopadhay et al., 2018): pixel-weighted gradients, better for several instances."""

from __future__ import annotations

import torch

from .base import SaliencyMethod
from .gradcam import feature_gradients


class GradCAMPlusPlus(SaliencyMethod):
    """L_c = ReLU(sum_k w_k^c A_k), w_k^c = sum_ij alpha_k^ij ReLU(g_k^ij), g = dS_c/dA.

    With the paper's exponential score Y_c = exp(S_c), the higher derivatives are powers
    of g and the pixel weights have the closed form (paper, eq. 19)

        alpha_k^ij = g^2 / (2 g^2 + sum_ab A_k^ab g^3),   0 where g = 0.
    """

    name = "gradcampp"

    def needs_predictions(self) -> bool:
        return False

    def compute(self, x: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        A, g, _targets = feature_gradients(self.net, x, targets)
        g2 = g * g
        denominator = 2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g2 * g
        alpha = torch.where(denominator != 0, g2 / torch.where(denominator != 0, denominator, 1.0), 0.0)
        weights = (alpha * torch.relu(g)).sum(dim=(2, 3), keepdim=True)
        return torch.relu((weights * A).sum(dim=1))
