"""Step rules: NAdam agrees with torch.optim.NAdam (descent mirrored); the registry names every optimizer."""

from __future__ import annotations

import pytest
import torch

from netviz_core.optimize import OPTIMIZERS, NAdam, StepContext, step_rule_for
from netviz_core.optimize.steps import Adam


def _ctx():
    return StepContext(net=None, step=0, targets=torch.zeros(1, dtype=torch.long), generators=[], state={})


@pytest.mark.parametrize("ours, theirs", [(NAdam, torch.optim.NAdam), (Adam, torch.optim.Adam)])
def test_ascent_equals_torch_descent_on_the_negated_objective(ours, theirs):
    g = torch.Generator().manual_seed(0)
    target = torch.randn(2, 3, 5, 5, generator=g)
    x = torch.zeros(2, 3, 5, 5)
    p = torch.zeros(2, 3, 5, 5, requires_grad=True)
    opt, rule, ctx = theirs([p], lr=0.1), ours(lr=0.1), _ctx()
    for _ in range(5):
        grad = -(x - target)  # ascent on -½‖x − target‖²
        x = rule(x, grad, ctx)
        opt.zero_grad()
        (0.5 * (p - target).square().sum()).backward()
        opt.step()
    assert torch.allclose(x, p.detach(), atol=1e-6)


def test_registry_and_bad_name():
    assert set(OPTIMIZERS) == {"normalized", "adam", "nadam"}
    assert step_rule_for("nadam", 0.3).lr == 0.3
    with pytest.raises(ValueError, match="Unknown optimizer 'sgd'"):
        step_rule_for("sgd", 1.0)
