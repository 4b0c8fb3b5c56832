"""Decoding user images safely, and converting between pictures and model tensors.

``open_image`` turns whatever the user gave (a path, bytes, a file object or a PIL
image) into an upright 8-bit RGB PIL image, or raises ``ImageInputError`` with a
message that names the problem.  It never allocates without bound: the pixel count
is checked from the header before any pixel is decoded, and large images are
downscaled while decoding where the format allows it (JPEG draft mode).

``preprocess`` maps an RGB image to the model's input: the centred region of the
model's aspect ratio (the whole centre square by default, ``crop_pct=1``, so that a
saliency map covers everything the user sees), resized with the model's
interpolation and normalised with the model's mean and std.  ``deprocess`` is its
inverse for generated images.  ``ImageGeometry`` records where the model input lies
in the original picture, so maps and boxes can be drawn on the original.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Union

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .errors import ImageInputError
from .files import existing_file_size

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .models import LoadedModel

ImageSource = Union[str, os.PathLike, bytes, bytearray, BinaryIO, Image.Image]

#: Refuse files larger than this before reading them (bytes).
MAX_FILE_BYTES = 50 * 1024 * 1024
#: Refuse images with more pixels than this (read from the header, before decoding).
MAX_PIXELS = 64_000_000
#: Decoded images are downscaled so that their longer side is at most this.
MAX_SIDE = 4096

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}

_REFUSED_FORMATS = {
    "svg": "an SVG drawing (vector graphics); export it as PNG or JPEG first",
    "heic": "a HEIC/HEIF photo, which NetViz cannot decode; convert it to JPEG or PNG first",
    "avif": "an AVIF image, which NetViz cannot decode here; convert it to PNG or JPEG first",
    "pdf": "a PDF document, not an image",
}


def _sniff_refused(head: bytes) -> str | None:
    """Recognise formats that PIL cannot (or should not) decode, from the first bytes."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()  # a UTF-8 BOM may precede the markup
    # "<svg", or "<?xml", "<!DOCTYPE svg ...>", "<!-- comment -->" ... followed by "<svg".
    if text.startswith(b"<") and b"<svg" in text:
        return _REFUSED_FORMATS["svg"]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return _REFUSED_FORMATS["heic"]
        if brand in (b"avif", b"avis"):
            return _REFUSED_FORMATS["avif"]
    if head.startswith(b"%PDF"):
        return _REFUSED_FORMATS["pdf"]
    return None


#: File suffixes of formats that are refused; used when the content itself is not recognised.
_REFUSED_SUFFIXES = {".svg": "svg", ".svgz": "svg", ".heic": "heic", ".heif": "heic", ".avif": "avif", ".pdf": "pdf"}
#: Signatures of formats PIL decodes: a file that starts like one but cannot be opened is truncated or corrupt.
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def _signature(head: bytes) -> str | None:
    for magic, fmt in _SIGNATURES.items():
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


#: EXIF orientation -> the transpose that makes the picture upright (as ImageOps.exif_transpose).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright); a malformed EXIF block counts as upright."""
    try:
        value = im.getexif().get(0x0112, 1)
        return int(value) if value in _ORIENTATION else 1
    except Exception:
        return 1


def _read_source(source: ImageSource, name: str | None) -> tuple[bytes, str]:
    """Bytes of the image and a name for messages."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        label = name or "the uploaded file"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(path)
        size = existing_file_size(path, "Image", ImageInputError)
        if size > MAX_FILE_BYTES:
            raise ImageInputError(
                f"{label} is {size / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES / 2**20:.0f} MB. Use a smaller image."
            )
        data = path.read_bytes()
    elif hasattr(source, "read"):
        data = source.read(MAX_FILE_BYTES + 1)
        label = name or getattr(source, "name", None) or "the uploaded file"
        if not isinstance(data, (bytes, bytearray)):
            raise ImageInputError(f"{label}: expected a binary file, got text.")
        data = bytes(data)
    else:
        raise ImageInputError(f"Cannot read an image from a {type(source).__name__}.")
    if len(data) > MAX_FILE_BYTES:
        raise ImageInputError(f"{label} is larger than the {MAX_FILE_BYTES / 2**20:.0f} MB limit. Use a smaller image.")
    if not data:
        raise ImageInputError(f"{label} is empty (0 bytes).")
    return data, label


def _to_8bit_gray(im: Image.Image) -> Image.Image:
    """Scale a 16/32-bit integer or float single-channel image to 8-bit L."""
    # float32 throughout: 4 bytes a pixel (int64/float64 temporaries cost 16 and more).
    arr = np.asarray(im)
    if arr.dtype.kind == "f":
        out = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        hi = float(out.max(initial=0.0))
        out *= np.float32(255.0 if hi <= 1.0 else (255.0 / 65535.0 if hi > 255 else 1.0))
    else:
        # 16-bit data (I;16, or PNG 16-bit grey opened as "I") spans 0..65535.
        wide = im.mode.startswith("I;16") or int(arr.max(initial=0)) > 255
        out = arr.astype(np.float32)
        if wide:
            out *= np.float32(255.0 / 65535.0)
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return Image.fromarray(out.astype(np.uint8), mode="L")


def to_rgb(im: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Any PIL mode -> 8-bit RGB; transparency is composited over ``background`` (white)."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _to_8bit_gray(im).convert("RGB")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode in ("LA", "La", "PA", "RGBa"):
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode == "RGBA":
        canvas = Image.new("RGB", im.size, background)
        canvas.paste(im, mask=im.getchannel("A"))
        return canvas
    if mode == "1":
        im = im.convert("L")
    return im.convert("RGB")


def _refused_by_name(label: str) -> str | None:
    kind = _REFUSED_SUFFIXES.get(Path(label).suffix.lower())
    return _REFUSED_FORMATS[kind] if kind else None


def _downscale(im: Image.Image, max_side: int, owned: bool) -> Image.Image:
    """Shrink so that the longer side is at most ``max_side``; the result may not be RGB yet.

    Single-channel images (L, I, F, I;16) are shrunk in their own mode, before the
    conversion to RGB, so a large grey or 16-bit image is never expanded to RGB (or
    to float) at full size.  Other modes are converted first: palette and 1-bit
    images are only resampled by nearest neighbour in their own mode, and resampling
    RGBA premultiplies it into a second full-size copy.
    ``owned``: ``im`` may be changed in place (it is not the caller's image).
    """
    if max(im.size) <= max_side:
        return im
    if im.mode not in ("L", "I", "F") and not im.mode.startswith("I;16"):
        converted = to_rgb(im)
        owned = owned or converted is not im
        im = converted
    if not owned:
        im = im.copy()
    # PIL's reduce() (thumbnail's fast first pass) does not take 16-bit modes; resize alone does.
    gap = None if im.mode.startswith("I;16") else 2.0
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=gap)
    return im


def open_image(source: ImageSource, *, name: str | None = None, max_side: int = MAX_SIDE) -> Image.Image:
    """Decode ``source`` into an upright RGB PIL image, or raise ``ImageInputError``.

    Handles every PIL mode (L, LA, P with transparency, RGBA, CMYK, I;16, ...), EXIF
    orientation, animated images (first frame), truncated files and decompression
    bombs; images larger than ``max_side`` on their longer side are downscaled.

    Thread-safe: no global state is changed (PIL's ``ImageFile.LOAD_TRUNCATED_IMAGES``
    is left at its default, False, which makes truncated files fail; the warnings
    filters are not touched, as ``warnings.catch_warnings`` is not thread-safe).
    """
    if isinstance(source, Image.Image):
        im = source
        label = name or "the image"
        if im.width * im.height > MAX_PIXELS:
            raise ImageInputError(f"{label} has {im.width}x{im.height} pixels; the limit is {MAX_PIXELS:,} pixels.")
        if im.width < 1 or im.height < 1:
            raise ImageInputError(f"{label} has an empty size ({im.width}x{im.height}).")
    else:
        data, label = _read_source(source, name)
        refused = _sniff_refused(data[:512])
        if refused:
            raise ImageInputError(f"{label} is {refused}.")
        if ImageFile.LOAD_TRUNCATED_IMAGES:
            # Something in this process asked PIL to pad truncated files with grey; NetViz must
            # refuse them instead.  (PIL's default is False and NetViz never sets it True.)
            ImageFile.LOAD_TRUNCATED_IMAGES = False
        signature = _signature(data[:16])
        try:
            # PIL warns (DecompressionBombWarning) between 1x and 2x its MAX_IMAGE_PIXELS and
            # raises above 2x; both are far above MAX_PIXELS, which is checked below.
            im = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageInputError(f"{label} is refused as a decompression bomb: {exc}") from None
        except UnidentifiedImageError:
            if signature:
                raise ImageInputError(f"{label} looks like a {signature} file but is truncated or corrupt.") from None
            refused = _refused_by_name(label)
            if refused:
                raise ImageInputError(f"{label} is not a readable image; from its name it may be {refused}.") from None
            raise ImageInputError(
                f"{label} is not an image NetViz can read (PNG, JPEG, GIF, BMP, TIFF, WebP are supported)."
            ) from None
        except Exception as exc:  # PIL raises assorted errors on malformed headers
            reason = str(exc) or type(exc).__name__
            if "truncat" in reason.lower() or isinstance(exc, EOFError):
                raise ImageInputError(f"{label} is truncated or corrupt ({reason}).") from None
            raise ImageInputError(f"{label} could not be read as an image: {reason}") from None
        width, height = im.size
        if width < 1 or height < 1:
            raise ImageInputError(f"{label} has an empty size ({width}x{height}).")
        if width * height > MAX_PIXELS:
            raise ImageInputError(
                f"{label} is {width}x{height} = {width * height:,} pixels; the limit is {MAX_PIXELS:,}. "
                "It may be a decompression bomb; otherwise downscale it first."
            )
        try:
            if getattr(im, "is_animated", False):
                im.seek(0)  # animated GIF/WebP/APNG: the first frame
            if im.format == "JPEG" and max(width, height) > max_side:
                im.draft(im.mode, (max_side, max_side))  # decode at a reduced scale: bounded memory
            # Truncated files fail here, loudly, rather than being silently padded.
            im.load()
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            if "truncat" in reason.lower() or isinstance(exc, (EOFError, SyntaxError)):
                raise ImageInputError(f"{label} is truncated or corrupt ({reason}).") from None
            raise ImageInputError(f"{label} could not be decoded: {reason}") from None
    orientation = _orientation(im)
    im = _downscale(im, max_side, owned=not isinstance(source, Image.Image))
    im = to_rgb(im)
    if max(im.size) > max_side:  # pragma: no cover - _downscale already did it
        im = im.copy()
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if orientation != 1:
        im = im.transpose(_ORIENTATION[orientation])
    return im


@dataclass(frozen=True)
class ImageGeometry:
    """Where the model input lies in the original image.

    ``crop_box`` is (left, top, right, bottom) in original pixels (floats); the model
    input of ``input_size`` (H, W) is that box resized.
    """

    original_size: tuple[int, int]  # (width, height)
    crop_box: tuple[float, float, float, float]
    input_size: tuple[int, int]  # (height, width)

    def input_to_original(self, x: float, y: float) -> tuple[float, float]:
        """Map a point in model-input pixels (0 <= x <= W, 0 <= y <= H) to original-image pixels.

        The model input is the crop box resized, so a point of the input lands in the crop box;
        the result is clamped to it, because ``x * (right - left) / w`` may round one ulp past
        the box's edge (and a caller's ``x`` computed as ``j * W / w`` one ulp past ``W``).
        """
        left, top, right, bottom = self.crop_box
        h, w = self.input_size
        return (min(max(left + x * (right - left) / w, left), right),
                min(max(top + y * (bottom - top) / h, top), bottom))


def crop_box_for(original_size, input_size: tuple[int, int], crop_pct: float = 1.0):
    """The centred box with the input's aspect ratio, ``crop_pct`` of the largest such box.

    Returns (left, top, right, bottom) with 0 <= left <= right <= width and
    0 <= top <= bottom <= height by construction, whatever the sizes:

    - which side limits the box is decided by an exact integer comparison of the aspect
      ratios, and that side's extent is ``side * crop_pct`` (<= side);
    - the other extent is ``in_other * side / in_side * crop_pct``: the exact quotient is at
      most the other side, and rounding a real number to a double never passes a double
      (the side) that bounds it, so the rounded extent is at most that side too;
    - each axis is centred as ``start = (side - extent) / 2`` (>= 0, as ``side >= extent``)
      and ``end = side - start`` (<= side, and >= start as ``start <= side / 2``).

    The previous ``(side - in_side * (side / in_side)) / 2`` came out at -3e-14 for one
    height in thirty (e.g. 450 for a 224 input), which PIL refuses as a box.

    ``original_size`` may also be a pair of integer numpy arrays (widths, heights): the
    box is then four float64 arrays, computed with the same operations, which is how
    the tests check every size at once.
    """
    width, height = original_size
    in_h, in_w = input_size
    if not 0 < crop_pct <= 1:
        raise ValueError(f"crop_pct must be in (0, 1], got {crop_pct}")
    # width / in_w <= height / in_h, compared exactly in integers: the box spans the width.
    full_width = np.asarray(width) * in_h <= np.asarray(height) * in_w
    box_w = np.where(full_width, width, in_w * np.asarray(height) / in_h) * crop_pct
    box_h = np.where(full_width, in_h * np.asarray(width) / in_w, height) * crop_pct
    left = (width - box_w) / 2
    top = (height - box_h) / 2
    box = (left, top, width - left, height - top)
    if np.ndim(left) == 0:
        return tuple(float(v) for v in box)
    return box


def _pil_to_tensor(im: Image.Image):
    import torch

    arr = np.asarray(im, dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)


def preprocess_with_geometry(
    net: "LoadedModel", image: ImageSource, crop_pct: float | None = None
) -> tuple["torch.Tensor", ImageGeometry]:
    """Like ``preprocess``, and also the ``ImageGeometry`` of the crop."""
    im = open_image(image)
    in_h, in_w = net.input_size
    box = crop_box_for(im.size, (in_h, in_w), 1.0 if crop_pct is None else crop_pct)
    resample = _RESAMPLE.get(net.data_config.interpolation, Image.Resampling.BICUBIC)
    if im.size == (in_w, in_h) and box == (0.0, 0.0, float(in_w), float(in_h)):
        resized = im  # already the input: no resampling, so deprocess(preprocess(x)) == x
    else:
        resized = im.resize((in_w, in_h), resample=resample, box=box)
    x = _pil_to_tensor(resized).unsqueeze(0).to(net.device)
    x = (x - net.mean) / net.std
    return x, ImageGeometry(original_size=im.size, crop_box=box, input_size=(in_h, in_w))


def preprocess(net: "LoadedModel", image: ImageSource, crop_pct: float | None = None) -> "torch.Tensor":
    """An image -> normalised tensor (1, 3, H, W) on the model's device.

    ``crop_pct`` of 1 (the default) keeps the whole centred region of the model's
    aspect ratio; ``net.data_config.crop_pct`` reproduces timm's evaluation crop.
    """
    return preprocess_with_geometry(net, image, crop_pct)[0]


def to_unit_range(net: "LoadedModel", x: "torch.Tensor") -> "torch.Tensor":
    """Normalised model input -> RGB in [0, 1] (clamped), same shape."""
    return (x.detach() * net.std + net.mean).clamp_(0.0, 1.0)


def to_uint8(net: "LoadedModel", x: "torch.Tensor") -> np.ndarray:
    """Normalised batch (N, 3, H, W) -> uint8 array (N, H, W, 3), rounded to nearest."""
    import torch

    x = x if x.dim() == 4 else x.unsqueeze(0)
    rgb = to_unit_range(net, x).mul_(255.0).round_().to(dtype=torch.uint8)
    return rgb.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def quantize(net: "LoadedModel", x: "torch.Tensor") -> "torch.Tensor":
    """The normalised tensor that an 8-bit PNG of ``x`` decodes to (for 'survives export' checks)."""
    import torch

    q = to_unit_range(net, x).mul_(255.0).round_().div_(255.0)
    return ((q - net.mean) / net.std).to(dtype=x.dtype if x.dtype.is_floating_point else torch.float32)


def deprocess(net: "LoadedModel", x: "torch.Tensor") -> Image.Image:
    """Normalised tensor (1, 3, H, W) or (3, H, W) -> RGB PIL image (inverse of ``preprocess``)."""
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ValueError(f"deprocess takes one image; got a batch of {x.shape[0]} (use deprocess_batch)")
        x = x[0]
    return Image.fromarray(to_uint8(net, x)[0], mode="RGB")


def deprocess_batch(net: "LoadedModel", x: "torch.Tensor") -> list[Image.Image]:
    """Normalised batch (N, 3, H, W) -> list of N RGB PIL images."""
    return [Image.fromarray(a, mode="RGB") for a in to_uint8(net, x)]
