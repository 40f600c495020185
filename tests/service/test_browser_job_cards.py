"""A job's cards in headless Chromium on a phone (390 x 844) and a desktop (1440 x 900): what
every card of a section would say alike (product pixels unchanged, whose cutout, the
posters' checks passed) is said once under the section's heading (it was repeated on each of
nine posters); a card that differs says its own; no "Layout JSON" developer link; and a
running job's first try is not announced as "1 attempt" (from the second, the tries can be
opened, and stay open while the page polls)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from shop_assets.jobs.models import JobAttempt, JobStatus
from tests.service.browser import (
    BROWSER_MARKS,
    add_poster_layouts,
    job_with_assets,
    open_unfolded,
    shots_dir,
    sign_in,
    sign_out,
)

pytestmark = BROWSER_MARKS

MADE = {
    "fidelity": {"identical": True},
    "matte": {"source": "accepted", "trusted": True, "confidence": 0.93},
    "segmenter": "alpha",
}
CHECKED = {**MADE, "template": "hero_left", "checks": {"ok": True, "problems": []}}

# the words of every card and section note, as shown
CAPTIONS = """() => Object.fromEntries([...document.querySelectorAll('details.assets-section')].map(d => [
    d.id,
    {notes: [...d.querySelectorAll('[data-section-notes]')].map(p => p.innerText.trim()),
     cards: [...d.querySelectorAll('figure.asset figcaption')].map(f => f.innerText.trim())}]))"""


def _finished_job(product_image):
    job = job_with_assets(
        product_image,
        [
            ("cutout", "cutout", (600, 800), (30, 120, 80, 255), {**MADE, "engine": "cutout"}),
            ("packshot", "packshot", (800, 800), (255, 255, 255, 255), {**MADE, "engine": "packshot"}),
            (
                "scene",
                "scene-marble_counter-01",
                (800, 500),
                (200, 80, 60),
                {**MADE, "theme": "marble_counter"},
            ),
            (
                "scene",
                "scene-marble_counter-02",
                (800, 500),
                (60, 160, 90),
                {**MADE, "theme": "marble_counter"},
            ),
            ("poster", "poster-hero_left-story", (540, 960), (230, 200, 60), {**CHECKED, "size": "story"}),
            ("poster", "poster-hero_left-feed", (540, 540), (230, 200, 60), {**CHECKED, "size": "feed"}),
            (
                "poster",
                "poster-bold_sale-feed",
                (540, 540),
                (230, 90, 60),
                {
                    **CHECKED,
                    "template": "bold_sale",
                    "size": "feed",
                    "checks": {"ok": False, "problems": ["The price is hard to read."]},
                },
            ),
        ],
    )
    return add_poster_layouts(job)


def test_cards_say_once_what_they_share_and_show_merchants_no_layout_json(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job whose assets were all made from the accepted cutout, one poster
    # of which failed a check; and a job running its first try
    job = _finished_job(product_image)
    running = job_with_assets(product_image, [], status=JobStatus.RUNNING)
    JobAttempt.objects.create(job=running, number=1, started_at=timezone.now() - timedelta(seconds=20))
    page = browser_page
    shots = shots_dir(tmp_path)

    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)

        # when: the finished job's page is opened with every section unfolded
        open_unfolded(page, f"{live_server.url}/jobs/{job.pk}/")
        page.screenshot(path=str(shots / f"job-cards-{width}.png"), full_page=True)
        captions = page.evaluate(CAPTIONS)

        # then: each section says once what its cards share, and no card repeats it
        shared = "Product pixels unchanged · Your accepted cutout"
        assert captions["assets-cutout"]["notes"] == [f"All 2: {shared}"]
        assert captions["assets-scene"]["notes"] == [f"All 2: {shared}"]
        # (one poster failed a check: the checks are each poster's own)
        assert captions["assets-poster"]["notes"] == [f"All 3: {shared}"]
        cards = [c for section in captions.values() for c in section["cards"]]
        assert len(cards) == 7 and not any("pixels unchanged" in c for c in cards), cards
        posters = captions["assets-poster"]["cards"]
        assert sum("Text legible, clear of the product, inside safe zones" in c for c in posters) == 2
        assert sum("The price is hard to read." in c for c in posters) == 1
        # and the poster's layout file is not offered to the merchant (it is in the ZIP)
        assert "Layout JSON" not in page.locator("main").inner_text()
        expect(page.locator("figure[data-kind=poster] a", has_text="Edit words")).to_have_count(3)
        assert page.locator("#job-attempts").count() == 0

        # when: the running job's page is opened
        page.goto(f"{live_server.url}/jobs/{running.pk}/")
        expect(page.locator("#job-state")).to_have_text("Running")
        page.screenshot(path=str(shots / f"job-running-{width}.png"), full_page=True)

        # then: its first try is not counted out loud
        assert "attempt" not in page.locator("main").inner_text().lower()
        assert page.locator("#job-attempts").count() == 0

        # when: it is on its second try, the tries are there to open
        if width == 1440:
            JobAttempt.objects.filter(job=running).update(ended_at=timezone.now(), outcome="lost")
            JobAttempt.objects.create(job=running, number=2, started_at=timezone.now())
            page.reload()
            expect(page.locator("#job-attempts summary")).to_have_text("Tried 2 times")
            # and opened, they stay open while the page polls the job's status
            page.locator("#job-attempts summary").click()
            page.wait_for_timeout(2500)  # two polls at least
            assert page.locator("#job-attempts").evaluate("d => d.open")
            expect(page.locator("#job-attempts tbody tr")).to_have_count(2)
        sign_out(page)
