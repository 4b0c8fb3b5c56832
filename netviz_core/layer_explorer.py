"""Layer Explorer: what a layer's channels and neurons respond to.

Three views of channel c of layer L (A_L(c, i, j) its activation at position (i, j)):

* **Feature visualization** (Olah et al. 2017): gradient ascent on an image to raise
  the channel's mean activation mean_ij A_L(c, i, j) (``objective="channel"``), one
  unit A_L(c, h/2, w/2) (``"neuron"``), or to lower it (``negative``: what the channel
  responds to least), with the parametrization, transforms and step rule of a class-
  visualization preset (``lucid`` by default: these are Lucid's own recipes).  One
  batch renders a grid of channels, or ``diversity`` images (facets) per channel; with a
  ``diversity_weight`` the facets of a channel are pushed apart by the Gram-matrix
  dissimilarity of their activations at L (Olah et al. 2017), so N facets show N sides.
* **Feature accentuation** (Hamblin et al. 2024): start from a photo, raise the
  channel (or, on ``"logits"``, a class), and subtract ``distance_weight`` × the mean
  squared distance to the photo (in normalised pixels, or in the activations of
  ``distance_layer``).  The image is optimised in Lucid's decorrelated Fourier
  parametrization, started at the photo's own spectrum, so the changes stay
  natural; the result shows what in this photo drives channel c.
* **Ranked examples**: photos (the samples, uploads, a folder) ranked by the
  channel's mean activation, with the activation map over each; the whole layer is
  computed once per (model, layer, photos), in batches, and cached.

Everything reads layers with ``netviz_core.layers`` through the optimisation engine's
layer objectives; the shared model is never hooked or changed.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator, Sequence

import torch
from PIL import Image

from . import classvis
from .errors import LayerError, NetVizError
from .layers import LOGITS, LayerInfo, feature_map_info, layer_info, read_layers
from .optimize import engine
from .optimize.folding import input_gradient_model
from .optimize.parametrizations import Fourier
from .optimize.objectives import (
    Channel, ClassLogit, Diversity, L2Norm, Neuron, Objective, PhotoDistance, TotalVariation,
)
from .settings import JsonSettings, declarations, is_whole_number, log_steps, setting, validate

OBJECTIVES = ("channel", "neuron")
_CV = declarations(classvis.ClassVisSettings)
#: Image files a folder of examples may hold.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
DEFAULT_PRESET = "lucid"


@dataclass(frozen=True)
class FeatureVisSettings(JsonSettings):
    """Everything that determines a Layer Explorer run (with the model's weights).

    ``layer`` is a module path of the model (``netviz_core.layers``); ``channels`` the
    channels rendered in one batch, each as ``diversity`` facets (seeds ``seed``,
    ``seed + 1``, ... per facet; 1: one image per channel); ``objective`` the channel
    mean or the centre neuron; ``negative`` lowers it instead; ``diversity_weight``
    weights the Gram-matrix dissimilarity between the facets of a channel (10: on lite0
    ``blocks.3`` channel 34, 4 facets, 32 lucid steps, the facets' mean dissimilarity was
    0.02 at weight 0, 0.11 at 1, 0.40 at 3, 0.80 at 10, the channel's mean 30 → 27).  ``distance_weight`` and
    ``distance_layer`` are for feature accentuation only: the weight of the mean
    squared distance to the photo (normalised pixels, or the activations of
    ``distance_layer``).  1000 by experiment on lite0, ``blocks.3`` channel 34 of the
    cat photo, 40 lucid steps: the channel rose from 8.8 to 27.3 and the photo stayed
    plainly a cat (mean squared distance 0.005); at 100 it rose to 31.3 with the
    pattern painted over the whole photo, at 10000 to 18.6 with the photo barely changed.  The optimisation settings
    (``preset`` ... ``fold_batchnorm``) mean what they mean for class visualization
    (``ClassVisSettings``).  ``fold_batchnorm`` folds each BatchNorm into the
    convolution before it: a block's output is unchanged, but a layer that names a
    convolution then reads it after its BatchNorm.
    """

    error: ClassVar[type[NetVizError]] = LayerError
    what: ClassVar[str] = "layer-explorer settings"
    #: What the Layer Explorer page shows (beside the layer, the channels and the preset).
    groups: ClassVar = (("settings", ("iterations", "seed", "diversity_weight", "distance_weight")),)

    layer: str = ""
    channels: tuple[int, ...] = ()
    model: str | None = None
    objective: str = setting("channel", choices=OBJECTIVES, cli=False, url=False,
                             help="Raise the channel's mean over the map, or its centre unit.")
    negative: bool = setting(False, url=False, help="Lower the channel instead (what it responds to least).")
    diversity: int = setting(1, lo=1, hi=16, url=False, metavar="N",
                             help="Facets of each channel, pushed apart by Gram-matrix diversity.")
    diversity_weight: float = setting(10.0, label="Diversity weight", lo=0.0, hi=100.0, metavar="W",
                                      help="Weight of the Gram-matrix dissimilarity between the facets of a channel "
                                      "(Olah et al. 2017): 0 lets them look alike.")
    preset: str | None = setting(DEFAULT_PRESET, choices=tuple(classvis.PRESETS), optional=True, cli=False, url=False,
                                 help="The class-visualization preset the optimisation settings came from.")
    # The optimisation settings are class visualization's, declared there.
    iterations: int = setting(256, like=_CV["iterations"])
    lr: float = setting(0.05, like=_CV["lr"])
    parametrization: str = setting("fourier", like=_CV["parametrization"])
    magnitude: str = setting("1/f", like=_CV["magnitude"])
    optimizer: str = setting("adam", like=_CV["optimizer"])
    transforms: bool = setting(True, like=_CV["transforms"])
    tv_weight: float = setting(5e-4, like=_CV["tv_weight"])
    l2_weight: float = setting(0.0, like=_CV["l2_weight"])
    seed: int = setting(0, like=_CV["seed"], many=False)
    fold_batchnorm: bool = setting(True, like=_CV["fold_batchnorm"])
    distance_weight: float = setting(1000.0, label="Distance to the photo weight", lo=0.0, hi=1e5,
                                     steps=(0.0, *log_steps(0, 5)), widget="select_slider", metavar="W",
                                     help="Feature accentuation: how strongly the image is kept close to the photo "
                                     "(mean squared distance, normalised pixels); lower lets the channel's pattern "
                                     "take over (log scale).")
    distance_layer: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.channels, (str, bytes)) or not isinstance(self.channels, Iterable):
            raise LayerError(f"Channels must be a list of channel indices, e.g. [0, 1, 2]; got {self.channels!r}.")
        object.__setattr__(self, "channels", tuple(self.channels))
        validate_settings(self)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["channels"] = list(self.channels)
        return d

    def image_channels(self) -> list[int]:
        """The channel of each image of the batch: every channel ``diversity`` times in a row."""
        return [c for c in self.channels for _ in range(self.diversity)]

    def seeds(self) -> list[int]:
        return [self.seed + f for _ in self.channels for f in range(self.diversity)]

    def class_vis_settings(self, n: int) -> classvis.ClassVisSettings:
        """The class-visualization settings whose engine parts (bar the objective) this run uses."""
        # The preset's values for what the Layer Explorer does not show (crops, noise, colour shift, copies per step).
        return classvis.settings_for(self.preset or DEFAULT_PRESET).with_overrides(
            targets=(0,) * n, preset=self.preset, objective="logit", init="noise", iterations=self.iterations,
            lr=self.lr, l2_weight=self.l2_weight, tv_weight=self.tv_weight, parametrization=self.parametrization,
            magnitude=self.magnitude, optimizer=self.optimizer, transforms=self.transforms, seed=self.seed,
            blur_every=0, blur_sigma=0.0, jitter=0, fold_batchnorm=self.fold_batchnorm,
        )


def validate_settings(s: FeatureVisSettings) -> None:
    """Raise ``LayerError`` naming the first bad setting (the layer itself is checked against the model)."""
    if not isinstance(s.layer, str):
        raise LayerError(f"The layer must be a name such as 'blocks.3'; got {s.layer!r}.")
    if not all(is_whole_number(c) and c >= 0 for c in s.channels):
        raise LayerError(f"Channels must be whole numbers, 0 or more; got {list(s.channels)!r}.")
    if s.distance_layer is not None and not isinstance(s.distance_layer, str):
        raise LayerError(f"distance_layer must be a layer name or null; got {s.distance_layer!r}.")
    validate(s)


def settings_for(preset: str | None = DEFAULT_PRESET, **overrides) -> FeatureVisSettings:
    """Settings of a class-visualization preset's optimisation, with ``overrides`` (None values ignored)."""
    if preset is not None and preset not in classvis.PRESETS:
        raise LayerError(f"Unknown preset {preset!r}; choose one of: {', '.join(classvis.PRESETS)}.")
    FeatureVisSettings.check_names(overrides)
    names = {"iterations", "lr", "parametrization", "magnitude", "optimizer", "transforms", "tv_weight", "l2_weight"}
    base = {k: v for k, v in (classvis.PRESETS[preset] if preset else {}).items() if k in names}
    return FeatureVisSettings(preset=preset, **base).with_overrides(
        **{k: v for k, v in overrides.items() if v is not None})


def check_against_model(net, s: FeatureVisSettings) -> LayerInfo:
    """The layer's info; refuses an unknown layer, a layer that is not a map, a channel outside it."""
    if not s.layer:
        raise LayerError("Name a layer, e.g. 'blocks.3'; list them with: netviz features --list-layers.")
    if s.layer == LOGITS:
        for c in s.channels:
            if not 0 <= c < net.num_classes:
                raise LayerError(f"Class {c} is out of range for 'logits' ({net.num_classes} classes).")
        return layer_info(net, LOGITS)
    info = feature_map_info(net, s.layer)
    for c in s.channels:
        info.check_channel(c)
    if s.distance_layer is not None:
        layer_info(net, s.distance_layer)
    return info


def objective_for(s: FeatureVisSettings, n: int, photo: torch.Tensor | None = None) -> Objective:
    """Channel/neuron (or its negative) + diversity between facets − TV − L2 (− distance to the photo)."""
    channels = s.image_channels() if n == len(s.image_channels()) else [s.channels[0]] * n
    if s.layer == LOGITS:
        main: Objective = ClassLogit()
    elif s.objective == "neuron":
        main = Neuron(s.layer, channels)
    else:
        main = Channel(s.layer, channels)
    objective = -main if s.negative else 1.0 * main
    if s.diversity_weight > 0 and s.diversity > 1 and s.layer != LOGITS:
        groups = [i // s.diversity for i in range(n)]
        objective = objective + s.diversity_weight * Diversity(s.layer, groups)
    if photo is not None and s.distance_weight > 0:
        objective = objective - s.distance_weight * PhotoDistance(photo, s.distance_layer)
    if s.l2_weight > 0:
        objective = objective - s.l2_weight * L2Norm()
    if s.tv_weight > 0:
        objective = objective - s.tv_weight * TotalVariation()
    return objective


def engine_parts(s: FeatureVisSettings, n: int, photo: torch.Tensor | None = None) -> dict[str, Any]:
    """The Layer Explorer's compiler: class visualization's parts for the optimisation settings, with the layer
    objective (``objective_for``); accentuation keeps a photo in Lucid's Fourier parametrization."""
    parts = classvis.engine_parts(s.class_vis_settings(n))
    if photo is not None and s.parametrization == "pixel":
        parts["parametrization"] = Fourier()
    parts["objective"] = objective_for(s, n, photo)
    return parts


# --------------------------------------------------------------------------- runs


@dataclass
class FeatureVisResult:
    """What a run produced: one image per (channel, facet), and each one's activation at the end."""

    settings: FeatureVisSettings
    model_label: str
    layer_label: str
    images: list[Image.Image]
    tensors: torch.Tensor  # (N, 3, H, W), normalised
    channels: list[int]  # of each image
    activations: list[float]  # the objective's channel/neuron value of each final image (no transforms)
    start_activations: list[float] | None  # accentuation: the value on the photo itself
    steps: int
    stopped_early: bool
    elapsed_s: float
    photo: Image.Image | None = None

    def as_dict(self) -> dict:
        return {
            "model": self.settings.model,
            "model_label": self.model_label,
            "layer": self.settings.layer,
            "layer_label": self.layer_label,
            "settings": self.settings.to_dict(),
            "images": [
                {"channel": c, "activation": a,
                 **({"photo_activation": self.start_activations[i]} if self.start_activations else {})}
                for i, (c, a) in enumerate(zip(self.channels, self.activations))
            ],
            "steps": self.steps,
            "stopped_early": self.stopped_early,
            "elapsed_s": self.elapsed_s,
        }


class FeatureVisRun:
    """One Layer Explorer run, watched frame by frame and stoppable at any step.

    Without ``photo``: feature visualization of ``settings.channels`` (each ``diversity``
    times) from noise.  With ``photo`` (a PIL image or a preprocessed (1, 3, H, W)
    tensor): feature accentuation of that photo, one image per channel and facet.
    """

    def __init__(self, net, settings: FeatureVisSettings | None = None, *, photo=None,
                 preset: str | None = DEFAULT_PRESET, **overrides):
        if settings is None:
            settings = settings_for(preset, **overrides)
        elif overrides:
            settings = settings.with_overrides(**{k: v for k, v in overrides.items() if v is not None})
        if settings.model is not None and settings.model != net.name:
            raise LayerError(f"These settings were made for {settings.model}, not {net.name}; load that model.")
        if not settings.channels:
            raise LayerError("Name at least one channel to show.")
        self.net = net
        self.settings = settings.with_overrides(model=net.name)
        self.info = check_against_model(net, self.settings)
        self.photo_image: Image.Image | None = None
        self.photo: torch.Tensor | None = None
        if photo is not None:
            from .images import deprocess, preprocess

            x = photo if isinstance(photo, torch.Tensor) else preprocess(net, photo)
            self.photo = x.detach().to(net.device, torch.float32)
            self.photo_image = deprocess(net, self.photo[0])
        self.last: engine.Frame | None = None
        self._elapsed = 0.0
        self._started = False

    @property
    def model(self):
        """The network the run optimises on: the BatchNorm-folded copy unless ``fold_batchnorm`` is off."""
        return input_gradient_model(self.net) if self.settings.fold_batchnorm else self.net

    def frames(self) -> Iterator[engine.Frame]:
        if self._started:
            raise LayerError("This run has already been started; make a new FeatureVisRun to run again.")
        self._started = True
        s = self.settings
        n = len(s.image_channels())
        parts = engine_parts(s, n, self.photo)
        generators = engine.make_generators(s.seeds(), n)
        if self.photo is not None:
            x0 = self.photo.expand(n, -1, -1, -1).clone()
        else:
            x0 = classvis.start_images(self.net, s.class_vis_settings(n), generators)
        targets = s.image_channels() if s.layer == LOGITS else [0] * n
        started = time.perf_counter()
        for frame in engine.optimize(self.model, x0, targets, generators=generators, **parts):
            self.last = frame
            self._elapsed = time.perf_counter() - started
            yield frame

    def activations_of(self, x: torch.Tensor) -> torch.Tensor:
        """The channel (or neuron, or class logit) value of each image ``x`` for its own channel, without transforms."""
        s = self.settings
        channels = torch.tensor(s.image_channels()[: x.shape[0]], device=x.device)
        with torch.no_grad():
            if s.layer == LOGITS:
                logits = self.model(x).float()
                return logits.gather(1, channels[:, None])[:, 0]
            grid = self.info.to_grid(read_layers(self.model, x, [s.layer])[s.layer]).float()
            picked = grid[torch.arange(x.shape[0], device=x.device), channels]
            if s.objective == "neuron":
                return picked[:, picked.shape[1] // 2, picked.shape[2] // 2]
            return picked.mean(dim=(1, 2))

    def result(self) -> FeatureVisResult:
        from .images import deprocess_batch

        if self.last is None:
            raise LayerError("The run has not produced a frame yet; iterate frames() first.")
        frame, s = self.last, self.settings
        x = frame.images
        start = None
        if self.photo is not None:
            start = self.activations_of(self.photo.expand(x.shape[0], -1, -1, -1)).tolist()
        return FeatureVisResult(
            settings=s,
            model_label=self.net.label,
            layer_label=self.info.label,
            images=deprocess_batch(self.net, x),
            tensors=x.detach().cpu(),
            channels=s.image_channels(),
            activations=self.activations_of(x).tolist(),
            start_activations=start,
            steps=frame.step,
            stopped_early=not frame.final,
            elapsed_s=self._elapsed,
            photo=self.photo_image,
        )


def visualize_channels(net, layer: str, channels: Sequence[int] | int, settings: FeatureVisSettings | None = None,
                       *, preset: str | None = DEFAULT_PRESET, on_frame=None, **overrides) -> FeatureVisResult:
    """Feature visualization of ``channels`` of ``layer`` to the end (or until ``on_frame`` returns False)."""
    channels = [channels] if isinstance(channels, int) else list(channels)
    run = FeatureVisRun(net, settings, preset=preset, layer=layer, channels=tuple(channels), **overrides)
    return _drain(run, on_frame)


def accentuate(net, photo, layer: str, channel: int, settings: FeatureVisSettings | None = None, *,
               preset: str | None = DEFAULT_PRESET, on_frame=None, **overrides) -> FeatureVisResult:
    """Feature accentuation (Hamblin et al. 2024) of ``photo`` for ``channel`` of ``layer`` (on "logits": a class)."""
    run = FeatureVisRun(net, settings, photo=photo, preset=preset, layer=layer, channels=(int(channel),), **overrides)
    return _drain(run, on_frame)


def _drain(run: FeatureVisRun, on_frame) -> FeatureVisResult:
    frames = run.frames()
    try:
        for frame in frames:
            if on_frame is not None and on_frame(frame) is False:
                break
    finally:
        frames.close()
    return run.result()


# --------------------------------------------------------------------------- channel statistics


def channel_means(net, layer: str, x: torch.Tensor, batch: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """(means (N, C), maps (N, C, h, w)) of ``layer`` for the batch ``x``, computed ``batch`` images at a time."""
    info = feature_map_info(net, layer)
    means, maps = [], []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            grid = info.to_grid(read_layers(net, x[i: i + batch], [layer])[layer]).float()
            maps.append(grid.cpu())
            means.append(grid.mean(dim=(2, 3)).cpu())
    return torch.cat(means), torch.cat(maps)


def channel_statistics(net, layer: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per channel, the mean and the standard deviation over every position of every image of ``x``.

    A stage's output can be negative (no ReLU after a residual sum), so a channel's
    excitation is read in these units, (a − μ_c)/σ_c, never as a ratio of raw means.
    """
    _, maps = channel_means(net, layer, x)
    values = maps.transpose(0, 1).flatten(1)  # (C, N·h·w)
    return values.mean(dim=1), values.std(dim=1).clamp_min(1e-6)


def standardised_excitation(net, layer: str, x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """(N, C): each channel's mean activation on each image, in standard deviations from the photos' mean."""
    means, _ = channel_means(net, layer, x)
    return (means - mean) / std


def most_active_channels(net, layer: str, x: torch.Tensor, k: int) -> list[int]:
    """The ``k`` channels of ``layer`` with the highest mean activation on ``x`` (one image, or summed over a batch)."""
    means, _ = channel_means(net, layer, x)
    return means.sum(dim=0).topk(min(int(k), means.shape[1])).indices.tolist()


# --------------------------------------------------------------------------- ranked examples


@dataclass
class ExampleTable:
    """One layer's activations on a set of photos: every channel at once, so any channel ranks without a pass."""

    names: list[str]
    inputs: list[Image.Image]  # each photo as the network saw it (resized, cropped)
    means: torch.Tensor  # (N, C)
    maps: torch.Tensor  # (N, C, h, w)


@dataclass
class Example:
    name: str
    activation: float
    image: Image.Image
    overlay: Image.Image


_tables: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()
_tables_lock = threading.Lock()


def folder_photos(folder: str | Path) -> list[tuple[str, Image.Image]]:
    """(file name, image) for every image file directly in ``folder``, sorted by name."""
    from .images import open_image

    path = Path(folder)
    if not path.is_dir():
        raise LayerError(f"Examples folder {str(folder)!r} is not a folder.")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise LayerError(f"Examples folder {str(folder)!r} holds no image files ({', '.join(IMAGE_SUFFIXES)}).")
    return [(p.name, open_image(p)) for p in files]


def _photos_key(photos: Sequence[tuple[str, Image.Image]]) -> str:
    digest = hashlib.sha1()
    for name, im in photos:
        digest.update(name.encode())
        digest.update(repr(im.size).encode())
        digest.update(im.tobytes())
    return digest.hexdigest()


def example_table(net, layer: str, photos: Sequence[tuple[str, Image.Image]] | str | Path,
                  batch: int = 16) -> ExampleTable:
    """The layer's activations on ``photos`` ((name, image) pairs, or a folder), cached per (model, layer, photos)."""
    from .images import deprocess, preprocess

    if isinstance(photos, (str, Path)):
        photos = folder_photos(photos)
    if not photos:
        raise LayerError("No example photos given.")
    feature_map_info(net, layer)
    key = (layer, _photos_key(photos))
    with _tables_lock:
        cached = _tables.setdefault(net.module, {}).get(key)
    if cached is not None:
        return cached
    x = torch.cat([preprocess(net, im) for _, im in photos])
    means, maps = channel_means(net, layer, x, batch)
    table = ExampleTable([n for n, _ in photos], [deprocess(net, xi) for xi in x], means, maps)
    with _tables_lock:
        _tables.setdefault(net.module, {})[key] = table
    return table


def ranked_examples(net, layer: str, channel: int, photos, top: int = 4, batch: int = 16) -> list[Example]:
    """The ``top`` photos with the highest mean activation of ``channel``, each with the channel's map over it."""
    from .saliency.overlay import overlay

    feature_map_info(net, layer).check_channel(channel)
    table = example_table(net, layer, photos, batch)
    order = table.means[:, channel].argsort(descending=True)[: max(1, int(top))].tolist()
    out = []
    for i in order:
        m = table.maps[i, channel]
        m = (m - m.min()).clamp_min(0)  # the map's own range: where in the photo the channel is highest
        out.append(Example(table.names[i], float(table.means[i, channel]), table.inputs[i],
                           overlay(table.inputs[i], m.numpy(), opacity=0.6)))
    return out


# --------------------------------------------------------------------------- pictures


def contact_sheet(rows: Sequence[Sequence[Image.Image]], size: int = 224, gap: int = 4) -> Image.Image:
    """Rows of pictures, each scaled to ``size`` px, on a white sheet (the CLI's PNG and the README's figures)."""
    rows = [list(r) for r in rows if r]
    if not rows:
        raise LayerError("Nothing to draw.")
    columns = max(len(r) for r in rows)
    sheet = Image.new("RGB", (columns * size + (columns - 1) * gap, len(rows) * size + (len(rows) - 1) * gap),
                      (255, 255, 255))
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            sheet.paste(im.convert("RGB").resize((size, size), Image.Resampling.LANCZOS),
                        (j * (size + gap), i * (size + gap)))
    return sheet
