"""Every metric of one map, of a method and its reference maps, and the table that ranks them.

``evaluate_map`` computes all four for one map, ``evaluate_method`` for a method and
the two reference maps of ``baselines`` (a random map and a centre Gaussian).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...models import LoadedModel
from .common import Curve, MetricSettings, Progress, one_image, one_map, target_class
from .perturbation import deletion_curve, insertion_curve
from .randomization import RandomizationCurve, cascade_units, method_class, randomization_curve
from .road import road_curves


@dataclass(frozen=True)
class MapMetrics:
    """All metrics of one map; ``summary()`` gives the flat numbers the CLI prints."""

    deletion: Curve
    insertion: Curve
    road_morf: Curve
    road_lerf: Curve
    randomization: RandomizationCurve | None = None

    def summary(self) -> dict:
        rho = self.randomization.spearman[-1] if self.randomization and self.randomization.spearman else None
        return {
            "deletion_auc": self.deletion.auc,
            "insertion_auc": self.insertion.auc,
            "road_morf": self.road_morf.auc,
            "road_lerf": self.road_lerf.auc,
            "randomization_spearman": None if rho is None or math.isnan(rho) else rho,
            "seconds": {
                "deletion": self.deletion.seconds,
                "insertion": self.insertion.seconds,
                "road": self.road_morf.seconds + self.road_lerf.seconds,
                "randomization": self.randomization.seconds if self.randomization else 0.0,
            },
        }


def evaluate_map(
    net: LoadedModel, x, saliency_map, target=None, *, method: str | None = None,
    method_options: dict | None = None, settings: MetricSettings | None = None,
    randomization: bool = True, progress: Progress | None = None,
) -> MapMetrics:
    """Deletion, insertion, ROAD MoRF/LeRF and (with ``method``) the randomisation check for one map."""
    settings = settings or MetricSettings()
    x = one_image(net, x)
    target = target_class(net, x, target)
    m = one_map(saliency_map, net.input_size)
    report = progress or (lambda _f, _what: None)
    report(0.0, "deletion")
    deletion = deletion_curve(net, x, m, target, settings)
    report(0.25, "insertion")
    insertion = insertion_curve(net, x, m, target, settings)
    report(0.5, "ROAD")
    morf, lerf = road_curves(net, x, m, target, settings)
    rand = None
    if randomization and method is not None:
        report(0.75, "randomisation")
        # The summary needs one depth (one map on the randomised copy), not the whole curve.
        depth = settings.randomization_depth or len(cascade_units(net.module))
        rand = randomization_curve(net, x, method, target, saliency_map=m, depths=depth,
                                   method_options=method_options, seed=settings.seed)
    report(1.0, "done")
    return MapMetrics(deletion, insertion, morf, lerf, rand)


def evaluate_method(
    net: LoadedModel, x, method: str, target=None, *, method_options: dict | None = None,
    settings: MetricSettings | None = None, baselines: tuple[str, ...] = ("random", "center"),
    saliency_map=None, progress: Progress | None = None,
) -> dict[str, MapMetrics]:
    """{method: metrics, "baseline_random": ..., "baseline_center": ...} for one image and class.

    ``saliency_map``: the method's map for this image and class if already computed.
    """
    settings = settings or MetricSettings()
    x = one_image(net, x)
    target = target_class(net, x, target)
    names = [method, *baselines]
    out: dict[str, MapMetrics] = {}
    for i, name in enumerate(names):
        options = method_options if name == method else {}
        if name == method and saliency_map is not None:
            m = one_map(saliency_map, net.input_size)
        else:
            m = method_class(name)(net, **(options or {}))(x, target)[0]

        def step(f: float, what: str, i=i, name=name) -> None:
            if progress is not None:
                progress((i + f) / len(names), f"{name}: {what}")

        key = name if name == method else f"baseline_{name}"
        out[key] = evaluate_map(net, x, m, target, method=name, method_options=options, settings=settings, progress=step)
    return out


def trust_table(summaries: dict[str, dict]) -> list[dict]:
    """Rows {map, deletion_auc, insertion_auc, insertion_minus_deletion, road_morf, road_lerf, randomization_spearman}.

    ``summaries``: name -> ``MapMetrics.summary()``.  Maps sorted best first by
    insertion - deletion (RISE's two curves in one number); names starting with
    ``baseline_`` (the references) come last, in the order given.
    """
    rows = []
    for name, s in summaries.items():
        rows.append({
            "map": name,
            "deletion_auc": s["deletion_auc"],
            "insertion_auc": s["insertion_auc"],
            "insertion_minus_deletion": s["insertion_auc"] - s["deletion_auc"],
            "road_morf": s["road_morf"],
            "road_lerf": s["road_lerf"],
            "randomization_spearman": s["randomization_spearman"],
        })
    methods = sorted((r for r in rows if not r["map"].startswith("baseline_")), key=lambda r: -r["insertion_minus_deletion"])
    return methods + [r for r in rows if r["map"].startswith("baseline_")]
