"""Layer-CAM (Jiang et al., 2021): every location weighted by its own positive gradient."""

from __future__ import annotations

import torch

from .base import SaliencyMethod
from .gradcam import feature_gradients


class LayerCAM(SaliencyMethod):
    """M_c = ReLU(sum_k ReLU(g_k^ij) A_k^ij), g = dS_c/dA, on the last feature map A.

    Grad-CAM averages g over the map before weighting; Layer-CAM keeps the weight per
    location, so a channel counts only where it raises the score.  (The paper also
    fuses shallower layers for finer maps; this uses the last one, as Grad-CAM does.)
    """

    name = "layercam"

    def needs_predictions(self) -> bool:
        return False

    def compute(self, x: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        A, g, _targets = feature_gradients(self.net, x, targets)
        return torch.relu((torch.relu(g) * A).sum(dim=1))
