"""Fooling images: bad input, the result's promises (8-bit, bounded, reported), cancellation, batches.

The acceptance runs (chelsea and coffee x 5 targets through the CLI, PNGs read back)
are in tests/cli/test_fool_cli.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import ROOT, assert_model_clean

from netviz_core.classify import classify
from netviz_core.errors import ClassLookupError, FoolingError, ImageInputError, NetVizError
from netviz_core.fooling import FoolingResult, FoolingSettings, fool, fool_batch, fooling_frames, fooling_results
from netviz_core.images import preprocess, quantize, to_uint8

TARANTULA, GOLDFISH = 76, 1


@pytest.fixture(scope="module")
def chelsea_x(lite0, chelsea):
    return preprocess(lite0, chelsea)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"iterations": -1}, "iterations must be a whole number of steps from 0 to"),
        ({"iterations": 2.5}, "whole number"),
        ({"lr": 0}, "learning rate"),
        ({"lr": float("nan")}, "learning rate"),
        ({"linf": 0}, "L∞ bound"),
        ({"linf": -4}, "L∞ bound"),
        ({"linf": 300}, "L∞ bound.* from 0.5 to 255"),
        ({"linf": 8, "step_size": 0}, "step_size .*sign step.* from 0.25 to"),
        ({"step_size": 2}, "linf"),
        ({"magnify": 0}, "magnification"),
    ],
)
def test_bad_settings_raise_a_fooling_error(lite0, chelsea_x, kwargs, message):
    with pytest.raises(FoolingError, match=message) as info:
        fool(lite0, chelsea_x, TARANTULA, **kwargs)
    assert isinstance(info.value, NetVizError)


def test_settings_are_one_frozen_validated_object_that_round_trips_json(lite0, chelsea_x):
    s = FoolingSettings(iterations=7, linf=8, step_size=1.5)
    assert FoolingSettings.from_json(s.to_json()) == s and json.loads(s.to_json())["iterations"] == 7
    assert (s.method, s.sign_step, FoolingSettings().method, FoolingSettings().sign_step) == ("linf", 1.5, "normalized", None)
    with pytest.raises(Exception):
        s.lr = 2.0  # frozen
    with pytest.raises(FoolingError, match="Unknown fooling settings: max_iter"):
        FoolingSettings.from_dict({"max_iter": 3})
    with pytest.raises(FoolingError, match="not valid JSON"):
        FoolingSettings.from_json("{")
    with pytest.raises(FoolingError, match="Unknown fooling settings: max_iter"):
        fooling_frames(lite0, chelsea_x, TARANTULA, max_iter=3)  # the old name is refused, not ignored
    # Settings and keyword overrides are the same run.
    a = fool(lite0, chelsea_x, TARANTULA, FoolingSettings(iterations=2, lr=0.5))
    b = fool(lite0, chelsea_x, TARANTULA, iterations=2, lr=0.5)
    assert torch.equal(a.fooling_image, b.fooling_image) and a.settings == b.settings
    assert a.as_dict()["settings"] == {"iterations": 2, "lr": 0.5, "linf": None, "step_size": None}


def test_the_generator_checks_its_arguments_before_the_first_frame(lite0, chelsea_x):
    with pytest.raises(FoolingError, match="iterations must be a whole number of steps from 0"):
        fooling_frames(lite0, chelsea_x, TARANTULA, iterations=-1)  # no next(): raised at the call


def test_unknown_class_and_wrong_size_are_clear_errors(lite0, chelsea_x):
    with pytest.raises(ClassLookupError, match="No class name contains"):
        fooling_frames(lite0, chelsea_x, "not a class at all")
    with pytest.raises(ClassLookupError, match="out of range"):
        fooling_frames(lite0, chelsea_x, 1000)
    with pytest.raises(ImageInputError, match="preprocess it first"):
        fooling_frames(lite0, torch.zeros(1, 3, 100, 120), TARANTULA)
    with pytest.raises(ClassLookupError, match="2 targets for a batch of 1 image;"):
        fooling_frames(lite0, chelsea_x, [TARANTULA, GOLDFISH])
    with pytest.raises(FoolingError, match="use fool_batch"):
        fool(lite0, chelsea_x.expand(2, -1, -1, -1), TARANTULA)


def test_target_already_predicted_is_reported_not_refused(lite0, chelsea_x):
    own = classify(lite0, chelsea_x).indices[0]
    result = fool(lite0, chelsea_x, own)
    assert result.success and result.already_target
    assert result.iterations == 0 and result.quantized_steps == 0
    assert result.l2 == 0 and result.linf == 0
    assert result.as_dict()["already_target"] is True


def _assert_on_grid_and_fools(net, result: FoolingResult):
    x = result.fooling_image
    assert tuple(x.shape) == (1, 3, *net.input_size)
    assert torch.equal(quantize(net, x), x), "the returned image is not on the 8-bit grid"
    # What the saved PNG decodes to is the returned tensor, and it is the target.
    reread = preprocess(net, result.fooling_picture)
    assert torch.allclose(reread, x, atol=1e-6)
    assert classify(net, reread, top_k=1).indices[0] == result.target


@pytest.mark.long
def test_linf_bounded_batch_respects_the_bound_and_fools(lite0, chelsea, coffee):
    eps = 8
    results = fool_batch(lite0, [chelsea, coffee], ["tarantula", GOLDFISH], linf=eps)
    assert [r.target for r in results] == [TARANTULA, GOLDFISH]
    for r in results:
        assert r.success, r.as_dict()
        assert 0 < r.linf <= eps + 1e-3
        assert r.settings == FoolingSettings(linf=8) and (r.settings.method, r.settings.sign_step) == ("linf", 2.0)
        assert r.target_probability_after > r.target_probability_before
        assert r.original_probability_after < r.original_probability_before
        _assert_on_grid_and_fools(lite0, r)
        # The magnified difference is mid-grey where nothing changed, and shows the change.
        diff = np.asarray(r.difference_picture).astype(int)
        change = to_uint8(lite0, r.fooling_image)[0].astype(int) - to_uint8(lite0, r.original_image)[0].astype(int)
        assert np.array_equal(diff, np.clip(128 + 10 * change, 0, 255))
        assert json.loads(json.dumps(r.as_dict()))["linf"] == r.linf
    assert_model_clean(lite0)


_FRESH_RUN = textwrap.dedent(
    """
    import sys
    import numpy as np
    sys.path.insert(0, {root!r})
    from netviz_core.fooling import fool
    from netviz_core.images import open_image, to_uint8
    from netviz_core.models import load_model
    net = load_model("tf_efficientnet_lite0", device="cpu")
    r = fool(net, open_image({image!r}), {target})
    np.save({out!r}, to_uint8(net, r.fooling_image))
    print(r.iterations, r.quantized_steps)
    """
)


@pytest.mark.long
def test_cancelled_run_leaves_nothing_behind(lite0, chelsea_x, assets, tmp_path):
    target = 950  # orange
    frames = fooling_frames(lite0, chelsea_x, target)
    seen = [next(frames) for _ in range(3)]
    frames.close()  # cancel after 3 frames
    assert [f.step for f in seen] == [0, 1, 2] and not any(f.final for f in seen)
    assert [int(f.iterations[0]) for f in seen] == [0, 1, 2]
    # A cancelled run's results describe the image reached so far, rounded to 8 bits.
    (partial,) = fooling_results(lite0, seen[-1])
    assert partial.iterations == 2 and torch.equal(quantize(lite0, partial.fooling_image), partial.fooling_image)

    history = []
    result = fool(lite0, chelsea_x, target, on_frame=history.append)
    assert result.success and 0 < result.iterations <= 100
    assert [f.step for f in history] == list(range(len(history)))
    assert [f.final for f in history] == [False] * (len(history) - 1) + [True]
    assert history[-1].phase == "quantized" and history[0].phase == "continuous"
    assert_model_clean(lite0)

    out = tmp_path / "fresh.npy"
    script = _FRESH_RUN.format(root=str(ROOT), image=str(assets / "chelsea.png"), target=target, out=str(out))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    iterations, quantized_steps = map(int, proc.stdout.split())
    assert (iterations, quantized_steps) == (result.iterations, result.quantized_steps)
    assert np.array_equal(np.load(out), to_uint8(lite0, result.fooling_image))


# ----------------------------------------------------------------- the 8-bit phase, on a toy model
#
# A linear two-class model on 4x4 images whose decision moves by less than half an
# 8-bit level: the float ascent crosses it, rounding undoes the crossing, and only
# the steps on the grid can make the saved image fool.  Deterministic and instant.


def _toy_linear_model():
    from netviz_core.models import DataConfig, LoadedModel

    linear = torch.nn.Linear(48, 2)
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[0] = 1.0  # class 0: the sum of the pixels (normalised units)
        linear.bias.copy_(torch.tensor([0.0, 0.25]))  # class 1: a constant just above it
    module = torch.nn.Sequential(torch.nn.Flatten(), linear).eval().requires_grad_(False)
    config = DataConfig(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), input_size=(3, 4, 4))
    return LoadedModel(name="toy-linear", module=module, data_config=config, class_names=("zero", "one"),
                       source="random")


def _grey_128(net):
    return ((torch.full((1, 3, 4, 4), 128 / 255) - net.mean) / net.std)  # on the grid; sum 0.19 < 0.25


def test_rounding_that_breaks_the_prediction_is_repaired_on_the_8_bit_grid():
    net = _toy_linear_model()
    x0 = _grey_128(net)
    assert classify(net, x0, top_k=1).indices == [1]
    history = []
    result = fool(net, x0, "zero", lr=0.005, on_frame=history.append)
    continuous = [f for f in history if f.phase == "continuous"]
    assert bool(continuous[-1].fooled[0]), "the float ascent itself should reach the target"
    assert classify(net, quantize(net, continuous[-1].images), top_k=1).indices == [1], "rounding breaks it"
    assert result.success and result.quantized_steps == 1
    assert result.iterations == int(continuous[-1].iterations[0]) + 1
    assert result.linf == pytest.approx(1.0, abs=1e-3)  # one 8-bit level on every pixel
    _assert_on_grid_and_fools(net, result)
    assert_model_clean(net)


def test_both_phases_share_the_iterations_and_a_failure_is_reported():
    net = _toy_linear_model()
    result = fool(net, _grey_128(net), 0, lr=0.005, iterations=2)  # 2 float steps cross; no budget left
    assert not result.success and result.iterations == 2 and result.quantized_steps == 0
    assert result.predicted_class == 1 and result.as_dict()["success"] is False


def test_a_bound_below_one_level_cannot_move_the_8_bit_image():
    net = _toy_linear_model()
    result = fool(net, _grey_128(net), 0, linf=0.5, iterations=10)
    assert not result.success and result.linf == 0.0
