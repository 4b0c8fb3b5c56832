"""The attribution methods added on the shared base: IG, occlusion, Grad-CAM++, Layer-CAM, Score-CAM."""

from __future__ import annotations

import pytest
import torch

from conftest import assert_model_clean
from netviz_core.errors import SaliencyError
from netviz_core.images import preprocess
from netviz_core.saliency import METHODS, saliency
from netviz_core.saliency.base import reference_image
from netviz_core.saliency.integrated_gradients import IntegratedGradients
from netviz_core.saliency.occlusion import Occlusion, window_starts
from netviz_core.saliency.scorecam import ScoreCAM
from toy_models import linear_net, small_cnn

NEW_METHODS = ("gradcampp", "layercam", "scorecam", "integrated_gradients", "occlusion")


def _x(net, seed=0, n=1):
    return torch.randn(n, 3, *net.input_size, generator=torch.Generator().manual_seed(seed))


def test_new_methods_are_registered():
    assert set(NEW_METHODS) <= set(METHODS)


# --------------------------------------------------------------------------- Integrated Gradients


@pytest.mark.parametrize("baseline", ["black", "blur"])
def test_integrated_gradients_is_complete(baseline):
    """sum_i IG_i = S_c(x) - S_c(x') within 1 %, on a nonlinear (ReLU) CNN."""
    net = small_cnn()
    x = _x(net, n=2)
    targets = torch.tensor([1, 3])
    ig = IntegratedGradients(net, steps=64, baseline=baseline, blur_sigma=2.0, batch_size=20)
    attributions = ig.attributions(x, targets)
    with torch.no_grad():
        expected = (net(x) - net(ig.baseline_image(x))).gather(1, targets[:, None])[:, 0]
    assert torch.allclose(attributions.flatten(1).sum(1), expected, rtol=0.01, atol=1e-4), (attributions.flatten(1).sum(1), expected)
    assert_model_clean(net)


def test_integrated_gradients_on_a_linear_model_is_weight_times_difference():
    w = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    net = linear_net(w)
    x = _x(net)
    attributions = IntegratedGradients(net, steps=3).attributions(x, torch.tensor([1]))
    torch.testing.assert_close(attributions[0], w[1] * (x[0] - net.pixel_min[0]))
    torch.testing.assert_close(saliency(net, x, 1, "integrated_gradients", steps=3)[0], attributions[0].sum(0).abs())


def test_integrated_gradients_matches_captum():
    captum_attr = pytest.importorskip("captum.attr", reason="captum (test-only, requirements-dev.txt) is not installed")
    net = small_cnn()
    x = _x(net, seed=2, n=2)
    for baseline in ("black", "blur"):
        ours = IntegratedGradients(net, steps=16, baseline=baseline, blur_sigma=2.0, batch_size=7)
        reference = ours.baseline_image(x)
        theirs = captum_attr.IntegratedGradients(net.module).attribute(
            x, baselines=reference, target=[0, 2], n_steps=16, method="gausslegendre")
        torch.testing.assert_close(ours.attributions(x, torch.tensor([0, 2])), theirs, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- occlusion


def test_one_pixel_occlusion_on_a_linear_model_is_weight_times_difference():
    w = torch.randn(3, 3, 6, 7, generator=torch.Generator().manual_seed(3))
    net = linear_net(w)
    x = _x(net, seed=4)
    maps = Occlusion(net, window=1, stride=1, fill="black").attributions(x, torch.tensor([2]))
    torch.testing.assert_close(maps[0], (w[2] * (x[0] - net.pixel_min[0])).sum(0))


def test_occlusion_matches_captum_where_windows_tile_the_image():
    captum_attr = pytest.importorskip("captum.attr", reason="captum (test-only, requirements-dev.txt) is not installed")
    net = small_cnn(size=(12, 14))
    x = _x(net, seed=5, n=2)
    ours = Occlusion(net, window=4, stride=2, fill="gray", batch_size=5).attributions(x, torch.tensor([1, 0]))
    theirs = captum_attr.Occlusion(net.module).attribute(
        x, sliding_window_shapes=(3, 4, 4), strides=(3, 2, 2), baselines=0.5, target=[1, 0])
    torch.testing.assert_close(ours, theirs[:, 0], rtol=1e-4, atol=1e-5)
    assert torch.equal(theirs[:, 0], theirs[:, 2])


def test_occlusion_windows_cover_every_pixel():
    assert window_starts(224, 32, 16) == list(range(0, 193, 16))
    assert window_starts(260, 32, 16) == [*range(0, 225, 16), 228]
    net = small_cnn(size=(13, 13))
    maps = Occlusion(net, window=5, stride=4).attributions(_x(net), torch.tensor([0]))
    assert torch.isfinite(maps).all()
    with pytest.raises(SaliencyError, match="larger than"):
        saliency(net, _x(net), 0, "occlusion", window=20)


# --------------------------------------------------------------------------- CAM family, by hand on a GAP + linear head


def _features_and_weights(net, x, c):
    module = net.module
    with torch.no_grad():
        A = module.forward_features(x)
    return A, module.fc.weight[c]


def test_gradcampp_and_layercam_on_a_gap_linear_head_by_hand():
    """With S_c = sum_k w_k mean_ij A_k, g_k^ij = w_k / (hw) everywhere, so both have closed forms."""
    net = small_cnn()
    x = _x(net, seed=6)
    c = 2
    A, w = _features_and_weights(net, x, c)
    hw = A.shape[-1] * A.shape[-2]
    g = w / hw
    alpha = g**2 / (2 * g**2 + A[0].sum(dim=(1, 2)) * g**3)
    weights = hw * alpha * torch.relu(g)  # sum over the hw locations of a constant
    expected_pp = torch.relu((weights[:, None, None] * A[0]).sum(0))
    expected_layer = torch.relu((torch.relu(g)[:, None, None] * A[0]).sum(0))
    torch.testing.assert_close(saliency(net, x, c, "gradcampp")[0], expected_pp, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(saliency(net, x, c, "layercam")[0], expected_layer, rtol=1e-4, atol=1e-7)
    assert_model_clean(net)


def test_scorecam_by_hand_and_its_channel_selection():
    net = small_cnn()
    x = _x(net, seed=7)
    c = 1
    A, _w = _features_and_weights(net, x, c)
    masks = A[0]
    low = masks.flatten(1).amin(1)[:, None, None]
    span = masks.flatten(1).amax(1)[:, None, None] - low
    masks = torch.where(span > 0, (masks - low) / span.clamp(min=1e-12), torch.zeros_like(masks))
    with torch.no_grad():
        s = torch.softmax(net(x * masks[:, None]), 1)[:, c]  # the feature map is at the input resolution here
    expected = torch.relu((s[:, None, None] * A[0]).sum(0))
    torch.testing.assert_close(ScoreCAM(net, channels=None, batch_size=5)(x, c)[0], expected, rtol=1e-4, atol=1e-7)
    # Fewer channels: those of largest spatial variance.
    top = A[0].flatten(1).var(1).argsort(descending=True)[:3]
    few = torch.relu((s[top, None, None] * A[0, top]).sum(0))
    torch.testing.assert_close(ScoreCAM(net, channels=3)(x, c)[0], few, rtol=1e-4, atol=1e-7)


# --------------------------------------------------------------------------- on the real model


FAST = {"scorecam": {"channels": 8}, "integrated_gradients": {"steps": 4}, "occlusion": {"window": 56, "stride": 56}}


@pytest.mark.parametrize("method", NEW_METHODS)
def test_new_methods_on_lite0_leave_it_clean_and_batch_like_singles(lite0, chelsea, coffee, method):
    x = torch.cat([preprocess(lite0, chelsea), preprocess(lite0, coffee)])
    options = FAST.get(method, {})
    maps = saliency(lite0, x, [285, 967], method, **options)
    assert maps.shape == (2, 224, 224) and maps.dtype == torch.float32 and (maps >= 0).all() and maps.flatten(1).amax(1).gt(0).all()
    singles = torch.cat([saliency(lite0, x[i:i + 1], t, method, **options) for i, t in enumerate([285, 967])])
    scale = singles.flatten(1).amax(1)[:, None, None]
    assert ((maps - singles).abs() / scale).max() < 5e-3
    assert_model_clean(lite0)


def test_bad_options_are_refused():
    net = small_cnn()
    x = _x(net)
    for method, options, message in [
        ("integrated_gradients", {"steps": 0}, "steps must be"),
        ("integrated_gradients", {"baseline": "white"}, "baseline must be one of black, blur"),
        ("occlusion", {"window": 0}, "window must be a positive integer"),
        ("occlusion", {"fill": "red"}, "fill must be one of"),
        ("scorecam", {"channels": -1}, "channels must be"),
    ]:
        with pytest.raises(SaliencyError, match=message):
            saliency(net, x, 0, method, **options)
    with pytest.raises(SaliencyError, match="unknown reference image"):
        reference_image(net, x, "white")
