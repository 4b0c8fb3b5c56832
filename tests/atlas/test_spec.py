"""Job specs: class lists, backbones, grids; every bad input is one AtlasError naming the problem."""

from __future__ import annotations

import pytest

from netviz_core.atlas.spec import AXIS_LABELS, SWEEP_AXES, atlas_spec, grid_variants, parse_classes, sweep_spec
from netviz_core.errors import AtlasError
from netviz_core.models import BUNDLED_MODELS


def test_class_lists_mix_ranges_indices_and_names_in_order_without_duplicates():
    assert parse_classes("0-3") == (0, 1, 2, 3)
    assert parse_classes("76,goldfish,0-2") == (76, 1, 0, 2)
    assert parse_classes(["5", "3-5"]) == (5, 3, 4)
    assert parse_classes("all") == tuple(range(1000))
    assert parse_classes(" 998 - 999 ") == (998, 999)


@pytest.mark.parametrize("text, words", [
    ("5-2", "backwards"), ("0-1000", "past the last class"), ("1,,2", "Empty entry"), ("1-2-3", "Malformed"),
    ("no_such_class_xyz", "no_such_class_xyz"), ("", "No classes"), ("1000", "out of range"), ("cat", "matches"),
])
def test_a_bad_class_list_names_its_problem(text, words):
    with pytest.raises(AtlasError, match=words):
        parse_classes(text)


def test_unknown_backbone_and_bad_settings_are_refused_before_any_work():
    with pytest.raises(AtlasError, match="not_a_model_xyz"):
        atlas_spec("0-1", ["not_a_model_xyz"])
    with pytest.raises(AtlasError, match="twice"):
        atlas_spec("0-1", ["tf_efficientnet_lite0", "tf_efficientnet_lite0"])
    with pytest.raises(AtlasError, match="iterations"):
        atlas_spec("0-1", ["tf_efficientnet_lite0"], iterations=-1)


def test_a_grid_point_that_is_not_valid_settings_names_the_point():
    # blur acts on pixels: with the (default) Fourier parametrization a blur interval is refused
    with pytest.raises(AtlasError, match="blur every=5"):
        sweep_spec("1", "tf_efficientnet_lite0", {"blur_every": [0, 5]}, "lucid", blur_sigma=0.5)
    with pytest.raises(AtlasError, match="cannot vary"):
        grid_variants({"seed": [1, 2]})
    with pytest.raises(AtlasError, match="at least one axis"):
        sweep_spec("1", "tf_efficientnet_lite0", {})


def test_a_sweep_has_one_variant_per_grid_point_with_stable_ids():
    spec = sweep_spec("1", "tf_efficientnet_lite0", {"lr": [0.02, 0.05], "tv_weight": [0.0, 5e-4, 1e-3]})
    assert len(spec.variants) == 6 and len({v.id for v in spec.variants}) == 6
    again = sweep_spec("1", "tf_efficientnet_lite0", {"tv_weight": [0.0, 5e-4, 1e-3], "lr": [0.02, 0.05]})
    assert [v.id for v in again.variants] == [v.id for v in spec.variants]  # axis order of the options is irrelevant
    # judged by every other bundled backbone (the lites and MobileNet-V2), never by the one that made it
    assert spec.held_out == tuple(m for m in BUNDLED_MODELS if m != "tf_efficientnet_lite0")
    assert {spec.settings_of(v).lr for v in spec.variants} == {0.02, 0.05}


def test_identity_ignores_classes_and_gif_but_not_settings():
    a = atlas_spec("0-3", ["tf_efficientnet_lite0"], iterations=4)
    assert a.identity() == atlas_spec("7", ["tf_efficientnet_lite0"], iterations=4, gif=True).identity()
    assert a.identity() != atlas_spec("0-3", ["tf_efficientnet_lite0"], iterations=5).identity()


def test_axis_labels_are_the_declarations_short_names_and_fit_a_contact_sheet():
    from netviz_core.classvis import ClassVisSettings
    from netviz_core.settings import declarations

    d = declarations(ClassVisSettings)
    assert set(AXIS_LABELS) == set(SWEEP_AXES)
    assert AXIS_LABELS["l2_weight"] == d["l2_weight"].symbol  # no short name: the symbol
    assert AXIS_LABELS["blur_every"] == d["blur_every"].label.lower()  # nor a symbol: the label
    assert AXIS_LABELS["iterations"] == d["iterations"].short
    assert all(0 < len(label) <= 10 for label in AXIS_LABELS.values()), AXIS_LABELS
    assert len(set(AXIS_LABELS.values())) == len(AXIS_LABELS), "two axes share a label"
    point = grid_variants({"l2_weight": [0.001], "blur_every": [4]})[0]
    assert point.label() == "λ=0.001, blur every=4"
