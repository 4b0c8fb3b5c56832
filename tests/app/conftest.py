"""AppTest helpers: open the dashboard (app.py) on a page with URL query parameters."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
#: Model loading and CPU optimisation are slow on a shared machine: generous per-run timeouts.
TIMEOUT = 300


DEFAULT_PAGE = "app_pages/1_classify_saliency.py"
#: URL parameters of the sidebar (drawn on every page)
SIDEBAR_PARAMS = {"src", "model", "arch", "present", "theme"}


def open_app(page: str = DEFAULT_PAGE, query: dict | None = None, timeout: float = TIMEOUT,
             image: str | None = "chelsea.png"):
    """Run app.py on ``page`` with ``query`` in the URL.

    AppTest can only switch to an st.navigation page after a first run; that first
    run opens the default (classify) page with no image, so it costs only the model load.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if page != DEFAULT_PAGE:
        at.query_params["image"] = "(upload)"
        for k in SIDEBAR_PARAMS & set(query or {}):  # the sidebar reads its URL on that first run, as a browser's does
            at.query_params[k] = query[k]
        at.run(timeout=timeout)
        assert not at.exception, [e.value for e in at.exception]
        at.query_params.clear()
        if image:
            at.selectbox(key="sidebar.image").set_value(image)
        at.switch_page(page)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run(timeout=timeout)
    return at


def assert_ok(at) -> None:
    """No uncaught exception on the page."""
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture
def png_upload(assets) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.open(assets / "coffee.png").convert("RGB").resize((160, 120)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(autouse=True)
def uploads_in_tmp_path(monkeypatch, tmp_path):
    """Uploaded weights files go under the test's tmp_path, not the machine's temp folder."""
    from netviz_app import models

    monkeypatch.setattr(models, "UPLOAD_DIR", tmp_path / "uploaded-weights")
