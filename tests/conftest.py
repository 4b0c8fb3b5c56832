"""Shared fixtures: models are loaded once per test session (they are frozen, so sharing is safe).

The bundled backbones come from ``load_model_cached``, the cache that the CLI (called in this
process by tests/cli) and class visualization's transfer scores use too: one instance each.
"""

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
# The process-wide settings that the CLI and the dashboard make at start-up are not made in
# the test process: the first test to run one would change the arithmetic (torch threads) or
# the allocator (malloc) of every later test, so results would depend on the order.  Tests of
# those settings run them in a subprocess or under monkeypatch.
KEEP_PROCESS_SETTINGS = {"NETVIZ_REUSE_FREED_MEMORY": "0", "NETVIZ_LEAVE_A_CORE_FOR_THE_BROWSER": "keep"}
os.environ.update(KEEP_PROCESS_SETTINGS)


# --------------------------------------------------------------------------- order-proof guard


def _fresh_thread_torch_threads() -> int:
    """Torch's intra-op thread count as a thread started now gets it (Streamlit script runs, workers).

    ``torch.set_num_threads`` in any thread sets what later threads start with, while the
    calling thread's own count may be unchanged, so the main thread's count alone misses it.
    """
    import threading

    import torch

    out: list[int] = []
    worker = threading.Thread(target=lambda: out.append(torch.get_num_threads()))
    worker.start()
    worker.join()
    return out[0]


#: Set and cleared by pytest itself around each phase of a test.
_PYTEST_OWN_VARIABLES = {"PYTEST_CURRENT_TEST"}


def _process_state() -> dict:
    import torch

    return {"torch threads (this thread)": torch.get_num_threads(),
            "torch threads (new threads)": _fresh_thread_torch_threads(),
            "environment": {k: v for k, v in os.environ.items() if k not in _PYTEST_OWN_VARIABLES},
            "working directory": os.getcwd()}


def _restore(state: dict) -> None:
    import threading

    import torch

    torch.set_num_threads(state["torch threads (this thread)"])
    worker = threading.Thread(target=torch.set_num_threads, args=(state["torch threads (new threads)"],))
    worker.start()
    worker.join()
    torch.set_num_threads(state["torch threads (this thread)"])
    for key in set(os.environ) - set(state["environment"]) - _PYTEST_OWN_VARIABLES:
        del os.environ[key]
    os.environ.update(state["environment"])
    os.chdir(state["working directory"])


def _left_behind(before: dict, after: dict) -> list[str]:
    changed = []
    for key in before:
        if before[key] == after[key]:
            continue
        if key == "environment":
            keys = sorted(k for k in set(before[key]) | set(after[key]) if before[key].get(k) != after[key].get(k))
            changed.append(f"environment variables {keys}")
        else:
            changed.append(f"{key}: {before[key]!r} -> {after[key]!r}")
    return changed


def _guarded(what: str):
    """Run the wrapped scope with the RNGs forked, then fail it if it changed process-wide state (restored)."""
    import random

    import numpy as np
    import torch

    before = _process_state()
    py_random, np_random = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        yield
    random.setstate(py_random)
    np.random.set_state(np_random)
    after = _process_state()
    changed = _left_behind(before, after)
    if changed:
        _restore(before)
        pytest.fail(f"{what} left process-wide state behind (restored now): {'; '.join(changed)}", pytrace=False)


@pytest.fixture(autouse=True, scope="session")
def third_party_import_side_effects():
    """Imports that set process-wide state once, done before the guards look: timm (through torch's
    inductor) sets TORCHINDUCTOR_CACHE_DIR, streamlit MPLBACKEND, ray RAY_CLIENT_MODE
    (tests/saliency/test_reference_parity.py undoes pytorch-grad-cam's own)."""
    import importlib

    for name in ("timm", "streamlit", "ray"):
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - the library's tests run without the app's dependencies
            pass


@pytest.fixture(autouse=True)
def leaves_no_process_state_behind(request):
    """Every test starts from the same generators and fails if it changes threads, environment or cwd.

    Autouse fixtures are set up before the fixtures a test asks for, so ``monkeypatch`` and the
    test's own fixtures have undone their changes by the time this checks.
    """
    yield from _guarded(f"test {request.node.nodeid}")


@pytest.fixture(autouse=True, scope="module")
def module_leaves_no_process_state_behind(request):
    """The same check around a module, for module-scoped fixtures (servers, shared models)."""
    yield from _guarded(f"module {request.module.__name__}")


@pytest.fixture(scope="session")
def assets() -> Path:
    return ASSETS


@pytest.fixture(scope="session")
def lite0():
    from netviz_core.models import load_model_cached

    return load_model_cached("tf_efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def lite1():
    from netviz_core.models import load_model_cached

    return load_model_cached("tf_efficientnet_lite1", device="cpu")


@pytest.fixture(scope="session")
def lite2():
    from netviz_core.models import load_model_cached

    return load_model_cached("tf_efficientnet_lite2", device="cpu")


@pytest.fixture(scope="session")
def mobilenet():
    """The second bundled family: torchvision's MobileNet-V2 ImageNet weights in timm's mobilenetv2_100."""
    from netviz_core.models import load_model_cached

    return load_model_cached("mobilenetv2_100", device="cpu")


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
