"""The shipped Streamlit configuration keeps a shared dashboard safe by default (see docs/deployment.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def test_server_is_local_with_xsrf_and_an_upload_limit():
    server = _config()["server"]
    assert server["address"] == "localhost"
    assert server["enableXsrfProtection"] is True
    assert 0 < server["maxUploadSize"] <= 50  # MB; NetViz itself refuses images over 50 MB


def test_visitors_never_see_error_details():
    assert _config()["client"]["showErrorDetails"] in (False, "none")


def test_deployment_doc_says_how_to_expose_the_server():
    doc = (ROOT / "docs" / "deployment.md").read_text()
    assert "--server.address 0.0.0.0" in doc and "reverse proxy" in doc
