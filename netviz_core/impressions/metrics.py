"""Numbers for a class impression: confidence, transfer to other backbones, single-object score.

All of them are measured on the image as it would be saved (8-bit), not on the
float tensor of the run, so that a PNG reproduces them.

* **Target probability**: softmax probability of the target on the generating model.
* **Transfer**: the saved image, preprocessed for another model (resized to its
  input size), and that model's probability of the target: do the features mean
  the class to a network that did not make them?
* **Single-object score**: the fraction of the saliency mass (max over channels of
  |∂L_c/∂I|) that lies in the largest connected blob.  The raw map is speckled
  pixel by pixel, so it is blurred first (σ = ``sigma`` px) to measure where the
  evidence is rather than which pixels carry it; blobs are the pixels above
  ``threshold`` × the blurred map's maximum.  1 means all the evidence is in one
  region; many copies of an object share the mass between blobs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..gradients import class_score_gradient
from ..images import deprocess_batch, preprocess
from ..filters import gaussian_blur

#: Blur (pixels) and relative threshold of the single-object score.
SCORE_SIGMA = 4.0
SCORE_THRESHOLD = 0.3


def saved_images(net, images: torch.Tensor) -> list:
    """The batch as the 8-bit PIL images a user would save."""
    return deprocess_batch(net, images.detach())


def probabilities_of_saved(net, images: torch.Tensor, model=None) -> torch.Tensor:
    """Softmax (N, classes) of ``model`` (default ``net``) on the saved 8-bit images, resized to its input."""
    model = model if model is not None else net
    x = torch.cat([preprocess(model, im) for im in saved_images(net, images)])
    with torch.no_grad():
        return model(x).float().softmax(1).cpu()


def single_object_score(net, images: torch.Tensor, targets, sigma: float = SCORE_SIGMA,
                        threshold: float = SCORE_THRESHOLD) -> list[float]:
    """Fraction of the (blurred) saliency mass in the largest connected blob, per image."""
    from scipy import ndimage

    x = torch.cat([preprocess(net, im) for im in saved_images(net, images)])
    _, grad = class_score_gradient(net, x, targets)
    sal = gaussian_blur(grad.abs().amax(1, keepdim=True), sigma)[:, 0].cpu().numpy().astype(np.float64)
    scores = []
    for s in sal:
        total = float(s.sum())
        if total <= 0:
            scores.append(0.0)
            continue
        labels, count = ndimage.label(s >= threshold * s.max())
        if count == 0:
            scores.append(0.0)
            continue
        mass = ndimage.sum(s, labels, index=np.arange(1, count + 1))
        scores.append(float(np.max(mass) / total))
    return scores


def impression_metrics(net, images: torch.Tensor, targets: Sequence[int], transfer_models: Sequence = ()) -> list[dict]:
    """Per image: target probability, rank, single-object score and, per transfer model, the target probability."""
    targets = [int(t) for t in targets]
    probs = probabilities_of_saved(net, images)
    so = single_object_score(net, images, targets)
    out = []
    for i, t in enumerate(targets):
        p = probs[i]
        out.append({
            "target": t,
            "target_probability": float(p[t]),
            "target_rank": int((p > p[t]).sum()) + 1,
            "prediction": int(p.argmax()),
            "single_object": so[i],
            "transfer": {},
        })
    for model in transfer_models or ():
        tp = probabilities_of_saved(net, images, model)
        for i, t in enumerate(targets):
            out[i]["transfer"][model.name] = float(tp[i, t])
    return out
