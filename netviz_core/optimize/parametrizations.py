"""Image parametrizations: what the optimiser moves, and how it becomes an image.

The engine optimises a parameter tensor p (batch first, 4-D, every image on its
own) and the network sees x = decode(p) in normalised units.  ``encode`` is the
inverse, so a run can start from any image.

* ``pixel``: p = x.  The CS231n / Simonyan recipes; post-steps (clamp, blur) act on p.
* ``fourier`` (Olah et al. 2017, "Feature Visualization"; Lucid's ``fft_image`` +
  ``to_valid_rgb``): p is the real and imaginary part of a 2-D real spectrum per
  decorrelated colour channel, multiplied by 1/f^decay before the inverse FFT,
  then Lucid's colour correlation matrix and a sigmoid to the valid range.
  Why: the gradient of a pixel image is dominated by high frequencies (the network
  is most sensitive there), so plain ascent makes adversarial texture.  Scaling the
  spectrum by 1/f makes every frequency band equally easy to move, as in natural
  images, whose amplitude falls like 1/f; the decorrelated colour basis does the
  same for the colour channels; the sigmoid keeps every pixel valid without a clamp
  that would stop the gradient.
* ``maco`` (Fel et al. 2023, MAgnitude Constrained Optimization): the magnitude of
  the spectrum is fixed (a 1/f prior, or the average spectrum of photographs made
  by ``python -m netviz_core.optimize.spectrum``) and only the phase is optimised.
  Why: the phase carries the structure (where the edges are), the magnitude the
  texture statistics; fixing the magnitude to that of natural images keeps the
  energy per frequency band natural however long the run, which is what lets MACO
  scale to deeper networks.  The image is standardised per image and squashed by a
  sigmoid, as in the paper's code.

Every parametrization treats each image on its own (no batch statistics), so a batch
equals separate runs.
"""

from __future__ import annotations

import math

import torch

# COLOR_CORRELATION, ENCODE_EPS, frequencies and inverse_f_scale stay importable from here.
from .spectral_basis import (  # noqa: F401
    COLOR_CORRELATION,
    COLOR_CORRELATION_SVD_SQRT,
    ENCODE_EPS,
    frequencies,
    from_rgb_logits,
    inverse_f_scale,
    to_rgb_logits,
)
from .spectrum import MAGNITUDES, magnitude_spectrum

#: Lucid divides the inverse FFT by 4 ("magic"): smaller values start the sigmoid in its linear part.
FOURIER_SCALE_DIVISOR = 4.0


def _pixel_range(net) -> tuple[torch.Tensor, torch.Tensor]:
    return net.mean.reshape(1, 3, 1, 1).float(), net.std.reshape(1, 3, 1, 1).float()


class Parametrization:
    """Maps the optimised parameter to the image (``decode``) and back (``encode``); per image."""

    name = "parametrization"

    def encode(self, x: torch.Tensor, net) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, p: torch.Tensor, net) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode_at(self, p: torch.Tensor, ctx) -> torch.Tensor:
        """The image of step ``ctx.step`` (the engine calls this): ``decode`` unless the image also depends on the step."""
        return self.decode(p, ctx.net)

    def random(self, net, generators: list[torch.Generator], size: tuple[int, int]) -> torch.Tensor:
        """A random starting parameter per image, from that image's generator."""
        raise NotImplementedError  # pragma: no cover - abstract

    def settings(self) -> dict:
        return {"parametrization": self.name, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class Pixel(Parametrization):
    """p = x: the image itself, in normalised units."""

    name = "pixel"

    def encode(self, x, net):
        return x

    def decode(self, p, net):
        return p

    def random(self, net, generators, size):
        return torch.stack([torch.randn(3, *size, generator=g) for g in generators]).to(net.device)


def _to_normalised(pixels01: torch.Tensor, net) -> torch.Tensor:
    mean, std = _pixel_range(net)
    return (pixels01 - mean.to(pixels01.device)) / std.to(pixels01.device)


def _to_pixels01(x: torch.Tensor, net) -> torch.Tensor:
    mean, std = _pixel_range(net)
    return x * std.to(x.device) + mean.to(x.device)


class Fourier(Parametrization):
    """Lucid's ``fft_image`` + ``to_valid_rgb(decorrelate=True)`` + sigmoid.

    p has shape (N, 6, H, W//2+1): the real parts of the three decorrelated channels'
    spectra, then their imaginary parts.  ``decay`` is the exponent of 1/f; ``std``
    the spread of a random start (Lucid: 0.01, a nearly grey image).
    """

    name = "fourier"

    def __init__(self, decay: float = 1.0, std: float = 0.01):
        self.decay, self.std = float(decay), float(std)

    def _scale(self, h: int, w: int, device) -> torch.Tensor:
        return inverse_f_scale(h, w, self.decay).to(device)

    def decode(self, p, net):
        h, w = image_size(p)
        spectrum = torch.complex(p[:, :3], p[:, 3:]) * self._scale(h, w, p.device)
        y = torch.fft.irfft2(spectrum, s=(h, w), norm="ortho") / FOURIER_SCALE_DIVISOR
        return _to_normalised(torch.sigmoid(to_rgb_logits(y)), net)

    def encode(self, x, net):
        h, w = x.shape[-2:]
        check_size(h, w)
        pixels = _to_pixels01(x.detach().float(), net).clamp(ENCODE_EPS, 1 - ENCODE_EPS)
        y = from_rgb_logits(torch.logit(pixels)) * FOURIER_SCALE_DIVISOR
        spectrum = torch.fft.rfft2(y, norm="ortho") / self._scale(h, w, x.device)
        return torch.cat([spectrum.real, spectrum.imag], dim=1).contiguous()

    def random(self, net, generators, size):
        h, w = size
        check_size(h, w)
        return torch.stack([torch.randn(6, h, w // 2 + 1, generator=g) * self.std for g in generators]).to(net.device)


def image_size(p: torch.Tensor) -> tuple[int, int]:
    """(H, W) of the image of a half spectrum (..., H, W//2+1); widths are even (``check_size``)."""
    return p.shape[-2], 2 * (p.shape[-1] - 1)


def check_size(h: int, w: int) -> None:
    """Spectral parametrizations need an even width (the half spectrum does not say whether W was odd)."""
    if w % 2 or h < 2 or w < 2:
        raise ValueError(f"the fourier and maco parametrizations need an even width of 2 or more; got {h}x{w}")


class Maco(Parametrization):
    """Fixed magnitude, optimised phase (Fel et al. 2023); p is the phase, shape (N, 3, H, W//2+1).

    ``magnitude`` is "1/f" (a 1/f^decay prior) or "photos" (the average magnitude of
    the project's sample photos, made by ``python -m netviz_core.optimize.spectrum``).
    The decoded image is standardised per image and channel-mixed by Lucid's colour
    correlation before the sigmoid, so its contrast does not depend on the
    magnitude's overall scale.
    """

    name = "maco"

    def __init__(self, magnitude: str = "1/f", decay: float = 1.0):
        if magnitude not in MAGNITUDES:
            raise ValueError(f"Unknown MACO magnitude {magnitude!r}; choose one of: {', '.join(MAGNITUDES)}.")
        self.magnitude, self.decay = magnitude, float(decay)

    def _magnitude(self, h: int, w: int, device) -> torch.Tensor:
        return magnitude_spectrum(self.magnitude, h, w, self.decay).to(device)

    def decode(self, p, net):
        h, w = image_size(p)
        mag = self._magnitude(h, w, p.device)
        y = torch.fft.irfft2(torch.polar(mag.expand_as(p), p), s=(h, w), norm="ortho")
        y = y - y.mean(dim=(1, 2, 3), keepdim=True)
        y = y / (y.flatten(1).std(dim=1).view(-1, 1, 1, 1) + 1e-5)
        return _to_normalised(torch.sigmoid(to_rgb_logits(y)), net)

    def encode(self, x, net):
        """The phase of the image's spectrum (its magnitude is replaced by the fixed one: not invertible)."""
        h, w = x.shape[-2:]
        check_size(h, w)
        pixels = _to_pixels01(x.detach().float(), net).clamp(ENCODE_EPS, 1 - ENCODE_EPS)
        y = from_rgb_logits(torch.logit(pixels))
        return torch.angle(torch.fft.rfft2(y, norm="ortho")).contiguous()

    def random(self, net, generators, size):
        h, w = size
        check_size(h, w)
        return torch.stack([(torch.rand(3, h, w // 2 + 1, generator=g) * 2 - 1) * math.pi
                            for g in generators]).to(net.device)


#: Parametrizations by the name of the ``parametrization`` setting.
PARAMETRIZATIONS: dict[str, type[Parametrization]] = {"pixel": Pixel, "fourier": Fourier, "maco": Maco}


def parametrization_for(name: str, **options) -> Parametrization:
    if name not in PARAMETRIZATIONS:
        raise ValueError(f"Unknown parametrization {name!r}; choose one of: {', '.join(PARAMETRIZATIONS)}.")
    return PARAMETRIZATIONS[name](**options)
