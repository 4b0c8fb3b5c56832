"""Class activation maps (Zhou et al., 2016) for heads that are global average pooling + linear.

With features f_k(i, j) (the last feature map), a head S_c = sum_k w_k^c mean_ij f_k(i, j) + b_c
gives the class activation map

    M_c(i, j) = sum_k w_k^c f_k(i, j),    and    mean_ij M_c(i, j) + b_c = S_c  exactly.

(Zhou et al. write the identity with a sum, S_c = sum_ij M_c, for a head that sums;
timm's heads average, hence the mean.)  A LayerNorm between the pooling and the
linear layer (ConvNeXt's ``NormMlpClassifierHead`` without a hidden layer) is affine
in the pooled vector p once its image-level statistics mu(p), sigma(p) are fixed, so
it folds in: w'_k^c = w_k^c gamma_k / sigma, f'_k = f_k - mu, b'_c = b_c + sum_k w_k^c beta_k,
and the identity still holds.  Any other head is refused with ``UnsupportedModelError``,
after checking numerically that sum_k w'_k^c mean_ij f'_k + b'_c reproduces every logit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import UnsupportedModelError
from ..models import LoadedModel
from ..targets import as_input_batch, target_tensor
from .base import SaliencyMethod
from .features import split_features

#: |sum_k w_k^c mean f_k + b_c - S_c| must stay below this times (1 + max |S|) for the head to count as GAP + linear.
HEAD_CHECK_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ClassActivationMap:
    """Raw CAMs at the feature resolution, with what the identity mean(M_c) + b_c = S_c needs."""

    maps: torch.Tensor  # (N, h, w): M_c(i, j) for each image's target c, signed
    bias: torch.Tensor  # (N,): b_c (b'_c with a folded LayerNorm)
    logits: torch.Tensor  # (N, num_classes): S from the model's own head
    targets: torch.Tensor  # (N,)


def _head_unsupported(module: nn.Module, why: str) -> UnsupportedModelError:
    return UnsupportedModelError(
        f"CAM needs a head that is global average pooling + one linear layer; {type(module).__name__}'s {why}. "
        "Use method='gradcam', which works for any model."
    )


def class_activation_map(net: LoadedModel, x, target=None) -> ClassActivationMap:
    """Zhou et al.'s M_c(i, j) = sum_k w_k^c f_k(i, j) for each image's target (None: the predicted class)."""
    module = net.module
    x = as_input_batch(net, x)
    classifier = module.get_classifier() if hasattr(module, "get_classifier") else None
    if not isinstance(classifier, nn.Linear):
        raise _head_unsupported(module, f"classifier is {type(classifier).__name__}, not one nn.Linear")
    with torch.no_grad():
        split = split_features(module, x, for_gradients=False)
        if split.layout == "tokens":
            raise _head_unsupported(module, "features are tokens, not a convolutional feature map")
        logits = split.head(split.features).float()
        f = split.to_grid(split.features).float()  # (N, K, h, w)
        if f.shape[1] != classifier.in_features:
            raise _head_unsupported(module, f"feature map has {f.shape[1]} channels but the classifier takes {classifier.in_features}")
        weight, bias = classifier.weight.float(), classifier.bias
        bias = torch.zeros(weight.shape[0], device=f.device) if bias is None else bias.float()
        w = weight.expand(f.shape[0], -1, -1)  # per image (N, classes, K): a folded norm makes it image-specific
        norm = getattr(getattr(module, "head", None), "norm", None)
        if isinstance(norm, nn.LayerNorm) and isinstance(getattr(module.head, "pre_logits", None), nn.Identity):
            # ConvNeXt-style head: pool -> LayerNorm -> fc; fold the norm with this image's statistics.
            p = f.mean(dim=(2, 3))
            mu = p.mean(dim=1)
            sigma = torch.sqrt(p.var(dim=1, unbiased=False) + norm.eps)
            gamma = norm.weight.float() if norm.weight is not None else torch.ones_like(p[0])
            beta = norm.bias.float() if norm.bias is not None else torch.zeros_like(p[0])
            w = weight[None] * (gamma / sigma[:, None])[:, None, :]
            bias = bias + weight @ beta
            f = f - mu[:, None, None, None]
        bias = bias.expand(f.shape[0], -1)
        predicted = torch.einsum("nck,nk->nc", w, f.mean(dim=(2, 3))) + bias
        error = (predicted - logits).abs().max().item()
        if error > HEAD_CHECK_TOLERANCE * (1.0 + logits.abs().max().item()):
            raise _head_unsupported(module, f"head is not (its logits differ from GAP + linear by up to {error:.3g})")
        targets = logits.argmax(1) if target is None else target_tensor(net, target, x.shape[0])
        w_c = w[torch.arange(f.shape[0], device=f.device), targets]  # (N, K)
        maps = torch.einsum("nk,nkhw->nhw", w_c, f)
        return ClassActivationMap(maps=maps, bias=bias.gather(1, targets[:, None])[:, 0], logits=logits, targets=targets)


class CAM(SaliencyMethod):
    """Zhou et al.'s class activation map, upsampled to the input; negative evidence is clipped to 0."""

    name = "cam"

    def needs_predictions(self) -> bool:
        return False

    def compute(self, x: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        return class_activation_map(self.net, x, targets).maps
