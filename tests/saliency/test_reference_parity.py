"""The CAM family equals pytorch-grad-cam 1.5.7 on lite0 once the two follow the same conventions.

pytorch-grad-cam (``grad-cam`` in requirements-dev.txt; skipped without it) hooks the layer
it is given and runs ``loss.backward()``, so it runs on a deep copy of the model whose
parameters require grad; the shared model is checked untouched afterwards.  Its target
layer is ``bn2``, whose output is what NetViz's ``forward_features`` returns.

pytorch-grad-cam scales every map to [0, 1] (``scale_cam_image``: min-max at the feature
resolution, OpenCV's bilinear resize, min-max again); NetViz returns the ReLU'd map
resized bilinearly (``align_corners=False``).  Resizing commutes with a min-max scaling, so
the two agree after scaling NetViz's map to [0, 1] the same way.  Measured on
chelsea/coffee/camera: at most 4.5e-7 apart, Spearman 1.000000 for Grad-CAM, Layer-CAM,
Grad-CAM++ and Score-CAM (8 channels; 64 on chelsea/coffee); each convention left unmatched moves some
pixel by 6.8e-3 or more (Score-CAM's align_corners=True on camera, where Spearman still
reads 0.999995, so the maximum difference is what the tests hold to).
"""

from __future__ import annotations

import copy
import functools
import os

import numpy as np
import pytest
import torch

from conftest import assert_model_clean
from netviz_core.images import open_image, preprocess
from netviz_core.saliency import saliency
from netviz_core.saliency.metrics import spearman



def import_keeping_the_environment(name: str):
    """``pytest.importorskip(name)``, with the environment variables its imports set undone.

    pytorch-grad-cam imports OpenCV (which sets LD_LIBRARY_PATH) and scikit-learn (KMP_*);
    both read them while loading, so undoing them afterwards changes nothing here, and the
    subprocesses of later tests see the same environment whether or not this file was collected.
    """
    before = dict(os.environ)
    try:
        return pytest.importorskip(name, reason="grad-cam (test-only, requirements-dev.txt) is not installed")
    finally:
        for key in set(os.environ) - set(before):
            del os.environ[key]
        os.environ.update(before)


pgc = import_keeping_the_environment("pytorch_grad_cam")
from pytorch_grad_cam import score_cam as reference_score_cam  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

#: Largest |difference| of two maps scaled to [0, 1]: 20x the 4.5e-7 measured, 1/600 of the
#: smallest difference a mismatched convention made (6.8e-3).
MAX_DIFFERENCE = 1e-5
#: The issue's criterion, checked beside the maximum difference.
MIN_SPEARMAN = 0.9999
#: What a mismatched convention must exceed on every image: 100x the bound, so each of them fails it.
MISMATCH = 100 * MAX_DIFFERENCE


@pytest.fixture(scope="module")
def photos(lite0, chelsea, coffee, assets):
    """chelsea, coffee and camera preprocessed for lite0, and the class each is predicted as."""
    x = torch.cat([preprocess(lite0, image) for image in (chelsea, coffee, open_image(assets / "camera.png"))])
    with torch.no_grad():
        targets = lite0(x).argmax(1)
    assert targets.tolist() == [285, 967, 872]  # Egyptian cat, espresso, tripod (assets/CREDITS.md)
    return x, targets


@pytest.fixture(scope="module")
def reference_module(lite0):
    """A copy of lite0 for pytorch-grad-cam to hook and backpropagate through (it needs parameters that require grad)."""
    return copy.deepcopy(lite0.module).requires_grad_(True)


def reference_maps(cam_class, module, x, targets, target=ClassifierOutputTarget, **options):
    """pytorch-grad-cam's maps (N, H, W) in [0, 1] on ``module``'s ``bn2``; its hooks are removed on leaving."""
    with cam_class(module, target_layers=[module.bn2], **options) as cam:
        cam.batch_size = 32  # Score-CAM's masked images in NetViz's batches (its own default is 16)
        return cam(x, [target(int(c)) for c in targets])


def differences(ours: torch.Tensor, theirs: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Per image: max |difference| and Spearman's rho of NetViz's maps scaled to [0, 1] and pytorch-grad-cam's."""
    ours = ours.double().numpy()
    low = ours.min(axis=(1, 2), keepdims=True)
    ours = (ours - low) / (ours.max(axis=(1, 2), keepdims=True) - low)
    theirs = np.asarray(theirs, dtype=np.float64)
    return np.abs(ours - theirs).reshape(len(ours), -1).max(1), [spearman(a, b) for a, b in zip(ours, theirs)]


def assert_same_maps(ours: torch.Tensor, theirs: np.ndarray) -> None:
    gaps, rhos = differences(ours, theirs)
    assert gaps.max() <= MAX_DIFFERENCE and min(rhos) >= MIN_SPEARMAN, (gaps, rhos)


# --------------------------------------------------------------------------- gradient-weighted CAMs


class GradCAMPlusPlusWithoutEps(pgc.GradCAMPlusPlus):
    """pytorch-grad-cam's Grad-CAM++ with its eps made negligible, as NetViz has none.

    Its pixel weights are g^2 / (2 g^2 + sum(A) g^3 + eps) with eps = 1e-6.  Called with
    g * s and A / s they are g^2 / (2 g^2 + sum(A) g^3 + eps / s^2), and the channel weights
    it returns are s times the eps-free ones, a factor the [0, 1] scaling removes (the map
    itself is drawn with the unscaled A).
    """

    SCALE = 1e6

    def get_cam_weights(self, input_tensor, target_layers, target_category, activations, grads):
        return super().get_cam_weights(input_tensor, target_layers, target_category,
                                       activations.astype(np.float64) / self.SCALE, grads.astype(np.float64) * self.SCALE)


@pytest.mark.parametrize("method, reference", [
    ("gradcam", pgc.GradCAM),
    ("layercam", pgc.LayerCAM),
    ("gradcampp", GradCAMPlusPlusWithoutEps),
])
def test_gradient_cams_equal_pytorch_grad_cam(lite0, photos, reference_module, method, reference):
    x, targets = photos
    assert_same_maps(saliency(lite0, x, targets, method), reference_maps(reference, reference_module, x, targets))
    assert_model_clean(lite0)


def test_gradcampp_with_pytorch_grad_cams_eps_differs(lite0, photos, reference_module):
    """The eps matters here: on lite0's GAP + linear head g = w_c / 49, and the median g^2 is 7.5e-7, below eps = 1e-6."""
    x, targets = photos
    gaps, _rhos = differences(saliency(lite0, x, targets, "gradcampp"),
                              reference_maps(pgc.GradCAMPlusPlus, reference_module, x, targets))
    assert (gaps > MISMATCH).all(), gaps  # measured 3.2e-2, 8.3e-3, 3.8e-2


# --------------------------------------------------------------------------- Score-CAM


def top_variance_channels(count: int):
    """A ``reshape_transform`` keeping each image's ``count`` channels of largest spatial variance (NetViz's choice)."""

    def keep(activations: torch.Tensor) -> torch.Tensor:
        order = activations.flatten(2).var(dim=2).argsort(dim=1, descending=True)[:, :count]
        return torch.stack([a[k] for a, k in zip(activations, order)])

    return keep


class LogProbability:
    """log softmax(logits)_c as pytorch-grad-cam's target: its channel weights become NetViz's probabilities, rescaled.

    pytorch-grad-cam weights channel k by softmax over the channels of target(f(x * H_k));
    with target = log p_c that is p_c(k) / sum_j p_c(j), NetViz's weight p_c(k) over a
    positive constant, which the [0, 1] scaling removes.
    """

    def __init__(self, category: int) -> None:
        self.category = category

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(logits.float(), dim=-1)[..., self.category]


class Replaced:
    """``base`` with some attributes replaced (what pytorch-grad-cam's score_cam module sees as ``torch``)."""

    def __init__(self, base, **replaced) -> None:
        self._base, self._replaced = base, replaced

    def __getattr__(self, name):
        return self._replaced[name] if name in self._replaced else getattr(self._base, name)


@pytest.fixture
def masks_upsampled_like_netviz(monkeypatch):
    """pytorch-grad-cam's Score-CAM masks upsampled with align_corners=False, as NetViz's (its own is True)."""
    upsample = functools.partial(torch.nn.Upsample, mode="bilinear", align_corners=False)
    monkeypatch.setattr(reference_score_cam, "torch", Replaced(torch, nn=Replaced(torch.nn, UpsamplingBilinear2d=upsample)))


#: Channels scored in the default tier (the method's default, 64, is the slow test's).
FEW_CHANNELS = 8


@pytest.fixture(scope="module")
def netviz_scorecam(lite0, photos):
    x, targets = photos
    return saliency(lite0, x, targets, "scorecam", channels=FEW_CHANNELS)


def test_scorecam_equals_pytorch_grad_cam_with_netviz_conventions(
        lite0, photos, reference_module, netviz_scorecam, masks_upsampled_like_netviz):
    x, targets = photos
    theirs = reference_maps(pgc.ScoreCAM, reference_module, x, targets, target=LogProbability,
                            reshape_transform=top_variance_channels(FEW_CHANNELS))
    assert_same_maps(netviz_scorecam, theirs)
    assert_model_clean(lite0)


def test_scorecam_differs_with_pytorch_grad_cams_interpolation(photos, reference_module, netviz_scorecam):
    """Its masks upsampled with align_corners=True (``nn.UpsamplingBilinear2d``), the rest matched."""
    x, targets = photos
    theirs = reference_maps(pgc.ScoreCAM, reference_module, x, targets, target=LogProbability,
                            reshape_transform=top_variance_channels(FEW_CHANNELS))
    gaps, _rhos = differences(netviz_scorecam, theirs)
    assert (gaps > MISMATCH).all(), gaps  # measured 8.7e-2, 4.4e-2, 6.8e-3


def test_scorecam_differs_with_pytorch_grad_cams_weights(photos, reference_module, netviz_scorecam, masks_upsampled_like_netviz):
    """Channels weighted by a softmax over the channels of the class logit, the rest matched."""
    x, targets = photos
    theirs = reference_maps(pgc.ScoreCAM, reference_module, x, targets,
                            reshape_transform=top_variance_channels(FEW_CHANNELS))
    gaps, _rhos = differences(netviz_scorecam, theirs)
    assert (gaps > MISMATCH).all(), gaps  # measured 9.4e-2, 9.4e-2, 2.4e-1


@pytest.mark.long
def test_scorecam_with_its_default_64_channels_equals_pytorch_grad_cam(
        lite0, photos, reference_module, masks_upsampled_like_netviz):
    """NetViz's default Score-CAM (64 channels): 64 masked forward passes per image on each side."""
    x, targets = photos[0][:2], photos[1][:2]
    theirs = reference_maps(pgc.ScoreCAM, reference_module, x, targets, target=LogProbability,
                            reshape_transform=top_variance_channels(64))
    assert_same_maps(saliency(lite0, x, targets, "scorecam"), theirs)
    assert_model_clean(lite0)
