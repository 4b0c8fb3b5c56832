"""Objectives: what the image optimisation maximises.

An objective maps a ``StepContext`` to one value per image (shape (N,)), higher
is better.  Objectives compose like numbers (the way Lucent composes them)::

    ClassLogit() - 1e-3 * L2Norm()          # CS231n class visualization
    ClassLogit() - 0.05 * TotalVariation()  # TV prior, eq. 1 of Addepalli et al.

Each named leaf is recorded in the frame's loss terms, so the UI can plot them.
A term with ``every=k`` only contributes on steps that are multiples of k.

Layer objectives read a named layer's activations (``netviz_core.layers``) from the
same forward pass that makes the logits; each lists what it reads in ``layers`` and
the engine reads exactly those (``"logits"`` is one more layer)::

    Channel("blocks.3", 42)                              # what channel 42 responds to
    -Channel("blocks.3", 42)                             # ... and least
    Channel("blocks.3", 42) + 1e-2 * Diversity("blocks.3")   # N different facets in a batch of N
    Neuron("blocks.3", 42)                               # the unit at the centre of the map

A new layer objective is one small class: ``layers`` and ``value(ctx)`` reading
``ctx.feature_map(layer)`` (N, C, h, w).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from ..errors import LayerError
from ..layers import LOGITS, feature_map_info
from .context import StepContext


class Objective:
    """Base class.  Subclasses implement ``value(ctx) -> Tensor(N,)``."""

    name: str = "objective"
    every: int = 1
    #: The layers whose activations ``value`` reads (``"logits"`` for the class scores).
    layers: frozenset = frozenset()
    #: True when an image's value depends on the other images of the batch (diversity).
    couples_images: bool = False

    def value(self, ctx: StepContext) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def active(self, step: int) -> bool:
        return self.every <= 1 or step % self.every == 0

    def __call__(self, ctx: StepContext) -> torch.Tensor:
        """Total value; every named leaf is also written to ``ctx.terms``."""
        return self.weighted_terms(ctx, 1.0)

    def weighted_terms(self, ctx: StepContext, weight: float) -> torch.Tensor:
        if not self.active(ctx.step):
            return ctx.zeros()
        v = self.value(ctx)
        ctx.terms[self.name] = v.detach()
        return weight * v

    # composition ---------------------------------------------------------
    def __add__(self, other: "Objective") -> "Objective":
        return Sum([(1.0, self), (1.0, _as_objective(other))])

    def __sub__(self, other: "Objective") -> "Objective":
        return Sum([(1.0, self), (-1.0, _as_objective(other))])

    def __mul__(self, weight: float) -> "Objective":
        return Sum([(float(weight), self)])

    __rmul__ = __mul__

    def __neg__(self) -> "Objective":
        return Sum([(-1.0, self)])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _as_objective(obj) -> Objective:
    if not isinstance(obj, Objective):
        raise TypeError(f"cannot combine an Objective with {type(obj).__name__}")
    return obj


class Sum(Objective):
    """Σ weight_i · objective_i (flattened, so that nested sums stay one level deep)."""

    name = "total"

    def __init__(self, parts: list[tuple[float, Objective]]):
        flat: list[tuple[float, Objective]] = []
        for w, o in parts:
            if isinstance(o, Sum):
                flat += [(w * w2, o2) for w2, o2 in o.parts]
            else:
                flat.append((w, o))
        self.parts = flat

    @property
    def layers(self) -> frozenset:
        return frozenset().union(*(o.layers for _, o in self.parts))

    @property
    def couples_images(self) -> bool:
        return any(o.couples_images for _, o in self.parts)

    def weighted_terms(self, ctx: StepContext, weight: float) -> torch.Tensor:
        total = ctx.zeros()
        for w, o in self.parts:
            total = total + o.weighted_terms(ctx, weight * w)
        return total

    def __repr__(self) -> str:
        return " + ".join(f"{w:g}·{o!r}" for w, o in self.parts)


class ClassLogit(Objective):
    """S_c(I): the unnormalised score of each image's target class (Simonyan et al.)."""

    name = "logit"
    layers = frozenset({LOGITS})

    def value(self, ctx: StepContext) -> torch.Tensor:
        return ctx.logits.gather(1, ctx.targets[:, None])[:, 0]


class ClassLogProbability(Objective):
    """log P_c(I) = S_c − log Σ exp S: the posterior, which can also rise by lowering other classes."""

    name = "log_posterior"
    layers = frozenset({LOGITS})

    def value(self, ctx: StepContext) -> torch.Tensor:
        return ctx.logits.log_softmax(1).gather(1, ctx.targets[:, None])[:, 0]


class L2Norm(Objective):
    """‖I‖²₂ of each image in normalised units (R(I) = λ‖I‖²₂ in CS231n); subtract it with a weight λ."""

    name = "l2"

    def __init__(self, every: int = 1):
        self.every = int(every)

    def value(self, ctx: StepContext) -> torch.Tensor:
        return ctx.images.pow(2).flatten(1).sum(1)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Σ |I(i+1,j) − I(i,j)| + |I(i,j+1) − I(i,j)| per image: the anisotropic TV of eq. 1."""
    dh = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().flatten(1).sum(1)
    dw = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().flatten(1).sum(1)
    return dh + dw


class TotalVariation(Objective):
    """Total variation (eq. 1 of Addepalli et al.); subtract it with a weight λ1."""

    name = "tv"

    def __init__(self, every: int = 1):
        self.every = int(every)

    def value(self, ctx: StepContext) -> torch.Tensor:
        return total_variation(ctx.images)


class Lambda(Objective):
    """An objective from a function ``ctx -> Tensor(N,)``: for experiments."""

    def __init__(self, fn: Callable[[StepContext], torch.Tensor], name: str = "custom", every: int = 1):
        self.fn, self.name, self.every = fn, name, int(every)

    def value(self, ctx: StepContext) -> torch.Tensor:
        return self.fn(ctx)


# --------------------------------------------------------------------------- layer objectives


class LayerObjective(Objective):
    """An objective on one layer's feature map; checks the layer (and a channel) against the model at first use."""

    def __init__(self, layer: str):
        if not isinstance(layer, str) or not layer:
            raise LayerError(f"A layer name must be a non-empty string, got {layer!r}.")
        self.layer = layer
        self.layers = frozenset({layer})

    def grid(self, ctx: StepContext) -> torch.Tensor:
        return ctx.feature_map(self.layer)

    def info(self, ctx: StepContext):
        return feature_map_info(ctx.net, self.layer)


def _channels_of(info, channel, n: int) -> torch.Tensor:
    """The channel of each of ``n`` images: one int for all, or one per image (a grid of channels in one batch)."""
    channels = [channel] * n if isinstance(channel, int) else list(channel)
    if len(channels) != n:
        raise LayerError(f"Got {len(channels)} channels for a batch of {n} images; give one, or one per image.")
    return torch.tensor([info.check_channel(c) for c in channels], dtype=torch.long)


class Channel(LayerObjective):
    """The mean activation of channel ``channel`` of ``layer`` over all positions (Olah et al. 2017).

    ``channel`` is one index for every image or a sequence of one per image.
    """

    def __init__(self, layer: str, channel: int | Sequence[int]):
        super().__init__(layer)
        self.channel = channel if isinstance(channel, int) else tuple(channel)
        self.name = f"channel {layer}:{channel}" if isinstance(channel, int) else f"channel {layer}"

    def value(self, ctx: StepContext) -> torch.Tensor:
        grid = self.grid(ctx)
        c = _channels_of(self.info(ctx), self.channel, grid.shape[0]).to(grid.device)
        return grid[torch.arange(grid.shape[0], device=grid.device), c].mean(dim=(1, 2))

    def __repr__(self) -> str:
        return f"Channel({self.layer!r}, {self.channel})"


class Neuron(LayerObjective):
    """One unit: channel ``channel`` of ``layer`` at position (y, x); the centre of the map by default."""

    def __init__(self, layer: str, channel: int | Sequence[int], y: int | None = None, x: int | None = None):
        super().__init__(layer)
        self.channel = channel if isinstance(channel, int) else tuple(channel)
        self.y, self.x = y, x
        self.name = f"neuron {layer}:{channel}" if isinstance(channel, int) else f"neuron {layer}"

    def position(self, info, size: tuple[int, int]) -> tuple[int, int]:
        """(y, x) on a map of ``size`` (h, w): the one given, or the centre."""
        y = size[0] // 2 if self.y is None else self.y
        x = size[1] // 2 if self.x is None else self.x
        return info.check_position(y, x, size)

    def value(self, ctx: StepContext) -> torch.Tensor:
        info = self.info(ctx)
        grid = self.grid(ctx)
        c = _channels_of(info, self.channel, grid.shape[0]).to(grid.device)
        y, x = self.position(info, tuple(grid.shape[-2:]))
        return grid[torch.arange(grid.shape[0], device=grid.device), c, y, x]

    def __repr__(self) -> str:
        return f"Neuron({self.layer!r}, {self.channel}, y={self.y}, x={self.x})"


class Direction(LayerObjective):
    """The mean over positions of ⟨A(i, j), v⟩: how far the layer's activation points along ``vector`` (C,)."""

    def __init__(self, layer: str, vector):
        super().__init__(layer)
        self.vector = torch.as_tensor(vector, dtype=torch.float32).flatten()
        self.name = f"direction {layer}"

    def value(self, ctx: StepContext) -> torch.Tensor:
        info = self.info(ctx)
        if self.vector.numel() != info.channels:
            raise LayerError(f"The direction has {self.vector.numel()} values but layer {self.layer!r} has "
                             f"{info.grid_shape}: give one value per channel ({info.channels}).")
        a = self.grid(ctx)
        v = self.vector.to(device=a.device, dtype=a.dtype)
        return torch.einsum("nchw,c->nhw", a, v).mean(dim=(1, 2))

    def __repr__(self) -> str:
        return f"Direction({self.layer!r}, <{self.vector.numel()} values>)"


def gram_matrices(a: torch.Tensor) -> torch.Tensor:
    """G_n = F_n F_nᵀ / (h w) for each image's feature map F_n (C, h·w): the channels' co-activations."""
    f = a.flatten(2)
    return f @ f.transpose(1, 2) / f.shape[-1]


def gram_dissimilarity(a: torch.Tensor, groups: Sequence[int] | None = None) -> torch.Tensor:
    """Per image n: mean over the other images m (of n's group) of 1 − cos(G_n, G_m); 0 for an image alone.

    ``groups`` (one id per image) compares only images with the same id: the facets
    of one channel in a batch that renders several channels.
    """
    g = gram_matrices(a).flatten(1)
    g = g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
    cos = g @ g.T
    n = a.shape[0]
    ids = torch.zeros(n, dtype=torch.long) if groups is None else torch.as_tensor(list(groups), dtype=torch.long)
    if ids.numel() != n:
        raise LayerError(f"Got {ids.numel()} diversity groups for a batch of {n} images.")
    ids = ids.to(a.device)
    others = (ids[:, None] == ids[None, :]) & ~torch.eye(n, dtype=torch.bool, device=a.device)
    count = others.sum(dim=1)
    total = ((1.0 - cos) * others).sum(dim=1)
    return torch.where(count > 0, total / count.clamp_min(1), torch.zeros_like(total))


class Diversity(LayerObjective):
    """Gram-matrix dissimilarity across the batch at ``layer`` (Olah et al. 2017): add it with a weight.

    Olah et al. subtract the cosine similarity of every pair of images' Gram matrices;
    this is 1 − that similarity, averaged over the other images: 0 for identical
    images, above 0 as soon as two differ in style.  It couples the images, so it
    cannot run in the engine's batch-invariant mode.
    """

    couples_images = True

    def __init__(self, layer: str, groups: Sequence[int] | None = None):
        super().__init__(layer)
        self.groups = None if groups is None else tuple(groups)
        self.name = f"diversity {layer}"

    def value(self, ctx: StepContext) -> torch.Tensor:
        return gram_dissimilarity(self.grid(ctx), self.groups)

    def __repr__(self) -> str:
        return f"Diversity({self.layer!r})"


class PhotoDistance(Objective):
    """Mean squared distance to reference images (N or 1, 3, H, W), in normalised pixels or in a layer.

    With ``layer`` the distance is between the layer's activations (reference
    activations computed once, without gradient): a distance in what the network sees.
    Subtract it with a weight (feature accentuation).
    """

    def __init__(self, reference: torch.Tensor, layer: str | None = None):
        self.reference = reference.detach()
        self.layer = layer
        self.layers = frozenset({layer}) if layer else frozenset()
        self.name = f"distance {layer}" if layer else "distance"
        self._reference_activation: torch.Tensor | None = None

    def value(self, ctx: StepContext) -> torch.Tensor:
        if self.layer is None:
            return (ctx.images - self.reference.to(ctx.images.device)).pow(2).flatten(1).mean(1)
        if self._reference_activation is None:
            from ..layers import read_layers

            with torch.no_grad():
                ref = self.reference.to(ctx.images.device)
                self._reference_activation = read_layers(ctx.net, ref, [self.layer])[self.layer].float()
        a = ctx.activations[self.layer].float()
        return (a - self._reference_activation).pow(2).flatten(1).mean(1)

    def __repr__(self) -> str:
        return f"PhotoDistance(layer={self.layer!r})"
