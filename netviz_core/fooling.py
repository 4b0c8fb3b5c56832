"""Fooling images (Szegedy et al. 2014, as in CS231n): a small change that makes the net see the target.

Gradient ascent on the target's unnormalised score S_c(X), from the user's image,
stopping as soon as the network predicts the target (or after ``iterations`` steps):

* **normalised** (default): dX = lr · g / ‖g‖₂, lr = 1 normalised unit;
* **L∞-bounded** (``linf=ε``, ε in 0–255 pixel units): dX = ε_step · sign(g), then
  projection onto ‖X − X₀‖∞ ≤ ε, so the change never exceeds the size the user fixed.

Pixels are clamped to the valid range after every step, so the image can be saved.

Survives export.  A fooling image that only fools in float32 is useless once saved,
so the run has two phases on the same engine:

1. *continuous*: the ascent above, until the float image is classified as the target;
2. *quantized*: the image is rounded to the 8-bit grid (what a PNG decodes to).
   Where rounding broke the prediction, the ascent continues on the grid: sign steps
   of exactly one 8-bit level (the smallest step that survives rounding), each
   snapped back to the grid, until the prediction holds again.  Images that survived
   rounding stop at once.  ``quantized_steps`` counts the steps of this phase.

The returned image is therefore on the 8-bit grid, and it is classified as the
target exactly as the PNG will be.  Both phases share the ``iterations`` budget.

Geometry: the fooling image is the model input, i.e. the centre square of the
user's picture resized to the model's input size (``preprocess``), not the picture.

``fooling_frames`` is the generator (one ``FoolingFrame`` per step; stop iterating
to cancel, nothing is left behind); ``fool`` and ``fool_batch`` run to the end.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

import torch
from PIL import Image

from .errors import FoolingError, NetVizError
from .images import ImageSource, deprocess, quantize
from .models import LoadedModel
from .optimize import ClampToPixelRange, ClassLogit, Frame, NormalizedGradient, PostStep, ProjectLinf, SignGradient
from .optimize import optimize as optimize_images
from .settings import ITERATIONS, LR, JsonSettings, Rule, log_steps, setting
from .targets import as_input_batch, resolve_targets

#: Default length of the normalised step, in normalised units (CS231n uses 1).
DEFAULT_LR = 1.0
DEFAULT_ITERATIONS = 100
#: The bounded variant's default sign step, as a fraction of ε (Madry et al.'s PGD uses ε/4).
DEFAULT_STEP_FRACTION = 0.25
#: The magnification of the difference picture (CS231n shows 10 × (X_fooling − X)).
DEFAULT_MAGNIFY = 10.0

CONTINUOUS, QUANTIZED = "continuous", "quantized"


# --------------------------------------------------------------------------- parts


class SnapToPixelGrid(PostStep):
    """Round each pixel to the nearest 8-bit level: the image stays what a PNG of it decodes to."""

    name = "snap_to_pixel_grid"

    def __call__(self, x, ctx):
        return quantize(ctx.net, x)


def levels_to_normalized(net: LoadedModel, levels: float) -> torch.Tensor:
    """A size in 0–255 pixel units -> normalised units, per channel, shape (1, 3, 1, 1)."""
    return float(levels) / 255.0 / net.std


def pixel_change(net: LoadedModel, fooled: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """X − X₀ in 0–255 pixel units, same shape."""
    return (fooled.detach() - original.detach()) * net.std * 255.0


def magnified_difference(net: LoadedModel, fooled: torch.Tensor, original: torch.Tensor,
                         magnify: float = DEFAULT_MAGNIFY) -> Image.Image:
    """The change as a picture: mid-grey (128) plus ``magnify`` × (X − X₀) in 0–255 units, clipped."""
    delta = pixel_change(net, fooled, original)
    if delta.dim() == 4:
        delta = delta[0]
    pixels = (128.0 + float(magnify) * delta).round().clamp(0, 255).to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).contiguous().cpu().numpy(), mode="RGB")


# --------------------------------------------------------------------------- frames


def _frame_field(name: str, doc: str) -> property:
    """A read-only property that reads ``name`` from the engine's frame."""
    return property(lambda self: getattr(self.frame, name), doc=doc)


@dataclass
class FoolingFrame:
    """One step of a fooling run, as the dashboard draws it.

    ``frame`` is the engine's frame of the current phase (its ``images`` are X_k,
    its ``probabilities`` the target's softmax probability, its ``predictions`` the
    argmax); ``iterations`` and ``quantized_steps`` count each image's steps over
    both phases.  ``step`` numbers the frames of the whole run.  ``final`` is True on
    the last frame only: its images are on the 8-bit grid.
    """

    step: int
    phase: str
    frame: Frame
    originals: torch.Tensor
    original_classes: torch.Tensor
    original_probabilities: torch.Tensor  # (N, num_classes), softmax of the originals
    iterations: torch.Tensor
    quantized_steps: torch.Tensor
    settings: FoolingSettings
    final: bool = False

    images = _frame_field("images", "The current images, normalised (N, 3, H, W).")
    targets = _frame_field("targets", "The target classes (N,).")
    probabilities = _frame_field("probabilities", "Softmax of the current images (N, num_classes).")
    predictions = _frame_field("predictions", "The network's current top-1 classes (N,).")

    @property
    def fooled(self) -> torch.Tensor:
        """Which images the network currently classifies as their target, (N,) bool."""
        return self.frame.predictions == self.frame.targets

    def scalars(self) -> dict:
        """Plain Python numbers for charts and logs."""
        return {
            "step": self.step,
            "phase": self.phase,
            "probabilities": self.probabilities.tolist(),
            "predictions": self.predictions.tolist(),
            "iterations": self.iterations.tolist(),
            "quantized_steps": self.quantized_steps.tolist(),
            "final": self.final,
        }


def _positive(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise FoolingError(f"{what} must be a positive number, got {value!r}.")
    return float(value)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class FoolingSettings(JsonSettings):
    """Everything that determines a fooling run (with the model, the images and the targets).

    ``iterations``: the most steps, shared by both phases.  ``lr``: the length of the
    normalised step (normalised units).  ``linf``: ε in 0–255 pixel units; set, it
    selects the bounded variant, with sign steps of ``step_size`` (0–255 units,
    default ε/4: ``sign_step``).  Each setting is declared once (range, words); validated
    on construction (``FoolingError`` names the bad setting and its range);
    ``to_json``/``from_json`` reproduce a run.
    """

    error: ClassVar[type[NetVizError]] = FoolingError
    what: ClassVar[str] = "fooling settings"
    rules: ClassVar = (
        Rule(lambda s: s.step_size is None or s.linf is not None,
             "step_size is the sign step of the L∞ variant: give linf=ε as well, or use lr."),
    )
    #: What a page shows: the normalised step's setting, the bounded variant's, and the run's.
    groups: ClassVar = (("normalized", ("lr",)), ("linf", ("linf", "step_size")), ("run", ("iterations",)))

    iterations: int = setting(DEFAULT_ITERATIONS, like=ITERATIONS, lo=0, hi=2000)
    lr: float = setting(DEFAULT_LR, like=LR, lo=1e-3, hi=1e6, steps=log_steps(-3, 6), widget="select_slider")
    linf: float | None = setting(None, label="L∞ bound", symbol="ε", unit="0-255 pixel units", lo=0.5, hi=255.0,
                                 step=0.5, optional=True, aliases=("eps",), metavar="EPS",
                                 help="No pixel changes by more than ε; set, it selects the bounded variant "
                                 "(sign steps).")
    step_size: float | None = setting(None, label="Sign step", unit="0-255 pixel units", lo=0.25, hi=64.0, step=0.25,
                                      optional=True, aliases=("step",),
                                      help="How far each signed step of the bounded variant moves every pixel "
                                      "(default ε/4).")

    @property
    def method(self) -> str:
        """``"linf"`` (bounded sign steps) when ``linf`` is set, else ``"normalized"``."""
        return "linf" if self.linf is not None else "normalized"

    @property
    def sign_step(self) -> float | None:
        """The bounded variant's sign step in 0–255 units (``step_size``, or ε/4); None for the normalised one."""
        if self.linf is None:
            return None
        return float(self.step_size) if self.step_size is not None else DEFAULT_STEP_FRACTION * float(self.linf)


def settings_with(settings: FoolingSettings | None, overrides: dict) -> FoolingSettings:
    """``settings`` (default: the defaults) with ``overrides`` (``FoolingSettings`` fields) applied."""
    if settings is not None and not isinstance(settings, FoolingSettings):
        raise FoolingError(f"settings must be a FoolingSettings, got {type(settings).__name__}.")
    return (settings if settings is not None else FoolingSettings()).with_overrides(**overrides)


# --------------------------------------------------------------------------- the run


def fooling_frames(net: LoadedModel, images, targets, settings: FoolingSettings | None = None,
                   **overrides: Any) -> Iterator[FoolingFrame]:
    """Make each image classified as its target; yields a ``FoolingFrame`` per step.

    ``images``: a normalised batch (N, 3, H, W) at the model's input size, or image
    sources (preprocessed here).  ``targets``: a class index or name, or one per image.
    ``settings`` (default ``FoolingSettings()``) with ``overrides`` of its fields
    (``iterations``, ``lr``, ``linf``, ``step_size``).  The last frame (``final``)
    holds the 8-bit images; pass it to ``fooling_results``.  Stop iterating at any
    step to cancel.  Bad arguments raise here, before the first frame.
    """
    settings = settings_with(settings, overrides)
    x0 = as_input_batch(net, images, at_input_size=True)
    n = x0.shape[0]
    target_list = resolve_targets(net, targets, n)
    parts = engine_parts(net, settings)
    return _fooling_phases(net, x0, target_list, parts["step_rule"], parts["post_steps"], parts["grid_bound"], settings)


def engine_parts(net: LoadedModel, settings: FoolingSettings) -> dict[str, Any]:
    """Fooling's compiler: the continuous phase's step rule and post-steps, and the 8-bit phase's bound.

    The objective is the target's logit (``ClassLogit``) on the pixels, untransformed.
    """
    if settings.linf is not None:
        # On the 8-bit grid the bound is cut to whole levels, so that snapping keeps it.
        return dict(step_rule=SignGradient(levels_to_normalized(net, settings.sign_step)),
                    post_steps=[ClampToPixelRange(), ProjectLinf(levels_to_normalized(net, settings.linf))],
                    grid_bound=math.floor(float(settings.linf)))
    return dict(step_rule=NormalizedGradient(settings.lr), post_steps=[ClampToPixelRange()], grid_bound=None)


def _fooling_phases(net, x0, target_list, step_rule, continuous_ops, grid_bound, settings: FoolingSettings):
    """The generator behind ``fooling_frames``: the continuous phase, then the 8-bit one."""
    n = x0.shape[0]
    with torch.no_grad():
        original_probabilities = net(x0).float().softmax(1)
    original_classes = original_probabilities.argmax(1)

    def is_fooled(frame: Frame) -> torch.Tensor:
        return frame.predictions == frame.targets

    def wrap(frame: Frame, phase: str, step: int, iterations, quantized_steps, final=False) -> FoolingFrame:
        return FoolingFrame(step=step, phase=phase, frame=frame, originals=x0, original_classes=original_classes,
                            original_probabilities=original_probabilities, iterations=iterations,
                            quantized_steps=quantized_steps, settings=settings, final=final)

    zeros = torch.zeros(n, dtype=torch.long, device=net.device)
    step = 0
    last: Frame | None = None
    with contextlib.closing(optimize_images(
        net, x0, target_list, objective=ClassLogit(), step_rule=step_rule, post_steps=continuous_ops,
        iterations=settings.iterations, stop_when=is_fooled, state={"x0": x0},
    )) as frames:
        for last in frames:
            yield wrap(last, CONTINUOUS, step, last.iterations.clone(), zeros)
            step += 1
    continuous_iterations = last.iterations.clone()

    # Phase 2 on the 8-bit grid.  A step of one level per pixel is the smallest that
    # rounding cannot undo.
    one_level = levels_to_normalized(net, 1.0)
    grid_ops: list[PostStep] = [ClampToPixelRange()]
    if grid_bound is not None:
        grid_ops.append(ProjectLinf(levels_to_normalized(net, grid_bound)))
    grid_ops.append(SnapToPixelGrid())
    grid_state = {"x0": x0}
    on_grid = last.images
    for op in grid_ops:
        on_grid = op(on_grid, _Ctx(net, grid_state))
    budget = settings.iterations - continuous_iterations  # per image: both phases share the iterations

    def fooled_or_out_of_budget(frame: Frame) -> torch.Tensor:
        return (frame.predictions == frame.targets) | (frame.iterations >= budget)

    with contextlib.closing(optimize_images(
        net, on_grid, target_list, objective=ClassLogit(), step_rule=SignGradient(one_level), post_steps=grid_ops,
        iterations=int(budget.max()), stop_when=fooled_or_out_of_budget, state=grid_state,
    )) as frames:
        for frame in frames:
            yield wrap(frame, QUANTIZED, step, continuous_iterations + frame.iterations, frame.iterations.clone(),
                       final=frame.final)
            step += 1


@dataclass
class _Ctx:
    """The little of a ``StepContext`` that a post-step reads, to apply one outside the loop."""

    net: Any
    state: dict


# --------------------------------------------------------------------------- results


@dataclass
class FoolingResult:
    """One fooling image and what it did.

    ``fooling_image`` is normalised (1, 3, H, W) at the model's input size and on
    the 8-bit grid (a PNG of it decodes to the same tensor); ``fooling_picture`` is
    that PNG's picture and ``difference_picture`` shows 128 + ``magnify`` × (X − X₀).
    ``l2`` and ``linf`` are the size of X − X₀ in 0–255 pixel units.  ``success``:
    the 8-bit image is classified as the target.  ``already_target``: the original
    already was (0 iterations).  ``quantized_steps``: steps taken on the 8-bit grid
    because rounding the float result broke the prediction.
    """

    target: int
    target_name: str
    original_class: int
    original_name: str
    predicted_class: int
    predicted_name: str
    success: bool
    already_target: bool
    iterations: int
    quantized_steps: int
    target_probability_before: float
    target_probability_after: float
    original_probability_before: float
    original_probability_after: float
    l2: float
    linf: float
    settings: FoolingSettings
    magnify: float
    fooling_image: torch.Tensor = field(repr=False)
    original_image: torch.Tensor = field(repr=False)
    fooling_picture: Image.Image = field(repr=False)
    difference_picture: Image.Image = field(repr=False)

    def as_dict(self) -> dict:
        """Everything but the pictures, as JSON-ready Python values."""
        plain = ("success", "iterations", "quantized_steps", "already_target")
        return {
            **{key: getattr(self, key) for key in plain},
            "target": {"index": self.target, "name": self.target_name},
            "original_class": {"index": self.original_class, "name": self.original_name},
            "predicted_class": {"index": self.predicted_class, "name": self.predicted_name},
            "probabilities": {
                "target_before": self.target_probability_before,
                "target_after": self.target_probability_after,
                "original_before": self.original_probability_before,
                "original_after": self.original_probability_after,
            },
            "l2": self.l2,
            "linf": self.linf,
            "settings": self.settings.to_dict(),
            "magnify": self.magnify,
        }


def fooling_results(net: LoadedModel, frame: FoolingFrame, *, magnify: float = DEFAULT_MAGNIFY) -> list[FoolingResult]:
    """The results of a run from its last frame (or any frame of a cancelled run).

    Images are rounded to the 8-bit grid first (a no-op for the final frame), so the
    numbers always describe the image as it will be saved.
    """
    magnify = _positive(magnify, "The magnification of the difference")
    fooled = quantize(net, frame.images)
    with torch.no_grad():
        after = net(fooled).float().softmax(1)
    delta = pixel_change(net, fooled, frame.originals).flatten(1)
    results = []
    for i in range(fooled.shape[0]):
        target, original = int(frame.targets[i]), int(frame.original_classes[i])
        predicted = int(after[i].argmax())
        results.append(FoolingResult(
            target=target,
            target_name=net.class_names[target],
            original_class=original,
            original_name=net.class_names[original],
            predicted_class=predicted,
            predicted_name=net.class_names[predicted],
            success=predicted == target,
            already_target=original == target,
            iterations=int(frame.iterations[i]),
            quantized_steps=int(frame.quantized_steps[i]),
            target_probability_before=float(frame.original_probabilities[i, target]),
            target_probability_after=float(after[i, target]),
            original_probability_before=float(frame.original_probabilities[i, original]),
            original_probability_after=float(after[i, original]),
            # Rounded: on the grid these are whole levels (L∞) up to float32 noise of ~1e-6.
            l2=round(float(delta[i].norm()), 3),
            linf=round(float(delta[i].abs().max()), 3),
            settings=frame.settings,
            magnify=float(magnify),
            fooling_image=fooled[i : i + 1].clone(),
            original_image=frame.originals[i : i + 1].clone(),
            fooling_picture=deprocess(net, fooled[i : i + 1]),
            difference_picture=magnified_difference(net, fooled[i : i + 1], frame.originals[i : i + 1], magnify),
        ))
    return results


def fool_batch(net: LoadedModel, images, targets, settings: FoolingSettings | None = None, *,
               magnify: float = DEFAULT_MAGNIFY, on_frame: Callable[[FoolingFrame], Any] | None = None,
               **overrides: Any) -> list[FoolingResult]:
    """Fooling images for (image, target) pairs, run to the end; see ``fooling_frames``.

    ``magnify``: of the difference picture.  ``on_frame(frame)`` sees every step;
    returning False cancels, and the results then describe the images reached so far
    (rounded to 8 bits).
    """
    settings = settings_with(settings, overrides)
    magnify = _positive(magnify, "The magnification of the difference")
    last = None
    with contextlib.closing(fooling_frames(net, images, targets, settings)) as frames:
        for last in frames:
            if on_frame is not None and on_frame(last) is False:
                break
    return fooling_results(net, last, magnify=magnify)


def fool(net: LoadedModel, image: ImageSource | torch.Tensor, target: int | str,
         settings: FoolingSettings | None = None, *, magnify: float = DEFAULT_MAGNIFY,
         on_frame: Callable[[FoolingFrame], Any] | None = None, **overrides: Any) -> FoolingResult:
    """A fooling image of one image for one target (index or name), run to the end.

    ``image`` is a normalised (1, 3, H, W) tensor at the model's input size or an
    image source (path, bytes, PIL image), preprocessed here (centre square).
    ``settings``/``overrides`` as in ``fooling_frames`` (e.g. ``linf=8``).
    """
    if isinstance(image, torch.Tensor) and image.dim() == 4 and image.shape[0] != 1:
        raise FoolingError(f"fool takes one image; got a batch of {image.shape[0]} (use fool_batch).")
    if isinstance(image, (list, tuple)):
        raise FoolingError("fool takes one image; use fool_batch for several.")
    (result,) = fool_batch(net, image, [target], settings, magnify=magnify, on_frame=on_frame, **overrides)
    return result
