"""A model's layers, named the way a person reads them, and their activations from one forward pass.

Naming: a layer is a module path of the timm model (``blocks.3``, ``layer2``,
``layers.1``, ``blocks.3.0.conv_pw``) or ``"logits"`` (the model's output).
``list_layers`` gives the readable ones: the stem and the final features (top-level
modules), each stage/block of the model's main sequence (``blocks.i``, ``layers.i``,
``stages.i``, ``layerN``) and the modules timm names in ``feature_info``, with their
output shapes (``blocks.3 · 80 ch · 14×14``).  Any other module path works too.

Reading: ``read_layers(net, x, names)`` runs ONE forward pass that returns the
activations of exactly ``names`` (``"logits"`` among them when asked for); without
``"logits"`` the pass stops as soon as the last of them has run.  It runs a private
copy of the module tree whose parameters and buffers ARE the shared model's tensors
(nothing is copied but the small module objects), with forward hooks on exactly the
layers asked for, made once per (model, layers) and cached outside the model.  The
shared model gets no hook, no mode change, no attribute.

Why not ``torchvision.models.feature_extraction.create_feature_extractor`` (an FX
graph cut to the outputs, which timm supports): tracing patches ``nn.Module.__call__``
for the whole process while it runs, so a session building its graph broke every
other thread's forward pass at that moment ("module is not installed as a
submodule"; the 8-thread test caught it).  Hooks on a private copy need no tracing.

Layouts: activations come in the model's own layout and ``LayerInfo.to_grid`` turns
them into a feature map (N, C, h, w):

* ``NCHW``: CNN maps;
* ``NHWC``: Swin and other channels-last models (``module.output_fmt == "NHWC"``),
  except convolutions and batch norms inside them, which stay NCHW;
* ``tokens`` (N, T, C): ViT/DeiT; the first ``num_prefix_tokens`` (class,
  distillation, register tokens) are dropped, the rest laid on the patch grid.

A tuple, a pooled vector (N, C), or tokens that are not one image's patch grid
(Swin's attention windows) are not feature maps: ``LayerInfo.reason`` says why, and
``feature_map`` refuses them with it.
"""

from __future__ import annotations

import copy
import difflib
import math
import threading
import weakref
from dataclasses import dataclass
from typing import Iterable, Mapping

import torch
from torch import nn

from .errors import LayerError

#: The name of the model's output (the class scores) among the layers.
LOGITS = "logits"

#: Containers whose children are the model's main sequence of stages/blocks.
_SEQUENCES = ("blocks", "layers", "stages", "features")
#: Top-level modules that are not worth listing on their own (they are the head or do nothing).
_SKIPPED_TYPES = (nn.Identity, nn.Dropout, nn.Dropout2d)
_HEAD_NAMES = ("head", "fc", "classifier", "global_pool", "head_drop", "fc_norm", "pre_logits", "attn_pool")
#: Modules whose 4-D output is NCHW even inside a channels-last (NHWC) model.
_CHANNELS_FIRST_TYPES = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d)


@dataclass(frozen=True)
class LayerInfo:
    """What one layer gives for one image: its raw shape, its layout and, for a feature map, C, h, w."""

    name: str
    shape: tuple[int, ...]  # of one image's output, without the batch dimension ((), for a tuple)
    layout: str  # "NCHW" | "NHWC" | "tokens" | "logits" | "vector" | "other"
    channels: int | None = None
    height: int | None = None
    width: int | None = None
    prefix_tokens: int = 0
    reason: str | None = None  # why it is not a feature map; None when it is one

    @property
    def is_feature_map(self) -> bool:
        return self.reason is None and self.layout in ("NCHW", "NHWC", "tokens")

    @property
    def label(self) -> str:
        """``blocks.3 · 80 ch · 14×14``, ``logits · 1000 classes``, or the shape and why it is not a map."""
        if self.is_feature_map:
            tokens = f" · {self.prefix_tokens} prefix token{'s' if self.prefix_tokens != 1 else ''}" \
                if self.prefix_tokens else ""
            return f"{self.name} · {self.channels} ch · {self.height}×{self.width}{tokens}"
        if self.layout == "logits":
            return f"{self.name} · {self.shape[0]} classes"
        return f"{self.name} · {'×'.join(map(str, self.shape)) or 'tuple'} (not a feature map)"

    @property
    def grid_shape(self) -> str:
        return f"{self.channels} channels × {self.height}×{self.width} positions"

    def to_grid(self, t: torch.Tensor) -> torch.Tensor:
        """This layer's output ``t`` (in the model's layout, any batch) as a feature map (N, C, h, w)."""
        if not self.is_feature_map:
            raise LayerError(f"Layer {self.name!r} is not a feature map: {self.reason}")
        if self.layout == "NCHW":
            return t
        if self.layout == "NHWC":
            return t.permute(0, 3, 1, 2)
        spatial = t[:, self.prefix_tokens:]
        n_spatial = spatial.shape[1]
        h, w = (self.height, self.width) if self.height * self.width == n_spatial else _square(n_spatial, self.name)
        return spatial.reshape(t.shape[0], h, w, t.shape[-1]).permute(0, 3, 1, 2)

    def check_channel(self, channel: int) -> int:
        if not isinstance(channel, int) or isinstance(channel, bool) or not 0 <= channel < self.channels:
            raise LayerError(f"Channel {channel!r} is out of range for layer {self.name!r} "
                             f"({self.grid_shape}): choose 0..{self.channels - 1}.")
        return channel

    def check_position(self, y: int, x: int, size: tuple[int, int] | None = None) -> tuple[int, int]:
        """(y, x) if it lies on the map; ``size`` is the map's (h, w) when the input is not the model's size."""
        h, w = size if size is not None else (self.height, self.width)
        shape = f"{self.channels} channels × {h}×{w} positions"
        for v, side, axis in ((y, h, "y"), (x, w, "x")):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < side:
                raise LayerError(f"Position {axis}={v!r} is out of range for layer {self.name!r} "
                                 f"({shape}): choose {axis} in 0..{side - 1}.")
        return y, x

    def as_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "shape": list(self.shape), "layout": self.layout,
                "channels": self.channels, "height": self.height, "width": self.width,
                "feature_map": self.is_feature_map, "reason": self.reason}


def _square(n: int, name: str) -> tuple[int, int]:
    side = math.isqrt(n)
    if side * side != n:
        raise LayerError(f"Layer {name!r}: cannot lay {n} tokens out on a square patch grid.")
    return side, side


# --------------------------------------------------------------------------- the reader


def _module_of(net) -> nn.Module:
    return net.module if isinstance(getattr(net, "module", None), nn.Module) else net


def _input_size(net) -> tuple[int, int]:
    if not isinstance(net, nn.Module) and hasattr(net, "input_size"):
        return tuple(net.input_size)
    cfg = getattr(net, "pretrained_cfg", None) or {}
    size = cfg.get("input_size", (3, 224, 224))
    return int(size[1]), int(size[2])


def _parameter_sharing_copy(module: nn.Module) -> nn.Module:
    """A copy of the module tree whose parameters and buffers are the original's tensors (nothing copied)."""
    memo = {id(t): t for t in list(module.parameters()) + list(module.buffers())}
    return copy.deepcopy(module, memo)


class _Enough(Exception):
    """Raised inside a pass once every layer asked for is read and the logits are not: the pass stops there."""


class _Reader:
    """A private, parameter-sharing copy of the model with hooks on exactly the layers it reads.

    The hooks write into a per-thread dict that ``read`` sets up for each call, so one
    reader serves every thread; when the logits are not asked for, the hook of the
    last layer to fire ends the pass.  (A module called twice in one pass keeps its last
    output; timm's stages and blocks are called once.)
    """

    def __init__(self, module: nn.Module, names: frozenset):
        self.names = names
        self.layers = names - {LOGITS}
        self.wants_logits = LOGITS in names
        self.copy = _parameter_sharing_copy(module)
        self._local = threading.local()
        modules = dict(self.copy.named_modules())
        for name in self.layers:
            modules[name].register_forward_hook(self._hook(name))

    def _hook(self, name: str):
        def keep(_module, _inputs, output):
            store = self._local.store
            store[name] = output
            if not self.wants_logits and len(store) == len(self.layers):
                raise _Enough

        return keep

    def read(self, x: torch.Tensor) -> dict:
        self._local.store = store = {}
        try:
            logits = self.copy(x)
            if self.wants_logits:
                store[LOGITS] = logits
        except _Enough:
            pass
        finally:
            self._local.store = None
        missing = self.layers - set(store)
        if missing:
            raise LayerError(f"Layer(s) {', '.join(sorted(missing))} did not run in the model's forward pass "
                             "(a module the forward never calls); pick another layer.")
        return store


class _Structure:
    """What the layer machinery knows about one module (cached per module, outside it)."""

    def __init__(self, module: nn.Module):
        self.module_names = [n for n, _ in module.named_modules() if n]
        self.known = set(self.module_names)
        self.channels_first = {n for n, m in module.named_modules() if isinstance(m, _CHANNELS_FIRST_TYPES)}
        self.nhwc = getattr(module, "output_fmt", "NCHW") == "NHWC"
        self.prefix_tokens = int(getattr(module, "num_prefix_tokens", 0) or 0)
        self.readers: dict[frozenset, _Reader] = {}
        self.infos: dict[str, LayerInfo] = {}
        self.readable: list[str] | None = None  # in forward order, once a probe pass has run
        self.lock = threading.Lock()

    def check(self, name: str) -> None:
        if name != LOGITS and name not in self.known:
            raise LayerError(self.unknown(name))

    def unknown(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), [LOGITS] + self.module_names, n=5, cutoff=0.5)
        hint = f" Closest: {', '.join(close)}." if close else \
            f" Layers include: {', '.join(self.module_names[:8])}, ..."
        return f"Unknown layer {name!r}.{hint} List them with: netviz features --list-layers --model MODEL."

    def reader(self, module: nn.Module, names: frozenset) -> _Reader:
        with self.lock:
            r = self.readers.get(names)
            if r is None:
                for n in names:
                    self.check(n)
                r = _Reader(module, names)
                self.readers[names] = r
            return r


_structures: "weakref.WeakKeyDictionary[nn.Module, _Structure]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _structure(module: nn.Module) -> _Structure:
    with _lock:
        s = _structures.get(module)
        if s is None:
            s = _Structure(module)
            _structures[module] = s
        return s


def _readable_candidates(module: nn.Module) -> list[str]:
    """Top-level modules (not the head), the children of the main sequence, and timm's feature_info modules."""
    names: list[str] = []
    for top, child in module.named_children():
        if top in _HEAD_NAMES or isinstance(child, _SKIPPED_TYPES):
            continue
        if top in _SEQUENCES and isinstance(child, (nn.Sequential, nn.ModuleList)):
            names += [f"{top}.{i}" for i, _ in child.named_children()]
        else:
            names.append(top)
    for info in getattr(module, "feature_info", None) or []:
        m = info.get("module") if isinstance(info, dict) else None
        if m and m not in names and m in dict(module.named_modules()):
            names.append(m)
    return names


# --------------------------------------------------------------------------- public


def _net_input(net, x: torch.Tensor) -> torch.Tensor:
    fmt = getattr(net, "memory_format", torch.contiguous_format)
    if fmt is not torch.contiguous_format and x.dim() == 4:
        x = x.contiguous(memory_format=fmt)  # as LoadedModel.__call__ hands it to the module
    return x


def check_layers(net, names: Iterable[str]) -> None:
    """Raise ``LayerError`` with the closest names for a name that is not a layer of the model."""
    s = _structure(_module_of(net))
    for n in names:
        if not isinstance(n, str):
            raise LayerError(f"A layer name must be a string, got {n!r}.")
        s.check(n)


def read_layers(net, x: torch.Tensor, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """The raw outputs of the layers ``names`` for the batch ``x``, from one forward pass (graph kept if x needs it).

    Without ``"logits"`` in ``names`` the pass ends at the last of the layers to run.
    """
    names = frozenset(names)
    if not names:
        raise LayerError("No layer asked for.")
    check_layers(net, names)
    module = _module_of(net)
    out = _structure(module).reader(module, names).read(_net_input(net, x))
    for n, t in out.items():
        if not isinstance(t, torch.Tensor):
            raise LayerError(f"Layer {n!r} gives a {type(t).__name__}, not one tensor, so it is not a feature map; "
                             "pick one of its sub-modules.")
    return out


def _probe(net, names: list[str]) -> tuple[dict, list[str]]:
    """One pass at the model's input size: the outputs of ``names`` and the order they ran in."""
    module = _module_of(net)
    h, w = _input_size(net)
    p = next(module.parameters(), torch.empty(0))
    x = torch.zeros(1, 3, h, w, dtype=p.dtype, device=p.device)
    reader = _structure(module).reader(module, frozenset(names) | {LOGITS})
    order: list[str] = []
    reader._local.store = _OrderedStore(order)
    try:
        with torch.no_grad():
            out = reader.copy(_net_input(net, x))
        store = dict(reader._local.store)
    finally:
        reader._local.store = None
    store[LOGITS] = out
    return store, order


class _OrderedStore(dict):
    """A store that also records the order in which layers first ran."""

    def __init__(self, order: list[str]):
        super().__init__()
        self.order = order

    def __setitem__(self, key, value):
        if key not in self:
            self.order.append(key)
        super().__setitem__(key, value)


def layer_info(net, name: str) -> LayerInfo:
    """Shape and layout of layer ``name`` (one probe pass at the model's input size, cached)."""
    return layer_infos(net, [name])[name]


def layer_infos(net, names: Iterable[str]) -> dict[str, LayerInfo]:
    module = _module_of(net)
    s = _structure(module)
    names = list(dict.fromkeys(names))
    check_layers(net, names)
    missing = [n for n in names if n not in s.infos]
    if missing:
        store, _order = _probe(net, missing)
        for n in missing:
            if n not in store:
                raise LayerError(f"Layer {n!r} did not run in the model's forward pass; pick another layer.")
            s.infos[n] = _describe(s, n, store[n], _input_size(net), module)
    return {n: s.infos[n] for n in names}


def _describe(s: _Structure, name: str, t, input_hw: tuple[int, int], module: nn.Module) -> LayerInfo:
    if not isinstance(t, torch.Tensor):
        count = len(t) if isinstance(t, (tuple, list)) else 0
        return LayerInfo(name, (), "other",
                         reason=f"it gives {'a tuple of ' + str(count) + ' tensors' if count else type(t).__name__}, "
                                "not one tensor; pick one of its sub-modules")
    shape = tuple(t.shape[1:])
    if t.shape[0] != 1:
        return LayerInfo(name, tuple(t.shape), "other",
                         reason=f"its output {tuple(t.shape)} does not keep the batch dimension "
                                "(e.g. Swin's attention windows), so it is not one map per image")
    if name == LOGITS:
        return LayerInfo(name, shape, "logits", reason="it is the class scores (use ClassLogit)")
    if t.dim() == 4:
        nhwc = s.nhwc and name not in s.channels_first
        c, h, w = (shape[2], shape[0], shape[1]) if nhwc else shape
        return LayerInfo(name, shape, "NHWC" if nhwc else "NCHW", channels=c, height=h, width=w)
    if t.dim() == 3:
        tokens, c = shape
        # Blocks carry the prefix tokens; the patch embedding (before they are added) does not.
        for prefix in dict.fromkeys((s.prefix_tokens, 0)):
            grid = patch_grid(module, input_hw, tokens - prefix) if tokens > prefix else None
            if grid is not None:
                break
        if grid is None:
            return LayerInfo(name, shape, "other",
                             reason=f"its {tokens} tokens do not form the patch grid of the image")
        return LayerInfo(name, shape, "tokens", channels=c, height=grid[0], width=grid[1], prefix_tokens=prefix)
    if t.dim() == 2:
        return LayerInfo(name, shape, "vector",
                         reason=f"it is a vector of {shape[0]} values per image (pooled: no positions)")
    return LayerInfo(name, shape, "other", reason=f"its output has shape {tuple(t.shape)}, not (N, C, h, w)")


def patch_grid(module: nn.Module, input_hw: tuple[int, int], n_spatial: int) -> tuple[int, int] | None:
    """(h, w) of a ViT's patch grid holding ``n_spatial`` tokens for an input of ``input_hw``; None if none does.

    Also Grad-CAM's rule for token features (``saliency/features.py``).
    """
    patch_embed = getattr(module, "patch_embed", None)
    size = None
    if patch_embed is not None and hasattr(patch_embed, "dynamic_feat_size"):
        size = tuple(patch_embed.dynamic_feat_size(tuple(input_hw)))
    elif patch_embed is not None and getattr(patch_embed, "grid_size", None) is not None:
        size = tuple(patch_embed.grid_size)
    if size is not None and size[0] * size[1] == n_spatial:
        return int(size[0]), int(size[1])
    side = math.isqrt(n_spatial)
    return (side, side) if side * side == n_spatial and side > 1 else None


def list_layers(net, feature_maps_only: bool = False) -> list[LayerInfo]:
    """The model's readable layers in the order the forward pass runs them, with ``"logits"`` last."""
    module = _module_of(net)
    s = _structure(module)
    if s.readable is None:
        candidates = _readable_candidates(module)
        store, order = _probe(net, candidates)
        s.readable = [n for n in order if n in candidates]
        for n in s.readable + [LOGITS]:
            s.infos.setdefault(n, _describe(s, n, store[n], _input_size(net), module))
    out = [s.infos[n] for n in s.readable + [LOGITS]]
    return [i for i in out if i.is_feature_map] if feature_maps_only else out


def feature_map_info(net, name: str) -> LayerInfo:
    """``layer_info`` that refuses a layer whose output is not a feature map, with the reason."""
    info = layer_info(net, name)
    if not info.is_feature_map:
        raise LayerError(f"Layer {name!r} is not a feature map: {info.reason}.")
    return info


def feature_maps(net, x: torch.Tensor, names: Iterable[str]) -> Mapping[str, torch.Tensor]:
    """The layers ``names`` as feature maps (N, C, h, w), from one forward pass."""
    names = list(names)
    infos = {n: feature_map_info(net, n) for n in names}
    raw = read_layers(net, x, names)
    return {n: infos[n].to_grid(raw[n]) for n in names}
