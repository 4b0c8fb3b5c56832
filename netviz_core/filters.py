"""Image filters shared by the optimisation engine, saliency and class impressions.

``gaussian_blur`` is the periodic blur of class visualization (Yosinski et al.;
``optimize.transforms.GaussianBlur``), the smoothing of saliency maps before a
localisation box is drawn (``saliency.localize``) and of the maps that class
impressions are measured with (``impressions.metrics``).  Torch on the tensor's
device, differentiable.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F


@lru_cache(maxsize=32)
def _gaussian_kernel_1d(sigma: float, device: str, dtype: torch.dtype) -> torch.Tensor:
    radius = max(1, int(math.ceil(3.0 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).to(device=device, dtype=dtype)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of each channel, reflect padding, radius ⌈3σ⌉ (σ ≤ 0: unchanged)."""
    if sigma <= 0:
        return x
    k = _gaussian_kernel_1d(float(sigma), str(x.device), x.dtype)
    radius = (k.numel() - 1) // 2
    c = x.shape[1]
    pad_h = min(radius, x.shape[2] - 1)
    pad_w = min(radius, x.shape[3] - 1)
    if pad_h < radius or pad_w < radius:  # image smaller than the kernel: shrink the kernel to fit
        return gaussian_blur(x, min(pad_h, pad_w) / 3.0) if min(pad_h, pad_w) > 0 else x
    kh = k.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    kw = k.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    y = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), kh, groups=c)
    return F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="reflect"), kw, groups=c)
