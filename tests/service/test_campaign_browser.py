"""The campaign editor in headless Chromium: the live preview follows the form (HTMX),
options show for the ticked outputs only, and saving keeps what the preview showed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from generation.posters.template import list_templates
from shop_assets.bulk.models import Campaign
from shop_assets.dashboard.labels import template_description, template_label
from shop_assets.dashboard.previews import build_template_previews
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in
from tests.service.test_browser_walk import CUT_SELECTS

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


def test_poster_templates_are_picked_from_their_previews(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: the template previews built (a no-op when install already drew them)
    build_template_previews()
    page = browser_page
    shots = shots_dir(tmp_path)
    sign_in(page, live_server.url)

    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        # when: the campaign editor opens at its poster templates
        page.goto(live_server.url + "/batches/campaigns/new/")
        picks = page.locator("#campaign-form .template-pick")
        picks.first.scroll_into_view_if_needed()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"campaign-templates-{width}.png"), full_page=True)

        # then: every template shows its preview (loaded, described in words), as on the new-job form
        assert picks.count() == len(list_templates())
        # one group, named as the list above it is, for a screen reader
        expect(page.get_by_role("group", name="Poster templates").get_by_role("checkbox")).to_have_count(
            len(list_templates())
        )
        for name in list_templates():
            pick = page.locator(f"#campaign-form .template-pick:has(input[value={name}])")
            img = pick.locator("img")
            assert img.get_attribute("src").endswith(f"/dashboard/previews/{name}.webp")
            assert img.evaluate("i => i.complete && i.naturalWidth") > 0, name
            assert img.get_attribute("alt") == template_description(name)
            # the tick box is named by the template first, and sits under its picture
            expect(
                page.get_by_role("checkbox", name=re.compile("^" + re.escape(template_label(name))))
            ).to_be_visible()
            box, pic = pick.locator("input").bounding_box(), img.bounding_box()
            assert box is not None and pic is not None and box["y"] >= pic["y"] + pic["height"], (width, name)
            assert pic["width"] >= 100, (width, name, pic)
        assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), width

        # and a tap on a picture ticks its template, and the saved campaign keeps it
        page.locator("#campaign-form .template-pick:has(input[value=bold_sale]) img").click()
        expect(page.locator("input[name=poster_templates][value=bold_sale]")).to_be_checked()

    page.fill("#id_name", "Picked")
    page.click("button[name=save]")
    page.wait_for_selector("text=Campaign Picked saved.")
    assert set(Campaign.objects.get().request["poster"]["templates"]) == {"hero_left", "bold_sale"}


# a help text, the fields it describes (aria-describedby) and the fields drawn just above it
# (those whose bottom is the lowest above the help: a row of fields side by side, or one)
HELP_UNDER = """id => { const help = document.getElementById(id), top = help.getBoundingClientRect().top;
    const fields = [...help.closest('form').querySelectorAll('input, select, textarea')].filter(f =>
        f.offsetParent && f.type !== 'hidden' && f.getBoundingClientRect().bottom <= top + 1);
    const lowest = Math.max(...fields.map(f => f.getBoundingClientRect().bottom));
    return {described: [...document.querySelectorAll(`[aria-describedby~="${id}"]`)].map(f => f.name),
            above: fields.filter(f => f.getBoundingClientRect().bottom >= lowest - 1).map(f => f.name),
            gap: top - lowest}; }"""


def test_each_help_text_sits_under_the_fields_it_is_about(
    live_server, browser_page, user, product_image, tmp_path
):
    page = browser_page
    shots = shots_dir(tmp_path)
    sign_in(page, live_server.url)
    for width, height in ((1440, 900), (390, 844)):
        # when: the editor opens
        page.set_viewport_size({"width": width, "height": height})
        page.goto(live_server.url + "/batches/campaigns/new/")
        page.locator("#brand-colour-help").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"campaign-help-{width}.png"), full_page=True)
        # then: "Colours as #rrggbb" sits right under the colour fields (on a phone it sat under
        # Language) and "Another number makes another take" under the variation number (it sat
        # under File format); the fields name their help for a screen reader
        for help_id, fields in (
            ("brand-colour-help", ["brand_primary", "brand_text"]),
            ("seed-help", ["seed"]),
        ):
            found = page.evaluate(HELP_UNDER, help_id)
            assert found["described"] == fields, (width, help_id, found)
            assert set(found["above"]) & set(fields) and found["gap"] < 12, (width, help_id, found)
            if width < 760:  # one field a row: the one just above is one it describes
                assert set(found["above"]) <= set(fields), (width, help_id, found)
        # and the fonts' row, with Language now beside them, still shows every choice whole
        for name in ("brand_heading_family", "brand_body_family", "brand_locale"):
            for value in page.eval_on_selector_all(f"#id_{name} option", "os => os.map(o => o.value)"):
                page.select_option(f"#id_{name}", value)
                assert page.evaluate(CUT_SELECTS) == [], (width, name, value)


def test_a_refused_save_says_why_at_the_top_and_leads_to_the_field(
    live_server, browser_page, user, product_image, tmp_path
):
    page = browser_page
    shots = shots_dir(tmp_path)
    sign_in(page, live_server.url)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        # when: the merchant saves a campaign with a colour that is not #rrggbb
        page.goto(live_server.url + "/batches/campaigns/new/")
        page.fill("#id_name", "Autumn")
        page.fill("#id_brand_primary", "red")
        page.click("button[name=save]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"campaign-refused-{width}.png"))

        # then: the first screen says what to change (it was 3,000-3,500 px down, by the
        # Live preview: on a phone the page seemed to reload and do nothing)
        problems = page.locator("#campaign-form").get_by_role("alert").filter(has_text="Primary colour")
        expect(problems).to_have_count(1)
        box = problems.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, (width, box)
        assert "Use a colour like #2f5d50." in problems.inner_text()
        # and its link leads to the field, on screen and marked
        problems.get_by_role("link", name="Primary colour").click()
        field = page.locator("#id_brand_primary")
        expect(field).to_be_focused()
        expect(field).to_be_in_viewport()
        expect(page.locator("label[for=id_brand_primary]")).to_be_in_viewport()  # its name too
        expect(field).to_have_attribute("aria-invalid", "true")
        assert field.evaluate("e => getComputedStyle(e).borderTopColor") == "rgb(180, 35, 24)"  # --err
        page.screenshot(path=str(shots / f"campaign-refused-field-{width}.png"))
        assert not Campaign.objects.exists()
