"""A refused new-job form says what to change where the merchant looks when the page comes
back: the list stood under the form's last fieldset, by Start, 1,000-3,000 px down; on a phone
the product's photos came first and the page seemed to do nothing."""

from __future__ import annotations

from playwright.sync_api import expect

from shop_assets.jobs.models import GenerationJob
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in

pytestmark = BROWSER_MARKS


def test_a_refused_job_says_why_on_the_first_screen_and_leads_to_the_field(
    live_server, browser_page, user, product_image, tmp_path
):
    page = browser_page
    shots = shots_dir(tmp_path)
    sign_in(page, live_server.url)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        # when: a clip is asked for with a call to action too long for a clip's button
        page.goto(f"{live_server.url}/products/{product_image.product_id}/")
        page.wait_for_load_state("networkidle")
        page.check("input[name=outputs][value=clip]")
        page.fill("#id_cta", "Order today and get free shipping now")
        page.click("#job-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"job-refused-{width}.png"))

        # then: what to change is on the screen as the page comes back
        problems = page.locator("#job-form").get_by_role("alert").filter(has_text="Call to action")
        expect(problems).to_have_count(1)
        expect(problems).to_be_in_viewport()
        assert "at most 32 characters" in problems.inner_text()
        # and its link leads to the box, on screen and marked
        problems.get_by_role("link", name="Call to action").click()
        field = page.locator("#id_cta")
        expect(field).to_be_focused()
        expect(field).to_be_in_viewport()
        expect(page.locator("label[for=id_cta]")).to_be_in_viewport()  # its name too, not scrolled past
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_value("Order today and get free shipping now")
        page.screenshot(path=str(shots / f"job-refused-field-{width}.png"))
    assert not GenerationJob.objects.exists()
