"""Transforms on the network's input: differentiable, seeded per image, never written into the stored image."""

from __future__ import annotations

import pytest
import torch

from netviz_core.optimize import (
    Adam,
    AdditiveNoise,
    ColorShift,
    Fourier,
    JitterCrop,
    Pad,
    RandomAffine,
    RandomCrop,
    StepContext,
    lucid_transforms,
    maco_transforms,
    make_generators,
    optimize,
)
from netviz_core.optimize.transforms import Transform

SIZE = 64


def _ctx(net, seeds):
    return StepContext(net=net, step=0, targets=torch.zeros(len(seeds), dtype=torch.long),
                       generators=make_generators(seeds, len(seeds)), state={})


class Recording(Transform):
    """Wraps the transforms and records what the network was given."""

    def __init__(self, inner):
        self.inner, self.seen = inner, []

    def __call__(self, x, ctx):
        for t in self.inner:
            x = t(x, ctx)
        self.seen.append(x.detach().clone())
        return x


def test_transforms_never_touch_the_stored_image(lite0):
    """With a zero learning rate every frame must show the start image, although the network saw transformed ones."""
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(2, 3, SIZE, SIZE, generator=g) * 2 - 1
    rec = Recording(lucid_transforms() + [AdditiveNoise(0.5)])
    frames = list(optimize(lite0, x0, [1, 2], step_rule=Adam(lr=0.0), transforms=[rec], iterations=6))
    for f in frames:
        assert torch.equal(f.images, x0)
    assert len(rec.seen) == 6 and all(s.shape[-1] == SIZE + 24 - 12 for s in rec.seen)
    # the network was given shifted, zoomed or rotated copies, not the stored image
    assert any((s[:, :, 6:-6, 6:-6] - x0).abs().max() > 1e-3 for s in rec.seen)


def test_transforms_never_touch_the_stored_image_with_fourier(lite0):
    fo = Fourier()
    x0 = fo.decode(fo.random(lite0, make_generators([0], 1), (SIZE, SIZE)), lite0)
    frames = list(optimize(lite0, x0, [1], step_rule=Adam(lr=0.0), parametrization=fo,
                           transforms=maco_transforms(), iterations=3))
    for f in frames:
        assert (f.images - x0).abs().max() < 1e-5


def test_each_transform_is_differentiable_and_seeded_per_image(lite0):
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(3, 3, SIZE, SIZE, generator=g) * 2 - 1).requires_grad_(True)
    for t in (Pad(5), JitterCrop(6), RandomAffine(), RandomCrop((0.4, 0.9)), AdditiveNoise(0.1), ColorShift(1.0, 1.0)):
        batch = t(x, _ctx(lite0, [0, 1, 2]))
        alone = t(x[2:3], _ctx(lite0, [2]))
        assert torch.allclose(batch[2:3], alone, atol=1e-6), t.name
        (grad,) = torch.autograd.grad(batch.square().sum(), x)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, t.name


def test_pad_is_grey_and_random_crop_has_the_box_size(lite0):
    x = torch.ones(1, 3, 10, 10)
    padded = Pad(3)(x, _ctx(lite0, [0]))
    grey = ((0.5 - lite0.mean) / lite0.std).reshape(3)
    assert padded.shape == (1, 3, 16, 16) and torch.allclose(padded[0, :, 0, 0], grey)
    out = RandomCrop((0.5, 0.5), size=20)(torch.rand(2, 3, 40, 40), _ctx(lite0, [0, 1]))
    assert out.shape == (2, 3, 20, 20)


def test_color_shift_shifts_and_scales_each_channel_about_grey_within_its_bounds(lite0):
    """Each image and channel gets x' = grey + (x − grey)·e^s + m with |s|, |m| ≤ the bounds; 0 is the identity."""
    g = torch.Generator().manual_seed(3)
    x = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1
    ctx = _ctx(lite0, [0, 1, 2, 3])
    grey = ((0.5 - lite0.mean) / lite0.std).reshape(1, 3, 1, 1)
    out = ColorShift(0.3, 0.2)(x, ctx)
    d, e = x - grey, out - grey
    # per image and channel an affine map: recover its scale and shift by least squares
    dm, em = d.mean(dim=(2, 3), keepdim=True), e.mean(dim=(2, 3), keepdim=True)
    scale = ((d - dm) * (e - em)).sum(dim=(2, 3)) / (d - dm).square().sum(dim=(2, 3))
    shift = (em - scale[..., None, None] * dm)[..., 0, 0]
    assert torch.allclose(e, scale[..., None, None] * d + shift[..., None, None], atol=1e-5)
    assert (scale.log().abs() <= 0.2 + 1e-6).all() and (shift.abs() <= 0.3 + 1e-6).all()
    assert scale.std() > 0.01 and shift.std() > 0.01  # not one value for all
    assert torch.equal(ColorShift(0.0, 0.0)(x, _ctx(lite0, [0, 1, 2, 3])), x)


def test_transform_samples_average_the_objective_over_independent_copies(lite0):
    """K samples: K transformed copies per step (each drawn anew), the objective is their mean; K=1 is one copy."""
    from netviz_core.errors import OptimizationError
    from netviz_core.optimize import ClassLogit

    g = torch.Generator().manual_seed(4)
    x0 = torch.rand(2, 3, SIZE, SIZE, generator=g) * 2 - 1
    rec = Recording([JitterCrop(6), AdditiveNoise(0.3)])
    seen_logits = []

    class Spy(ClassLogit):
        def value(self, ctx):
            v = super().value(ctx)
            seen_logits.append(v.detach().clone())
            return v

    frames = list(optimize(lite0, x0, [1, 2], step_rule=Adam(lr=0.0), transforms=[rec], objective=Spy(),
                           iterations=2, transform_samples=3))
    # 3 copies in each of the 2 steps; the final frame scores the image itself (no transforms, one pass)
    assert len(rec.seen) == 6 and len(seen_logits) == 7
    assert not torch.equal(rec.seen[0], rec.seen[1])  # independent draws, not one copy three times
    for step in range(2):
        mean = torch.stack(seen_logits[3 * step : 3 * step + 3]).mean(0)
        assert torch.allclose(frames[step].terms["logit"], mean, atol=1e-5)
    rec.seen.clear()
    list(optimize(lite0, x0, [1, 2], step_rule=Adam(lr=0.0), transforms=[rec], iterations=2))
    assert len(rec.seen) == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(OptimizationError, match="transform_samples"):
            list(optimize(lite0, x0, [1, 2], transforms=[rec], iterations=1, transform_samples=bad))
