"""Property tests of the image decoder (``open_image``).

Whatever bytes arrive, ``open_image`` either returns an 8-bit RGB image or raises
``ImageInputError``; nothing else escapes.  Valid images of every mode, size and
format decode to RGB of their own size, or of the downscaled size when their longer
side is over ``max_side``.  (Examples are kept small so the suite stays fast.)
Any size of picture preprocesses, on every bundled backbone, to the model's input and
a crop box inside the picture.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from conftest import encoded
from netviz_core.errors import ImageInputError
from netviz_core.images import MAX_SIDE, crop_box_for, open_image, preprocess_with_geometry

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SIGNATURES = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"\xff\xd8\xff\xe0",
    b"\xff\xd8\xff\xdb",
    b"GIF89a",
    b"GIF87a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"\x00\x00\x01\x00",  # ICO
    b"P6\n",  # PPM
    b"<svg",
    b"\x00\x00\x00\x18ftypheic",
    b"%PDF-1.4",
]


def _decodes_or_refuses(data: bytes, max_side: int = MAX_SIDE) -> Image.Image | None:
    try:
        im = open_image(data, name="fuzz.bin", max_side=max_side)
    except ImageInputError as err:
        assert str(err), "an ImageInputError must carry a message"
        return None
    assert isinstance(im, Image.Image) and im.mode == "RGB"
    assert min(im.size) >= 1 and max(im.size) <= max_side
    np.asarray(im)  # the pixels are really there
    return im


@FAST
@given(st.binary(max_size=4096))
def test_random_bytes_decode_or_are_refused(data):
    _decodes_or_refuses(data)


@FAST
@given(st.sampled_from(SIGNATURES), st.binary(max_size=2048))
def test_random_bytes_behind_a_format_signature_decode_or_are_refused(magic, tail):
    _decodes_or_refuses(magic + tail)


def _encoded(mode: str, fmt: str, w: int, h: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    if mode in ("I;16", "I", "F"):
        dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
        arr = rng.integers(0, 65536, size=(h, w)).astype(dtype)
        im = Image.fromarray(arr)  # uint16 -> I;16, int32 -> I, float32 -> F
    else:
        im = Image.fromarray(rng.integers(0, 256, size=(h, w, 4), dtype=np.uint8), mode="RGBA").convert(mode)
        if mode == "P" and seed % 2:
            im.info["transparency"] = int(seed % 256)
    return encoded(im, fmt)


# (mode, format) pairs that PIL can write.
WRITABLE = [
    ("RGB", "PNG"), ("RGBA", "PNG"), ("L", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("1", "PNG"), ("I;16", "PNG"),
    ("RGB", "JPEG"), ("L", "JPEG"), ("CMYK", "JPEG"),
    ("P", "GIF"), ("L", "GIF"), ("RGB", "GIF"),
    ("RGB", "BMP"), ("L", "BMP"), ("P", "BMP"), ("1", "BMP"),
    ("RGB", "TIFF"), ("RGBA", "TIFF"), ("CMYK", "TIFF"), ("L", "TIFF"), ("LA", "TIFF"), ("I;16", "TIFF"),
    ("F", "TIFF"), ("I", "TIFF"), ("1", "TIFF"), ("P", "TIFF"),
    ("RGB", "WEBP"), ("RGBA", "WEBP"),
    ("RGB", "PPM"), ("L", "PPM"),
]


def _expected_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    if max(w, h) <= max_side:
        return w, h
    scale = max_side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


@FAST
@given(
    st.sampled_from(WRITABLE),
    st.integers(1, 96),
    st.integers(1, 96),
    st.sampled_from([MAX_SIDE, 64, 17, 1]),
    st.integers(0, 2**16),
)
def test_valid_images_of_any_mode_and_size_decode_to_rgb_of_the_right_size(pair, w, h, max_side, seed):
    mode, fmt = pair
    data = _encoded(mode, fmt, w, h, seed)
    im = open_image(data, max_side=max_side)
    assert im.mode == "RGB"
    ew, eh = _expected_size(w, h, max_side)
    assert max(im.size) == max(ew, eh)
    assert abs(im.width - ew) <= 1 and abs(im.height - eh) <= 1  # PIL rounds the shorter side its own way


@FAST
@given(st.sampled_from(WRITABLE), st.integers(1, 48), st.integers(1, 48), st.integers(0, 2**16), st.data())
def test_damaged_valid_images_decode_or_are_refused(pair, w, h, seed, data):
    """Truncations and flipped bytes of real files: a picture, or an ImageInputError; nothing else."""
    mode, fmt = pair
    raw = bytearray(_encoded(mode, fmt, w, h, seed))
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), max_size=4),
                      label="flips")
    for pos, value in flips:
        raw[pos] = value
    _decodes_or_refuses(bytes(raw[:cut] if data.draw(st.booleans(), label="truncate") else raw))


@FAST
@given(st.integers(1, 8), st.integers(1, 40), st.integers(1, 40), st.sampled_from(["JPEG", "PNG", "WEBP"]))
def test_exif_orientation_matches_pillows_exif_transpose(orientation, w, h, fmt):
    rng = np.random.default_rng(orientation * 1000 + w * 41 + h)
    im = Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, format=fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    got = open_image(buf.getvalue())
    assert got.size == expected.size
    assert np.array_equal(np.asarray(got), np.asarray(expected))


@FAST
@given(st.integers(1, 8), st.integers(1, 40), st.integers(1, 40))
def test_the_callers_pil_image_is_never_modified(orientation, w, h):
    assume(max(w, h) > 8)
    im = Image.new("RGB", (w, h), (1, 2, 3))
    before = im.tobytes()
    out = open_image(im, max_side=8)
    assert max(out.size) <= 8
    assert im.size == (w, h) and im.tobytes() == before


@pytest.mark.parametrize("mode", ["L", "I;16", "F", "RGB", "RGBA", "P", "LA", "CMYK", "1"])
def test_downscaling_keeps_the_colour(mode):
    """Downscaling in the image's own mode (grey, 16-bit, float) gives the same colour as at full size."""
    value = {"L": 128, "I;16": 32896, "F": 0.5, "RGB": (200, 100, 50), "RGBA": (200, 100, 50, 255),
             "P": 3, "LA": (128, 255), "CMYK": (0, 255, 255, 0), "1": 1}[mode]
    im = Image.new(mode, (300, 120), value)
    if mode == "P":
        im.putpalette([0, 0, 0] * 3 + [200, 100, 50] + [0, 0, 0] * 252)
    full = np.asarray(open_image(im)).astype(int)
    small = np.asarray(open_image(im, max_side=50)).astype(int)
    assert small.shape == (20, 50, 3)
    assert np.abs(small - full[:20, :50]).max() <= 1


# ---------------------------------------------------------------------------- preprocessing


@pytest.fixture(scope="module", params=["lite0", "lite1", "lite2"])
def backbone(request):
    """Each bundled backbone, with its own input size, interpolation, mean and std (its data config)."""
    return request.getfixturevalue(request.param)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 2400), st.integers(1, 2400), st.sampled_from(["none", "model"]), st.integers(0, 255))
@example(741, 450, "none", 128).via("issue 15: crashed lite0")
@example(741, 500, "none", 128).via("issue 15: crashed lite1")
@example(58, 58, "none", 128).via("issue 18: crashed lite1")
def test_preprocess_maps_any_size_onto_the_input_and_back(backbone, width, height, crop, grey):
    """Any size preprocesses to the model's input, with a crop box inside the picture that the geometry maps to."""
    import torch

    crop_pct = None if crop == "none" else backbone.data_config.crop_pct
    in_h, in_w = backbone.input_size
    x, geo = preprocess_with_geometry(backbone, Image.new("RGB", (width, height), (grey, grey, grey)), crop_pct)
    assert x.shape == (1, 3, in_h, in_w)
    # A uniform picture stays uniform: only pixels of the picture were sampled (none from outside the box).
    expected = (grey / 255 - backbone.data_config.mean[0]) / backbone.data_config.std[0]
    assert torch.allclose(x, torch.full_like(x, expected), atol=1.5 / 255 / backbone.data_config.std[0])
    left, top, right, bottom = geo.crop_box
    assert geo.original_size == (width, height) and geo.input_size == (in_h, in_w)
    assert 0 <= left < right <= width and 0 <= top < bottom <= height
    assert geo.crop_box == crop_box_for((width, height), (in_h, in_w), 1.0 if crop_pct is None else crop_pct)
    assert geo.input_to_original(0, 0) == (left, top)
    assert geo.input_to_original(in_w, in_h) == pytest.approx((right, bottom), rel=1e-12)
    assert geo.input_to_original(in_w / 2, in_h / 2) == pytest.approx((width / 2, height / 2), rel=1e-12)
