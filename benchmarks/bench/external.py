"""What runs outside this process: the dashboard's cold start, and Lucent in a venv of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .common import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


class AppNotServing(RuntimeError):
    """`streamlit run app.py` did not answer its health check."""


@contextmanager
def serve_app(port: int, timeout: float = 180.0, env: dict | None = None) -> Iterator[tuple[str, float]]:
    """`streamlit run app.py` on ``port`` until the block ends; yields (URL, seconds to the health check)."""
    import urllib.request

    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(ROOT), env=dict(env or os.environ, HF_HUB_OFFLINE="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://localhost:{port}"
        while time.perf_counter() - t0 < timeout:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
            if proc.poll() is not None:
                raise AppNotServing(f"streamlit exited with {proc.returncode}")
        else:
            raise AppNotServing(f"no health check within {timeout:.0f} s")
        yield url, time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()


def launch_chromium(playwright):
    """Debian's headless Chromium driven by Playwright (never `playwright install`)."""
    return playwright.chromium.launch(headless=True, executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def cold_start(timeout: float = 180.0, port: int = 8599) -> dict:
    """Seconds from ``streamlit run app.py`` to the health check, and to the first page drawn (headless Chromium)."""
    if not (ROOT / "app.py").exists():
        return {"error": "app.py not found"}
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    try:
        with serve_app(port, timeout) as (url, health_s):
            out["health_s"] = health_s
            try:
                from playwright.sync_api import sync_playwright
            except ImportError:
                out["error"] = "playwright is not installed: only the health check was timed"
                return out
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                try:
                    page = browser.new_page()
                    t1 = time.perf_counter()
                    page.goto(url)
                    # Drawn: the default page's title is there and the first script run (which loads the
                    # default model in the sidebar) has finished: Streamlit's "Running..." widget is gone.
                    page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=timeout * 1e3)
                    out["title_s"] = time.perf_counter() - t0
                    # The top-5 table: the model is loaded and has classified the sample image.
                    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=timeout * 1e3)
                    out["top5_s"] = time.perf_counter() - t0
                    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout * 1e3)
                    out["first_page_s"] = time.perf_counter() - t0
                    out["page_after_health_s"] = time.perf_counter() - t1
                finally:
                    browser.close()
    except AppNotServing as exc:
        return {"error": str(exc), **out}
    return out


# --------------------------------------------------------------------------- Lucent


def lucent(python: str, model: str, iterations: int, rounds: int) -> dict:
    """Run benchmarks/lucent_compare.py with another interpreter (the venv that has torch-lucent)."""
    script = ROOT / "benchmarks" / "lucent_compare.py"
    if not Path(python).exists():
        return {"error": f"{python} does not exist (make it: see benchmarks/README.md)"}
    cmd = [python, str(script), "--model", model, "--iterations", str(iterations), "--rounds", str(rounds)]
    proc = subprocess.run(cmd, cwd=str(ROOT), capture_output=True, text=True, timeout=1800,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))
    if proc.returncode != 0:
        return {"error": f"lucent_compare.py exited {proc.returncode}: {proc.stderr.strip()[-1500:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])

