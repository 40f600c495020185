"""The dashboard on a phone (390 x 844) in headless Chromium, against the same pages on a
desktop (1280 x 800): the products and a job's pictures are thumbnails two to a row (a
picture opens the lightbox), the API keys are a card each with no value broken across
lines, and the campaign form's fields take the card's width."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from shop_assets.accounts.models import ApiKey
from shop_assets.catalog.models import Product
from shop_assets.webhooks.models import WebhookEndpoint
from tests.service.browser import BROWSER_MARKS, full_job, open_unfolded, running_batch, signed_in
from tests.service.test_browser_layout import _no_sideways_scroll
from tests.service.test_browser_pages_fit import CUT, LONG_URL

pytestmark = BROWSER_MARKS

DESKTOP = {"width": 1280, "height": 800}

# each asset card of a gallery as [left, top, width] in the page, grouped by gallery
GALLERIES = """sel => [...document.querySelectorAll(sel)].map(g => [...g.querySelectorAll(':scope > figure')]
    .map(f => { const r = f.getBoundingClientRect(); return [r.left, r.top + scrollY, r.width]; }))"""

# each product tile of a grid as [left, top, width] in the page
TILES = GALLERIES.replace("figure", ".tile")

# how many lines each element's words take
LINES = """els => els.map(el => { const range = document.createRange(); range.selectNodeContents(el);
    return new Set([...range.getClientRects()].filter(r => r.width >= 1).map(r => Math.round(r.bottom))).size; })"""


def _rows(cards: list[list[float]]) -> list[int]:
    """How many cards sit in each row of a gallery, top to bottom."""
    rows: dict[int, int] = {}
    for _, top, _ in cards:
        rows[round(top)] = rows.get(round(top), 0) + 1
    return [rows[top] for top in sorted(rows)]


def _section_screens(page, kind: str) -> float:
    return page.evaluate(
        "k => document.getElementById('assets-' + k).getBoundingClientRect().height / innerHeight", kind
    )


def test_a_jobs_pictures_are_two_to_a_row_on_a_phone_and_unchanged_on_a_desktop(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job with every output (a cutout and a packshot, 4 scenes, 3 posters
    # at each of 3 sizes: feed 1:1, story 9:16, link 1.91:1; 2 clips)
    job = full_job(product_image)
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path)

    # when: its page is opened on a phone with every section open
    open_unfolded(page, f"{live_server.url}/jobs/{job.pk}/")
    page.screenshot(path=str(shots / "phone-job-390.png"), full_page=True)

    # then: the pictures are two to a row; a template's square and tall posters two to a row
    # at one height (each as wide as its shape needs), its wide one (the link preview) a row
    # of its own; the clips one to a row
    content = page.evaluate("() => document.querySelector('main').clientWidth - 28")
    images = page.evaluate(GALLERIES, "#assets-cutout .gallery, #assets-scene .gallery")
    posters = page.evaluate(GALLERIES, "#assets-poster .gallery")
    clips = page.evaluate(GALLERIES, "#assets-clip .gallery")
    assert [_rows(g) for g in images] == [[2], [2, 2]]
    assert [_rows(g) for g in posters] == [[2, 1], [2, 1], [2, 1]]
    assert [_rows(g) for g in clips] == [[1, 1]]
    assert all(content / 2 - 10 < w <= content / 2 for g in images for _, _, w in g), images
    for feed, story, link in posters:  # (the cards' 2 px borders aside, widths by shape)
        assert (
            abs(feed[2] + story[2] + 10 - content) < 2
            and abs((story[2] - 2) / (feed[2] - 2) - 1080 / 1920) < 0.02
        )
        assert abs(link[2] - content) < 1, posters
    assert all(abs(w - content) < 1 for _, _, w in clips[0]), (clips, content)
    # and the story clip is at most 60 % of the screen tall (at the card's width: 640 px),
    # centred in its card, in its own shape; the square clip keeps the card's width
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#assets-clip .preview')].map(p => {
            const r = p.getBoundingClientRect(), c = p.parentElement.getBoundingClientRect();
            return [r.width, r.height, r.left - c.left, c.right - r.right]; })"""
    )
    (feed_w, feed_h, *feed_sides), (story_w, story_h, *story_sides) = sorted(boxes, key=lambda b: b[1])
    assert 0.55 * 844 < story_h <= 0.6 * 844 + 1 and abs(story_w / story_h - 1080 / 1920) < 0.01, boxes
    assert abs(story_sides[0] - story_sides[1]) < 1 and story_sides[0] > 30, boxes
    assert feed_w == feed_h and feed_sides[0] == feed_sides[1] < 2, boxes
    # and the posters are about three screens long, the scenes under one (5.8 and 2.4 at
    # one to a row)
    assert _section_screens(page, "poster") < 3.5
    assert _section_screens(page, "scene") < 1
    _no_sideways_scroll(page)

    # when: a poster's thumbnail is tapped
    page.locator("#assets-poster figure a[data-lightbox]").nth(1).click()

    # then: the lightbox shows it
    dialog = page.locator("dialog.lightbox")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".lightbox-caption")).to_contain_text("Poster")
    page.keyboard.press("Escape")

    # when: the same page is opened on a desktop
    page.set_viewport_size(DESKTOP)
    open_unfolded(page, f"{live_server.url}/jobs/{job.pk}/")
    page.screenshot(path=str(shots / "phone-job-1280.png"), full_page=True)

    # then: the galleries are as they were, up to four cards of at least 240 px to a row
    images = page.evaluate(GALLERIES, "#assets-cutout .gallery, #assets-scene .gallery")
    posters = page.evaluate(GALLERIES, "#assets-poster .gallery")
    assert [_rows(g) for g in images] == [[2], [4]]
    assert [_rows(g) for g in posters] == [[3], [3], [3]]
    assert all(w >= 240 for g in images + posters for _, _, w in g)
    _no_sideways_scroll(page)


def test_the_api_keys_are_a_card_each_on_a_phone_with_no_value_broken(
    live_server, browser_page, user, merchant, tmp_path
):
    # given: three keys, one used two days ago and one revoked
    ApiKey.issue(merchant, "Storefront sync key")
    used, _ = ApiKey.issue(merchant, "Nightly ERP export")
    ApiKey.objects.filter(pk=used.pk).update(last_used_at=timezone.now() - timedelta(days=2))
    revoked, _ = ApiKey.issue(merchant, "Old")
    ApiKey.objects.filter(pk=revoked.pk).update(revoked=True)
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path)

    # when: the API keys page is opened on a phone
    page.goto(f"{live_server.url}/settings/api-keys/")
    page.screenshot(path=str(shots / "phone-api-keys-390.png"), full_page=True)

    # then: each key's prefix, dates and last use are written on one line, each inside its
    # card and the window, and every Revoke button is whole on the screen
    values = page.locator("#api-keys td[data-label] > *")
    expect(values).to_have_count(9)
    assert page.evaluate(LINES, values.element_handles()) == [1] * 9
    card = page.locator("section.card:has(#api-keys)").bounding_box()
    for box in [values.nth(i).bounding_box() for i in range(9)]:
        assert card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"], (box, card)
    buttons = page.locator("#api-keys button:has-text('Revoke')")
    expect(buttons).to_have_count(2)
    for box in [buttons.nth(i).bounding_box() for i in range(2)]:
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"], box
    assert page.evaluate(
        "() => [...document.querySelectorAll('#api-keys td')].every(c => c.scrollWidth <= c.clientWidth)"
    )
    assert page.evaluate(CUT) == []
    _no_sideways_scroll(page)

    # when: the same page is opened on a desktop
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/settings/api-keys/")
    page.screenshot(path=str(shots / "phone-api-keys-1280.png"), full_page=True)

    # then: it is a table with its header, a row per key, still no value broken
    assert page.locator("#api-keys thead th").first.is_visible()
    assert page.evaluate(LINES, values.element_handles()) == [1] * 9
    tops = [values.nth(i).bounding_box()["y"] for i in range(3)]
    assert max(tops) - min(tops) < 4, tops


def test_the_campaign_forms_fields_are_full_width_on_a_phone(live_server, browser_page, user, tmp_path):
    # given: every output of the campaign form ticked, so each of its fields shows
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path)
    page.goto(f"{live_server.url}/batches/campaigns/new/")
    for box in page.locator("#campaign-form input[name=outputs]").all():
        box.check()
    fields = """() => { const form = document.getElementById('campaign-form'), s = getComputedStyle(form);
        const room = form.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        return [...form.querySelectorAll('input:not([type=checkbox]):not([type=radio]):not([type=hidden]), select, textarea')]
            .filter(f => f.getClientRects().length).map(f => [f.name, f.getBoundingClientRect().width / room]); }"""

    # when: the form is read on a phone
    page.screenshot(path=str(shots / "phone-campaign-390.png"), full_page=True)
    shares = page.evaluate(fields)

    # then: every field is at least 90% of the form's width
    assert len(shares) >= 15, shares
    assert [name for name, share in shares if share < 0.9] == []
    assert page.evaluate(CUT) == []
    _no_sideways_scroll(page)

    # when: the same form is read on a desktop
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / "phone-campaign-1280.png"), full_page=True)

    # then: the brand's colours share one row, its fonts and language another (the language
    # left the colours' row so that their help sits under them on a phone), a number's field short
    for row in (
        ["id_brand_primary", "id_brand_text"],
        ["id_brand_heading_family", "id_brand_body_family", "id_brand_locale"],
    ):
        tops = page.evaluate(
            "ids => ids.map(i => Math.round(document.getElementById(i).getBoundingClientRect().top))", row
        )
        assert len(set(tops)) == 1, (row, tops)
    assert page.locator("#id_seed").bounding_box()["width"] <= 160


def test_the_products_are_two_to_a_row_on_a_phone(live_server, browser_page, user, merchant, tmp_path):
    # given: three products
    for i in range(3):
        Product.objects.create(
            merchant=merchant, sku=f"MUG-00{i}", title=f"Mug {i}", price="12.00", currency="EUR"
        )
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path)

    # when: the products page is opened on a phone
    page.goto(f"{live_server.url}/")
    page.screenshot(path=str(shots / "phone-products-390.png"), full_page=True)

    # then: two tiles to a row, nothing cut
    assert [_rows(g) for g in page.evaluate(TILES, ".grid")] == [[2, 1]]
    assert page.evaluate(CUT) == []
    _no_sideways_scroll(page)

    # when: it is opened on a desktop, then: the three share a row
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/")
    assert [_rows(g) for g in page.evaluate(TILES, ".grid")] == [[3]]


def test_a_batchs_upload_time_is_one_line_on_a_phone_and_a_long_webhook_address_on_a_desktop(
    live_server, browser_page, user, merchant, tmp_path
):
    # given: a bulk import and a webhook endpoint with a 62-character address
    running_batch(merchant)
    WebhookEndpoint.objects.create(merchant=merchant, url=LONG_URL, events=["job.succeeded"])
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path)

    # when: the bulk import page is opened on a phone
    page.goto(f"{live_server.url}/batches/")
    page.screenshot(path=str(shots / "phone-batches-390.png"), full_page=True)

    # then: the batch's upload time is on one line (it wrapped after the date)
    when = page.locator("#batches .narrow-only.nowrap")
    expect(when).to_be_visible()
    assert page.evaluate(LINES, when.element_handles()) == [1]
    _no_sideways_scroll(page)

    # when: the webhooks page is opened on a desktop
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/webhooks/")
    page.screenshot(path=str(shots / "phone-webhooks-1280.png"), full_page=True)

    # then: the address is whole (not shortened) and on one line, the list two thirds wide
    link = page.locator(f"td a:has-text('{LONG_URL[:30]}')")
    expect(link).to_have_text(LONG_URL)
    assert page.evaluate(LINES, link.element_handles()) == [1]
    assert page.evaluate(CUT) == []
