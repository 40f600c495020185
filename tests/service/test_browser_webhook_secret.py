"""A webhook's signing secret, once revealed, has the same Copy button as a new API key or
invite link (it had none: a 40-character secret to select by hand, on a phone too)."""

from __future__ import annotations

from playwright.sync_api import expect

from shop_assets.webhooks.models import WebhookEndpoint
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in

pytestmark = BROWSER_MARKS


def test_a_revealed_signing_secret_has_a_copy_button(live_server, browser_page, user, tmp_path):
    # given: an endpoint, in a browser that lets the page use the clipboard
    endpoint = WebhookEndpoint.objects.create(
        merchant=user.merchant, url="https://shop.example.com/hooks", events=["job.succeeded"]
    )
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    shots = shots_dir(tmp_path)
    sign_in(page, live_server.url)

    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/webhooks/{endpoint.pk}/")
        # when: the secret is revealed (swapped in by HTMX) and Copy pressed
        page.get_by_role("link", name="Reveal").click()
        copy = page.locator("#secret button[data-copy]")
        expect(copy).to_be_visible()
        copy.click()

        # then: it says so, the clipboard holds the secret, and all of it fits the window
        expect(copy).to_have_text("Copied")
        page.screenshot(path=str(shots / f"webhook-secret-copied-{width}.png"), full_page=True)
        assert page.evaluate("() => navigator.clipboard.readText()") == endpoint.secret
        box = copy.bounding_box()
        assert box and box["x"] + box["width"] <= width and box["height"] >= 32, (width, box)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width

        # and hidden again, the button goes with the secret
        page.get_by_role("button", name="Hide").click()
        expect(page.locator("#secret button[data-copy]")).to_have_count(0)
