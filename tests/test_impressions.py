"""Saliency-driven class impressions: schedules, circles, settings, transforms and short runs on lite0."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest
import torch

from conftest import assert_model_clean
from netviz_core.classify import predict_proba
from netviz_core.errors import ImpressionError, NetVizError
from netviz_core.images import deprocess, preprocess
from netviz_core.impressions import (
    ImpressionSettings,
    RandomImpressionTransforms,
    SaliencyLearningRate,
    TVStep,
    c1_for,
    circle_mask,
    circle_sums,
    class_impressions,
    current_weight,
    impression_frames,
    most_activated_circle,
    negative_frames,
    negative_image,
    radius_at,
    update_grad_cum,
)
from netviz_core.impressions.circles import disc
from netviz_core.impressions.method import PairLogProbability
from netviz_core.optimize.engine import make_generators
from netviz_core.optimize.objectives import total_variation

# --------------------------------------------------------------------------- radius schedule


def test_radius_grows_linearly_from_1_to_150_over_150_steps_then_stays():
    assert radius_at(0) == 1.0
    assert radius_at(1) == pytest.approx(1 + 149 / 150)  # 1.99333...
    assert radius_at(30) == pytest.approx(30.8)  # 1 + 149 · 30/150
    assert radius_at(75) == pytest.approx(75.5)  # 1 + 149 / 2
    assert radius_at(150) == 150.0
    assert radius_at(151) == 150.0
    assert radius_at(1000) == 150.0
    assert radius_at(10, radius_start=5, radius_max=25, radius_iterations=20) == pytest.approx(15.0)


# --------------------------------------------------------------------------- eqs. 2-4


def test_c1_is_c2_times_max_iter_over_t_and_switches_at_t():
    assert c1_for(4, 300, 150) == 8.0
    assert c1_for(4, 500, 150) == pytest.approx(13.3333333)
    assert current_weight(1, 8.0, 4.0, 150) == 8.0
    assert current_weight(149, 8.0, 4.0, 150) == 8.0  # iter < t: C1
    assert current_weight(150, 8.0, 4.0, 150) == 4.0  # from t on: C2
    assert current_weight(151, 8.0, 4.0, 150) == 4.0
    with pytest.raises(ImpressionError):
        c1_for(4, 300, 0)


def test_grad_cum_is_a_weighted_running_average():
    g0 = torch.tensor([0.1])
    # iter 1, C1 = 8: (1 · 0.1 + 8 · 1) / 9 = 0.9
    assert update_grad_cum(g0, torch.tensor([1.0]), 1, 8.0).item() == pytest.approx(0.9)
    # iter 150, C2 = 4: (150 · 0.5 + 4 · 0) / 154
    assert update_grad_cum(torch.tensor([0.5]), torch.tensor([0.0]), 150, 4.0).item() == pytest.approx(75 / 154)
    # a constant map is a fixed point
    assert update_grad_cum(torch.tensor([0.3]), torch.tensor([0.3]), 57, 4.0).item() == pytest.approx(0.3)


def _ctx(step, state):
    return SimpleNamespace(step=step, state=state)


def test_saliency_hook_uses_previous_grad_cum_and_switches_weight_at_t():
    # saliency of this gradient: max over channels of |g| = [[2, 1], [0, 4]] -> ĝ = [[.5, .25], [0, 1]]
    g = torch.zeros(1, 3, 2, 2)
    g[0, 0] = torch.tensor([[2.0, 0.5], [0.0, -4.0]])
    g[0, 1] = torch.tensor([[-1.0, -1.0], [0.0, 1.0]])
    g_hat = torch.tensor([[0.5, 0.25], [0.0, 1.0]])
    hook = SaliencyLearningRate(c2=4.0, t_switch=150, grad_cum0=0.1, iterations=300, peak=0.1)
    assert hook.c1 == 8.0
    state: dict = {}
    hook(_ctx(0, state), g)  # iteration 1
    assert torch.allclose(state["lr_map"][0, 0], 0.1 * g_hat)  # eq. 4 with grad_cum_0
    expected_cum = (1 * 0.1 + 8.0 * g_hat) / 9.0
    assert torch.allclose(state["grad_cum"][0, 0], expected_cum)
    # iteration 149 (step 148): still C1; iteration 150 (step 149): C2
    state = {"grad_cum": torch.full((1, 1, 2, 2), 0.2)}
    hook(_ctx(148, state), g)
    assert torch.allclose(state["grad_cum"][0, 0], (149 * 0.2 + 8.0 * g_hat) / 157.0)
    # eq. 4 gives 0.2 · ĝ; the map is rescaled to peak at the hook's peak (0.1 here)
    assert torch.allclose(state["lr_map"][0, 0], 0.1 * g_hat)
    stats = state["lr_map_stats"][-1]
    assert stats["step"] == 148 and stats["peak"] == [pytest.approx(0.1)]
    assert stats["still_fraction"] == [pytest.approx(0.25)] and stats["mean"] == [pytest.approx(0.1 * 1.75 / 4)]
    state = {"grad_cum": torch.full((1, 1, 2, 2), 0.2)}
    hook(_ctx(149, state), g)
    assert torch.allclose(state["grad_cum"][0, 0], (150 * 0.2 + 4.0 * g_hat) / 154.0)


def test_saliency_hook_off_gives_the_uniform_rate_times_the_mask():
    hook = SaliencyLearningRate(grad_cum0=0.1, enabled=False, mask=lambda ctx: torch.tensor([[[[1.0, 0.0]]]]))
    state: dict = {}
    hook(_ctx(0, state), torch.randn(1, 3, 1, 2))
    assert torch.allclose(state["lr_map"], torch.tensor([[[[0.1, 0.0]]]]))


# --------------------------------------------------------------------------- eq. 5


def test_disc_and_circle_mask():
    assert disc(1).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert disc(1.5).sum() == 9  # √2 ≤ 1.5
    assert disc(0).tolist() == [[1]]
    assert disc(2).sum() == 13
    m = circle_mask(torch.tensor([[3, 4]]), 2, (9, 10))
    assert m.shape == (1, 1, 9, 10) and m.sum() == 13 and m[0, 0, 3, 4] == 1 and m[0, 0, 3, 7] == 0
    assert circle_mask(torch.tensor([[0, 0]]), 1, (5, 5)).sum() == 3  # clipped at the corner
    with pytest.raises(ImpressionError):
        disc(-1)


def test_most_activated_circle_by_hand():
    a = torch.zeros(1, 3, 9, 9)
    # an L of three activated pixels around (2, 2), split over channels, with signs
    a[0, 0, 2, 2] = 1.0
    a[0, 1, 2, 3] = -1.0
    a[0, 2, 3, 2] = 1.0
    a[0, 0, 7, 7] = 1.5  # a single stronger pixel elsewhere
    sums = circle_sums(a, 1)
    # r = 1 circle = the pixel and its 4 neighbours
    assert sums[0, 2, 2] == 3.0  # (2,2), (2,3), (3,2)
    assert sums[0, 2, 3] == 2.0  # (2,3), (2,2)
    assert sums[0, 3, 3] == 2.0  # (2,3), (3,2)
    assert sums[0, 7, 7] == 1.5
    assert sums[0, 0, 0] == 0.0
    assert most_activated_circle(a, 1).tolist() == [[2, 2]]
    # with r = 0 only the pixel counts: the single strong one wins
    assert most_activated_circle(a, 0).tolist() == [[7, 7]]
    # ties: first in row-major order.  All zeros -> (0, 0); one pixel at (4, 4) lies in the
    # r = 1 circles of (3, 4), (4, 3) and (4, 4), and (3, 4) comes first
    b = torch.zeros(2, 1, 5, 5)
    b[1, 0, 4, 4] = 2.0
    assert most_activated_circle(b, 1).tolist() == [[0, 0], [3, 4]]


def test_circle_sums_agree_with_brute_force():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2, 3, 12, 11, generator=g)
    r = 3.0
    sums = circle_sums(a, r)
    ab = a.abs().sum(1)
    for y in range(12):
        for x in range(11):
            m = circle_mask(torch.tensor([[y, x]]), r, (12, 11))[:, 0]
            assert torch.allclose(sums[:, y, x], (ab * m).flatten(1).sum(1), atol=1e-4)


# --------------------------------------------------------------------------- settings


def test_settings_round_trip_json_and_defaults_are_the_papers():
    s = ImpressionSettings()
    assert (s.c2, s.t_switch, s.grad_cum0, s.tv_every) == (4.0, 150, 0.1, 1)
    assert (s.radius_start, s.radius_max, s.radius_iterations) == (1.0, 150.0, 150)
    assert s.c1_value == pytest.approx(4.0 * s.iterations / 150)
    t = s.with_overrides(tv=False, scales=(1.0, 1.05), c1=3.0)
    back = ImpressionSettings.from_json(t.to_json())
    assert back == t
    assert json.loads(t.to_json())["scales"] == [1.0, 1.05]
    base = ImpressionSettings.baseline()
    assert (base.tv, base.saliency_lr, base.single_object, base.transforms) == (False, False, False, True)


@pytest.mark.parametrize("bad", [
    {"tv_weight": -1}, {"iterations": -3}, {"iterations": 2.5}, {"tv_every": 0}, {"lr": 0}, {"lr": float("nan")},
    {"t_switch": 0}, {"scales": []}, {"scales": [3.0]}, {"radius_max": 0.5}, {"tv": "yes"}, {"c1": -2},
])
def test_bad_settings_raise_impression_error(bad):
    with pytest.raises(ImpressionError):
        ImpressionSettings(**bad)


def test_settings_from_json_turn_lists_into_tuples_and_overrides_are_checked():
    s = ImpressionSettings.from_json('{"scales": [1.0, 1.1], "tv": false}')
    assert s.scales == (1.0, 1.1) and s == ImpressionSettings(scales=(1.0, 1.1), tv=False)
    with pytest.raises(ImpressionError, match="scales must be a list"):
        ImpressionSettings.from_json('{"scales": 3}')
    with pytest.raises(ImpressionError, match="Unknown impression settings: lamda1"):
        s.with_overrides(lamda1=0.1)
    with pytest.raises(ImpressionError, match="Unknown impression settings: lamda1"):
        ImpressionSettings.baseline(lamda1=0.1)
    with pytest.raises(ImpressionError, match="tv_every"):
        s.with_overrides(tv_every=0)
    with pytest.raises(ImpressionError, match="must be an ImpressionSettings, got dict"):
        class_impressions(None, [1], settings={"tv": False})


def test_bad_json_and_unknown_keys_raise():
    with pytest.raises(ImpressionError, match="not valid JSON"):
        ImpressionSettings.from_json("{nope")
    with pytest.raises(ImpressionError, match="Unknown impression setting"):
        ImpressionSettings.from_json('{"lamda1": 0.1}')
    with pytest.raises(ImpressionError):
        ImpressionSettings.from_json("[1, 2]")


# --------------------------------------------------------------------------- post-steps


def _fake_ctx(n, seeds=None):
    net = SimpleNamespace(std=torch.full((1, 3, 1, 1), 0.5), mean=torch.full((1, 3, 1, 1), 0.5))
    return SimpleNamespace(net=net, generators=make_generators(seeds if seeds is not None else list(range(n)), n),
                           state={}, step=0)


def test_random_transforms_identity_when_all_ranges_are_zero():
    x = torch.randn(2, 3, 20, 20)
    op = RandomImpressionTransforms(noise=0, color_shift=0, scales=(1.0,), max_rotation=0, pad=4)
    assert torch.allclose(op(x, _fake_ctx(2)), x, atol=1e-5)


def test_random_transforms_are_per_image_batched_and_bounded():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 32, 32, generator=g)
    op = RandomImpressionTransforms()
    batched = op(x, _fake_ctx(3, [5, 6, 7]))
    single = torch.cat([op(x[i : i + 1], _fake_ctx(1, [s])) for i, s in enumerate([5, 6, 7])])
    assert torch.allclose(batched, single, atol=1e-6)
    assert batched.shape == x.shape
    assert not torch.allclose(batched[0], batched[1])
    # a 90° rotation is exact on a square: checks the affine_grid convention
    from netviz_core.impressions.transforms import affine_theta, rescale_rotate

    y = rescale_rotate(x[:1], affine_theta(1.0, torch.pi / 2, 32, 32)[None], 0)
    assert torch.allclose(y, torch.rot90(x[:1], k=1, dims=(2, 3)), atol=1e-5) or torch.allclose(
        y, torch.rot90(x[:1], k=-1, dims=(2, 3)), atol=1e-5)


def test_tv_step_lowers_total_variation():
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    y = TVStep(tv_weight=0.05, lr=0.1)(x, None)
    assert bool((total_variation(y) < total_variation(x)).all())
    assert TVStep(0.0)(x, None) is x
    assert TVStep(0.1, every=2).active(2) and not TVStep(0.1, every=2).active(3)


def test_transforms_on_is_validated():
    with pytest.raises(ImpressionError, match="transforms_on"):
        ImpressionSettings(transforms_on="both")
    assert ImpressionSettings().transforms_on == "input"


# --------------------------------------------------------------------------- runs on lite0


def test_input_transforms_never_touch_the_stored_image(lite0):
    """Transforms only on the network's input: with no logit step (lr_map 0) the image stays the start.

    With ``transforms_on="image"`` the same run resamples the stored image every step and it drifts.
    """
    from netviz_core.impressions.parts import engine_parts
    from netviz_core.optimize import PlainGradient, make_generators, optimize
    from netviz_core.optimize.init import uniform_noise_on_mean

    x0 = uniform_noise_on_mean(lite0, 1, make_generators([0], 1))[:, :, :64, :64]
    for on, moved in (("input", False), ("image", True)):
        s = ImpressionSettings.baseline("paper", transforms_on=on, pad=8)
        parts = dict(engine_parts(s, None), step_rule=PlainGradient(0.0), iterations=5)
        frames = list(optimize(lite0, x0, [1], **parts))
        drift = (frames[-1].images - x0).abs().max()
        assert (drift > 1e-2) == moved, (on, float(drift))


def test_lr_map_statistics_reach_the_json(lite0):
    res = class_impressions(lite0, [1], ImpressionSettings(**TINY), metrics=False)
    stats = res.as_dict()["lr_map_stats"]
    assert [r["step"] for r in stats] == [0, 1, 2, 3]
    assert all(r["peak"][0] == pytest.approx(ImpressionSettings().lr_map_peak) for r in stats)
    assert all(0 <= r["still_fraction"][0] <= 1 for r in stats)

TINY = dict(iterations=4, t_switch=2, radius_iterations=2, preci_iterations=2)


def test_frames_can_stop_at_any_step_and_model_stays_clean(lite0):
    state: dict = {}
    frames = impression_frames(lite0, [1, "tench"], ImpressionSettings.preset("paper", **TINY), state=state)
    seen = []
    for f in frames:
        seen.append(f.step)
        if f.step == 2:
            break
    frames.close()
    assert seen == [0, 1, 2]
    assert state["centres"].shape == (2, 2) and state["lr_map"].shape == (2, 1, 224, 224)
    assert state["radius"] == pytest.approx(radius_at(1, 1, 150, 2))
    assert_model_clean(lite0)


def test_class_impressions_result_and_baseline_share_the_start(lite0):
    res = class_impressions(lite0, [1], ImpressionSettings(**TINY))
    assert res.images.shape == (1, 3, 224, 224) and res.targets == [1]
    m = res.metrics[0]
    # P(target) of the picture a user would save: decoded from a PNG and classified afresh
    png = io.BytesIO()
    deprocess(lite0, res.images[:1]).save(png, format="PNG")
    read_back = predict_proba(lite0, preprocess(lite0, png.getvalue()))[0, 1]
    assert m["target_probability"] == pytest.approx(float(read_back), rel=1e-4)
    assert 0 <= m["single_object"] <= 1  # a fraction of the saliency mass
    assert res.centres is not None and res.preci is not None
    base = class_impressions(lite0, [1], ImpressionSettings.baseline(iterations=0), metrics=False)
    sci0 = class_impressions(lite0, [1], ImpressionSettings(iterations=0, preci_iterations=1), metrics=False)
    # same seed, same x0 (up to the spectrum's encode/decode round trip: SCI composites it over x0)
    assert torch.allclose(base.images, sci0.images, atol=1e-4)
    assert_model_clean(lite0)


def test_bad_targets_raise_netviz_errors(lite0):
    with pytest.raises(NetVizError):
        class_impressions(lite0, [5000], ImpressionSettings(**TINY))
    with pytest.raises(ImpressionError):
        class_impressions(lite0, [1, 2], ImpressionSettings(**TINY), seeds=[1])
    with pytest.raises(ImpressionError, match="inside"):
        negative_image(lite0, 1, 2, first_iterations=1, second_iterations=1, centres=((0, 0), (500, 3)))


# The benchmark's settings (benchmarks/negative_images.py): the switch t and the radius schedule
# compressed to 20 steps, random transforms off.
NEGATIVE = dict(t_switch=20, radius_iterations=20, transforms=False)
# The benchmark's five pairs, chosen before tuning: with both classes grown together for 100 steps
# (seed 0) each pair has both classes in the top 5; grown one after the other (40 + 12 steps, the
# old default) only goldfish + hen and clock + Granny Smith did.
NEGATIVE_PAIRS = [(1, 8), (130, 207), (409, 948), (9, 980), (323, 779)]


def test_pair_log_probability_is_the_sum_of_both_log_posteriors():
    logits = torch.tensor([[2.0, 0.0, -1.0, 3.0], [0.0, 1.0, 1.0, 0.0]])
    ctx = SimpleNamespace(logits=logits, terms={}, step=0)
    value = PairLogProbability(0, 2).value(ctx)
    log_p = logits.log_softmax(1)
    assert torch.allclose(value, log_p[:, 0] + log_p[:, 2])
    assert torch.equal(ctx.terms["log_p_first"], log_p[:, 0]) and torch.equal(ctx.terms["log_p_second"], log_p[:, 2])
    # the class that is behind gets the larger share: d/dlogit of the sum, at equal logits, favours neither
    x = torch.zeros(1, 4, requires_grad=True)
    (grad,) = torch.autograd.grad(PairLogProbability(0, 1).value(SimpleNamespace(logits=x, terms={})).sum(), x)
    assert grad[0, 0] == pytest.approx(grad[0, 1]) and grad[0, 0] > 0 > grad[0, 2]


def test_negative_frames_together_grow_both_circles_at_once(lite0):
    state: dict = {}
    s = ImpressionSettings(**NEGATIVE)
    frames = list(negative_frames(lite0, 1, 8, s, iterations=2, centres=((100, 50), (120, 170)), state=state))
    assert [f.step for f in frames] == [0, 1, 2] and frames[-1].final and not frames[0].final
    lr_map = state["lr_map"][0, 0]  # the map of the last step taken (step 1: radius 1 + 149/20 ≈ 8.45)
    moving = lr_map > 0
    ys, xs = torch.nonzero(moving, as_tuple=True)
    near_first = (ys - 100) ** 2 + (xs - 50) ** 2 <= 8.45 ** 2
    near_second = (ys - 120) ** 2 + (xs - 170) ** 2 <= 8.45 ** 2
    assert bool((near_first | near_second).all())  # nothing moves outside the two circles
    assert bool(near_first.any()) and bool(near_second.any())  # and both regions move
    assert set(frames[0].terms) >= {"log_p_first", "log_p_second"}
    assert_model_clean(lite0)


def test_negative_frames_are_reproducible_by_seed_and_growth_is_validated(lite0):
    s = ImpressionSettings(**NEGATIVE)
    one = negative_image(lite0, 1, 8, s, iterations=2, seed=3)
    two = negative_image(lite0, 1, 8, s, iterations=2, seed=3)
    other = negative_image(lite0, 1, 8, s, iterations=2, seed=4)
    assert torch.equal(one.image, two.image) and not torch.equal(one.image, other.image)
    seq = list(negative_frames(lite0, 1, 8, s, growth="sequential", first_iterations=2, second_iterations=1))
    assert [f.step for f in seq] == [0, 1, 2, 3] and [int(f.targets[0]) for f in seq] == [1, 1, 1, 8]
    with pytest.raises(ImpressionError, match="growth"):
        negative_image(lite0, 1, 8, s, growth="both", iterations=1)
    with pytest.raises(ImpressionError, match="iterations"):
        negative_image(lite0, 1, 8, s, iterations=-1)


#: benchmarks/negative_images.py per preset: lucid (the default) with t and the radius growth at half the
#: 100-step joint run; paper (pixels) with the old settings.
NEGATIVE_PRESETS = {"lucid": dict(t_switch=50, radius_iterations=50), "paper": NEGATIVE}


def _negative_ranks(lite0, preset: str, pair: tuple[int, int], tmp_path) -> list[int]:
    """Both classes' ranks (1 = top) on the negative image read back from its 8-bit PNG; checks the report."""
    res = negative_image(lite0, *pair, ImpressionSettings.preset(preset, **NEGATIVE_PRESETS[preset]), iterations=100)
    assert res.classes == pair
    path = tmp_path / f"negative-{preset}-{pair[0]}-{pair[1]}.png"
    deprocess(lite0, res.image).save(path)
    probs = predict_proba(lite0, preprocess(lite0, path))[0]
    order = probs.argsort(descending=True).tolist()
    assert [i for i, _, _ in res.top5] == order[:5]  # the result reports what its PNG gives
    assert all(0 < p < 1 for p in res.probabilities)
    assert_model_clean(lite0)
    return [order.index(c) + 1 for c in pair]


@pytest.mark.long
def test_a_negative_image_holds_both_classes(lite0, tmp_path):
    """One pair on the default: both classes near the top (top 5 is the rule, checked as a rate below;
    one seed's outcome flips with the float rounding of another CPU or thread count, so one pair is
    held to the top 10)."""
    ranks = _negative_ranks(lite0, "lucid", NEGATIVE_PAIRS[0], tmp_path)
    assert max(ranks) <= 10, ranks


@pytest.mark.long
@pytest.mark.parametrize("preset", ["lucid", "paper"])
def test_negative_images_keep_both_classes_in_the_top5_for_most_pairs(lite0, preset, tmp_path):
    """The benchmark's five pairs: both classes in the top 5 for at least four, and in the top 10 for all."""
    ranks = {pair: _negative_ranks(lite0, preset, pair, tmp_path) for pair in NEGATIVE_PAIRS}
    print(f"\n{preset}: {ranks}")
    assert sum(max(r) <= 5 for r in ranks.values()) >= len(NEGATIVE_PAIRS) - 1, ranks
    assert all(max(r) <= 10 for r in ranks.values()), ranks


# --------------------------------------------------------------------------- SCI on spectral parametrizations


def test_rate_map_gradient_scales_the_image_gradient_by_the_map():
    """Identity going in; coming back ∂L/∂x becomes lr_map ⊙ ∂L/∂x / max|∂L/∂x|, zero where the map is."""
    from netviz_core.impressions.parametrized import RateMapGradient

    mask = torch.zeros(1, 1, 4, 5)
    mask[..., 1:3, 1:4] = 1.0
    rate = SaliencyLearningRate(grad_cum0=0.1, iterations=10, peak=0.5, mask=lambda ctx: mask)
    ctx = SimpleNamespace(step=0, state={})
    x = torch.randn(1, 3, 4, 5, requires_grad=True)
    w = torch.randn(1, 3, 4, 5)
    y = RateMapGradient(rate)(x, ctx)
    assert torch.equal(y, x)
    (g,) = torch.autograd.grad((y * w).sum(), x)
    lr_map = ctx.state["lr_map"]
    assert torch.allclose(g, lr_map * w / w.abs().max())
    assert bool((g[..., mask[0, 0] == 0] == 0).all()) and bool((g[..., mask[0, 0] == 1] != 0).any())
    assert lr_map.max() == pytest.approx(0.5)  # rescaled to the peak, as on pixels


def test_saliency_sigma_turns_the_per_pixel_map_into_a_regional_one():
    from netviz_core.impressions.schedule import normalised_saliency

    grad = torch.zeros(1, 3, 21, 21)
    grad[0, 1, 10, 10] = -3.0
    sharp, soft = normalised_saliency(grad), normalised_saliency(grad, sigma=2.0)
    assert int((sharp > 0).sum()) == 1 and sharp.max() == pytest.approx(1.0)
    assert int((soft > 0.1).sum()) > 9 and soft.max() == pytest.approx(1.0) and soft[0, 0, 10, 10] == soft.max()


@pytest.mark.parametrize("parametrization", ["fourier", "maco"])
def test_sci_on_a_spectral_parametrization_grows_inside_the_circle_only(lite0, parametrization):
    """The decoded image is composited over the start: outside the circle it stays x0 exactly, inside it moves."""
    state: dict = {}
    s = ImpressionSettings(parametrization=parametrization, **TINY)
    frames = list(impression_frames(lite0, [1], s, state=state, centres=torch.tensor([[112.0, 112.0]])))
    assert [f.step for f in frames] == [0, 1, 2, 3, 4] and frames[-1].final
    x0, last = state["x0"], frames[-1].images
    r = radius_at(3, 1, 150, 2)  # the mask of the last frame
    inside = circle_mask(torch.tensor([[112.0, 112.0]]), r, (224, 224)).bool().expand_as(x0)
    assert torch.equal(last[~inside], x0[~inside])
    assert float((last[inside] - x0[inside]).abs().max()) > 1e-3
    assert state["lr_map"].shape == (1, 1, 224, 224) and len(state["lr_map_stats"]) == 4
    assert_model_clean(lite0)
    assert last.grad_fn is None and not last.requires_grad  # nothing of the graph (or a hook) is kept


def test_sci_on_fourier_is_reproducible_by_seed(lite0):
    s = ImpressionSettings(parametrization="fourier", **TINY)
    one = class_impressions(lite0, [1, 130], s, metrics=False)
    two = class_impressions(lite0, [1, 130], s, metrics=False)
    other = class_impressions(lite0, [1, 130], s, seeds=[7, 8], metrics=False)
    assert torch.equal(one.images, two.images) and one.centres == two.centres
    assert not torch.allclose(one.images, other.images, atol=1e-3)
    assert_model_clean(lite0)


def test_spectral_transforms_never_touch_the_stored_image(lite0):
    """SCI's parts on fourier with a zero step: the transforms (Lucid's, then Mopuri's) only feed the network."""
    from netviz_core.impressions.method import growing_circle
    from netviz_core.impressions.parts import engine_parts, learning_rate_map, start_images
    from netviz_core.optimize import optimize

    for transform_set in ("lucid", "mopuri"):
        s = ImpressionSettings(transform_set=transform_set, **TINY)
        gens = make_generators([0], 1)
        x0 = start_images(lite0, s, gens)
        mask = growing_circle(torch.tensor([[112.0, 112.0]]), s, (224, 224))
        parts = engine_parts(s, learning_rate_map(s, 4, s.c1_value, mask), mask=mask, background=x0)
        assert len(parts["transforms"]) >= 2  # the rate map and at least one random transform
        parts["step_rule"] = lambda p, grad, ctx: p.clone()  # the parameter stays; post-steps still run
        parts["iterations"] = 3
        frames = list(optimize(lite0, x0, [1], generators=gens, **parts))
        assert all(torch.allclose(f.images, x0, atol=1e-4) for f in frames), transform_set


def test_settings_name_the_parametrization_and_keep_the_papers_recipe():
    s = ImpressionSettings()
    assert (s.parametrization, s.transform_set, s.lr) == ("fourier", "lucid", 0.02)
    paper = ImpressionSettings.preset("paper")
    assert (paper.parametrization, paper.transform_set, paper.lr, paper.tv_weight, paper.preci_lr) == \
        ("pixel", "mopuri", 0.1, 0.02, 1.0)
    assert ImpressionSettings.from_json(paper.to_json()) == paper
    assert paper.plain() == ImpressionSettings.baseline("paper")
    with pytest.raises(ImpressionError, match="parametrization"):
        ImpressionSettings(parametrization="wavelet")
    with pytest.raises(ImpressionError, match="transforms_on"):
        ImpressionSettings(transforms_on="image", transform_set="mopuri")  # fourier has no pixels to resample
    with pytest.raises(ImpressionError, match="preset"):
        ImpressionSettings.preset("vgg")


def test_fold_batchnorm_runs_on_the_folded_copy_and_matches_the_model(lite0):
    """One step on the folded network moves the image as on the network as loaded (float rounding apart).

    On pixels (the step is proportional to the gradient): Adam's first step on a spectrum is the
    sign of each coefficient's gradient, and rounding flips the sign of the near-zero ones.
    """
    from netviz_core.impressions.parts import optimization_model
    from netviz_core.optimize.folding import input_gradient_model

    s = ImpressionSettings(**TINY)
    assert s.fold_batchnorm  # the default: only input gradients are needed
    assert optimization_model(lite0, s) is input_gradient_model(lite0)
    assert optimization_model(lite0, s.with_overrides(fold_batchnorm=False)) is lite0
    centres = torch.tensor([[112.0, 112.0]])
    paper = ImpressionSettings.preset("paper", iterations=1)
    runs = [list(impression_frames(lite0, [1], paper.with_overrides(fold_batchnorm=f), centres=centres))
            for f in (False, True)]
    moved = (runs[0][-1].images - runs[0][0].images).abs().max()
    assert moved > 1e-3
    assert (runs[1][-1].images - runs[0][-1].images).abs().max() < 1e-2 * moved
    assert_model_clean(lite0)
