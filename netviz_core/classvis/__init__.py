"""Class visualization: the image a classifier scores highest for a class.

    I* = argmax_I  S_c(I) − λ‖I‖²₂ − w_TV·TV(I)      (Simonyan et al. 2014; CS231n)

with I = decode(p) for a chosen parametrization p (pixels, a 1/f-scaled Fourier
spectrum, or the phase of a fixed natural spectrum) and, optionally, random
transforms on the network's input (transformation robustness).

S_c is the unnormalised class score (the logit), not the softmax posterior P_c:
the posterior can also be raised by lowering the other classes, which Simonyan
et al. found gives less recognisable images (``objective="posterior"`` optimises
log P_c for comparison).  CS231n adds implicit regularisation: the image is
jittered (rolled by up to ``jitter`` pixels) before each forward pass, clamped to
the valid pixel range after each step and blurred with σ = ``blur_sigma`` every
``blur_every`` steps.  The step is the normalised gradient, lr · g / ‖g‖₂.

This module only picks parts of the image-optimisation engine
(``netviz_core.optimize``) and records what the run produced.  All N targets are
optimised together, one forward and one backward pass per step for the batch.
Every image has its own random generator seeded with ``seed`` (one seed for all,
or one per target), so a target's image does not depend on which other targets
share the batch.  With ``batch_invariant=True`` the batch equals separate runs
bit for bit; by default it is batched and faster, and equal to separate runs only
to float tolerance for the first few steps (the optimisation is chaotic; see the
docstring of ``netviz_core.optimize.engine``).

Two ways to run it:

* live: ``run = ClassVisRun(net, targets, preset="cs231n")``; ``for frame in
  run.frames(): ...`` draws each step and may stop at any point; ``run.result()``
  then describes the images as they are.
* to the end: ``class_visualization(net, targets, ...)`` returns a ``ClassVisResult``.

The package: ``presets`` (the named settings, as data), ``settings`` (``ClassVisSettings``,
each setting declared once), ``parts`` (settings -> the engine's parts), ``run`` (the run,
its result, transfer scores).
"""

from __future__ import annotations

from .parts import engine_parts, parametrization, start_images
from .presets import DEFAULT_PRESET, PRESETS
from .run import (
    DISPLAY_SIZE,
    ClassVisResult,
    ClassVisRun,
    class_visualization,
    class_visualization_frames,
    transfer_ranks,
    transfer_scores,
    upscale,
)
from .settings import INITS, OBJECTIVES, ClassVisSettings, settings_for, validate_settings

__all__ = [
    "PRESETS", "DEFAULT_PRESET", "OBJECTIVES", "INITS", "DISPLAY_SIZE",
    "ClassVisSettings", "settings_for", "validate_settings",
    "engine_parts", "parametrization", "start_images",
    "ClassVisRun", "ClassVisResult", "class_visualization", "class_visualization_frames",
    "transfer_scores", "transfer_ranks", "upscale",
]
