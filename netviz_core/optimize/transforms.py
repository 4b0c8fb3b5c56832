"""Transforms and post-step operations on the image batch.

Two kinds, both per image and driven by each image's own random generator (so a
batch reproduces separate runs with the same seed):

* **Transforms** (``Transform``) act on the image on its way into the network and
  are differentiable, so autograd undoes them on the way back: the gradient lands
  on the untransformed image.  ``Jitter`` is CS231n's "roll the image, step, roll
  back", done as one differentiable roll (identical for a permutation like a roll).
  ``Pad``, ``JitterCrop``, ``RandomAffine``, ``RandomCrop`` and ``AdditiveNoise`` are
  Lucid's and MACO's transformation robustness: the network must score the class
  under small shifts, zooms, rotations and noise, so the image cannot rely on a
  pixel-exact adversarial pattern.  They only build the network's input; the stored
  image (the one the optimiser moves and the frames show) never sees them.
* **Post-step operations** (``PostStep``) change the image itself after the step:
  clamping to the valid pixel range, periodic Gaussian blur (Yosinski et al.),
  the L∞ projection of fooling images, the random transforms of class impressions.

Everything is torch on the model's device: no numpy round trip per step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from ..filters import gaussian_blur

from .context import StepContext


def randint(ctx: StepContext, i: int, low: int, high: int) -> int:
    """Uniform integer in [low, high] from image i's generator."""
    return int(torch.randint(low, high + 1, (1,), generator=ctx.generators[i]).item())


def uniform(ctx: StepContext, i: int, low: float, high: float, shape=(1,)) -> torch.Tensor:
    """Uniform floats in [low, high) from image i's generator (on the CPU, to be moved by the caller)."""
    return torch.rand(shape, generator=ctx.generators[i]) * (high - low) + low


class _ImageOperation:
    """What a transform and a post-step share: a call on the batch and the settings it reports."""

    name = "operation"
    #: The key under which ``settings()`` reports the operation's name.
    kind = "operation"

    def __call__(self, x: torch.Tensor, ctx: StepContext) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def settings(self) -> dict:
        return {self.kind: self.name, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class Transform(_ImageOperation):
    """A differentiable map applied to the batch before the forward pass."""

    name = "transform"
    kind = "transform"


class _PixelsTransform(Transform):
    """A transform with one size in pixels that is the identity at 0 pixels."""

    def __init__(self, pixels: int):
        self.pixels = int(pixels)

    def __call__(self, x, ctx):
        return x if self.pixels <= 0 else self.apply(x, ctx)

    def apply(self, x: torch.Tensor, ctx: StepContext) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


class Jitter(_PixelsTransform):
    """Roll each image by a random (dy, dx) with |dy|, |dx| ≤ ``pixels`` (CS231n's jitter)."""

    name = "jitter"

    def apply(self, x, ctx):
        shifts = [(randint(ctx, i, -self.pixels, self.pixels), randint(ctx, i, -self.pixels, self.pixels))
                  for i in range(x.shape[0])]
        if _same_offsets(shifts):
            return torch.roll(x, shifts=shifts[0], dims=(2, 3))
        return torch.cat([torch.roll(x[i : i + 1], shifts=s, dims=(2, 3)) for i, s in enumerate(shifts)])


def grey(ctx: StepContext) -> torch.Tensor:
    """Mid-grey (pixel value ½) in the model's normalised units, (1, 3, 1, 1)."""
    return ((0.5 - ctx.net.mean) / ctx.net.std).reshape(1, 3, 1, 1).to(ctx.targets.device)


def _same_offsets(offsets: list) -> bool:
    return all(o == offsets[0] for o in offsets)


class Pad(_PixelsTransform):
    """Pad every side by ``pixels`` with mid-grey (Lucid's ``pad(12, constant_value=.5)``): room to jitter and rotate."""

    name = "pad"

    def apply(self, x, ctx):
        g = grey(ctx)
        p = self.pixels
        return F.pad(x - g, (p, p, p, p)) + g


class JitterCrop(_PixelsTransform):
    """Lucid's ``jitter(d)``: a (H−d)×(W−d) window at a random offset per image (the input shrinks by d)."""

    name = "jitter_crop"

    def apply(self, x, ctx):
        d = self.pixels
        h, w = x.shape[-2] - d, x.shape[-1] - d
        offsets = [(randint(ctx, i, 0, d), randint(ctx, i, 0, d)) for i in range(x.shape[0])]
        if _same_offsets(offsets):
            return TF.crop(x, offsets[0][0], offsets[0][1], h, w)
        return torch.cat([TF.crop(x[i : i + 1], oy, ox, h, w) for i, (oy, ox) in enumerate(offsets)])


#: Lucid's ``standard_transforms``: scales 0.9-1.1 in steps of 0.02, angles -10..10 degrees with 0 six times.
LUCID_SCALES = tuple(1 + (i - 5) / 50 for i in range(11))
LUCID_ANGLES = tuple(range(-10, 11)) + (0,) * 5


class RandomAffine(Transform):
    """Zoom by one of ``scales`` and rotate by one of ``angles`` (degrees) about the centre, per image.

    ``torchvision.transforms.v2.functional.affine`` (bilinear, differentiable); the
    canvas keeps its size, corners outside the image are mid-grey.  Lucid resizes
    instead of zooming, which would give every image of a batch another size.
    """

    name = "random_affine"

    def __init__(self, scales=LUCID_SCALES, angles=LUCID_ANGLES):
        self.scales = tuple(float(v) for v in scales) or (1.0,)
        self.angles = tuple(float(v) for v in angles) or (0.0,)

    def __call__(self, x, ctx):
        # Filled with zeros around a grey-centred image: torchvision's own fill colour is
        # applied in place, which autograd refuses.
        g = grey(ctx)
        params = [(self.scales[randint(ctx, i, 0, len(self.scales) - 1)],
                   self.angles[randint(ctx, i, 0, len(self.angles) - 1)]) for i in range(x.shape[0])]
        out = []
        for i, (scale, angle) in enumerate(params):
            xi = x[i : i + 1]
            if scale != 1.0 or angle != 0.0:
                xi = TF.affine(xi - g, angle=angle, translate=[0.0, 0.0], scale=scale, shear=[0.0, 0.0],
                               interpolation=InterpolationMode.BILINEAR) + g
            out.append(xi)
        return out[0] if len(out) == 1 else torch.cat(out)


class RandomCrop(Transform):
    """MACO's random crops: a square box of side U[box]·min(H, W) at a random place, resized to ``size``.

    ``box`` = (smallest, largest) side as a fraction of the image; ``size`` the
    side the network gets (None: the image's own size).
    """

    name = "random_crop"

    def __init__(self, box: tuple[float, float] = (0.5, 1.0), size: int | None = None):
        lo, hi = (float(v) for v in box)
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"crop box sizes must satisfy 0 < smallest <= largest <= 1; got {box!r}")
        self.box, self.size = (lo, hi), (None if size is None else int(size))

    def __call__(self, x, ctx):
        h, w = x.shape[-2:]
        size = [self.size or h, self.size or w]
        out = []
        for i in range(x.shape[0]):
            side = max(1, int(round(float(uniform(ctx, i, *self.box)) * min(h, w))))
            top, left = randint(ctx, i, 0, h - side), randint(ctx, i, 0, w - side)
            out.append(TF.resized_crop(x[i : i + 1], top, left, side, side, size,
                                       interpolation=InterpolationMode.BILINEAR, antialias=False))
        return out[0] if len(out) == 1 else torch.cat(out)


class AdditiveNoise(Transform):
    """Add Gaussian noise of standard deviation ``std`` (normalised units) to the network's input (MACO: 0.1)."""

    name = "noise"

    def __init__(self, std: float):
        self.std = float(std)

    def __call__(self, x, ctx):
        if self.std <= 0:
            return x
        noise = torch.stack([torch.randn(x.shape[1:], generator=ctx.generators[i]) for i in range(x.shape[0])])
        return x + self.std * noise.to(x.device, x.dtype)


class ColorShift(Transform):
    """A random colour shift per image and channel: x·e^s + m, s ~ U(−``log_scale``, ``log_scale``), m ~ U(−``shift``, ``shift``).

    Plug-In Inversion's (Ghiasi et al. 2022) colour augmentation, in normalised units,
    about the image's grey: the network must score the class whatever the exact colours
    and contrast, so the picture cannot rest on colour values that only this network
    reads (saturated white and black patches); shapes and textures carry the class.
    """

    name = "color_shift"

    def __init__(self, shift: float = 0.5, log_scale: float = 0.5):
        self.shift, self.log_scale = float(shift), float(log_scale)

    def __call__(self, x, ctx):
        if self.shift <= 0 and self.log_scale <= 0:
            return x
        n, c = x.shape[:2]
        m = torch.stack([uniform(ctx, i, -self.shift, self.shift, (c,)) for i in range(n)])
        s = torch.stack([uniform(ctx, i, -self.log_scale, self.log_scale, (c,)) for i in range(n)]).exp()
        g = grey(ctx)
        return (x - g) * s.to(x.device, x.dtype)[:, :, None, None] + g + m.to(x.device, x.dtype)[:, :, None, None]


def lucid_transforms() -> list[Transform]:
    """Lucid's ``standard_transforms``: pad 12, jitter 8, scale 0.9-1.1, rotate ±10°, jitter 4."""
    return [Pad(12), JitterCrop(8), RandomAffine(LUCID_SCALES, LUCID_ANGLES), JitterCrop(4)]


def maco_transforms(box: tuple[float, float] = (0.5, 1.0), noise: float = 0.1) -> list[Transform]:
    """MACO's: a random crop of side ``box`` (fraction) resized back, then additive noise."""
    return [RandomCrop(box), AdditiveNoise(noise)]


class PostStep(_ImageOperation):
    """An operation on the image after each step (or every ``every`` steps)."""

    name = "post_step"
    kind = "op"
    every: int = 1

    def active(self, step: int) -> bool:
        return self.every <= 1 or step % self.every == 0


class ClampToPixelRange(PostStep):
    """Keep every channel inside the normalised image of [0, 1] (CS231n clamps after each step)."""

    name = "clamp"

    def __call__(self, x, ctx):
        return torch.maximum(torch.minimum(x, ctx.net.pixel_max), ctx.net.pixel_min)


class GaussianBlur(PostStep):
    """Blur with standard deviation ``sigma`` pixels every ``every`` steps (implicit regulariser)."""

    name = "blur"

    def __init__(self, sigma: float = 0.5, every: int = 10):
        self.sigma, self.every = float(sigma), int(every)

    def __call__(self, x, ctx):
        return gaussian_blur(x, self.sigma)


class ProjectLinf(PostStep):
    """Project onto ‖X − X₀‖∞ ≤ ε (ε in normalised units), X₀ in ``ctx.state['x0']``.

    ``epsilon`` is a number, or a tensor broadcastable to the batch, e.g. (1, 3, 1, 1):
    a bound fixed in 0–255 pixel units is a different number of normalised units on
    channels of different std.
    """

    name = "project_linf"

    def __init__(self, epsilon: "float | torch.Tensor"):
        self.epsilon = epsilon if isinstance(epsilon, torch.Tensor) else float(epsilon)

    def __call__(self, x, ctx):
        x0 = ctx.state["x0"]
        return torch.maximum(torch.minimum(x, x0 + self.epsilon), x0 - self.epsilon)
