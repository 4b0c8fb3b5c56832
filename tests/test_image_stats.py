"""netviz_core.image_stats on pictures whose answers are known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from netviz_core.errors import ImageInputError
from netviz_core.image_stats import (
    colourfulness,
    image_stats,
    near_black_share,
    near_white_share,
    power_spectrum_slope,
)


def solid(rgb, size=(32, 32)) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (*size, 3)).copy()


def noise_with_power_slope(exponent: float, seed: int, n: int = 224) -> np.ndarray:
    """Grey noise whose power spectrum falls as f**exponent (random phases), scaled to 0-255."""
    rng = np.random.default_rng(seed)
    radius = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.fftfreq(n)[None, :])
    radius[0, 0] = 1.0
    spectrum = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) * radius ** (exponent / 2)
    x = np.real(np.fft.ifft2(spectrum))
    grey = np.round((x - x.min()) / (x.max() - x.min()) * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


@pytest.mark.parametrize("level", [0, 128, 255])
def test_grey_images_have_no_colourfulness(level):
    assert colourfulness(solid((level, level, level))) == 0.0
    rng = np.random.default_rng(level)
    varied_grey = np.repeat(rng.integers(0, 256, (16, 16, 1), dtype=np.uint8), 3, axis=2)
    assert colourfulness(varied_grey) == 0.0  # brightness varies, colour does not


def test_colourfulness_follows_hasler_and_suesstrunk_by_hand():
    # One colour: σ = 0, μ_rg = 255, μ_yb = 127.5, so M = 0.3·√(255² + 127.5²).
    assert colourfulness(solid((255, 0, 0))) == pytest.approx(0.3 * math.hypot(255, 127.5))
    # Half red, half green: rg = ±255 (σ 255, μ 0), yb = 127.5 throughout (σ 0), so M = 255 + 0.3·127.5.
    halves = np.concatenate([solid((255, 0, 0), (8, 16)), solid((0, 255, 0), (8, 16))])
    assert colourfulness(Image.fromarray(halves)) == pytest.approx(255 + 0.3 * 127.5)


def test_near_white_and_near_black_count_pixels_whose_every_channel_is_near_the_end():
    pixels = np.array([[[255, 255, 255], [245, 250, 245], [244, 255, 255], [255, 255, 0]],
                       [[0, 0, 0], [10, 5, 10], [11, 0, 0], [128, 128, 128]]], dtype=np.uint8)
    assert near_white_share(pixels) == pytest.approx(2 / 8)  # 244 in one channel is not near-white
    assert near_black_share(pixels) == pytest.approx(2 / 8)
    assert near_white_share(pixels, near=11) == pytest.approx(3 / 8)
    assert near_black_share(pixels, near=11) == pytest.approx(3 / 8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_white_noise_has_a_flat_spectrum(seed):
    rng = np.random.default_rng(seed)
    assert power_spectrum_slope(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)) == pytest.approx(0, abs=0.15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_over_f_noise_has_power_slope_minus_two(seed):
    """Amplitude ∝ 1/f, the statistics of natural photos: power ∝ 1/f², slope −2; and 1/f³ power, −3."""
    assert power_spectrum_slope(noise_with_power_slope(-2.0, seed)) == pytest.approx(-2.0, abs=0.15)
    assert power_spectrum_slope(noise_with_power_slope(-3.0, seed)) == pytest.approx(-3.0, abs=0.2)


def test_blurring_makes_the_spectrum_steeper(chelsea):
    from PIL import ImageFilter

    photo = chelsea.convert("RGB").resize((224, 224))
    assert power_spectrum_slope(photo.filter(ImageFilter.GaussianBlur(2))) < power_spectrum_slope(photo) - 0.5


def test_image_stats_of_the_sample_photo(chelsea):
    stats = image_stats(chelsea)
    assert set(stats) == {"colourfulness", "near_white", "near_black", "spectrum_slope"}
    assert 20 < stats["colourfulness"] < 60  # a tabby on a grey-brown background: moderately colourful
    assert stats["near_white"] < 0.01 and stats["near_black"] < 0.01
    assert -3.5 < stats["spectrum_slope"] < -1.5


def test_constant_image_has_no_slope_and_says_so():
    with pytest.raises(ImageInputError, match="constant image has no spectrum"):
        power_spectrum_slope(solid((7, 7, 7)))
    assert math.isnan(image_stats(solid((7, 7, 7)))["spectrum_slope"])


@pytest.mark.parametrize("bad, message", [
    (np.zeros((8, 8), dtype=np.uint8), r"RGB uint8 array of shape \(H, W, 3\); got uint8 of shape \(8, 8\)"),
    (np.zeros((8, 8, 3), dtype=np.float32), "got float32"),
    (np.zeros((1, 8, 3), dtype=np.uint8), "too small for statistics: 8x1 px"),
    ("chelsea.png", "PIL image or an RGB uint8 array; got str"),
])
def test_bad_inputs_get_one_clear_message(bad, message):
    with pytest.raises(ImageInputError, match=message):
        colourfulness(bad)
