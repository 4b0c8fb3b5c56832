"""Reference maps that ignore the model: what every faithfulness number is compared with.

A metric on its own says little (a deletion AUC of 0.2 is good on one image and poor
on another), so ``metrics`` scores these two beside every map:

* ``random``: i.i.d. uniform values per pixel (from a private generator seeded with
  ``seed``), i.e. a random removal order;
* ``center``: a Gaussian centred on the image, sigma = ``sigma`` x the shorter side:
  the photographer's prior that the object is in the middle.

They are saliency methods in form (same base, same contract) so the metrics can treat
them like any method, including the randomisation check, where a map that does not
depend on the model at all correlates perfectly (1.0) with itself: the failure that
check is there to catch.  They are not in ``METHODS`` (no one should pick them as an
explanation); they live in ``BASELINES``.
"""

from __future__ import annotations

import torch

from ..errors import SaliencyError
from .base import SaliencyMethod


class RandomMap(SaliencyMethod):
    """Uniform noise in [0, 1) per pixel; the same for every image and call with the same ``seed``."""

    name = "random"
    options = {"seed": 0}

    def needs_predictions(self) -> bool:
        return False

    def compute(self, x: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        generator = torch.Generator().manual_seed(int(self.seed))
        noise = torch.rand(x.shape[-2:], generator=generator)
        return noise.repeat(x.shape[0], 1, 1).to(x.device)


class CenterGaussian(SaliencyMethod):
    """exp(-d^2 / (2 s^2)), d the distance to the image centre, s = ``sigma`` x min(H, W)."""

    name = "center"
    options = {"sigma": 0.25}

    def check_options(self) -> None:
        if not isinstance(self.sigma, (int, float)) or isinstance(self.sigma, bool) or not 0.0 < float(self.sigma) <= 10.0:
            raise SaliencyError(f"center: sigma must be a number in (0, 10] (a fraction of the shorter side), got {self.sigma!r}.")

    def needs_predictions(self) -> bool:
        return False

    def compute(self, x: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        h, w = x.shape[-2:]
        s = float(self.sigma) * min(h, w)
        rows = torch.arange(h, dtype=torch.float32) + 0.5 - h / 2
        cols = torch.arange(w, dtype=torch.float32) + 0.5 - w / 2
        d2 = rows[:, None] ** 2 + cols[None, :] ** 2
        return torch.exp(-d2 / (2 * s * s)).repeat(x.shape[0], 1, 1).to(x.device)


#: baseline name -> class
BASELINES: dict[str, type[SaliencyMethod]] = {cls.name: cls for cls in (RandomMap, CenterGaussian)}
