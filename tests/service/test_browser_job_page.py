"""The job page in headless Chromium: scenes compared on a phone are a strip swiped one at a
time, the cutout's Dark backdrop is a toggle button like the product page's, and an asset's
preview opens the lightbox before its lazily loaded picture arrives."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from shop_assets.jobs.models import JobStatus
from tests.service.browser import BROWSER_MARKS, add_assets, job_with_assets, shots_dir, sign_in, sign_out

pytestmark = BROWSER_MARKS
# the cards' pictures (sized thumbnails) and the lightbox's (the file itself)
PICTURES = re.compile(r"/assets/\d+/(preview|thumbnail/\d+)/$")

DARK_SQUARE = "rgb(58, 61, 67)"  # the dark checkerboard's lighter square


SCENES = [
    ("scene", f"scene-marble_counter-0{i}", (1600, 1000), colour)
    for i, colour in enumerate([(200, 80, 60), (60, 160, 90), (40, 90, 200), (220, 180, 40)], start=1)
]


def _swipe(page, from_x: int, to_x: int, y: int) -> None:
    """A finger drawn across the screen (touch input, as a phone's)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": from_x, "y": y}]})
    for x in range(from_x, to_x - 1, -20 if to_x < from_x else 20):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def _wait_for_pictures(page) -> None:
    """Wait until every picture in the lightbox has loaded."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lightbox-stage img')].every(i => i.complete && i.naturalWidth > 0)"
    )


def _wait_until_shown(page, i: int) -> None:
    """Wait until the strip has come to rest with scene ``i`` filling the stage."""
    page.wait_for_function(
        """i => {
            const stage = document.querySelector('dialog.lightbox .lightbox-stage');
            return Math.abs(stage.children[i].getBoundingClientRect().left - stage.getBoundingClientRect().left) < 1;
        }""",
        arg=i,
    )


def test_scenes_compared_on_a_phone_are_a_strip_swiped_one_at_a_time(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job with four scenes, on a phone-sized window
    job = job_with_assets(product_image, SCENES)
    page = browser_page
    shots = shots_dir(tmp_path)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")

    # when: all scenes are compared
    page.click("[data-compare-button]")
    dialog = page.locator("dialog.lightbox")
    stage = dialog.locator(".lightbox-stage.compare")
    figures = stage.locator("figure")
    expect(figures).to_have_count(4)
    position = dialog.locator(".lightbox-position")
    expect(position).to_have_text("1 / 4")
    _wait_for_pictures(page)
    page.screenshot(path=str(shots / "phone-compare-strip-1.png"))

    # then: one row of scenes each the stage's width, snapped one at a time, the first in view
    stage_box = stage.bounding_box()
    boxes = [figures.nth(i).bounding_box() for i in range(4)]
    width = stage.evaluate("s => s.clientWidth")
    assert all(abs(box["y"] - boxes[0]["y"]) < 1 for box in boxes), boxes
    assert all(abs(box["width"] - width) < 1 for box in boxes), (boxes, width)
    assert abs(boxes[0]["x"] - stage_box["x"]) < 1 and boxes[1]["x"] >= stage_box["x"] + width - 1
    assert stage.evaluate("s => getComputedStyle(s).scrollSnapType") == "x mandatory"
    assert figures.nth(0).locator("img").bounding_box()["width"] > 300
    assert position.is_visible()

    # when: the keyboard reaches Next (Tab) and presses it
    def focused() -> str | None:
        return page.evaluate("() => document.activeElement.getAttribute('data-lb')")

    names = [focused()]  # the dialog focuses its first control as it opens
    while names[-1] != "next" and len(names) < 6:
        page.keyboard.press("Tab")
        names.append(focused())
    assert "prev" in names and names[-1] == "next", names
    page.keyboard.press("Enter")

    # then: the strip moves to the second scene and says so
    expect(position).to_have_text("2 / 4")
    _wait_until_shown(page, 1)
    page.screenshot(path=str(shots / "phone-compare-strip-2.png"))

    # when: the strip is swiped right to left with a finger
    _swipe(page, from_x=300, to_x=70, y=400)

    # then: it settles on the third scene, whole, and the place follows
    expect(position).to_have_text("3 / 4")
    _wait_until_shown(page, 2)
    assert "Marble counter 3" in figures.nth(2).inner_text()

    # and the arrow keys step back, ‹ wraps round from the first to the last
    page.keyboard.press("ArrowLeft")
    expect(position).to_have_text("2 / 4")
    page.keyboard.press("ArrowLeft")
    expect(position).to_have_text("1 / 4")
    dialog.locator("[data-lb=prev]").click()
    expect(position).to_have_text("4 / 4")
    _wait_until_shown(page, 3)
    page.keyboard.press("Escape")

    # and on a desktop the scenes stay side by side, all in view, with no strip controls
    page.set_viewport_size({"width": 1366, "height": 900})
    page.reload()
    page.click("[data-compare-button]")
    expect(figures).to_have_count(4)
    # (the figures are centred in the row: measured before a picture has loaded, a figure
    # is its caption only and sits lower than the others)
    _wait_for_pictures(page)
    boxes = [figures.nth(i).bounding_box() for i in range(4)]
    assert all(abs(box["y"] - boxes[0]["y"]) < 1 for box in boxes), boxes
    assert boxes[3]["x"] + boxes[3]["width"] <= 1366
    assert not stage.evaluate("s => s.scrollWidth > s.clientWidth")
    for hidden in ("[data-lb=prev]", "[data-lb=next]", ".lightbox-position"):
        expect(dialog.locator(hidden)).to_be_hidden()


def _style(locator) -> dict:
    return locator.evaluate(
        """b => { const s = getComputedStyle(b); return {
            background: s.backgroundColor, color: s.color, border: s.borderTopStyle + ' ' + s.borderTopColor,
            font: s.fontSize, padding: s.paddingLeft, radius: s.borderTopLeftRadius,
            tick: getComputedStyle(b, '::before').content }; }"""
    )


def test_the_job_pages_dark_backdrop_is_a_toggle_button_like_the_product_pages(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job with a cutout and a packshot, and one still running, on a desktop
    done = job_with_assets(
        product_image,
        [
            ("cutout", "cutout", (600, 800), (240, 240, 240, 255)),
            ("packshot", "packshot", (800, 800), (255, 255, 255, 255)),
        ],
    )
    running = job_with_assets(product_image, [], JobStatus.RUNNING)
    page = browser_page
    shots = shots_dir(tmp_path)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/jobs/{done.pk}/")

    # then: the cutout's preview carries a button (not a text link), not pressed; the packshot none
    toggle = page.locator("figure[data-kind=cutout]").get_by_role("button", name="Dark backdrop")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.locator("figure[data-kind=packshot] [data-backdrop-toggle]").count() == 0
    off = _style(toggle)
    assert off["border"].startswith("solid") and off["background"] not in (
        "rgba(0, 0, 0, 0)",
        "transparent",
    ), off
    box, preview = toggle.bounding_box(), page.locator("figure[data-kind=cutout] .preview").bounding_box()
    assert box["height"] >= 24 and box["x"] + box["width"] <= preview["x"] + preview["width"], (box, preview)

    # when: it is pressed
    toggle.click()

    # then: it shows pressed (dark, with a tick), and the cutout's checkerboard is dark, not the packshot's
    expect(toggle).to_have_attribute("aria-pressed", "true")
    on = _style(toggle)
    page.screenshot(path=str(shots / "desktop-job-dark-backdrop.png"))
    assert on["background"] != off["background"] and on["color"] != off["color"], (off, on)
    assert "✓" in on["tick"] and "✓" not in off["tick"], (off, on)
    backgrounds = page.evaluate(
        "() => [...document.querySelectorAll('figure.asset .preview')].map(p => getComputedStyle(p).backgroundImage)"
    )
    assert DARK_SQUARE in backgrounds[0] and DARK_SQUARE not in backgrounds[1], backgrounds

    # and the product page's button is the same button, pressed the same way
    page.goto(f"{live_server.url}/products/{product_image.product_id}/")
    product_toggle = page.locator(".cutout-view [data-backdrop-toggle]").first
    expect(product_toggle).to_have_attribute("aria-pressed", "true")
    assert _style(product_toggle) == on

    # and a job page whose gallery arrives by polling shows it pressed from the moment it lands
    page.goto(f"{live_server.url}/jobs/{running.pk}/")
    page.evaluate(
        """() => { window.seenPressed = [];
            new MutationObserver(() => document.querySelectorAll('[data-backdrop-toggle]').forEach(
                b => window.seenPressed.push(b.getAttribute('aria-pressed')))
            ).observe(document.body, {childList: true, subtree: true}); }"""
    )
    add_assets(running, [("cutout", "cutout", (600, 800), (240, 240, 240, 255))])
    page.locator("figure[data-kind=cutout] [data-backdrop-toggle]").wait_for()
    seen = page.evaluate("() => window.seenPressed")
    assert seen and set(seen) == {"true"}, seen


def _card_boxes(page) -> list[list[float]]:
    """Each asset card's place and size on the page (not the window)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('figure.asset')].map(f => {
            const r = f.getBoundingClientRect();
            return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })"""
    )


def _minus(a: list[float], b: list[float]) -> list[float]:
    return [x - y for x, y in zip(a, b, strict=True)]


def test_asset_previews_open_before_their_pictures_arrive_and_keep_their_size(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job with two scenes and a story and a link poster, whose pictures
    # are held back by the network
    job = job_with_assets(
        product_image,
        [
            *SCENES[:2],
            ("poster", "poster-hero_left-story", (1080, 1920), (230, 200, 60)),
            ("poster", "poster-hero_left-link", (1200, 628), (60, 200, 230)),
        ],
    )
    page = browser_page
    shots = shots_dir(tmp_path)
    held: list = []
    released = False

    def hold(route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        released = False
        page.route(PICTURES, hold)
        page.goto(f"{live_server.url}/jobs/{job.pk}/", wait_until="domcontentloaded")
        # the posters' section arrives folded on a phone
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        previews = page.locator("figure.asset .preview")
        expect(previews).to_have_count(4)
        page.wait_for_function("() => document.querySelectorAll('figure.asset img').length === 4")
        assert page.evaluate(
            "() => [...document.querySelectorAll('figure.asset img')].some(i => !i.complete)"
        )
        page.screenshot(path=str(shots / f"job-previews-waiting-{width}.png"), full_page=True)

        # then: every preview's link fills a box of the asset's shape before its picture loads
        links = page.locator("figure.asset a[data-lightbox]")
        before = _card_boxes(page)
        for i, (w, h) in enumerate([(1600, 1000), (1600, 1000), (1080, 1920), (1200, 628)]):
            link, preview = links.nth(i).bounding_box(), previews.nth(i).bounding_box()
            assert link["width"] > 100 and link["height"] > 100, (i, link)
            assert abs(link["height"] - preview["height"]) < 1 and abs(link["width"] - preview["width"]) < 1
            if i >= 2:  # a poster's box has the poster's shape
                assert abs(preview["width"] / preview["height"] - w / h) < 0.05, (i, preview)

        # when: the story poster is tapped while its picture is still on its way
        links.nth(2).click()

        # then: the lightbox opens on it
        dialog = page.locator("dialog.lightbox")
        expect(dialog).to_be_visible()
        expect(dialog.locator(".lightbox-caption")).to_contain_text("1080×1920")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()

        # when: the pictures arrive
        released = True
        for route in held:
            route.continue_()
        held.clear()
        for i in range(4):  # lazily loaded: each once it is scrolled to
            image = page.locator("figure.asset img").nth(i)
            image.scroll_into_view_if_needed()
            page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=image.element_handle())
        page.screenshot(path=str(shots / f"job-previews-loaded-{width}.png"), full_page=True)

        # then: no card moved or changed size
        after = _card_boxes(page)
        moved = [
            (old, new) for old, new in zip(before, after, strict=True) if max(map(abs, _minus(new, old))) >= 1
        ]
        assert moved == [], moved
        page.unroute(PICTURES)
        sign_out(page)
