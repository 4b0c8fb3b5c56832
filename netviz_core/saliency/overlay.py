"""Heatmaps over the image: a PIL image, or a Plotly figure (Plotly is imported only there)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..errors import SaliencyError
from ..images import ImageGeometry, open_image
from .localize import Box, to_original_size

#: colour map name -> anchor colours (RGB in [0, 1]) spaced evenly over [0, 1].
COLORMAPS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "jet": ((0, 0, 0.5), (0, 0, 1), (0, 0.5, 1), (0, 1, 1), (0.5, 1, 0.5), (1, 1, 0), (1, 0.5, 0), (1, 0, 0), (0.5, 0, 0)),
    "hot": ((0, 0, 0), (0.6, 0, 0), (1, 0.3, 0), (1, 0.8, 0), (1, 1, 1)),
    "gray": ((0, 0, 0), (1, 1, 1)),
}


def colorize(values: np.ndarray, colormap: str = "jet") -> np.ndarray:
    """Values in [0, 1] (H, W) -> uint8 RGB (H, W, 3) by linear interpolation between the anchors."""
    anchors = np.asarray(COLORMAPS[colormap], dtype=np.float32)
    position = np.clip(values, 0.0, 1.0) * (len(anchors) - 1)
    low = np.minimum(position.astype(np.int64), len(anchors) - 2)
    frac = (position - low)[..., None]
    rgb = anchors[low] * (1 - frac) + anchors[low + 1] * frac
    return np.rint(rgb * 255).astype(np.uint8)


def _map_over_image(image, saliency_map, geometry: ImageGeometry | None) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """The RGB image, the map resampled to its size and scaled to [0, 1] by its maximum, and where the model looked."""
    im = open_image(image)
    m = saliency_map.detach().float().cpu().numpy() if isinstance(saliency_map, torch.Tensor) else np.asarray(saliency_map, dtype=np.float32)
    if m.ndim == 3 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise SaliencyError(f"expected one map (H, W), got shape {tuple(m.shape)}.")
    if geometry is not None:
        if tuple(geometry.original_size) != im.size:
            raise SaliencyError(f"the geometry is for a {geometry.original_size} image but the image is {im.size}.")
        m = to_original_size(m, geometry)
        left, top, right, bottom = geometry.crop_box
        cols, rows = np.arange(im.width) + 0.5, np.arange(im.height) + 0.5
        seen = ((rows >= top) & (rows <= bottom))[:, None] & ((cols >= left) & (cols <= right))[None, :]
    elif m.shape != (im.height, im.width):
        m = np.asarray(Image.fromarray(m.astype(np.float32), mode="F").resize(im.size, Image.Resampling.BILINEAR))
    if geometry is None:
        seen = np.ones((im.height, im.width), dtype=bool)
    m = np.nan_to_num(np.clip(m, 0.0, None))
    peak = float(m.max())
    return im, (m / peak if peak > 0 else m), seen


def overlay(
    image, saliency_map, geometry: ImageGeometry | None = None, *, opacity: float = 0.5,
    colormap: str = "jet", box: Box | None = None,
) -> Image.Image:
    """The map as a heatmap blended over ``image`` with ``opacity`` (0: image only, 1: heatmap only).

    With ``geometry`` the input-resolution map is placed on the crop box of the original
    image; without it the map is stretched to the image.  ``box`` is drawn in white.
    """
    if not 0.0 <= float(opacity) <= 1.0:
        raise SaliencyError(f"opacity must be between 0 and 1, got {opacity!r}.")
    if colormap not in COLORMAPS:
        raise SaliencyError(f"unknown colormap {colormap!r}; choose one of: {', '.join(COLORMAPS)}.")
    im, m, seen = _map_over_image(image, saliency_map, geometry)
    heat = colorize(m, colormap).astype(np.float32)
    alpha = np.where(seen, float(opacity), 0.0)[..., None]  # outside the crop the model saw nothing: no tint
    blended = (1 - alpha) * np.asarray(im, dtype=np.float32) + alpha * heat
    out = Image.fromarray(np.rint(blended).astype(np.uint8), mode="RGB")
    if box is not None:
        from PIL import ImageDraw

        ImageDraw.Draw(out).rectangle(
            [box.left, box.top, box.right - 1, box.bottom - 1], outline=(255, 255, 255), width=max(1, min(out.size) // 150)
        )
    return out


def overlay_figure(
    image, saliency_map, geometry: ImageGeometry | None = None, *, opacity: float = 0.5,
    colorscale: str = "Jet", box: Box | None = None, title: str | None = None,
):
    """A Plotly figure: the image with the map as a semi-transparent heatmap (values on hover)."""
    import plotly.graph_objects as go  # lazily: plotly is an optional (dashboard) dependency

    if not 0.0 <= float(opacity) <= 1.0:
        raise SaliencyError(f"opacity must be between 0 and 1, got {opacity!r}.")
    im, m, seen = _map_over_image(image, saliency_map, geometry)
    m = np.where(seen, m, np.nan)  # Plotly leaves NaN cells transparent: no tint outside the crop
    fig = go.Figure()
    fig.add_trace(go.Image(z=np.asarray(im), hoverinfo="skip"))
    fig.add_trace(
        go.Heatmap(z=m, colorscale=colorscale, opacity=float(opacity), zmin=0.0, zmax=1.0,
                   colorbar={"title": "saliency"}, hovertemplate="x=%{x}, y=%{y}<br>saliency %{z:.3f}<extra></extra>")
    )
    if box is not None:
        fig.add_shape(type="rect", x0=box.left - 0.5, y0=box.top - 0.5, x1=box.right - 0.5, y1=box.bottom - 0.5,
                      line={"color": "white", "width": 2})
    fig.update_xaxes(visible=False, range=[-0.5, im.width - 0.5])
    fig.update_yaxes(visible=False, range=[im.height - 0.5, -0.5], scaleanchor="x")
    fig.update_layout(margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 0}, title=title)
    return fig
