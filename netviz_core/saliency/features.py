"""The last feature map of a timm model, split from its head, without hooks.

Every timm classifier has ``forward_features(x)`` and ``forward_head(features)``;
running them separately gives the feature tensor A as a leaf, so dS_c/dA comes from
``torch.autograd.grad`` and the shared module is never hooked.  Three layouts occur:

* ``NCHW``: CNNs (ResNet, EfficientNet, ConvNeXt...);
* ``NHWC``: Swin and other channels-last models (``module.output_fmt == "NHWC"``);
* tokens ``(N, T, C)``: ViT/DeiT; the first ``num_prefix_tokens`` (class, distillation,
  register tokens) are dropped and the rest reshaped to the patch grid.

A ViT whose head reads only the class token (``global_pool == "token"``) gives the
patch tokens of ``forward_features`` a zero gradient (the final norm is per token),
so Grad-CAM there would be blank.  For those the split is one block earlier: A is
the input of the last transformer block (the tokens it attends over), as is usual
for Grad-CAM on ViTs.

Why this split is not ``netviz_core.layers.read_layers`` (the layer reader of the
optimisation engine), measured against what each needs:

* Grad-CAM's A is, by definition, the tensor ``forward_features`` returns, and
  ``forward_head`` is what turns it into the logits.  That is timm's own contract for
  every classifier, including those (and the hand-made test models) whose features
  end in a functional op (``torch.relu(...)``, a permute, a token slice): such a
  tensor is the output of no module, so it has no name to read.  The reader names
  layers by module path, which is what a person browsing layers wants, but it cannot
  express "the input of the head" for those models.
* Grad-CAM needs dS/dA with the graph of the head only: A must be a fresh leaf.  The
  reader returns activations inside one graph, so dS/dA through it would need the
  input to require grad and the whole trunk's graph to be recorded (memory) for a
  gradient that never flows below A.
* Both run without hooks or state on the shared model and neither traces the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..errors import UnsupportedModelError
from ..layers import patch_grid


@dataclass
class FeatureSplit:
    """``head(features)`` gives the logits; ``to_grid`` turns a tensor laid out like ``features`` into (N, C, h, w)."""

    features: torch.Tensor  # a leaf that requires grad, in the model's own layout
    head: Callable[[torch.Tensor], torch.Tensor]
    to_grid: Callable[[torch.Tensor], torch.Tensor]
    layout: str  # "NCHW" | "NHWC" | "tokens"
    where: str  # which tensor A is, for messages and docs


def _token_grid(module: nn.Module, x: torch.Tensor, n_spatial: int) -> tuple[int, int]:
    """(h, w) of the patch grid for ``n_spatial`` tokens of input ``x`` (the layer reader's rule, ``layers``)."""
    grid = patch_grid(module, tuple(x.shape[-2:]), n_spatial)
    if grid is None:
        raise UnsupportedModelError(f"{type(module).__name__}: cannot arrange {n_spatial} tokens into a patch grid.")
    return grid


def _reads_only_prefix_tokens(module: nn.Module) -> bool:
    from timm.models.vision_transformer import VisionTransformer

    return (
        isinstance(module, VisionTransformer)
        and getattr(module, "attn_pool", None) is None
        and module.global_pool == "token"
        and len(module.blocks) >= 2
    )


def _vit_last_block_split(module: nn.Module, x: torch.Tensor) -> FeatureSplit:
    n_prefix = module.num_prefix_tokens
    # The input of the last block = the output of the one before it, with the prefix tokens kept apart.
    ((spatial, prefix),) = module.forward_intermediates(
        x, indices=[len(module.blocks) - 2], return_prefix_tokens=True, norm=False,
        stop_early=True, output_fmt="NLC", intermediates_only=True,
    )
    tokens = torch.cat([prefix, spatial], dim=1).detach().requires_grad_(True)
    h, w = _token_grid(module, x, spatial.shape[1])

    def head(t: torch.Tensor) -> torch.Tensor:
        return module.forward_head(module.norm(module.blocks[-1](t)))

    def to_grid(t: torch.Tensor) -> torch.Tensor:
        return t[:, n_prefix:].reshape(t.shape[0], h, w, -1).permute(0, 3, 1, 2)

    return FeatureSplit(tokens, head, to_grid, "tokens", "input of the last transformer block")


def split_features(module: nn.Module, x: torch.Tensor, *, for_gradients: bool = True) -> FeatureSplit:
    """Run the model up to its last feature map A; A is a fresh leaf, so the graph above it is the head only.

    ``for_gradients``: move A before the last ViT block where the head reads the class token only.
    Call with grad enabled when the caller needs the graph (Grad-CAM).
    """
    if for_gradients and _reads_only_prefix_tokens(module):
        return _vit_last_block_split(module, x)
    features = module.forward_features(x)
    if isinstance(features, (tuple, list)):
        raise UnsupportedModelError(f"{type(module).__name__}.forward_features returns several tensors; no single feature map.")
    features = features.detach().requires_grad_(True)
    head = module.forward_head
    if features.dim() == 4:
        channels = getattr(module, "num_features", None)
        channels_last = getattr(module, "output_fmt", "NCHW") == "NHWC" or (
            channels is not None and features.shape[-1] == channels and features.shape[1] != channels
        )
        if channels_last:
            return FeatureSplit(features, head, lambda t: t.permute(0, 3, 1, 2), "NHWC", "forward_features (NHWC)")
        return FeatureSplit(features, head, lambda t: t, "NCHW", "forward_features")
    if features.dim() == 3:
        n_prefix = int(getattr(module, "num_prefix_tokens", 0) or 0)
        h, w = _token_grid(module, x, features.shape[1] - n_prefix)

        def to_grid(t: torch.Tensor) -> torch.Tensor:
            return t[:, n_prefix:].reshape(t.shape[0], h, w, -1).permute(0, 3, 1, 2)

        return FeatureSplit(features, head, to_grid, "tokens", "forward_features tokens")
    raise UnsupportedModelError(
        f"{type(module).__name__}.forward_features gives a tensor of shape {tuple(features.shape)}, not a spatial feature map."
    )
