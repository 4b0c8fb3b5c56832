"""End to end in a real headless Chromium: `streamlit run app.py`, every page, a live class visualization.

The server, browser and page fixtures are in tests/e2e/conftest.py.  Each page's screenshot
goes to a temporary folder, at 1400 and 1024 px, light and dark (``shot``); `./dev.sh screenshots`
runs this file alone with NETVIZ_SCREENSHOTS=1 to refresh the README's docs/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import E2E, SLOW_MS, main_images, no_exception, screenshots_requested, wait_count, wait_idle

pytestmark = E2E

#: Iterations of the run that is stopped: far more than are done before Stop is clicked, so Stop always lands.
STOPPED_RUN = 500
#: Iterations of each of the two overlapping runs: long enough that both are running at one moment.
OVERLAPPING_RUN = 30
#: Polls every 250 ms while waiting for something on a page.
POLLS = SLOW_MS // 250


#: The README's screenshots of each page: (file name suffix, viewport width, colour scheme).
VARIANTS = (("", 1400, "light"), ("_1024", 1024, "light"), ("_1024_dark", 1024, "dark"), ("_dark", 1400, "dark"))
BACKGROUND = {"light": "rgb(255, 255, 255)", "dark": "rgb(14, 17, 23)"}


def shot(page, folder: Path, name: str) -> list[Path]:
    """The page at 1400 and 1024 px, light and dark (the theme follows the colour scheme the browser reports).

    Only when screenshots are asked for (``./dev.sh screenshots``); otherwise the page as it is, once.
    """
    if not screenshots_requested():
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        return [path]
    paths = []
    for suffix, width, scheme in VARIANTS:
        page.emulate_media(color_scheme=scheme)
        page.set_viewport_size({"width": width, "height": page.viewport_size["height"]})
        page.wait_for_function("bg => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]'))"
                               ".backgroundColor === bg", arg=BACKGROUND[scheme])
        page.wait_for_timeout(1500)  # charts and columns follow the new width
        path = folder / f"{name}{suffix}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        paths.append(path)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": VARIANTS[0][1], "height": page.viewport_size["height"]})
    return paths


def step_shown(page) -> tuple[int, str | None]:
    """The step in the caption under the picture, and the picture's URL."""
    caption = page.get_by_text(re.compile(r"^step \d+$")).first.inner_text()
    return int(caption.split()[1]), main_images(page).first.get_attribute("src")


def test_class_visualization_live_run_and_stop(server, page, screenshots):
    page.goto(f"{server}/class_visualization?iters={STOPPED_RUN}&jitter=8")
    page.get_by_role("button", name="Start").wait_for()
    no_exception(page)
    page.get_by_role("button", name="Start").click()
    seen: list[str] = []
    for _ in range(POLLS):  # the first picture and two changes
        imgs = main_images(page)
        if imgs.count():
            src = imgs.first.get_attribute("src")
            if src and (not seen or seen[-1] != src):
                seen.append(src)
        if len(seen) >= 3:
            break
        page.wait_for_timeout(250)
    assert len(seen) >= 3, f"the image changed only {len(seen) - 1} times"
    # Let the picture develop for the README's screenshot before stopping (at most ~45 s of polls).
    for _ in range(90):
        try:
            if step_shown(page)[0] >= 45:
                break
        except Exception:  # the caption is being redrawn: look again
            pass
        page.wait_for_timeout(500)
    page.get_by_role("button", name="Stop").click()
    stopped = page.get_by_text("stopped after")
    stopped.wait_for()
    no_exception(page)
    # Stopped means stopped: the step and the picture stay as they are.
    first = step_shown(page)
    page.wait_for_timeout(4000)
    again = step_shown(page)
    assert again == first, f"after Stop the page moved from {first} to {again}"
    step = first[0]
    assert 0 < step < STOPPED_RUN
    assert f"stopped after {step} steps" in stopped.inner_text()
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
    shot(page, screenshots, "class_visualization")


def test_classify_page(server, page, screenshots):
    # the default page is at "/" (a bookmark of another page keeps its own path)
    page.goto(f"{server}/?methods=vanilla,smoothgrad,guided,cam,gradcam&sg_n=4")
    page.get_by_text("Top 5").wait_for()
    page.get_by_text("Grad-CAM").wait_for()
    assert wait_count(main_images(page), 6) >= 6  # the input and five overlays
    wait_idle(page)
    no_exception(page)
    shot(page, screenshots, "classify_saliency")


def test_fooling_page(server, page, screenshots):
    page.goto(f"{server}/fooling?target=6&iters=60")
    page.get_by_role("button", name="Fool it").click()
    page.get_by_text("the 8-bit image fools the model").wait_for()  # not "... does not fool the model (yet)"
    page.get_by_text(re.compile(r"^fooled: predicted 6: ")).wait_for()
    wait_idle(page)
    no_exception(page)
    shot(page, screenshots, "fooling")


def test_class_impressions_page(server, page, screenshots):
    page.goto(f"{server}/class_impressions?iters=40")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("finished after").first.wait_for()
    assert wait_count(main_images(page), 2) >= 2  # SCI and the baseline
    wait_idle(page)
    no_exception(page)
    shot(page, screenshots, "class_impressions")


def test_compare_backbones_page(server, page, screenshots):
    page.goto(f"{server}/compare?iters=30&models=tf_efficientnet_lite0,tf_efficientnet_lite1")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("finished after").wait_for()
    assert wait_count(page.locator('[data-testid="stPlotlyChart"]'), 2) >= 2  # score curves, transfer matrix
    assert wait_count(main_images(page), 2) >= 2
    wait_idle(page)
    no_exception(page)
    shot(page, screenshots, "compare_backbones")


def _open_class_visualization(page, server: str, seed: int):
    """The page loaded with the run's settings; returns its Start button (not yet pressed)."""
    page.goto(f"{server}/class_visualization?iters={OVERLAPPING_RUN}&jitter=8&cls=130&seed={seed}")
    start = page.get_by_role("button", name="Start")
    start.wait_for()
    return start


def _running(page) -> bool:
    return page.get_by_text(re.compile(r"^running: step")).count() > 0


def _final_png(page) -> bytes:
    """The PNG the page's download button gives, once the run has finished."""
    page.get_by_text("finished after").first.wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="PNG (final image)").click()
    return Path(download.value.path()).read_bytes()


def test_two_sessions_at_once_get_what_each_gets_alone(server, browser):
    """Two sessions on the same (shared, cached) model, run alone and then at the same time: the same PNGs."""
    pages = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(2)]
    for p in pages:
        p.set_default_timeout(SLOW_MS)
    alone = []
    for seed, p in zip((1, 2), pages):
        _open_class_visualization(p, server, seed).click()
        alone.append(_final_png(p))
    # Both pages are loaded first and their Start buttons pressed back to back: a page load takes
    # longer than a short run, so loading the second page after starting the first misses the overlap.
    starts = [_open_class_visualization(p, server, seed) for seed, p in zip((1, 2), pages)]
    for start in starts:
        start.click()
    overlapped = False
    for _ in range(POLLS):
        if all(_running(p) for p in pages):
            overlapped = True
            break
        if any(p.get_by_text("finished after").count() for p in pages):
            break
        pages[0].wait_for_timeout(250)
    together = [_final_png(p) for p in pages]
    for p in pages:
        no_exception(p)
        p.context.close()
    assert overlapped, "the two runs did not run at the same time"
    assert alone[0] != alone[1]  # different seeds, different pictures
    assert together == alone
