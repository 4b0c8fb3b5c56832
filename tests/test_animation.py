"""netviz_core.animation: the one GIF encoder (class-visualization results, the CLI, the dashboard)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from netviz_core.animation import HOLD_LAST, gif_bytes


def _frames(n: int) -> list[Image.Image]:
    return [Image.fromarray(np.full((8, 8, 3), 20 * i, dtype=np.uint8)) for i in range(n)]


def _read(data: bytes) -> tuple[int, list[int], int]:
    gif = Image.open(io.BytesIO(data))
    durations = []
    for i in range(gif.n_frames):
        gif.seek(i)
        durations.append(gif.info["duration"])
    return gif.n_frames, durations, gif.info.get("loop")


def test_every_frame_in_order_the_last_held_and_looping():
    n, durations, loop = _read(gif_bytes(_frames(4), duration_ms=50))
    assert n == 4 and durations == [50, 50, 50, 50 * HOLD_LAST] and loop == 0
    assert gif_bytes([]) == b""


def test_the_dashboard_gif_is_the_library_encoder_on_evenly_picked_frames():
    from netviz_app.media import gif_bytes as app_gif_bytes

    arrays = [np.asarray(f) for f in _frames(10)]
    n, durations, _ = _read(app_gif_bytes(arrays, duration_ms=40, max_frames=4))
    assert n == 4 and durations[-1] == 40 * HOLD_LAST
    picked = [np.asarray(_frames(10)[i]) for i in (0, 3, 6, 9)]
    assert app_gif_bytes(arrays, duration_ms=40, max_frames=4) == gif_bytes([Image.fromarray(a) for a in picked], 40)
