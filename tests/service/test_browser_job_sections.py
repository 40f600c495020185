"""A full job's page in headless Chromium: on a phone its assets are sections per output kind
with their counts, only the first open, so the page is a few screens instead of a dozen; on a
desktop every section is open. The compare button says what it does at each width, and a
clip's caption speaks a merchant's words, not the codec's."""

from __future__ import annotations

from playwright.sync_api import expect

from shop_assets.jobs.models import GenerationJob, JobStatus
from tests.service.browser import (
    BROWSER_MARKS,
    PHONE,
    add_assets,
    full_job,
    full_job_specs,
    job_with_assets,
    sign_in,
    signed_in,
)
from tests.service.test_browser_layout import _no_sideways_scroll

pytestmark = BROWSER_MARKS

DESKTOP = {"width": 1366, "height": 900}

SECTIONS = """() => [...document.querySelectorAll('details.assets-section')].map(d => ({
    title: d.querySelector('summary h2').firstChild.textContent.trim(),
    count: d.querySelector('summary .count').textContent.trim(),
    open: d.open,
    cards: d.querySelectorAll('figure.asset').length }))"""


def _kb(size: int) -> str:
    """A file of a few kilobytes' size as a person reads it: "3.4 KB" (a no-break space)."""
    assert 1024 <= size < 1024 * 1024, size
    return f"{size / 1024:.1f}\u00a0KB"


def _screens(page) -> float:
    """The page's height in screens of the window."""
    return page.evaluate("() => document.documentElement.scrollHeight / window.innerHeight")


def test_a_full_job_on_a_phone_is_sections_with_counts_and_only_the_first_open(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job with every output (2 image files, 4 scenes, 9 posters, 2 clips)
    job = full_job(product_image)
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path)

    # when: its page is opened on a phone
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / "phone-job-sections.png"), full_page=True)

    # then: one section per output kind, each with its count, only the first open
    assert page.evaluate(SECTIONS) == [
        {"title": "Cutout and packshot", "count": "2", "open": True, "cards": 2},
        {"title": "Scenes", "count": "4", "open": False, "cards": 4},
        {"title": "Posters", "count": "9", "open": False, "cards": 9},
        {"title": "Clips", "count": "2", "open": False, "cards": 2},
    ]
    # and the page is a few screens long (a dozen with every asset shown)
    folded = _screens(page)
    assert folded < 3, folded
    _no_sideways_scroll(page)

    # when: the Posters heading is tapped
    page.locator("details.assets-section summary", has_text="Posters").click()

    # then: its posters show, headed by size, and the other closed sections stay closed
    posters = page.locator("details.assets-section#assets-poster")
    expect(posters.locator("figure.asset").first).to_be_visible()
    expect(posters.locator("h3")).to_have_count(3)
    assert [s["open"] for s in page.evaluate(SECTIONS)] == [True, False, True, False]

    # and with every section opened the page is as long as before folding it
    page.evaluate(
        "() => document.querySelectorAll('details.assets-section').forEach(d => { d.open = true; })"
    )
    unfolded = _screens(page)
    print(f"phone job page: {unfolded:.1f} screens with every section open, {folded:.1f} folded")
    assert unfolded > 3 * folded

    # and on a desktop every section is open, side by side in rows as before
    page.set_viewport_size(DESKTOP)
    page.reload()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / "desktop-job-sections.png"), full_page=True)
    assert [s["open"] for s in page.evaluate(SECTIONS)] == [True, True, True, True]
    rows = page.evaluate(
        """() => new Set([...document.querySelectorAll('#assets-scene figure.asset')].map(
            f => Math.round(f.getBoundingClientRect().top))).size"""
    )
    assert rows == 1, rows
    _no_sideways_scroll(page)


def test_a_gallery_that_arrives_by_polling_on_a_phone_arrives_folded_too(
    live_server, browser_page, user, product_image
):
    # given: a job still running that has made nothing yet, its page open on a phone
    job = job_with_assets(product_image, [], JobStatus.RUNNING)
    page = browser_page
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    assert page.evaluate(SECTIONS) == []

    # when: its worker makes every output and the page's polling brings them
    add_assets(job, full_job_specs())
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, progress=100)
    page.locator("details.assets-section").nth(3).wait_for()

    # then: only its first section is open
    assert [s["open"] for s in page.evaluate(SECTIONS)] == [True, False, False, False]


def test_without_script_every_section_is_open(live_server, browser_page, user, product_image):
    # given: a full job, and a phone whose browser runs no script
    job = full_job(product_image)
    context = browser_page.context.browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_server.url)

    # when: the job's page is opened
    page.goto(f"{live_server.url}/jobs/{job.pk}/")

    # then: every section is open (nothing hidden that no script can show)
    assert [s["open"] for s in page.evaluate(SECTIONS)] == [True, True, True, True]
    context.close()


def test_the_compare_button_says_side_by_side_on_a_desktop_and_swipe_on_a_phone(
    live_server, browser_page, user, product_image
):
    # given: a full job (four scenes)
    job = full_job(product_image)
    page = browser_page
    sign_in(page, live_server.url)
    button = page.locator("[data-compare-button]")

    for viewport, every, two in (
        (DESKTOP, "Compare all 4 scenes side by side", "Compare 2 scenes side by side"),
        (PHONE, "Swipe through all 4 scenes", "Swipe through 2 scenes"),
    ):
        # when: the page is opened at that width, and then two scenes are ticked
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/jobs/{job.pk}/")
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")

        # then: the button names what it does there, by what it shows and by its name
        expect(button).to_have_text(every, use_inner_text=True)
        expect(page.get_by_role("button", name=every)).to_have_count(1)
        boxes = page.locator("input[data-compare]")
        boxes.nth(0).check()
        boxes.nth(3).check()
        expect(button).to_have_text(two, use_inner_text=True)
        expect(page.get_by_role("button", name=two)).to_have_count(1)

        # and it does what it says: side by side in one row, or a strip of one scene a screen
        button.click()
        figures = page.locator("dialog.lightbox .lightbox-stage.compare figure")
        expect(figures).to_have_count(2)
        width = page.evaluate("() => document.querySelector('.lightbox-stage').clientWidth")
        first = figures.nth(0).bounding_box()
        if viewport is PHONE:
            assert abs(first["width"] - width) < 1, (first, width)
        else:
            assert first["width"] < width / 2, (first, width)
        page.keyboard.press("Escape")


def test_a_clips_caption_gives_length_size_file_and_sound_not_the_codec(
    live_server, browser_page, user, product_image
):
    # given: a full job, whose clips are 8 s silent and 6 s with sound
    job = full_job(product_image)
    clips = {a.name: a for a in job.assets.filter(kind="clip")}
    page = browser_page
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url)

    # when: its page is opened
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    captions = page.locator("figure[data-kind=clip] figcaption .clip-facts")

    # then: each clip is described in words: length, picture size, kind of file, sound, file size
    expect(captions).to_have_count(2)
    story, feed = (_kb(clips[name].size_bytes) for name in ("clip-parallax-story", "clip-parallax-feed"))
    # (the spaces around each "·" do not break: no "·" starts or ends a line)
    spaced = [captions.nth(i).inner_text().replace("\xa0", " ") for i in (0, 1)]
    assert spaced[0] == f"6 s · 1080×1080 · MP4 video with sound · {feed}".replace("\xa0", " ")
    assert spaced[1] == f"8 s · 1080×1920 · MP4 video without sound · {story}".replace("\xa0", " ")
    text = page.locator("#assets-clip").inner_text()
    assert "h264" not in text and "fps" not in text
