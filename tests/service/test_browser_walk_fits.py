"""What a merchant walking the dashboard at 390 and 1440 px saw out of place: on a phone a
batch's file name broken inside ("catalogue.cs / v") and its status pill in two ("Waiting for /
confirmation"), and a note running around its button ("Upload and preview Nothing changes in /
your catalogue…", the same beside "Swipe through all 4 scenes"); on a desktop the team list
stretched to the height of the form beside it and a square clip's card to a story clip's."""

from __future__ import annotations

import io

from shop_assets.accounts.models import User
from shop_assets.bulk import fanout, imports
from tests.bulk_files import simple_csv
from tests.service.browser import BROWSER_MARKS, full_job, open_unfolded, shots_dir, sign_in

pytestmark = BROWSER_MARKS

# the tops of an element's line boxes, and the lefts at which its lines start
LINES = """els => els.map(el => { const range = document.createRange(); range.selectNodeContents(el);
    const rects = [...range.getClientRects()];
    return {text: el.textContent.trim(), tops: [...new Set(rects.map(r => Math.round(r.top)))].length,
        lefts: [...new Set(rects.map(r => Math.round(r.left)))].length}; })"""
HEIGHT = "el => el.getBoundingClientRect().height"


def _notes_beside_buttons(page) -> list[dict]:
    return page.evaluate(LINES, page.locator("main button + span.muted").element_handles())


def test_names_and_notes_are_whole_on_a_phone_and_cards_keep_their_height_on_a_desktop(
    live_server, browser_page, user, merchant, product_image, tmp_path
):
    # given: a finished job with every output, two bulk imports (one waiting for confirmation)
    # and a colleague
    job = full_job(product_image)
    rows = [{"sku": "MUG-001", "title": "Stoneware mug"}, {"sku": "VASE-02", "title": "Glazed vase"}]
    importing = imports.preview_batch(merchant, io.BytesIO(simple_csv(rows)), "catalogue.csv")
    fanout.confirm_batch(importing)
    imports.preview_batch(merchant, io.BytesIO(simple_csv(rows[:1])), "one.csv")
    User.objects.create_user("lin.wei.packaging", password="pw-lin-123456", merchant=merchant)
    page = browser_page
    shots = shots_dir(tmp_path)

    # when: the bulk import page is opened on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/batches/")
    page.screenshot(path=str(shots / "walk-batches-390.png"), full_page=True)

    # then: each file name and status is one line, and the note under the button is one block
    files = page.evaluate(
        "() => [...document.querySelectorAll('#batches td.anywhere')].map(td => td.firstChild.textContent.trim())"
    )
    assert files == ["one.csv", "catalogue.csv"]
    names = page.evaluate(
        """() => [...document.querySelectorAll('#batches td.anywhere')].map(td => {
            const range = document.createRange(); range.setStart(td.firstChild, 0); range.setEnd(td.firstChild, td.firstChild.length);
            return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; })"""
    )
    assert names == [1, 1], names
    statuses = page.evaluate(LINES, page.locator("#batches span.status").element_handles())
    shown = [s for s in statuses if s["tops"]]
    assert [s["text"] for s in shown] == ["Waiting for confirmation", "Importing"], statuses
    assert all(s["tops"] == 1 for s in shown), statuses
    notes = _notes_beside_buttons(page)
    assert [n["text"][:16] for n in notes] == ["Nothing changes "] and notes[0]["lefts"] == 1, notes

    # when: the job's page is opened on the phone
    open_unfolded(page, f"{live_server.url}/jobs/{job.pk}/")
    # then: the note beside the compare button is one block too
    notes = _notes_beside_buttons(page)
    assert [n["text"][:9] for n in notes] == ["Tick two "] and notes[0]["lefts"] == 1, notes

    # when: the job's page and the team page are opened on a desktop
    page.set_viewport_size({"width": 1440, "height": 900})
    open_unfolded(page, f"{live_server.url}/jobs/{job.pk}/")
    page.screenshot(path=str(shots / "walk-job-1440.png"), full_page=True)
    clips = [page.locator("#assets-clip figure").nth(i).evaluate(HEIGHT) for i in range(2)]
    previews = [page.locator("#assets-clip figure .preview").nth(i).evaluate(HEIGHT) for i in range(2)]
    page.goto(f"{live_server.url}/settings/team/")
    page.screenshot(path=str(shots / "walk-team-1440.png"), full_page=True)
    people, form = (page.locator(".two > .card").nth(i).evaluate(HEIGHT) for i in range(2))

    # then: the square clip's card is its own height (the story's preview is taller by as
    # much), and the team list is as tall as its two people, not the form beside it
    square, story = sorted(zip(clips, previews, strict=True))
    assert abs((story[0] - square[0]) - (story[1] - square[1])) < 2, (clips, previews)
    assert people < form / 2, (people, form)
