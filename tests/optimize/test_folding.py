"""BatchNorm folding: the folded copy gives the same logits and input gradients; the shared model is untouched."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import assert_model_clean

from netviz_core.optimize.folding import fold_batchnorm, input_gradient_model


def _logits_and_input_gradient(module, x, target):
    xi = x.clone().requires_grad_(True)
    logits = module(xi)
    (g,) = torch.autograd.grad(logits[:, target].sum(), xi)
    return logits.detach(), g


@pytest.mark.parametrize("name", ["lite0", "lite1", "lite2"])
def test_folded_input_gradients_equal_the_unfolded_model(request, name):
    """In float64, so that the test sees the folding's arithmetic, not float32 rounding.

    ReLU6 makes the input gradient piecewise constant: in float32 a rounding-level
    change of a pre-activation that crosses 0 or 6 switches a path on or off, and
    single gradient entries then differ by ~1e-4 (lite1) whatever the folding.
    """
    net = request.getfixturevalue(name)
    original = copy.deepcopy(net.module).double()
    folded, count = fold_batchnorm(original)
    batchnorms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.module.modules())
    assert count == batchnorms and not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    # The networks are fully convolutional: a 96 px input exercises every folded layer at a fifth of the cost.
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ref_logits, ref_grad = _logits_and_input_gradient(original, x, 76)
    logits, grad = _logits_and_input_gradient(folded, x, 76)
    assert (logits - ref_logits).abs().max() < 1e-3 * ref_logits.abs().max()
    assert (grad - ref_grad).abs().max() < 1e-5, float((grad - ref_grad).abs().max())
    assert_model_clean(net)


def test_input_gradient_model_is_cached_and_keeps_the_interface(lite0):
    folded = input_gradient_model(lite0)
    assert input_gradient_model(lite0) is folded and folded.module is not lite0.module
    assert folded.name == lite0.name and folded.input_size == lite0.input_size
    assert torch.equal(folded.pixel_min, lite0.pixel_min)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in lite0.module.modules())  # the shared model keeps them


def test_a_folded_convolution_reads_as_its_batchnorm_output_before_the_activation(lite0):
    """The folded copy's activations are not in place: a layer reader sees the convolution's own output.

    In place, the ReLU6 after a folded convolution overwrote the tensor the reader kept
    (conv_stem read as the activation's output).
    """
    from netviz_core.layers import read_layers

    x = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    folded = input_gradient_model(lite0)
    with torch.no_grad():
        got = read_layers(folded, x, ["conv_stem"])["conv_stem"]
        bn = lite0.module.bn1
        raw = read_layers(lite0, x, ["conv_stem"])["conv_stem"]
        expected = torch.nn.functional.batch_norm(raw, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                                                  False, 0.0, bn.eps)
    assert (expected < 0).any()  # the activation would have clipped these
    assert torch.allclose(got, expected, atol=1e-4)
    assert_model_clean(lite0)
