"""Layer objectives: Channel against a hand computation, diversity, composition, and sharing one model."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from conftest import assert_model_clean
from netviz_core.errors import LayerError, OptimizationError
from netviz_core.models import DataConfig, LoadedModel
from netviz_core.optimize import engine
from netviz_core.optimize.context import StepContext
from netviz_core.optimize.objectives import (
    Channel, ClassLogit, Direction, Diversity, L2Norm, Neuron, gram_dissimilarity,
)


class Tiny(nn.Module):
    """conv(3→2, 1×1, hand-set weights) → ReLU → mean pool → linear: every activation by hand."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(2, 3)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]]).view(2, 3, 1, 1))
            self.conv.bias.copy_(torch.tensor([0.25, -0.5]))
            self.fc.weight.copy_(torch.arange(6.0).view(3, 2))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.act(self.conv(x)).mean(dim=(2, 3)))


def tiny() -> LoadedModel:
    module = Tiny().eval().requires_grad_(False)
    config = DataConfig(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), input_size=(3, 4, 5))
    return LoadedModel("tiny", module, config, ("a", "b", "c"), "random")


def hand_channel0(x):
    return torch.relu(x[:, 0] - 2 * x[:, 1] + 0.5 * x[:, 2] + 0.25).mean(dim=(1, 2))


def value_and_gradient(net, objective, x):
    x = x.clone().requires_grad_(True)
    ctx = StepContext(net=net, step=0, targets=torch.zeros(x.shape[0], dtype=torch.long), generators=[], state={})
    ctx.images = x
    engine.network_pass(ctx, x, objective.layers)
    v = objective(ctx)
    (g,) = torch.autograd.grad(v.sum(), x)
    return v.detach(), g


def test_channel_is_the_hand_computed_mean_and_its_gradient_the_hand_gradient():
    net = tiny()
    x = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    v, g = value_and_gradient(net, Channel("act", 0), x)
    xh = x.clone().requires_grad_(True)
    expected = hand_channel0(xh)
    (expected_g,) = torch.autograd.grad(expected.sum(), xh)
    torch.testing.assert_close(v, expected.detach())
    torch.testing.assert_close(g, expected_g)
    assert g.abs().sum() > 0  # some units are active, so the test compares real gradients


def test_negation_neuron_and_direction_are_the_hand_values():
    net = tiny()
    x = torch.randn(1, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    a = torch.relu(torch.einsum("oc,nchw->nohw", net.module.conv.weight[:, :, 0, 0], x)
                   + net.module.conv.bias.view(1, 2, 1, 1))
    v, _ = value_and_gradient(net, -Channel("act", 1), x)
    torch.testing.assert_close(v, -a[:, 1].mean(dim=(1, 2)))
    v, _ = value_and_gradient(net, Neuron("act", 1), x)
    torch.testing.assert_close(v, a[:, 1, 2, 2])  # the centre of a 4×5 map
    v, _ = value_and_gradient(net, Direction("act", [2.0, -1.0]), x)
    torch.testing.assert_close(v, (2 * a[:, 0] - a[:, 1]).mean(dim=(1, 2)))


def test_class_logit_composes_with_a_layer_objective_from_one_pass():
    net = tiny()
    x = torch.randn(1, 3, 4, 5, generator=torch.Generator().manual_seed(2))
    objective = ClassLogit() + 0.5 * Channel("act", 0)
    assert objective.layers == {"logits", "act"}
    v, _ = value_and_gradient(net, objective, x)
    torch.testing.assert_close(v, net(x)[:, 0] + 0.5 * hand_channel0(x))


def test_bad_channel_position_and_direction_name_the_layer_shape():
    net = tiny()
    x = torch.zeros(1, 3, 4, 5)
    with pytest.raises(LayerError, match=r"Channel 2 is out of range for layer 'act' \(2 channels × 4×5"):
        value_and_gradient(net, Channel("act", 2), x)
    with pytest.raises(LayerError, match=r"y=4 is out of range"):
        value_and_gradient(net, Neuron("act", 0, y=4, x=0), x)
    with pytest.raises(LayerError, match="one value per channel \\(2\\)"):
        value_and_gradient(net, Direction("act", [1.0, 2.0, 3.0]), x)


def test_diversity_is_zero_for_identical_images_and_positive_otherwise():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(1, 6, 5, 5, generator=g)
    torch.testing.assert_close(gram_dissimilarity(a.expand(4, -1, -1, -1)), torch.zeros(4), atol=1e-6, rtol=0)
    b = torch.cat([a, torch.randn(2, 6, 5, 5, generator=g)])
    assert (gram_dissimilarity(b) > 1e-3).all()
    assert gram_dissimilarity(a).tolist() == [0.0]  # a batch of one has nothing to differ from


def test_diversity_refuses_the_batch_invariant_mode():
    net = tiny()
    with pytest.raises(OptimizationError, match="compares the images"):
        next(engine.optimize(net, torch.zeros(2, 3, 4, 5), [0, 0], objective=Channel("act", 0) + Diversity("act"),
                             batch_invariant=True))


def test_a_run_without_layer_objectives_takes_the_plain_pass(monkeypatch):
    """ClassLogit - L2 reads only the logits: the engine calls net(x), never the layer graph."""
    import netviz_core.optimize.engine as eng

    def fail(*args, **kwargs):
        raise AssertionError("the layer machinery ran for a class objective")

    monkeypatch.setattr(eng, "read_layers", fail)
    net = tiny()
    last, _ = engine.run(engine.optimize(net, torch.zeros(1, 3, 4, 5), [1], objective=ClassLogit() - 1e-3 * L2Norm(),
                                         iterations=2))
    assert last.final and torch.isfinite(last.scores).all()


def test_layer_only_runs_score_frames_with_the_objective():
    net = tiny()
    x0 = torch.randn(1, 3, 4, 5, generator=torch.Generator().manual_seed(4))
    frames = list(engine.optimize(net, x0, [0], objective=Channel("act", 0), iterations=3))
    torch.testing.assert_close(frames[0].scores, hand_channel0(x0))
    assert frames[-1].scores.item() > frames[0].scores.item()  # gradient ascent raised the channel
    assert frames[-1].predictions.tolist() == [-1] and frames[-1].probabilities.isnan().all()


def test_eight_threads_of_layer_and_class_objectives_share_one_model():
    """A fresh model (so the threads also race to build the cached graphs); each result equals its serial run."""
    from netviz_core.models import load_model

    net = load_model("tf_efficientnet_lite0", weights="random", device="cpu")
    flags = [(n, p.requires_grad) for n, p in net.module.named_parameters()]
    objectives = [Channel("blocks.3", 1), ClassLogit(), Neuron("blocks.2", 4) + 0.1 * Diversity("blocks.2"),
                  ClassLogit() + Channel("blocks.4", 7), -Channel("blocks.1", 3), Direction("blocks.3", torch.ones(80)),
                  Channel("blocks.3", 9) + 0.1 * Diversity("blocks.3"), ClassLogit() - 1e-3 * L2Norm()]

    def job(i):
        x0 = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(i)) * 0.5
        last, _ = engine.run(engine.optimize(net, x0, [i, i + 1], objective=objectives[i], iterations=2))
        return last.images

    results, errors = {}, []
    barrier = threading.Barrier(len(objectives))

    def worker(i):
        barrier.wait()
        try:
            results[i] = job(i)
        except Exception as exc:  # reported below
            errors.append(f"{objectives[i]!r}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(objectives))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert_model_clean(net)
    assert [(n, p.requires_grad) for n, p in net.module.named_parameters()] == flags
    assert not hasattr(net.module, "_netviz_layers") and "graph" not in vars(net.module)
    for i in range(len(objectives)):
        torch.testing.assert_close(results[i], job(i), rtol=0, atol=0, msg=f"{objectives[i]!r}")
