"""The Atlas page in a real Chromium: a small atlas made in tmp_path, its grid, the large view and its link.

With the benchmark's default atlas present (``python -m benchmarks.atlas_throughput --part atlas``) the
second test also takes the README's screenshot of the page over it.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from netviz_app.atlas_view import DEFAULT_DIR

from .conftest import E2E, main_images, no_exception, wait_count, wait_idle

pytestmark = E2E


def test_atlas_page_shows_a_small_atlas_and_links_to_class_visualization(server, page, tmp_path):
    from netviz_core.atlas import LocalExecutor, atlas_spec, run_job

    spec = atlas_spec("1,76,130", ["tf_efficientnet_lite0", "tf_efficientnet_lite1"], iterations=1, gif=True)
    run_job(spec, tmp_path / "a", LocalExecutor(threads=1), batch_size=3)
    page.goto(f"{server}/atlas?atlas_dir={quote(str(tmp_path / 'a'))}")
    assert wait_count(main_images(page), 6) == 6
    wait_idle(page)
    page.get_by_role("button", name="Large view").nth(1).click()  # tarantula, the second class
    page.get_by_role("heading", name="76 tarantula").wait_for()
    wait_idle(page)
    link = page.get_by_role("link", name="Open these settings live in Class Visualization").first
    href = link.get_attribute("href")
    assert "class_visualization?" in href and "target=76" in href and "iterations=1" in href
    no_exception(page)


def test_atlas_page_over_the_benchmark_atlas(server, page, screenshots):
    if not (DEFAULT_DIR / "manifest.json").is_file():
        pytest.skip("no default atlas: make it with python -m benchmarks.atlas_throughput --part atlas")
    page.goto(f"{server}/atlas")
    assert wait_count(main_images(page), 12) >= 12
    wait_idle(page)
    page.wait_for_timeout(1500)  # the images decode
    no_exception(page)
    path = screenshots / "atlas.png"
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
