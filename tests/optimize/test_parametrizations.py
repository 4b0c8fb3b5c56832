"""Parametrizations: encode/decode round trips, valid pixels, per-image independence."""

from __future__ import annotations

import pytest
import torch

from netviz_core.optimize import Fourier, Maco, Pixel, make_generators, parametrization_for
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


def test_maco_keeps_its_magnitude_and_optimises_the_phase_only(lite0):
    m = Maco()
    phase = m.random(lite0, make_generators([0], 1), (64, 64))
    assert phase.shape == (1, 3, 64, 33)
    x = m.decode(phase, lite0)
    # the phase of the decoded image's (pre-sigmoid) spectrum is recovered by encode
    assert m.encode(x, lite0).shape == phase.shape
    photos = magnitude_spectrum("photos", 64, 64)
    assert photos.shape == (3, 64, 33) and bool((photos > 0).all())
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
