"""How far a saliency map can be trusted: faithfulness curves and the model-randomisation check.

Every metric perturbs the image in the order the map gives (most salient pixel first,
ties broken by a seeded random order, so a constant map is a random order) and reads
the model's score for the target class s (``score="probability"``: the softmax
probability, as in the papers; ``"logit"``: S_c) on a batch of perturbed copies, so a
whole curve is a few forward passes:

* **deletion** (Petsiuk et al. 2018, RISE): replace the top fraction f of pixels by a
  baseline (``deletion_baseline``: ``"mean"``, the image's mean colour, a constant fill
  like RISE's; ``"blur"``, the image blurred with ``blur_sigma``; ``"black"``) for f = 0
  and ``steps`` fractions from 1 % to 100 %; AUC = trapezoid area under s(f).  Lower is
  better: a faithful map removes the evidence first.  Blur is not the default because a
  blurred object keeps its shape: on the sample cat, blurring away the pixels in
  Grad-CAM's order left the class standing longer than blurring the centre or random
  pixels, so blur-deletion rewarded scattered maps over ones that cover the object.
* **insertion** (ibid.): start from the blurred image (RISE's insertion baseline,
  Gaussian sigma = ``blur_sigma`` px, 5 as in RISE's code) and put the top fraction f
  of the original pixels back.  Higher is better.
* **ROAD** (Rong et al. 2022, "Remove and Debias"): remove a fraction p of pixels,
  most relevant first (MoRF, lower is better) or least relevant first (LeRF, higher is
  better), and fill them by *noisy linear imputation*: each removed pixel is the
  weighted mean of its 8 neighbours (weights 1/6 edge, 1/12 diagonal), a sparse
  linear system solved exactly per channel (scipy's SuperLU, in a nested-dissection
  order, the masks on parallel threads), plus Gaussian noise of
  ``road_noise`` x the pixel range.  Unlike a constant fill, the imputed image leaks
  no information about *where* the pixels were removed.  The summary is the mean
  score over the ``road_percentages``.
* **model randomisation** (Adebayo et al. 2018, "Sanity checks for saliency maps"):
  Spearman's rank correlation between the map and the same method's map on a *copy*
  of the model whose top k units are re-initialised, cascading from the head
  (``cascade_units``).  A map that explains the model must change when the model's
  learned weights are destroyed; a high correlation means the map shows the image,
  not the model.  The summary (``randomization_spearman``) is the correlation with
  the whole cascade randomised; ``randomization_curve`` gives every depth.

``evaluate_map`` computes all four for one map, ``evaluate_method`` for a method and
the two reference maps of ``baselines`` (a random map and a centre Gaussian).
Nothing here changes the shared model: the randomised model is a deep copy (kept per
model for the summary's depth, ``randomized_model``), and the perturbed images are
scored by the BatchNorm-folded copy (``MetricSettings.fold_batchnorm``).
"""

from __future__ import annotations

import copy
import math
import threading
import time
import weakref
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np
import torch
from torch import nn

from ...errors import SaliencyError
from ...models import LoadedModel
from ...targets import resolve_targets
from ..base import as_input_batch, check_blur_sigma, check_choice, check_integer, predicted_classes, reference_image

SCORES = ("probability", "logit")
DELETION_BASELINES = ("mean", "blur", "black")

#: ROAD's 8-neighbourhood: (row offset, column offset, weight), as in Rong et al.'s NoisyLinearImputer.
NEIGHBOR_WEIGHTS = (
    (1, 1, 1 / 12), (0, 1, 1 / 6), (-1, 1, 1 / 12), (1, -1, 1 / 12),
    (0, -1, 1 / 6), (-1, -1, 1 / 12), (1, 0, 1 / 6), (-1, 0, 1 / 6),
)

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


@dataclass(frozen=True)
class RandomizationCurve:
    """Spearman correlation after re-initialising the first k ``units`` (from the head), k = ``depths``."""

    units: tuple[str, ...]  # every unit of the cascade, head first
    depths: tuple[int, ...]
    spearman: tuple[float, ...]  # NaN where a map is constant (the correlation is undefined)
    seconds: float


@dataclass(frozen=True)
class MapMetrics:
    """All metrics of one map; ``summary()`` gives the flat numbers the CLI prints."""

    deletion: Curve
    insertion: Curve
    road_morf: Curve
    road_lerf: Curve
    randomization: RandomizationCurve | None = None

    def summary(self) -> dict:
        rho = self.randomization.spearman[-1] if self.randomization and self.randomization.spearman else None
        return {
            "deletion_auc": self.deletion.auc,
            "insertion_auc": self.insertion.auc,
            "road_morf": self.road_morf.auc,
            "road_lerf": self.road_lerf.auc,
            "randomization_spearman": None if rho is None or math.isnan(rho) else rho,
            "seconds": {
                "deletion": self.deletion.seconds,
                "insertion": self.insertion.seconds,
                "road": self.road_morf.seconds + self.road_lerf.seconds,
                "randomization": self.randomization.seconds if self.randomization else 0.0,
            },
        }


# --------------------------------------------------------------------------- shared pieces


def _one_image(net: LoadedModel, x) -> torch.Tensor:
    x = as_input_batch(net, x)
    if x.shape[0] != 1:
        raise SaliencyError(f"the metrics score one image at a time, got a batch of {x.shape[0]}.")
    return x


def _one_map(saliency_map, size: tuple[int, int]) -> torch.Tensor:
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


def _target(net: LoadedModel, x: torch.Tensor, target) -> int:
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


def _class_scores(net: LoadedModel, images: list[torch.Tensor] | torch.Tensor, target: int, settings: MetricSettings) -> list[float]:
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


def blurred(net: LoadedModel, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """The insertion baseline: the image blurred (Gaussian, ``sigma`` px)."""
    return reference_image(net, x, "blur", sigma)


def deletion_fill(net: LoadedModel, x: torch.Tensor, settings: MetricSettings) -> torch.Tensor:
    """What deleted pixels become: ``settings.deletion_baseline`` (see ``base.reference_image``)."""
    return reference_image(net, x, settings.deletion_baseline, settings.blur_sigma)


def fractions_for(steps: int) -> np.ndarray:
    """f = 0, then ``steps`` fractions evenly from 1 % to 100 %."""
    return np.concatenate([[0.0], np.linspace(0.01, 1.0, steps)])


def _pixel_counts(fractions, n: int) -> list[int]:
    return [int(round(float(f) * n)) for f in fractions]


def _perturbation_curve(net, x, ranks, target, settings, *, name, start, end) -> Curve:
    """s at each fraction f: the top f of pixels (by rank) come from ``end``, the rest from ``start``."""
    t0 = time.perf_counter()
    fractions = fractions_for(settings.steps)
    counts = _pixel_counts(fractions, ranks.numel())
    r = ranks.to(x.device)[None, None]
    images = [torch.where(r < k, end, start) for k in counts]
    scores = _class_scores(net, images, target, settings)
    return Curve(name, tuple(float(f) for f in fractions), tuple(scores), time.perf_counter() - t0)


def deletion_curve(net: LoadedModel, x, saliency_map, target=None, settings: MetricSettings | None = None) -> Curve:
    """Petsiuk et al.'s deletion curve (lower AUC is better); see the module docstring."""
    settings = settings or MetricSettings()
    x = _one_image(net, x)
    ranks = removal_ranks(_one_map(saliency_map, net.input_size), settings.seed)
    return _perturbation_curve(net, x, ranks, _target(net, x, target), settings, name="deletion",
                               start=x, end=deletion_fill(net, x, settings))


def insertion_curve(net: LoadedModel, x, saliency_map, target=None, settings: MetricSettings | None = None) -> Curve:
    """Petsiuk et al.'s insertion curve from the blurred image (higher AUC is better)."""
    settings = settings or MetricSettings()
    x = _one_image(net, x)
    ranks = removal_ranks(_one_map(saliency_map, net.input_size), settings.seed)
    return _perturbation_curve(net, x, ranks, _target(net, x, target), settings, name="insertion",
                               start=blurred(net, x, settings.blur_sigma), end=x)


# --------------------------------------------------------------------------- ROAD


@lru_cache(maxsize=8)
def dissection_positions(h: int, w: int, leaf: int = 16) -> np.ndarray:
    """position[i] = place of pixel i (raster index) in a nested-dissection order of the h x w grid.

    The grid is cut in two by its middle row or column (whichever is longer), each half
    is ordered the same way, and the cut comes after both halves; boxes of at most
    ``leaf`` pixels keep raster order.  With 8-neighbour equations a one-pixel line still
    separates the halves, so eliminating in this order confines fill-in to the cuts.
    Restricted to any subset of pixels it is still a dissection order of that subset,
    so one order per image size serves every removal mask.
    """
    pieces: list[np.ndarray] = []
    boxes = [(0, h, 0, w, False)]  # (row0, row1, col0, col1, is_cut): an explicit stack, last in first out
    while boxes:
        r0, r1, c0, c1, is_cut = boxes.pop()
        if is_cut or (r1 - r0) * (c1 - c0) <= leaf:
            rows, cols = np.mgrid[r0:r1, c0:c1]
            pieces.append((rows * w + cols).ravel())
        elif r1 - r0 >= c1 - c0:
            mid = (r0 + r1) // 2
            boxes += [(mid, mid + 1, c0, c1, True), (mid + 1, r1, c0, c1, False), (r0, mid, c0, c1, False)]
        else:
            mid = (c0 + c1) // 2
            boxes += [(r0, r1, mid, mid + 1, True), (r0, r1, mid + 1, c1, False), (r0, r1, c0, mid, False)]
    order = np.concatenate(pieces)
    position = np.empty(h * w, dtype=np.int64)
    position[order] = np.arange(h * w)
    return position


def noisy_linear_imputation(image: np.ndarray, removed: np.ndarray, noise=0.0,
                            rng: np.random.Generator | None = None) -> np.ndarray:
    """Fill the ``removed`` pixels (H, W) of ``image`` (C, H, W) by ROAD's noisy linear imputation.

    Each removed pixel equals the weighted mean of its in-image neighbours
    (``NEIGHBOR_WEIGHTS``), known or removed: one sparse linear system for all removed
    pixels, shared by the C channels (``linear_imputation``); then N(0, noise^2) is added
    to the filled pixels (``noise``: one standard deviation, or one per channel), drawn
    in raster order.
    """
    out = linear_imputation(image, removed)
    add_imputation_noise(out, removed, noise, rng)
    return out


def add_imputation_noise(filled: np.ndarray, removed: np.ndarray, noise, rng: np.random.Generator | None) -> None:
    """Add N(0, noise^2) to the ``removed`` pixels of ``filled`` (C, H, W) in place, one draw per pixel and channel in raster order."""
    c = filled.shape[0]
    noise = np.broadcast_to(np.asarray(noise, dtype=np.float64), (c,))
    rows, cols = np.nonzero(np.asarray(removed, dtype=bool))  # raster order
    if noise.any() and rows.size:
        rng = rng if rng is not None else np.random.default_rng(0)
        filled[:, rows, cols] += (rng.normal(0.0, 1.0, size=(rows.size, c)) * noise[None, :]).T


def linear_imputation(image: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """ROAD's linear imputation without the noise: the removed pixels solve the neighbour-mean system exactly."""
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import splu

    image = np.asarray(image, dtype=np.float64)
    removed = np.asarray(removed, dtype=bool)
    c, h, w = image.shape
    if removed.shape != (h, w):
        raise SaliencyError(f"the removal mask is {removed.shape} but the image is {(h, w)}.")
    flat_removed = removed.ravel()
    raster = np.flatnonzero(flat_removed)
    m = raster.size
    if m == 0:
        return image.copy()
    if m == h * w:
        raise SaliencyError("ROAD cannot impute an image with every pixel removed; use fractions below 1.")
    # Unknowns numbered in nested-dissection order, so the matrix is already in a low-fill
    # elimination order (SuperLU's minimum-degree orderings filled about 1.5 times more).
    unknown = raster[np.argsort(dissection_positions(h, w)[raster], kind="stable")]
    variable = np.full(h * w, -1, dtype=np.int64)
    variable[unknown] = np.arange(m)
    r, col = np.divmod(unknown, w)
    flat = image.reshape(c, -1)
    diagonal = np.zeros(m)
    b = np.zeros((m, c))
    rows, cols, vals = [], [], []
    for dr, dc, weight in NEIGHBOR_WEIGHTS:
        rr, cc = r + dr, col + dc
        valid = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        eq = np.flatnonzero(valid)
        neighbour = rr[valid] * w + cc[valid]
        diagonal[eq] += weight
        is_unknown = flat_removed[neighbour]
        rows.append(eq[is_unknown])
        cols.append(variable[neighbour[is_unknown]])
        vals.append(np.full(int(is_unknown.sum()), -weight))
        known = ~is_unknown
        b[eq[known]] += weight * flat[:, neighbour[known]].T  # each equation appears once per offset
    rows.append(np.arange(m))
    cols.append(np.arange(m))
    vals.append(diagonal)
    a = csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, m))
    # A is symmetric and diagonally dominant: no pivoting is needed, so the order above stays.
    lu = splu(a, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    out = flat.copy()
    out[:, unknown] = lu.solve(b).T
    return out.reshape(c, h, w)


def road_curves(net: LoadedModel, x, saliency_map, target=None, settings: MetricSettings | None = None) -> tuple[Curve, Curve]:
    """ROAD's (MoRF, LeRF) curves: s after removing the most / least relevant fraction p, imputed.

    The 2 x len(road_percentages) linear solves run on ``torch.get_num_threads()``
    threads (SuperLU releases the GIL); the noise is then drawn in one fixed order,
    so the images do not depend on the number of threads.  Each curve's seconds are
    half the solves plus its own forward passes.
    """
    from concurrent.futures import ThreadPoolExecutor

    settings = settings or MetricSettings()
    x = _one_image(net, x)
    target = _target(net, x, target)
    ranks = removal_ranks(_one_map(saliency_map, net.input_size), settings.seed).numpy()
    n = ranks.size
    image = x[0].double().cpu().numpy()
    noise_std = (net.pixel_max - net.pixel_min).flatten().double().cpu().numpy() * float(settings.road_noise)
    t0 = time.perf_counter()
    counts = [int(round(float(p) * n)) for p in settings.road_percentages]
    masks = [ranks < k for k in counts] + [ranks >= n - k for k in counts]  # MoRF, then LeRF
    workers = min(torch.get_num_threads(), len(masks))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            filled = list(pool.map(lambda removed: linear_imputation(image, removed), masks))
    else:
        filled = [linear_imputation(image, removed) for removed in masks]
    rng = np.random.default_rng(settings.seed)
    for out, removed in zip(filled, masks):
        add_imputation_noise(out, removed, noise_std, rng)
    solving = (time.perf_counter() - t0) / 2
    curves = []
    for i, name in enumerate(("road_morf", "road_lerf")):
        t1 = time.perf_counter()
        images = [torch.from_numpy(out).float()[None].to(x.device) for out in filled[i * len(counts): (i + 1) * len(counts)]]
        scores = _class_scores(net, images, target, settings)
        curves.append(Curve(name, tuple(float(p) for p in settings.road_percentages), tuple(scores),
                            solving + time.perf_counter() - t1))
    return curves[0], curves[1]


# --------------------------------------------------------------------------- model randomisation

NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _has_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def cascade_units(module: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """The model's parameterised units from the head down to the stem: [(name, modules), ...].

    Read from the timm module structure: the top-level children in forward order, with
    the stage containers (``blocks``, ``layers``, ``stages``: a Sequential or
    ModuleList) split into their stages.  A normalisation layer on its own (``bn2``
    after ``conv_head``) joins the unit it normalises, so each unit is a layer with its
    norm: for EfficientNet-Lite, classifier, conv_head+bn2, blocks.6 ... blocks.0,
    conv_stem+bn1.
    """
    flat: list[tuple[str, nn.Module]] = []
    for name, child in module.named_children():
        if isinstance(child, (nn.Sequential, nn.ModuleList)) and len(child) > 1 and not isinstance(child, NORM_TYPES):
            flat += [(f"{name}.{sub}", grandchild) for sub, grandchild in child.named_children()]
        else:
            flat.append((name, child))
    flat = [(n, m) for n, m in flat if _has_parameters(m)]
    units: list[tuple[str, list[nn.Module]]] = []
    pending: list[tuple[str, nn.Module]] = []  # norms waiting for the layer before them
    for name, child in reversed(flat):
        if isinstance(child, NORM_TYPES):
            pending.append((name, child))
            continue
        names = [name] + [n for n, _ in pending]
        units.append(("+".join(names), [child] + [m for _, m in pending]))
        pending = []
    if pending:
        units.append(("+".join(n for n, _ in pending), [m for _, m in pending]))
    if not units:
        raise SaliencyError(f"{type(module).__name__} has no parameterised layers to randomise.")
    return units


def reinitialize(modules: list[nn.Module], generator: torch.Generator) -> None:
    """Adebayo et al.'s re-initialisation: weights from a truncated normal (He scale), biases 0, norms identity.

    He's scale sqrt(2 / fan_in) keeps activations from vanishing through a deep
    randomised stack, so the randomised model still gives a map to correlate with.
    """
    with torch.no_grad():
        for module in modules:
            for m in module.modules():
                if isinstance(m, NORM_TYPES):
                    if getattr(m, "weight", None) is not None:
                        m.weight.fill_(1.0)
                    if getattr(m, "bias", None) is not None:
                        m.bias.zero_()
                    if getattr(m, "running_mean", None) is not None:
                        m.running_mean.zero_()
                        m.running_var.fill_(1.0)
                    continue
                for pname, p in m.named_parameters(recurse=False):
                    if p.dim() >= 2:
                        fan_in = p[0].numel()
                        std = math.sqrt(2.0 / fan_in)
                        nn.init.trunc_normal_(p, std=std, a=-2 * std, b=2 * std, generator=generator)
                    elif "bias" in pname:
                        p.zero_()
                    else:
                        nn.init.trunc_normal_(p, std=0.02, generator=generator)


def randomized_copy(net: LoadedModel) -> tuple[LoadedModel, list[tuple[str, list[nn.Module]]]]:
    """A deep copy of ``net`` (frozen, eval) and its cascade units; the shared model is untouched."""
    module = copy.deepcopy(net.module)
    module.eval()
    module.requires_grad_(False)
    copy_net = replace(net, module=module, name=f"{net.name} (randomised copy)")
    return copy_net, cascade_units(module)


def cascade_depths(depths, units: int) -> list[int]:
    """``depths`` (None: 1 .. ``units``, an int, or a list) as sorted distinct depths, each checked."""
    wanted = list(range(1, units + 1)) if depths is None else [depths] if isinstance(depths, int) else list(depths)
    if not wanted or any(not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= units for d in wanted):
        raise SaliencyError(f"randomisation depths must be integers from 1 to {units} (the model's units), got {depths!r}.")
    return sorted(set(wanted))


#: model -> {(depth, seed): its randomised copy}; a weak key, so a model's copies go with it.
_randomized: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_randomized_lock = threading.Lock()
RANDOMIZED_COPIES_PER_MODEL = 2


def randomized_model(net: LoadedModel, depth: int, seed: int = 0) -> LoadedModel:
    """``net`` with its top ``depth`` cascade units re-initialised from ``seed``; made once, then shared.

    The weights are those the cascade of ``randomization_curve`` reaches at ``depth``
    (one generator drawn unit by unit from the head), so the summary correlation can
    reuse one copy for every map of a model instead of copying and re-initialising
    ~5 M weights per map.  Like the loaded model, the copy is frozen, in eval mode, and
    safe to share between threads.
    """
    cascade_depths(depth, len(cascade_units(net.module)))
    with _randomized_lock:
        copies = _randomized.setdefault(net, {})
        key = (depth, int(seed))
        if key not in copies:
            copy_net, units = randomized_copy(net)
            generator = torch.Generator().manual_seed(int(seed))
            for _name, modules in units[:depth]:
                reinitialize(modules, generator)
            while len(copies) >= RANDOMIZED_COPIES_PER_MODEL:
                copies.pop(next(iter(copies)))
            copies[key] = copy_net
        return copies[key]


def spearman(a, b) -> float:
    """Spearman's rank correlation of two maps (ties get average ranks); NaN when a map is constant."""
    from scipy.stats import spearmanr

    a = np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float64).ravel()
    b = np.asarray(b.detach().cpu() if isinstance(b, torch.Tensor) else b, dtype=np.float64).ravel()
    if a.size != b.size:
        raise SaliencyError(f"cannot correlate maps of {a.size} and {b.size} pixels.")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def method_class(method: str):
    from .. import METHODS
    from ..baselines import BASELINES

    cls = METHODS.get(method) or BASELINES.get(method) if isinstance(method, str) else None
    if cls is None:
        raise SaliencyError(f"unknown saliency method {method!r}; choose one of: {', '.join([*METHODS, *BASELINES])}.")
    return cls


def randomization_curve(
    net: LoadedModel, x, method: str, target=None, *, saliency_map=None, depths=None,
    method_options: dict | None = None, seed: int = 0, progress: Progress | None = None,
) -> RandomizationCurve:
    """Spearman(map on ``net``, map on a copy with the top k units re-initialised) for each k in ``depths``.

    ``depths``: None for every k from 1 to the number of units (the cascade), an int
    for that k alone, or a list.  ``saliency_map``: the map on ``net`` if already made.
    """
    t0 = time.perf_counter()
    cls = method_class(method)
    options = dict(method_options or {})
    x = _one_image(net, x)
    target = _target(net, x, target)
    reference = cls(net, **options)(x, target)[0] if saliency_map is None else _one_map(saliency_map, net.input_size)
    units = cascade_units(net.module)
    wanted = cascade_depths(depths, len(units))
    names = tuple(n for n, _ in units)
    if len(wanted) == 1:  # the summary: one shared copy per (model, depth, seed)
        rho = spearman(reference, cls(randomized_model(net, wanted[0], seed), **options)(x, target)[0])
        if progress is not None:
            progress(1.0, f"randomisation {wanted[0]}/{len(units)}")
        return RandomizationCurve(names, (wanted[0],), (rho,), time.perf_counter() - t0)
    copy_net, units = randomized_copy(net)
    generator = torch.Generator().manual_seed(int(seed))
    done, rhos = 0, []
    for i, depth in enumerate(wanted):
        for _name, modules in units[done:depth]:
            reinitialize(modules, generator)
        done = depth
        rhos.append(spearman(reference, cls(copy_net, **options)(x, target)[0]))
        if progress is not None:
            progress((i + 1) / len(wanted), f"randomisation {depth}/{len(units)}")
    return RandomizationCurve(names, tuple(wanted), tuple(rhos), time.perf_counter() - t0)


# --------------------------------------------------------------------------- everything for one map


def evaluate_map(
    net: LoadedModel, x, saliency_map, target=None, *, method: str | None = None,
    method_options: dict | None = None, settings: MetricSettings | None = None,
    randomization: bool = True, progress: Progress | None = None,
) -> MapMetrics:
    """Deletion, insertion, ROAD MoRF/LeRF and (with ``method``) the randomisation check for one map."""
    settings = settings or MetricSettings()
    x = _one_image(net, x)
    target = _target(net, x, target)
    m = _one_map(saliency_map, net.input_size)
    report = progress or (lambda _f, _what: None)
    report(0.0, "deletion")
    deletion = deletion_curve(net, x, m, target, settings)
    report(0.25, "insertion")
    insertion = insertion_curve(net, x, m, target, settings)
    report(0.5, "ROAD")
    morf, lerf = road_curves(net, x, m, target, settings)
    rand = None
    if randomization and method is not None:
        report(0.75, "randomisation")
        # The summary needs one depth (one map on the randomised copy), not the whole curve.
        depth = settings.randomization_depth or len(cascade_units(net.module))
        rand = randomization_curve(net, x, method, target, saliency_map=m, depths=depth,
                                   method_options=method_options, seed=settings.seed)
    report(1.0, "done")
    return MapMetrics(deletion, insertion, morf, lerf, rand)


def evaluate_method(
    net: LoadedModel, x, method: str, target=None, *, method_options: dict | None = None,
    settings: MetricSettings | None = None, baselines: tuple[str, ...] = ("random", "center"),
    saliency_map=None, progress: Progress | None = None,
) -> dict[str, MapMetrics]:
    """{method: metrics, "baseline_random": ..., "baseline_center": ...} for one image and class.

    ``saliency_map``: the method's map for this image and class if already computed.
    """
    settings = settings or MetricSettings()
    x = _one_image(net, x)
    target = _target(net, x, target)
    names = [method, *baselines]
    out: dict[str, MapMetrics] = {}
    for i, name in enumerate(names):
        options = method_options if name == method else {}
        if name == method and saliency_map is not None:
            m = _one_map(saliency_map, net.input_size)
        else:
            m = method_class(name)(net, **(options or {}))(x, target)[0]

        def step(f: float, what: str, i=i, name=name) -> None:
            if progress is not None:
                progress((i + f) / len(names), f"{name}: {what}")

        key = name if name == method else f"baseline_{name}"
        out[key] = evaluate_map(net, x, m, target, method=name, method_options=options, settings=settings, progress=step)
    return out


def trust_table(summaries: dict[str, dict]) -> list[dict]:
    """Rows {map, deletion_auc, insertion_auc, insertion_minus_deletion, road_morf, road_lerf, randomization_spearman}.

    ``summaries``: name -> ``MapMetrics.summary()``.  Maps sorted best first by
    insertion - deletion (RISE's two curves in one number); names starting with
    ``baseline_`` (the references) come last, in the order given.
    """
    rows = []
    for name, s in summaries.items():
        rows.append({
            "map": name,
            "deletion_auc": s["deletion_auc"],
            "insertion_auc": s["insertion_auc"],
            "insertion_minus_deletion": s["insertion_auc"] - s["deletion_auc"],
            "road_morf": s["road_morf"],
            "road_lerf": s["road_lerf"],
            "randomization_spearman": s["randomization_spearman"],
        })
    methods = sorted((r for r in rows if not r["map"].startswith("baseline_")), key=lambda r: -r["insertion_minus_deletion"])
    return methods + [r for r in rows if r["map"].startswith("baseline_")]
