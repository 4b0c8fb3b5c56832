"""Saliency maps: which pixels a classifier's score for a class depends on.

``saliency(net, x, target=None, method="vanilla", **options)`` returns non-negative
float32 maps (N, H, W) at the model's input resolution, on the CPU, for a batch of N
preprocessed images and N targets.  One small class per method, over a shared base
(``base.SaliencyMethod``):

==================== =========================================================
vanilla              Simonyan et al.: max over channels of |dS_c/dI| (S_c the logit)
smoothgrad           the vanilla map averaged over n noisy copies (options n, sigma, batch_size, seed)
guided               guided backpropagation (ReLU rule with both conditions; see ``guided``)
deconvnet            the DeconvNet rule at every rectifier (see ``guided``)
cam                  Zhou et al.'s class activation map (GAP + linear heads only)
gradcam              Grad-CAM on the last feature map (CNNs, ViT/DeiT tokens, Swin NHWC)
gradcampp            Grad-CAM++: pixel-weighted positive gradients (same feature map)
layercam             Layer-CAM: each location weighted by its own positive gradient
scorecam             Score-CAM: channels weighted by the score of the image they mask
integrated_gradients Integrated Gradients, black or blurred baseline (options steps, baseline)
occlusion            Zeiler & Fergus: score drop when a window is covered (options window, stride, fill)
==================== =========================================================

``metrics`` scores any map (deletion/insertion, ROAD, the randomisation sanity check)
against the reference maps of ``baselines``.

Every method accepts ``normalize=True``: each map divided by its sum, M = w / sum w,
as in the CAM write-up's normalised saliency map.  Then ``localize`` turns a map into
a bounding box and ``overlay`` / ``overlay_figure`` draw it over the image.

Thread-safe on one shared model: no hooks, no ``.grad`` on parameters, no mode change.
"""

from __future__ import annotations

import torch

from ..errors import SaliencyError
from ..models import LoadedModel
from .base import SaliencyMethod
from .cam import CAM, ClassActivationMap, class_activation_map
from .gradcam import GradCAM
from .gradcampp import GradCAMPlusPlus
from .guided import DeconvNet, GuidedBackprop, modified_input_gradient
from .integrated_gradients import IntegratedGradients
from .layercam import LayerCAM
from .localize import Box, localize, to_original_size
from .occlusion import Occlusion
from .overlay import overlay, overlay_figure
from .scorecam import ScoreCAM
from .smoothgrad import SmoothGrad
from .vanilla import Vanilla

#: method name -> class
METHODS: dict[str, type[SaliencyMethod]] = {
    cls.name: cls for cls in (
        Vanilla, SmoothGrad, GuidedBackprop, DeconvNet, CAM, GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM,
        IntegratedGradients, Occlusion,
    )
}


def saliency(net: LoadedModel, x, target=None, method: str = "vanilla", *, normalize: bool = False, **options) -> torch.Tensor:
    """Saliency maps (N, H, W), non-negative, at the input resolution, on the CPU.

    ``x``: a preprocessed batch (N, 3, H, W) or (3, H, W) (an image or path is preprocessed).
    ``target``: None (each image's predicted class), one class (index or name) for all
    images, or N of them.  ``normalize``: divide each map by its sum (M = w / sum w).
    ``options``: the method's own (e.g. smoothgrad's ``n``, ``sigma``).
    """
    cls = METHODS.get(method) if isinstance(method, str) else None
    if cls is None:
        raise SaliencyError(f"unknown saliency method {method!r}; choose one of: {', '.join(METHODS)}.")
    maps = cls(net, **options)(x, target)
    if normalize:
        total = maps.sum(dim=(1, 2), keepdim=True)
        maps = torch.where(total > 0, maps / total.clamp(min=torch.finfo(maps.dtype).tiny), maps)
    return maps


__all__ = [
    "METHODS", "Box", "CAM", "ClassActivationMap", "DeconvNet", "GradCAM", "GradCAMPlusPlus", "GuidedBackprop",
    "IntegratedGradients", "LayerCAM", "Occlusion", "SaliencyMethod", "ScoreCAM", "SmoothGrad", "Vanilla",
    "class_activation_map", "localize", "modified_input_gradient", "overlay", "overlay_figure", "saliency",
    "to_original_size",
]

