"""Small hand-made models for the saliency tests: every number they give can be worked out by hand."""

from __future__ import annotations

import torch
from torch import nn

from netviz_core.models import DataConfig, LoadedModel


def wrap(module: nn.Module, size: tuple[int, int], classes: int) -> LoadedModel:
    """A frozen LoadedModel around ``module`` with identity normalisation (mean 0, std 1)."""
    module.eval().requires_grad_(False)
    config = DataConfig(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), input_size=(3, *size))
    return LoadedModel("toy", module, config, tuple(f"c{i}" for i in range(classes)), "random")


class Linear(nn.Module):
    """logits = W x + b with W of shape (classes, 3, H, W)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.clone())
        self.bias = nn.Parameter(torch.zeros(weight.shape[0]) if bias is None else bias.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nchw,kchw->nk", x, self.weight) + self.bias


def linear_net(weight: torch.Tensor, bias: torch.Tensor | None = None) -> LoadedModel:
    return wrap(Linear(weight, bias), tuple(weight.shape[-2:]), weight.shape[0])


class SmallCNN(nn.Module):
    """conv-ReLU-conv-ReLU-GAP-linear: nonlinear, but small enough to run hundreds of times in a test."""

    def __init__(self, classes: int = 4, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng():  # seeded layers without moving the global generator
            torch.manual_seed(seed)
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 12, 3, padding=1)
            self.fc = nn.Linear(12, classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features.mean(dim=(2, 3)))

    def get_classifier(self) -> nn.Module:
        return self.fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def small_cnn(size=(12, 14), classes: int = 4, seed: int = 0) -> LoadedModel:
    return wrap(SmallCNN(classes, seed), size, classes)
