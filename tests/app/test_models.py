"""netviz_app.models: the dashboard leaves a core to the browser that shows it."""

from __future__ import annotations

import threading

import pytest
import torch


def _in_a_thread(fn):
    """``fn()`` in a new thread (as Streamlit runs a script run), its result."""
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("v", fn()))
    t.start()
    t.join()
    return out["v"]


@pytest.fixture
def restore_threads(monkeypatch):
    """Torch's thread count for threads started later is the last one set: put it back.

    The test process keeps its threads (``keep``, tests/conftest.py); these tests are about the
    dashboard's default, so they take it back for their own run.
    """
    from netviz_app import models

    monkeypatch.setenv(models.BROWSER_CORE_ENV, "1")
    before = _in_a_thread(torch.get_num_threads)
    yield
    _in_a_thread(lambda: torch.set_num_threads(before))


@pytest.mark.parametrize("torch_threads, cores, expected", [(8, 4, 3), (2, 2, 1), (1, 2, 1), (2, 1, 1), (3, 16, 3)])
def test_one_core_fewer_than_torch_would_use_and_at_least_one(monkeypatch, restore_threads, torch_threads, cores,
                                                              expected):
    from netviz_app import models

    monkeypatch.setattr(models, "_TORCH_THREADS", torch_threads)
    monkeypatch.setattr(models, "_usable_cores", lambda: cores)
    main_before = torch.get_num_threads()
    got = _in_a_thread(lambda: (models.leave_a_core_for_the_browser(), torch.get_num_threads()))
    assert got == (expected, expected)  # the script run's thread runs torch on that many
    assert torch.get_num_threads() == main_before  # other threads keep theirs


def test_a_server_without_a_local_browser_can_keep_every_core(monkeypatch, restore_threads):
    from netviz_app import models

    monkeypatch.setattr(models, "_TORCH_THREADS", 8)
    monkeypatch.setattr(models, "_usable_cores", lambda: 8)
    monkeypatch.setenv(models.BROWSER_CORE_ENV, "0")
    assert _in_a_thread(models.leave_a_core_for_the_browser) == 8
    monkeypatch.setenv(models.BROWSER_CORE_ENV, "1")
    assert _in_a_thread(models.leave_a_core_for_the_browser) == 7


def test_keep_leaves_torch_threads_to_the_embedding_process(monkeypatch, restore_threads):
    from netviz_app import models

    monkeypatch.setattr(models, "_TORCH_THREADS", 8)
    monkeypatch.setattr(models, "_usable_cores", lambda: 8)
    monkeypatch.setenv(models.BROWSER_CORE_ENV, "keep")
    before = _in_a_thread(torch.get_num_threads)
    assert _in_a_thread(lambda: (models.leave_a_core_for_the_browser(), torch.get_num_threads())) == (before, before)
    assert _in_a_thread(torch.get_num_threads) == before


def test_a_model_is_loaded_once_however_many_sessions_use_it(monkeypatch):
    """The README's promise: models load once per process and every session shares them."""
    from netviz_app import models

    from .conftest import assert_ok, open_app

    loads: list[tuple] = []
    real = models.load_model

    def counting(*args, **kwargs):
        loads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(models, "load_model", counting)
    models.cached_model.clear()
    try:
        sessions = [open_app(image="chelsea.png") for _ in range(3)]  # three browser sessions
        for at in sessions:
            assert_ok(at)
        assert [name for name, *_ in loads] == ["tf_efficientnet_lite0"], loads
    finally:
        models.cached_model.clear()  # later tests load through the real function again
