"""Starting images for the optimisation, drawn from each image's own generator."""

from __future__ import annotations

import torch


def noise_image(net, n: int, generators: list[torch.Generator], std: float = 1.0) -> torch.Tensor:
    """Gaussian noise in normalised units (CS231n: randn), clamped to the valid pixel range."""
    h, w = net.input_size
    x = torch.stack([torch.randn(3, h, w, generator=g) * std for g in generators[:n]]).to(net.device)
    return torch.maximum(torch.minimum(x, net.pixel_max), net.pixel_min)


def mean_image(net, n: int) -> torch.Tensor:
    """Simonyan et al.: the zero image plus the training-set mean, i.e. 0 in normalised units."""
    h, w = net.input_size
    return torch.zeros(n, 3, h, w, device=net.device)


def uniform_noise_on_mean(net, n: int, generators: list[torch.Generator], amplitude: float = 1.0) -> torch.Tensor:
    """Mopuri et al.'s start: the mean image plus uniform noise spanning 255 levels, in normalised units.

    Their network takes mean-subtracted input, so "the mean image plus U[0, 255]"
    is read here as noise centred on the mean: pixel = mean + amplitude·(U[0, 1] − ½).
    Adding U[0, 255] on top of the mean instead would push half of every channel past
    white and clamp it, which washes the impressions out.  With amplitude 1 and a
    mean of ½ (the lite models) the start is exactly U[0, 1] per pixel.
    """
    h, w = net.input_size
    noise01 = torch.stack([torch.rand(3, h, w, generator=g) for g in generators[:n]]).to(net.device)
    x = net.mean + amplitude * (noise01 - 0.5)  # in [0, 1] pixel units
    x = (x - net.mean) / net.std
    return torch.maximum(torch.minimum(x, net.pixel_max), net.pixel_min)
