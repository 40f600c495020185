"""A job page whose session expired, in headless Chromium at 1440 x 900 and 390 x 844: its
status poll and the pictures it asks for are refused with a plain 403 that sets no cookie
(no sign-in page swapped into the page, the browser's CSRF and session cookies untouched,
so a sign-in in another tab keeps its own); opening a page still leads to the sign-in
page, and signing in brings the merchant back to it."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from shop_assets.jobs.models import JobStatus
from tests.service.browser import BROWSER_MARKS, PHONE, job_with_assets, sign_out, signed_in

pytestmark = BROWSER_MARKS

DESKTOP = {"width": 1440, "height": 900}


def _cookies(page) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies()}


def test_a_page_whose_session_expired_asks_for_nothing_that_sets_a_cookie(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a running job with a packshot made
    job = job_with_assets(
        product_image, [("packshot", "packshot", (800, 800), (250, 250, 250, 255))], JobStatus.RUNNING
    )
    page = browser_page
    url = f"{live_server.url}/jobs/{job.pk}/"
    asset = job.assets.get()
    for viewport in (DESKTOP, PHONE):
        # given: its page open, polling, when the session expires
        shots = signed_in(page, live_server.url, tmp_path, viewport)
        page.goto(url)
        page.wait_for_selector("#job-assets figure.asset img")
        page.wait_for_load_state("networkidle")
        before = _cookies(page)
        Session.objects.all().delete()

        # when: the page polls, and asks for a picture it has not shown yet
        with page.expect_response(lambda r: "/status/" in r.url and r.status == 403):
            pass  # the poll that went out before the session ended may still have been let in
        answers: list[tuple[str, int, str | None]] = []

        def answered(response, answers=answers) -> None:
            answers.append((response.url, response.status, response.header_value("set-cookie")))

        page.on("response", answered)
        with page.expect_response(lambda r: "/thumbnail/960/" in r.url) as pictured:
            page.evaluate(
                "(src) => { const img = new Image(); img.src = src; document.body.append(img); }",
                f"/assets/{asset.pk}/thumbnail/960/",
            )
        page.wait_for_timeout(2500)  # two polls more
        page.remove_listener("response", answered)

        # then: both are refused plainly, nothing the page asked for set a cookie, no
        # sign-in page is in the job page, and the browser's cookies are as they were
        assert pictured.value.status == 403
        assert sum("/status/" in u for u, _, _ in answers) >= 2, answers
        assert all(status == 403 for _, status, _ in answers), answers
        assert [a for a in answers if a[2]] == []
        assert page.url == url and page.locator("#id_username").count() == 0
        assert page.locator("#job-status-inner").count() == 1
        assert _cookies(page) == before

        # and: the status card says so, with a way to sign in
        said = page.locator("#job-status-inner [data-signed-out]")
        assert said.count() == 1
        assert said.inner_text().startswith("You are signed out. Sign in again to continue.")
        page.screenshot(path=str(shots / f"job-signed-out-{viewport['width']}.png"))

        # when: the merchant follows it
        said.get_by_role("link", name="Sign in").click()

        # then: the sign-in page, which brings them back to the job
        page.wait_for_url(f"{live_server.url}/login/?next=/jobs/{job.pk}/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "pw-alice-123")
        page.click("button[type=submit]")
        page.wait_for_url(url)
        expect(page.locator("#job-state")).to_have_text("Running")
        assert page.locator("[data-signed-out]").count() == 0
        sign_out(page)
