"""A corpus of bad inputs, built by the tests themselves (no binary blobs in the repository).

Each case asserts either the correct result or an error whose message names the
problem.  Sections mirror the package: images, weights files, model names,
optimisation settings, and the dashboard's URL query parameters.  Cases that
tests/test_images.py and tests/test_models.py already cover are not repeated.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from conftest import encoded
from netviz_core.errors import (
    ClassVisualizationError,
    FoolingError,
    HubUnreachableError,
    ImageInputError,
    OptimizationError,
    UnknownModelError,
    WeightsFileError,
)
from netviz_core.images import MAX_PIXELS, MAX_SIDE, open_image

# ============================================================================ images



def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width: int, height: int, color_type: int = 0, bit_depth: int = 8, rows: int | None = None) -> bytes:
    """A PNG of zeros written by hand, so that huge sizes cost nothing to make.

    ``rows`` limits how many rows of pixel data are written (the header still says ``height``).
    """
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    row = bytes(1 + (width * channels * bit_depth + 7) // 8)
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(height if rows is None else rows)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def noise(w: int = 120, h: int = 90, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


PNG = encoded(noise())
JPEG = encoded(noise(), "JPEG", quality=90)
PIL_LIMIT = Image.MAX_IMAGE_PIXELS


def oriented_jpeg(orientation: int) -> bytes:
    """60x20, white stripe on the left 10 columns, with an EXIF orientation tag."""
    im = Image.new("RGB", (60, 20), (0, 0, 0))
    im.paste((255, 255, 255), (0, 0, 10, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(im, "JPEG", exif=exif.tobytes(), quality=95)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (16, 12), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buf.getvalue()


def palette_with_transparent_entries() -> bytes:
    pal = Image.new("P", (8, 4), 0)
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0, 0, 0] * 253)
    pal.paste(1, (4, 0, 8, 4))  # right half: green, opaque
    pal.info["transparency"] = bytes([0, 255, 255] + [255] * 253)  # entry 0 (red) fully transparent
    return encoded(pal)


def la_half_alpha() -> bytes:
    return encoded(Image.new("LA", (10, 10), (0, 128)))  # black at 50 % over white -> ~127


def sixteen_bit_rgb_png() -> bytes:
    """A 16-bit-per-channel RGB PNG (PIL cannot write one): every pixel (65535, 32896, 0)."""
    w, h = 6, 4
    row = b"\x00" + struct.pack(">HHH", 65535, 32896, 0) * w
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(row * h))
            + _chunk(b"IEND", b""))


def corrupt_png_crc() -> bytes:
    data = bytearray(PNG)
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # damage the compressed data; the CRC no longer matches
    return bytes(data)


def float_tiff_with_nan() -> bytes:
    arr = np.linspace(0, 1, 24 * 16, dtype=np.float32).reshape(16, 24)
    arr[0, :5] = np.nan
    arr[1, :5] = np.inf
    return encoded(Image.fromarray(arr), "TIFF")


def _pixel(im: Image.Image, xy=(0, 0)) -> list[int]:
    return list(im.getpixel(xy))


# (id, bytes, file name, expected): expected is a regex for the ImageInputError message, or a
# function that checks the decoded image.
IMAGE_CASES = [
    ("binary-noise-named-jpg", bytes(range(256)) * 4, "photo.jpg", r"photo\.jpg is not an image NetViz can read"),
    ("empty", b"", "empty.png", r"empty \(0 bytes\)"),
    ("png-truncated-half", PNG[: len(PNG) // 2], "half.png", r"half\.png is truncated or corrupt"),
    ("png-truncated-in-header", PNG[:40], "head.png", r"looks like a PNG file but is truncated or corrupt"),
    ("png-damaged-data", corrupt_png_crc(), "crc.png", r"crc\.png is truncated or corrupt|could not be decoded"),
    ("jpeg-truncated-half", JPEG[: len(JPEG) // 2], "half.jpg", r"half\.jpg is truncated or corrupt"),
    ("jpeg-truncated-in-header", JPEG[:300], "head.jpg", r"head\.jpg is truncated or corrupt"),
    ("jpeg-only-magic", b"\xff\xd8\xff", "magic.jpg", r"looks like a JPEG file but is truncated or corrupt"),
    ("gif-truncated", animated_gif()[:30], "anim.gif", r"anim\.gif .*truncated or corrupt"),
    ("bomb-1x-to-2x-pil-limit", raw_png(11_000, 11_000, rows=1), "bomb.png",
     r"bomb\.png is 11000x11000 = 121,000,000 pixels; the limit is 64,000,000\. It may be a decompression bomb"),
    ("bomb-over-2x-pil-limit", raw_png(15_000, 15_000, rows=1), "bomb2.png",
     r"bomb2\.png is refused as a decompression bomb: Image size \(225000000 pixels\)"),
    ("over-max-pixels-under-pil-limit", raw_png(9_000, 8_000, rows=1), "big.png",
     r"9000x8000 = 72,000,000 pixels; the limit is 64,000,000"),
    ("svg-with-xml-declaration", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "a.svg",
     r"a\.svg is an SVG drawing"),
    ("svg-with-bom-and-doctype", b'\xef\xbb\xbf<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg/>',
     "b.svg", r"b\.svg is an SVG drawing"),
    ("svg-after-a-comment", b"<!-- drawn by hand -->\n<svg width='10' height='10'/>", "c.svg", r"is an SVG drawing"),
    ("heic-by-content", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "IMG_0001.HEIC",
     r"IMG_0001\.HEIC is a HEIC/HEIF photo"),
    ("heic-by-name-only", b"\x00\x00\x00\x20ftypzzzz" + bytes(64), "IMG_0002.heic",
     r"from its name it may be a HEIC/HEIF photo"),
    ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "scan.pdf", r"scan\.pdf is a PDF document"),
    ("png-named-svg-decodes", PNG, "not-really.svg", lambda im: im.size == (120, 90)),
    ("jpeg-named-heic-decodes", JPEG, "not-really.heic", lambda im: im.size == (120, 90)),
    ("one-by-one", encoded(Image.new("RGB", (1, 1), (9, 8, 7))), "dot.png",
     lambda im: im.size == (1, 1) and _pixel(im) == [9, 8, 7]),
    ("very-wide-downscaled", raw_png(10_000, 3), "strip.png", lambda im: im.size == (MAX_SIDE, 1)),
    ("very-tall-downscaled", raw_png(2, 9_000, color_type=2), "pole.png", lambda im: im.size == (1, MAX_SIDE)),
    ("sixteen-bit-rgb", sixteen_bit_rgb_png(), "deep.png",
     lambda im: im.size == (6, 4) and _pixel(im) == [255, 128, 0]),
    ("sixteen-bit-grey-large-downscaled", raw_png(5_000, 40, color_type=0, bit_depth=16), "deep-grey.png",
     lambda im: im.size == (MAX_SIDE, 33) and _pixel(im) == [0, 0, 0]),
    ("cmyk-jpeg", encoded(Image.new("CMYK", (30, 20), (0, 255, 255, 0)), "JPEG", quality=95), "print.jpg",
     lambda im: np.abs(np.asarray(im).astype(int) - [255, 0, 0]).max() <= 8),
    ("palette-with-transparent-entries", palette_with_transparent_entries(), "pal.png",
     lambda im: _pixel(im, (0, 0)) == [255, 255, 255] and _pixel(im, (7, 0)) == [0, 255, 0]),
    ("la-half-transparent", la_half_alpha(), "la.png", lambda im: abs(_pixel(im)[0] - 127) <= 1),
    ("exif-rotate-180", oriented_jpeg(3), "r180.jpg",
     lambda im: im.size == (60, 20) and np.asarray(im)[:, -10:].mean() > 200),
    ("exif-rotate-90-ccw", oriented_jpeg(8), "r270.jpg",
     lambda im: im.size == (20, 60) and np.asarray(im)[-10:].mean() > 200),
    ("exif-mirrored", oriented_jpeg(2), "mirror.jpg",
     lambda im: im.size == (60, 20) and np.asarray(im)[:, -10:].mean() > 200),
    ("animated-gif-first-frame", animated_gif(), "anim.gif", lambda im: _pixel(im, (5, 5)) == [255, 0, 0]),
    ("float-tiff-with-nan-and-inf", float_tiff_with_nan(), "float.tif",
     lambda im: im.size == (24, 16) and _pixel(im) == [0, 0, 0]),
]


@pytest.mark.parametrize("name, data, filename, expected", IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
def test_image_corpus(name, data, filename, expected):
    if callable(expected):
        im = open_image(data, name=filename)
        assert im.mode == "RGB"
        assert expected(im), f"{name}: wrong result {im.size}"
    else:
        with pytest.raises(ImageInputError, match=expected):
            open_image(data, name=filename)


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [11_000, 15_000], ids=["1x-2x", "over-2x"])
def test_decompression_bomb_message_when_warnings_are_errors(side):
    """With PIL's bomb warning turned into an error (``-W error``), the message is still the clear one."""
    with pytest.raises(ImageInputError, match=r"decompression bomb"):
        open_image(raw_png(side, side, rows=1), name="bomb.png")


def test_a_20000_square_png_of_zeros_is_refused_before_any_pixel_is_decoded(monkeypatch):
    data = raw_png(20_000, 20_000)  # 400 M pixels; the file itself is under 1 MB
    assert len(data) < 2**20

    def no_decoding(self, *a, **k):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ImageInputError, match="decompression bomb"):
        open_image(data, name="zeros.png")


def test_an_image_at_the_pixel_limit_decodes_within_a_bounded_size(monkeypatch):
    """At MAX_PIXELS the image is accepted and downscaled; one pixel more is refused."""
    import netviz_core.images as images

    monkeypatch.setattr(images, "MAX_PIXELS", 600 * 500)
    assert open_image(raw_png(600, 500), max_side=100).size == (100, 83)
    with pytest.raises(ImageInputError, match="the limit is 300,000"):
        open_image(raw_png(600, 501))
    assert MAX_PIXELS == 64_000_000


def test_large_grey_and_16_bit_images_are_shrunk_before_conversion(monkeypatch):
    """A small file of a large 16-bit grey image must not be expanded to RGB or float at full size.

    (Before the fix, an 8000x8000 16-bit PNG of a few hundred kB peaked at ~2 GB: int64 and
    float64 copies of every pixel.  Now ~220 MB.)
    """
    import netviz_core.images as images

    seen = []
    real = images._to_8bit_gray
    monkeypatch.setattr(images, "_to_8bit_gray", lambda im: seen.append(im.size) or real(im))
    im = open_image(raw_png(600, 300, color_type=0, bit_depth=16), max_side=100)
    assert im.size == (100, 50) and seen == [(100, 50)]


@pytest.mark.parametrize(
    "source, expected",
    [
        (Path("/nonexistent/cat.png"), r"Image file not found"),
        (Path("/"), r"is not a file"),
        (io.StringIO("text, not bytes"), r"expected a binary file, got text"),
        (12345, r"Cannot read an image from a int"),
        (Image.new("RGB", (0, 0)), r"empty size"),
    ],
    ids=["missing-path", "directory", "text-stream", "an-int", "zero-size-pil-image"],
)
def test_image_sources_that_are_not_files_of_bytes(source, expected):
    with pytest.raises(ImageInputError, match=expected):
        open_image(source)


def test_file_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    import netviz_core.images as images

    monkeypatch.setattr(images, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.png"
    path.write_bytes(PNG)
    with pytest.raises(ImageInputError, match=r"big\.png is .* MB; the limit is"):
        open_image(path)
    with pytest.raises(ImageInputError, match=r"larger than the"):
        open_image(io.BytesIO(PNG), name="stream.png")


def test_truncated_files_are_refused_even_if_something_turned_on_pils_global(monkeypatch):
    """``ImageFile.LOAD_TRUNCATED_IMAGES`` is process-wide; NetViz must never pad a truncated file."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageInputError, match="truncated"):
        open_image(JPEG[: len(JPEG) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_decoding_does_not_touch_the_warnings_filters(monkeypatch):
    """``warnings.catch_warnings`` is not thread-safe (it swaps a global list), so the decoder must not use it."""
    import warnings

    def not_thread_safe(*a, **k):
        raise AssertionError("warnings.catch_warnings used on the decoding path")

    monkeypatch.setattr(warnings, "catch_warnings", not_thread_safe)
    before = list(warnings.filters)
    for data in (PNG, JPEG):
        assert open_image(data).size[0] > 0
    for side in (11_000, 15_000):  # beyond the pixel limit: refused by the same (warning-free) path
        with pytest.raises(ImageInputError, match="pixels|megapixel|too large"):
            open_image(raw_png(side, side, rows=1))
    assert warnings.filters == before


def test_eight_threads_decoding_good_and_truncated_files_each_get_their_own_answer():
    good = {"png": PNG, "jpeg": JPEG, "gif": animated_gif(), "la": la_half_alpha()}
    bad = {"png": PNG[: len(PNG) // 2], "jpeg": JPEG[: len(JPEG) // 2]}
    expected = {k: np.asarray(open_image(v)) for k, v in good.items()}
    errors: list[str] = []

    def worker(i: int) -> None:
        try:
            for _ in range(15):
                for key, data in good.items():
                    if not np.array_equal(np.asarray(open_image(data)), expected[key]):
                        errors.append(f"thread {i}: {key} decoded differently")
                for key, data in bad.items():
                    try:
                        open_image(data)
                        errors.append(f"thread {i}: truncated {key} accepted")
                    except ImageInputError:
                        pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(f"thread {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_one_pixel_image_through_preprocess_classify_and_saliency(lite0):
    from netviz_core.classify import classify
    from netviz_core.images import preprocess
    from netviz_core.saliency import saliency

    dot = open_image(encoded(Image.new("RGB", (1, 1), (200, 30, 30))), name="dot.png")
    x = preprocess(lite0, dot)
    assert x.shape == (1, 3, 224, 224) and torch.isfinite(x).all()
    top = classify(lite0, dot, top_k=3)
    assert len(top.indices) == 3
    for method in ("vanilla", "gradcam"):
        maps = saliency(lite0, x, method=method)
        assert maps.shape == (1, 224, 224) and torch.isfinite(maps).all() and (maps >= 0).all()


# ============================================================================ weights files


class _Payload:
    """Unpickling this would call ``fn(*args)``."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def _marker_command(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('ran')"


def _write(path: Path, obj) -> Path:
    torch.save(obj, path)
    return path


def _resnet18_state() -> dict[str, torch.Tensor]:
    import timm

    return timm.create_model("resnet18", pretrained=False, num_classes=10).state_dict()


def weights_case_builders():
    """(id, build(tmp_path, marker) -> path, architecture, message regex)."""

    def eval_pickle_protocol0(tmp, marker):
        p = tmp / "eval0.bin"
        p.write_bytes(pickle.dumps({"w": _Payload(eval, (_marker_command(marker),))}, protocol=0))
        return p

    def exec_in_torch_zip(tmp, marker):
        return _write(tmp / "exec.pt", {"state_dict": {"w": torch.zeros(2)}, "x": _Payload(exec, (_marker_command(marker),))})

    def subprocess_pickle_protocol5(tmp, marker):
        import subprocess

        p = tmp / "popen.pth"
        p.write_bytes(pickle.dumps(_Payload(subprocess.call, (["touch", str(marker)],)), protocol=5))
        return p

    def hand_written_global(tmp, marker):
        p = tmp / "handmade.pth"  # c<module>\n<name>\n ( <arg> tR : os.system, written opcode by opcode
        p.write_bytes(b"cos\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR.")
        return p

    def numpy_array_pickle(tmp, marker):
        p = tmp / "numpy.pth"
        p.write_bytes(pickle.dumps({"conv1.weight": np.zeros((2, 2), dtype=np.float32)}))
        return p

    def shapes_differ(tmp, marker):
        state = _resnet18_state()
        state["conv1.weight"] = torch.zeros(32, 3, 7, 7)
        from safetensors.torch import save_file

        p = tmp / "wide.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, str(p))
        return p

    def unexpected_keys(tmp, marker):
        state = _resnet18_state()
        state["extra_head.weight"] = torch.zeros(3)
        return _write(tmp / "extra.pth", state)

    def renamed_keys(tmp, marker):
        state = {("backbone." + k): v for k, v in _resnet18_state().items()}
        return _write(tmp / "renamed.pth", state)

    def only_counters(tmp, marker):
        return _write(tmp / "counters.pth", {"epoch": 3, "lr": 0.1})

    def a_list(tmp, marker):
        return _write(tmp / "list.pth", [torch.zeros(1)])

    def truncated_torch_zip(tmp, marker):
        full = _write(tmp / "full.pth", _resnet18_state())
        p = tmp / "cut.pth"
        p.write_bytes(full.read_bytes()[:5000])
        return p

    def truncated_safetensors(tmp, marker):
        from safetensors.torch import save_file

        p = tmp / "cut.safetensors"
        save_file({"w": torch.zeros(100, 100)}, str(p))
        p.write_bytes(p.read_bytes()[:1000])
        return p

    def directory(tmp, marker):
        d = tmp / "weights.pth"
        d.mkdir()
        return d

    def checkpoint_suffix(tmp, marker):
        return _write(tmp / "model.ckpt", _resnet18_state())

    return [
        ("eval-pickle-protocol-0", eval_pickle_protocol0, "resnet18", r"refused.*(builtins|__builtin__)\.eval"),
        ("exec-inside-torch-zip", exec_in_torch_zip, "resnet18", r"refused.*(builtins|__builtin__)\.exec"),
        ("subprocess-pickle-protocol-5", subprocess_pickle_protocol5, "resnet18", r"refused.*subprocess\.call"),
        ("hand-written-os-system", hand_written_global, "resnet18", r"refused.*os\.system"),
        ("numpy-arrays-not-tensors", numpy_array_pickle, "resnet18", r"refused.*numpy"),
        ("a-shape-differs", shapes_differ, "resnet18",
         r"does not fit the architecture resnet18: 1 shape mismatches \(conv1\.weight: file \(32, 3, 7, 7\) "
         r"vs model \(64, 3, 7, 7\)\)"),
        ("unexpected-keys", unexpected_keys, "resnet18", r"1 unexpected \(extra_head\.weight\)"),
        ("keys-renamed-cannot-match-by-order-to-another-arch", renamed_keys, "resnet34",
         r"tensors, but the architecture has .*cannot be matched by order"),
        ("no-tensors", only_counters, "resnet18", r"holds no tensors"),
        ("a-list-not-a-state-dict", a_list, "resnet18", r"holds no state dict"),
        ("truncated-torch-zip", truncated_torch_zip, "resnet18", r"cut\.pth could not be read as a PyTorch checkpoint"),
        ("truncated-safetensors", truncated_safetensors, "resnet18", r"cut\.safetensors is not a valid safetensors"),
        ("a-directory", directory, "resnet18", r"Weights path is not a file"),
        ("ckpt-suffix", checkpoint_suffix, "resnet18", r"unsupported weights format '\.ckpt'"),
    ]


WEIGHTS_CASES = weights_case_builders()


@pytest.mark.parametrize("name, build, arch, expected", WEIGHTS_CASES, ids=[c[0] for c in WEIGHTS_CASES])
def test_weights_corpus(tmp_path, name, build, arch, expected):
    from netviz_core.models import load_model

    marker = tmp_path / "code-ran"
    path = build(tmp_path, marker)
    assert not marker.exists()
    with pytest.raises(WeightsFileError, match=expected):
        load_model(arch, path, device="cpu")
    assert not marker.exists(), "loading the weights file ran code from it"


def test_weights_size_limit_comes_from_the_environment(tmp_path):
    """NETVIZ_MAX_WEIGHTS_MB sets the limit (read at import, so checked in a fresh interpreter)."""
    import subprocess
    import sys

    path = tmp_path / "big.safetensors"
    path.write_bytes(b"\0" * (2 * 2**20))
    code = (
        "from netviz_core.weights import read_weights_file\n"
        "from netviz_core.errors import WeightsFileError\n"
        f"try:\n    read_weights_file({str(path)!r})\nexcept WeightsFileError as e:\n    print(e)\n"
    )
    env = {**os.environ, "NETVIZ_MAX_WEIGHTS_MB": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert "big.safetensors is 2 MB, over the 1 MB limit" in out.stdout, out.stdout + out.stderr


# ============================================================================ model names


@pytest.mark.parametrize(
    "name, expected",
    [
        ("", r"No model name given"),
        ("   ", r"No model name given"),
        (None, r"No model name given"),
        (42, r"No model name given"),
        ("efficientnet_lite", r"Unknown model 'efficientnet_lite'.*Closest timm names: .*efficientnet_lite0"),
        ("resnet-50", r"Closest timm names: .*resnet50"),
        ("vit_base_patch16_224_typo", r"Closest timm names: vit_base_patch16_224"),
        ("../../etc/passwd", r"Unknown model '\.\./\.\./etc/passwd': timm has no such architecture"),
        ("x" * 5000, r"timm has no such architecture"),
    ],
    ids=["empty", "blank", "none", "an-int", "partial", "dash-for-nothing", "suffix-typo", "a-path", "very-long"],
)
def test_model_name_corpus(name, expected, network_calls):
    from netviz_core.models import load_model

    with pytest.raises(UnknownModelError, match=expected):
        load_model(name, "random", device="cpu")
    assert network_calls == []  # refused from timm's list of names, before anything is built or fetched


@pytest.mark.parametrize("weights", [None, "random"])
def test_known_architecture_with_unknown_pretrained_tag_lists_the_tags(monkeypatch, weights, network_calls):
    """timm raises a bare RuntimeError for an unknown tag; NetViz names the tags there are."""
    from netviz_core.models import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UnknownModelError, match=r"Unknown pretrained tag 'no_such_tag' for resnet18.*tv_in1k"):
        load_model("resnet18.no_such_tag", weights, device="cpu")
    assert network_calls == []
    assert load_model("resnet18.tv_in1k", "random", device="cpu").name == "resnet18.tv_in1k"


def test_hub_that_refuses_connections_fails_fast(monkeypatch, network_calls):
    """A closed port (connection refused) must not be retried for ~50 s by the hub client.

    One probe, then the error: the hub client (which retries) is never started.
    """
    import socket

    from netviz_core.models import load_model

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(HubUnreachableError, match=r"not reachable"):
        load_model("resnet18", device="cpu")
    from netviz_core.models import HUB_PROBE_TIMEOUT_S

    probe = ("urlopen", f"http://127.0.0.1:{port}/api/models?limit=1", HUB_PROBE_TIMEOUT_S)
    assert [c for c in network_calls if c[0] != "connect"] == [probe]  # the probe's one request; no download


# ============================================================================ optimisation settings


@pytest.fixture(scope="module")
def tiny():
    """A small random CNN: the optimisation corpus checks the guards, not what a trained net draws.

    Its weights are drawn from a seeded generator (timm draws them from torch's global one), so
    they do not depend on which tests ran before, and the global generator is left as it was.
    """
    from netviz_core.models import load_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return load_model("test_resnet", "random", device="cpu")


def _engine(net, x, **kw):
    from netviz_core.optimize import engine

    return engine.run(engine.optimize(net, x, [1], **kw))


def test_plain_gradient_with_lr_1e6_is_stopped_within_the_first_steps(lite0):
    """On a trained net (gradients of a realistic size): the plain step lr·g leaves any sane range."""
    from netviz_core.optimize.steps import PlainGradient

    x = torch.zeros(1, 3, *lite0.input_size)
    with pytest.raises(OptimizationError, match=r"Step [12]: the image exploded.*Lower the learning rate"):
        _engine(lite0, x, step_rule=PlainGradient(1e6), iterations=20)


def test_l2_weight_1e6_is_stopped_within_the_first_steps(tiny):
    """λ‖x‖² with λ = 1e6 and a plain step: x <- x - 2λx overshoots by a factor 2e6 at once."""
    from netviz_core.optimize.objectives import ClassLogit, L2Norm
    from netviz_core.optimize.steps import PlainGradient

    x = torch.randn(1, 3, *tiny.input_size, generator=torch.Generator().manual_seed(0))
    with pytest.raises(OptimizationError, match=r"Step 1: the image exploded"):
        _engine(tiny, x, objective=ClassLogit() - 1e6 * L2Norm(), step_rule=PlainGradient(1.0), iterations=20)


def test_nan_in_the_objective_is_stopped_at_once(tiny):
    from netviz_core.optimize.objectives import ClassLogit, Lambda

    nan = Lambda(lambda ctx: (ctx.images * float("nan")).flatten(1).sum(1), name="nan")
    x = torch.zeros(1, 3, *tiny.input_size)
    with pytest.raises(OptimizationError, match=r"Step 0: the gradient became NaN or infinite"):
        _engine(tiny, x, objective=ClassLogit() + nan, iterations=5)


def test_infinite_start_image_is_stopped_at_step_0(tiny):
    x = torch.full((1, 3, *tiny.input_size), float("inf"))
    with pytest.raises(OptimizationError, match=r"Step 0: the class scores became NaN or infinite"):
        _engine(tiny, x, iterations=5)


def test_blur_sigma_0_and_zero_iterations_are_handled(tiny):
    from netviz_core.optimize.transforms import GaussianBlur

    x = torch.randn(1, 3, *tiny.input_size, generator=torch.Generator().manual_seed(0))
    last, frames = _engine(tiny, x, post_steps=[GaussianBlur(0.0, every=1)], iterations=2)
    assert last.step == 2 and torch.isfinite(last.images).all()
    last, frames = _engine(tiny, x, iterations=0)
    assert len(frames) == 1 and last.final and torch.equal(last.images, x)


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (dict(lr=float("nan")), r"lr \(learning rate\) must be a finite number from 0.0001 to 1e\+06; got nan"),
        (dict(lr=float("inf")), r"lr \(learning rate\) must be a finite number from 0.0001"),
        (dict(lr=-1.0), r"lr \(learning rate\) must be a finite number from 0.0001"),
        (dict(l2_weight=float("inf")), r"l2_weight \(λ, L2 weight\) must be a finite number from 0 to"),
        (dict(blur_sigma=-0.5), r"blur_sigma \(blur σ\) must be a finite number of pixels from 0 to"),
        (dict(iterations=-1), r"iterations must be a whole number of steps from 0 to"),
        (dict(iterations=2.5), r"iterations must be a whole number"),
        (dict(jitter=True), r"jitter must be a whole number"),
    ],
    ids=["lr-nan", "lr-inf", "lr-negative", "lambda-inf", "blur-negative", "iterations-negative",
         "iterations-fraction", "jitter-bool"],
)
def test_class_visualization_settings_corpus(tiny, overrides, expected):
    from netviz_core.classvis import class_visualization

    with pytest.raises((ClassVisualizationError, OptimizationError), match=expected):
        class_visualization(tiny, [1], **{"iterations": 3, **overrides})


def test_class_visualization_lr_1e6_without_clamping_is_stopped_at_step_1(lite0):
    from netviz_core.classvis import class_visualization

    with pytest.raises(OptimizationError, match=r"Step 1: the image exploded.*Lower the learning rate"):
        class_visualization(lite0, [76], preset="cs231n", iterations=3, lr=1e6, clamp=False)


@pytest.mark.parametrize(
    "overrides, check",
    [
        (dict(lr=1e6), lambda r: r.steps == 2),  # clamped to the pixel range every step: stays finite
        (dict(l2_weight=1e6), lambda r: r.steps == 2),  # a normalised step has length lr whatever λ is
        (dict(blur_sigma=0.0, blur_every=1), lambda r: r.steps == 2),
        (dict(iterations=0), lambda r: r.steps == 0),
    ],
    ids=["lr-1e6-clamped", "lambda-1e6", "blur-sigma-0", "zero-iterations"],
)
def test_class_visualization_extremes_that_have_a_correct_result(tiny, overrides, check):
    from netviz_core.classvis import class_visualization

    result = class_visualization(tiny, [1], preset="cs231n", **{"iterations": 2, **overrides})
    assert check(result)
    assert torch.isfinite(result.tensors).all()  # the float result (the 8-bit pictures are finite by type)
    assert [im.size for im in result.images] == [tiny.input_size[::-1]]


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(lr=float("nan")), r"lr \(learning rate\) must be a finite number from 0.001 to 1e\+06; got nan"),
        (dict(lr=0), r"lr \(learning rate\) must be a finite number from 0.001 to 1e\+06; got 0"),
        (dict(iterations=-3), r"iterations must be a whole number of steps from 0 to"),
        (dict(iterations=1.5), r"iterations must be a whole number"),
        (dict(linf=1e6), r"linf \(ε, L∞ bound\) must be a finite number from 0.5 to 255"),
        (dict(step_size=1.0), r"give linf=ε as well"),
    ],
    ids=["lr-nan", "lr-zero", "iterations-negative", "iterations-fraction", "linf-huge", "step-without-linf"],
)
def test_fooling_settings_corpus(tiny, kwargs, expected):
    from netviz_core.fooling import fool

    with pytest.raises(FoolingError, match=expected):
        fool(tiny, noise(64, 64), 1, **kwargs)


def test_fooling_with_lr_1e6_and_zero_iterations_give_results(tiny):
    from netviz_core.fooling import fool

    from netviz_core.images import to_uint8

    result = fool(tiny, noise(64, 64), 1, lr=1e6, iterations=2)
    assert result.iterations == 2 or (result.success and result.iterations == 1)
    # The reported L-inf is the change between the 8-bit pictures; a step of 1e6 takes pixels to the range's ends.
    change = np.abs(to_uint8(tiny, result.fooling_image).astype(int) - to_uint8(tiny, result.original_image).astype(int))
    assert result.linf == pytest.approx(change.max(), abs=1e-3) and result.linf >= 128
    unchanged = fool(tiny, noise(64, 64), 1, iterations=0)
    assert unchanged.iterations == 0 and unchanged.linf == 0


# ============================================================================ URL query parameters


@pytest.fixture
def Param():
    """The dashboard's query-parameter spec (netviz_app is not installed; it runs from the checkout)."""
    import sys

    pytest.importorskip("streamlit")
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from netviz_app.state import Param

    return Param


@pytest.mark.parametrize(
    "kind, lo, hi, raw, expected",
    [
        ("int", 0, 500, "1000000", 500),
        ("int", 0, 500, "-7", 0),
        ("int", 0, 500, "1e308", 500),
        ("int", 0, 500, "9" * 400, 500),  # cut to MAX_RAW characters, still a number: clamped
        ("int", 0, 500, "nan", ValueError),
        ("int", 0, 500, "inf", ValueError),
        ("int", 0, 500, "12abc", ValueError),
        ("int", 0, 500, ["3", "4"], 4),
        ("float", 0.0, 10.0, "1e6", 10.0),
        ("float", 0.0, 10.0, "-inf", ValueError),
        ("float", 0.0, 10.0, "0.5", 0.5),
    ],
)
def test_url_numbers_are_clamped_to_the_widgets_range(Param, kind, lo, hi, raw, expected):
    p = Param("x", kind, lo, lo=lo, hi=hi)
    if expected is ValueError:
        with pytest.raises(ValueError):
            p.parse(raw)
    else:
        assert p.parse(raw) == expected


def test_url_choices_and_text_are_sanitised(Param):
    log = Param("lr", "logfloat", 1.0, choices=(0.01, 0.1, 1.0, 10.0))
    assert log.parse("1e6") == 10.0 and log.parse("-5") == 0.01 and log.parse("0") == 0.01
    with pytest.raises(ValueError):
        log.parse("nan")
    choice = Param("method", "choice", "vanilla", choices=("vanilla", "gradcam"))
    with pytest.raises(ValueError):
        choice.parse("<script>")
    text = Param("arch", "text", "resnet18", max_len=80)
    assert text.parse("a\x00b\nc" + "d" * 500) == ("abc" + "d" * 77)
    multi = Param("classes", "multi", [1], choices=(1, 2, 3), max_items=2)
    assert multi.parse("3,3,1,2,999") == [3, 1]
