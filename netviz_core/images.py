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
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import ImageInputError

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
    text = head.lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
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


def _read_source(source: ImageSource, name: str | None) -> tuple[bytes, str]:
    """Bytes of the image and a name for messages."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        label = name or "the uploaded file"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(path)
        if not path.exists():
            raise ImageInputError(f"Image file not found: {path}")
        if not path.is_file():
            raise ImageInputError(f"{path} is not a file.")
        size = path.stat().st_size
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
    arr = np.asarray(im)
    if arr.dtype.kind == "f":
        finite = arr[np.isfinite(arr)]
        hi = float(finite.max()) if finite.size else 1.0
        scale = 255.0 if hi <= 1.0 else (255.0 / 65535.0 if hi > 255 else 1.0)
        out = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0) * scale
    else:
        arr = arr.astype(np.int64)
        # 16-bit data (I;16, or PNG 16-bit grey opened as "I") spans 0..65535.
        wide = im.mode.startswith("I;16") or arr.max(initial=0) > 255
        out = arr * (255.0 / 65535.0) if wide else arr.astype(np.float64)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), mode="L")


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


def open_image(source: ImageSource, *, name: str | None = None, max_side: int = MAX_SIDE) -> Image.Image:
    """Decode ``source`` into an upright RGB PIL image, or raise ``ImageInputError``.

    Handles every PIL mode (L, LA, P with transparency, RGBA, CMYK, I;16, ...), EXIF
    orientation, animated images (first frame), truncated files and decompression
    bombs; images larger than ``max_side`` on their longer side are downscaled.
    """
    if isinstance(source, Image.Image):
        im = source
        label = name or "the image"
        if im.width * im.height > MAX_PIXELS:
            raise ImageInputError(f"{label} has {im.width}x{im.height} pixels; the limit is {MAX_PIXELS:,} pixels.")
    else:
        data, label = _read_source(source, name)
        refused = _sniff_refused(data[:512])
        if refused:
            raise ImageInputError(f"{label} is {refused}.")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise ImageInputError(f"{label} is refused as a decompression bomb: {exc}") from None
        except UnidentifiedImageError:
            raise ImageInputError(
                f"{label} is not an image NetViz can read (PNG, JPEG, GIF, BMP, TIFF, WebP are supported)."
            ) from None
        except Exception as exc:  # PIL raises assorted errors on malformed headers
            raise ImageInputError(f"{label} could not be read as an image: {exc}") from None
        width, height = im.size
        if width < 1 or height < 1:
            raise ImageInputError(f"{label} has an empty size ({width}x{height}).")
        if width * height > MAX_PIXELS:
            raise ImageInputError(
                f"{label} is {width}x{height} = {width * height:,} pixels; the limit is {MAX_PIXELS:,}. "
                "It may be a decompression bomb; otherwise downscale it first."
            )
        if getattr(im, "is_animated", False):
            im.seek(0)  # animated GIF/WebP/APNG: the first frame
        if im.format == "JPEG" and max(width, height) > max_side:
            im.draft(im.mode, (max_side, max_side))  # decode at a reduced scale: bounded memory
        try:
            # Truncated files must fail here, loudly, rather than be silently padded.
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            im.load()
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            if "truncated" in reason.lower() or isinstance(exc, (EOFError, SyntaxError)):
                raise ImageInputError(f"{label} is truncated or corrupt ({reason}).") from None
            raise ImageInputError(f"{label} could not be decoded: {reason}") from None
    try:
        im = ImageOps.exif_transpose(im) or im
    except Exception:  # a malformed EXIF block must not lose the picture; keep it unrotated
        pass
    im = to_rgb(im)
    if max(im.size) > max_side:
        im = im.copy()
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
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
        """Map a point in model-input pixels to original-image pixels."""
        left, top, right, bottom = self.crop_box
        h, w = self.input_size
        return left + x * (right - left) / w, top + y * (bottom - top) / h


def crop_box_for(original_size: tuple[int, int], input_size: tuple[int, int], crop_pct: float = 1.0):
    """The centred box with the input's aspect ratio, ``crop_pct`` of the largest such box."""
    width, height = original_size
    in_h, in_w = input_size
    if not 0 < crop_pct <= 1:
        raise ValueError(f"crop_pct must be in (0, 1], got {crop_pct}")
    scale = min(width / in_w, height / in_h) * crop_pct
    box_w, box_h = in_w * scale, in_h * scale
    left, top = (width - box_w) / 2, (height - box_h) / 2
    return (left, top, left + box_w, top + box_h)


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
