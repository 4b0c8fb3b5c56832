"""From a saliency or CAM map to a bounding box and back to the original image.

Weakly supervised localisation as in Simonyan et al. (and Zhou et al. for CAM):
the classifier was never shown boxes, yet thresholding its map and keeping the
largest connected region gives the object's box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import SaliencyError
from ..images import ImageGeometry
from ..filters import gaussian_blur


@dataclass(frozen=True)
class Box:
    """(left, top, right, bottom) in pixels; right/bottom are exclusive edges, floats."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.left, self.top, self.right, self.bottom)

    def contains(self, other) -> bool:
        """Whether ``other`` (a Box or a (left, top, right, bottom) tuple) lies inside this box."""
        left, top, right, bottom = other.as_tuple() if isinstance(other, Box) else other
        return self.left <= left and self.top <= top and right <= self.right and bottom <= self.bottom


#: Methods whose map is a per-pixel input gradient (or a sum of them): speckled over the whole
#: object and its edges, so the thresholded region is the whole crop or a few specks, not the
#: object's box.  Their box is off by default; the CAM family, occlusion and Score-CAM give
#: smooth region maps whose box localises.
PIXEL_GRADIENT_METHODS = frozenset({"vanilla", "smoothgrad", "guided", "deconvnet", "integrated_gradients"})


def box_by_default(method: str) -> bool:
    """Whether a localisation box is drawn on ``method``'s map unless asked otherwise."""
    return method not in PIXEL_GRADIENT_METHODS


def _as_2d(saliency_map) -> np.ndarray:
    a = saliency_map.detach().float().cpu().numpy() if isinstance(saliency_map, torch.Tensor) else np.asarray(saliency_map, dtype=np.float32)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2 or a.size == 0:
        raise SaliencyError(f"expected one map (H, W) or (1, H, W), got shape {tuple(a.shape)}; localize one map at a time.")
    if not np.isfinite(a).all():
        raise SaliencyError("the map contains NaN or infinite values.")
    return a.astype(np.float32, copy=False)


def largest_region(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected region of a boolean mask (all False if the mask is empty)."""
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0  # background
    return labels == int(sizes.argmax())


def localize(
    saliency_map,
    geometry: ImageGeometry | None = None,
    *,
    threshold: float = 0.3,
    blur: float = 0.02,
) -> Box:
    """The bounding box of the object in one map (H, W): threshold + largest connected region.

    ``blur``: Gaussian sigma as a fraction of the map's longer side, applied first so
    that a speckled gradient map forms regions.  ``threshold``: fraction of the (blurred)
    map's maximum above which a pixel counts as object.  With ``geometry`` (from
    ``preprocess_with_geometry``) the box is in original-image pixels, else in map pixels.
    """
    if not 0.0 < float(threshold) < 1.0:
        raise SaliencyError(f"threshold must be between 0 and 1 (a fraction of the map's maximum), got {threshold!r}.")
    if not 0.0 <= float(blur) < 1.0:
        raise SaliencyError(f"blur must be between 0 and 1 (a fraction of the map's size), got {blur!r}.")
    a = _as_2d(saliency_map)
    h, w = a.shape
    a = gaussian_blur(torch.from_numpy(np.ascontiguousarray(a))[None, None], float(blur) * max(h, w))[0, 0].numpy()
    peak = float(a.max())
    if peak <= 0:
        raise SaliencyError("the map is zero everywhere: there is nothing to localise.")
    rows, cols = np.nonzero(largest_region(a >= float(threshold) * peak))
    # Pixel (i, j) covers [j, j+1) x [i, i+1) of the map.
    left, top, right, bottom = float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)
    if geometry is None:
        return Box(left, top, right, bottom)
    in_h, in_w = geometry.input_size
    sx, sy = in_w / w, in_h / h  # a map at another resolution than the input still covers the whole input
    x0, y0 = geometry.input_to_original(left * sx, top * sy)
    x1, y1 = geometry.input_to_original(right * sx, bottom * sy)
    return Box(x0, y0, x1, y1)


def to_original_size(maps, geometry: ImageGeometry) -> np.ndarray:
    """Maps (H, W) or (N, H, W) over the model input -> the original image's size (..., height, width).

    The map covers the geometry's crop box; each original pixel samples it bilinearly
    at its centre, and pixels outside the crop box get 0.
    """
    m = maps.detach().float().cpu() if isinstance(maps, torch.Tensor) else torch.as_tensor(np.asarray(maps), dtype=torch.float32)
    squeeze = m.dim() == 2
    if squeeze:
        m = m[None]
    if m.dim() != 3:
        raise SaliencyError(f"expected maps (H, W) or (N, H, W), got shape {tuple(m.shape)}.")
    width, height = geometry.original_size
    left, top, right, bottom = geometry.crop_box
    # Normalised sampling coordinates in [-1, 1] across the crop box (align_corners=False convention).
    gx = (torch.arange(width, dtype=torch.float32) + 0.5 - left) / (right - left) * 2 - 1
    gy = (torch.arange(height, dtype=torch.float32) + 0.5 - top) / (bottom - top) * 2 - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), dim=-1).expand(m.shape[0], height, width, 2)
    out = F.grid_sample(m[:, None], grid, mode="bilinear", padding_mode="border", align_corners=False)[:, 0]
    # The border padding keeps the map's edge values up to the box's edge; beyond it the model saw nothing: 0.
    inside_x = (gx >= -1) & (gx <= 1)
    inside_y = (gy >= -1) & (gy <= 1)
    out = out * (inside_y[:, None] & inside_x[None, :])
    out = out.numpy()
    return out[0] if squeeze else out
