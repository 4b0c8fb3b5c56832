"""Fixed-seed runs give the pictures they gave before, on any x86-64 CPU and thread count.

A regression guard for the recipes: a change of a step rule, a regulariser, a transform's
draws or the order of the post-steps changes these pictures by far more than the bounds.

Why not a hash of the bits: CPU kernels (oneDNN, MKL) choose their blocking from the
instruction set, the vendor and the thread count, so the same run rounds differently on
another machine, and class visualization amplifies rounding (a normalised step of 25
turns a rounding-level change of the gradient's direction into a different picture within
a few steps: after 3 steps, 1 vs 2 threads on one machine differ in half of the pixels).
So the pins are short runs, where rounding moves a few 8-bit levels at most, compared with
bounds measured between thread counts (below), and every part of the recipe acts in them:
the cs231n loop with the blur every step (jitter, L2, normalised step, clamp, blur), and the
two fooling modes to their first success.

The references were taken with one thread on the commit that introduced this file, whose
runs equal (bit for bit, same machine and thread count) those of 31027a7, before the
renovation.  ``python tests/test_pinned_runs.py --write`` takes them again, on purpose only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REFERENCES = Path(__file__).resolve().parent / "data" / "pinned"

#: The cs231n recipe (its values written out, so that a change of the preset does not move the
#: pin), blurring every step so that both steps exercise every part; the network as loaded.
CS231N = dict(objective="logit", init="noise", l2_weight=1e-3, lr=25.0, blur_every=1, blur_sigma=0.5, jitter=16,
              noise_std=1.0, clamp=True, seed=0, fold_batchnorm=False)
CLASSVIS_STEPS = 2
#: chelsea -> stingray (6) on lite0: (fooling options, iterations to the first success).
FOOLING = {"normalized": ({}, 10), "linf": ({"linf": 8.0}, 5)}

#: 8-bit differences between one and two threads on one machine (the same run, other rounding):
#: class visualization max 5 levels on 4.5 % of the pixels, fooling max 5 (normalised) and 12
#: (linf: a sign step turns where the gradient is near zero) on 15-36 %, mean ≤ 1.5.  A change of
#: the recipe moves tens of levels on most pixels (see test_a_changed_recipe_breaks_the_pin).
BOUNDS = {"classvis": dict(max_level=16, changed_share=0.15, mean_level=0.3),
          "normalized": dict(max_level=16, changed_share=0.4, mean_level=0.5),
          "linf": dict(max_level=24, changed_share=0.5, mean_level=3.0)}


def classvis_picture(lite0, **changes) -> np.ndarray:
    from netviz_core.classvis import class_visualization, settings_for

    settings = settings_for("cs231n", targets=(76,), iterations=CLASSVIS_STEPS, **{**CS231N, **changes})
    result = class_visualization(lite0, settings=settings)
    assert result.steps == CLASSVIS_STEPS and result.images[0].size == (224, 224)
    return np.asarray(result.images[0].convert("RGB"), dtype=np.uint8)


def fooling_picture(lite0, chelsea, method: str, **changes) -> tuple[np.ndarray, int]:
    from netviz_core.fooling import fool

    options, _ = FOOLING[method]
    result = fool(lite0, chelsea, 6, **{**options, **changes})
    assert result.success
    return np.asarray(result.fooling_picture.convert("RGB"), dtype=np.uint8), result.iterations


def differences(a: np.ndarray, b: np.ndarray) -> dict:
    d = np.abs(a.astype(int) - b.astype(int))
    return dict(max_level=int(d.max()), changed_share=float((d > 0).mean()), mean_level=float(d.mean()))


def within(diff: dict, bounds: dict) -> bool:
    return all(diff[k] <= bounds[k] for k in bounds)


def reference(name: str) -> np.ndarray:
    return np.asarray(Image.open(REFERENCES / f"{name}.png").convert("RGB"), dtype=np.uint8)


def test_class_visualization_gives_the_pinned_picture(lite0):
    diff = differences(classvis_picture(lite0), reference("classvis_cs231n_76"))
    print(f"\nclass visualization vs pin: {diff}")
    assert within(diff, BOUNDS["classvis"]), diff


@pytest.mark.parametrize("method", sorted(FOOLING))
def test_fooling_gives_the_pinned_picture(lite0, chelsea, method):
    picture, iterations = fooling_picture(lite0, chelsea, method)
    assert iterations == FOOLING[method][1]
    diff = differences(picture, reference(f"fooling_{method}_chelsea_6"))
    print(f"\nfooling ({method}) vs pin: {diff}")
    assert within(diff, BOUNDS[method]), diff


@pytest.mark.parametrize("change", [dict(lr=20.0), dict(blur_sigma=1.0), dict(jitter=8), dict(l2_weight=1e-1)])
def test_a_changed_recipe_breaks_the_pin(lite0, change):
    """The bounds are tight enough to see a change of any one part of the recipe."""
    diff = differences(classvis_picture(lite0, **change), reference("classvis_cs231n_76"))
    assert not within(diff, BOUNDS["classvis"]), (change, diff)


def _write_references() -> None:  # pragma: no cover - run by hand, on purpose only
    import torch

    from netviz_core.images import open_image
    from netviz_core.models import load_model

    torch.set_num_threads(1)
    lite0 = load_model("tf_efficientnet_lite0")
    chelsea = open_image(Path(__file__).resolve().parents[1] / "assets" / "chelsea.png")
    REFERENCES.mkdir(parents=True, exist_ok=True)
    Image.fromarray(classvis_picture(lite0)).save(REFERENCES / "classvis_cs231n_76.png")
    for method in FOOLING:
        picture, _ = fooling_picture(lite0, chelsea, method)
        Image.fromarray(picture).save(REFERENCES / f"fooling_{method}_chelsea_6.png")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--write"]:
        _write_references()
    else:
        sys.exit("usage: python tests/test_pinned_runs.py --write   (takes the references again)")
