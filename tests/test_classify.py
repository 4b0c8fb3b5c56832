"""netviz_core.classify."""

import pytest
import torch

from conftest import assert_model_clean
from netviz_core.classify import classify
from netviz_core.images import preprocess


def test_classify_returns_sorted_top_k(lite0, coffee):
    result = classify(lite0, coffee, top_k=5)
    assert len(result.indices) == 5 and result.indices[0] == 967
    assert result.probabilities == sorted(result.probabilities, reverse=True)
    assert result.names[0] == "espresso"
    assert_model_clean(lite0)


def test_classify_accepts_a_tensor(lite0, coffee):
    """A tensor is the model's input as it is: the model's own softmax on it, batched or not."""
    x = preprocess(lite0, coffee)
    mirrored = x.flip(-1) * 0.5  # no picture path gives this input
    for tensor in (x, x[0], mirrored):
        with torch.no_grad():
            top_p, top_i = lite0.module(tensor.reshape(1, *x.shape[1:])).softmax(-1)[0].topk(3)
        got = classify(lite0, tensor, top_k=3)
        assert got.indices == top_i.tolist()
        assert got.probabilities == pytest.approx(top_p.tolist(), abs=1e-6)
    assert classify(lite0, mirrored).probabilities != pytest.approx(classify(lite0, coffee).probabilities, abs=1e-3)


def test_top_k_out_of_range(lite0, coffee):
    with pytest.raises(ValueError, match="top_k"):
        classify(lite0, coffee, top_k=0)


def test_classify_leaves_no_autograd_state(lite0, coffee):
    x = preprocess(lite0, coffee).requires_grad_(True)
    classify(lite0, x, top_k=1)
    assert x.grad is None
    assert_model_clean(lite0)
    assert torch.is_grad_enabled()
