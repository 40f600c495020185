"""On a phone (390 x 844) every action of a job's asset cards, of a product's photo tiles and
of the menu is at least 32 px tall (a finger's target; they were the text's own line, 15-23
px: Download, Edit words, Regenerate, Layout JSON, Delete photo, the menu's links)."""

from __future__ import annotations

from tests.service.browser import BROWSER_MARKS, full_job, open_unfolded, signed_in

pytestmark = BROWSER_MARKS

# every visible link, button and ticked-box label in the given places, with its height
TARGETS = """sel => [...document.querySelectorAll(sel)].filter(el => el.offsetParent).map(el =>
    [el.textContent.trim(), el.getBoundingClientRect().height])"""
ACTIONS = (
    ".gallery figcaption a, .gallery figcaption button, .gallery figcaption label.compare-pick, .tile .meta button,"
    " header.top nav a, header.top nav button"
)


def test_every_card_action_is_a_finger_sized_target_on_a_phone(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job with every output, on a phone
    job = full_job(product_image)
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path)

    for path, name in ((f"/jobs/{job.pk}/", "job"), (f"/products/{job.product_id}/", "product")):
        # when: the page opens with every section unfolded
        open_unfolded(page, live_server.url + path)
        page.screenshot(path=str(shots / f"tap-{name}-390.png"), full_page=True)

        # then: each action is at least 32 px tall
        targets = page.evaluate(TARGETS, ACTIONS)
        names = {text for text, _ in targets}
        assert {"Download", "Regenerate"} <= names or "Delete photo" in names, (name, names)
        assert {"Products", "Bulk import", "Team", "Sign out"} <= names, (name, names)
        small = [(text, round(height, 1)) for text, height in targets if height < 32]
        assert small == [], (name, small)


# every visible file picker: its label, its height and its button's height, font size and corners
FILE_PICKERS = """() => [...document.querySelectorAll('input[type=file]')].filter(el => el.offsetParent).map(el => {
    const button = getComputedStyle(el, '::file-selector-button'), box = el.getBoundingClientRect();
    return {label: el.labels.length ? el.labels[0].textContent.trim() : el.name, height: box.height,
            right: box.right, font: parseFloat(button.fontSize), corner: parseFloat(button.borderTopLeftRadius)}; })"""


def test_file_pickers_are_buttons_a_finger_can_hit(live_server, browser_page, user, product_image, tmp_path):
    # given: a product with a photo, and the brand kit and the catalogue import, on a phone and a desktop
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path)
    pages = {
        "product": f"/products/{product_image.product_id}/",
        "brand": "/brand/",
        "import": "/batches/upload/",
    }
    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        seen = []
        for name, path in pages.items():
            # when: the page opens
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            pickers = page.evaluate(FILE_PICKERS)
            page.locator("input[type=file]").first.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"file-pickers-{name}-{width}.png"))
            # then: each "Choose file" is a button like the form's others: 32 px tall at least (it
            # was the browser's own, 21 px, in 13 px type), rounded, in the page's type, on screen
            for picker in pickers:
                assert picker["height"] >= 32 and picker["corner"] >= 6, (width, name, picker)
                assert picker["font"] >= 15 and picker["right"] <= width, (width, name, picker)
            seen += [p["label"] for p in pickers]
        assert seen == ["Add a photo", "Logo", "Audio track", "Catalogue (CSV)", "Photos (ZIP, optional)"], (
            seen
        )
