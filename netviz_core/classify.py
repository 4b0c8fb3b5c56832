"""Top-k classification of an image."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .images import ImageSource, preprocess
from .models import LoadedModel


@dataclass(frozen=True)
class Classification:
    """The top classes of one image, best first."""

    indices: list[int]
    names: list[str]
    probabilities: list[float]
    logits: list[float]

    def as_dict(self) -> dict:
        return {
            "top": [
                {"index": i, "name": n, "probability": p, "logit": s}
                for i, n, p, s in zip(self.indices, self.names, self.probabilities, self.logits)
            ]
        }


def classify(net: LoadedModel, image: ImageSource | torch.Tensor, top_k: int = 5) -> Classification:
    """The ``top_k`` classes of ``image`` (a PIL image, a path, bytes, or a preprocessed (1,3,H,W) tensor)."""
    if not 1 <= int(top_k) <= net.num_classes:
        raise ValueError(f"top_k must be between 1 and {net.num_classes}, got {top_k}")
    x = image if isinstance(image, torch.Tensor) else preprocess(net, image)
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.shape[0] != 1:
        raise ValueError(f"classify takes one image; got a batch of {x.shape[0]} (use predict_batch)")
    logits = predict_logits(net, x)[0]
    probs = logits.softmax(-1)
    top_p, top_i = probs.topk(int(top_k))
    indices = [int(i) for i in top_i]
    return Classification(
        indices=indices,
        names=[net.class_names[i] for i in indices],
        probabilities=[float(p) for p in top_p],
        logits=[float(logits[i]) for i in indices],
    )


def predict_logits(net: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """Logits (N, num_classes) without building a graph."""
    with torch.no_grad():
        return net(x.to(net.device)).float()


def predict_proba(net: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """Softmax probabilities (N, num_classes)."""
    return predict_logits(net, x).softmax(-1)
