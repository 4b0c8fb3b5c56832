"""Objectives: what the image optimisation maximises.

An objective maps a ``StepContext`` to one value per image (shape (N,)), higher
is better.  Objectives compose like numbers (the way Lucent composes them)::

    ClassLogit() - 1e-3 * L2Norm()          # CS231n class visualization
    ClassLogit() - 0.05 * TotalVariation()  # TV prior, eq. 1 of Addepalli et al.

Each named leaf is recorded in the frame's loss terms, so the UI can plot them.
A term with ``every=k`` only contributes on steps that are multiples of k.
"""

from __future__ import annotations

from typing import Callable

import torch

from .context import StepContext


class Objective:
    """Base class.  Subclasses implement ``value(ctx) -> Tensor(N,)``."""

    name: str = "objective"
    every: int = 1

    def value(self, ctx: StepContext) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def active(self, step: int) -> bool:
        return self.every <= 1 or step % self.every == 0

    def __call__(self, ctx: StepContext) -> torch.Tensor:
        """Total value; every named leaf is also written to ``ctx.terms``."""
        return self.weighted_terms(ctx, 1.0)

    def weighted_terms(self, ctx: StepContext, weight: float) -> torch.Tensor:
        if not self.active(ctx.step):
            return ctx.zeros()
        v = self.value(ctx)
        ctx.terms[self.name] = v.detach()
        return weight * v

    # composition ---------------------------------------------------------
    def __add__(self, other: "Objective") -> "Objective":
        return Sum([(1.0, self), (1.0, _as_objective(other))])

    def __sub__(self, other: "Objective") -> "Objective":
        return Sum([(1.0, self), (-1.0, _as_objective(other))])

    def __mul__(self, weight: float) -> "Objective":
        return Sum([(float(weight), self)])

    __rmul__ = __mul__

    def __neg__(self) -> "Objective":
        return Sum([(-1.0, self)])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _as_objective(obj) -> Objective:
    if not isinstance(obj, Objective):
        raise TypeError(f"cannot combine an Objective with {type(obj).__name__}")
    return obj


class Sum(Objective):
    """Σ weight_i · objective_i (flattened, so that nested sums stay one level deep)."""

    name = "total"

    def __init__(self, parts: list[tuple[float, Objective]]):
        flat: list[tuple[float, Objective]] = []
        for w, o in parts:
            if isinstance(o, Sum):
                flat += [(w * w2, o2) for w2, o2 in o.parts]
            else:
                flat.append((w, o))
        self.parts = flat

    def weighted_terms(self, ctx: StepContext, weight: float) -> torch.Tensor:
        total = ctx.zeros()
        for w, o in self.parts:
            total = total + o.weighted_terms(ctx, weight * w)
        return total

    def __repr__(self) -> str:
        return " + ".join(f"{w:g}·{o!r}" for w, o in self.parts)


class ClassLogit(Objective):
    """S_c(I): the unnormalised score of each image's target class (Simonyan et al.)."""

    name = "logit"

    def value(self, ctx: StepContext) -> torch.Tensor:
        return ctx.logits.gather(1, ctx.targets[:, None])[:, 0]


class ClassLogProbability(Objective):
    """log P_c(I) = S_c − log Σ exp S: the posterior, which can also rise by lowering other classes."""

    name = "log_posterior"

    def value(self, ctx: StepContext) -> torch.Tensor:
        return ctx.logits.log_softmax(1).gather(1, ctx.targets[:, None])[:, 0]


class L2Norm(Objective):
    """‖I‖²₂ of each image in normalised units (R(I) = λ‖I‖²₂ in CS231n); subtract it with a weight λ."""

    name = "l2"

    def __init__(self, every: int = 1):
        self.every = int(every)

    def value(self, ctx: StepContext) -> torch.Tensor:
        return ctx.images.pow(2).flatten(1).sum(1)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Σ |I(i+1,j) − I(i,j)| + |I(i,j+1) − I(i,j)| per image: the anisotropic TV of eq. 1."""
    dh = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().flatten(1).sum(1)
    dw = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().flatten(1).sum(1)
    return dh + dw


class TotalVariation(Objective):
    """Total variation (eq. 1 of Addepalli et al.); subtract it with a weight λ1."""

    name = "tv"

    def __init__(self, every: int = 1):
        self.every = int(every)

    def value(self, ctx: StepContext) -> torch.Tensor:
        return total_variation(ctx.images)


class Lambda(Objective):
    """An objective from a function ``ctx -> Tensor(N,)``: for experiments."""

    def __init__(self, fn: Callable[[StepContext], torch.Tensor], name: str = "custom", every: int = 1):
        self.fn, self.name, self.every = fn, name, int(every)

    def value(self, ctx: StepContext) -> torch.Tensor:
        return self.fn(ctx)
