"""How far a saliency map can be trusted: faithfulness curves and the model-randomisation check.

Every metric perturbs the image in the order the map gives (most salient pixel first,
ties broken by a seeded random order, so a constant map is a random order) and reads
the model's score for the target class s (``score="probability"``: the softmax
probability, as in the papers; ``"logit"``: S_c) on a batch of perturbed copies, so a
whole curve is a few forward passes.  One module per family:

* ``perturbation``: deletion and insertion (Petsiuk et al. 2018, RISE): the top fraction f
  of pixels deleted to a baseline, or put back into the blurred image; AUC of s(f).
* ``road``: ROAD (Rong et al. 2022): the most / least relevant fraction removed and
  filled by noisy linear imputation, which leaks no information about where.
* ``randomization``: the model-randomisation check (Adebayo et al. 2018): Spearman's
  correlation with the same method's map on a copy whose top units are re-initialised.
* ``evaluate``: ``evaluate_map`` (all four for one map), ``evaluate_method`` (a method and
  the reference maps of ``baselines``), ``MapMetrics`` and ``trust_table``.
* ``common``: ``MetricSettings``, ``Curve``, the removal order and the batched scores.

Nothing here changes the shared model: the randomised model is a deep copy (kept per
model for the summary's depth, ``randomized_model``), and the perturbed images are
scored by the BatchNorm-folded copy (``MetricSettings.fold_batchnorm``).

This package exports every public name of the five modules (the names the single
``metrics.py`` it replaces exported), so ``from netviz_core.saliency.metrics import ...``
works as before.
"""

from __future__ import annotations

from .common import DELETION_BASELINES, SCORES, Curve, MetricSettings, Progress, class_scores, removal_ranks
from .evaluate import MapMetrics, evaluate_map, evaluate_method, trust_table
from .perturbation import blurred, deletion_curve, deletion_fill, fractions_for, insertion_curve
from .randomization import (
    NORM_TYPES,
    RANDOMIZED_COPIES_PER_MODEL,
    RandomizationCurve,
    cascade_depths,
    cascade_units,
    method_class,
    randomization_curve,
    randomized_copy,
    randomized_model,
    reinitialize,
    spearman,
)
from .road import (
    NEIGHBOR_WEIGHTS,
    add_imputation_noise,
    dissection_positions,
    linear_imputation,
    noisy_linear_imputation,
    road_curves,
)

__all__ = [
    "DELETION_BASELINES", "NEIGHBOR_WEIGHTS", "NORM_TYPES", "RANDOMIZED_COPIES_PER_MODEL", "SCORES",
    "Curve", "MapMetrics", "MetricSettings", "Progress", "RandomizationCurve",
    "add_imputation_noise", "blurred", "cascade_depths", "cascade_units", "class_scores", "deletion_curve",
    "deletion_fill", "dissection_positions", "evaluate_map", "evaluate_method", "fractions_for",
    "insertion_curve", "linear_imputation", "method_class", "noisy_linear_imputation", "randomization_curve",
    "randomized_copy", "randomized_model", "reinitialize", "removal_ranks", "road_curves", "spearman",
    "trust_table",
]
