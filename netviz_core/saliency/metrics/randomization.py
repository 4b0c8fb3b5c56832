"""The model-randomisation sanity check (Adebayo et al. 2018), cascading from the head.

* **model randomisation** (Adebayo et al. 2018, "Sanity checks for saliency maps"):
  Spearman's rank correlation between the map and the same method's map on a *copy*
  of the model whose top k units are re-initialised, cascading from the head
  (``cascade_units``).  A map that explains the model must change when the model's
  learned weights are destroyed; a high correlation means the map shows the image,
  not the model.  The summary (``randomization_spearman``) is the correlation with
  the whole cascade randomised; ``randomization_curve`` gives every depth.
"""

from __future__ import annotations

import copy
import math
import threading
import time
import weakref
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ...errors import SaliencyError
from ...models import LoadedModel
from .common import Progress, one_image, one_map, target_class


@dataclass(frozen=True)
class RandomizationCurve:
    """Spearman correlation after re-initialising the first k ``units`` (from the head), k = ``depths``."""

    units: tuple[str, ...]  # every unit of the cascade, head first
    depths: tuple[int, ...]
    spearman: tuple[float, ...]  # NaN where a map is constant (the correlation is undefined)
    seconds: float


NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _has_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def cascade_units(module: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """The model's parameterised units from the head down to the stem: [(name, modules), ...].

    Read from the timm module structure: the top-level children in forward order, with
    the stage containers (``blocks``, ``layers``, ``stages``: a Sequential or
    ModuleList) split into their stages.  A normalisation layer on its own (``bn2``
    after ``conv_head``) joins the unit it normalises, so each unit is a layer with its
    norm: for EfficientNet-Lite, classifier, conv_head+bn2, blocks.6 ... blocks.0,
    conv_stem+bn1.
    """
    flat: list[tuple[str, nn.Module]] = []
    for name, child in module.named_children():
        if isinstance(child, (nn.Sequential, nn.ModuleList)) and len(child) > 1 and not isinstance(child, NORM_TYPES):
            flat += [(f"{name}.{sub}", grandchild) for sub, grandchild in child.named_children()]
        else:
            flat.append((name, child))
    flat = [(n, m) for n, m in flat if _has_parameters(m)]
    units: list[tuple[str, list[nn.Module]]] = []
    pending: list[tuple[str, nn.Module]] = []  # norms waiting for the layer before them
    for name, child in reversed(flat):
        if isinstance(child, NORM_TYPES):
            pending.append((name, child))
            continue
        names = [name] + [n for n, _ in pending]
        units.append(("+".join(names), [child] + [m for _, m in pending]))
        pending = []
    if pending:
        units.append(("+".join(n for n, _ in pending), [m for _, m in pending]))
    if not units:
        raise SaliencyError(f"{type(module).__name__} has no parameterised layers to randomise.")
    return units


def reinitialize(modules: list[nn.Module], generator: torch.Generator) -> None:
    """Adebayo et al.'s re-initialisation: weights from a truncated normal (He scale), biases 0, norms identity.

    He's scale sqrt(2 / fan_in) keeps activations from vanishing through a deep
    randomised stack, so the randomised model still gives a map to correlate with.
    """
    with torch.no_grad():
        for module in modules:
            for m in module.modules():
                if isinstance(m, NORM_TYPES):
                    if getattr(m, "weight", None) is not None:
                        m.weight.fill_(1.0)
                    if getattr(m, "bias", None) is not None:
                        m.bias.zero_()
                    if getattr(m, "running_mean", None) is not None:
                        m.running_mean.zero_()
                        m.running_var.fill_(1.0)
                    continue
                for pname, p in m.named_parameters(recurse=False):
                    if p.dim() >= 2:
                        fan_in = p[0].numel()
                        std = math.sqrt(2.0 / fan_in)
                        nn.init.trunc_normal_(p, std=std, a=-2 * std, b=2 * std, generator=generator)
                    elif "bias" in pname:
                        p.zero_()
                    else:
                        nn.init.trunc_normal_(p, std=0.02, generator=generator)


def randomized_copy(net: LoadedModel) -> tuple[LoadedModel, list[tuple[str, list[nn.Module]]]]:
    """A deep copy of ``net`` (frozen, eval) and its cascade units; the shared model is untouched."""
    module = copy.deepcopy(net.module)
    module.eval()
    module.requires_grad_(False)
    copy_net = replace(net, module=module, name=f"{net.name} (randomised copy)")
    return copy_net, cascade_units(module)


def cascade_depths(depths, units: int) -> list[int]:
    """``depths`` (None: 1 .. ``units``, an int, or a list) as sorted distinct depths, each checked."""
    wanted = list(range(1, units + 1)) if depths is None else [depths] if isinstance(depths, int) else list(depths)
    if not wanted or any(not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= units for d in wanted):
        raise SaliencyError(f"randomisation depths must be integers from 1 to {units} (the model's units), got {depths!r}.")
    return sorted(set(wanted))


#: model -> {(depth, seed): its randomised copy}; a weak key, so a model's copies go with it.
_randomized: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_randomized_lock = threading.Lock()
RANDOMIZED_COPIES_PER_MODEL = 2


def randomized_model(net: LoadedModel, depth: int, seed: int = 0) -> LoadedModel:
    """``net`` with its top ``depth`` cascade units re-initialised from ``seed``; made once, then shared.

    The weights are those the cascade of ``randomization_curve`` reaches at ``depth``
    (one generator drawn unit by unit from the head), so the summary correlation can
    reuse one copy for every map of a model instead of copying and re-initialising
    ~5 M weights per map.  Like the loaded model, the copy is frozen, in eval mode, and
    safe to share between threads.
    """
    cascade_depths(depth, len(cascade_units(net.module)))
    with _randomized_lock:
        copies = _randomized.setdefault(net, {})
        key = (depth, int(seed))
        if key not in copies:
            copy_net, units = randomized_copy(net)
            generator = torch.Generator().manual_seed(int(seed))
            for _name, modules in units[:depth]:
                reinitialize(modules, generator)
            while len(copies) >= RANDOMIZED_COPIES_PER_MODEL:
                copies.pop(next(iter(copies)))
            copies[key] = copy_net
        return copies[key]


def spearman(a, b) -> float:
    """Spearman's rank correlation of two maps (ties get average ranks); NaN when a map is constant."""
    from scipy.stats import spearmanr

    a = np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float64).ravel()
    b = np.asarray(b.detach().cpu() if isinstance(b, torch.Tensor) else b, dtype=np.float64).ravel()
    if a.size != b.size:
        raise SaliencyError(f"cannot correlate maps of {a.size} and {b.size} pixels.")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def method_class(method: str):
    from .. import METHODS
    from ..baselines import BASELINES

    cls = METHODS.get(method) or BASELINES.get(method) if isinstance(method, str) else None
    if cls is None:
        raise SaliencyError(f"unknown saliency method {method!r}; choose one of: {', '.join([*METHODS, *BASELINES])}.")
    return cls


def randomization_curve(
    net: LoadedModel, x, method: str, target=None, *, saliency_map=None, depths=None,
    method_options: dict | None = None, seed: int = 0, progress: Progress | None = None,
) -> RandomizationCurve:
    """Spearman(map on ``net``, map on a copy with the top k units re-initialised) for each k in ``depths``.

    ``depths``: None for every k from 1 to the number of units (the cascade), an int
    for that k alone, or a list.  ``saliency_map``: the map on ``net`` if already made.
    """
    t0 = time.perf_counter()
    cls = method_class(method)
    options = dict(method_options or {})
    x = one_image(net, x)
    target = target_class(net, x, target)
    reference = cls(net, **options)(x, target)[0] if saliency_map is None else one_map(saliency_map, net.input_size)
    units = cascade_units(net.module)
    wanted = cascade_depths(depths, len(units))
    names = tuple(n for n, _ in units)
    if len(wanted) == 1:  # the summary: one shared copy per (model, depth, seed)
        rho = spearman(reference, cls(randomized_model(net, wanted[0], seed), **options)(x, target)[0])
        if progress is not None:
            progress(1.0, f"randomisation {wanted[0]}/{len(units)}")
        return RandomizationCurve(names, (wanted[0],), (rho,), time.perf_counter() - t0)
    copy_net, units = randomized_copy(net)
    generator = torch.Generator().manual_seed(int(seed))
    done, rhos = 0, []
    for i, depth in enumerate(wanted):
        for _name, modules in units[done:depth]:
            reinitialize(modules, generator)
        done = depth
        rhos.append(spearman(reference, cls(copy_net, **options)(x, target)[0]))
        if progress is not None:
            progress((i + 1) / len(wanted), f"randomisation {depth}/{len(units)}")
    return RandomizationCurve(names, tuple(wanted), tuple(rhos), time.perf_counter() - t0)
