"""What the parts of one optimisation step see.

Its own module because objectives, step rules and transforms all read it while the
engine imports them: with the class inside ``engine`` every part had to import the
engine back (a cycle, hidden behind ``TYPE_CHECKING``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class StepContext:
    """What the parts of one step see.  ``state`` persists across steps (optimiser moments, x0, masks).

    ``images`` is the decoded image x_k (normalised units, requires grad during the
    step); with the ``pixel`` parametrization it is the optimised tensor itself.
    """

    net: Any
    step: int
    targets: torch.Tensor
    generators: list[torch.Generator]
    state: dict
    images: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    terms: dict = field(default_factory=dict)
    #: Raw outputs of the layers the objective asked for (``Objective.layers``), from the pass that made ``logits``.
    activations: dict = field(default_factory=dict)

    def zeros(self) -> torch.Tensor:
        return torch.zeros(self.targets.shape[0], device=self.targets.device)

    def feature_map(self, name: str) -> torch.Tensor:
        """Layer ``name`` of this step's pass as a feature map (N, C, h, w); refused if it is not one."""
        from ..layers import feature_map_info

        if name not in self.activations:
            raise KeyError(f"layer {name!r} was not read in this step: the objective must list it in .layers")
        return feature_map_info(self.net, name).to_grid(self.activations[name])
