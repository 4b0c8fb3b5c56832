"""Running a class visualization: ``ClassVisRun`` (live, stoppable), the result, transfer scores."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch
from PIL import Image

from .. import animation
from ..classes import short_name
from ..errors import ClassVisualizationError
from ..optimize import engine
from ..optimize.folding import input_gradient_model
from ..targets import resolve_targets
from . import parts
from .presets import DEFAULT_PRESET
from .settings import ClassVisSettings, settings_for

#: Side of the upscaled images shown in the dashboard and written by the CLI's GIF.
DISPLAY_SIZE = 448


def upscale(im: Image.Image, size: int = DISPLAY_SIZE) -> Image.Image:
    """Nearest-neighbour upscale for display: every generated pixel stays a visible square."""
    return im if im.size == (size, size) else im.resize((size, size), Image.Resampling.NEAREST)


# --------------------------------------------------------------------------- result


@dataclass
class ClassVisResult:
    """What a run produced.  ``images`` are at the model's input size; history arrays are (frames, N)."""

    settings: ClassVisSettings
    model_label: str
    class_names: list[str]
    images: list[Image.Image]
    tensors: torch.Tensor  # final images, normalised (N, 3, H, W)
    scores: list[float]  # S_c of each final image (no jitter)
    probabilities: list[float]  # P_c of each final image (no jitter)
    probabilities_8bit: list[float]  # P_c of the image as saved (8-bit PNG)
    predictions: list[int]
    score_history: torch.Tensor  # (frames, N): S_c as the optimiser saw it (transformed) per step
    probability_history: torch.Tensor
    gif_steps: list[int]
    gif_frames: list[list[Image.Image]]  # per target, the image at each of gif_steps
    steps: int  # steps taken (== settings.iterations unless stopped early)
    stopped_early: bool
    elapsed_s: float
    transfer: dict[str, list[float]] = field(default_factory=dict)

    @property
    def targets(self) -> tuple[int, ...]:
        return self.settings.targets

    def display_images(self, size: int = DISPLAY_SIZE) -> list[Image.Image]:
        return [upscale(im, size) for im in self.images]

    def gif_bytes(self, index: int = 0, size: int | None = DISPLAY_SIZE, duration_ms: int = 120) -> bytes:
        """The evolution of target ``index`` as an animated GIF (every ``gif_every``-th step and the last)."""
        return animation.gif_bytes([upscale(f, size) if size else f for f in self.gif_frames[index]], duration_ms)

    def save_gif(self, path: str | Path, index: int = 0, size: int | None = DISPLAY_SIZE) -> Path:
        p = Path(path)
        p.write_bytes(self.gif_bytes(index, size))
        return p

    def as_dict(self) -> dict:
        """JSON-ready summary: settings, final numbers, histories and transfer scores."""
        return {
            "model": self.settings.model,
            "model_label": self.model_label,
            "settings": self.settings.to_dict(),
            "targets": [
                {
                    "index": t,
                    "name": name,
                    "score": s,
                    "probability": p,
                    "probability_8bit": q,
                    "prediction": pred,
                    "transfer": {m: v[i] for m, v in self.transfer.items()},
                }
                for i, (t, name, s, p, q, pred) in enumerate(zip(
                    self.targets, self.class_names, self.scores, self.probabilities, self.probabilities_8bit,
                    self.predictions))
            ],
            "score_history": self.score_history.T.tolist(),
            "probability_history": self.probability_history.T.tolist(),
            "steps": self.steps,
            "stopped_early": self.stopped_early,
            "elapsed_s": self.elapsed_s,
            "torch": torch.__version__,
        }


# --------------------------------------------------------------------------- run


class ClassVisRun:
    """One class-visualization run that can be watched frame by frame and stopped at any step.

    ``frames()`` yields the engine's ``Frame`` per step (``frame.images`` is the
    batch after ``frame.step`` steps); ``result()`` describes the latest frame.
    """

    def __init__(self, net, targets: Sequence[int | str] | int | str | None = None,
                 settings: ClassVisSettings | None = None, *, preset: str | None = DEFAULT_PRESET, **overrides):
        if settings is None:
            settings = settings_for(preset, **overrides)
        elif overrides:
            settings = settings.with_overrides(**{k: v for k, v in overrides.items() if v is not None})
        if targets is None:
            targets = settings.targets
        resolved = tuple(resolve_targets(net, targets))
        if settings.model is not None and settings.model != net.name:
            raise ClassVisualizationError(
                f"These settings were made for {settings.model}, not {net.name}; load that model to reproduce them."
            )
        self.net = net
        self.settings = settings.with_overrides(targets=resolved, model=net.name)  # re-validates (seeds per target)
        self.last: engine.Frame | None = None
        self._scores: list[torch.Tensor] = []
        self._probabilities: list[torch.Tensor] = []
        self._gif_steps: list[int] = []
        self._gif: list[list[Image.Image]] = [[] for _ in resolved]
        self._elapsed = 0.0
        self._started = False

    def frames(self) -> Iterator[engine.Frame]:
        """The run as a generator of frames; stop iterating (or ``close()`` it) to stop the run."""
        if self._started:
            raise ClassVisualizationError("This run has already been started; make a new ClassVisRun to run again.")
        self._started = True
        s = self.settings
        generators = engine.make_generators(s.seeds(), len(s.targets))
        x0 = parts.start_images(self.net, s, generators)
        started = time.perf_counter()
        # Only input gradients are needed: by default the network with its BatchNorms folded into the
        # convolutions (equal in exact arithmetic; float rounding differs, see ``fold_batchnorm``).
        model = input_gradient_model(self.net) if s.fold_batchnorm else self.net
        for frame in engine.optimize(model, x0, list(s.targets), generators=generators, **parts.engine_parts(s)):
            self._record(frame)
            self._elapsed = time.perf_counter() - started
            yield frame

    def _record(self, frame: engine.Frame) -> None:
        self.last = frame
        self._scores.append(frame.scores.detach().cpu())
        self._probabilities.append(frame.probabilities.detach().cpu())
        if frame.step % self.settings.gif_every == 0 or frame.final:
            self._snapshot(frame)

    def _snapshot(self, frame: engine.Frame) -> None:
        from ..images import deprocess_batch

        if self._gif_steps and self._gif_steps[-1] == frame.step:
            return
        self._gif_steps.append(frame.step)
        for frames, im in zip(self._gif, deprocess_batch(self.net, frame.images)):
            frames.append(im)

    def _score(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the images themselves, per image in batch-invariant mode (same arithmetic as the run)."""
        return engine.logits_of(input_gradient_model(self.net), x, self.settings.batch_invariant)  # the run's network

    def result(self, transfer: bool | Sequence[str] = False) -> ClassVisResult:
        """The images as they are now (after the last frame seen); ``transfer`` as in ``transfer_scores``."""
        from ..images import deprocess_batch, quantize

        if self.last is None:
            raise ClassVisualizationError("The run has not produced a frame yet; iterate frames() first.")
        frame = self.last
        self._snapshot(frame)  # the GIF always ends on the image returned
        x = frame.images
        targets = frame.targets
        if frame.final or not parts.engine_parts(self.settings)["transforms"]:
            logits = None
            scores, probabilities, predictions = frame.scores, frame.probabilities, frame.predictions
        else:  # stopped early: the frame's scores were of the transformed image
            logits = self._score(x)
            scores = logits.gather(1, targets[:, None])[:, 0]
            probabilities = logits.softmax(1).gather(1, targets[:, None])[:, 0]
            predictions = logits.argmax(1)
        q_logits = self._score(quantize(self.net, x))
        images = deprocess_batch(self.net, x)
        names = [short_name(t, self.net.class_names) for t in self.settings.targets]
        transfer_models = _transfer_models(self.net, transfer)
        return ClassVisResult(
            settings=self.settings,
            model_label=self.net.label,
            class_names=names,
            images=images,
            tensors=x.detach().cpu(),
            scores=scores.tolist(),
            probabilities=probabilities.tolist(),
            probabilities_8bit=q_logits.softmax(1).gather(1, targets[:, None])[:, 0].tolist(),
            predictions=predictions.tolist(),
            score_history=torch.stack(self._scores),
            probability_history=torch.stack(self._probabilities),
            gif_steps=list(self._gif_steps),
            gif_frames=[list(f) for f in self._gif],
            steps=frame.step,
            stopped_early=not frame.final,
            elapsed_s=self._elapsed,
            transfer=transfer_scores(images, self.settings.targets, transfer_models, device=self.net.device)
            if transfer_models else {},
        )


def _transfer_models(net, transfer: bool | Sequence[str]) -> list[str]:
    from ..models import BUNDLED_MODELS

    if transfer is True:
        return [m for m in BUNDLED_MODELS if m != net.name]
    if not transfer:
        return []
    return [str(m) for m in transfer]


def _transfer_probabilities(images: Sequence[Image.Image], targets: Sequence[int],
                            models: Sequence[str] | Mapping[str, Any] | None, device) -> Iterator[tuple[str, torch.Tensor]]:
    """(label, softmax (N, classes)) of each model for the 8-bit pictures, each fed as a user's picture."""
    from ..images import preprocess
    from ..models import BUNDLED_MODELS, load_model_cached

    if len(images) != len(targets):
        raise ClassVisualizationError(f"Got {len(images)} images for {len(targets)} targets.")
    if isinstance(models, Mapping):
        scorers = list(models.items())
    else:
        scorers = [(name, None) for name in (BUNDLED_MODELS if models is None else models)]
    for name, other in scorers:
        if other is None:
            other = load_model_cached(name, device=None if device is None else str(device))
        x = torch.cat([preprocess(other, im) for im in images])
        with torch.no_grad():
            yield name, other(x).float().softmax(1).cpu()


def transfer_scores(images: Sequence[Image.Image], targets: Sequence[int],
                    models: Sequence[str] | Mapping[str, Any] | None = None, *, device=None) -> dict[str, list[float]]:
    """P(target) that each model gives each generated picture: does the image fool other backbones too?

    Each 8-bit picture is fed to each model as a user's picture would be
    (``preprocess``: resized to that model's input size, its normalisation).
    ``models``: bundled model names (loaded here; default: every bundled backbone),
    or a mapping label -> loaded model; the result is keyed the same way.
    """
    t = torch.as_tensor(list(targets), dtype=torch.long)[:, None]
    return {name: p.gather(1, t)[:, 0].tolist()
            for name, p in _transfer_probabilities(images, targets, models, device)}


def transfer_ranks(images: Sequence[Image.Image], targets: Sequence[int],
                   models: Sequence[str] | Mapping[str, Any] | None = None, *, device=None) -> dict[str, list[int]]:
    """The rank (1 = top-1) of each picture's target on each model; arguments as ``transfer_scores``.

    A backbone that did not make the picture and ranks its class first recognises it:
    the Class Visualization page shows these ranks as the picture evolves.
    """
    t = torch.as_tensor(list(targets), dtype=torch.long)[:, None]
    return {name: ((p > p.gather(1, t)).sum(1) + 1).tolist()
            for name, p in _transfer_probabilities(images, targets, models, device)}


def class_visualization_frames(net, targets: Sequence[int | str] | int | str | None = None,
                               settings: ClassVisSettings | None = None, *, preset: str | None = DEFAULT_PRESET,
                               **overrides) -> Iterator[engine.Frame]:
    """Generator form: the engine's frames of a class-visualization run (see ``ClassVisRun``)."""
    return ClassVisRun(net, targets, settings, preset=preset, **overrides).frames()


def class_visualization(net, targets: Sequence[int | str] | int | str | None = None,
                        settings: ClassVisSettings | None = None, *, preset: str | None = DEFAULT_PRESET,
                        transfer: bool | Sequence[str] = False,
                        on_frame: Callable[[engine.Frame], Any] | None = None, **overrides) -> ClassVisResult:
    """Run a class visualization to the end (or until ``on_frame`` returns False).

    ``targets`` are class indices or names; ``preset`` one of ``PRESETS``;
    ``overrides`` are ``ClassVisSettings`` fields.  ``settings`` (e.g. ``ClassVisSettings.from_json(...)``)
    reproduces an earlier run.  ``transfer=True`` adds the probability each other
    bundled backbone gives each final image for its target.
    """
    run = ClassVisRun(net, targets, settings, preset=preset, **overrides)
    frames = run.frames()
    try:  # not engine.run: it keeps every frame's images, and the run only needs the last
        for frame in frames:
            if on_frame is not None and on_frame(frame) is False:
                break
    finally:
        frames.close()
    return run.result(transfer=transfer)
