"""Faithfulness metrics and the randomisation check (netviz_core.saliency.metrics)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from conftest import assert_model_clean
from netviz_core.errors import SaliencyError
from netviz_core.images import preprocess
from netviz_core.saliency.baselines import CenterGaussian, RandomMap
from netviz_core.saliency.metrics import (
    NEIGHBOR_WEIGHTS, MetricSettings, blurred, cascade_units, deletion_curve, deletion_fill, dissection_positions,
    evaluate_map, evaluate_method, insertion_curve, noisy_linear_imputation, randomization_curve, randomized_copy,
    randomized_model, reinitialize, removal_ranks, road_curves, spearman, trust_table,
)
from toy_models import linear_net, small_cnn


@pytest.fixture(scope="module")
def chelsea_x(lite0, chelsea):
    return preprocess(lite0, chelsea)


def _toy_linear(seed=0):
    """Two classes on a 2x3 image: class 0 = w . x, class 1 = 0, so P(0) = sigmoid(w . x) is monotone in it."""
    g = torch.Generator().manual_seed(seed)
    w = torch.zeros(2, 3, 2, 3)
    w[0] = torch.randn(3, 2, 3, generator=g)
    x = torch.rand(1, 3, 2, 3, generator=g) * 2 - 1
    return linear_net(w), x, w[0]


def _order_map(order) -> torch.Tensor:
    """A map whose descending order is ``order`` (pixel indices, most salient first)."""
    m = torch.empty(6)
    m[list(order)] = torch.arange(6, 0, -1, dtype=torch.float32)
    return m.view(2, 3)


def test_occlusion_importance_is_the_best_possible_order_on_a_linear_model():
    net, x, w = _toy_linear()
    settings = MetricSettings(steps=6, deletion_baseline="black", blur_sigma=1.0)
    # Occlusion importance, by hand: what replacing pixel i by the baseline costs the class-0 logit.
    deletion_importance = (w * (x[0] - deletion_fill(net, x, settings)[0])).sum(0)
    insertion_importance = (w * (x[0] - blurred(net, x, settings.blur_sigma)[0])).sum(0)
    best_deletion = deletion_curve(net, x, deletion_importance, 0, settings)
    best_insertion = insertion_curve(net, x, insertion_importance, 0, settings)
    deletions, insertions = [], []
    for order in itertools.permutations(range(6)):
        deletions.append(deletion_curve(net, x, _order_map(order), 0, settings))
        insertions.append(insertion_curve(net, x, _order_map(order), 0, settings))
    # Greedy by importance is optimal at every step, so at every point of the curve, not just in area.
    assert np.all(np.asarray(best_deletion.scores) <= np.min([c.scores for c in deletions], 0) + 1e-6)
    assert np.all(np.asarray(best_insertion.scores) >= np.max([c.scores for c in insertions], 0) - 1e-6)
    assert best_deletion.auc == pytest.approx(min(c.auc for c in deletions), abs=1e-7)
    assert best_insertion.auc == pytest.approx(max(c.auc for c in insertions), abs=1e-7)
    # The ends of the curves: the image itself, then the baseline (all 6 pixels replaced).
    p0 = torch.sigmoid((w * x[0]).sum()).item()
    assert best_deletion.scores[0] == pytest.approx(p0, abs=1e-6)
    assert best_insertion.scores[-1] == pytest.approx(p0, abs=1e-6)
    assert best_deletion.scores[-1] == pytest.approx(torch.sigmoid((w * deletion_fill(net, x, settings)[0]).sum()).item(), abs=1e-6)
    # and the worst order is the reverse one
    worst = deletion_curve(net, x, -deletion_importance, 0, settings)
    assert worst.auc == pytest.approx(max(c.auc for c in deletions), abs=1e-7)


def test_auc_is_the_trapezoid_area_worked_by_hand():
    net, x, w = _toy_linear(seed=1)
    curve = deletion_curve(net, x, torch.ones(2, 3), 0, MetricSettings(steps=2, deletion_baseline="mean"))
    assert curve.fractions == (0.0, 0.01, 1.0)
    s = curve.scores
    assert curve.auc == pytest.approx((0.01 * (s[0] + s[1]) + 0.99 * (s[1] + s[2])) / 2)


def test_a_constant_map_gives_the_random_map_curve(lite0, chelsea_x):
    """Any random order gives about the same area (single points vary by up to ~0.1 between orders)."""
    settings = MetricSettings(steps=8)
    constant = torch.ones(lite0.input_size)
    random = RandomMap(lite0, seed=7)(chelsea_x)[0]  # another seed than the tie-breaking order's
    centre = CenterGaussian(lite0)(chelsea_x)[0]
    for curve in (deletion_curve, insertion_curve):
        a, b = curve(lite0, chelsea_x, constant, None, settings), curve(lite0, chelsea_x, random, None, settings)
        assert a.auc == pytest.approx(b.auc, abs=0.06), (curve.__name__, a.scores, b.scores)
        # ... while the centre prior, a real order, gives another area
        assert abs(curve(lite0, chelsea_x, centre, None, settings).auc - a.auc) > 0.08


def test_ties_are_broken_at_random_not_in_raster_order():
    ranks = removal_ranks(torch.zeros(50, 50), seed=0)
    assert sorted(ranks.flatten().tolist()) == list(range(2500))
    top_half = ranks < 1250
    assert 0.4 < top_half[:25].float().mean() < 0.6  # raster order would remove the top rows first
    ranks = removal_ranks(torch.tensor([[0.0, 3.0], [2.0, 1.0]]))
    assert ranks.tolist() == [[3, 0], [1, 2]]


def test_linear_imputation_reproduces_a_plane_and_keeps_known_pixels():
    h, w = 9, 11
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    image = np.stack([rows, 2 * cols - rows, 0.5 + 0 * rows])
    removed = np.zeros((h, w), dtype=bool)
    removed[2:7, 3:9] = True  # an interior hole: every neighbour weight sums symmetrically
    removed[4, 1] = True
    out = noisy_linear_imputation(image, removed)
    np.testing.assert_allclose(out, image, atol=1e-10)
    noisy = noisy_linear_imputation(image, removed, noise=0.5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(noisy[:, ~removed], image[:, ~removed])
    assert 0.3 < np.std(noisy[:, removed] - image[:, removed]) < 0.7


def test_imputed_pixel_is_the_weighted_mean_of_its_neighbours():
    image = np.arange(3 * 4 * 5, dtype=np.float64).reshape(3, 4, 5) ** 1.5
    removed = np.zeros((4, 5), dtype=bool)
    removed[0, 0] = True  # a corner: three neighbours, weights 1/6, 1/6, 1/12
    out = noisy_linear_imputation(image, removed)
    expected = (image[:, 0, 1] / 6 + image[:, 1, 0] / 6 + image[:, 1, 1] / 12) / (1 / 6 + 1 / 6 + 1 / 12)
    np.testing.assert_allclose(out[:, 0, 0], expected)
    with pytest.raises(SaliencyError, match="every pixel removed"):
        noisy_linear_imputation(image, np.ones((4, 5), dtype=bool))


def _imputation_by_definition(image: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """ROAD's system written out pixel by pixel in raster order and solved by scipy's default spsolve."""
    from scipy.sparse import lil_matrix
    from scipy.sparse.linalg import spsolve

    c, h, w = image.shape
    unknown = list(zip(*np.nonzero(removed)))
    index = {pixel: i for i, pixel in enumerate(unknown)}
    a, b = lil_matrix((len(unknown), len(unknown))), np.zeros((len(unknown), c))
    for i, (r, col) in enumerate(unknown):
        for dr, dc, weight in NEIGHBOR_WEIGHTS:
            rr, cc = r + dr, col + dc
            if 0 <= rr < h and 0 <= cc < w:
                a[i, i] += weight
                if removed[rr, cc]:
                    a[i, index[(rr, cc)]] -= weight
                else:
                    b[i] += weight * image[:, rr, cc]
    out = image.copy()
    solution = spsolve(a.tocsc(), b)
    for i, (r, col) in enumerate(unknown):
        out[:, r, col] = solution[i]
    return out


def test_dissection_order_is_a_permutation_with_each_cut_after_both_halves():
    position = dissection_positions(7, 10, leaf=4)
    assert sorted(position.tolist()) == list(range(70))
    grid = position.reshape(7, 10)
    # The first cut is the middle column (10 > 7): every pixel on either side comes before it.
    assert grid[:, 5].min() > max(grid[:, :5].max(), grid[:, 6:].max())
    assert grid[:, :5].max() < grid[:, 6:].min()  # the left half entirely before the right half


@pytest.mark.parametrize("shape", ["blob", "scattered", "border"])
def test_imputation_in_dissection_order_equals_the_raster_order_solve(shape):
    """The fast path (unknowns renumbered, SuperLU without reordering) solves the same system as the definition."""
    g = np.random.default_rng(5)
    h, w = 23, 31
    image = g.normal(size=(3, h, w))
    rows, cols = np.mgrid[0:h, 0:w]
    removed = {
        "blob": (rows - 11) ** 2 + (cols - 14) ** 2 < 60,
        "scattered": g.random((h, w)) < 0.7,
        "border": (rows < 3) | (cols > 26),
    }[shape]
    np.testing.assert_allclose(noisy_linear_imputation(image, removed), _imputation_by_definition(image, removed),
                               atol=1e-10)


def test_imputation_noise_is_drawn_in_raster_order():
    """The noise of removed pixel i is the i-th draw in raster order, whatever order the solver uses."""
    g = np.random.default_rng(2)
    image = g.normal(size=(3, 20, 20))
    removed = g.random((20, 20)) < 0.5
    clean = noisy_linear_imputation(image, removed)
    noisy = noisy_linear_imputation(image, removed, noise=[0.1, 0.2, 0.3], rng=np.random.default_rng(7))
    draws = np.random.default_rng(7).normal(size=(int(removed.sum()), 3)) * [0.1, 0.2, 0.3]
    np.testing.assert_allclose(noisy[:, removed] - clean[:, removed], draws.T, atol=1e-12)


def test_road_images_do_not_depend_on_the_number_of_threads():
    """The solves run on torch's thread count; the noise is drawn afterwards in one order, so the curves agree."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 20, 24, generator=g)
    w = torch.randn(2, 3, 20, 24, generator=g)
    net, m = linear_net(w), torch.rand(20, 24, generator=g)
    settings = MetricSettings(score="logit")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = road_curves(net, x, m, 0, settings)
        torch.set_num_threads(3)
        three = road_curves(net, x, m, 0, settings)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(one, three):
        assert a.scores == pytest.approx(b.scores, abs=1e-5)
    # ... and they are the images noisy_linear_imputation makes with one generator, MoRF then LeRF.
    ranks, rng = removal_ranks(m, settings.seed).numpy(), np.random.default_rng(settings.seed)
    n = ranks.size
    masks = [ranks < round(p * n) for p in settings.road_percentages] + [ranks >= n - round(p * n)
                                                                         for p in settings.road_percentages]
    images = [noisy_linear_imputation(x[0].double().numpy(), mask, settings.road_noise * 1.0, rng) for mask in masks]
    logits = [float((w[0].double() * torch.from_numpy(image)).sum()) for image in images]
    assert [*one[0].scores, *one[1].scores] == pytest.approx(logits, abs=1e-4)


def test_scoring_by_the_folded_copy_gives_the_unfolded_curves(lite0, chelsea_x):
    m = torch.linspace(0, 1, lite0.input_size[0] * lite0.input_size[1]).view(lite0.input_size)
    folded, unfolded = MetricSettings(steps=4), MetricSettings(steps=4, fold_batchnorm=False)
    for curve in (deletion_curve, insertion_curve):
        a, b = curve(lite0, chelsea_x, m, 285, folded), curve(lite0, chelsea_x, m, 285, unfolded)
        assert a.scores == pytest.approx(b.scores, abs=1e-5)
    assert_model_clean(lite0)
    with pytest.raises(SaliencyError, match="fold_batchnorm"):
        MetricSettings(fold_batchnorm="yes")


def test_the_shared_randomised_copy_is_the_cascade_at_that_depth(lite0, chelsea_x):
    """randomized_model(net, k) has the weights the cascade reaches at depth k; made once; the model untouched."""
    before = {k: v.clone() for k, v in lite0.module.state_dict().items()}
    shared = randomized_model(lite0, 3, seed=4)
    assert randomized_model(lite0, 3, seed=4) is shared
    cascade, units = randomized_copy(lite0)
    generator = torch.Generator().manual_seed(4)
    for lo, hi in ((0, 1), (1, 3)):  # the cascade stops at depth 1 on the way, as randomization_curve's does
        for _name, modules in units[lo:hi]:
            reinitialize(modules, generator)
    expected = cascade.module.state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in shared.module.state_dict().items())
    assert not torch.equal(shared.module.state_dict()["classifier.weight"], before["classifier.weight"])
    assert all(torch.equal(before[k], v) for k, v in lite0.module.state_dict().items())
    assert_model_clean(shared)
    curve = randomization_curve(lite0, chelsea_x, "vanilla", depths=[1, 3], seed=4)
    assert randomization_curve(lite0, chelsea_x, "vanilla", depths=3, seed=4).spearman[0] == curve.spearman[-1]
    with pytest.raises(SaliencyError, match="from 1 to 10"):
        randomized_model(lite0, 0)


def test_road_removes_the_right_pixels_on_a_linear_model():
    """An 8x8 'object' in a 16x16 image; the model is w . x with w = x on the object, 0 elsewhere; the map is w.

    LeRF first removes the background, where w = 0: the logit must not move until p > 75 %.
    MoRF removes the object's brightest pixels, which imputation (a mean of neighbours) darkens.
    """
    g = torch.Generator().manual_seed(3)
    x = torch.zeros(1, 3, 16, 16)
    x[:, :, 4:12, 4:12] = torch.rand(1, 3, 8, 8, generator=g) + 0.5
    w = torch.zeros(2, 3, 16, 16)
    w[0] = x[0]
    net = linear_net(w)
    settings = MetricSettings(road_percentages=(0.1, 0.3, 0.5, 0.7, 0.9), score="logit")
    morf, lerf = road_curves(net, x, w[0].sum(0), 0, settings)
    logit = (w[0] * x[0]).sum().item()
    assert morf.fractions == settings.road_percentages
    assert lerf.scores[:4] == pytest.approx([logit] * 4, rel=1e-5)
    assert lerf.scores[4] > logit  # the darkest object pixels, imputed from brighter ones
    assert all(m < logit for m in morf.scores)


def test_cascade_units_of_lite0_run_from_the_head_to_the_stem(lite0):
    names = [name for name, _ in cascade_units(lite0.module)]
    assert names == ["classifier", "conv_head+bn2", *[f"blocks.{i}" for i in range(6, -1, -1)], "conv_stem+bn1"]


def test_randomization_works_on_a_copy_and_destroys_the_gradient_map(lite0, chelsea_x):
    before = {k: v.clone() for k, v in lite0.module.state_dict().items()}
    curve = randomization_curve(lite0, chelsea_x, "vanilla", depths=[1, 10])
    assert curve.depths == (1, 10) and len(curve.units) == 10
    assert all(abs(r) < 0.6 for r in curve.spearman), curve.spearman
    after = lite0.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert_model_clean(lite0)
    # The same method on the same model correlates perfectly; a model-free map survives randomisation.
    assert randomization_curve(lite0, chelsea_x, "center", depths=10).spearman == (1.0,)


def test_spearman_handles_ties_and_constant_maps():
    assert spearman(torch.tensor([1.0, 2, 3, 4]), torch.tensor([10.0, 20, 30, 40])) == pytest.approx(1.0)
    assert spearman(torch.tensor([1.0, 2, 3, 4]), torch.tensor([4.0, 3, 2, 1])) == pytest.approx(-1.0)
    assert np.isnan(spearman(torch.zeros(4), torch.arange(4.0)))


def test_evaluate_method_reports_the_map_and_both_baselines():
    net = small_cnn()
    x = torch.randn(1, 3, *net.input_size, generator=torch.Generator().manual_seed(0))
    results = evaluate_method(net, x, "gradcam", 1, settings=MetricSettings(steps=4))
    assert list(results) == ["gradcam", "baseline_random", "baseline_center"]
    summary = results["gradcam"].summary()
    assert set(summary) == {"deletion_auc", "insertion_auc", "road_morf", "road_lerf", "randomization_spearman", "seconds"}
    assert all(0.0 <= summary[k] <= 1.0 for k in ("deletion_auc", "insertion_auc", "road_morf", "road_lerf"))
    assert results["baseline_random"].summary()["randomization_spearman"] == pytest.approx(1.0)
    assert_model_clean(net)


def test_bad_inputs_are_refused_with_a_message(lite0, chelsea_x):
    m = torch.ones(lite0.input_size)
    with pytest.raises(SaliencyError, match="input resolution"):
        deletion_curve(lite0, chelsea_x, torch.ones(10, 10))
    with pytest.raises(SaliencyError, match="NaN"):
        insertion_curve(lite0, chelsea_x, m * float("nan"))
    with pytest.raises(SaliencyError, match="one image at a time"):
        evaluate_map(lite0, chelsea_x.expand(2, -1, -1, -1), m)
    for bad in ({"steps": 1}, {"deletion_baseline": "zero"}, {"road_percentages": (0.5, 1.0)}, {"score": "p"},
                {"batch_size": 0}, {"randomization_depth": 0}):
        with pytest.raises(SaliencyError):
            MetricSettings(**bad)
    with pytest.raises(SaliencyError, match="depths must be integers from 1 to 10"):
        randomization_curve(lite0, chelsea_x, "vanilla", depths=11)
    with pytest.raises(SaliencyError, match="unknown saliency method"):
        randomization_curve(lite0, chelsea_x, "nope")


def test_baseline_maps():
    net = small_cnn()
    x = torch.zeros(2, 3, *net.input_size)
    a, b = RandomMap(net, seed=1)(x), RandomMap(net, seed=1)(x)
    assert torch.equal(a, b) and torch.equal(a[0], a[1]) and not torch.equal(a[0], RandomMap(net, seed=2)(x)[0])
    c = CenterGaussian(net)(x)[0]
    h, w = net.input_size
    assert c.argmax().item() in {(h // 2 - 1) * w + w // 2 - 1, (h // 2 - 1) * w + w // 2, (h // 2) * w + w // 2 - 1, (h // 2) * w + w // 2}
    with pytest.raises(SaliencyError):
        CenterGaussian(net, sigma=0)


def test_cli_prints_the_metrics_and_the_baselines(assets, capsys):
    import json

    from netviz_core.cli import main

    rc = main(["saliency", str(assets / "chelsea.png"), "--method", "gradcam", "--metrics", "--steps", "4", "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    keys = ("deletion_auc", "insertion_auc", "road_morf", "road_lerf", "randomization_spearman")
    for block in (result, result["baseline_random"], result["baseline_center"]):
        assert all(isinstance(block[k], float) for k in keys), block
    assert result["baseline_random"]["randomization_spearman"] == pytest.approx(1.0)
    assert result["out"] is None and result["target"]["index"] == 285
    rc = main(["saliency", str(assets / "chelsea.png"), "--method", "layercam"])
    assert rc == 2 and "--metrics" in capsys.readouterr().err


def test_trust_table_sorts_by_insertion_minus_deletion_and_keeps_references_last():
    def s(d, i):
        return {"deletion_auc": d, "insertion_auc": i, "road_morf": 0.1, "road_lerf": 0.2, "randomization_spearman": 0.3}

    rows = trust_table({"baseline_random": s(0.1, 0.9), "a": s(0.5, 0.6), "b": s(0.2, 0.7), "baseline_center": s(0.0, 1.0)})
    assert [r["map"] for r in rows] == ["b", "a", "baseline_random", "baseline_center"]
    assert rows[0]["insertion_minus_deletion"] == pytest.approx(0.5)


def test_cli_refuses_bad_steps_before_any_work(assets, capsys):
    from netviz_core.cli import main

    rc = main(["saliency", str(assets / "chelsea.png"), "--metrics", "--steps", "1"])
    assert rc == 2 and "steps must be an integer from 2 to 1000" in capsys.readouterr().err


def test_the_object_mask_beats_a_random_map_on_deletion_and_insertion(lite0, chelsea):
    """A case with a known answer: the cat is the only object, so its mask is the right map.

    The photo's cat, shrunk into the middle of a flat grey picture: deleting the mask's
    pixels first removes the evidence fastest, inserting them first restores it fastest;
    a random order and the inverted mask (the background first) do worse, by a margin.
    """
    from PIL import Image

    h, w = lite0.input_size
    canvas = Image.new("RGB", (w, h), (128, 128, 128))
    box = (w // 4, h // 4, w - w // 4, h - h // 4)
    canvas.paste(chelsea.convert("RGB").resize((box[2] - box[0], box[3] - box[1])), box[:2])
    x = preprocess(lite0, canvas)
    target = int(lite0(x).argmax())
    assert 281 <= target <= 285, target  # a cat (tabby .. Egyptian cat)
    mask = torch.zeros(h, w)
    mask[box[1]:box[3], box[0]:box[2]] = 1.0
    settings = MetricSettings(steps=8)
    random = RandomMap(lite0, seed=3)(x)[0]
    for curve, better in ((deletion_curve, -1), (insertion_curve, 1)):
        auc = {name: curve(lite0, x, m, target, settings).auc
               for name, m in (("mask", mask), ("random", random), ("inverted", 1 - mask))}
        print(curve.__name__, {k: round(v, 3) for k, v in auc.items()})
        # Random deletion is itself destructive (scattered grey pixels soon hide a cat), so the
        # margin over random is stated as a ratio of the areas; over the inverted mask as a gap.
        if better < 0:
            assert auc["mask"] < 0.75 * auc["random"], auc
        else:
            assert auc["mask"] > 1.25 * auc["random"], auc
        assert better * (auc["mask"] - auc["inverted"]) > 0.2, (curve.__name__, auc)
