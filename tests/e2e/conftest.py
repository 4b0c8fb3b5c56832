"""Fixtures for the end-to-end tests: one `streamlit run app.py` and one headless Chromium per test session.

Chromium is Debian's /usr/bin/chromium driven by Playwright (never `playwright install`); a test module
marks itself with ``pytestmark = E2E`` to be skipped where it is absent.  Helpers for the pages
(``main_images``, ``wait_idle``, ``wait_count``, ``no_exception``) are imported from here:
``from .conftest import ...``.

Screenshots go to a temporary folder; ``NETVIZ_SCREENSHOTS=1`` (what ``./dev.sh screenshots`` sets)
sends them to docs/screenshots/, the README's pictures.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
#: CPU on a shared machine is slow: model loads and optimisation steps take seconds.
SLOW_MS = 300_000
#: Set to 1 to write the screenshots into the README's folder instead of a temporary one.
SCREENSHOTS_ENV = "NETVIZ_SCREENSHOTS"
README_SHOTS = ROOT / "docs" / "screenshots"

E2E = [
    pytest.mark.browser,
    pytest.mark.long,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    """The dashboard's URL, served by `streamlit run app.py` from the checkout for the whole session."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = tempfile.NamedTemporaryFile("w", prefix="netviz-e2e-streamlit-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://localhost:{port}"
    try:
        for _ in range(240):  # polls every 0.5 s: up to about two minutes for the first answer
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}; log: {log.name}")
            time.sleep(0.5)
        else:
            pytest.fail(f"streamlit did not answer /_stcore/health; log: {log.name}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # Tall: Streamlit scrolls inside its main block, so a screenshot shows the viewport only.
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    pg = context.new_page()
    pg.set_default_timeout(SLOW_MS)
    yield pg
    context.close()


def screenshots_requested() -> bool:
    """``NETVIZ_SCREENSHOTS=1`` (``./dev.sh screenshots``): the README's screenshots, every variant."""
    return os.environ.get(SCREENSHOTS_ENV, "").strip() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where screenshots go: a temporary folder, or docs/screenshots/ with NETVIZ_SCREENSHOTS=1."""
    if screenshots_requested():
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        return README_SHOTS
    return tmp_path_factory.mktemp("screenshots")


def main_images(page):
    return page.locator('[data-testid="stMain"] [data-testid="stImage"] img')


#: The app root's script state, as Streamlit's frontend writes it (``data-test-script-state``).
SCRIPT_STATE = """document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState"""
#: No script run is going on or asked for, and the page has had its first run.
IDLE = f"() => {{ const s = {SCRIPT_STATE}; return s !== undefined && !['initial', 'running', 'rerunRequested'].includes(s); }}"


def wait_idle(page, timeout_ms: int = SLOW_MS, start_ms: int = 3000) -> None:
    """Wait until the script run that the last action started is over.

    The run shows as ``running`` on the app root once the server has started it; an action
    that starts no run never shows it, so that wait ends after ``start_ms``.  (The status
    widget cannot tell: ``toolbarMode = "minimal"`` hides it.)
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_function(f"() => {SCRIPT_STATE} === 'running'", timeout=start_ms)
    except PlaywrightTimeoutError:
        pass  # no run started (or it was over before the first poll)
    page.wait_for_function(IDLE, timeout=timeout_ms)


def wait_count(locator, n: int, timeout_ms: int = SLOW_MS) -> int:
    """How many elements ``locator`` finds, once there are ``n`` (or the polls ran out)."""
    for _ in range(timeout_ms // 250):
        if locator.count() >= n:
            break
        locator.page.wait_for_timeout(250)
    return locator.count()


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
