"""netviz_core.targets: one reading of target classes and input images for every technique."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netviz_core.errors import ClassLookupError, ImageInputError, NetVizError
from netviz_core.targets import as_input_batch, as_target_tensor, resolve_targets

TARANTULA, GOLDFISH = 76, 1


@pytest.mark.parametrize(
    "targets, n, expected",
    [
        (TARANTULA, None, [76]),
        ("tarantula", None, [76]),
        (" 76 ", None, [76]),
        (np.int64(76), None, [76]),
        (torch.tensor([76, 1]), None, [76, 1]),
        ([torch.tensor(76), "goldfish"], None, [76, 1]),
        ("tarantula", 3, [76, 76, 76]),
        ([76], 2, [76, 76]),
        ((76, "goldfish"), 2, [76, 1]),
    ],
)
def test_targets_from_indices_names_and_tensors(lite0, targets, n, expected):
    assert resolve_targets(lite0, targets, n) == expected


@pytest.mark.parametrize(
    "targets, n, message",
    [
        ([], None, "No target class given"),
        ([76, 1, 2], 2, "3 targets for a batch of 2 images"),
        ([76, 1], 1, "2 targets for a batch of 1 image;"),
        (True, None, "not True"),
        (1.5, None, "not float"),
        ({"a": 1}, None, "not dict"),
        (1000, None, "out of range"),
        ("no such class at all", None, "No class name contains"),
    ],
)
def test_every_bad_target_is_a_class_lookup_error(lite0, targets, n, message):
    with pytest.raises(ClassLookupError, match=message) as info:
        resolve_targets(lite0, targets, n)
    assert isinstance(info.value, NetVizError)


def test_target_tensor_broadcasts_one_index_and_checks_the_count():
    assert as_target_tensor(5, 3, "cpu").tolist() == [5, 5, 5]
    assert as_target_tensor([1, 2], 2, "cpu").dtype == torch.long
    with pytest.raises(ClassLookupError, match="2 targets for a batch of 3 images"):
        as_target_tensor([1, 2], 3, "cpu")


def test_the_techniques_read_targets_the_same_way(lite0):
    from netviz_core import targets
    from netviz_core.classvis import ClassVisRun
    from netviz_core.impressions import method as impressions
    from netviz_core.saliency import base as saliency_base
    from netviz_core.saliency.cam import class_activation_map

    # The one resolver: the techniques use netviz_core.targets' own function, none has a copy of its own.
    assert impressions.resolve_targets is targets.resolve_targets
    assert not hasattr(saliency_base, "resolve_targets")
    x = torch.zeros(2, 3, 224, 224)
    assert ClassVisRun(lite0, ["tarantula", 1]).settings.targets == (76, 1)
    assert class_activation_map(lite0, x, ["tarantula", 1]).targets.tolist() == [76, 1]
    assert targets.target_tensor(lite0, ["tarantula", 1], 2).tolist() == [76, 1]
    for resolve in (lambda t: ClassVisRun(lite0, t), lambda t: next(impressions.impression_frames(lite0, t)),
                    lambda t: class_activation_map(lite0, x, t)):
        with pytest.raises(ClassLookupError, match="No target class given"):
            resolve([])


def test_input_batch_from_tensors_and_pictures(lite0, chelsea):
    x = as_input_batch(lite0, torch.zeros(3, 224, 224, dtype=torch.float64))
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32 and not x.requires_grad
    both = as_input_batch(lite0, [chelsea, torch.zeros(1, 3, 224, 224)], at_input_size=True)
    assert both.shape == (2, 3, 224, 224)
    assert as_input_batch(lite0, torch.zeros(1, 3, 100, 120)).shape == (1, 3, 100, 120)  # saliency takes any size


@pytest.mark.parametrize(
    "images, kwargs, message",
    [
        (torch.zeros(2, 2), {}, r"\(N, 3, H, W\)"),
        (torch.zeros(1, 4, 224, 224), {}, r"\(N, 3, H, W\)"),
        (torch.zeros(0, 3, 224, 224), {}, r"\(N, 3, H, W\)"),
        (torch.zeros(1, 3, 224, 224, dtype=torch.uint8), {}, "float tensor"),
        (torch.full((1, 3, 224, 224), float("nan")), {}, "NaN"),
        (torch.zeros(1, 3, 100, 120), {"at_input_size": True}, "preprocess it first"),
        ([], {}, "No images given"),
        (b"not an image", {}, "not an image NetViz can read"),
    ],
)
def test_every_bad_input_batch_is_an_image_input_error(lite0, images, kwargs, message):
    with pytest.raises(ImageInputError, match=message):
        as_input_batch(lite0, images, **kwargs)
