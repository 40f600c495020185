"""Two things a merchant does by hand, walked live in headless Chromium on a desktop (1440 x
900) and a phone (390 x 844): a failed job retried from its page on a real worker, watched
until its assets are there; and a refused photo's cutout fixed with a box and strokes (a
mouse on the desktop, a finger on the phone), saved, and the job that waited for it going on
by itself."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from generation.check import MATTE_THRESHOLD
from generation.segment.metrics import iou
from shop_assets.catalog import masks
from shop_assets.catalog.models import Product
from shop_assets.catalog.services import add_product_image
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob, JobAttempt, JobStatus
from tests.conftest import WorkerProcess, jpeg_bytes, wait_for_job
from tests.photoset import make_case
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in, sign_out

pytestmark = BROWSER_MARKS

WIDTHS = ((1440, 900), (390, 844))
# every visible link and button of the job's status card, with its height
ACTIONS = """() => [...document.querySelectorAll('#job-status-inner .job-actions a, #job-status-inner .job-actions button')]
    .filter(el => el.offsetParent).map(el => [el.textContent.trim(), el.getBoundingClientRect().height])"""


def _failed_job(product_image) -> GenerationJob:
    """A packshot job that failed on its first try (its files could not be stored)."""
    job = job_requests.create_job(product_image.product, product_image, ["packshot"], {})
    started = timezone.now() - timedelta(minutes=3)
    GenerationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED,
        progress=80,
        progress_message="Failed",
        attempts=1,
        error_code="storage_unreachable",
        error_message="The files could not be stored; nothing was kept. Try again.",
        started_at=started,
        finished_at=started + timedelta(seconds=20),
    )
    JobAttempt.objects.create(
        job=job, number=1, started_at=started, ended_at=started + timedelta(seconds=20), outcome="failed"
    )
    return job


@pytest.mark.slow
def test_a_failed_job_retried_from_its_page_runs_again_and_shows_its_assets(
    live_server, browser_page, user, product_image, tmp_path, monkeypatch
):
    # given: two packshot jobs that failed (made while no task could be sent), and a worker
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    jobs = [_failed_job(product_image) for _ in WIDTHS]
    monkeypatch.undo()
    page = browser_page
    shots = shots_dir(tmp_path)
    worker = WorkerProcess()
    try:
        for (width, height), job in zip(WIDTHS, jobs, strict=True):
            page.set_viewport_size({"width": width, "height": height})
            sign_in(page, live_server.url)
            page.goto(f"{live_server.url}/jobs/{job.pk}/")
            page.screenshot(path=str(shots / f"retry-failed-{width}.png"), full_page=True)

            # then: the failed job says why, and offers Retry and Change settings, finger-sized
            expect(page.locator("#job-state")).to_have_text("Failed")
            expect(page.get_by_role("alert")).to_have_text(
                "The files could not be stored; nothing was kept. Try again."
            )
            actions = dict(page.evaluate(ACTIONS))
            assert set(actions) == {"Retry", "Change settings"}, actions
            assert min(actions.values()) >= 32, actions

            # when: Retry is pressed
            page.get_by_role("button", name="Retry").click()

            # then: the page says it is queued again, and follows the job to its end
            expect(page.locator("ul.messages li.success")).to_have_text(
                f"Job #{job.pk} is queued again with the same settings."
            )
            expect(page.locator("#job-state")).to_have_text("Succeeded", timeout=120_000)
            done = wait_for_job(job.pk)
            assert (done.status, done.error_message, done.error_code) == (JobStatus.SUCCEEDED, "", ""), (
                worker.output()
            )
            # with its packshot, whose picture arrives, and its two tries
            picture = page.locator("figure[data-kind=packshot] img")
            picture.scroll_into_view_if_needed()
            page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=picture.element_handle())
            expect(page.locator("#job-attempts summary")).to_have_text("Tried 2 times")
            assert list(done.attempt_log.values_list("number", "outcome")) == [(1, "failed"), (2, "ok")]
            assert page.get_by_role("button", name="Retry").count() == 0
            page.screenshot(path=str(shots / f"retry-done-{width}.png"), full_page=True)
            sign_out(page)
    finally:
        worker.stop()


def _refused_photo(merchant, sku: str, seed: int):
    """A candle on a styled set that the automatic cut refuses, uploaded to a product of its own."""
    case = make_case("busy_styled_set", seed=seed)
    product = Product.objects.create(merchant=merchant, sku=sku, title=f"Candle {sku}")
    image = add_product_image(product, jpeg_bytes(case.photo), filename="candle.jpg")
    masks.make_automatic_mask(image)
    image.truth, image.truth_box = case.mask, case.box
    return image


class Hand:
    """Draws on the cutout editor's canvas of ``image``: with the mouse, or with a finger
    (touch events sent through the DevTools protocol, which Chromium turns into the editor's
    pointer events as a phone's browser does)."""

    def __init__(self, page, image, touch: bool) -> None:
        self.page, self.image = page, image
        self.editor = page.locator(f"#cutout-{image.pk} [data-mask-editor]")
        canvas = self.editor.locator("canvas[data-draw]")
        canvas.scroll_into_view_if_needed()
        self.frame = canvas.bounding_box()
        self.scale = self.frame["width"] / image.width  # photo pixels to screen pixels
        self.cdp = page.context.new_cdp_session(page) if touch else None

    def _at(self, x: float, y: float) -> tuple[float, float]:
        return self.frame["x"] + x * self.scale, self.frame["y"] + y * self.scale

    def drag(self, points: list[tuple[float, float]]) -> None:
        screen = [self._at(*p) for p in points]
        if self.cdp is None:
            self.page.mouse.move(*screen[0])
            self.page.mouse.down()
            for p in screen[1:]:
                self.page.mouse.move(*p, steps=4)
            self.page.mouse.up()
            return
        self._touch("touchStart", [screen[0]])
        for (x0, y0), (x1, y1) in zip(screen, screen[1:], strict=False):
            for step in range(1, 5):
                self._touch("touchMove", [(x0 + (x1 - x0) * step / 4, y0 + (y1 - y0) * step / 4)])
        self._touch("touchEnd", [])

    def _touch(self, kind: str, points: list[tuple[float, float]]) -> None:
        assert self.cdp is not None
        self.cdp.send(
            "Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]}
        )

    def refreshed(self, count: int) -> None:
        """Waits for the editor's ``count``-th cutout from the server."""
        self.page.wait_for_function(
            "([id, n]) => { const e = document.querySelector(`#cutout-${id} [data-mask-editor]`);"
            " return e.dataset.refreshes === n && !e.dataset.busy; }",
            arg=[self.image.pk, str(count)],
        )


def test_a_refused_cutout_is_fixed_with_a_mouse_on_a_desktop_and_a_finger_on_a_phone(
    live_server, browser_page, user, merchant, tmp_path, monkeypatch
):
    shots = shots_dir(tmp_path)
    browser = browser_page.context.browser
    sent: list[int] = []
    for (width, height), touch in zip(WIDTHS, (False, True), strict=True):
        # given: a refused photo whose job waits for its cutout
        image = _refused_photo(merchant, f"CANDLE-{width}", seed=0)
        monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
        waiting = job_requests.create_job(image.product, image, ["cutout"], {})
        GenerationJob.objects.filter(pk=waiting.pk).update(status=JobStatus.NEEDS_REVIEW)
        sent.clear()
        monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: sent.append(job_id))
        context = browser.new_context(
            viewport={"width": width, "height": height},
            has_touch=touch,
            is_mobile=touch,
            device_scale_factor=2,
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            sign_in(page, live_server.url)
            page.goto(f"{live_server.url}/products/{image.product_id}/")
            card = page.locator(f"#cutout-{image.pk}")
            expect(card).to_have_attribute("data-state", "review")
            expect(card.locator(".cutout-info")).to_contain_text("The automatic cutout may be wrong")
            hand = Hand(page, image, touch)

            # when: a box is drawn around the candle and a keep stroke down its middle
            x, y, w, h = image.truth_box
            cx, cy = x + w / 2, y + h / 2
            page_top = page.evaluate("() => window.scrollY")
            hand.drag([(x - 12, y - 12), (x + w + 12, y + h + 12)])
            hand.refreshed(1)
            hand.editor.locator("[data-tool=keep]").click()
            hand.drag([(cx, cy - h / 4), (cx, cy + h / 4)])
            hand.refreshed(2)
            # (a stroke on the canvas never scrolls the page under the finger)
            assert page.evaluate("() => window.scrollY") == page_top

            # then: the fixed cutout shows beside the photo, said in words, and can be saved
            expect(hand.editor.locator("img[data-result]")).to_be_visible()
            assert float(hand.editor.get_attribute("data-confidence")) >= MATTE_THRESHOLD
            expect(hand.editor.locator("[data-result-status]")).to_have_text("Looks right.")
            save = hand.editor.locator("[data-save]")
            expect(save).to_be_enabled()
            page.screenshot(path=str(shots / f"strokes-{width}.png"), full_page=True)
            assert save.bounding_box()["height"] >= 32

            # when: it is saved
            save.click()
            expect(page.locator(f"#cutout-{image.pk}")).to_have_attribute("data-state", "accepted")
            page.screenshot(path=str(shots / f"strokes-saved-{width}.png"), full_page=True)

            # then: it is the photo's accepted cutout, close to the candle's true outline
            saved = masks.latest_accepted(image)
            assert saved.source == "refined" and saved.created_by == user
            matte = np.asarray(Image.open(io.BytesIO(masks.mask_png(saved))))
            assert iou(matte, image.truth.astype(np.uint8) * 255) > 0.95
            expect(page.locator(f"#cutout-{image.pk} .cutout-info")).to_contain_text(
                "Every new job of this photo uses it."
            )
            # and the job that waited for it is queued again by itself
            assert GenerationJob.objects.get(pk=waiting.pk).status == JobStatus.QUEUED and sent == [
                waiting.pk
            ]
        finally:
            context.close()
