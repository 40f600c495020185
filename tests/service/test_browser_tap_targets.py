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
