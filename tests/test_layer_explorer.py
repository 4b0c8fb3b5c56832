"""Layer Explorer technique: settings, channel grids, facets, accentuation, ranked examples, bad input."""

from __future__ import annotations

import pytest
import torch

from netviz_core import layer_explorer as le
from netviz_core.errors import LayerError
from netviz_core.images import preprocess


def test_settings_round_trip_json_and_name_bad_values():
    s = le.settings_for("lucid", layer="blocks.3", channels=[3, 4], diversity=2, diversity_weight=0.5)
    assert le.FeatureVisSettings.from_json(s.to_json()) == s
    assert s.image_channels() == [3, 3, 4, 4] and s.seeds() == [0, 1, 0, 1]
    assert s.iterations == 256 and s.optimizer == "adam"  # the lucid preset's optimisation
    for bad, match in [(dict(diversity=0), "diversity"), (dict(objective="unit"), "objective"),
                       (dict(channels=[-1]), "Channels"), (dict(diversity_weight=float("nan")), "diversity_weight must be a finite number from 0 to"),
                       (dict(bogus=1), "Unknown layer-explorer settings: bogus")]:
        with pytest.raises(LayerError, match=match):
            le.settings_for("lucid", layer="blocks.3", **bad)


def test_a_grid_of_channels_raises_each_channel(lite0):
    run = le.FeatureVisRun(lite0, layer="blocks.3", channels=(5, 34), iterations=6)
    frames = list(run.frames())
    start = run.activations_of(frames[0].images)
    result = run.result()
    assert result.channels == [5, 34] and len(result.images) == 2
    assert result.layer_label == "blocks.3 · 80 ch · 14×14"
    assert all(after > before + 1.0 for before, after in zip(start.tolist(), result.activations))


def test_diversity_makes_facets_of_one_channel_differ_more(lite0):
    from netviz_core.optimize.objectives import gram_dissimilarity

    def facet_dissimilarity(diversity):
        r = le.visualize_channels(lite0, "blocks.3", [5], diversity=2, diversity_weight=diversity, iterations=6,
                                 seed=0)
        maps = le.channel_means(lite0, "blocks.3", r.tensors)[1]
        return float(gram_dissimilarity(maps).mean())

    assert facet_dissimilarity(50.0) > facet_dissimilarity(0.0)


def test_accentuation_raises_the_channel_and_the_distance_weight_keeps_the_photo(lite0, chelsea):
    photo = preprocess(lite0, chelsea)
    near = le.accentuate(lite0, chelsea, "blocks.3", 34, iterations=6, distance_weight=1e4)
    far = le.accentuate(lite0, chelsea, "blocks.3", 34, iterations=6, distance_weight=10.0)
    assert near.activations[0] > near.start_activations[0]
    distance = [float((r.tensors - photo).pow(2).mean()) for r in (near, far)]
    assert distance[0] < distance[1]
    assert near.as_dict()["images"][0]["photo_activation"] == pytest.approx(near.start_activations[0])


def test_accentuating_a_class_raises_its_logit(lite0, chelsea):
    r = le.accentuate(lite0, chelsea, "logits", 285, iterations=4)  # Egyptian cat
    assert r.activations[0] > r.start_activations[0]


def test_ranked_examples_follow_the_channel_means_and_are_cached(lite0, chelsea, coffee, tmp_path):
    chelsea.save(tmp_path / "cat.png")
    coffee.save(tmp_path / "cup.png")
    x = torch.cat([preprocess(lite0, chelsea), preprocess(lite0, coffee)])
    means, _ = le.channel_means(lite0, "blocks.3", x)
    for channel in (5, 34):
        examples = le.ranked_examples(lite0, "blocks.3", channel, tmp_path, top=2)
        expected = ["cat.png", "cup.png"] if means[0, channel] > means[1, channel] else ["cup.png", "cat.png"]
        assert [e.name for e in examples] == expected
        assert examples[0].activation == pytest.approx(float(means.max(0).values[channel]), abs=1e-4)
        assert examples[0].overlay.size == examples[0].image.size
    assert le.example_table(lite0, "blocks.3", tmp_path) is le.example_table(lite0, "blocks.3", tmp_path)


def test_standardised_excitation_is_zero_mean_over_the_photos(lite0, chelsea, coffee):
    x = torch.cat([preprocess(lite0, chelsea), preprocess(lite0, coffee)])
    mean, std = le.channel_statistics(lite0, "blocks.3", x)
    z = le.standardised_excitation(lite0, "blocks.3", x, mean, std)
    torch.testing.assert_close(z.mean(0), torch.zeros(80), atol=1e-4, rtol=0)


def test_bad_layers_channels_and_folders_get_one_clear_message(lite0, tmp_path):
    with pytest.raises(LayerError, match="Closest: blocks.3"):
        le.FeatureVisRun(lite0, layer="block.3", channels=(0,))
    with pytest.raises(LayerError, match=r"Channel 80 is out of range for layer 'blocks.3' \(80 channels"):
        le.FeatureVisRun(lite0, layer="blocks.3", channels=(80,))
    with pytest.raises(LayerError, match="not a feature map: it is a vector of 1280 values"):
        le.FeatureVisRun(lite0, layer="global_pool", channels=(0,))
    with pytest.raises(LayerError, match="Class 1000 is out of range"):
        le.FeatureVisRun(lite0, layer="logits", channels=(1000,))
    with pytest.raises(LayerError, match="Name a layer"):
        le.FeatureVisRun(lite0, channels=(0,))
    with pytest.raises(LayerError, match="holds no image files"):
        le.ranked_examples(lite0, "blocks.3", 0, tmp_path)
