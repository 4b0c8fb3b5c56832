"""Score-CAM (Wang et al., 2020): channels weighted by the score of the image masked by them."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import SaliencyError
from .base import SaliencyMethod, resize_maps
from .features import split_features


class ScoreCAM(SaliencyMethod):
    """L_c = ReLU(sum_k s_k A_k), s_k = softmax(f(x * H_k))_c, H_k = A_k upsampled and scaled to [0, 1].

    No gradients: each channel's upsampled activation masks the input (0 in the model's
    normalisation, the dataset's mean colour, outside it), and the class probability of
    the masked image weights the channel.  ``channels``: how many channels to score,
    those with the largest spatial variance (the Faster Score-CAM selection; None: all,
    which is 1280 forward passes on EfficientNet-Lite); the masked copies go through the
    model ``batch_size`` at a time.
    """

    name = "scorecam"
    options = {"channels": 64, "batch_size": 32}

    def check_options(self) -> None:
        if self.channels is not None and (not isinstance(self.channels, int) or isinstance(self.channels, bool) or self.channels < 1):
            raise SaliencyError(f"scorecam: channels must be a positive integer or None (all), got {self.channels!r}.")
        if not isinstance(self.batch_size, int) or isinstance(self.batch_size, bool) or self.batch_size < 1:
            raise SaliencyError(f"scorecam: batch_size must be a positive integer, got {self.batch_size!r}.")

    def needs_predictions(self) -> bool:
        return False

    def compute(self, x: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        module = self.net.module
        with torch.no_grad():
            split = split_features(module, x, for_gradients=False)
            if targets is None:
                targets = split.head(split.features).argmax(1)
            A = split.to_grid(split.features).float()  # (N, K, h, w)
            maps = []
            for i in range(x.shape[0]):
                a = A[i]
                keep = a.flatten(1).var(dim=1).argsort(descending=True)
                if self.channels is not None:
                    keep = keep[: self.channels]
                masks = resize_maps(a[keep], tuple(x.shape[-2:]))  # (k, H, W)
                low = masks.flatten(1).amin(1)[:, None, None]
                span = masks.flatten(1).amax(1)[:, None, None] - low
                masks = torch.where(span > 0, (masks - low) / span.clamp(min=1e-12), torch.zeros_like(masks))
                scores = []
                for start in range(0, len(keep), self.batch_size):
                    m = masks[start: start + self.batch_size, None]
                    logits = self.net(x[i: i + 1] * m)
                    scores.append(F.softmax(logits.float(), dim=1)[:, int(targets[i])])
                s = torch.cat(scores)
                maps.append(torch.relu((s[:, None, None] * a[keep]).sum(0)))
            return torch.stack(maps)
