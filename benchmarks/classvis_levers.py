"""Trials of class-visualization levers that are not (yet) settings, judged by the gallery benchmark.

A lever changes one part of what ``classvis.parts.engine_parts`` builds from the settings,
in this process only; everything else (making, judging on the held-out backbones,
statistics, time to recognition, contact sheet) is ``benchmarks/classvis_gallery.py``,
whose arguments pass through.  A lever that wins its trial becomes a setting; this file
keeps the trials reproducible.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/classvis_levers.py --lever crops -- \\
        --presets lucid --label lucid_crops --classes 1 130 292 409 817 954 --batch 6 --no-gallery

Levers:

* ``crops``: MACO's scale-varied random crops (a box of 50-100 % of the side, resized
  back) after the preset's own transforms: a zoom of up to 2x at a random place.
* ``contrast=K``: the ``maco`` image's standardised logits multiplied by K before the
  colour mixing and the sigmoid (MACO's pictures are low in contrast and sepia: its
  logits have a standard deviation of 1, so the sigmoid stays in its linear part).
* ``noise=S``: additive noise of std S (normalised units) on the network's input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def contrast_maco(magnitude: str, factor: float):
    """MACO's parametrization with its standardised image scaled by ``factor`` before the sigmoid."""
    import torch

    from netviz_core.optimize import parametrizations as P

    class ContrastMaco(P.Maco):
        name = "maco"

        def __init__(self):
            super().__init__(magnitude)
            self.contrast = float(factor)

        def decode(self, p, net):
            h, w = P.image_size(p)
            mag = self._magnitude(h, w, p.device)
            y = torch.fft.irfft2(torch.polar(mag.expand_as(p), p), s=(h, w), norm="ortho")
            y = y - y.mean(dim=(1, 2, 3), keepdim=True)
            y = y / (y.flatten(1).std(dim=1).view(-1, 1, 1, 1) + 1e-5) * self.contrast
            return P._to_normalised(torch.sigmoid(P._to_rgb_logits(y)), net)

    return ContrastMaco()


def install(levers: list[str]) -> None:
    """Wrap ``classvis.parts.engine_parts`` (the class-visualization compiler) so that every run in this process
    uses ``levers``."""
    from netviz_core import classvis
    from netviz_core.classvis import parts as compiler
    from netviz_core.optimize.transforms import AdditiveNoise, RandomCrop

    original = compiler.engine_parts

    def engine_parts(s):
        parts = original(s)
        for lever in levers:
            name, _, value = lever.partition("=")
            if name == "crops":
                parts["transforms"] = [*parts["transforms"], RandomCrop((0.5, 1.0))]
            elif name == "noise":
                parts["transforms"] = [*parts["transforms"], AdditiveNoise(float(value))]
            elif name == "transforms":
                from netviz_core.optimize import transforms as T
                parts["transforms"] = {"lucid": T.lucid_transforms, "maco": T.maco_transforms,
                                       "both": lambda: [*T.lucid_transforms(), *T.maco_transforms()]}[value]()
            elif name == "colorshift":
                from netviz_core.optimize.transforms import ColorShift
                shift, _, scale = value.partition(",")
                parts["transforms"] = [*parts["transforms"], ColorShift(float(shift), float(scale or shift))]
            elif name == "contrast":
                if s.parametrization != "maco":
                    raise SystemExit("the contrast lever acts on the maco parametrization")
                parts["parametrization"] = contrast_maco(s.magnitude, float(value))
            else:
                raise SystemExit(f"unknown lever {lever!r}")
        return parts

    compiler.engine_parts = classvis.engine_parts = engine_parts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lever", action="append", required=True, help="crops, contrast=K, noise=S (repeatable)")
    ap.add_argument("rest", nargs=argparse.REMAINDER, help="-- then classvis_gallery.py's arguments")
    args = ap.parse_args(argv)
    install(args.lever)
    from benchmarks import classvis_gallery

    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    return classvis_gallery.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
