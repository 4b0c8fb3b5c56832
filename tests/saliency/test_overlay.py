"""Readable overlays (issue 14, finding 5): colour map, percentile scaling, strength-following opacity, crop shading."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from netviz_core.errors import SaliencyError
from netviz_core.images import ImageGeometry
from netviz_core.saliency import METHODS
from netviz_core.saliency.localize import PIXEL_GRADIENT_METHODS, box_by_default
from netviz_core.saliency.overlay import COLORMAPS, OUTSIDE_GREY, colorize, heatmap, overlay, scale_map


def _photo(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), mode="RGB")


def _lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* of sRGB colours (uint8, ..., 3)."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722])
    return np.where(y > (6 / 29) ** 3, 116 * np.cbrt(y) - 16, y * (29 / 3) ** 3)


def test_zero_region_leaves_the_photo_unchanged():
    photo = _photo(40, 30)
    m = np.zeros((30, 40), dtype=np.float32)
    m[:, 25:] = np.linspace(0.2, 1.0, 15)[None, :]
    out = np.asarray(overlay(photo, m, opacity=1.0, smooth=0.0))
    assert np.array_equal(out[:, :25], np.asarray(photo)[:, :25])
    assert (np.abs(out[:, 30:].astype(int) - np.asarray(photo)[:, 30:]).max(axis=2) > 0).all()


def test_zero_region_unchanged_through_the_crop_geometry():
    # A 60x40 photo whose centre 40x40 crop is the model's 20x20 input: the map's left half is zero.
    geometry = ImageGeometry(original_size=(60, 40), crop_box=(10.0, 0.0, 50.0, 40.0), input_size=(20, 20))
    photo = _photo(60, 40, seed=1)
    m = np.zeros((20, 20), dtype=np.float32)
    m[:, 10:] = 1.0
    out = np.asarray(overlay(photo, m, geometry, opacity=0.9, smooth=0.0, outside_shade=0.0))
    # input columns 0-9 cover original columns 10-29; the bilinear seam reaches one pixel into 29
    assert np.array_equal(out[:, :28], np.asarray(photo)[:, :28])
    assert not np.array_equal(out[:, 32:50], np.asarray(photo)[:, 32:50])


def test_percentile_clip_makes_a_map_with_one_outlier_visible():
    rng = np.random.default_rng(0)
    m = (0.01 * rng.uniform(0.5, 1.5, (50, 50))).astype(np.float32)
    m[7, 9] = 100.0  # one extreme gradient pixel, 10^4 times the rest
    r, c = np.unravel_index(np.argsort(m, axis=None)[m.size // 2], m.shape)  # the median pixel
    photo = Image.new("RGB", (50, 50), (90, 90, 90))

    def change(**kw) -> int:
        out = np.asarray(overlay(photo, m, opacity=0.8, smooth=0.0, **kw)).astype(int)
        return int(np.abs(out[r, c] - 90).max())

    assert change(clip_percentile=99.0) >= 40  # a visible colour
    assert change(clip_percentile=100.0) <= 1  # scaled by the maximum: the photo, untouched
    assert scale_map(m, 99.0)[r, c] > 0.4 and scale_map(m, 99.0)[7, 9] == 1.0


def test_scale_map_keeps_a_sparse_map_sparse():
    m = np.zeros((20, 20), dtype=np.float32)
    m[3, 4] = 2.0  # fewer than 1 % of the pixels are non-zero: the 99th percentile is 0
    s = scale_map(m, 99.0)
    assert s[3, 4] == 1.0 and s.sum() == 1.0
    assert not scale_map(np.zeros((5, 5)), 99.0).any()


@pytest.mark.parametrize("name", ["inferno", "magma"])
def test_perceptual_colormaps_are_monotone_in_lightness(name):
    lightness = _lightness(colorize(np.linspace(0.0, 1.0, 2001), name))
    assert (np.maximum.accumulate(lightness) - lightness <= 0.5).all()  # never darker than before, up to uint8 rounding
    assert lightness[-1] - lightness[0] > 90


def test_jet_is_not_monotone_in_lightness():
    # the check above can fail: jet's lightness rises to cyan/yellow and falls again to dark red
    lightness = _lightness(colorize(np.linspace(0.0, 1.0, 2001), "jet"))
    assert (np.maximum.accumulate(lightness) - lightness).max() > 30


@pytest.mark.parametrize(
    "size, crop, outside_cols, outside_rows",
    [
        ((10, 6), (2.0, 0.0, 8.0, 6.0), [0, 1, 8, 9], []),
        ((6, 10), (0.0, 2.0, 6.0, 8.0), [], [0, 1, 8, 9]),
        ((10, 6), (1.5, 0.0, 7.5, 6.0), [0, 8, 9], []),  # pixel 1's centre (1.5) is on the edge: seen
    ],
)
def test_crop_shading_covers_exactly_the_outside_of_the_crop(size, crop, outside_cols, outside_rows):
    width, height = size
    geometry = ImageGeometry(original_size=size, crop_box=crop, input_size=(6, 6))
    photo = Image.new("RGB", size, (200, 30, 60))
    out = np.asarray(overlay(photo, np.zeros((6, 6), dtype=np.float32), geometry, smooth=0.0, outside_shade=0.5))
    changed = (out != np.asarray(photo)).any(axis=2)
    expected = np.zeros((height, width), dtype=bool)
    expected[:, outside_cols] = True
    expected[outside_rows, :] = True
    assert np.array_equal(changed, expected)
    shaded = np.rint(0.5 * np.array([200, 30, 60]) + 0.5 * np.array(OUTSIDE_GREY))
    assert (out[expected] == shaded).all()
    # the raw map beside it: the same shaded outside, the coloured map (0 -> the colour map's darkest) inside
    raw = np.asarray(heatmap(photo, np.zeros((6, 6), dtype=np.float32), geometry, outside_shade=0.5))
    assert (raw[expected] == shaded).all()
    assert (raw[~expected] == colorize(np.zeros(1))[0]).all()


def test_overlay_options_are_checked():
    photo, m = _photo(8, 8), np.ones((8, 8), dtype=np.float32)
    for kw, word in [({"clip_percentile": 0}, "clip_percentile"), ({"clip_percentile": 101}, "clip_percentile"),
                     ({"smooth": -1}, "smooth"), ({"outside_shade": 2}, "outside_shade"),
                     ({"colormap": "rainbow"}, "colormap"), ({"opacity": -0.1}, "opacity")]:
        with pytest.raises(SaliencyError, match=word):
            overlay(photo, m, **kw)


def test_box_by_default_only_for_region_maps():
    assert PIXEL_GRADIENT_METHODS <= set(METHODS)
    without = {m for m in METHODS if not box_by_default(m)}
    assert without == {"vanilla", "smoothgrad", "guided", "deconvnet", "integrated_gradients"}
    for method in ("cam", "gradcam", "gradcampp", "layercam", "scorecam", "occlusion"):
        assert box_by_default(method), method


def test_every_colormap_name_is_listed():
    assert {"inferno", "magma", "jet"} <= set(COLORMAPS)


def test_cli_writes_the_raw_map_and_checks_the_display_options(assets, tmp_path, capsys):
    # (the CLI's overlay options; tests/cli/test_saliency_cli.py covers the rest of `netviz saliency`)
    from netviz_core.cli import main

    out, raw = tmp_path / "over.png", tmp_path / "raw.png"
    rc = main(["saliency", str(assets / "chelsea.png"), "--method", "cam", "--out", str(out), "--raw", str(raw),
               "--clip-percentile", "98", "--smooth", "0"])
    assert rc == 0
    over, alone = np.asarray(Image.open(out)), np.asarray(Image.open(raw))
    assert over.shape == alone.shape == (300, 451, 3)
    # left of the 300-px centre crop (columns 75.5-375.5): the shaded photo in both pictures
    assert np.array_equal(over[:, :70], alone[:, :70])
    assert not np.array_equal(over[:, 100:350], alone[:, 100:350])
    capsys.readouterr()
    for flag, value, word in [("--clip-percentile", "0", "--clip-percentile"), ("--smooth", "-1", "--smooth"),
                              ("--opacity", "2", "--opacity"), ("--raw", str(tmp_path / "raw.jpg"), "--raw")]:
        rc = main(["saliency", str(assets / "chelsea.png"), "--out", str(out), flag, value])
        assert rc == 2 and word in capsys.readouterr().err, flag
