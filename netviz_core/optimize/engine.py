"""The image-optimisation engine: gradient ascent on a batch of images.

Fooling images, class visualization and class impressions are all this loop with
different parts plugged in::

    for k = 0, 1, ...:
        logits   = net(transforms(x_k))                  # transforms are differentiable
        J        = objective(logits, x_k)                 # per image, higher is better
        yield Frame(k, x_k, score, probability, terms)    # the caller may stop here
        stop if k == max_iter or stop_when(frame)         # per image; stopped images freeze
        g        = ∂ΣJ/∂x_k                               # torch.autograd.grad, input only
        x_{k+1}  = post_steps(step_rule(x_k, g))          # e.g. clamp, blur every k, project

Frame k shows the image after k steps, with the scores the optimiser saw for it;
the last frame is scored again without transforms, so its numbers are those of the
image itself.  A caller that stops after k frames holds exactly the image of a run
of k steps.  Every image has its own random generator seeded from its seed, so a
batch of N images equals N separate runs with the same seeds.

The model is only read: no hooks, no mode change, no parameter gradient.  Values
that stop being finite or explode raise ``OptimizationError`` within the step.

Batched versus separate runs (``batch_invariant``)
--------------------------------------------------
The per-image generators make the *recipe* of a batch identical to N separate
runs, but not necessarily the *arithmetic*: on CPU the convolution and matmul
kernels (oneDNN / BLAS) pick their blocking from the batch size, so the same image
gives slightly different logits in a batch of 4 than alone.  Measured on
tf_efficientnet_lite0, 224x224 noise, torch 2.14 on a 2-core CPU: max |Δlogit| =
1.4e-6 and max |Δgradient| = 1.9e-8 between batch 4 and batch 1 (neither
channels_last nor disabling mkldnn removes it).  Class visualization then
amplifies it: ReLU6 makes the gradient piecewise constant, so a 1e-6 change that
moves one activation across a kink changes the gradient's direction, and the
normalised step (length 25 in CS231n) turns that into a different image.  With
the CS231n settings on lite0 (targets 76, 1, 130, 963, seed 0, 2 threads), batch 4
versus 4 separate runs: max |Δx| = 0 at step 0, 9.5e-7 after step 1 (1 pixel of
8-bit output off by 1), 0.022 after 2 steps, 0.22 after 3 (27/255), 1.1 after 4,
and from step 5 on unrelated pictures (max |Δ| 255/255; 39% of 8-bit pixels differ
at step 5, 97% at step 20).  With one thread (OMP_NUM_THREADS=1) the kernels
happened to agree for the steps we checked; nothing promises that.  Step rules,
post-steps and the noise start are element-wise or per-image reductions, and
were checked to be bitwise batch-independent.

``batch_invariant=True`` therefore runs the forward and backward pass image by
image inside each step (the step rule and post-steps still run on the batch).
Each image then sees exactly the arithmetic of a run of its own, so a batch
equals its separate runs bit for bit, at the cost of the batching speed-up.
In that mode transforms and objectives get a one-image ``StepContext`` (that
image's target and generator; ``state`` is shared, so they must not keep
batch-shaped tensors in it).  The default (False) is one batched pass: faster,
and equal to separate runs only to float tolerance after the first step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import torch

from ..errors import OptimizationError
from ..targets import as_target_tensor
from .objectives import ClassLogit, Objective
from .steps import NormalizedGradient, StepRule
from .transforms import PostStep, Transform

#: |x| beyond this many normalised units means the run has exploded (valid pixels are within ~±3).
EXPLODED = 1e4


@dataclass
class StepContext:
    """What the parts of one step see.  ``state`` persists across steps (optimiser moments, x0, masks)."""

    net: Any
    step: int
    targets: torch.Tensor
    generators: list[torch.Generator]
    state: dict
    images: torch.Tensor | None = None  # x_k, requires grad during the step
    logits: torch.Tensor | None = None
    terms: dict = field(default_factory=dict)

    def zeros(self) -> torch.Tensor:
        return torch.zeros(self.targets.shape[0], device=self.targets.device)


@dataclass
class Frame:
    """One step of the optimisation, as the UI draws it.

    ``images`` is x_k (normalised, detached; never modified later).  ``scores`` and
    ``probabilities`` are each image's target logit and softmax probability,
    ``terms`` the objective's named parts, all shape (N,).  ``active`` says which
    images are still being optimised; ``iterations`` how many steps each has taken.
    """

    step: int
    images: torch.Tensor
    targets: torch.Tensor
    scores: torch.Tensor
    probabilities: torch.Tensor
    predictions: torch.Tensor
    terms: dict[str, torch.Tensor]
    active: torch.Tensor
    iterations: torch.Tensor
    final: bool = False
    elapsed_s: float = 0.0

    def scalars(self) -> dict:
        """Plain Python numbers for JSON, charts and logs."""
        return {
            "step": self.step,
            "scores": self.scores.tolist(),
            "probabilities": self.probabilities.tolist(),
            "predictions": self.predictions.tolist(),
            "terms": {k: v.tolist() for k, v in self.terms.items()},
            "iterations": self.iterations.tolist(),
        }


def make_generators(seeds: int | Sequence[int], n: int) -> list[torch.Generator]:
    """One CPU generator per image; an int seed gives every image the same seed."""
    seeds = [int(seeds)] * n if isinstance(seeds, int) else [int(s) for s in seeds]
    if len(seeds) != n:
        raise ValueError(f"got {len(seeds)} seeds for {n} images")
    return [torch.Generator().manual_seed(s) for s in seeds]


def _check_finite(x: torch.Tensor, what: str, step: int, hint: str) -> None:
    # One reduction (and one device sync) for both checks: max |x| is NaN if any value is NaN
    # and inf if any is infinite.  isfinite().all() + abs().max() cost ~9x more per step.
    largest = float(x.detach().abs().amax())
    if not math.isfinite(largest):
        raise OptimizationError(f"Step {step}: the {what} became NaN or infinite. {hint}")
    if what == "image" and largest > EXPLODED:
        raise OptimizationError(f"Step {step}: the image exploded (|values| > {EXPLODED:g}). {hint}")


def optimize(
    net,
    init: torch.Tensor,
    targets,
    *,
    objective: Objective | None = None,
    step_rule: StepRule | None = None,
    transforms: Sequence[Transform] = (),
    post_steps: Sequence[PostStep] = (),
    max_iter: int = 100,
    stop_when: Callable[[Frame], torch.Tensor] | None = None,
    seed: int | Sequence[int] = 0,
    generators: list[torch.Generator] | None = None,
    state: dict | None = None,
    before_step: Callable[[StepContext, torch.Tensor], None] | None = None,
    batch_invariant: bool = False,
) -> Iterator[Frame]:
    """Gradient ascent on the batch ``init`` (N, 3, H, W); yields a ``Frame`` per step.

    ``objective`` defaults to the target logit, ``step_rule`` to the normalised
    gradient with lr 1.  ``stop_when(frame)`` returns a bool (N,) mask of images that
    are done; they stop changing and the run ends when all are done (or at
    ``max_iter`` steps).  ``before_step(ctx, grad)`` may read the gradient and put
    per-step data in ``ctx.state`` (e.g. a per-pixel learning rate) before the
    step rule runs.  Close the generator (or just stop iterating) to cancel.
    ``batch_invariant`` runs the forward and backward passes one image at a time,
    so that the batch equals separate runs bit for bit (see the module docstring).
    """
    objective = objective if objective is not None else ClassLogit()
    step_rule = step_rule if step_rule is not None else NormalizedGradient(1.0)
    max_iter = int(max_iter)
    if max_iter < 0:
        raise OptimizationError(f"The number of iterations must be 0 or more, got {max_iter}.")
    if init.dim() != 4 or init.shape[1] != 3:
        raise ValueError(f"init must be a batch (N, 3, H, W), got shape {tuple(init.shape)}")
    x = init.detach().to(net.device, torch.float32)
    n = x.shape[0]
    targets = as_target_tensor(targets, n, net.device)
    if int(targets.min()) < 0 or int(targets.max()) >= net.num_classes:
        raise OptimizationError(f"Target classes must be in 0..{net.num_classes - 1}, got {targets.tolist()}.")
    gens = generators if generators is not None else make_generators(seed, n)
    ctx = StepContext(net=net, step=0, targets=targets, generators=gens, state=state if state is not None else {})
    active = torch.ones(n, dtype=torch.bool, device=net.device)
    iterations = torch.zeros(n, dtype=torch.long, device=net.device)
    hint = "Lower the learning rate or the regularisation weights."
    started = time.perf_counter()

    for k in range(max_iter + 1):
        ctx.step, ctx.terms = k, {}
        last = k == max_iter
        if batch_invariant:
            passes = [
                _forward(StepContext(net=net, step=k, targets=targets[i : i + 1], generators=[gens[i]],
                                     state=ctx.state), x[i : i + 1], transforms, objective, last)
                for i in range(n)
            ]
            ctx.terms = {name: torch.cat([p.terms[name] for p in passes]) for name in passes[0].terms}
            logits = torch.cat([p.logits for p in passes]).detach()
        else:
            passes = [_forward(ctx, x, transforms, objective, last)]
            logits = ctx.logits.detach()
        _check_finite(logits, "class scores", k, hint)
        frame = Frame(
            step=k,
            images=x.detach(),
            targets=targets,
            scores=logits.gather(1, targets[:, None])[:, 0],
            probabilities=logits.softmax(1).gather(1, targets[:, None])[:, 0],
            predictions=logits.argmax(1),
            terms=dict(ctx.terms),
            active=active.clone(),
            iterations=iterations.clone(),
            final=last,
            elapsed_s=time.perf_counter() - started,
        )
        if stop_when is not None:
            active = active & ~stop_when(frame).to(active.device)
            frame.active = active.clone()
        if last or not bool(active.any()):
            frame.final = True
            if not last and transforms:
                frame = _rescore(net, frame, batch_invariant)
            yield frame
            return
        yield frame
        grads = [torch.autograd.grad(p.total.sum(), p.images)[0] for p in passes]
        grad = grads[0] if len(grads) == 1 else torch.cat(grads)
        del passes, grads
        ctx.images, ctx.logits = None, None  # release the graph before the step
        _check_finite(grad, "gradient", k, hint)
        if before_step is not None:
            before_step(ctx, grad)
        x_next = step_rule(x.detach(), grad, ctx)
        for op in post_steps:
            if op.active(k + 1):
                x_next = op(x_next, ctx)
        _check_finite(x_next, "image", k + 1, hint)
        if stop_when is not None:  # images that are done keep their pixels (without a stop rule none is)
            x_next = torch.where(active.view(-1, 1, 1, 1), x_next, x.detach())
        x = x_next
        iterations = iterations + active.long()


@dataclass
class _Pass:
    """One forward pass of a step: its input leaf, objective and logits (graph kept for the backward)."""

    images: torch.Tensor
    total: torch.Tensor
    logits: torch.Tensor
    terms: dict


def _forward(ctx: StepContext, x: torch.Tensor, transforms, objective: Objective, last: bool) -> _Pass:
    """Forward pass of ``x`` through the transforms and the net; fills ``ctx.images/logits/terms``."""
    with torch.enable_grad():
        # A fresh leaf per pass: x may be a view of the batch (batch-invariant mode).
        xk = x.detach().requires_grad_(not last)
        net_input = xk
        if not last:
            for t in transforms:
                net_input = t(net_input, ctx)
        ctx.images = xk
        ctx.logits = ctx.net(net_input).float()
        total = objective(ctx)
    return _Pass(images=xk, total=total, logits=ctx.logits, terms=ctx.terms)


def _rescore(net, frame: Frame, batch_invariant: bool = False) -> Frame:
    """Scores of the frame's images themselves (no transforms)."""
    with torch.no_grad():
        if batch_invariant:
            logits = torch.cat([net(frame.images[i : i + 1]) for i in range(frame.images.shape[0])]).float()
        else:
            logits = net(frame.images).float()
    t = frame.targets
    frame.scores = logits.gather(1, t[:, None])[:, 0]
    frame.probabilities = logits.softmax(1).gather(1, t[:, None])[:, 0]
    frame.predictions = logits.argmax(1)
    return frame


def run(frames: Iterator[Frame], on_frame: Callable[[Frame], Any] | None = None) -> tuple[Frame, list[Frame]]:
    """Drain ``frames``; returns (last frame, all frames).  ``on_frame`` returning False stops early."""
    history: list[Frame] = []
    last = None
    try:
        for frame in frames:
            history.append(frame)
            last = frame
            if on_frame is not None and on_frame(frame) is False:
                break
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    if last is None:  # pragma: no cover - optimize always yields at least one frame
        raise OptimizationError("The optimisation produced no frame.")
    return last, history
