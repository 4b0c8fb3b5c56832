"""End to end in a real headless Chromium: `streamlit run app.py`, every page, a live class visualization.

Uses Debian's /usr/bin/chromium through Playwright (never `playwright install`).
Takes the README's screenshots: docs/screenshots/<page>.png.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import re
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
#: CPU on a shared machine is slow: model loads and optimisation steps take seconds.
SLOW_MS = 300_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    log = tempfile.NamedTemporaryFile("w", prefix="netviz-e2e-streamlit-", suffix=".log", delete=False)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}")
            if time.monotonic() > deadline:
                pytest.fail("streamlit did not answer /_stcore/health within 120 s")
            time.sleep(0.5)
        print(f"streamlit healthy after {time.monotonic() - started:.1f} s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
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


def main_images(page):
    return page.locator('[data-testid="stMain"] [data-testid="stImage"] img')


def wait_idle(page, timeout_ms: int = SLOW_MS) -> None:
    """Wait until the script run is over (Streamlit shows a 'Running...' status widget meanwhile)."""
    page.wait_for_timeout(500)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout_ms)


def wait_count(locator, n: int, timeout_s: float = SLOW_MS / 1000) -> int:
    deadline = time.monotonic() + timeout_s
    while locator.count() < n and time.monotonic() < deadline:
        time.sleep(0.25)
    return locator.count()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_class_visualization_live_run_and_stop(server, page):
    t0 = time.monotonic()
    page.goto(f"{server}/class_visualization?iters=60&jitter=8")
    page.get_by_role("button", name="Start").wait_for()
    print(f"class visualization page ready after {time.monotonic() - t0:.1f} s")
    no_exception(page)
    page.get_by_role("button", name="Start").click()
    seen: list[str] = []
    deadline = time.monotonic() + SLOW_MS / 1000
    while len(seen) < 3 and time.monotonic() < deadline:  # the first picture and two changes
        imgs = main_images(page)
        if imgs.count():
            src = imgs.first.get_attribute("src")
            if src and (not seen or seen[-1] != src):
                seen.append(src)
        page.wait_for_timeout(100)
    assert len(seen) >= 3, f"the image changed only {len(seen) - 1} times"
    # Let the picture develop for the README's screenshot before stopping (a bounded wait).
    step_caption = page.get_by_text(re.compile(r"^step \d+$")).first
    develop_until = time.monotonic() + 45
    while time.monotonic() < develop_until:
        try:
            if int(step_caption.inner_text(timeout=1000).split()[1]) >= 45:
                break
        except Exception:  # the caption is being redrawn: look again
            pass
        page.wait_for_timeout(500)
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("stopped after").wait_for()
    no_exception(page)
    assert main_images(page).count() >= 1
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
    shot(page, "class_visualization")


def test_classify_page(server, page):
    # the default page is at "/" (a bookmark of another page keeps its own path)
    page.goto(f"{server}/?methods=vanilla,smoothgrad,guided,cam,gradcam&sg_n=4")
    page.get_by_text("Top 5").wait_for()
    page.get_by_text("Grad-CAM").wait_for()
    assert wait_count(main_images(page), 6) >= 6  # the input and five overlays
    wait_idle(page)
    no_exception(page)
    shot(page, "classify_saliency")


def test_fooling_page(server, page):
    page.goto(f"{server}/fooling?target=6&iters=60")
    page.get_by_role("button", name="Fool it").click()
    page.get_by_text("the 8-bit image").wait_for()
    wait_idle(page)
    no_exception(page)
    shot(page, "fooling")


def test_class_impressions_page(server, page):
    page.goto(f"{server}/class_impressions?iters=40")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("finished after").first.wait_for()
    assert wait_count(main_images(page), 2) >= 2  # SCI and the baseline
    wait_idle(page)
    no_exception(page)
    shot(page, "class_impressions")


def test_compare_backbones_page(server, page):
    page.goto(f"{server}/compare?iters=30&models=tf_efficientnet_lite0,tf_efficientnet_lite1")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("finished after").wait_for()
    assert wait_count(page.locator('[data-testid="stPlotlyChart"]'), 2) >= 2  # score curves, transfer matrix
    assert wait_count(main_images(page), 2) >= 2
    wait_idle(page)
    no_exception(page)
    shot(page, "compare_backbones")


def _finished_caption(page) -> str:
    loc = page.get_by_text("finished after")
    loc.first.wait_for()
    return loc.first.inner_text()


def _run_cv(page, server: str, seed: int) -> None:
    page.goto(f"{server}/class_visualization?iters=3&jitter=8&cls=130&seed={seed}")
    page.get_by_role("button", name="Start").click()


def test_two_sessions_at_once_get_what_each_gets_alone(server, browser):
    """Two sessions on the same (shared, cached) model, run alone and then at the same time."""
    pages = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(2)]
    for p in pages:
        p.set_default_timeout(SLOW_MS)
    alone = []
    for seed, p in zip((1, 2), pages):
        _run_cv(p, server, seed)
        alone.append(_finished_caption(p))
    for seed, p in zip((1, 2), pages):  # both start before either finishes
        _run_cv(p, server, seed)
    together = [_finished_caption(p) for p in pages]
    for p in pages:
        no_exception(p)
        p.context.close()
    strip = lambda text: text.split(" in ")[0] + " " + text.split(" s - ", 1)[1]  # noqa: E731  (drop the timing)
    assert alone[0] != alone[1]
    assert [strip(t) for t in together] == [strip(t) for t in alone]
