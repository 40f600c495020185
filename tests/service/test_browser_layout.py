"""The dashboard in headless Chromium on a phone-sized window and a desktop: no sideways
scrolling, "Sign out" on screen, and Chinese titles drawn with the self-hosted CJK font."""

from __future__ import annotations

from shop_assets.dashboard.webfonts import FAMILY, build_webfonts
from tests.service.browser import BROWSER_MARKS, job_with_assets, shots_dir, sign_in

pytestmark = BROWSER_MARKS

CHINESE_TITLE = "保温杯 限时特价"


def _no_sideways_scroll(page) -> None:
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, view: window.innerWidth})")
    assert widths["scroll"] <= widths["view"], f"{page.url}: {widths}"
    box = page.locator("button:has-text('Sign out')").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= widths["view"], box


def test_phone_layout_and_chinese_title(live_server, browser_page, user, product, product_image, tmp_path):
    # given: the web font built (a no-op when install already did it) and a Chinese title
    build_webfonts()
    product.title = CHINESE_TITLE
    product.save()
    page = browser_page
    shots = shots_dir(tmp_path)

    # when: the pages are opened on a 375 px wide window
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_server.url)
    pages = {
        "products": "/",
        "product": f"/products/{product.pk}/",
        "new-product": "/products/new/",
        "brand": "/brand/",
        "api-keys": "/settings/api-keys/",
        "webhooks": "/webhooks/",
        "team": "/settings/team/",
        "edit-product": f"/products/{product.pk}/edit/",
        "bulk": "/batches/",
        "campaign": "/batches/campaigns/new/",
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

    # ticking Posters shows the poster options, and only then
    posters = page.locator("fieldset[data-output=poster]")
    assert posters.is_hidden()
    page.check("input[name=outputs][value=poster]")
    assert posters.is_visible()
    page.screenshot(path=str(shots / "desktop-job-form-posters.png"), full_page=True)


def _scene_job(product_image):
    """A finished job with three scene variants (1600×1000, each its own colour) and a poster."""
    size = (1600, 1000)
    return job_with_assets(
        product_image,
        [
            ("scene", "scene-marble_counter-01", size, (200, 80, 60), {"theme": "marble_counter"}),
            ("scene", "scene-marble_counter-02", size, (60, 160, 90), {"theme": "marble_counter"}),
            ("scene", "scene-marble_counter-03", size, (40, 90, 200), {"theme": "marble_counter"}),
            ("poster", "poster-hero_left-feed", size, (230, 200, 60), {"template": "hero_left"}),
        ],
    )


def test_lightbox_and_scene_comparison(live_server, browser_page, user, product_image, tmp_path):
    # given: a finished job with three scenes, on a desktop window
    job = _scene_job(product_image)
    page = browser_page
    shots = shots_dir(tmp_path)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")

    # when: the first scene is clicked
    page.locator("a[data-lightbox]").first.click()
    dialog = page.locator("dialog.lightbox")
    big = dialog.locator(".lightbox-stage > img")
    big.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=big.element_handle())
    fitted = big.bounding_box()
    first_src = big.get_attribute("src")
    page.screenshot(path=str(shots / "desktop-lightbox.png"))

    # then: it opens large, fitted to the window, and goes to full size on request
    assert big.evaluate("img => img.naturalWidth") == 1600
    assert 600 < fitted["width"] <= 1280
    dialog.locator("[data-lb=size]").click()
    assert big.bounding_box()["width"] == 1600
    page.keyboard.press("ArrowRight")
    assert big.get_attribute("src") != first_src
    page.keyboard.press("Escape")
    assert dialog.evaluate("d => d.open") is False

    # when: two scenes are ticked and compared
    boxes = page.locator("input[data-compare]")
    assert boxes.count() == 3
    boxes.nth(0).check()
    boxes.nth(2).check()
    page.click("[data-compare-button]")
    figures = dialog.locator(".lightbox-stage.compare figure")
    figures.first.wait_for()
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "desktop-compare.png"))

    # then: exactly those two, side by side
    assert figures.count() == 2
    left, right = figures.nth(0).bounding_box(), figures.nth(1).bounding_box()
    assert abs(left["y"] - right["y"]) < 1 and right["x"] >= left["x"] + left["width"]
    assert "Scene · Marble counter 3" in figures.nth(1).inner_text().replace("\xa0", " ")
    page.keyboard.press("Escape")

    # and on a phone the large preview fits the screen
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    page.locator("a[data-lightbox]").nth(1).click()
    big.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=big.element_handle())
    page.screenshot(path=str(shots / "phone-lightbox.png"))
    assert 0 < big.bounding_box()["width"] <= 375
    page.keyboard.press("Escape")
    page.screenshot(path=str(shots / "phone-job.png"), full_page=True)
    _no_sideways_scroll(page)


def test_product_page_photos_card_fits_its_content_and_cutouts_take_a_dark_backdrop(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a product with a photo, on a desktop window
    page = browser_page
    shots = shots_dir(tmp_path)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/products/{product_image.product_id}/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / "desktop-product-light.png"), full_page=True)

    # then: the Photos card ends after its Upload button, not level with the longer form beside it
    photos = page.locator("#photos").bounding_box()
    upload = page.locator("#photos button[type=submit]:has-text('Upload')").bounding_box()
    form = page.locator("section.card:has(h2:has-text('Make assets'))").bounding_box()
    assert form["height"] > photos["height"] + 100, (form, photos)
    assert photos["y"] + photos["height"] - (upload["y"] + upload["height"]) < 60, (photos, upload)

    # when: the cutout preview is switched to the dark backdrop (the card polls while its
    # cutout is made, so each look finds the card anew)
    def backdrop() -> str:
        return page.evaluate("() => getComputedStyle(document.querySelector('.cutout-view')).backgroundImage")

    def pressed() -> str:
        return page.evaluate(
            "() => document.querySelector('[data-backdrop-toggle]').getAttribute('aria-pressed')"
        )

    light = backdrop()
    assert pressed() == "false"
    page.click("[data-backdrop-toggle]")
    dark = backdrop()
    page.screenshot(path=str(shots / "desktop-product-dark.png"), full_page=True)

    # then: the checkerboard is dark, and stays dark after the card refreshes and on the next visit
    assert "rgb(233, 233, 233)" in light and "rgb(58, 61, 67)" not in light
    assert "rgb(58, 61, 67)" in dark and "rgb(233, 233, 233)" not in dark
    assert pressed() == "true"
    page.wait_for_timeout(1500)
    assert "rgb(58, 61, 67)" in backdrop() and pressed() == "true"
    page.reload()
    page.wait_for_load_state("networkidle")
    assert "rgb(58, 61, 67)" in backdrop() and pressed() == "true"
