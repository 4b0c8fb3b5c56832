"""The dashboard on stage, in headless Chromium (issue 14, findings 1-3).

* a sidebar detour (the upload prompt, a hub model that fails offline) leaves every widget
  as the browser shows it, and the URL, as they were, on every page;
* after an image change the class label and the saliency caption follow the new image;
* at 1024x768 and 1920x1080 no element overlaps another, overflows the main area or has a
  cut label (from the DOM's bounding boxes); the class-visualization image's top is above
  the fold with the settings open.

Screenshots of the layout checks go to the session's screenshot folder (``stage-*.png``; docs/screenshots/
with ``./dev.sh screenshots``): look at them.
Uses the server and browser fixtures of tests/e2e/conftest.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import IDLE
from .conftest import wait_idle as wait_run_over

CHROMIUM = "/usr/bin/chromium"
SLOW_MS = 300_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.long,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]

#: What every settings widget shows, read from the DOM: {"<kind>:<label>": shown value}.
READ_WIDGETS = """() => {
  const out = {};
  const kinds = ['stSlider', 'stSelectbox', 'stMultiSelect', 'stRadio', 'stCheckbox', 'stNumberInput', 'stTextInput'];
  for (const el of document.querySelectorAll(kinds.map(k => `[data-testid="${k}"]`).join(','))) {
    const kind = el.dataset.testid;
    const labelEl = el.querySelector('[data-testid="stWidgetLabel"]');
    const label = labelEl ? labelEl.innerText.trim() : '';
    let v;
    if (kind === 'stSlider') {
      v = [...el.querySelectorAll('[data-testid="stSliderThumbValue"]')].map(t => t.innerText).join(',');
    } else if (kind === 'stRadio') {
      v = [...el.querySelectorAll('input')].filter(i => i.checked).map(i => i.closest('label').innerText).join(',');
    } else if (kind === 'stCheckbox') {
      v = String(el.querySelector('input').checked);
    } else if (kind === 'stNumberInput' || kind === 'stTextInput' || kind === 'stSelectbox') {
      v = el.querySelector('input').value;
    } else {
      v = el.innerText.replace(label, '').trim();
    }
    out[kind + ':' + label] = v;
  }
  return out;
}"""

#: Overlaps, overflows and cut text in the main area, from bounding boxes.
LAYOUT_PROBLEMS = """() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const area = main.getBoundingClientRect();
  const visible = r => r.width > 1 && r.height > 1;
  const boxes = [...main.querySelectorAll('[data-testid="stElementContainer"]')]
    .filter(el => getComputedStyle(el).display !== 'none' && !el.closest('details:not([open])'))
    .map(el => ({el, r: el.getBoundingClientRect()})).filter(b => visible(b.r));
  const name = el => (el.querySelector('[data-testid]') || el).dataset.testid + ' "' +
    (el.innerText || '').slice(0, 30).replace(/\\s+/g, ' ') + '"';
  const problems = [];
  for (const b of boxes) {
    if (b.r.left < area.left - 1 || b.r.right > area.right + 1) {
      problems.push(`overflows the main area: ${name(b.el)} [${b.r.left|0}, ${b.r.right|0}] vs [${area.left|0}, ${area.right|0}]`);
    }
    // content wider or taller than its own element box: pictures, charts, buttons
    for (const c of b.el.querySelectorAll('img, .js-plotly-plot, button, canvas')) {
      const r = c.getBoundingClientRect();
      if (visible(r) && (r.right > b.r.right + 1 || r.left < b.r.left - 1)) {
        problems.push(`sticks out of its box: ${c.tagName} in ${name(b.el)}`);
      }
    }
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (w > 2 && h > 2) problems.push(`overlap ${w|0}x${h|0}: ${name(a.el)} and ${name(b.el)}`);
    }
  }
  // cut text: an ellipsis that hides part of a label, a metric, a button or a chip
  for (const el of main.querySelectorAll('*')) {
    if (el.closest('details:not([open])')) continue;
    if (!el.children.length || el.matches('p, span, div, label')) {
      const s = getComputedStyle(el);
      if (s.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1 && el.innerText.trim()) {
        problems.push(`cut text: "${el.innerText.trim().slice(0, 40)}"`);
      }
    }
  }
  return [...new Set(problems)];
}"""


def new_page(browser, width: int, height: int):
    pg = browser.new_context(viewport={"width": width, "height": height}).new_page()
    pg.set_default_timeout(SLOW_MS)
    return pg


def wait_idle(pg) -> None:
    """Until the script run is over (tests/e2e/conftest.py), then until what the widgets show stays the
    same for a second."""
    wait_run_over(pg, SLOW_MS)
    deadline = time.monotonic() + SLOW_MS / 1000
    last = pg.evaluate(READ_WIDGETS)
    while time.monotonic() < deadline:
        pg.wait_for_timeout(1000)
        pg.wait_for_function(IDLE, timeout=SLOW_MS)
        now = pg.evaluate(READ_WIDGETS)
        if now == last:
            return
        last = now


def wait_for_value(read, expected, timeout_s: float = SLOW_MS / 1000):
    """Read until it equals ``expected`` or the time is up; returns the last reading (compared by the caller)."""
    deadline = time.monotonic() + timeout_s
    got = read()
    while got != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        got = read()
    return got


def query(pg) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlparse(pg.url).query, keep_blank_values=True).items()}


def sidebar(pg):
    return pg.locator('[data-testid="stSidebar"]')


def combobox(where, label: str):
    """A Streamlit selectbox (a searchable combobox) by its label."""
    return where.get_by_role("combobox", name=label, exact=True)


def pick_option(pg, box, option: str, search: str | None = None, attempts: int = 5) -> None:
    """Choose ``option`` in a selectbox (``search``: text typed first to narrow a long list).

    A script run that ends while the list is open redraws the selectbox and closes the list
    (seen on a loaded machine): then the list is opened again once the page is idle.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for attempt in range(attempts):
        box.click()
        if search:
            box.fill(search)
        try:
            pg.get_by_role("option", name=option, exact=True).click(timeout=20_000)
            return
        except PlaywrightTimeoutError:
            if attempt == attempts - 1:
                raise
            pg.keyboard.press("Escape")
            wait_idle(pg)


def no_exception(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0


#: page path -> URL values that differ from every widget's element default
PAGES = {
    "/": "target=281&opacity=0.8&smoothgrad_samples=20&box_threshold=0.6&methods=vanilla,cam",
    "/fooling": "target=6&mode=linf&linf=16&step_size=2&iterations=50&magnify=20",
    "/class_visualization": "target=130&l2_weight=0.01&iterations=50&jitter=4&blur_every=5&objective=posterior",
    "/class_impressions": "target=207&iterations=50&tv_weight=0.1&tv_every=2&c2=8&select_radius=40",
    "/compare": "target=130&iterations=50&jitter=4&seed=5",
}


def detour_upload(pg) -> None:
    pick_option(pg, combobox(sidebar(pg), "Image"), "(upload)")
    sidebar(pg).get_by_text("Upload an image, or pick a sample.").wait_for()
    wait_idle(pg)
    pick_option(pg, combobox(sidebar(pg), "Image"), "chelsea.png")


def detour_hub(pg) -> None:
    weights = sidebar(pg).get_by_role("radiogroup", name="Weights")
    weights.get_by_text("Any timm name (hub)").click()
    sidebar(pg).locator('[data-testid="stAlert"]').first.wait_for()  # fails offline
    wait_idle(pg)
    weights.get_by_text("Bundled (offline)").click()


@pytest.mark.parametrize("detour", [detour_upload, detour_hub], ids=["upload", "hub"])
@pytest.mark.parametrize("path", list(PAGES))
def test_a_sidebar_detour_leaves_every_widget_and_the_url_as_they_were(server, browser, path, detour):
    pg = new_page(browser, 1400, 1000)
    pg.goto(f"{server}{path}?{PAGES[path]}")
    pg.locator('[data-testid="stMain"] [data-testid="stWidgetLabel"]').first.wait_for()
    wait_idle(pg)
    no_exception(pg)
    before, before_url = pg.evaluate(READ_WIDGETS), query(pg)
    assert len(before) > 5, before
    detour(pg)
    after = wait_for_value(lambda: pg.evaluate(READ_WIDGETS), before)
    wait_idle(pg)
    no_exception(pg)
    after = pg.evaluate(READ_WIDGETS)
    changed = {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert not changed, f"widgets changed by the detour: {changed}"
    assert query(pg) == before_url
    pg.context.close()


def test_the_class_label_follows_the_image(server, browser):
    pg = new_page(browser, 1400, 1000)
    pg.goto(f"{server}/?methods=cam")
    caption = pg.get_by_text("Saliency for class")
    caption.wait_for()
    wait_idle(pg)
    assert "Egyptian cat" in caption.inner_text() or "tabby" in caption.inner_text(), caption.inner_text()
    class_box = combobox(pg.locator('[data-testid="stMain"]'), "Class c")
    pick_option(pg, class_box, "281: tabby, tabby cat", search="281: tabby")
    pg.get_by_text("Saliency for class 281: tabby").wait_for()
    wait_idle(pg)

    pick_option(pg, combobox(sidebar(pg), "Image"), "coffee.png")
    pg.get_by_text("Saliency for class 967: espresso").wait_for()  # the new image's top-1, not the old pick
    wait_idle(pg)
    no_exception(pg)
    assert class_box.input_value().startswith("top-1"), class_box.input_value()
    assert "tabby" not in pg.locator('[data-testid="stMain"]').inner_text()
    pg.context.close()


SIZES = [(1024, 768), (1920, 1080)]
#: path -> (URL, the button that runs it, the text that says the run is over)
LAYOUT_PAGES = {
    "classify": ("/?methods=vanilla,smoothgrad,guided,deconvnet,cam,gradcam&smoothgrad_samples=2", None, None),
    "fooling": ("/fooling?target=6&iterations=20", "Fool it", "the 8-bit image"),
    "class_visualization": ("/class_visualization?iterations=8", "Start", "finished after"),
    "class_impressions": ("/class_impressions?iterations=4&preci_iterations=1", "Start", "finished after"),
    "compare": ("/compare?iterations=4", "Start", "finished after"),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(LAYOUT_PAGES))
def test_nothing_overlaps_overflows_or_is_cut(server, browser, screenshots, name, size):
    url, button, done = LAYOUT_PAGES[name]
    pg = new_page(browser, *size)
    pg.goto(f"{server}{url}")
    pg.locator('[data-testid="stMain"] [data-testid="stWidgetLabel"]').first.wait_for()
    wait_idle(pg)
    if button:
        pg.get_by_role("button", name=button, exact=True).click()
        pg.get_by_text(done).first.wait_for()
    wait_idle(pg)
    no_exception(pg)
    if name == "class_visualization":  # the picture's top above the fold, with the settings open
        img = pg.locator('[data-testid="stMain"] [data-testid="stImage"] img').first
        top = img.evaluate("e => e.getBoundingClientRect().top")
        assert pg.locator('[data-testid="stExpander"] details').first.get_attribute("open") is not None
        assert top < size[1] - 100, f"the image starts at {top:.0f} px, below the fold ({size[1]} px)"
    pg.screenshot(path=str(screenshots / f"stage-{name}-{size[0]}.png"), full_page=False)
    problems = pg.evaluate(LAYOUT_PROBLEMS)
    assert not problems, "\n".join(problems)
    pg.context.close()


@pytest.mark.parametrize("scheme, background", [("light", "rgb(255, 255, 255)"), ("dark", "rgb(14, 17, 23)")])
def test_the_theme_follows_the_light_or_dark_preference(server, browser, screenshots, scheme, background):
    pg = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme=scheme).new_page()
    pg.set_default_timeout(SLOW_MS)
    pg.goto(f"{server}/class_visualization")
    pg.locator('[data-testid="stMain"] [data-testid="stWidgetLabel"]').first.wait_for()
    wait_idle(pg)
    color = pg.evaluate("getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor")
    assert color == background
    pg.screenshot(path=str(screenshots / f"stage-theme-{scheme}.png"))
    pg.context.close()


def background(pg) -> str | None:
    """The computed background colour of the main area (None while the page reloads)."""
    from playwright.sync_api import Error

    try:
        return pg.evaluate("getComputedStyle(document.querySelector('[data-testid=\"stMain\"]').closest("
                           "'[data-testid=\"stApp\"]')).backgroundColor")
    except Error:  # the switch reloads the page: the document went away under the evaluation
        return None


LIGHT, DARK = "rgb(255, 255, 255)", "rgb(14, 17, 23)"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_theme_switch_turns_the_whole_page_light_or_dark(server, browser, screenshots, scheme):
    """Against the system's setting: a link with theme=... and the sidebar's switch; the choice survives
    a change of page and is in the URL."""
    other = {"light": "dark", "dark": "light"}[scheme]
    colour = {"light": LIGHT, "dark": DARK}
    pg = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme=scheme).new_page()
    pg.set_default_timeout(SLOW_MS)
    pg.goto(f"{server}/compare?iterations=2&theme={other}")
    pg.get_by_role("button", name="Start", exact=True).wait_for()
    wait_idle(pg)
    assert wait_for_value(lambda: background(pg), colour[other]) == colour[other]
    pg.get_by_role("button", name="Start", exact=True).click()
    pg.get_by_text("finished after").first.wait_for()
    wait_idle(pg)
    no_exception(pg)
    chart_dark = pg.locator('[data-testid="stPlotlyChart"]').first.evaluate(
        "e => getComputedStyle(e.querySelector('.main-svg')).backgroundColor")
    # the sidebar's switch, back to the system's scheme; the settings stay as they were (from the URL)
    radio = sidebar(pg).get_by_role("radiogroup", name="Theme")
    radio.get_by_text(scheme, exact=True).click()
    assert wait_for_value(lambda: background(pg), colour[scheme]) == colour[scheme]
    pg.get_by_role("button", name="Start", exact=True).wait_for()
    wait_idle(pg)
    assert query(pg)["theme"] == scheme and query(pg)["iterations"] == "2"
    pg.get_by_role("button", name="Start", exact=True).click()
    pg.get_by_text("finished after").first.wait_for()
    wait_idle(pg)
    chart_now = pg.locator('[data-testid="stPlotlyChart"]').first.evaluate(
        "e => getComputedStyle(e.querySelector('.main-svg')).backgroundColor")
    assert chart_now != chart_dark, "the plot kept the other theme's colours"
    radio.get_by_text(other, exact=True).click()
    assert wait_for_value(lambda: background(pg), colour[other]) == colour[other]
    # another page, through the navigation: the theme stays
    pg.get_by_role("link", name="Class Visualization").click()
    pg.get_by_role("button", name="Start", exact=True).wait_for()
    wait_idle(pg)
    assert background(pg) == colour[other]
    assert query(pg).get("theme") == other
    pg.screenshot(path=str(screenshots / f"stage-theme-switch-{other}.png"))
    no_exception(pg)
    pg.context.close()
