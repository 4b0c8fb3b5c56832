"""netviz_core.models: weight sources, safety of weights files, errors that come fast."""

from __future__ import annotations

import json
import os
import pickle
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from conftest import assert_model_clean
from netviz_core.classify import classify
from netviz_core.errors import HubUnreachableError, UnknownModelError, WeightsFileError
from netviz_core.models import BUNDLED_MODELS, hub_reachable, load_model
from netviz_core.weights import read_weights_file

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967


@pytest.mark.parametrize("name", BUNDLED_MODELS)
def test_bundled_models_recognise_the_samples(name, chelsea, coffee):
    net = load_model(name, device="cpu")
    assert net.source == "bundled" and net.trained
    assert net.input_size == {"tf_efficientnet_lite0": (224, 224), "tf_efficientnet_lite1": (240, 240),
                              "tf_efficientnet_lite2": (260, 260), "mobilenetv2_100": (224, 224)}[name]
    if name == "mobilenetv2_100":  # torchvision's weights: ImageNet statistics
        assert net.data_config.mean == (0.485, 0.456, 0.406) and net.data_config.std == (0.229, 0.224, 0.225)
    else:  # the TensorFlow ports: [-1, 1]
        assert net.data_config.mean == (0.5, 0.5, 0.5) and net.data_config.std == (0.5, 0.5, 0.5)
    assert classify(net, chelsea, top_k=5).indices[0] in CAT_CLASSES
    assert classify(net, coffee, top_k=5).indices[0] == ESPRESSO
    assert_model_clean(net)


def test_loaded_model_is_frozen_and_in_eval(lite0):
    assert_model_clean(lite0)
    assert len(lite0.class_names) == 1000 and lite0.class_names[76] == "tarantula"
    assert "bundled" in lite0.label


def test_random_weights_are_labelled_untrained():
    net = load_model("resnet18", "random", device="cpu")
    assert not net.trained and "UNTRAINED" in net.label
    assert_model_clean(net)


def test_bundled_weights_with_wrong_shapes_are_refused(monkeypatch, tmp_path):
    """The order-matching of the bundled weights checks every shape, and names the mismatch."""
    import netviz_core.models as models

    real = models.read_weights_file

    def corrupted(path, *a, **k):
        state = real(path, *a, **k)
        key = next(iter(state))
        state[key] = torch.zeros(1, 2, 3)
        return state

    monkeypatch.setattr(models, "read_weights_file", corrupted)
    with pytest.raises(WeightsFileError, match=r"tensor shapes do not match.*\(1, 2, 3\)"):
        load_model("tf_efficientnet_lite0", device="cpu")


def test_safetensors_file_round_trips_with_identical_outputs(tmp_path, chelsea):
    from safetensors.torch import save_file

    from netviz_core.images import preprocess

    original = load_model("resnet18", "random", device="cpu")
    path = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in original.module.state_dict().items()}, str(path))
    loaded = load_model("resnet18", path, device="cpu")
    assert loaded.source == "file" and loaded.trained
    x = preprocess(original, chelsea)
    with torch.no_grad():
        assert torch.equal(original(x), loaded(x))
    assert_model_clean(loaded)


def test_plain_pth_state_dict_loads(tmp_path):
    original = load_model("resnet18", "random", device="cpu")
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": original.module.state_dict(), "epoch": 3}, path)
    loaded = load_model("resnet18", path, device="cpu")
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(original(x), loaded(x))


def test_checkpoint_with_another_class_count_builds_that_head(tmp_path):
    import timm

    module = timm.create_model("resnet18", pretrained=False, num_classes=10)
    path = tmp_path / "ten.pth"
    torch.save(module.state_dict(), path)
    net = load_model("resnet18", path, device="cpu")
    assert net.num_classes == 10 and net.class_names[3] == "class 3"


class _RunsCode:
    """Unpickling this calls os.system: a stand-in for a hostile checkpoint."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"conv.weight": torch.zeros(1), "payload": _RunsCode(marker)}, f)
    torch.save({"w": torch.zeros(1), "payload": _RunsCode(marker)}, tmp_path / "evil_zip.pt")
    assert not marker.exists()
    for p in (path, tmp_path / "evil_zip.pt"):
        with pytest.raises(WeightsFileError, match="refused.*unpickle"):
            load_model("resnet18", p, device="cpu")
        assert not marker.exists(), "loading the file ran its code"


def test_weights_for_another_architecture_list_what_did_not_match(tmp_path):
    other = load_model("resnet18", "random", device="cpu")
    path = tmp_path / "resnet18.pth"
    torch.save(other.module.state_dict(), path)
    with pytest.raises(WeightsFileError) as err:
        load_model("resnet34", path, device="cpu")
    message = str(err.value)
    assert "resnet34" in message and "missing" in message and "layer1.2" in message


@pytest.mark.parametrize(
    "filename, content, expected",
    [
        ("missing.pth", None, "not found"),
        ("empty.pth", b"", "empty"),
        ("weights.onnx", b"x" * 10, "unsupported weights format"),
        ("garbage.pth", b"not a checkpoint at all", "could not be read"),
        ("garbage.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}", "safetensors"),
    ],
)
def test_bad_weights_files_give_specific_messages(tmp_path, filename, content, expected):
    path = tmp_path / filename
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsFileError, match=expected):
        read_weights_file(path)


def test_weights_file_over_the_size_limit_is_refused_unread(tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes(b"\0" * 2048)
    with pytest.raises(WeightsFileError, match="over the 0 MB limit"):
        read_weights_file(path, max_bytes=1024)


def test_unknown_model_name_fails_fast_with_close_names(network_calls):
    """Fast because nothing is asked of the network: the name is checked against timm's list first."""
    with pytest.raises(UnknownModelError, match="resnet18") as err:
        load_model("resnet_18x")
    assert "Unknown model 'resnet_18x'" in str(err.value)
    assert network_calls == []


def test_unreachable_hub_fails_fast_and_says_what_to_do(monkeypatch, network_calls):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnreachableError) as err:
        load_model("resnet18")
    message = str(err.value)
    assert "'resnet18'" in message and "--weights" in message and "tf_efficientnet_lite0" in message
    assert network_calls == []  # offline: not even a probe


def test_the_suite_is_offline_whatever_the_caller_exported():
    """tests/conftest.py sets the offline variables; an exported HF_HUB_OFFLINE=0 does not let tests reach the hub."""
    import subprocess
    import sys

    tests = Path(__file__).resolve().parent
    code = "import json, os, conftest; print(json.dumps({k: os.environ[k] for k in conftest.OFFLINE}))"
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "PYTHONPATH": str(tests)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["HF_HUB_OFFLINE"] == "1" and seen["TRANSFORMERS_OFFLINE"] == "1" and seen["HF_DATASETS_OFFLINE"] == "1"


class _RecordedThread(threading.Thread):
    """A thread whose ``join`` timeouts are recorded in ``joins``."""

    joins: list = []

    def join(self, timeout=None):
        _RecordedThread.joins.append(timeout)
        super().join(timeout)


def test_hub_probe_gives_up_on_a_server_that_never_answers(monkeypatch, network_calls):
    """A server that accepts the connection and then says nothing is declared unreachable.

    The probe's request carries the timeout and the caller waits for the probe's thread
    at most that long (plus a margin): both waits are bounded, whatever the server does.
    """
    import socket

    import netviz_core.models as models

    monkeypatch.setattr(models, "threading", SimpleNamespace(Thread=_RecordedThread))  # in models.py only
    monkeypatch.setattr(_RecordedThread, "joins", [])
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        assert hub_reachable(timeout=1.0) is False
    finally:
        silent.close()
    assert [c for c in network_calls if c[0] == "urlopen"] == [("urlopen", endpoint + "/api/models?limit=1", 1.0)]
    assert _RecordedThread.joins == [1.5]


def test_hub_probe_fails_fast_on_an_unknown_host(monkeypatch, network_calls):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    assert hub_reachable(timeout=2.0) is False
    assert network_calls == [("urlopen", "https://hub.invalid/api/models?limit=1", 2.0)]
