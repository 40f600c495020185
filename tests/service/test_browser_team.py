"""The team page on a phone (390 x 844) and a desktop: every colleague's Remove button is
shown whole where it can be pressed (it was cut to "Rem" at the right edge of a table that
scrolled inside its card), and a sign-in a moment ago reads "just now"."""

from __future__ import annotations

from django.utils import timezone

from shop_assets.accounts.models import User
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in, sign_out

pytestmark = BROWSER_MARKS

# each Remove button's box against the box its table shows (a table that scrolls inside
# itself shows only its client width)
REMOVES = """() => [...document.querySelectorAll('button')].filter(b => b.textContent.trim() === 'Remove')
    .map(b => { const t = b.closest('table'), r = b.getBoundingClientRect(), s = t.getBoundingClientRect();
        return {right: r.right, shown: s.left + t.clientWidth, scrolls: t.scrollWidth > t.clientWidth}; })"""


def test_every_remove_button_is_whole_on_a_phone_and_a_fresh_sign_in_reads_just_now(
    live_server, browser_page, user, merchant, tmp_path
):
    # given: the signed-in owner and a colleague with a longer name who never signed in
    user.is_owner = True
    user.save()
    User.objects.create_user("lin.wei.packaging", password="pw-lin-123456", merchant=merchant)
    page = browser_page
    shots = shots_dir(tmp_path)

    for width, height in ((390, 844), (1440, 900)):
        # when: the team page opens
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}/settings/team/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"team-{width}.png"), full_page=True)

        # then: the colleague's Remove button sits inside what its table shows, with no
        # scrolling inside the table
        removes = page.evaluate(REMOVES)
        assert len(removes) == 1, removes
        assert removes[0]["right"] <= removes[0]["shown"] + 0.5, (width, removes)
        assert removes[0]["scrolls"] is False, (width, removes)
        assert removes[0]["right"] <= width, (width, removes)

        # and the owner, signed in a moment ago, reads "just now"; the colleague "never"
        rows = page.locator("table.members tr").all_inner_texts()
        assert rows[0].split("\n")[0].strip() == "alice (you)", rows
        assert "Owner · signed in just now" in rows[0], rows
        assert "Colleague · never signed in" in rows[1], rows
        assert "0 minutes" not in page.content()
        sign_out(page)

    user.refresh_from_db()
    assert user.last_login is not None and (timezone.now() - user.last_login).total_seconds() < 120


def test_a_new_invite_link_has_a_copy_button_that_says_copied(live_server, browser_page, user, tmp_path):
    # given: the signed-in owner, in a browser that lets the page use the clipboard
    user.is_owner = True
    user.save()
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    shots = shots_dir(tmp_path)

    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}/settings/team/")
        # when: the owner makes an invite link and presses Copy
        page.get_by_role("button", name="Create invite link").click()
        page.wait_for_load_state("networkidle")
        link = page.locator("#invite-link").inner_text().strip()
        copy = page.locator("button[data-copy='invite-link']")
        assert copy.is_visible() and copy.inner_text() == "Copy"
        copy.click()

        # then: the button says so, the clipboard holds the link, and both fit the window
        page.wait_for_function("() => document.querySelector('button[data-copy]').textContent === 'Copied'")
        page.screenshot(path=str(shots / f"team-invite-copied-{width}.png"), full_page=True)
        assert page.evaluate("() => navigator.clipboard.readText()") == link
        assert link.startswith(live_server.url) and "/join/" in link
        box = copy.bounding_box()
        assert box and box["x"] + box["width"] <= width, (width, box)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        # and without the script the link is still one click to select whole
        assert (
            page.evaluate("() => getComputedStyle(document.getElementById('invite-link')).userSelect")
            == "all"
        )
        sign_out(page)
