"""The Layer Explorer page in headless Chromium: a grid run and a detail run, then the README's screenshots.

``NETVIZ_SCREENSHOTS=1`` writes docs/screenshots/layer_explorer*.png (1400 and 1024 px, light and dark).
"""

from __future__ import annotations

import re

from .conftest import E2E, SLOW_MS, main_images, no_exception, wait_count, wait_idle
from .test_browser import shot

pytestmark = E2E

ITERATIONS = 48


def test_layer_explorer_grid_detail_and_examples(server, page, screenshots):
    page.goto(f"{server}/layer_explorer?layer=blocks.3&count=8&first_channel=0&channel=34&iterations={ITERATIONS}")
    page.get_by_role("button", name="Start", exact=True).wait_for()
    no_exception(page)
    assert wait_count(main_images(page), 3) >= 3  # the ranked sample photos need no run
    page.get_by_role("button", name="Start", exact=True).click()
    done = page.get_by_text(re.compile(rf"^done: step {ITERATIONS}/{ITERATIONS}"))
    done.first.wait_for(timeout=SLOW_MS)
    page.get_by_role("button", name="Start detail").click()
    for _ in range(SLOW_MS // 250):  # the grid's bar and the detail's
        if done.count() >= 2:
            break
        page.wait_for_timeout(250)
    assert done.count() >= 2
    wait_idle(page)
    no_exception(page)
    # 8 channels, 4 facets, the neuron, the accentuation, 3 ranked photos
    assert wait_count(main_images(page), 17) >= 17
    assert page.get_by_text("the photo, channel 34 accentuated").count() == 1
    shot(page, screenshots, "layer_explorer")
