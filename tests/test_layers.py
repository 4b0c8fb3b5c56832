"""netviz_core.layers: readable layer lists for four architectures, one-pass reads, and the errors for bad names."""

from __future__ import annotations

import pytest
import torch

from netviz_core.errors import LayerError
from netviz_core.layers import LOGITS, feature_map_info, layer_info, list_layers, read_layers


@pytest.fixture(scope="module")
def random_models():
    """The four architectures of the issue, random weights (structure only), frozen like a loaded model."""
    import timm

    names = ("resnet18", "vit_tiny_patch16_224", "swin_tiny_patch4_window7_224", "tf_efficientnet_lite0")
    return {n: timm.create_model(n, pretrained=False).eval().requires_grad_(False) for n in names}


@pytest.mark.parametrize("name, layer, label", [
    ("tf_efficientnet_lite0", "blocks.3", "blocks.3 · 80 ch · 14×14"),
    ("resnet18", "layer3", "layer3 · 256 ch · 14×14"),
    ("vit_tiny_patch16_224", "blocks.6", "blocks.6 · 192 ch · 14×14 · 1 prefix token"),
    ("swin_tiny_patch4_window7_224", "layers.2", "layers.2 · 384 ch · 14×14"),
])
def test_listing_names_stages_with_their_shapes(random_models, name, layer, label):
    layers = list_layers(random_models[name])
    labels = [i.label for i in layers]
    assert label in labels
    assert layers[-1].name == LOGITS and layers[-1].label == "logits · 1000 classes"
    # forward order: the listed feature maps never get finer as the list goes deeper
    sides = [i.height for i in layers if i.is_feature_map]
    assert sides == sorted(sides, reverse=True)


def test_layouts_become_the_same_feature_map(random_models):
    """ViT tokens and Swin's channels-last maps come out (N, C, h, w), equal to a hand rearrangement."""
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    vit = random_models["vit_tiny_patch16_224"]
    raw = read_layers(vit, x, ["blocks.6"])["blocks.6"]
    assert raw.shape == (2, 197, 192)
    grid = layer_info(vit, "blocks.6").to_grid(raw)
    torch.testing.assert_close(grid[:, :, 2, 3], raw[:, 1 + 2 * 14 + 3])
    swin = random_models["swin_tiny_patch4_window7_224"]
    raw = read_layers(swin, x, ["layers.2"])["layers.2"]
    assert raw.shape == (2, 14, 14, 384)
    torch.testing.assert_close(layer_info(swin, "layers.2").to_grid(raw)[:, 5, 1, 2], raw[:, 1, 2, 5])


def test_one_pass_gives_the_logits_of_the_model_and_the_layer(random_models):
    net = random_models["resnet18"]
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    out = read_layers(net, x, ["layer2", LOGITS])
    torch.testing.assert_close(out[LOGITS], net(x), rtol=0, atol=0)
    expected = net.layer2(net.layer1(net.maxpool(net.act1(net.bn1(net.conv1(x))))))
    torch.testing.assert_close(out["layer2"], expected)


def test_a_pass_without_logits_stops_at_the_last_layer_read():
    """The head below raises if it runs: reading the layer alone never reaches it, reading the logits does."""
    from torch import nn

    class Head(nn.Module):
        def forward(self, x):
            raise RuntimeError("the head ran")

    module = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), Head()).eval().requires_grad_(False)
    x = torch.randn(1, 3, 5, 5, generator=torch.Generator().manual_seed(2))
    out = read_layers(module, x, ["1"])
    torch.testing.assert_close(out["1"], torch.relu(module[0](x)))
    with pytest.raises(RuntimeError, match="the head ran"):
        read_layers(module, x, ["1", LOGITS])


def test_the_shared_model_gets_no_hook(random_models):
    from conftest import assert_model_clean

    net = random_models["tf_efficientnet_lite0"]
    read_layers(net, torch.zeros(1, 3, 64, 64), ["blocks.2", "blocks.3"])
    for m in net.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    assert_model_clean(type("Net", (), {"module": net})())


def test_unknown_layer_names_the_closest(lite0):
    with pytest.raises(LayerError, match=r"Unknown layer 'block.3'\. Closest: .*blocks\.3"):
        layer_info(lite0, "block.3")


def test_layers_that_are_not_feature_maps_are_refused_with_the_reason(lite0, random_models):
    with pytest.raises(LayerError, match="vector of 1280 values per image"):
        feature_map_info(lite0, "global_pool")
    with pytest.raises(LayerError, match="class scores"):
        feature_map_info(lite0, LOGITS)
    swin = random_models["swin_tiny_patch4_window7_224"]
    with pytest.raises(LayerError, match="batch dimension"):
        feature_map_info(swin, "layers.0.blocks.0.attn")


def test_channel_and_position_out_of_range_name_the_shape(lite0):
    info = feature_map_info(lite0, "blocks.3")
    with pytest.raises(LayerError, match=r"Channel 80 is out of range for layer 'blocks.3' \(80 channels × 14×14"):
        info.check_channel(80)
    with pytest.raises(LayerError, match=r"x=14 is out of range .* choose x in 0..13"):
        info.check_position(3, 14)
