"""Occlusion (Zeiler & Fergus, 2014): how much the class score falls when a window is covered."""

from __future__ import annotations

import torch

from ..errors import SaliencyError
from .base import SaliencyMethod, check_blur_sigma, check_choice, check_integer, reference_image

FILLS = ("gray", "black", "blur")


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """0, stride, 2 stride, ... while the window fits, plus one flush with the end if the last misses it."""
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)  # so every pixel is covered by at least one window
    return starts


class Occlusion(SaliencyMethod):
    """M(i, j) = mean over the windows W covering (i, j) of S_c(x) - S_c(x with W filled), S_c the logit.

    ``window`` x ``window`` squares every ``stride`` pixels, filled with ``fill`` (gray:
    Zeiler & Fergus's grey square; black; blur with ``blur_sigma`` px); the occluded
    copies go through the model ``batch_size`` at a time.  Where the windows tile the
    image exactly this is Captum's ``Occlusion`` with a (3, window, window) sliding window.
    Signed values (a window whose removal raises the score) are kept by ``attributions``.
    """

    name = "occlusion"
    options = {"window": 32, "stride": 16, "fill": "gray", "blur_sigma": 10.0, "batch_size": 32}

    def check_options(self) -> None:
        for key in ("window", "stride", "batch_size"):
            check_integer(getattr(self, key), f"occlusion: {key}")
        check_choice(self.fill, "occlusion: fill", FILLS)
        check_blur_sigma(self.blur_sigma, "occlusion: blur_sigma")

    def attributions(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Signed occlusion maps (N, H, W)."""
        h, w = x.shape[-2:]
        if self.window > min(h, w):
            raise SaliencyError(f"occlusion: window {self.window} is larger than the {h}x{w} input.")
        fill = reference_image(self.net, x, self.fill, self.blur_sigma)
        windows = [(top, left) for top in window_starts(h, self.window, self.stride)
                   for left in window_starts(w, self.window, self.stride)]
        maps = torch.zeros((x.shape[0], h, w), device=x.device)
        counts = torch.zeros((h, w), device=x.device)
        for top, left in windows:
            counts[top: top + self.window, left: left + self.window] += 1
        with torch.no_grad():
            for i in range(x.shape[0]):
                c = int(targets[i])
                original = self.net(x[i: i + 1])[0, c]
                for start in range(0, len(windows), self.batch_size):
                    chunk = windows[start: start + self.batch_size]
                    batch = x[i: i + 1].repeat(len(chunk), 1, 1, 1)
                    for b, (top, left) in enumerate(chunk):
                        region = (slice(top, top + self.window), slice(left, left + self.window))
                        batch[b, :, region[0], region[1]] = fill[i, :, region[0], region[1]]
                    drops = original - self.net(batch)[:, c]
                    for b, (top, left) in enumerate(chunk):
                        maps[i, top: top + self.window, left: left + self.window] += drops[b]
        return maps / counts

    def compute(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.attributions(x, targets)
