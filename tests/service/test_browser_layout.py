"""The dashboard in headless Chromium on a phone-sized window and a desktop: no sideways
scrolling, "Sign out" on screen, and Chinese titles drawn with the self-hosted CJK font."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shop_assets.dashboard.webfonts import FAMILY, build_webfonts
from tests.service.test_browser import CHROMIUM, browser_page  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="no Chromium installed (apt-get install chromium); .ci/run installs it",
    ),
]

CHINESE_TITLE = "保温杯 限时特价"


def _shots_dir(tmp_path: Path) -> Path:
    # SHOPASSETS_SCREENSHOTS keeps the screenshots for a person to look at
    folder = Path(os.environ.get("SHOPASSETS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page, url: str) -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice-123")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


def _no_sideways_scroll(page) -> None:
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, view: window.innerWidth})")
    assert widths["scroll"] <= widths["view"], f"{page.url}: {widths}"
    box = page.locator("button:has-text('Sign out')").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= widths["view"], box


def test_phone_layout_and_chinese_title(live_server, browser_page, user, product, product_image, tmp_path):  # noqa: F811
    # given: the web font built (a no-op when install already did it) and a Chinese title
    build_webfonts()
    product.title = CHINESE_TITLE
    product.save()
    page = browser_page
    shots = _shots_dir(tmp_path)

    # when: the pages are opened on a 375 px wide window
    page.set_viewport_size({"width": 375, "height": 740})
    _sign_in(page, live_server.url)
    pages = {
        "products": "/",
        "product": f"/products/{product.pk}/",
        "new-product": "/products/new/",
        "brand": "/brand/",
        "api-keys": "/settings/api-keys/",
        "webhooks": "/webhooks/",
        "bulk": "/batches/",
        "not-found": "/no/such/page/",
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"phone-{name}.png"), full_page=True)
        # then: nothing is wider than the window
        _no_sideways_scroll(page)

    # then: the Chinese title is drawn with the self-hosted font
    page.goto(live_server.url + "/")
    title = page.locator(f".tile >> text={CHINESE_TITLE}")
    title.wait_for()
    # the browser fetches a slice once layout meets a character in its range
    page.wait_for_function(
        "([family, text]) => document.fonts.check('16px \"' + family + '\"', text)",
        arg=[FAMILY, CHINESE_TITLE.replace(" ", "")],
        timeout=15_000,
    )
    width = title.evaluate("el => el.getBoundingClientRect().width")
    font = page.evaluate(
        """([family, text]) => {
            const faces = [...document.fonts].filter(f => f.family.replace(/"/g, '') === family);
            const probe = (stack) => {
                const c = document.createElement('canvas').getContext('2d');
                c.font = '32px ' + stack;
                return c.measureText(text).width;
            };
            return {
                check: document.fonts.check('16px "' + family + '"', text.replace(/ /g, '')),
                loaded: faces.filter(f => f.status === 'loaded').length,
                faces: faces.length,
                withFont: probe('"' + family + '", monospace'),
                without: probe('monospace'),
            };
        }""",
        [FAMILY, CHINESE_TITLE],
    )
    assert width > 0
    assert font["check"] is True, font
    assert font["faces"] > 1 and 1 <= font["loaded"] < font["faces"]  # only the slices needed
    assert font["withFont"] != font["without"]

    # and on a desktop window too
    page.set_viewport_size({"width": 1280, "height": 900})
    for name in ("products", "product"):
        page.goto(live_server.url + pages[name])
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"desktop-{name}.png"), full_page=True)
        _no_sideways_scroll(page)
