"""Shared fixtures: models are loaded once per test session (they are frozen, so sharing is safe)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"


def encoded(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    """``im`` saved as ``fmt`` (PIL's writer options in ``kw``), as an upload would arrive."""
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()

# Tests never download, whatever the caller exported: any hub access must fail fast and clearly.
# Set (not setdefault) before anything imports huggingface_hub, which reads them once at import.
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
os.environ.update(OFFLINE)


@pytest.fixture(scope="session")
def assets() -> Path:
    return ASSETS


@pytest.fixture(scope="session")
def lite0():
    from netviz_core.models import load_model

    return load_model("tf_efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def lite1():
    from netviz_core.models import load_model

    return load_model("tf_efficientnet_lite1", device="cpu")


@pytest.fixture(scope="session")
def lite2():
    from netviz_core.models import load_model

    return load_model("tf_efficientnet_lite2", device="cpu")


@pytest.fixture(scope="session")
def mobilenet():
    """The second bundled family: torchvision's MobileNet-V2 ImageNet weights in timm's mobilenetv2_100."""
    from netviz_core.models import load_model

    return load_model("mobilenetv2_100", device="cpu")


@pytest.fixture(scope="session")
def chelsea(assets):
    from netviz_core.images import open_image

    return open_image(assets / "chelsea.png")


@pytest.fixture(scope="session")
def coffee(assets):
    from netviz_core.images import open_image

    return open_image(assets / "coffee.png")


@pytest.fixture
def network_calls(monkeypatch) -> list[tuple]:
    """Every connection, HTTP request (with its timeout) and pretrained download the test makes, recorded.

    The calls still go through; a test asserts which ones there were, instead of how long they took.
    """
    import socket
    import urllib.request

    import timm

    calls: list[tuple] = []
    real_connect, real_urlopen, real_create = socket.socket.connect, urllib.request.urlopen, timm.create_model

    def connect(self, address):
        calls.append(("connect", address))
        return real_connect(self, address)

    def urlopen(request, *args, timeout=None, **kwargs):
        calls.append(("urlopen", getattr(request, "full_url", request), timeout))
        return real_urlopen(request, *args, timeout=timeout, **kwargs)

    def create_model(name, pretrained=False, **kwargs):
        if pretrained:
            calls.append(("download", name))
        return real_create(name, pretrained=pretrained, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(timm, "create_model", create_model)
    return calls


def assert_model_clean(net) -> None:
    """The model is as load_model left it: eval mode, frozen, no hooks, no .grad."""
    for m in net.module.modules():
        assert not m.training, f"{type(m).__name__} left in training mode"
        for hooks in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_full_backward_hooks",
                      "_full_backward_pre_hooks"):
            assert not getattr(m, hooks, {}), f"{type(m).__name__} has {hooks} left behind"
    for name, p in net.module.named_parameters():
        assert p.grad is None, f"{name} has a .grad"
        assert not p.requires_grad, f"{name} requires grad"
