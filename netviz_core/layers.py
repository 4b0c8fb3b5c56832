"""A model's layers, named the way a person reads them, and their activations from one forward pass.

Naming: a layer is a module path of the timm model (``blocks.3``, ``layer2``,
``layers.1``, ``blocks.3.0.conv_pw``) or ``"logits"`` (the model's output).
``list_layers`` gives the readable ones: the stem and the final features (top-level
modules), each stage/block of the model's main sequence (``blocks.i``, ``layers.i``,
``stages.i``, ``layerN``) and the modules timm names in ``feature_info``, with their
output shapes (``blocks.3 · 80 ch · 14×14``).  Any other module path works too.

Reading: ``read_layers(net, x, names)`` runs ONE forward pass that returns the
activations of exactly ``names`` (``"logits"`` among them when asked for).  It is a
``torch.fx`` graph of the model cut to the nodes those outputs need
(``torchvision.models.feature_extraction.create_feature_extractor`` through timm,
which knows how to trace its models): without ``"logits"`` the pass stops at the
deepest layer asked for.  The graph is built once per (model, names) and cached
outside the model.  It calls a structural copy of the model whose parameters and
buffers ARE the shared model's (no weights copied): tracing switches its modules
between train and eval mode, which on the shared model would race with every other
thread's forward pass.  The shared model gets no hook, no mode change, no attribute.

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
import re
import threading
import warnings
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

    def check_position(self, y: int, x: int) -> tuple[int, int]:
        for v, size, axis in ((y, self.height, "y"), (x, self.width, "x")):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < size:
                raise LayerError(f"Position {axis}={v!r} is out of range for layer {self.name!r} "
                                 f"({self.grid_shape}): choose {axis} in 0..{size - 1}.")
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


# --------------------------------------------------------------------------- the model's graph


def _module_of(net) -> nn.Module:
    return net.module if hasattr(net, "module") and isinstance(net.module, nn.Module) else net


def _input_size(net) -> tuple[int, int]:
    if hasattr(net, "input_size") and not isinstance(net, nn.Module):
        return tuple(net.input_size)
    cfg = getattr(net, "pretrained_cfg", None) or {}
    size = cfg.get("input_size", (3, 224, 224))
    return int(size[1]), int(size[2])


def _parameter_sharing_copy(module: nn.Module) -> nn.Module:
    """A copy of the module tree whose parameters and buffers are the original's tensors (nothing copied)."""
    memo = {id(t): t for t in list(module.parameters()) + list(module.buffers())}
    return copy.deepcopy(module, memo)


def _extractor(module: nn.Module, return_nodes: dict[str, str]) -> nn.Module:
    from timm.layers import create_feature_extractor

    shadow = _parameter_sharing_copy(module)
    with warnings.catch_warnings():
        # torchvision warns that eval's nodes are a subsequence of train's (dropout): we run eval only.
        warnings.simplefilter("ignore", UserWarning)
        graph = create_feature_extractor(shadow, return_nodes)
    graph.eval()  # the graph's own flag; its modules are the copy's, already in eval mode
    return graph


class _Structure:
    """What the layer machinery knows about one module (cached per module, outside it)."""

    def __init__(self, module: nn.Module):
        from timm.layers import get_graph_node_names

        shadow = _parameter_sharing_copy(module)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            _train_nodes, eval_nodes = get_graph_node_names(shadow)
        self.nodes: list[str] = [n for n in eval_nodes if n != "x"]
        self.logits_node = self.nodes[-1]
        self.module_names = [n for n, _ in module.named_modules() if n]
        self.readable = _readable_names(module, self.nodes)
        self.channels_first = {n for n, m in module.named_modules() if isinstance(m, _CHANNELS_FIRST_TYPES)}
        self.nhwc = getattr(module, "output_fmt", "NCHW") == "NHWC"
        self.prefix_tokens = int(getattr(module, "num_prefix_tokens", 0) or 0)
        self.num_classes = int(getattr(module, "num_classes", 0) or 0)
        self.graphs: dict[frozenset, nn.Module] = {}
        self.infos: dict[str, LayerInfo] = {}
        self.lock = threading.Lock()

    def node_for(self, name: str) -> str:
        """The graph node whose output is the layer ``name`` (a module's output: its last node)."""
        if name == LOGITS:
            return self.logits_node
        if name in self.nodes:
            return name
        prefixed = [n for n in self.nodes if n.startswith(name + ".")]
        if prefixed:
            return prefixed[-1]
        raise LayerError(self.unknown(name))

    def unknown(self, name: str) -> str:
        candidates = [LOGITS] + list(dict.fromkeys(self.readable + self.module_names))
        close = difflib.get_close_matches(str(name), candidates, n=5, cutoff=0.5)
        hint = f" Closest: {', '.join(close)}." if close else f" Layers include: {', '.join(self.readable[:8])}, ..."
        return f"Unknown layer {name!r}.{hint} List them with: netviz features --list-layers --model MODEL."

    def graph(self, module: nn.Module, names: frozenset) -> nn.Module:
        with self.lock:
            g = self.graphs.get(names)
            if g is None:
                nodes: dict[str, str] = {}
                for n in sorted(names):
                    nodes.setdefault(self.node_for(n), n)
                g = _extractor(module, nodes)
                self.graphs[names] = g
            return g


_structures: "weakref.WeakKeyDictionary[nn.Module, _Structure]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _structure(module: nn.Module) -> _Structure:
    with _lock:
        s = _structures.get(module)
        if s is None:
            s = _Structure(module)
            _structures[module] = s
        return s


def _readable_names(module: nn.Module, nodes: list[str]) -> list[str]:
    """Top-level modules (not the head), the children of the main sequence, and timm's feature_info modules."""
    names: list[str] = []
    for top, child in module.named_children():
        if top in _HEAD_NAMES or isinstance(child, _SKIPPED_TYPES):
            continue
        if top in _SEQUENCES and isinstance(child, (nn.Sequential, nn.ModuleList)):
            names += [f"{top}.{i}" for i, _ in child.named_children()]
        elif re.fullmatch(r"layer\d+", top):
            names.append(top)
        else:
            names.append(top)
    for info in getattr(module, "feature_info", None) or []:
        m = info.get("module") if isinstance(info, dict) else None
        if m and m not in names:
            names.append(m)

    def last_node(name: str) -> int:
        hits = [i for i, n in enumerate(nodes) if n == name or n.startswith(name + ".")]
        return hits[-1] if hits else -1

    order = {n: last_node(n) for n in names}
    return sorted((n for n in names if order[n] >= 0), key=lambda n: order[n])


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
        s.node_for(n)


def read_layers(net, x: torch.Tensor, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """The raw outputs of the layers ``names`` for the batch ``x``, from one forward pass (graph kept if x needs it).

    Without ``"logits"`` in ``names`` the pass ends at the deepest layer asked for.
    """
    names = frozenset(names)
    if not names:
        raise LayerError("No layer asked for.")
    module = _module_of(net)
    graph = _structure(module).graph(module, names)
    out = graph(_net_input(net, x))
    for n, t in out.items():
        if not isinstance(t, torch.Tensor):
            raise LayerError(f"Layer {n!r} gives a {type(t).__name__}, not one tensor, so it is not a feature map; "
                             "pick one of its sub-modules.")
    return dict(out)


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
        h, w = _input_size(net)
        dtype = next(module.parameters(), torch.empty(0)).dtype
        device = next(module.parameters(), torch.empty(0)).device
        x = torch.zeros(1, 3, h, w, dtype=dtype, device=device)
        graph = s.graph(module, frozenset(missing))
        with torch.no_grad():
            out = graph(_net_input(net, x))
        for n in missing:
            s.infos[n] = _describe(s, n, out[n], (h, w), module)
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
            grid = _patch_grid(module, input_hw, tokens - prefix) if tokens > prefix else None
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


def _patch_grid(module: nn.Module, input_hw: tuple[int, int], n_spatial: int) -> tuple[int, int] | None:
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
    """The model's readable layers in forward order, with ``"logits"`` last."""
    s = _structure(_module_of(net))
    infos = layer_infos(net, s.readable + [LOGITS])
    out = [infos[n] for n in s.readable + [LOGITS]]
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
