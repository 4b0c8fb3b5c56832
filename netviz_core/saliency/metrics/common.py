"""What every metric family shares: the settings, a curve, and the first steps of each metric.

``MetricSettings`` holds the knobs of every metric; ``Curve`` is a score per perturbed
fraction.  ``one_image`` and ``one_map`` check the inputs, ``target_class`` reads the
target (None: the predicted class), ``removal_ranks`` gives the order pixels are removed
in, and ``class_scores`` scores a list of perturbed images in batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ...errors import SaliencyError
from ...models import LoadedModel
from ...targets import resolve_targets
from ..base import as_input_batch, check_blur_sigma, check_choice, check_integer, predicted_classes


SCORES = ("probability", "logit")
DELETION_BASELINES = ("mean", "blur", "black")


#: progress(fraction done in [0, 1], what is running) for a progress bar.
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class MetricSettings:
    """The knobs of every metric, with the papers' defaults where they fit a CPU budget.

    ``steps``: deletion/insertion fractions after f = 0, evenly from 1 % to 100 %.
    ``road_percentages``: ROAD's removal fractions (the paper uses 10 ... 90 in steps of
    10; the default takes every other one, which halves the cost).
    ``randomization_depth``: units re-initialised for the summary correlation (None: all).
    ``fold_batchnorm``: score the perturbed images with the BatchNorm-folded copy of the
    model (``optimize.folding``: the same logits to float rounding, a quarter fewer
    passes over the activations); the maps themselves always come from the model as loaded.
    """

    steps: int = 16
    deletion_baseline: str = "mean"
    blur_sigma: float = 5.0
    road_percentages: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    road_noise: float = 0.01
    score: str = "probability"
    batch_size: int = 32
    seed: int = 0
    randomization_depth: int | None = None
    fold_batchnorm: bool = True

    def __post_init__(self) -> None:
        check_integer(self.steps, "steps", 2, 1000)
        check_choice(self.deletion_baseline, "deletion_baseline", DELETION_BASELINES)
        check_blur_sigma(self.blur_sigma)
        p = tuple(self.road_percentages)
        if not p or any(not isinstance(v, (int, float)) or not 0.0 < float(v) < 1.0 for v in p) or list(p) != sorted(set(p)):
            raise SaliencyError(f"road_percentages must be increasing fractions strictly between 0 and 1, got {self.road_percentages!r}.")
        if not isinstance(self.road_noise, (int, float)) or not 0.0 <= float(self.road_noise) <= 1.0:
            raise SaliencyError(f"road_noise must be a number from 0 to 1 (of the pixel range), got {self.road_noise!r}.")
        check_choice(self.score, "score", SCORES)
        check_integer(self.batch_size, "batch_size")
        depth = self.randomization_depth
        if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 1):
            raise SaliencyError(f"randomization_depth must be a positive integer or None (all units), got {depth!r}.")
        if not isinstance(self.fold_batchnorm, bool):
            raise SaliencyError(f"fold_batchnorm must be True or False, got {self.fold_batchnorm!r}.")


@dataclass(frozen=True)
class Curve:
    """Scores s(f) of the target class at perturbed fractions f, and the seconds the curve took."""

    name: str  # "deletion" | "insertion" | "road_morf" | "road_lerf"
    fractions: tuple[float, ...]
    scores: tuple[float, ...]
    seconds: float

    @property
    def auc(self) -> float:
        """Trapezoid area under s(f), divided by the span of f (so a constant s gives s)."""
        f, s = np.asarray(self.fractions), np.asarray(self.scores)
        if len(f) == 1:
            return float(s[0])
        return float(np.trapezoid(s, f) / (f[-1] - f[0]))


def one_image(net: LoadedModel, x) -> torch.Tensor:
    x = as_input_batch(net, x)
    if x.shape[0] != 1:
        raise SaliencyError(f"the metrics score one image at a time, got a batch of {x.shape[0]}.")
    return x


def one_map(saliency_map, size: tuple[int, int]) -> torch.Tensor:
    m = saliency_map if isinstance(saliency_map, torch.Tensor) else torch.as_tensor(np.asarray(saliency_map))
    m = m.detach().float().cpu()
    if m.dim() == 3 and m.shape[0] == 1:
        m = m[0]
    if m.dim() != 2:
        raise SaliencyError(f"expected one map (H, W), got shape {tuple(m.shape)}.")
    if tuple(m.shape) != tuple(size):
        raise SaliencyError(f"the map is {tuple(m.shape)} but the model input is {tuple(size)}; give the map at the input resolution.")
    if not torch.isfinite(m).all():
        raise SaliencyError("the map contains NaN or infinite values.")
    return m


def target_class(net: LoadedModel, x: torch.Tensor, target) -> int:
    if target is None:
        return int(predicted_classes(net, x)[0])
    return resolve_targets(net, target, x.shape[0])[0]


def removal_ranks(saliency_map: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """rank[i, j] = position of pixel (i, j) when pixels are sorted most salient first.

    Ties (a constant map, the zeros of a ReLU map) are ordered by a random permutation
    from ``seed``, never by raster order, which would remove the image top-down.
    """
    flat = saliency_map.flatten().double()
    n = flat.numel()
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    order = perm[torch.sort(-flat[perm], stable=True).indices]
    ranks = torch.empty(n, dtype=torch.long)
    ranks[order] = torch.arange(n)
    return ranks.view(saliency_map.shape)


def class_scores(net: LoadedModel, images: list[torch.Tensor] | torch.Tensor, target: int, settings: MetricSettings) -> list[float]:
    """The target's score for each image of a (lazily built) list, ``batch_size`` at a time."""
    if settings.fold_batchnorm:
        from ...optimize.folding import input_gradient_model

        net = input_gradient_model(net)  # forward only: the folded copy gives the same logits
    out: list[float] = []
    with torch.no_grad():
        for start in range(0, len(images), settings.batch_size):
            chunk = images[start: start + settings.batch_size]
            batch = torch.cat(list(chunk)) if isinstance(chunk, list) else chunk
            logits = net(batch).float()
            s = logits.softmax(1)[:, target] if settings.score == "probability" else logits[:, target]
            out.extend(s.tolist())
    return out
