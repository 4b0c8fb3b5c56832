"""Heatmaps over the image: a PIL image, or a Plotly figure (Plotly is imported only there).

Made to be read on a projector: a perceptual colour map (lightness grows with the value, so
the order survives a washed-out screen or grey print), the map scaled by a high percentile
rather than its maximum (one extreme gradient pixel would otherwise leave the rest black),
and an opacity that follows the map's strength, so that where the map is weak the photo
shows through untouched.  The part of the photo the model never saw (outside its centre
crop) can be shaded.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..errors import SaliencyError
from ..filters import gaussian_blur
from ..images import ImageGeometry, open_image
from .localize import Box, to_original_size

#: colour map name -> anchor colours (RGB in [0, 1]) spaced evenly over [0, 1].
#: inferno and magma: matplotlib's perceptually uniform maps (van der Walt & Smith), sampled at 17
#: points; linear interpolation between them stays within 1 % of the full 256-entry tables.
COLORMAPS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "inferno": ((0.001, 0.000, 0.014), (0.042, 0.028, 0.141), (0.129, 0.047, 0.291), (0.238, 0.037, 0.396),
                (0.342, 0.062, 0.429), (0.441, 0.099, 0.432), (0.541, 0.135, 0.415), (0.640, 0.171, 0.381),
                (0.736, 0.216, 0.330), (0.822, 0.275, 0.266), (0.894, 0.353, 0.194), (0.947, 0.449, 0.115),
                (0.978, 0.558, 0.035), (0.988, 0.675, 0.065), (0.975, 0.798, 0.206), (0.948, 0.917, 0.411),
                (0.988, 0.998, 0.645)),
    "magma": ((0.001, 0.000, 0.014), (0.040, 0.031, 0.134), (0.113, 0.065, 0.277), (0.212, 0.062, 0.419),
              (0.317, 0.072, 0.485), (0.415, 0.110, 0.505), (0.513, 0.148, 0.508), (0.614, 0.182, 0.499),
              (0.716, 0.215, 0.475), (0.817, 0.256, 0.436), (0.904, 0.320, 0.388), (0.961, 0.418, 0.360),
              (0.987, 0.536, 0.382), (0.996, 0.654, 0.446), (0.997, 0.770, 0.535), (0.992, 0.884, 0.640),
              (0.987, 0.991, 0.750)),
    "jet": ((0, 0, 0.5), (0, 0, 1), (0, 0.5, 1), (0, 1, 1), (0.5, 1, 0.5), (1, 1, 0), (1, 0.5, 0), (1, 0, 0), (0.5, 0, 0)),
    "hot": ((0, 0, 0), (0.6, 0, 0), (1, 0.3, 0), (1, 0.8, 0), (1, 1, 1)),
    "gray": ((0, 0, 0), (1, 1, 1)),
}
#: Plotly's name for each colour map (``overlay_figure``).
PLOTLY_COLORSCALES = {"inferno": "Inferno", "magma": "Magma", "jet": "Jet", "hot": "Hot", "gray": "Gray"}

DEFAULT_COLORMAP = "inferno"
#: The map is divided by this percentile of its values (then clipped to 1): gradient maps have a
#: few extreme pixels, and dividing by the maximum leaves everything else near 0.
DEFAULT_CLIP_PERCENTILE = 99.0
#: Opacity of the heatmap where the (scaled) map is 1; weaker pixels get proportionally less.
DEFAULT_OPACITY = 0.8
#: Display smoothing (Gaussian sigma in map pixels) used by the dashboard and the CLI: it merges
#: the pixel-to-pixel speckle of gradient maps into regions a room can see.
DEFAULT_SMOOTH = 1.0
#: How far the photo outside the model's centre crop is pulled towards grey (0: not at all).
DEFAULT_OUTSIDE_SHADE = 0.6
#: The grey that the outside of the crop is pulled towards (RGB, 0-255).
OUTSIDE_GREY = (128, 128, 128)


def colorize(values: np.ndarray, colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Values in [0, 1] (H, W) -> uint8 RGB (H, W, 3) by linear interpolation between the anchors."""
    if colormap not in COLORMAPS:
        raise SaliencyError(f"unknown colormap {colormap!r}; choose one of: {', '.join(COLORMAPS)}.")
    anchors = np.asarray(COLORMAPS[colormap], dtype=np.float32)
    position = np.clip(values, 0.0, 1.0) * (len(anchors) - 1)
    low = np.minimum(position.astype(np.int64), len(anchors) - 2)
    frac = (position - low)[..., None]
    rgb = anchors[low] * (1 - frac) + anchors[low + 1] * frac
    return np.rint(rgb * 255).astype(np.uint8)


def scale_map(saliency_map: np.ndarray, clip_percentile: float = DEFAULT_CLIP_PERCENTILE) -> np.ndarray:
    """A non-negative map (H, W) -> [0, 1]: divided by its ``clip_percentile``-th percentile, clipped at 1.

    100 divides by the maximum.  Where the percentile is 0 (a map that is zero almost
    everywhere) the maximum is used instead, so a sparse map is not blown up to all-ones.
    """
    if not 0.0 < float(clip_percentile) <= 100.0:
        raise SaliencyError(f"clip_percentile must be in (0, 100], got {clip_percentile!r}.")
    m = np.nan_to_num(np.clip(np.asarray(saliency_map, dtype=np.float32), 0.0, None))
    scale = float(np.percentile(m, float(clip_percentile))) if m.size else 0.0
    if scale <= 0:
        scale = float(m.max()) if m.size else 0.0
    return np.clip(m / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(m)


def _as_map(saliency_map) -> np.ndarray:
    m = saliency_map.detach().float().cpu().numpy() if isinstance(saliency_map, torch.Tensor) else np.asarray(saliency_map, dtype=np.float32)
    if m.ndim == 3 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise SaliencyError(f"expected one map (H, W), got shape {tuple(m.shape)}.")
    return m.astype(np.float32, copy=False)


def crop_mask(size: tuple[int, int], geometry: ImageGeometry | None) -> np.ndarray:
    """(height, width) bool of an image of ``size`` (width, height): True where the model's input came from.

    A pixel counts as seen when its centre lies in the geometry's crop box; without a
    geometry the whole image is seen.
    """
    width, height = size
    if geometry is None:
        return np.ones((height, width), dtype=bool)
    left, top, right, bottom = geometry.crop_box
    cols, rows = np.arange(width) + 0.5, np.arange(height) + 0.5
    return ((rows >= top) & (rows <= bottom))[:, None] & ((cols >= left) & (cols <= right))[None, :]


def _map_over_image(
    image, saliency_map, geometry: ImageGeometry | None, clip_percentile: float, smooth: float,
) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """The RGB image, the map scaled to [0, 1] and resampled to its size, and where the model looked."""
    if not 0.0 <= float(smooth) <= 20.0:
        raise SaliencyError(f"smooth must be between 0 and 20 (a Gaussian sigma in map pixels), got {smooth!r}.")
    im = open_image(image)
    m = _as_map(saliency_map)
    if smooth > 0:
        m = gaussian_blur(torch.from_numpy(np.ascontiguousarray(m))[None, None], float(smooth))[0, 0].numpy()
    # Scaled at the map's own resolution: the percentile is over what the model saw, not the padding.
    m = scale_map(m, clip_percentile)
    if geometry is not None:
        if tuple(geometry.original_size) != im.size:
            raise SaliencyError(f"the geometry is for a {geometry.original_size} image but the image is {im.size}.")
        m = to_original_size(m, geometry)
    elif m.shape != (im.height, im.width):
        m = np.asarray(Image.fromarray(m, mode="F").resize(im.size, Image.Resampling.BILINEAR))
    seen = crop_mask(im.size, geometry)
    return im, np.clip(np.where(seen, m, 0.0), 0.0, 1.0), seen


def _check(opacity: float, colormap: str, outside_shade: float) -> None:
    if not 0.0 <= float(opacity) <= 1.0:
        raise SaliencyError(f"opacity must be between 0 and 1, got {opacity!r}.")
    if colormap not in COLORMAPS:
        raise SaliencyError(f"unknown colormap {colormap!r}; choose one of: {', '.join(COLORMAPS)}.")
    if not 0.0 <= float(outside_shade) <= 1.0:
        raise SaliencyError(f"outside_shade must be between 0 and 1, got {outside_shade!r}.")


def _shade(rgb: np.ndarray, seen: np.ndarray, outside_shade: float) -> np.ndarray:
    """``rgb`` (float, H x W x 3) with the pixels outside ``seen`` pulled towards grey by ``outside_shade``."""
    if outside_shade <= 0:
        return rgb
    grey = np.asarray(OUTSIDE_GREY, dtype=np.float32)
    shade = np.where(seen, 0.0, float(outside_shade))[..., None]
    return (1 - shade) * rgb + shade * grey


def _draw_box(out: Image.Image, box: Box | None) -> Image.Image:
    if box is not None:
        from PIL import ImageDraw

        ImageDraw.Draw(out).rectangle(
            [box.left, box.top, box.right - 1, box.bottom - 1], outline=(255, 255, 255), width=max(1, min(out.size) // 150)
        )
    return out


def overlay(
    image, saliency_map, geometry: ImageGeometry | None = None, *, opacity: float = DEFAULT_OPACITY,
    colormap: str = DEFAULT_COLORMAP, clip_percentile: float = DEFAULT_CLIP_PERCENTILE, smooth: float = 0.0,
    outside_shade: float = 0.0, box: Box | None = None,
) -> Image.Image:
    """The map as a heatmap over ``image``; each pixel's opacity is ``opacity`` × the scaled map there.

    The map is scaled by ``scale_map`` (its ``clip_percentile``-th percentile is 1), after a
    Gaussian blur of ``smooth`` map pixels (0: none; 1 removes the checkerboard of strided
    layers' DeconvNet/guided maps).  Where the map is 0 the photo is unchanged.  With
    ``geometry`` the input-resolution map is placed on the crop box of the original image and
    the outside of the crop is pulled towards grey by ``outside_shade``; without it the map is
    stretched to the image.  ``box`` is drawn in white.
    """
    _check(opacity, colormap, outside_shade)
    im, m, seen = _map_over_image(image, saliency_map, geometry, clip_percentile, smooth)
    heat = colorize(m, colormap).astype(np.float32)
    alpha = (float(opacity) * m)[..., None]
    blended = (1 - alpha) * np.asarray(im, dtype=np.float32) + alpha * heat
    blended = _shade(blended, seen, outside_shade)
    return _draw_box(Image.fromarray(np.rint(blended).astype(np.uint8), mode="RGB"), box)


def heatmap(
    image, saliency_map, geometry: ImageGeometry | None = None, *, colormap: str = DEFAULT_COLORMAP,
    clip_percentile: float = DEFAULT_CLIP_PERCENTILE, smooth: float = 0.0, outside_shade: float = 0.0,
) -> Image.Image:
    """The map alone, coloured, at ``image``'s size (the raw map beside an overlay).

    Scaled as in ``overlay``; outside the crop box the photo is shown shaded by
    ``outside_shade`` (at 0: black), so the map lines up with the overlay.
    """
    _check(1.0, colormap, outside_shade)
    im, m, seen = _map_over_image(image, saliency_map, geometry, clip_percentile, smooth)
    heat = colorize(m, colormap).astype(np.float32)
    photo = _shade(np.asarray(im, dtype=np.float32), np.zeros_like(seen), outside_shade) if outside_shade > 0 else 0.0
    rgb = np.where(seen[..., None], heat, photo)
    return Image.fromarray(np.rint(rgb).astype(np.uint8), mode="RGB")


def overlay_figure(
    image, saliency_map, geometry: ImageGeometry | None = None, *, opacity: float = DEFAULT_OPACITY,
    colormap: str = DEFAULT_COLORMAP, clip_percentile: float = DEFAULT_CLIP_PERCENTILE, smooth: float = 0.0,
    box: Box | None = None, title: str | None = None,
):
    """A Plotly figure: the image with the map as a semi-transparent heatmap (values on hover, scaled as in ``overlay``)."""
    import plotly.graph_objects as go  # lazily: plotly is an optional (dashboard) dependency

    _check(opacity, colormap, 0.0)
    im, m, seen = _map_over_image(image, saliency_map, geometry, clip_percentile, smooth)
    m = np.where(seen, m, np.nan)  # Plotly leaves NaN cells transparent: no tint outside the crop
    fig = go.Figure()
    fig.add_trace(go.Image(z=np.asarray(im), hoverinfo="skip"))
    fig.add_trace(
        go.Heatmap(z=m, colorscale=PLOTLY_COLORSCALES[colormap], opacity=float(opacity), zmin=0.0, zmax=1.0,
                   colorbar={"title": "saliency"}, hovertemplate="x=%{x}, y=%{y}<br>saliency %{z:.3f}<extra></extra>")
    )
    if box is not None:
        fig.add_shape(type="rect", x0=box.left - 0.5, y0=box.top - 0.5, x1=box.right - 0.5, y1=box.bottom - 0.5,
                      line={"color": "white", "width": 2})
    fig.update_xaxes(visible=False, range=[-0.5, im.width - 0.5])
    fig.update_yaxes(visible=False, range=[im.height - 0.5, -0.5], scaleanchor="x")
    fig.update_layout(margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 0}, title=title)
    return fig
