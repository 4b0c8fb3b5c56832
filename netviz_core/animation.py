"""Animated GIFs of an optimisation: the one encoder behind the library's, the CLI's and the dashboard's GIFs."""

from __future__ import annotations

import io
from typing import Sequence

from PIL import Image

#: The last frame is shown this many times longer, so that the viewer sees the result before the loop restarts.
HOLD_LAST = 10


def gif_bytes(frames: Sequence[Image.Image], duration_ms: int = 120, hold_last: int = HOLD_LAST) -> bytes:
    """An endlessly looping GIF of ``frames`` (PIL images), ``duration_ms`` each, the last held ``hold_last`` times longer."""
    if not frames:
        return b""
    durations = [duration_ms] * (len(frames) - 1) + [duration_ms * hold_last]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=list(frames[1:]), duration=durations, loop=0)
    return buf.getvalue()
