"""Bytes for st.image and download buttons: PNG, JPEG, animated GIF, NPY."""

from __future__ import annotations

import hashlib
import io
from typing import Sequence

import numpy as np
from PIL import Image

from netviz_core import animation


def as_pil(image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    arr = np.asarray(image)
    if arr.ndim == 4:
        arr = arr[0]
    return Image.fromarray(arr.astype(np.uint8), mode="RGB")


def png_bytes(image) -> bytes:
    """Lossless 8-bit PNG: what you download is exactly what the model is scored on."""
    buf = io.BytesIO()
    as_pil(image).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(image, quality: int = 85) -> bytes:
    """A small JPEG for the live view (a 224 px frame is a few kB)."""
    buf = io.BytesIO()
    as_pil(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def gif_bytes(frames: Sequence, duration_ms: int = 80, max_frames: int = 120) -> bytes:
    """An animated GIF of ``frames`` (uint8 HxWx3 arrays or PIL images), at most ``max_frames`` of them, evenly picked.

    Encoded by the library's ``netviz_core.animation.gif_bytes`` (the last frame held longer).
    """
    if not frames:
        return b""
    idx = np.linspace(0, len(frames) - 1, min(len(frames), max_frames)).round().astype(int)
    return animation.gif_bytes([as_pil(frames[i]) for i in idx], duration_ms)


def npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array))
    return buf.getvalue()


def digest(data: bytes | np.ndarray | Image.Image) -> str:
    """A short content hash (cache keys)."""
    if isinstance(data, Image.Image):
        data = np.asarray(data).tobytes() + repr(data.size).encode()
    elif isinstance(data, np.ndarray):
        data = data.tobytes() + repr(data.shape).encode()
    return hashlib.sha256(data).hexdigest()[:20]
