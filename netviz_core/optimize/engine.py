"""The image-optimisation engine: gradient ascent on a batch of images.

Fooling images, class visualization and class impressions are all this loop with
different parts plugged in::

    p_0 = parametrization.encode(init)
    for k = 0, 1, ...:
        x_k      = parametrization.decode_at(p_k, ctx)    # the image (pixel: x_k = p_k; it may depend on k)
        logits, A = net(transforms(x_k))                 # transforms are differentiable; A: the layers J reads
        J        = objective(logits, A, x_k)              # per image, higher is better
        yield Frame(k, x_k, score, probability, terms)    # the caller may stop here
        stop if k == iterations or stop_when(frame)       # per image; stopped images freeze
        g        = ∂ΣJ/∂p_k                               # torch.autograd.grad, input only
        p_{k+1}  = post_steps(step_rule(p_k, g))          # e.g. clamp, blur every k, project

Frame k shows the image after k steps, with the scores the optimiser saw for it;
the last frame is scored again without transforms, so its numbers are those of the
image itself.  A caller that stops after k frames holds exactly the image of a run
of k steps.  Every image has its own random generator seeded from its seed, so a
batch of N images equals N separate runs with the same seeds.

Transforms only build the network's input: the stored image x_k is never replaced
by a transformed copy, so transformation robustness cannot pile up over the steps.
Post-steps act on the parameter (with ``pixel``, the image itself).

Layers: an objective lists the layers it reads (``Objective.layers``, e.g.
``Channel("blocks.3", 42)`` reads ``blocks.3``; ``ClassLogit`` reads ``"logits"``).
When it reads no layer but the logits, the pass is ``net(x)`` exactly as before the
layer machinery existed.  Otherwise one pass of ``layers.read_layers`` returns those
layers' activations (``ctx.activations``, ``ctx.feature_map(name)``) and the logits if
asked for; without them it stops at the deepest layer read, and the frame's
``scores`` are the objective's total (``probabilities`` NaN, ``predictions`` -1).

The model is only read: no hooks, no mode change, no parameter gradient.  Values
that stop being finite or explode raise ``OptimizationError`` within the step.

Batched versus separate runs (``batch_invariant``)
--------------------------------------------------
Rule: by default a batch is one forward and backward pass, equal to separate runs
only to float tolerance; ``batch_invariant=True`` runs the passes image by image
and equals separate runs bit for bit, at the cost of the batching speed-up.

Reason: the per-image generators make the *recipe* of a batch identical to N
separate runs, but not the *arithmetic*: CPU convolution and matmul kernels
(oneDNN / BLAS) pick their blocking from the batch size, so the same image gets
logits that differ in the last bits.  Class visualization amplifies that: ReLU6
makes the gradient piecewise constant, a tiny change that moves one activation
across a kink turns the gradient's direction, and a large normalised step (CS231n)
turns that into a different picture within a few steps.  Step rules, post-steps,
parametrizations and the random starts are element-wise or per-image, so they are
batch-independent; only the network is not.  (The measured divergence, step by
step, is in ``benchmarks/results/batch_invariance.md``.)  In batch-invariant mode
transforms and objectives get a one-image ``StepContext`` (that image's target and
generator; ``state`` is shared, so they must not keep batch-shaped tensors in it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch

from ..errors import OptimizationError
from ..layers import LOGITS, read_layers
from ..targets import as_target_tensor
from .context import StepContext
from .objectives import ClassLogit, Objective
from .parametrizations import Parametrization, Pixel
from .steps import NormalizedGradient, StepRule
from .transforms import PostStep, Transform

#: |x| beyond this many normalised units means the run has exploded (valid pixels are within ~±3).
EXPLODED = 1e4


@dataclass
class Frame:
    """One step of the optimisation, as the UI draws it.

    ``images`` is the decoded image x_k (normalised, detached; never modified later).  ``scores`` and
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
    iterations: int = 100,
    stop_when: Callable[[Frame], torch.Tensor] | None = None,
    seed: int | Sequence[int] = 0,
    generators: list[torch.Generator] | None = None,
    state: dict | None = None,
    before_step: Callable[[StepContext, torch.Tensor], None] | None = None,
    batch_invariant: bool = False,
    parametrization: Parametrization | None = None,
    transform_samples: int = 1,
) -> Iterator[Frame]:
    """Gradient ascent on the batch ``init`` (N, 3, H, W); yields a ``Frame`` per step.

    ``objective`` defaults to the target logit, ``step_rule`` to the normalised
    gradient with lr 1.  ``stop_when(frame)`` returns a bool (N,) mask of images that
    are done; they stop changing and the run ends when all are done (or at
    ``iterations`` steps).  ``before_step(ctx, grad)`` may read the gradient and put
    per-step data in ``ctx.state`` (e.g. a per-pixel learning rate) before the
    step rule runs.  Close the generator (or just stop iterating) to cancel.
    ``batch_invariant`` runs the forward and backward passes one image at a time,
    so that the batch equals separate runs bit for bit (see the module docstring).
    ``parametrization`` (default ``Pixel``) says what is optimised: ``init`` is encoded
    into it, the step rule and post-steps move the parameter, frames show the decoded
    image.  ``transform_samples`` > 1 averages the objective over that many independently
    transformed copies of each image per step (one pass each).
    """
    objective = objective if objective is not None else ClassLogit()
    step_rule = step_rule if step_rule is not None else NormalizedGradient(1.0)
    parametrization = parametrization if parametrization is not None else Pixel()
    iterations = int(iterations)
    if iterations < 0:
        raise OptimizationError(f"The number of iterations must be 0 or more, got {iterations}.")
    if isinstance(transform_samples, bool) or not isinstance(transform_samples, int) or transform_samples < 1:
        raise OptimizationError(f"transform_samples must be a whole number, 1 or more; got {transform_samples!r}.")
    if init.dim() != 4 or init.shape[1] != 3:
        raise ValueError(f"init must be a batch (N, 3, H, W), got shape {tuple(init.shape)}")
    p = parametrization.encode(init.detach().to(net.device, torch.float32), net)
    n = p.shape[0]
    what = "image" if isinstance(parametrization, Pixel) else f"{parametrization.name} parameter"
    targets = as_target_tensor(targets, n, net.device)
    if int(targets.min()) < 0 or int(targets.max()) >= net.num_classes:
        raise OptimizationError(f"Target classes must be in 0..{net.num_classes - 1}, got {targets.tolist()}.")
    if batch_invariant and objective.couples_images:
        raise OptimizationError("This objective compares the images of the batch (diversity), so it cannot run "
                                "image by image: turn batch_invariant off.")
    gens = generators if generators is not None else make_generators(seed, n)
    ctx = StepContext(net=net, step=0, targets=targets, generators=gens, state=state if state is not None else {})
    active = torch.ones(n, dtype=torch.bool, device=net.device)
    taken = torch.zeros(n, dtype=torch.long, device=net.device)
    hint = "Lower the learning rate or the regularisation weights."
    started = time.perf_counter()

    for k in range(iterations + 1):
        ctx.step, ctx.terms = k, {}
        last = k == iterations
        if batch_invariant:
            passes = [
                _forward(StepContext(net=net, step=k, targets=targets[i : i + 1], generators=[gens[i]],
                                     state=ctx.state), p[i : i + 1], parametrization, transforms, objective, last,
                         transform_samples)
                for i in range(n)
            ]
            ctx.terms = {name: torch.cat([q.terms[name] for q in passes]) for name in passes[0].terms}
            logits = torch.cat([q.logits for q in passes]).detach() if passes[0].logits is not None else None
            total = torch.cat([q.total for q in passes]).detach()
            x = torch.cat([q.images for q in passes]).detach()
        else:
            passes = [_forward(ctx, p, parametrization, transforms, objective, last, transform_samples)]
            logits = ctx.logits.detach() if ctx.logits is not None else None
            total = passes[0].total.detach()
            x = passes[0].images.detach()
        if logits is not None:
            _check_finite(logits, "class scores", k, hint)
            scores = logits.gather(1, targets[:, None])[:, 0]
            probabilities = logits.softmax(1).gather(1, targets[:, None])[:, 0]
            predictions = logits.argmax(1)
        else:  # a layer objective that stopped the pass before the logits: the objective is the score
            _check_finite(total, "objective", k, hint)
            scores = total.float()
            probabilities = torch.full_like(scores, float("nan"))
            predictions = torch.full_like(targets, -1)
        frame = Frame(
            step=k,
            images=x.detach(),
            targets=targets,
            scores=scores,
            probabilities=probabilities,
            predictions=predictions,
            terms=dict(ctx.terms),
            active=active.clone(),
            iterations=taken.clone(),
            final=last,
            elapsed_s=time.perf_counter() - started,
        )
        if stop_when is not None:
            active = active & ~stop_when(frame).to(active.device)
            frame.active = active.clone()
        if last or not bool(active.any()):
            frame.final = True
            if not last and transforms and logits is not None:
                frame = _rescore(net, frame, batch_invariant)
            yield frame
            return
        yield frame
        grads = [torch.autograd.grad(q.total.sum(), q.params)[0] for q in passes]
        grad = grads[0] if len(grads) == 1 else torch.cat(grads)
        del passes, grads
        ctx.images, ctx.logits, ctx.activations = None, None, {}  # release the graph before the step
        _check_finite(grad, "gradient", k, hint)
        if before_step is not None:
            before_step(ctx, grad)
        p_next = step_rule(p.detach(), grad, ctx)
        for op in post_steps:
            if op.active(k + 1):
                p_next = op(p_next, ctx)
        _check_finite(p_next, what, k + 1, hint)
        if stop_when is not None:  # images that are done keep their pixels (without a stop rule none is)
            p_next = torch.where(active.view(-1, *[1] * (p.dim() - 1)), p_next, p.detach())
        p = p_next
        taken = taken + active.long()


@dataclass
class _Pass:
    """One forward pass of a step: its parameter leaf, decoded image, objective and logits (graph kept)."""

    params: torch.Tensor
    images: torch.Tensor
    total: torch.Tensor
    logits: torch.Tensor | None
    terms: dict


def _forward(ctx: StepContext, p: torch.Tensor, parametrization: Parametrization, transforms,
             objective: Objective, last: bool, samples: int = 1) -> _Pass:
    """Decode ``p``, pass it through the transforms and the net; fills ``ctx.images/logits/terms``.

    With ``samples`` > 1 (and transforms) the objective is the mean over that many
    independently transformed copies: an estimate of its expectation over the
    transforms with less variance, at ``samples`` passes per step (MACO averages over
    several crops per step).  The logits are the last copy's.
    """
    with torch.enable_grad():
        # A fresh leaf per pass: p may be a view of the batch (batch-invariant mode).
        pk = p.detach().requires_grad_(not last)
        xk = parametrization.decode_at(pk, ctx)
        ctx.images = xk
        copies = samples if transforms and not last else 1
        total, terms = None, {}
        for _ in range(copies):
            net_input = xk
            if not last:
                for t in transforms:
                    net_input = t(net_input, ctx)
            ctx.terms = {}
            network_pass(ctx, net_input, objective.layers)
            value = objective(ctx)
            total = value if total is None else total + value
            for name, v in ctx.terms.items():
                terms[name] = terms.get(name, 0) + v
        if copies > 1:
            total = total / copies
            ctx.terms = {name: v / copies for name, v in terms.items()}
    return _Pass(params=pk, images=xk, total=total, logits=ctx.logits, terms=ctx.terms)


def network_pass(ctx: StepContext, net_input: torch.Tensor, layers: frozenset) -> None:
    """One forward pass of ``ctx.net`` that fills ``ctx.activations`` with ``layers`` and ``ctx.logits`` (float).

    Reading no layer but the logits is ``net(x)``, the pass of every run before layer
    objectives existed and at its cost; otherwise ``layers.read_layers`` (one pass,
    cut after the deepest layer when the logits are not read: ``ctx.logits`` is None).
    """
    if layers <= {LOGITS}:
        ctx.logits = ctx.net(net_input).float()
        ctx.activations = {LOGITS: ctx.logits}
    else:
        ctx.activations = read_layers(ctx.net, net_input, layers)
        ctx.logits = ctx.activations[LOGITS].float() if LOGITS in layers else None


def logits_of(net, images: torch.Tensor, batch_invariant: bool = False) -> torch.Tensor:
    """The network's float logits of ``images`` themselves (no transforms, no gradient).

    In batch-invariant mode one image at a time, the arithmetic a run of that mode uses.
    """
    with torch.no_grad():
        if batch_invariant:
            return torch.cat([net(images[i : i + 1]) for i in range(images.shape[0])]).float()
        return net(images).float()


def _rescore(net, frame: Frame, batch_invariant: bool = False) -> Frame:
    """Scores of the frame's images themselves (no transforms)."""
    logits = logits_of(net, frame.images, batch_invariant)
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
