"""Saliency-driven class impressions (Addepalli et al.) and negative images, on the optimisation engine.

One run, for a batch of target classes (each image its own seed)::

    x0     = mean image + U[0, 255] noise                         (init.uniform_noise_on_mean)
    preCI  = a few plain steps at a very high rate from x0         (single_object only)
    centre = eq. 5 on |preCI − x0|                                 (the change the class made)
    x      = x0, then `iterations` steps of
             x += lr_map ⊙ g / max|g|        g = ∂L_c/∂x            (MapScaledGradient)
             lr_map = grad_cum_{i−1} · ĝ_i · circ(centre, r_i)     (SaliencyLearningRate)
             x −= lr · λ1 · ∂TV/∂x every k                         (TVStep)
             clamp to the pixel range
           with Mopuri's random transforms on the network's input    (RandomImpressionInputTransforms)

The pre-CI is measured as the change from x0 because x0's noise is the same
everywhere in distribution: only what the class developed says where it is
strongest.  The main run starts again from x0 ("develop this region again"), so the
object grows out of the chosen circle instead of out of the pre-CI's many copies.

That is the ``pixel`` recipe.  With ``parametrization="fourier"`` (the default) or
``"maco"`` the same parts act on the decoded image instead (``parametrized``): x0 is
the parametrization's random start (a nearly grey image), the map scales ∂L/∂x on its
way back to the spectrum, the circle composites the decoded image over x0, TV is a
term of the objective, and Adam moves the spectrum (``parts.engine_parts``, the one place
that turns settings into the engine's parts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import torch

from ..errors import ImpressionError
from ..optimize.engine import Frame, make_generators, optimize, run
from ..optimize.objectives import Objective
from ..targets import resolve_targets
from .circles import circle_mask, most_activated_circle
from .parts import engine_parts, learning_rate_map, optimization_model, start_images
from .schedule import radius_at
from .settings import ImpressionSettings


def _settings_or_default(settings: ImpressionSettings | None) -> ImpressionSettings:
    if settings is None:
        return ImpressionSettings()
    if not isinstance(settings, ImpressionSettings):
        raise ImpressionError(f"settings must be an ImpressionSettings, got {type(settings).__name__}.")
    return settings


def _seeds(settings: ImpressionSettings, n: int, seeds) -> list[int]:
    if seeds is None:
        return [settings.seed + i for i in range(n)]
    seeds = [int(seeds)] * n if isinstance(seeds, int) else [int(s) for s in seeds]
    if len(seeds) != n:
        raise ImpressionError(f"Got {len(seeds)} seeds for {n} target classes.")
    return seeds


def growing_circle(centres: torch.Tensor, settings: ImpressionSettings, size: tuple[int, int]):
    """The mask function of sec. 3.3: circ(centre, r(step)) with the linear radius schedule."""
    cache: dict[float, torch.Tensor] = {}

    def mask(ctx) -> torch.Tensor:
        r = radius_at(ctx.step, settings.radius_start, settings.radius_max, settings.radius_iterations)
        if r not in cache:
            cache.clear()
            cache[r] = circle_mask(centres, r, size).to(ctx.targets.device)
        ctx.state["radius"] = r
        return cache[r]

    return mask


def pre_class_impression(net, x0, targets, settings, generators) -> torch.Tensor:
    """A few plain logit steps at the very high rate ``preci_lr`` (random transforms on, nothing else)."""
    last, _ = run(optimize(optimization_model(net, settings), x0, targets, **engine_parts(settings, None, tv=False),
                           generators=generators))
    return last.images


def impression_frames(
    net,
    targets,
    settings: ImpressionSettings | None = None,
    *,
    seeds=None,
    init: torch.Tensor | None = None,
    centres: torch.Tensor | None = None,
    state: dict | None = None,
) -> Iterator[Frame]:
    """Yield an engine ``Frame`` per step of a class-impression run (stop iterating to cancel).

    ``state`` (a dict, optional) is filled as the run goes: ``x0``, ``preci``,
    ``centres`` (N, 2) as (y, x), and per step ``lr_map``, ``saliency``, ``grad_cum``,
    ``radius``.  ``centres`` skips the pre-CI and grows the circle from there.
    """
    settings = _settings_or_default(settings)
    idx = resolve_targets(net, targets)
    n = len(idx)
    gens = make_generators(_seeds(settings, n, seeds), n)
    state = state if state is not None else {}
    x0 = start_images(net, settings, gens) if init is None else init.detach().to(net.device, torch.float32)
    if x0.dim() != 4 or x0.shape[0] != n or x0.shape[1] != 3:
        raise ImpressionError(f"init must be a batch of {n} images (N, 3, H, W), got shape {tuple(x0.shape)}.")
    state["x0"] = x0
    mask = None
    if settings.single_object:
        if centres is None:
            preci = pre_class_impression(net, x0, idx, settings, gens)
            state["preci"] = preci
            centres = most_activated_circle(preci - x0, settings.select_radius)
        centres = torch.as_tensor(centres, dtype=torch.float32).reshape(n, 2)
        state["centres"] = centres
        mask = growing_circle(centres, settings, tuple(x0.shape[-2:]))
    rate = learning_rate_map(settings, settings.iterations, settings.c1_value, mask)
    parts = engine_parts(settings, rate, mask=mask, background=x0)
    yield from optimize(optimization_model(net, settings), x0, idx, **parts, generators=gens, state=state)


def thin(rows: list, keep: int = 20) -> list:
    """At most about ``keep`` evenly spaced rows, always with the last."""
    if len(rows) <= keep:
        return list(rows)
    every = -(-len(rows) // keep)
    out = rows[::every]
    return out if out[-1] is rows[-1] else out + [rows[-1]]


@dataclass
class ImpressionResult:
    """The outcome of ``class_impressions``: final images (normalised), per-image numbers, the run's settings."""

    images: torch.Tensor
    targets: list[int]
    class_names: list[str]
    probabilities: list[float]
    predictions: list[int]
    settings: ImpressionSettings
    seeds: list[int]
    centres: list[tuple[int, int]] | None = None
    preci: torch.Tensor | None = None
    history: list[dict] = field(default_factory=list)
    metrics: list[dict] = field(default_factory=list)
    lr_map_stats: list[dict] = field(default_factory=list)  # per kept step: the map's peak, mean, still fraction

    def pil_images(self, net) -> list:
        from ..images import deprocess_batch

        return deprocess_batch(net, self.images)

    def as_dict(self) -> dict:
        return {
            "targets": self.targets,
            "class_names": self.class_names,
            "probabilities": self.probabilities,
            "predictions": self.predictions,
            "seeds": self.seeds,
            "centres": self.centres,
            "settings": self.settings.to_dict(),
            "metrics": self.metrics,
            "lr_map_stats": self.lr_map_stats,
        }


def class_impressions(
    net,
    targets,
    settings: ImpressionSettings | None = None,
    *,
    seeds=None,
    metrics: bool = True,
    transfer_models: Sequence[Any] | None = None,
    on_frame=None,
    keep_history: bool = False,
) -> ImpressionResult:
    """Run ``impression_frames`` to the end; returns an ``ImpressionResult``.

    ``metrics`` adds each image's target probability (of the saved 8-bit image) and
    single-object score; ``transfer_models`` (loaded models) adds the target
    probability on each.  ``on_frame(frame)`` returning False stops early.
    """
    settings = _settings_or_default(settings)
    idx = resolve_targets(net, targets)
    seed_list = _seeds(settings, len(idx), seeds)
    state: dict = {}
    last, frames = run(impression_frames(net, idx, settings, seeds=seed_list, state=state), on_frame)
    centres = state.get("centres")
    result = ImpressionResult(
        images=last.images,
        targets=idx,
        class_names=[net.class_names[i] for i in idx],
        probabilities=last.probabilities.tolist(),
        predictions=last.predictions.tolist(),
        settings=settings,
        seeds=seed_list,
        centres=[tuple(int(v) for v in c) for c in centres.tolist()] if centres is not None else None,
        preci=state.get("preci"),
        history=[f.scalars() for f in frames] if keep_history else [],
        lr_map_stats=thin(state.get("lr_map_stats", [])),
    )
    if metrics:
        from .metrics import impression_metrics

        result.metrics = impression_metrics(net, last.images, idx, transfer_models=transfer_models)
    return result


# --------------------------------------------------------------------------- negative images


def default_centres(size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two regions for a negative image: the left and right thirds, on the middle row."""
    h, w = size
    return (h // 2, w // 3), (h // 2, (2 * w) // 3)


#: How the two classes of a negative image grow: both at once, or the paper's one after the other.
GROWTH = ("together", "sequential")
#: Steps of a joint negative image when none are given: 52 left the second class 11th-22nd for
#: 2 of the 5 benchmark pairs, 100 put both in the top 5 for 14 of 15 pair-seed runs
#: (benchmarks/results/negative_images.md).
TOGETHER_ITERATIONS = 100
#: The sequential recipe's steps: the first class, then the second.
SEQUENTIAL_ITERATIONS = (40, 12)


class PairLogProbability(Objective):
    """log P_a + log P_b of one image: the log of the product of both classes' posteriors.

    Why this and not two logits: a logit can rise while another class rises faster, so
    the ascent on one class's logit says nothing about its rank; the log-posterior
    also pushes every third class down.  And the sum of the two logs balances itself:
    ∂/∂P log P = 1/P, so the class that is behind gets the larger share of the
    gradient, and the optimum of P_a · P_b (with P_a + P_b ≤ 1) is P_a = P_b.
    """

    name = "log_posterior_pair"

    def __init__(self, first: int, second: int):
        self.first, self.second = int(first), int(second)

    def value(self, ctx) -> torch.Tensor:
        log_p = ctx.logits.log_softmax(1)
        a, b = log_p[:, self.first], log_p[:, self.second]
        ctx.terms["log_p_first"], ctx.terms["log_p_second"] = a.detach(), b.detach()
        return a + b


def two_growing_circles(centres: torch.Tensor, settings: ImpressionSettings, size: tuple[int, int]):
    """The union of two circles of sec. 3.3's growing radius, one image: mask (1, 1, H, W)."""
    one_each = growing_circle(centres, settings, size)

    def mask(ctx) -> torch.Tensor:
        return one_each(ctx).amax(0, keepdim=True)

    return mask


def _check_negative_args(net, centres, lengths) -> torch.Tensor:
    for name, v in lengths:
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ImpressionError(f"{name} must be an integer ≥ 0, got {v!r}.")
    size = net.input_size
    if centres is None:
        centres = default_centres(size)
    try:
        c = torch.as_tensor(centres, dtype=torch.float32).reshape(2, 2)
    except (TypeError, ValueError, RuntimeError):
        raise ImpressionError(f"centres must be two (y, x) points, got {centres!r}.") from None
    if bool((c < 0).any()) or bool((c[:, 0] >= size[0]).any()) or bool((c[:, 1] >= size[1]).any()):
        raise ImpressionError(f"centres {c.tolist()} must lie inside the {size[0]}×{size[1]} image.")
    return c


def negative_frames(
    net,
    first,
    second,
    settings: ImpressionSettings | None = None,
    *,
    growth: str = "together",
    iterations: int | None = None,
    first_iterations: int | None = None,
    second_iterations: int | None = None,
    centres=None,
    seed: int | None = None,
    state: dict | None = None,
) -> Iterator[Frame]:
    """Sec. 4.1: a negative image, two classes fused in one image; yields a ``Frame`` per step.

    ``growth="together"`` (default): both classes grow at once for ``iterations``
    steps (default: ``first_iterations + second_iterations`` when both are given,
    else ``TOGETHER_ITERATIONS``), each from a single
    pixel at its own centre: one saliency-driven run whose mask is the union of the
    two growing circles and whose objective is ``PairLogProbability`` (log P_first +
    log P_second).  The paper's recipe, ``growth="sequential"``, grows ``first`` for
    ``first_iterations`` steps and then ``second`` for ``second_iterations`` (default
    ``SEQUENTIAL_ITERATIONS``) from the first one's image; with our steps the second class is either ignored or takes
    over (benchmarks/results/negative_images.md), hence the joint default.

    Each frame's ``targets`` is the class being developed (together: the first;
    both log-posteriors are in ``terms``).  Frames of the sequential second phase
    continue the step count.
    """
    settings = _settings_or_default(settings)
    a, b = resolve_targets(net, [first, second])
    if growth not in GROWTH:
        raise ImpressionError(f"growth must be one of {', '.join(GROWTH)}, got {growth!r}.")
    given = first_iterations is not None and second_iterations is not None
    first_iterations = SEQUENTIAL_ITERATIONS[0] if first_iterations is None else first_iterations
    second_iterations = SEQUENTIAL_ITERATIONS[1] if second_iterations is None else second_iterations
    c = _check_negative_args(net, centres, (("first_iterations", first_iterations),
                                            ("second_iterations", second_iterations)))
    if iterations is None:
        iterations = first_iterations + second_iterations if given else TOGETHER_ITERATIONS
    _check_negative_args(net, c, (("iterations", iterations),))
    size = net.input_size
    state = state if state is not None else {}
    seed = settings.seed if seed is None else int(seed)
    gens = make_generators([seed], 1)
    x = start_images(net, settings, gens)
    if growth == "together":
        run_settings = settings.with_overrides(single_object=True, iterations=iterations)
        mask = two_growing_circles(c, run_settings, size)
        rate = learning_rate_map(settings, iterations, run_settings.c1_value, mask)
        parts = engine_parts(settings, rate, objective=PairLogProbability(a, b), mask=mask, background=x)
        yield from optimize(optimization_model(net, settings), x, [a], **parts, generators=gens, state=state)
        return
    offset = 0
    phases = ((a, c[0:1], first_iterations), (b, c[1:2], second_iterations))
    for k, (target, centre, iters) in enumerate(phases):
        phase_settings = settings.with_overrides(single_object=True, iterations=iters)
        mask = growing_circle(centre, phase_settings, size)
        rate = learning_rate_map(settings, iters, phase_settings.c1_value, mask)
        phase_state: dict = {}
        state["phase"] = k
        last = None
        parts = engine_parts(settings, rate, mask=mask, background=x)
        for frame in optimize(optimization_model(net, settings), x, [target], **parts, generators=gens,
                              state=phase_state):
            state.update(phase_state)
            last = frame
            if k == 1 and frame.step == 0:
                continue  # the same image as the first phase's last frame
            frame.step += offset
            frame.final = frame.final and k == len(phases) - 1
            yield frame
        x = last.images
        offset += iters


@dataclass
class NegativeResult:
    """A fused image of two classes and both classes' probabilities on the generating model."""

    image: torch.Tensor
    classes: tuple[int, int]
    class_names: tuple[str, str]
    probabilities: tuple[float, float]
    ranks: tuple[int, int]  # 1 = top class
    top5: list[tuple[int, str, float]]
    centres: tuple[tuple[int, int], tuple[int, int]]
    settings: ImpressionSettings

    def as_dict(self) -> dict:
        return {
            "classes": list(self.classes),
            "class_names": list(self.class_names),
            "probabilities": list(self.probabilities),
            "ranks": list(self.ranks),
            "top5": [list(t) for t in self.top5],
            "centres": [list(c) for c in self.centres],
            "settings": self.settings.to_dict(),
        }


def negative_image(net, first, second, settings: ImpressionSettings | None = None, *, centres=None, on_frame=None,
                   **growth_options) -> NegativeResult:
    """Run ``negative_frames`` to the end; both classes' probabilities are of the saved 8-bit image.

    ``growth_options`` are ``negative_frames``' keywords (growth, iterations,
    first_iterations, second_iterations, seed).
    """
    settings = _settings_or_default(settings)
    a, b = resolve_targets(net, [first, second])
    if centres is None:
        centres = default_centres(net.input_size)
    last, _ = run(negative_frames(net, a, b, settings, centres=centres, **growth_options), on_frame)
    from .metrics import probabilities_of_saved

    probs = probabilities_of_saved(net, last.images)[0]
    order = probs.argsort(descending=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(1, order.numel() + 1)
    top5 = [(int(i), net.class_names[int(i)], float(probs[i])) for i in order[:5]]
    cs = tuple(tuple(int(v) for v in c) for c in torch.as_tensor(centres).reshape(2, 2).tolist())
    return NegativeResult(
        image=last.images,
        classes=(a, b),
        class_names=(net.class_names[a], net.class_names[b]),
        probabilities=(float(probs[a]), float(probs[b])),
        ranks=(int(rank[a]), int(rank[b])),
        top5=top5,
        centres=cs,
        settings=settings,
    )
