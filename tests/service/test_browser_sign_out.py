"""Signing out on a phone (390 x 844) and a desktop (1440 x 900): the sign-in page then says
so (it came back with no word, as if nothing had happened), once."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in

pytestmark = BROWSER_MARKS


def test_signing_out_says_so_on_the_sign_in_page_once(live_server, browser_page, user, tmp_path):
    page = browser_page
    shots = shots_dir(tmp_path)
    for width, height in ((390, 844), (1440, 900)):
        # given: a signed-in merchant on the products page
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)

        # when: they press Sign out
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{live_server.url}/login/")
        page.screenshot(path=str(shots / f"signed-out-{width}.png"), full_page=True)

        # then: the sign-in page says they have signed out, above its form
        message = page.locator("ul.messages li.success")
        expect(message).to_have_text("You have signed out.")
        said, card = message.bounding_box(), page.locator(".card.login").bounding_box()
        assert said["y"] + said["height"] < card["y"], (said, card)
        # as wide as the sign-in card under it, not the page's whole width
        assert abs(said["x"] - card["x"]) < 1 and abs(said["width"] - card["width"]) < 1, (said, card)
        # and the dashboard is closed to them
        page.goto(f"{live_server.url}/")
        page.wait_for_url(f"{live_server.url}/login/?next=/")
        # and the message was said once: it is gone on the next page
        assert page.locator("ul.messages").count() == 0
