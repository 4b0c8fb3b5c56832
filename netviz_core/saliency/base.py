"""What every saliency method shares: input and target checks, resizing, the map contract.

A method is a small subclass of ``SaliencyMethod`` that implements
``compute(x, targets) -> (N, h, w)``; the base turns that into the public contract
(non-negative float32 maps ``(N, H, W)`` at the input resolution, on the CPU).

Nothing here touches the shared model's state: gradients are taken with
``torch.autograd.grad`` with respect to the input (or to a detached features tensor),
so no parameter gets a ``.grad``, no hook is registered and no mode changes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ..errors import SaliencyError
from ..models import LoadedModel
from ..targets import as_input_batch, target_tensor


class SaliencyMethod:
    """One saliency method bound to one (shared, frozen) model.

    Subclasses set ``name`` and ``options`` (option name -> default) and implement
    ``compute``.  Instances are cheap and hold no per-call state, so several threads
    may use one instance, or one each.
    """

    name: ClassVar[str] = ""
    #: option name -> default value; anything else passed to the constructor is an error.
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, net: LoadedModel, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise SaliencyError(f"saliency method {self.name!r} has no option {', '.join(unknown)} (options: {known}).")
        self.net = net
        for key, default in self.options.items():
            setattr(self, key, options.get(key, default))
        self.check_options()

    def check_options(self) -> None:
        """Raise ``SaliencyError`` for a bad option value (override where there are options)."""

    def compute(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Maps ``(N, h, w)`` for input ``x`` (N,3,H,W) and class indices ``targets`` (N,)."""
        raise NotImplementedError

    def needs_predictions(self) -> bool:
        """Whether ``__call__`` must run the model to resolve ``target=None`` (CAM methods do it themselves)."""
        return True

    def __call__(self, x: torch.Tensor, target=None) -> torch.Tensor:
        x = as_input_batch(self.net, x)
        if target is not None:
            targets = target_tensor(self.net, target, x.shape[0])
        else:
            targets = predicted_classes(self.net, x) if self.needs_predictions() else None
        maps = self.compute(x, targets)
        return finish_maps(maps, self.net.input_size)


# --------------------------------------------------------------------------- shared helpers


def check_integer(value, label: str, lo: int = 1, hi: int | None = None) -> None:
    """Raise a SaliencyError unless ``value`` is an int (not a bool) in [lo, hi]."""
    if not isinstance(value, int) or isinstance(value, bool) or value < lo or (hi is not None and value > hi):
        span = f"from {lo} to {hi}" if hi is not None else ("positive" if lo == 1 else f"of at least {lo}")
        kind = f"a {span} integer" if hi is None else f"an integer {span}"
        raise SaliencyError(f"{label} must be {kind}, got {value!r}.")


def check_choice(value, label: str, choices) -> None:
    """Raise a SaliencyError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise SaliencyError(f"{label} must be one of {', '.join(choices)}, got {value!r}.")


def check_blur_sigma(value, label: str = "blur_sigma") -> None:
    """Raise a SaliencyError unless ``value`` is a Gaussian sigma in pixels in (0, 100]."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 < float(value) <= 100.0:
        raise SaliencyError(f"{label} must be a number of pixels in (0, 100], got {value!r}.")



def predicted_classes(net: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """The model's top class for each image of ``x`` (N,): what ``target=None`` means in saliency."""
    with torch.no_grad():
        return net(x).argmax(1)


def resize_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, h, w) -> (N, H, W), bilinear (the CAM papers upsample their coarse maps this way)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def finish_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The public contract: float32, (N, H, W) at ``size``, non-negative, on the CPU."""
    maps = resize_maps(maps.detach().float(), size)
    return maps.clamp_(min=0.0).cpu()


def channel_max_abs(grad: torch.Tensor) -> torch.Tensor:
    """Simonyan et al.'s map from an input gradient: max over colour channels of |w|."""
    return grad.abs().amax(dim=1)


class ModuleAsNet:
    """Just enough of a ``LoadedModel`` for ``class_score_gradient``: another module, same device."""

    def __init__(self, module: torch.nn.Module, device: torch.device) -> None:
        self.module = module
        self.device = device

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


#: What replaces (part of) an image: see ``reference_image``.
REFERENCES = ("black", "gray", "mean", "blur")


def reference_image(net: LoadedModel, x: torch.Tensor, kind: str, blur_sigma: float = 5.0) -> torch.Tensor:
    """The uninformative image a method or metric compares ``x`` (N, 3, H, W) with, in the model's normalisation.

    ``black``: pixel value 0; ``gray``: pixel value 0.5 (Zeiler & Fergus's grey square,
    0 in the normalisation of the EfficientNet-Lite models); ``mean``: each image's own
    mean colour; ``blur``: the image blurred by a Gaussian of ``blur_sigma`` pixels.
    """
    if kind == "black":
        return net.pixel_min.expand_as(x).clone()
    if kind == "gray":
        return ((net.pixel_min + net.pixel_max) / 2).expand_as(x).clone()
    if kind == "mean":
        return x.mean(dim=(2, 3), keepdim=True).expand_as(x).clone()
    if kind == "blur":
        from ..optimize.transforms import gaussian_blur

        return gaussian_blur(x, float(blur_sigma))
    raise SaliencyError(f"unknown reference image {kind!r}; choose one of: {', '.join(REFERENCES)}.")
