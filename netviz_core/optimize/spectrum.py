"""Magnitude spectra for the ``maco`` parametrization: a 1/f prior, or the average of photographs.

MACO fixes the magnitude of the image's spectrum to that of natural images.  Fel et
al. average ImageNet's; we have no ImageNet here, so ``photos`` is the average over
the sample photographs the project ships (``assets/``), measured by this module's
script in the same space the parametrization decodes from (Lucid's decorrelated
colour, before the sigmoid)::

    python -m netviz_core.optimize.spectrum assets/*.png

It writes ``photo_spectrum.py`` beside this file: the magnitude as a radial profile
per channel (mean |F| in log-spaced bands of |f|).  A radial profile, not the full
2-D spectrum, because three photographs give a noisy 2-D average but a smooth
radial one, and natural spectra are close to isotropic.  A Python literal, not a
pickle or a binary file, so that loading it runs no untrusted code and needs no
package data.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .spectral_basis import ENCODE_EPS, frequencies, from_rgb_logits, inverse_f_scale

MAGNITUDES = ("1/f", "photos")
#: Side of the crops the photo spectrum is measured on, and its number of frequency bands.
CROP = 224
BANDS = 32
OUTPUT = Path(__file__).with_name("photo_spectrum.py")


def band_edges(bands: int = BANDS, lowest: float = 1.0 / CROP) -> torch.Tensor:
    """Log-spaced band edges of |f| from ``lowest`` to the corner frequency √½ (cycles per pixel)."""
    return torch.logspace(torch.log10(torch.tensor(lowest)), torch.log10(torch.tensor(0.5**0.5 + 1e-9)),
                          bands + 1, dtype=torch.float64)


def radial_profile(magnitude: torch.Tensor, bands: int = BANDS) -> list[list[float]]:
    """Mean magnitude per channel in each band of |f|; the DC bin is its own first entry."""
    c, h, wf = magnitude.shape
    f = frequencies(h, 2 * (wf - 1))
    edges = band_edges(bands)
    out = []
    for ch in range(c):
        m = magnitude[ch].double()
        row = [float(m[0, 0])]
        for lo, hi in zip(edges[:-1], edges[1:]):
            sel = (f >= lo) & (f < hi)
            row.append(float(m[sel].mean()) if bool(sel.any()) else float("nan"))
        out.append(_fill_gaps(row))
    return out


def _fill_gaps(row: list[float]) -> list[float]:
    """Empty bands (the lowest ones hold no bin at small sizes) take their nearest filled neighbour."""
    filled = [v for v in row[1:] if v == v]
    last = filled[0]
    out = [row[0]]
    for v in row[1:]:
        last = v if v == v else last
        out.append(last)
    return out


def photo_magnitude(paths: list[Path], crops_per_image: int = 9) -> torch.Tensor:
    """Average |rfft2| (3, CROP, CROP//2+1) of crops of the photos, in the decoded space of ``maco``."""
    from PIL import Image

    total = torch.zeros(3, CROP, CROP // 2 + 1, dtype=torch.float64)
    count = 0
    for path in paths:
        im = Image.open(path).convert("RGB")
        side = min(im.size)
        for k in range(crops_per_image):  # a 3x3 grid of square crops of 3/4 of the short side, resized
            crop = int(side * 0.75)
            ox = (im.size[0] - crop) * (k % 3) // 2
            oy = (im.size[1] - crop) * (k // 3) // 2
            tile = im.crop((ox, oy, ox + crop, oy + crop)).resize((CROP, CROP), Image.Resampling.BICUBIC)
            x = torch.from_numpy(np.asarray(tile, dtype=np.float64)).permute(2, 0, 1) / 255
            y = from_rgb_logits(torch.logit(x.clamp(ENCODE_EPS * 1e3, 1 - ENCODE_EPS * 1e3))[None])[0]
            total += torch.fft.rfft2(y, norm="ortho").abs()
            count += 1
    if count == 0:
        raise ValueError("no photographs given")
    return (total / count).float()


@lru_cache(maxsize=16)
def magnitude_spectrum(kind: str, h: int, w: int, decay: float = 1.0) -> torch.Tensor:
    """The fixed magnitude (3, h, w//2+1) of ``kind`` ("1/f" or "photos") for an h×w image."""
    if kind == "1/f":
        return inverse_f_scale(h, w, decay).expand(3, -1, -1).contiguous()
    if kind == "photos":
        try:
            from .photo_spectrum import DC, PROFILE
        except ImportError:
            raise ValueError("The photo spectrum has not been measured: run "
                             "`python -m netviz_core.optimize.spectrum assets/*.png`.") from None
        f = frequencies(h, w)
        edges = band_edges(len(PROFILE[0]) - 1)
        band = (torch.bucketize(f, edges, right=True) - 1).clamp(0, len(edges) - 2)
        profile = torch.tensor(PROFILE, dtype=torch.float64)[:, 1:]  # (3, bands)
        mag = profile[:, band]
        mag[:, 0, 0] = torch.tensor(DC, dtype=torch.float64)
        return mag.float()
    raise ValueError(f"Unknown MACO magnitude {kind!r}; choose one of: {', '.join(MAGNITUDES)}.")


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m netviz_core.optimize.spectrum PHOTO.png ...", file=sys.stderr)
        return 2
    profile = radial_profile(photo_magnitude(paths))
    names = ", ".join(p.name for p in paths)
    OUTPUT.write_text(
        '"""Average magnitude spectrum of the sample photos (' + names + '), written by\n'
        "``python -m netviz_core.optimize.spectrum``: per channel of Lucid's decorrelated colour,\n"
        f"the DC magnitude and the mean |F| in {BANDS} log-spaced bands of |f| ({CROP}x{CROP} crops).\n"
        '"""\n\n'
        f"DC = {[round(r[0], 6) for r in profile]!r}\n"
        f"PROFILE = {[[round(v, 6) for v in r] for r in profile]!r}\n"
    )
    print(f"wrote {OUTPUT} from {len(paths)} photos")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
