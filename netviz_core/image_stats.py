"""How a picture compares with photographs in colour, contrast and texture: numbers a person can check.

Used to hold generated pictures (class visualizations, class impressions) to the
statistics of real photos:

* ``colourfulness``: Hasler & Süsstrunk (2003), M = σ_rgyb + 0.3 μ_rgyb over the
  opponent channels rg = R − G and yb = (R + G)/2 − B, in 0-255 levels.  0 for any grey
  image; their survey put "moderately colourful" photos at about 33 and "extremely
  colourful" above 109.
* ``near_white_share`` / ``near_black_share``: the fraction of pixels whose every channel
  is within ``NEAR`` levels of 255 / of 0 (blown highlights and crushed shadows).
* ``power_spectrum_slope``: the slope of log power against log spatial frequency of the
  luminance, radially averaged.  Natural photos have a power spectrum close to 1/f²
  (slope ≈ −2, van der Schaaf & van Hateren 1996); white noise has a flat one (slope 0);
  a picture that is too smooth is steeper, one full of fine texture flatter.

Images are PIL images or uint8 arrays (H, W, 3); each function raises ``ImageInputError``
for anything else.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .errors import ImageInputError

#: Levels from the end of the range within which a pixel counts as near-white / near-black.
NEAR = 10
#: Frequencies used by the slope fit, as fractions of the Nyquist frequency: the lowest bins
#: are smeared by the window, and the highest are dominated by the 8-bit rounding and
#: (for resized pictures) the resampling filter.
SLOPE_BAND = (0.05, 0.75)


def as_rgb_array(image: Any) -> np.ndarray:
    """An RGB uint8 array (H, W, 3) from a PIL image or an array of that shape."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ImageInputError(
                f"Expected an RGB uint8 array of shape (H, W, 3); got {image.dtype} of shape {image.shape}.")
        if image.shape[0] < 2 or image.shape[1] < 2:
            raise ImageInputError(f"The image is too small for statistics: {image.shape[1]}x{image.shape[0]} px.")
        return image
    raise ImageInputError(f"Expected a PIL image or an RGB uint8 array; got {type(image).__name__}.")


def colourfulness(image: Any) -> float:
    """Hasler & Süsstrunk's colourfulness M in 0-255 levels: 0 for grey, ~33 moderate, >109 extreme."""
    a = as_rgb_array(image).astype(np.float64)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    sigma = np.hypot(rg.std(), yb.std())
    mu = np.hypot(rg.mean(), yb.mean())
    return float(sigma + 0.3 * mu)


def near_white_share(image: Any, near: int = NEAR) -> float:
    """Fraction of pixels with every channel ≥ 255 − ``near``."""
    a = as_rgb_array(image)
    return float((a.min(axis=2) >= 255 - near).mean())


def near_black_share(image: Any, near: int = NEAR) -> float:
    """Fraction of pixels with every channel ≤ ``near``."""
    a = as_rgb_array(image)
    return float((a.max(axis=2) <= near).mean())


def radial_power_spectrum(image: Any) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in cycles per pixel, mean power at each) of the luminance, radially averaged.

    The mean is removed and a Hann window applied first, so the picture's borders (where
    the FFT wraps around) do not add a spurious cross of 1/f² power.
    """
    a = as_rgb_array(image).astype(np.float64)
    lum = torch.from_numpy(a @ np.array([0.299, 0.587, 0.114]))  # ITU-R BT.601 luma
    h, w = lum.shape
    window = torch.outer(torch.hann_window(h, periodic=False, dtype=torch.float64),
                         torch.hann_window(w, periodic=False, dtype=torch.float64))
    power = torch.fft.fft2((lum - lum.mean()) * window).abs().square()
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    radius = torch.sqrt(fy.square() + fx.square())
    # Rings one frequency step wide (of the shorter side), up to Nyquist.
    step = 1.0 / min(h, w)
    ring = torch.round(radius / step).long().flatten()
    keep = (ring >= 1) & (ring <= min(h, w) // 2)
    ring, values = ring[keep], power.flatten()[keep]
    sums = torch.zeros(int(ring.max()) + 1, dtype=torch.float64).index_add_(0, ring, values)
    counts = torch.zeros_like(sums).index_add_(0, ring, torch.ones_like(values))
    bins = torch.nonzero(counts > 0).flatten()
    return (bins * step).numpy(), (sums[bins] / counts[bins]).numpy()


def power_spectrum_slope(image: Any, band: tuple[float, float] = SLOPE_BAND) -> float:
    """Least-squares slope of log10 power against log10 frequency: ≈ −2 for photos, 0 for white noise."""
    a = as_rgb_array(image)
    if a.min() == a.max():
        raise ImageInputError("A constant image has no spectrum to fit a slope to.")
    freqs, power = radial_power_spectrum(a)
    nyquist = 0.5
    use = (freqs >= band[0] * nyquist) & (freqs <= band[1] * nyquist) & (power > 0)
    if use.sum() < 3:
        raise ImageInputError(f"The image is too small to fit a spectrum slope: {a.shape[1]}x{a.shape[0]} px.")
    slope, _ = np.polyfit(np.log10(freqs[use]), np.log10(power[use]), 1)
    return float(slope)


def image_stats(image: Any) -> dict[str, float]:
    """All four statistics of one picture, keyed by name."""
    a = as_rgb_array(image)
    flat = a.min() == a.max()  # a constant picture has no spectrum to fit
    return {
        "colourfulness": colourfulness(a),
        "near_white": near_white_share(a),
        "near_black": near_black_share(a),
        "spectrum_slope": float("nan") if flat else power_spectrum_slope(a),
    }
