"""A new API key, shown once, has the same Copy button as a new invite link (it had none: on a
phone a 60-character key had to be selected by hand)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in

pytestmark = BROWSER_MARKS


def test_a_new_api_key_has_a_copy_button_that_says_copied(live_server, browser_page, user, tmp_path):
    # given: a browser that lets the page use the clipboard
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    shots = shots_dir(tmp_path)
    sign_in(page, live_server.url)

    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        # when: a key is made and Copy pressed
        page.goto(f"{live_server.url}/settings/api-keys/")
        page.fill("input[name=name]", f"Storefront {width}")
        page.get_by_role("button", name="Create key").click()
        page.wait_for_load_state("networkidle")
        key = page.locator("#new-secret").inner_text().strip()
        copy = page.locator("button[data-copy='new-secret']")
        expect(copy).to_be_visible()
        copy.click()

        # then: it says so, the clipboard holds the key, and both fit the window
        expect(copy).to_have_text("Copied")
        page.screenshot(path=str(shots / f"api-key-copied-{width}.png"), full_page=True)
        assert page.evaluate("() => navigator.clipboard.readText()") == key and key.startswith("sa_")
        box = copy.bounding_box()
        assert box and box["x"] + box["width"] <= width and box["height"] >= 32, (width, box)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
