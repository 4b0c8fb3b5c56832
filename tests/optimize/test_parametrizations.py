"""Parametrizations: encode/decode round trips, valid pixels, per-image independence."""

from __future__ import annotations

import math

import pytest
import torch

from netviz_core.optimize import Fourier, Maco, Pixel, make_generators, parametrization_for
from netviz_core.optimize.spectral_basis import COLOR_CORRELATION
from netviz_core.optimize.spectrum import magnitude_spectrum


def _images(net, n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    pixels = torch.rand(n, 3, size, size, generator=g) * 0.98 + 0.01  # inside (0, 1): the sigmoid's range
    return (pixels - net.mean) / net.std


def test_fourier_encode_decode_round_trip_within_1e4(lite0):
    x = _images(lite0)
    fo = Fourier()
    assert (fo.decode(fo.encode(x, lite0), lite0) - x).abs().max() < 1e-4


def test_fourier_decode_then_encode_keeps_the_image(lite0):
    fo = Fourier()
    p = fo.random(lite0, make_generators([0, 1], 2), (48, 64))
    x = fo.decode(p, lite0)
    assert x.shape == (2, 3, 48, 64)
    assert (fo.decode(fo.encode(x, lite0), lite0) - x).abs().max() < 1e-4


@pytest.mark.parametrize("name", ["pixel", "fourier", "maco"])
def test_decoded_images_are_valid_and_independent_per_image(lite0, name):
    param = parametrization_for(name)
    p = param.random(lite0, make_generators([3, 4, 5], 3), (64, 64))
    x = param.decode(p, lite0)
    if name != "pixel":  # the sigmoid keeps every pixel inside [0, 1]
        assert bool((x >= lite0.pixel_min - 1e-6).all()) and bool((x <= lite0.pixel_max + 1e-6).all())
    alone = param.decode(p[1:2], lite0)
    assert torch.allclose(alone, x[1:2], atol=1e-6)
    assert not torch.allclose(x[0], x[1])


def test_random_start_depends_on_the_seed_only(lite0):
    fo = Fourier()
    a = fo.random(lite0, make_generators([7, 8], 2), (32, 32))
    b = fo.random(lite0, make_generators([7], 1), (32, 32))
    assert torch.equal(a[:1], b) and not torch.equal(a[0], a[1])


def _interior_spectrum(m: Maco, x: torch.Tensor, net) -> torch.Tensor:
    """The decorrelated pre-sigmoid spectrum of ``x`` (what MACO's phase and magnitude act on), interior columns.

    Columns 0 and W/2 of a real FFT must be Hermitian along H, so an arbitrary phase there is
    projected by ``irfft2``; the DC term is removed by the per-image standardisation.
    """
    pixels = (x * net.std + net.mean).double()
    y = torch.einsum("ij,njhw->nihw", torch.linalg.inv(COLOR_CORRELATION).double(), torch.logit(pixels))
    return torch.fft.rfft2(y, norm="ortho")[..., 1:-1]


def _spread_of_scale(spectrum: torch.Tensor, fixed: torch.Tensor) -> float:
    """The largest relative spread, over images, of |spectrum| / fixed (0 when it is one scale per image)."""
    ratio = (spectrum.abs() / fixed).flatten(1)
    return float((ratio.std(dim=1) / ratio.mean(dim=1)).max())


@pytest.mark.parametrize("magnitude", ["photos", "1/f"])
def test_maco_keeps_its_magnitude_and_optimises_the_phase_only(lite0, magnitude):
    m = Maco(magnitude)
    size = 64
    phase = m.random(lite0, make_generators([0, 1], 2), (size, size))
    assert phase.shape == (2, 3, size, size // 2 + 1)
    x = m.decode(phase, lite0)
    spectrum = _interior_spectrum(m, x, lite0)
    fixed = magnitude_spectrum(magnitude, size, size).double()[..., 1:-1]
    # The magnitude is the fixed one up to the one scale of the standardisation, for both images:
    # the phase is all that differs between them.
    assert _spread_of_scale(spectrum, fixed) < 1e-3
    # ... and the phase is the parameter (mod 2π), which encode recovers.
    wrapped = torch.remainder(spectrum.angle() - phase[..., 1:-1].double() + math.pi, 2 * math.pi) - math.pi
    assert float(wrapped.abs().max()) < 1e-3
    recovered = m.encode(x, lite0)
    wrapped = torch.remainder(recovered[..., 1:-1] - phase[..., 1:-1] + math.pi, 2 * math.pi) - math.pi
    assert float(wrapped.abs().max()) < 1e-3
    # A step on the phase moves the image and leaves the magnitude where it was.
    moved = _interior_spectrum(m, m.decode(phase + 0.3, lite0), lite0)
    assert float((m.decode(phase + 0.3, lite0) - x).abs().max()) > 0.1
    assert _spread_of_scale(moved, fixed) < 1e-3
    photos = magnitude_spectrum("photos", size, size)
    assert photos.shape == (3, size, size // 2 + 1) and bool((photos > 0).all())
    assert photos[0, 0, 1] > photos[0, 10, 10]  # falls with frequency, as in natural images


def test_odd_widths_are_refused_with_a_clear_message(lite0):
    with pytest.raises(ValueError, match="even width"):
        Fourier().encode(torch.zeros(1, 3, 8, 7), lite0)
    with pytest.raises(ValueError, match="Unknown parametrization"):
        parametrization_for("wavelet")
    with pytest.raises(ValueError, match="Unknown MACO magnitude"):
        Maco("imagenet")


def test_pixel_is_the_identity(lite0):
    x = _images(lite0)
    assert Pixel().encode(x, lite0) is x and Pixel().decode(x, lite0) is x
