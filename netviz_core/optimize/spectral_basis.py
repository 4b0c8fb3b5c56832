"""What the spectral parametrizations and the photo-spectrum measurement share.

``parametrizations`` (``fourier``, ``maco``) decodes an image from a spectrum in
Lucid's decorrelated colour space; ``spectrum`` measures the average spectrum of
photographs in that same space, for ``maco``.  Both need the same colour basis and
the same frequency grid, so both import them from here, and neither imports the
other's internals (``parametrizations`` uses ``spectrum``'s magnitudes; ``spectrum``
needs nothing from ``parametrizations``).
"""

from __future__ import annotations

from functools import lru_cache

import torch

#: Lucid's colour correlation (the square root of the ImageNet RGB covariance, by SVD).
COLOR_CORRELATION_SVD_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float64
)
#: Normalised so that the largest column has norm 1 (Lucid's ``color_correlation_normalized``).
COLOR_CORRELATION = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()
#: Encoding clamps pixels to [ε, 1 − ε] before the inverse sigmoid (0 and 1 have no finite preimage).
ENCODE_EPS = 1e-6


def to_rgb_logits(y: torch.Tensor) -> torch.Tensor:
    """Decorrelated colour (N, 3, H, W) -> RGB logits: Lucid's ``_linear_decorrelate_color``."""
    m = COLOR_CORRELATION.to(device=y.device, dtype=y.dtype)
    return torch.einsum("ij,njhw->nihw", m, y)


def from_rgb_logits(z: torch.Tensor) -> torch.Tensor:
    """RGB logits (N, 3, H, W) -> decorrelated colour: the inverse of ``to_rgb_logits``."""
    m = torch.linalg.inv(COLOR_CORRELATION).to(device=z.device, dtype=z.dtype)
    return torch.einsum("ij,njhw->nihw", m, z)


@lru_cache(maxsize=16)
def frequencies(h: int, w: int) -> torch.Tensor:
    """|f| of each bin of ``torch.fft.rfft2`` of an h×w image (cycles per pixel), shape (h, w//2+1)."""
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(w, dtype=torch.float64)[None, :]
    return (fx * fx + fy * fy).sqrt()


@lru_cache(maxsize=16)
def inverse_f_scale(h: int, w: int, decay: float = 1.0) -> torch.Tensor:
    """1 / max(|f|, 1/max(h, w))^decay per bin (Lucid's spectrum scale), float32 (h, w//2+1)."""
    f = frequencies(h, w).clamp_min(1.0 / max(h, w))
    return (1.0 / f**decay).float()
