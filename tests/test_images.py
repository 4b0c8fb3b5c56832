"""netviz_core.images: decoding every PIL mode, EXIF, preprocess/deprocess."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import encoded
from netviz_core.errors import ImageInputError
from netviz_core.images import (
    ImageGeometry,
    crop_box_for,
    deprocess,
    open_image,
    preprocess,
    preprocess_with_geometry,
    quantize,
    to_uint8,
)



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


#: Sides where ``in_side * (side / in_side)`` rounds above ``side``, so that the old centring put
#: the box at -3e-14 (issue 15): for a 224 input, and for a 240 input.
SIDES_THAT_ROUND_UP = {224: [29, 58, 116, 123, 225, 450, 457, 464], 240: [31, 62, 124, 125, 248, 481, 500, 962]}


@pytest.mark.parametrize("in_side", sorted(SIDES_THAT_ROUND_UP))
def test_sides_that_round_up_give_a_box_inside_the_image(in_side):
    for side in SIDES_THAT_ROUND_UP[in_side]:
        for size in ((741, side), (side, 741), (side, side)):
            left, top, right, bottom = box = crop_box_for(size, (in_side, in_side))
            assert 0 <= left <= right <= size[0] and 0 <= top <= bottom <= size[1], (size, box)
            assert right - left == pytest.approx(bottom - top, rel=1e-12), (size, box)  # still a square


@pytest.mark.parametrize(
    "input_size, crop_pct",
    [((224, 224), 1.0), ((240, 240), 1.0), ((260, 260), 1.0), ((224, 224), 0.875), ((224, 320), 0.9)],
)
def test_crop_box_lies_inside_the_image_for_every_size_up_to_4096(input_size, crop_pct):
    """Every (width, height) in 1..4096 x 1..4096 at once (``crop_box_for`` takes arrays of sizes)."""
    in_h, in_w = input_size
    widths = np.arange(1, 4097, dtype=np.int64)[None, :]
    for first in range(1, 4097, 1024):
        heights = np.arange(first, first + 1024, dtype=np.int64)[:, None]
        left, top, right, bottom = crop_box_for((widths, heights), input_size, crop_pct)
        inside = (0 <= left) & (left <= right) & (right <= widths) & (0 <= top) & (top <= bottom) & (bottom <= heights)
        if not inside.all():
            i, j = np.argwhere(~inside)[0]
            pytest.fail(f"box {left[i, j], top[i, j], right[i, j], bottom[i, j]} outside the "
                        f"{widths[0, j]}x{heights[i, 0]} image ({inside.size - inside.sum()} sizes)")
        if first > 1:
            continue  # the values below: on the first quarter of the heights, to keep the test cheap
        box_w, box_h = right - left, bottom - top
        # The input's aspect ratio, centred, crop_pct of the side that limits it (relative errors).
        assert np.abs(box_w * in_h / (box_h * in_w) - 1).max() < 1e-12
        assert np.abs((left + right) / widths - 1).max() < 1e-12
        assert np.abs((top + bottom) / heights - 1).max() < 1e-12
        assert np.abs(np.maximum(box_w / widths, box_h / heights) / crop_pct - 1).max() < 1e-12
        if crop_pct == 1.0:  # the limiting side is covered exactly, edge to edge
            assert (((left == 0) & (right == widths)) | ((top == 0) & (bottom == heights))).all()


def test_points_of_the_input_map_into_the_crop_box_even_when_the_arithmetic_rounds_past_it():
    # A box and a point (column 139 of a 139-wide map at 224 px, j * 224 / 139) where
    # left + x * (right - left) / 224 rounds one ulp past the box's right edge.
    geo = ImageGeometry(original_size=(1991, 300), crop_box=(116.60718888907965, 0.0, 1874.3928111109203, 300.0),
                        input_size=(224, 224))
    x, y = geo.input_to_original(139 * (224 / 139), 224)
    assert (x, y) == (1874.3928111109203, 300.0)
    assert geo.input_to_original(0, 0) == (116.60718888907965, 0.0)


@pytest.mark.parametrize("size", [(741, 450), (741, 500), (58, 58), (500, 31), (451, 300)])
def test_localize_boxes_map_back_inside_the_original_image(lite0, lite1, size):
    """Boxes over the whole map and at its corners, at the input's and at coarser resolutions."""
    from netviz_core.saliency.localize import localize

    for net in (lite0, lite1):
        _, geo = preprocess_with_geometry(net, Image.new("RGB", size, (90, 120, 30)))
        width, height = size
        in_h, in_w = net.input_size
        for h, w in ((in_h, in_w), (7, 7), (13, 17)):  # 13 x 17: in_w / w is not exact
            for region in (np.s_[:, :], np.s_[: h // 3, : w // 3], np.s_[-(h // 3):, -(w // 3):]):
                saliency_map = np.zeros((h, w), dtype=np.float32)
                saliency_map[region] = 1.0
                box = localize(saliency_map, geo, blur=0.0)
                assert 0 <= box.left < box.right <= width and 0 <= box.top < box.bottom <= height, (net.name, box)
        whole = localize(np.ones((13, 17), dtype=np.float32), geo, blur=0.0)
        assert whole.as_tuple() == pytest.approx(geo.crop_box, abs=1e-9)


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
    for source in (im, encoded(im, fmt)):
        out = open_image(source)
        assert out.mode == "RGB" and out.size == (40, 30)


def test_sixteen_bit_grey_is_scaled_not_clipped():
    arr = np.full((8, 8), 32896, dtype=np.uint16)  # 50 % grey in 16 bits
    out = np.asarray(open_image(encoded(Image.fromarray(arr))))
    assert abs(int(out[0, 0, 0]) - 128) <= 1


def test_transparent_pixels_become_white():
    im = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert np.asarray(open_image(im))[0, 0].tolist() == [255, 255, 255]
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([0, 0, 0] * 256)
    pal.info["transparency"] = 0
    assert np.asarray(open_image(encoded(pal)))[0, 0].tolist() == [255, 255, 255]


def test_cmyk_red_is_red():
    out = np.asarray(open_image(encoded(MODES["CMYK"](), "TIFF")))
    assert out[0, 0].tolist() == [255, 0, 0]


def test_exif_orientation_is_applied():
    im = Image.new("RGB", (60, 20), (0, 0, 0))
    im.paste((255, 255, 255), (0, 0, 10, 20))  # white stripe at the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = open_image(encoded(im, "JPEG", exif=exif.tobytes(), quality=95))
    assert out.size == (20, 60)
    arr = np.asarray(out).astype(int)
    assert arr[:10].mean() > 200 and arr[-10:].mean() < 50  # the stripe is now at the top


def test_not_an_image_is_refused_with_a_clear_message():
    with pytest.raises(ImageInputError, match="not an image NetViz can read"):
        open_image(b"hello, this is text", name="notes.png")


def test_quantize_is_what_an_8bit_png_of_the_image_decodes_to(lite0):
    x = torch.randn(1, 3, 64, 48, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
    q = quantize(lite0, x)
    # Written as a PNG, read back and normalised the model's way: the same tensor.
    png = io.BytesIO()
    Image.fromarray(to_uint8(lite0, x)[0]).save(png, format="PNG")
    decoded = torch.from_numpy(np.asarray(Image.open(png), dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    assert torch.allclose(q, (decoded - lite0.mean) / lite0.std, atol=1e-6)
    # On the grid: every pixel is k/255, and x itself was not (so quantizing moved it)
    pixels = q * lite0.std + lite0.mean
    assert float((pixels * 255 - (pixels * 255).round()).abs().max()) < 1e-4
    assert float((x - q).abs().max()) > 1e-3
    # idempotent, and no pixel moves by more than half a level
    assert torch.equal(quantize(lite0, q), q)
    assert float(((x - q) * lite0.std * 255).abs().max()) <= 0.5 + 1e-4
