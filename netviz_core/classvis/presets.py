"""Class visualization's presets: named partial settings, listed once.

The CLI's ``--preset``, the URL's ``?preset=``, the dashboard's preset picker and the
README's preset table are made from ``PRESETS``.  A setting a preset leaves out takes
its field default (``ClassVisSettings``), so a preset only names what it sets; to change
a preset, change its line here.

* "robust" (the default): "lucid" below, plus on the network's input MACO's random
  crops (50-100 % of the side, zoomed back) and noise (std 0.1), and Plug-In Inversion's
  colour shift (Ghiasi et al. 2022: per channel a shift of up to ±1 and a contrast
  scale of e^±1, normalised units), with the objective averaged over 2 independently
  transformed copies per step (twice a step's cost).  Made on lite0, "lucid"'s pictures are top-1 on
  lite1 and lite2 but mostly not on MobileNet-V2, another network family, and a
  person sees blown white and black blobs: lite0 reaches its score with colour
  extremes and fine texture that only its own family reads.  The crops ask for the
  class at every zoom, the colour shift whatever the exact colours and contrast; the
  pictures show whole objects in colour and other families name them
  (``benchmarks/results/classvis_gallery_families.md``).
* "lucid": Olah et al. 2017 / Lucid's ``render_vis`` defaults: a Fourier
  parametrization (1/f spectrum, decorrelated colour, sigmoid), Lucid's standard
  transforms on the network's input (pad 12, jitter 8, scale 0.9-1.1, rotate ±10°,
  jitter 4) and Adam with lr 0.05; 256 steps (Lucid's default is 512; the README's
  gallery benchmark measures what 256 reach on the held-out backbones).  Plus a TV
  weight of 5e-4, which Lucid does not have: without it the pictures keep fine
  high-frequency texture (ostrich, lite0: mean |Δ| 24.9 levels against the photos'
  6.9); with 3e-4 ostrich and monarch stayed top-1 on lite1 and lite2 at 14.4 and
  13.7 (README, "Class visualization").
* "maco": Fel et al. 2023: the phase of a spectrum whose magnitude is fixed to that
  of the sample photos, random crops (a box of 50-100 % of the side, resized back)
  plus noise of std 0.1 on the network's input, NAdam.  The paper uses lr 1.0 at
  1280 px with 6 crops per step; one crop of a 224 px image per step is noisier,
  so lr 0.25 here (by experiment on lite0; numbers in the README).
* "cs231n": the assignment's defaults (pixels, normalised-gradient step of 25,
  λ 1e-3, blur σ 0.5 every 10 steps, jitter 16, 100 steps).
* "simonyan": Simonyan et al.'s recipe: the logit with an L2 penalty only (no jitter,
  no blur), from the zero image plus the training-set mean.  The paper gives no λ
  or step size; CS231n's are kept, so the two differ only in the regularisers.
"""

from __future__ import annotations

from ..settings import Preset, Presets

DEFAULT_PRESET = "robust"

_FOURIER = dict(parametrization="fourier", magnitude="1/f", optimizer="adam", lr=0.05, iterations=256, tv_weight=5e-4)
_PIXEL = dict(parametrization="pixel", optimizer="normalized", transforms=False, tv_weight=0.0, iterations=100,
              l2_weight=1e-3, lr=25.0, transform_samples=1)
PRESETS = Presets(
    Preset("robust", "lucid plus random crops (50-100 %), input noise 0.1 and a colour shift of 1 (MACO, Plug-In "
           "Inversion), 2 transformed copies per step: pictures other network families recognise",
           dict(_FOURIER, crop_min=0.5, input_noise=0.1, color_shift=1.0, transform_samples=2)),
    Preset("lucid", "Fourier parametrization, Lucid's transforms, Adam lr 0.05, TV 5e-4, 256 steps (Olah et al. 2017)",
           dict(_FOURIER, crop_min=1.0, input_noise=0.0, color_shift=0.0, transform_samples=1)),
    Preset("maco", "the phase of the sample photos' fixed spectrum, random crops and noise, NAdam lr 0.25, 256 steps "
           "(Fel et al. 2023)",
           dict(parametrization="maco", magnitude="photos", optimizer="nadam", lr=0.25, iterations=256, tv_weight=0.0,
                crop_min=0.5, input_noise=0.1, color_shift=0.0, transform_samples=1)),
    Preset("cs231n", "pixels, λ 1e-3, normalised step lr 25, blur σ 0.5 every 10 steps, jitter 16, 100 steps "
           "(the CS231n assignment)",
           dict(_PIXEL, blur_every=10, blur_sigma=0.5, jitter=16)),
    Preset("simonyan", "pixels from the mean image, L2 penalty only (λ 1e-3, lr 25), 100 steps (Simonyan et al. 2014)",
           dict(_PIXEL, init="mean")),
    default=DEFAULT_PRESET,
)
