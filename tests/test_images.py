"""netviz_core.images: decoding every PIL mode, EXIF, preprocess/deprocess."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from netviz_core.errors import ImageInputError
from netviz_core.images import (
    crop_box_for,
    deprocess,
    open_image,
    preprocess,
    preprocess_with_geometry,
    quantize,
    to_uint8,
)


def _png_bytes(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_preprocess_then_deprocess_is_identity_at_input_size(lite0):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8)
    x = preprocess(lite0, Image.fromarray(arr))
    assert x.shape == (1, 3, 224, 224)
    back = np.asarray(deprocess(lite0, x)).astype(int)
    assert np.abs(back - arr.astype(int)).max() <= 1  # within 1/255 after 8-bit quantisation


def test_preprocess_uses_the_models_normalisation(lite0):
    white = Image.new("RGB", (300, 200), (255, 255, 255))
    x = preprocess(lite0, white)
    assert torch.allclose(x, torch.ones_like(x))  # (1 - 0.5) / 0.5
    black = preprocess(lite0, Image.new("RGB", (50, 80), (0, 0, 0)))
    assert torch.allclose(black, -torch.ones_like(black))


def test_geometry_maps_input_pixels_to_the_original(lite0, chelsea):
    x, geo = preprocess_with_geometry(lite0, chelsea)
    assert geo.original_size == (451, 300)
    left, top, right, bottom = geo.crop_box
    assert (round(left, 3), top, round(right, 3), bottom) == (75.5, 0, 375.5, 300)
    assert geo.input_to_original(0, 0) == (75.5, 0.0)
    assert geo.input_to_original(224, 224) == pytest.approx((375.5, 300.0))


def test_crop_pct_shrinks_the_box():
    assert crop_box_for((400, 400), (224, 224), 0.5) == (100.0, 100.0, 300.0, 300.0)
    with pytest.raises(ValueError):
        crop_box_for((400, 400), (224, 224), 0)


MODES = {
    "RGB": lambda: Image.new("RGB", (40, 30), (200, 10, 10)),
    "L": lambda: Image.new("L", (40, 30), 128),
    "LA": lambda: Image.new("LA", (40, 30), (128, 255)),
    "P": lambda: Image.new("RGB", (40, 30), (10, 200, 10)).convert("P"),
    "RGBA": lambda: Image.new("RGBA", (40, 30), (10, 10, 200, 255)),
    "CMYK": lambda: Image.new("CMYK", (40, 30), (0, 255, 255, 0)),
    "I;16": lambda: Image.fromarray(np.full((30, 40), 65535, dtype=np.uint16)),
    "1": lambda: Image.new("1", (40, 30), 1),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_decodes_to_rgb(mode):
    im = MODES[mode]()
    assert im.mode == mode
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    for source in (im, _png_bytes(im, fmt)):
        out = open_image(source)
        assert out.mode == "RGB" and out.size == (40, 30)


def test_sixteen_bit_grey_is_scaled_not_clipped():
    arr = np.full((8, 8), 32896, dtype=np.uint16)  # 50 % grey in 16 bits
    out = np.asarray(open_image(_png_bytes(Image.fromarray(arr))))
    assert abs(int(out[0, 0, 0]) - 128) <= 1


def test_transparent_pixels_become_white():
    im = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert np.asarray(open_image(im))[0, 0].tolist() == [255, 255, 255]
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([0, 0, 0] * 256)
    pal.info["transparency"] = 0
    assert np.asarray(open_image(_png_bytes(pal)))[0, 0].tolist() == [255, 255, 255]


def test_cmyk_red_is_red():
    out = np.asarray(open_image(_png_bytes(MODES["CMYK"](), "TIFF")))
    assert out[0, 0].tolist() == [255, 0, 0]


def test_exif_orientation_is_applied():
    im = Image.new("RGB", (60, 20), (0, 0, 0))
    im.paste((255, 255, 255), (0, 0, 10, 20))  # white stripe at the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = open_image(_png_bytes(im, "JPEG", exif=exif.tobytes(), quality=95))
    assert out.size == (20, 60)
    arr = np.asarray(out).astype(int)
    assert arr[:10].mean() > 200 and arr[-10:].mean() < 50  # the stripe is now at the top


def test_not_an_image_is_refused_with_a_clear_message():
    with pytest.raises(ImageInputError, match="not an image NetViz can read"):
        open_image(b"hello, this is text", name="notes.png")


def test_quantize_lands_on_the_8bit_grid(lite0):
    x = torch.randn(1, 3, 224, 224).clamp(-1, 1)
    q = quantize(lite0, x)
    assert torch.equal(quantize(lite0, q), q)
    assert torch.equal(torch.from_numpy(to_uint8(lite0, q)), torch.from_numpy(to_uint8(lite0, x)))
