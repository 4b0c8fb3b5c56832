"""Circles for single-object generation (sec. 3.3 of Addepalli et al.).

``circ(x, y, r)`` is 1 inside the circle of radius r centred at (x, y) and 0
outside (a pixel is inside when its centre is at distance ≤ r).  Eq. 5 picks the
most activated circle of the pre-class impression::

    (x, y)_max = argmax_(x,y) Σ_i Σ_j |preCI · circ(x, y, r)|

The sum for every centre at once is a convolution of |preCI| (summed over colour
channels) with a disc of radius r; zero padding makes a circle that leaves the
image count only the pixels inside it.  Ties go to the first maximum in row-major
order (smallest y, then smallest x), as ``torch.argmax`` documents.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import ImpressionError


def disc(radius: float, device=None, dtype=torch.float32) -> torch.Tensor:
    """A (2R+1, 2R+1) kernel with R = ⌊r⌋: 1 where the offset has length ≤ r."""
    if not math.isfinite(radius) or radius < 0:
        raise ImpressionError(f"A circle radius must be a finite number ≥ 0, got {radius}.")
    big = int(math.floor(radius))
    t = torch.arange(-big, big + 1, device=device, dtype=dtype)
    return ((t[:, None] ** 2 + t[None, :] ** 2) <= radius * radius + 1e-6).to(dtype)


def circle_mask(centers: torch.Tensor, radius: float, size: tuple[int, int]) -> torch.Tensor:
    """circ(x, y, r) for each image: ``centers`` (N, 2) as (y, x) rows -> mask (N, 1, H, W) of 0/1."""
    h, w = size
    centers = torch.as_tensor(centers, dtype=torch.float32)
    ys = torch.arange(h, dtype=torch.float32, device=centers.device).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float32, device=centers.device).view(1, 1, w)
    cy = centers[:, 0].view(-1, 1, 1)
    cx = centers[:, 1].view(-1, 1, 1)
    inside = (ys - cy) ** 2 + (xs - cx) ** 2 <= float(radius) ** 2 + 1e-6
    return inside.unsqueeze(1).float()


def circle_sums(activation: torch.Tensor, radius: float) -> torch.Tensor:
    """Σ |activation| inside the circle of radius r around every pixel: (N, C, H, W) -> (N, H, W)."""
    if activation.dim() != 4:
        raise ImpressionError(f"Expected a batch (N, C, H, W) of pre-class impressions, got shape {tuple(activation.shape)}.")
    a = activation.detach().abs().sum(1, keepdim=True).float()
    k = disc(radius, device=a.device)
    pad = (k.shape[-1] - 1) // 2
    return F.conv2d(a, k[None, None], padding=pad)[:, 0]


def most_activated_circle(activation: torch.Tensor, radius: float) -> torch.Tensor:
    """Eq. 5: the centre (y, x) of the circle of radius r with the largest Σ|activation|, shape (N, 2)."""
    sums = circle_sums(activation, radius)
    n, h, w = sums.shape
    flat = sums.flatten(1).argmax(1)
    return torch.stack([flat // w, flat % w], dim=1)
