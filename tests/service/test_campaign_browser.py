"""The campaign editor in headless Chromium: the live preview follows the form (HTMX),
options show for the ticked outputs only, and saving keeps what the preview showed."""

from __future__ import annotations

from shop_assets.bulk.models import Campaign
from tests.service.browser import BROWSER_MARKS, sign_in

pytestmark = BROWSER_MARKS


def test_the_editor_previews_live_and_saves(live_server, browser_page, user, product_image):
    page = browser_page
    sign_in(page, live_server.url)

    # when the editor opens, the preview renders on the first product with a photo
    page.goto(live_server.url + "/batches/campaigns/new/")
    page.locator("#preview-images [data-kind=packshot] img").wait_for(timeout=30_000)
    assert page.locator("#preview-images figure").count() == 2  # packshot and poster
    assert page.locator("fieldset[data-output=clip]").is_hidden()

    # when the headline rule changes, the preview follows
    page.fill("#id_name", "Browser sale")
    page.fill("#id_headline", "Only {price}: {title}")
    page.locator("#id_headline").dispatch_event("change")
    page.wait_for_function(
        "() => (document.querySelector('#preview-headline') || {}).textContent === 'Only $9.90: Hand wash'",
        timeout=30_000,
    )
    # a placeholder the rule does not know is named in the preview, before saving
    page.fill("#id_headline", "{colour}")
    page.locator("#id_headline").dispatch_event("change")
    page.locator("#preview-error").wait_for(timeout=30_000)
    assert "unknown placeholder {colour}" in page.locator("#preview-error").inner_text()

    page.fill("#id_headline", "Only {price}: {title}")
    page.click("button[name=save]")
    page.wait_for_selector("text=Campaign Browser sale saved.")
    campaign = Campaign.objects.get()
    assert campaign.headline == "Only {price}: {title}"
    assert campaign.request["outputs"] == ["packshot", "poster"]


def test_the_preview_stays_in_sight_beside_the_form_on_a_desktop(
    live_server, browser_page, user, product_image
):
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server.url)
    page.goto(live_server.url + "/batches/campaigns/new/")
    page.locator("#preview-images [data-kind=packshot] img").wait_for(timeout=30_000)

    # when: the merchant scrolls down the form to its poster templates and the product to show
    # it on (the form is 2-3 screens tall)
    page.locator("#id_preview_product").scroll_into_view_if_needed()
    box = page.locator("#campaign-preview").bounding_box()

    # then: the preview beside it is still on the screen (it was a card as tall as the form,
    # its pictures at the top, scrolled away), and only as tall as what it shows
    assert box is not None and 0 <= box["y"] <= 100, box
    images = page.locator("#preview-images").bounding_box()
    assert images is not None and box["y"] + box["height"] - (images["y"] + images["height"]) < 60
