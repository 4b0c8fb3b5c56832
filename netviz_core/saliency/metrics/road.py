"""ROAD (Rong et al. 2022): removal in the map's order, filled by noisy linear imputation.

* **ROAD** (Rong et al. 2022, "Remove and Debias"): remove a fraction p of pixels,
  most relevant first (MoRF, lower is better) or least relevant first (LeRF, higher is
  better), and fill them by *noisy linear imputation*: each removed pixel is the
  weighted mean of its 8 neighbours (weights 1/6 edge, 1/12 diagonal), a sparse
  linear system solved exactly per channel (scipy's SuperLU, in a nested-dissection
  order, the masks on parallel threads), plus Gaussian noise of
  ``road_noise`` x the pixel range.  Unlike a constant fill, the imputed image leaks
  no information about *where* the pixels were removed.  The summary is the mean
  score over the ``road_percentages``.
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import torch

from ...errors import SaliencyError
from ...models import LoadedModel
from .common import Curve, MetricSettings, class_scores, one_image, one_map, removal_ranks, target_class


#: ROAD's 8-neighbourhood: (row offset, column offset, weight), as in Rong et al.'s NoisyLinearImputer.
NEIGHBOR_WEIGHTS = (
    (1, 1, 1 / 12), (0, 1, 1 / 6), (-1, 1, 1 / 12), (1, -1, 1 / 12),
    (0, -1, 1 / 6), (-1, -1, 1 / 12), (1, 0, 1 / 6), (-1, 0, 1 / 6),
)


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
    x = one_image(net, x)
    target = target_class(net, x, target)
    ranks = removal_ranks(one_map(saliency_map, net.input_size), settings.seed).numpy()
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
        scores = class_scores(net, images, target, settings)
        curves.append(Curve(name, tuple(float(p) for p in settings.road_percentages), tuple(scores),
                            solving + time.perf_counter() - t1))
    return curves[0], curves[1]
