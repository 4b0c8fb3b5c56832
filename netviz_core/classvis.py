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
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Iterator, Mapping, Sequence

import torch
from PIL import Image

from . import animation
from .classes import short_name
from .errors import ClassVisualizationError, NetVizError
from .optimize import engine
from .optimize import init as start
from .optimize.folding import input_gradient_model
from .optimize.objectives import ClassLogit, ClassLogProbability, L2Norm, Objective, TotalVariation
from .optimize.parametrizations import PARAMETRIZATIONS, Fourier, Maco, Pixel
from .optimize.spectrum import MAGNITUDES
from .optimize.steps import OPTIMIZERS, step_rule_for
from .optimize.transforms import ClampToPixelRange, GaussianBlur, Jitter, lucid_transforms, maco_transforms
from .settings import JsonSettings, is_finite_number, is_whole_number
from .targets import resolve_targets

OBJECTIVES = ("logit", "posterior")
INITS = ("noise", "mean")

#: Named settings; every preset names every setting below, so switching presets is complete.
#:
#: * "lucid" (the default): Olah et al. 2017 / Lucid's ``render_vis`` defaults: a Fourier
#:   parametrization (1/f spectrum, decorrelated colour, sigmoid), Lucid's standard
#:   transforms on the network's input (pad 12, jitter 8, scale 0.9-1.1, rotate ±10°,
#:   jitter 4) and Adam with lr 0.05; 256 steps (Lucid's default is 512; the README's
#:   gallery benchmark measures what 256 reach on the held-out backbones).  Plus a TV
#:   weight of 5e-4, which Lucid does not have: without it the pictures keep fine
#:   high-frequency texture (ostrich, lite0: mean |Δ| 24.9 levels against the photos'
#:   6.9); with 3e-4 ostrich and monarch stayed top-1 on lite1 and lite2 at 14.4 and
#:   13.7 (README, "Class visualization").
#: * "maco": Fel et al. 2023: the phase of a spectrum whose magnitude is fixed to that
#:   of the sample photos, random crops (a box of 50-100 % of the side, resized back)
#:   plus noise of std 0.1 on the network's input, NAdam.  The paper uses lr 1.0 at
#:   1280 px with 6 crops per step; one crop of a 224 px image per step is noisier,
#:   so lr 0.25 here (by experiment on lite0; numbers in the README).
#: * "cs231n": the assignment's defaults (pixels, normalised-gradient step of 25,
#:   λ 1e-3, blur σ 0.5 every 10 steps, jitter 16, 100 steps).
#: * "simonyan": Simonyan et al.'s recipe: the logit with an L2 penalty only (no jitter,
#:   no blur), from the zero image plus the training-set mean.  The paper gives no λ
#:   or step size; CS231n's are kept, so the two differ only in the regularisers.
_PIXEL = dict(parametrization="pixel", magnitude="1/f", optimizer="normalized", transforms=False, tv_weight=0.0)
_SPECTRAL = dict(objective="logit", init="noise", l2_weight=0.0, blur_every=0, blur_sigma=0.0, jitter=0, tv_weight=0.0,
                 transforms=True)
PRESETS: dict[str, dict[str, Any]] = {
    "lucid": dict(_SPECTRAL, parametrization="fourier", magnitude="1/f", optimizer="adam", lr=0.05, iterations=256,
                  tv_weight=5e-4),
    "maco": dict(_SPECTRAL, parametrization="maco", magnitude="photos", optimizer="nadam", lr=0.25, iterations=256),
    "cs231n": dict(_PIXEL, objective="logit", init="noise", iterations=100, l2_weight=1e-3, lr=25.0,
                   blur_every=10, blur_sigma=0.5, jitter=16),
    "simonyan": dict(_PIXEL, objective="logit", init="mean", iterations=100, l2_weight=1e-3, lr=25.0,
                     blur_every=0, blur_sigma=0.0, jitter=0),
}
DEFAULT_PRESET = "lucid"
#: Side of the upscaled images shown in the dashboard and written by the CLI's GIF.
DISPLAY_SIZE = 448


@dataclass(frozen=True)
class ClassVisSettings(JsonSettings):
    """Everything that determines a class-visualization run (with the model's weights).

    ``l2_weight`` is λ of R(I) = λ‖I‖²₂ (I in normalised units); ``tv_weight`` the
    weight of the total variation Σ|ΔI| (normalised units, both directions);
    ``parametrization`` what is optimised (``pixel``, ``fourier``, ``maco``; MACO's
    fixed ``magnitude`` is "1/f" or "photos"); ``optimizer`` the step rule
    (``normalized``: a step of length ``lr``; ``adam``/``nadam``: their lr);
    ``transforms`` the random transforms on the network's input (Lucid's for pixel
    and fourier, MACO's crops and noise for maco).  Blur and clamp act on pixels,
    so they need ``pixel``; the spectral parametrizations are smooth and bounded by
    construction.  ``fold_batchnorm`` runs the optimisation on a copy of the network
    with each BatchNorm folded into its convolution (faster; the same function, but
    float rounding differs, and class visualization amplifies any difference, so a
    run pinned bit for bit on the original network needs it off).  ``seed`` is an int (every image's generator gets it) or one int
    per target.  ``preset`` only records where the values came from.  The field
    defaults are those of ``DEFAULT_PRESET``.  Validated on construction
    (``ClassVisualizationError`` names the bad setting); ``to_json``/``from_json``
    reproduce a run.
    """

    error: ClassVar[type[NetVizError]] = ClassVisualizationError
    what: ClassVar[str] = "class-visualization settings"

    targets: tuple[int, ...] = ()
    model: str | None = None
    preset: str | None = DEFAULT_PRESET
    objective: str = "logit"
    init: str = "noise"
    iterations: int = 256
    l2_weight: float = 0.0
    lr: float = 0.05
    blur_every: int = 0
    blur_sigma: float = 0.0
    jitter: int = 0
    tv_weight: float = 5e-4
    parametrization: str = "fourier"
    magnitude: str = "1/f"
    optimizer: str = "adam"
    transforms: bool = True
    noise_std: float = 1.0
    clamp: bool = True
    seed: int | tuple[int, ...] = 0
    batch_invariant: bool = False
    fold_batchnorm: bool = True
    gif_every: int = 5

    def __post_init__(self) -> None:
        # Lists from JSON become tuples, so settings stay hashable and compare equal after a round trip.
        if isinstance(self.targets, (str, bytes)) or not isinstance(self.targets, Iterable):
            raise ClassVisualizationError(
                f"Targets in settings must be a list of class indices, e.g. [76]; got {self.targets!r}.")
        object.__setattr__(self, "targets", tuple(self.targets))
        if isinstance(self.seed, (list, tuple)):
            object.__setattr__(self, "seed", tuple(self.seed))
        validate_settings(self)

    def seeds(self) -> list[int]:
        n = len(self.targets)
        return [int(self.seed)] * n if isinstance(self.seed, int) else [int(s) for s in self.seed]

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["targets"] = list(self.targets)
        if isinstance(self.seed, tuple):
            d["seed"] = list(self.seed)
        return d


def validate_settings(s: ClassVisSettings) -> None:
    """Raise ``ClassVisualizationError`` naming the first bad setting."""

    def bad(msg: str):
        raise ClassVisualizationError(msg)

    if s.preset is not None and s.preset not in PRESETS:
        bad(f"Unknown preset {s.preset!r}; choose one of: {', '.join(PRESETS)}.")
    if s.objective not in OBJECTIVES:
        bad(f"Unknown objective {s.objective!r}; choose 'logit' (the unnormalised score S_c) or 'posterior' (log P_c).")
    if s.init not in INITS:
        bad(f"Unknown start {s.init!r}; choose 'noise' (random noise) or 'mean' (zero image plus the mean).")
    if not is_whole_number(s.iterations) or s.iterations < 0:
        bad(f"The number of iterations must be a whole number, 0 or more; got {s.iterations!r}.")
    if not is_finite_number(s.lr) or s.lr <= 0:
        bad(f"The learning rate must be a finite number above 0; got {s.lr!r}.")
    if not is_finite_number(s.l2_weight) or s.l2_weight < 0:
        bad(f"The L2 weight λ must be a finite number, 0 or more; got {s.l2_weight!r}.")
    if not is_whole_number(s.blur_every) or s.blur_every < 0:
        bad(f"blur_every must be a whole number of steps, 0 (never) or more; got {s.blur_every!r}.")
    if not is_finite_number(s.blur_sigma) or s.blur_sigma < 0:
        bad(f"The blur sigma must be a finite number of pixels, 0 or more; got {s.blur_sigma!r}.")
    if not is_whole_number(s.jitter) or s.jitter < 0:
        bad(f"The jitter must be a whole number of pixels, 0 or more; got {s.jitter!r}.")
    if not is_finite_number(s.tv_weight) or s.tv_weight < 0:
        bad(f"The TV weight must be a finite number, 0 or more; got {s.tv_weight!r}.")
    if s.parametrization not in PARAMETRIZATIONS:
        bad(f"Unknown parametrization {s.parametrization!r}; choose one of: {', '.join(PARAMETRIZATIONS)}.")
    if s.magnitude not in MAGNITUDES:
        bad(f"Unknown MACO magnitude {s.magnitude!r}; choose one of: {', '.join(MAGNITUDES)}.")
    if s.optimizer not in OPTIMIZERS:
        bad(f"Unknown optimizer {s.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}.")
    if s.parametrization != "pixel" and s.blur_every > 0 and s.blur_sigma > 0:
        bad(f"Blur acts on pixels, and the {s.parametrization} parametrization is smooth by construction: "
            "set blur_every to 0, or choose the pixel parametrization.")
    if not is_finite_number(s.noise_std) or s.noise_std <= 0:
        bad(f"The noise std must be a finite number above 0; got {s.noise_std!r}.")
    for flag in ("clamp", "batch_invariant", "fold_batchnorm", "transforms"):
        if not isinstance(getattr(s, flag), bool):
            bad(f"{flag} must be true or false; got {getattr(s, flag)!r}.")
    if not is_whole_number(s.gif_every) or s.gif_every < 1:
        bad(f"gif_every must be a whole number of steps, 1 or more; got {s.gif_every!r}.")
    if not all(is_whole_number(t) and t >= 0 for t in s.targets):
        bad(f"Targets in settings must be class indices; got {list(s.targets)!r}.")
    if isinstance(s.seed, tuple):
        if not all(is_whole_number(v) for v in s.seed):
            bad(f"Seeds must be whole numbers; got {list(s.seed)!r}.")
        if s.targets and len(s.seed) != len(s.targets):
            bad(f"Got {len(s.seed)} seeds for {len(s.targets)} targets; give one seed, or one per target.")
    elif not is_whole_number(s.seed):
        bad(f"The seed must be a whole number; got {s.seed!r}.")


def settings_for(preset: str | None = DEFAULT_PRESET, **overrides) -> ClassVisSettings:
    """Settings of a named preset, with ``overrides`` (None values are ignored) applied."""
    if preset is not None and preset not in PRESETS:
        raise ClassVisualizationError(f"Unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}.")
    ClassVisSettings.check_names(overrides)  # a misspelt name is an error even when its value is None
    base = ClassVisSettings(preset=preset, **(PRESETS[preset] if preset is not None else {}))
    return base.with_overrides(**{k: v for k, v in overrides.items() if v is not None})


def parametrization(s: ClassVisSettings):
    """The engine's parametrization for these settings."""
    if s.parametrization == "fourier":
        return Fourier()
    if s.parametrization == "maco":
        return Maco(s.magnitude)
    return Pixel()


def engine_parts(s: ClassVisSettings, model=None) -> dict[str, Any]:
    """The engine's objective, step rule, parametrization, transforms and post-steps for these settings.

    ``model`` is the network the run optimises on (needed only by priors that read its layers).
    """
    objective: Objective = ClassLogit() if s.objective == "logit" else ClassLogProbability()
    if s.l2_weight > 0:
        objective = objective - s.l2_weight * L2Norm()
    if s.tv_weight > 0:
        objective = objective - s.tv_weight * TotalVariation()
    pixel = s.parametrization == "pixel"
    post_steps = [ClampToPixelRange()] if s.clamp and pixel else []
    if pixel and s.blur_every > 0 and s.blur_sigma > 0:
        post_steps.append(GaussianBlur(s.blur_sigma, s.blur_every))
    transforms = [Jitter(s.jitter)] if s.jitter > 0 else []
    if s.transforms:
        transforms += maco_transforms() if s.parametrization == "maco" else lucid_transforms()
    return dict(
        objective=objective,
        step_rule=step_rule_for(s.optimizer, s.lr),
        parametrization=parametrization(s),
        transforms=transforms,
        post_steps=post_steps,
        iterations=s.iterations,
        batch_invariant=s.batch_invariant,
    )


def start_images(net, s: ClassVisSettings, generators: list[torch.Generator]) -> torch.Tensor:
    """The starting images: noise (in the parametrization's own sense) or the mean image."""
    n = len(s.targets)
    if s.init == "mean":
        return start.mean_image(net, n)
    if s.parametrization == "pixel":
        return start.noise_image(net, n, generators, std=s.noise_std)
    param = parametrization(s)
    return param.decode(param.random(net, generators[:n], net.input_size), net)


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
        x0 = start_images(self.net, s, generators)
        started = time.perf_counter()
        # Only input gradients are needed: by default the network with its BatchNorms folded into the
        # convolutions (equal in exact arithmetic; float rounding differs, see ``fold_batchnorm``).
        model = input_gradient_model(self.net) if s.fold_batchnorm else self.net
        for frame in engine.optimize(model, x0, list(s.targets), generators=generators, **engine_parts(s, model)):
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
        from .images import deprocess_batch

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
        from .images import deprocess_batch, quantize

        if self.last is None:
            raise ClassVisualizationError("The run has not produced a frame yet; iterate frames() first.")
        frame = self.last
        self._snapshot(frame)  # the GIF always ends on the image returned
        x = frame.images
        targets = frame.targets
        if frame.final or not engine_parts(self.settings)["transforms"]:
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
    from .models import BUNDLED_MODELS

    if transfer is True:
        return [m for m in BUNDLED_MODELS if m != net.name]
    if not transfer:
        return []
    return [str(m) for m in transfer]


def _transfer_probabilities(images: Sequence[Image.Image], targets: Sequence[int],
                            models: Sequence[str] | Mapping[str, Any] | None, device) -> Iterator[tuple[str, torch.Tensor]]:
    """(label, softmax (N, classes)) of each model for the 8-bit pictures, each fed as a user's picture."""
    from .images import preprocess
    from .models import BUNDLED_MODELS, load_model_cached

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
