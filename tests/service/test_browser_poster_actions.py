"""A poster card's actions (Download, Edit words, Regenerate) in headless Chromium: on a desktop
(1440 x 900) one row, each on one line (at four 273 px columns Regenerate went alone to a
second line); on a phone (390 x 844) each whole inside its card, on one line and a finger's
height."""

from __future__ import annotations

from tests.service.browser import (
    BROWSER_MARKS,
    add_poster_layouts,
    full_job,
    open_unfolded,
    shots_dir,
    sign_in,
    sign_out,
)

pytestmark = BROWSER_MARKS

# each poster card's actions: the text's line boxes, the action's box and the row's, against
# the card's box and the caption's line height
POSTER_ACTIONS = """() => [...document.querySelectorAll('figure[data-kind=poster]')].map(card => {
    const row = card.querySelector('figcaption .inline-list'), box = card.getBoundingClientRect();
    const line = parseFloat(getComputedStyle(row).lineHeight);
    return {line, row: row.getBoundingClientRect().height, left: box.left, right: box.right,
        actions: [...row.querySelectorAll('a, button')].map(el => {
            const range = document.createRange(); range.selectNodeContents(el);
            const r = el.getBoundingClientRect();
            return {text: el.textContent.trim(), lines: new Set([...range.getClientRects()].map(t => Math.round(t.top))).size,
                top: Math.round(r.top), height: r.height, left: r.left, right: r.right};
        })};
})"""


def test_a_poster_cards_actions_are_one_row_on_a_desktop_and_whole_on_a_phone(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job with three templates at three sizes, each poster with its layout
    job = add_poster_layouts(full_job(product_image))
    page = browser_page
    shots = shots_dir(tmp_path)

    for width, height in ((1440, 900), (390, 844)):
        # when: its page is opened with every section unfolded
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        open_unfolded(page, f"{live_server.url}/jobs/{job.pk}/")
        page.screenshot(path=str(shots / f"poster-actions-{width}.png"), full_page=True)
        cards = page.evaluate(POSTER_ACTIONS)

        # then: nine cards, each with its three actions, each action's words on one line
        assert len(cards) == 9
        for card in cards:
            assert [a["text"] for a in card["actions"]] == ["Download", "Edit words", "Regenerate"], card
            assert all(a["lines"] == 1 for a in card["actions"]), (width, card)
            assert all(card["left"] <= a["left"] and a["right"] <= card["right"] for a in card["actions"]), (
                card
            )
            if width == 1440:
                # one row: every action's height and the row's are one line
                assert len({a["top"] for a in card["actions"]}) == 1, card
                assert all(abs(a["height"] - card["line"]) < 1 for a in card["actions"]), card
                assert abs(card["row"] - card["line"]) < 1, card
            else:
                assert all(a["height"] >= 32 for a in card["actions"]), card
        sign_out(page)
