"""Saliency maps (issue 3): vanilla, SmoothGrad, guided backprop, DeconvNet, CAM, Grad-CAM, localisation, overlays."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from conftest import assert_model_clean
from netviz_core.errors import ClassLookupError, ImageInputError, NetVizError, SaliencyError, UnsupportedModelError
from netviz_core.images import ImageGeometry, preprocess, preprocess_with_geometry
from netviz_core.models import DataConfig, LoadedModel, load_model
from netviz_core.saliency import (
    METHODS, class_activation_map, localize, modified_input_gradient, overlay, overlay_figure, saliency,
    to_original_size,
)
from netviz_core.saliency.guided import cached_rule_copy

ALL_METHODS = ("vanilla", "smoothgrad", "guided", "deconvnet", "cam", "gradcam")
FAST = {"smoothgrad": {"n": 2}}  # keep SmoothGrad's copies few in tests

#: The cat's face in assets/chelsea.png (451x300), checked by eye on a 25-px grid:
#: left eye x 135-205, y 85-145; right eye x 297-345, y 110-165; nose x 230-292, y 225-265.
#: (left, top, right, bottom) spanning both eyes and the nose, in original pixels.
CHELSEA_FACE = (135, 85, 345, 265)


def toy_net(module: nn.Module, size=(4, 5), classes=3) -> LoadedModel:
    """A LoadedModel around a hand-made module (identity normalisation, input (3, *size))."""
    module.eval().requires_grad_(False)
    config = DataConfig(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), input_size=(3, *size))
    return LoadedModel("toy", module, config, tuple(f"c{i}" for i in range(classes)), "random")


def assert_maps_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal up to float rounding, relative to each map's peak.

    A batch of N runs other convolution kernels than N=1; the rounding differences can flip
    a ReLU6 gate at a few pixels, so a handful of pixels may differ by ~1e-3 of the peak.
    """
    scale = expected.flatten(1).amax(1).clamp(min=1e-12)[:, None, None]
    error = ((actual - expected) / scale).abs()
    assert actual.shape == expected.shape
    assert error.max() < 5e-3, f"max error {float(error.max()):.2e} of the peak"
    assert error.mean() < 1e-5, f"mean error {float(error.mean()):.2e} of the peak"


@pytest.fixture(scope="module")
def chelsea_x(lite0, chelsea):
    return preprocess_with_geometry(lite0, chelsea)


@pytest.fixture(scope="module")
def batch4(lite0, assets):
    """4 different images and 4 different targets."""
    from PIL import ImageOps

    from netviz_core.images import open_image

    chelsea, coffee = open_image(assets / "chelsea.png"), open_image(assets / "coffee.png")
    images = [chelsea, coffee, ImageOps.mirror(chelsea), open_image(assets / "camera.png")]
    x = torch.cat([preprocess(lite0, im) for im in images])
    # 128x128 (the network takes any size) keeps the 4 single + 1 batched call per method cheap on a CPU.
    return torch.nn.functional.interpolate(x, size=(128, 128), mode="bilinear", antialias=True), [285, 967, 281, 409]


# --------------------------------------------------------------------------- vanilla


def test_vanilla_on_linear_model_is_max_abs_weight():
    torch.manual_seed(0)
    linear = nn.Linear(3 * 4 * 5, 3)
    net = toy_net(nn.Sequential(nn.Flatten(), linear))
    x = torch.randn(2, 3, 4, 5)
    maps = saliency(net, x, target=[2, 0], method="vanilla")
    w = linear.weight.view(3, 3, 4, 5)  # W_c as an image (channels, H, W)
    assert torch.equal(maps[0], w[2].abs().amax(0))
    assert torch.equal(maps[1], w[0].abs().amax(0))
    # target=None: the predicted class, exactly as the logits say.
    predicted = net(x).argmax(1)
    assert torch.equal(saliency(net, x), w[predicted].abs().amax(1))
    # The normalised form M = w / sum w.
    normalised = saliency(net, x, target=[2, 0], normalize=True)
    assert torch.allclose(normalised, maps / maps.sum(dim=(1, 2), keepdim=True))
    assert torch.allclose(normalised.sum(dim=(1, 2)), torch.ones(2))
    assert_model_clean(net)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_every_method_gives_nonnegative_input_sized_maps_and_leaves_the_model_clean(lite0, chelsea_x, method):
    x, _geometry = chelsea_x
    maps = saliency(lite0, x, method=method, **FAST.get(method, {}))
    assert maps.shape == (1, 224, 224) and maps.dtype == torch.float32 and maps.device.type == "cpu"
    assert torch.isfinite(maps).all() and (maps >= 0).all() and maps.max() > 0
    assert_model_clean(lite0)


# --------------------------------------------------------------------------- SmoothGrad


def test_smoothgrad_with_zero_noise_is_vanilla_and_chunks_do_not_matter(lite0, chelsea_x):
    x, _ = chelsea_x
    vanilla = saliency(lite0, x, method="vanilla")
    assert_maps_close(saliency(lite0, x, method="smoothgrad", n=2, sigma=0.0), vanilla)
    one_chunk = saliency(lite0, x, method="smoothgrad", n=3, sigma=0.2, batch_size=64)
    small_chunks = saliency(lite0, x, method="smoothgrad", n=3, sigma=0.2, batch_size=2)
    assert_maps_close(one_chunk, small_chunks)
    assert not torch.allclose(one_chunk, vanilla)  # the noise does something
    assert_model_clean(lite0)


# --------------------------------------------------------------------------- guided backprop / DeconvNet


def _two_layer_relu_net():
    """x (3x1x2 = 6 inputs) -> W1 (4) -> ReLU -> W2 (3) -> ReLU -> W3 (2 classes), hand-picked weights."""
    l1, l2, l3 = nn.Linear(6, 4), nn.Linear(4, 3), nn.Linear(3, 2)
    with torch.no_grad():
        l1.weight.copy_(torch.tensor([[1., -1, 2, 0, 1, -2], [-1, 2, 0, 1, -1, 1], [2, 1, -1, -1, 0, 1], [0, -2, 1, 2, 1, 0]]))
        l1.bias.copy_(torch.tensor([0.5, -0.5, 0.0, -1.0]))
        l2.weight.copy_(torch.tensor([[1., -2, 1, 1], [-1, 1, 2, -1], [2, 1, -1, -2]]))
        l2.bias.copy_(torch.tensor([0.0, 1.0, -0.5]))
        l3.weight.copy_(torch.tensor([[1., -1, 2], [-2, 1, 1]]))
        l3.bias.zero_()
    return nn.Sequential(nn.Flatten(), l1, nn.ReLU(), l2, nn.ReLU(), l3), (l1, l2, l3)


def test_guided_and_deconvnet_follow_the_relu_rules_by_hand():
    module, (l1, l2, l3) = _two_layer_relu_net()
    net = toy_net(module, size=(1, 2), classes=2)
    x = torch.tensor([[1.0, 0.5, -1.0, 2.0, 0.0, 1.0]])
    W1, W2, W3 = (l.weight.numpy().astype(np.float64) for l in (l1, l2, l3))
    X1 = W1 @ x[0].numpy() + l1.bias.numpy()  # input of the first ReLU
    X2 = W2 @ np.maximum(X1, 0) + l2.bias.numpy()  # input of the second ReLU
    assert (X1 > 0).any() and (X1 <= 0).any() and (X2 > 0).any() and (X2 <= 0).any()  # both gates matter

    def by_hand(rule, c):
        r = W3[c]  # dS_c / d(output of the second ReLU)
        for X, W in ((X2, W2), (X1, W1)):
            if rule == "gradient":
                r = r * (X > 0)
            elif rule == "deconvnet":
                r = r * (r > 0)
            else:  # guided: both conditions
                r = r * (X > 0) * (r > 0)
            r = W.T @ r
        return r

    for c in (0, 1):
        plain = by_hand("gradient", c)
        guided = by_hand("guided", c)
        deconv = by_hand("deconvnet", c)
        assert not np.allclose(plain, guided) and not np.allclose(guided, deconv)  # the rules really differ here
        for rule, expected in (("guided", guided), ("deconvnet", deconv)):
            got = modified_input_gradient(net, x.view(1, 3, 1, 2), [c], rule)
            np.testing.assert_allclose(got.flatten().numpy(), expected, rtol=1e-6, atol=1e-6)
            maps = saliency(net, x.view(1, 3, 1, 2), target=c, method=rule)
            np.testing.assert_allclose(maps[0].numpy(), np.abs(expected).reshape(3, 1, 2).max(0), rtol=1e-6, atol=1e-6)
        from netviz_core.gradients import class_score_gradient

        _, g = class_score_gradient(net, x.view(1, 3, 1, 2), [c])  # the shared model is untouched: plain gradient
        np.testing.assert_allclose(g.flatten().numpy(), plain, rtol=1e-6, atol=1e-6)
    assert_model_clean(net)


def _local_derivative(name: str, X: torch.Tensor) -> torch.Tensor:
    X = X.clone().requires_grad_(True)
    phi = {"ReLU6": torch.nn.functional.relu6, "SiLU": torch.nn.functional.silu, "GELU": torch.nn.functional.gelu}[name]
    (d,) = torch.autograd.grad(phi(X).sum(), X)
    return d


@pytest.mark.parametrize("activation", [nn.ReLU6, nn.SiLU, nn.GELU])
def test_non_relu_activations_follow_the_documented_rules(activation):
    """guided: phi'(X) * 1(X > 0) * max(R, 0); deconvnet: max(R, 0) (see netviz_core.saliency.guided)."""
    l1, l2 = nn.Linear(6, 5), nn.Linear(5, 2)
    with torch.no_grad():
        l1.weight.copy_(torch.tensor([[1., 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0],
                                      [0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 1, 1]]))
        l1.bias.zero_()
        l2.weight.copy_(torch.tensor([[1., -1, 2, -0.5, 1], [-1, -1, 1, 1, -1]]))
        l2.bias.zero_()
    net = toy_net(nn.Sequential(nn.Flatten(), l1, activation(), l2), size=(1, 2), classes=2)
    # Hidden pre-activations X = [-2, 0.5, 7, 3, -0.5]: negative, small, above ReLU6's cap, positive, negative.
    x = torch.tensor([-2.0, 0.5, 7.0, 3.0, -0.25, -0.25]).view(1, 3, 1, 2)
    X = torch.tensor([-2.0, 0.5, 7.0, 3.0, -0.5])
    dphi = _local_derivative(activation.__name__, X)
    W1 = l1.weight
    for c in (0, 1):
        R = l2.weight[c]
        guided = W1.T @ (dphi * (X > 0) * R.clamp(min=0))
        deconv = W1.T @ R.clamp(min=0)
        plain = W1.T @ (dphi * R)
        assert not torch.allclose(guided, plain)
        assert torch.allclose(modified_input_gradient(net, x, [c], "guided").flatten(), guided, atol=1e-6)
        assert torch.allclose(modified_input_gradient(net, x, [c], "deconvnet").flatten(), deconv, atol=1e-6)
    if activation is nn.ReLU6:  # saturated unit (X = 7) passes nothing under guided backprop
        assert modified_input_gradient(net, x, [0], "guided").flatten()[2] == 0
    assert_model_clean(net)


def test_rule_copy_is_cached_shares_the_weights_and_leaves_the_model_alone(lite0):
    copy_a = cached_rule_copy(lite0.module, "guided")
    assert cached_rule_copy(lite0.module, "guided") is copy_a
    assert cached_rule_copy(lite0.module, "deconvnet") is not copy_a
    assert {id(p) for p in copy_a.parameters()} == {id(p) for p in lite0.module.parameters()}  # no weight copies
    assert not any(type(m).__name__ == "RuleActivation" for m in lite0.module.modules())
    assert_model_clean(lite0)


def test_guided_refuses_a_model_without_activation_modules():
    net = toy_net(nn.Sequential(nn.Flatten(), nn.Linear(60, 3)))
    with pytest.raises(UnsupportedModelError, match="no activation modules"):
        saliency(net, torch.randn(1, 3, 4, 5), method="guided")


# --------------------------------------------------------------------------- CAM


def test_cam_identity_on_lite0(lite0, chelsea, coffee):
    x = torch.cat([preprocess(lite0, chelsea), preprocess(lite0, coffee)])
    for target in (None, [281, 504]):
        cam = class_activation_map(lite0, x, target)
        assert cam.maps.shape == (2, 7, 7)
        with torch.no_grad():
            logits = lite0(x)
        expected = logits.gather(1, cam.targets[:, None])[:, 0]
        # Zhou et al.: S_c = sum_k w_k^c mean_ij f_k(i,j) + b_c = mean_ij M_c(i,j) + b_c.
        torch.testing.assert_close(cam.maps.mean(dim=(1, 2)) + cam.bias, expected, rtol=0, atol=1e-4)
        assert torch.equal(cam.bias, lite0.module.classifier.bias[cam.targets])
    assert class_activation_map(lite0, x).targets.tolist() == logits.argmax(1).tolist()
    assert_model_clean(lite0)


def test_cam_identity_holds_with_convnexts_normalised_head():
    net = load_model("convnext_atto", "random", device="cpu")
    torch.manual_seed(1)
    x = torch.randn(2, 3, 96, 96)
    cam = class_activation_map(net, x, [3, 7])
    with torch.no_grad():
        expected = net(x)[[0, 1], [3, 7]]
    torch.testing.assert_close(cam.maps.mean(dim=(1, 2)) + cam.bias, expected, rtol=0, atol=1e-4)
    assert_model_clean(net)


@pytest.mark.parametrize("name", ["vit_tiny_patch16_224", "mobilenetv3_small_050"])
def test_cam_refuses_heads_that_are_not_gap_plus_linear(name):
    net = load_model(name, "random", device="cpu")
    with pytest.raises(UnsupportedModelError, match="global average pooling"):
        saliency(net, torch.zeros(1, 3, *net.input_size), method="cam")
    assert_model_clean(net)


# --------------------------------------------------------------------------- Grad-CAM


@pytest.mark.parametrize("name", ["resnet18", "vit_tiny_patch16_224", "swin_tiny_patch4_window7_224"])
def test_gradcam_runs_on_cnn_vit_and_swin(name):
    torch.manual_seed(0)  # the random weights too: some draws give a legitimately blank Grad-CAM for an image
    net = load_model(name, "random", device="cpu")
    x = torch.randn(2, 3, *net.input_size)
    maps = saliency(net, x, target=[1, 2], method="gradcam")
    assert maps.shape == (2, *net.input_size)
    assert torch.isfinite(maps).all() and (maps >= 0).all()
    # Not blank: ViT's class-token head gives its final patch tokens no gradient; the split must avoid that.
    assert (maps.flatten(1).amax(1) > 0).all()
    assert (maps.flatten(1).std(1) > 0).all()
    assert_model_clean(net)


def test_gradcam_on_lite0_looks_at_the_cat(lite0, chelsea_x):
    x, geometry = chelsea_x
    maps = saliency(lite0, x, method="gradcam")
    full = to_original_size(maps[0], geometry)
    y, x_ = np.unravel_index(full.argmax(), full.shape)
    left, top, right, bottom = CHELSEA_FACE
    assert left <= x_ <= right and top <= y <= bottom
    assert_model_clean(lite0)


# --------------------------------------------------------------------------- localisation


def test_chelsea_box_contains_the_cats_face(lite0, chelsea_x):
    x, geometry = chelsea_x
    for method in ("vanilla", "cam"):
        box = localize(saliency(lite0, x, method=method)[0], geometry)  # top class: 285 Egyptian cat
        assert box.contains(CHELSEA_FACE), (method, box)
        assert box.left >= geometry.crop_box[0] - 1e-6 and box.right <= geometry.crop_box[2] + 1e-6
    assert_model_clean(lite0)


def test_localize_keeps_the_largest_region_and_maps_to_original_pixels():
    m = np.zeros((20, 20), dtype=np.float32)
    m[2:8, 3:12] = 1.0  # the large region
    m[15:17, 15:17] = 1.0  # a small one, as bright
    box = localize(m, threshold=0.5, blur=0.0)
    assert box.as_tuple() == (3.0, 2.0, 12.0, 8.0)
    geometry = ImageGeometry(original_size=(400, 200), crop_box=(100.0, 0.0, 300.0, 200.0), input_size=(20, 20))
    assert localize(m, geometry, threshold=0.5, blur=0.0).as_tuple() == pytest.approx((130.0, 20.0, 220.0, 80.0))
    with pytest.raises(SaliencyError, match="zero everywhere"):
        localize(np.zeros((5, 5)))
    with pytest.raises(SaliencyError, match="one map"):
        localize(np.ones((2, 5, 5)))


def test_to_original_size_fills_the_crop_box_only():
    geometry = ImageGeometry(original_size=(451, 300), crop_box=(75.5, 0.0, 375.5, 300.0), input_size=(224, 224))
    full = to_original_size(torch.ones(2, 224, 224), geometry)
    assert full.shape == (2, 300, 451)
    assert np.allclose(full[:, :, 76:375], 1) and (full[:, :, :75] == 0).all() and (full[:, :, 376:] == 0).all()
    ramp = torch.linspace(0, 1, 224).expand(224, 224)  # left to right
    row = to_original_size(ramp, geometry)[150, 76:375]
    assert (np.diff(row) >= 0).all()


# --------------------------------------------------------------------------- overlays


def test_overlays(lite0, chelsea, chelsea_x):
    x, geometry = chelsea_x
    maps = saliency(lite0, x, method="gradcam")
    image = overlay(chelsea, maps[0], geometry, opacity=0.5)
    assert image.size == chelsea.size and image.mode == "RGB"
    assert np.array_equal(np.asarray(overlay(chelsea, maps[0], geometry, opacity=0.0)), np.asarray(chelsea))
    outside = np.asarray(image)[:, :70]  # left of the crop box: untouched
    assert np.array_equal(outside, np.asarray(chelsea)[:, :70])
    assert not np.array_equal(np.asarray(image)[:, 80:370], np.asarray(chelsea)[:, 80:370])
    assert overlay(chelsea.resize((224, 224)), maps[0]).size == (224, 224)  # no geometry: same-size image
    box = localize(maps[0], geometry)
    fig = overlay_figure(chelsea, maps[0], geometry, opacity=0.4, box=box)
    assert [t.type for t in fig.data] == ["image", "heatmap"]
    assert fig.data[1].opacity == 0.4 and np.asarray(fig.data[1].z).shape == (300, 451)
    assert len(fig.layout.shapes) == 1
    with pytest.raises(SaliencyError, match="opacity"):
        overlay(chelsea, maps[0], geometry, opacity=1.5)


def test_netviz_core_does_not_import_streamlit_or_plotly():
    import subprocess
    import sys

    code = ("import sys, torch, netviz_core; from netviz_core.saliency import METHODS, saliency; "
            "from netviz_core import localize; assert callable(saliency) and METHODS; "
            "assert 'streamlit' not in sys.modules and 'plotly' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- batches and threads


@pytest.mark.parametrize("method", ALL_METHODS)
def test_a_batch_equals_single_calls(lite0, batch4, method):
    x, targets = batch4
    options = FAST.get(method, {})
    batched = saliency(lite0, x, targets, method=method, **options)
    singles = torch.cat([saliency(lite0, x[i:i + 1], targets[i], method=method, **options) for i in range(4)])
    assert_maps_close(batched, singles)
    assert_model_clean(lite0)


def test_threads_on_one_model_give_the_serial_maps():
    net = load_model("resnet18", "random", device="cpu")  # fresh: the guided/deconv copies are made under contention
    torch.manual_seed(0)
    x = torch.randn(4, 3, 128, 128)
    jobs = [("guided", 0), ("deconvnet", 1), ("gradcam", 2), ("vanilla", 3), ("guided", 1), ("smoothgrad", 2),
            ("cam", 3), ("deconvnet", 0)]
    serial_net = load_model("resnet18", "random", device="cpu")
    serial_net.module.load_state_dict(net.module.state_dict())
    serial = [saliency(serial_net, x[i:i + 1], 5, method=m, **FAST.get(m, {})) for m, i in jobs]
    results: dict[int, torch.Tensor] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(k: int) -> None:
        try:
            barrier.wait()
            for j in range(k, len(jobs), 4):
                m, i = jobs[j]
                results[j] = saliency(net, x[i:i + 1], 5, method=m, **FAST.get(m, {}))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for j, expected in enumerate(serial):
        assert_maps_close(results[j], expected)
    assert_model_clean(net)


# --------------------------------------------------------------------------- errors


def test_bad_input_raises_clear_netviz_errors(lite0, chelsea_x):
    x, _ = chelsea_x
    with pytest.raises(SaliencyError, match="unknown saliency method 'lime'.*vanilla"):
        saliency(lite0, x, method="lime")
    with pytest.raises(SaliencyError, match="no option sigma"):
        saliency(lite0, x, method="vanilla", sigma=0.1)
    with pytest.raises(SaliencyError, match="n must be"):
        saliency(lite0, x, method="smoothgrad", n=0)
    with pytest.raises(ClassLookupError, match="3 targets for a batch of 1"):
        saliency(lite0, x, target=[1, 2, 3])
    with pytest.raises(ClassLookupError, match="out of range"):
        saliency(lite0, x, target=1000)
    with pytest.raises(ImageInputError, match=r"\(N, 3, H, W\)"):
        saliency(lite0, torch.zeros(2, 2), method="gradcam")
    with pytest.raises(ImageInputError, match="NaN"):
        saliency(lite0, torch.full((1, 3, 224, 224), float("nan")))
    assert issubclass(SaliencyError, NetVizError) and issubclass(UnsupportedModelError, NetVizError)
    # the methods added later are tested in tests/saliency/test_methods.py
    assert set(METHODS) == set(ALL_METHODS) | {"gradcampp", "layercam", "scorecam", "integrated_gradients", "occlusion"}
    # A class name works as a target.
    assert torch.equal(saliency(lite0, x, target="Egyptian cat"), saliency(lite0, x, target=285))
