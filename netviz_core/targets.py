"""Classes and input batches in, tensors out: what every technique accepts as targets and images.

Saliency, fooling, class visualization, class impressions and the optimisation
engine take their target classes and their input images through these functions,
so that the same argument means the same thing everywhere and a bad one gets the
same message:

* ``resolve_targets(net, targets, n)``: class indices from an index, a digit string,
  a name fragment (``resolve_class``), a tensor or a sequence of them; one target
  is given to all ``n`` images.  Every problem with a target is a ``ClassLookupError``.
* ``as_target_tensor(targets, n, device)``: indices as a LongTensor (n,) on a device.
* ``target_tensor(net, targets, n)``: both at once, on the model's device.
* ``as_input_batch(net, images)``: a normalised float batch (N, 3, H, W) on the
  model's device, from a tensor or image sources (preprocessed here).  Every problem
  with the images is an ``ImageInputError``.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import torch

from .classes import resolve_class
from .errors import ClassLookupError, ImageInputError


def _as_list(targets) -> list:
    if isinstance(targets, torch.Tensor):
        return targets.flatten().tolist()
    if isinstance(targets, (str, numbers.Integral)):
        return [targets]
    if isinstance(targets, Sequence):
        return list(targets)
    raise ClassLookupError(
        f"A target must be a class index, a class name or a list of them, not {type(targets).__name__}."
    )


def resolve_targets(net, targets, n: int | None = None) -> list[int]:
    """Class indices of ``net``'s classes, one per image.

    ``targets``: a class index, a digit string or a name fragment ("tarantula" -> 76),
    a tensor of indices, or a sequence of these.  With ``n`` images, one target is
    given to every image and otherwise there must be exactly ``n``; without ``n``,
    at least one.  numpy and torch integers count as indices (bools do not).
    """
    items = _as_list(targets)
    if not items:
        raise ClassLookupError("No target class given: name at least one class (an index or a name).")
    indices = [resolve_class(_plain_index(t), net.class_names) for t in items]
    if n is None:
        return indices
    if len(indices) == 1:
        return indices * n
    if len(indices) != n:
        raise ClassLookupError(f"Got {len(indices)} targets for {_batch(n)}; give one target or one per image.")
    return indices


def _batch(n: int) -> str:
    return f"a batch of {n} image" + ("" if n == 1 else "s")


def _plain_index(t):
    if isinstance(t, torch.Tensor) and t.numel() == 1 and not t.is_floating_point():
        t = t.item()
    if isinstance(t, numbers.Integral) and not isinstance(t, bool):
        return int(t)
    return t


def as_target_tensor(targets, n: int, device: torch.device | str) -> torch.Tensor:
    """Class indices (already resolved) as a LongTensor of length ``n``; one index is given to every image."""
    t = torch.as_tensor(targets, dtype=torch.long, device=device).flatten()
    if t.numel() == 1 and n > 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ClassLookupError(f"Got {t.numel()} targets for {_batch(n)}; give one target or one per image.")
    return t


def target_tensor(net, targets, n: int) -> torch.Tensor:
    """``resolve_targets`` then ``as_target_tensor``: class indices (n,) on ``net.device``."""
    return as_target_tensor(resolve_targets(net, targets, n), n, net.device)


def as_input_batch(net, images, *, at_input_size: bool = False) -> torch.Tensor:
    """Images as a normalised float32 batch (N, 3, H, W) on the model's device, detached.

    ``images``: a preprocessed tensor (N, 3, H, W) or (3, H, W), one image source
    (path, bytes, PIL image: preprocessed, i.e. centre square resized to the model's
    input size) or a list of them.  ``at_input_size``: the tensor must already be at
    the model's input size (the optimisation techniques return images of that size).
    """
    if isinstance(images, torch.Tensor):
        x = images.unsqueeze(0) if images.dim() == 3 else images
    elif isinstance(images, (list, tuple)):
        if not images:
            raise ImageInputError("No images given.")
        x = torch.cat([as_input_batch(net, im, at_input_size=at_input_size) for im in images])
    else:
        from .images import preprocess

        x = preprocess(net, images)  # raises ImageInputError when the source is unreadable
    if x.dim() != 4 or x.shape[0] == 0 or x.shape[1] != 3:
        raise ImageInputError(f"Expected a preprocessed batch (N, 3, H, W), got a tensor of shape {tuple(x.shape)}.")
    if not x.is_floating_point():
        raise ImageInputError(f"Expected a float tensor (a preprocessed image), got {x.dtype}.")
    if at_input_size and tuple(x.shape[2:]) != tuple(net.input_size):
        h, w = net.input_size
        raise ImageInputError(
            f"The image tensor is {x.shape[2]}x{x.shape[3]} but {net.name} takes {h}x{w}: "
            "preprocess it first (netviz_core.preprocess), so that the result is the model input."
        )
    x = x.detach().to(device=net.device, dtype=torch.float32)
    if not torch.isfinite(x).all():
        raise ImageInputError("The input contains NaN or infinite values.")
    return x
