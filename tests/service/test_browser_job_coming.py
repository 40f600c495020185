"""The job page in headless Chromium while its job runs: a card per output still being made.

Each output the job's request asks for has its place on the page from the start: a card
"being made" of its shape, where its asset will appear, replaced by the asset's own card
when it lands (nothing else moves); a job that ends takes any left away. Seen at 1440 x 900
and 390 x 844 (``SHOPASSETS_SCREENSHOTS`` keeps the shots).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob, JobStatus
from tests.service.browser import BROWSER_MARKS, PHONE, add_assets, signed_in
from tests.service.test_browser_layout import _no_sideways_scroll

pytestmark = BROWSER_MARKS

DESKTOP = {"width": 1440, "height": 900}
PARAMETERS = {
    "scene": {"theme": "marble_counter", "count": 2, "width": 1600, "height": 1000},
    "poster": {"templates": ["bold_sale", "hero_left"], "sizes": ["feed", "story"], "headline": "Fresh"},
}
POLLS = """() => performance.getEntriesByType('resource').filter(e => /\\/status\\//.test(e.name)).length"""


def _box(page, selector: str) -> dict:
    """Where ``selector``'s picture box is on the page (not the window), and its size."""
    return page.evaluate(
        """(selector) => { const r = document.querySelector(selector + ' .preview').getBoundingClientRect();
            return {top: Math.round(r.top + scrollY), left: Math.round(r.left), width: Math.round(r.width),
                    height: Math.round(r.height)}; }""",
        selector,
    )


def _coming(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('figure.being-made')].map(f => f.id)")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_each_output_has_its_place_while_it_is_made(
    live_server, browser_page, user, product_image, tmp_path, monkeypatch, viewport
):
    # given: a running job asked for a cutout, 2 scenes and 2 templates at 2 sizes, that has
    # made its cutout; its page open, every section unfolded
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    job = job_requests.create_job(
        product_image.product, product_image, ["cutout", "scene", "poster"], PARAMETERS
    )
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=30)
    add_assets(job, [("cutout", "cutout", (600, 800), (30, 120, 80, 255))])
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path, viewport)
    name = "desktop" if viewport is DESKTOP else "phone"
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")

    # then: every output still to come has a card "being made", in its section and place
    assert _coming(page) == [
        "coming-scene-marble_counter-01",
        "coming-scene-marble_counter-02",
        "coming-poster-bold_sale-feed",
        "coming-poster-bold_sale-story",
        "coming-poster-hero_left-feed",
        "coming-poster-hero_left-story",
    ]
    story = page.locator("#coming-poster-bold_sale-story")
    expect(story).to_contain_text("Being made")
    expect(story).to_contain_text("Story 9:16")
    expect(page.locator("#posters-bold_sale h3")).to_have_text("Bold sale")
    expect(page.locator("#coming-scene-marble_counter-02")).to_contain_text("Scene · Marble counter 2")
    expect(page.locator("#coming-scene-marble_counter-02")).to_contain_text("1600×1000 PNG")
    expect(page.locator("#assets-poster summary .count")).to_have_text("0")
    story_box = _box(page, "#coming-poster-bold_sale-story")
    scene_box = _box(page, "#coming-scene-marble_counter-01")
    assert abs(story_box["width"] / story_box["height"] - 1080 / 1920) < 0.02, story_box
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / f"{name}-job-being-made-1.png"), full_page=True)
    _no_sideways_scroll(page)

    # when: the worker records the first scene and bold_sale's story
    add_assets(
        job,
        [
            ("scene", "scene-marble_counter-01", (1600, 1000), (200, 80, 60), {"theme": "marble_counter"}),
            (
                "poster",
                "poster-bold_sale-story",
                (1080, 1920),
                (230, 200, 60),
                {"template": "bold_sale", "size": "story", "checks": {"ok": True}},
            ),
        ],
    )

    # then: their cards replace the ones being made, in the same place and size, and nothing
    # below them moves (a card being made is as tall as one made); the rest wait
    expect(page.locator("figure.being-made")).to_have_count(4)
    assert "coming-poster-bold_sale-story" not in _coming(page)
    made_story = page.locator("#assets-poster figure.asset")
    expect(made_story).to_have_count(1)
    expect(made_story).to_contain_text("Story 9:16")
    story_id = made_story.get_attribute("id")
    assert _box(page, f"#{story_id}") == story_box
    made_scene = page.locator("#assets-scene figure.asset")
    expect(made_scene).to_have_count(1)
    assert _box(page, f"#{made_scene.get_attribute('id')}") == scene_box
    order = page.evaluate(
        "() => [...document.querySelectorAll('#posters-bold_sale figure')].map(f => f.className)"
    )
    assert order == ["being-made", "asset"], order  # the feed post still before the story
    expect(page.locator("#assets-poster summary .count")).to_have_text("1")
    # and their pictures show
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.asset img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.screenshot(path=str(shots / f"{name}-job-being-made-2.png"), full_page=True)
    _no_sideways_scroll(page)

    # when: the job ends before the others are made
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error_message="Out of time")

    # then: no card is being made any more, what was made stays, and the polling stops
    expect(page.locator("#job-state")).to_have_text("Failed")
    expect(page.locator("figure.being-made")).to_have_count(0)
    expect(page.locator("#job-assets figure.asset")).to_have_count(3)
    polls = page.evaluate(POLLS)
    page.wait_for_timeout(2500)
    assert page.evaluate(POLLS) == polls


PLACES = """() => [...document.querySelectorAll('#assets-scene-cards > figure, #assets-poster-groups figure')]
    .map(f => { const r = f.querySelector('.preview').getBoundingClientRect();
                return [f.id, Math.round((r.top + scrollY) * 10) / 10, Math.round(r.left * 10) / 10,
                        Math.round(r.width * 10) / 10, Math.round(r.height * 10) / 10]; })"""


# the top of the first section, under the assets' head
SECTIONS_TOP = """() => Math.round((document.querySelector('details.assets-section').getBoundingClientRect().top
    + scrollY) * 10) / 10"""


def _shift(before: list, after: list) -> float:
    """How far the picture boxes moved or changed size, place by place (the largest, in px)."""
    assert len(before) == len(after), (before, after)
    return max(
        round(abs(a - b), 1)
        for old, new in zip(before, after, strict=True)
        for a, b in zip(old[1:], new[1:], strict=True)
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_card_moves_as_a_kinds_second_asset_lands_or_the_job_ends(
    live_server, browser_page, user, product_image, tmp_path, monkeypatch, viewport
):
    # given: a running job of 2 scenes and 2 templates at 2 sizes that has made its first
    # scene and bold_sale's story, each card saying its product's pixels are unchanged; its
    # page open, every section unfolded
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    job = job_requests.create_job(product_image.product, product_image, ["scene", "poster"], PARAMETERS)
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=30)
    add_assets(job, [_scene_made(1), _poster_made("bold_sale", "story")])
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path, viewport)
    name = "desktop" if viewport is DESKTOP else "phone"
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    expect(page.locator("figure.being-made")).to_have_count(4)
    expect(page.locator("#assets-scene figure.asset .fidelity")).to_contain_text("Product pixels unchanged")
    expect(page.locator("#assets-scene-compare button")).to_be_disabled()
    expect(page.locator("#assets-head button", has_text="Download all (ZIP)")).to_be_disabled()
    page.wait_for_load_state("networkidle")
    first = page.evaluate(PLACES)
    page.screenshot(path=str(shots / f"{name}-job-second-of-a-kind-1.png"), full_page=True)

    # when: the second scene and bold_sale's feed post land
    add_assets(job, [_scene_made(2), _poster_made("bold_sale", "feed")])
    expect(page.locator("figure.being-made")).to_have_count(2)
    expect(page.locator("#assets-scene-compare button")).to_be_enabled()
    page.wait_for_load_state("networkidle")
    second = page.evaluate(PLACES)
    page.screenshot(path=str(shots / f"{name}-job-second-of-a-kind-2.png"), full_page=True)

    # then: every card's picture is where it was, of its size: each card keeps its own line
    # while the job runs (no line folds into the heading above them), and the compare row
    # under the scenes was there, waiting, from the start
    assert [p[0] for p in second] != [p[0] for p in first]  # cards being made were replaced
    assert _shift(first, second) == 0, (first, second)
    expect(page.locator("#assets-scene figure.asset .fidelity")).to_have_count(2)
    expect(page.locator("[data-section-notes]")).to_have_count(0)

    # when: the rest land and the job ends
    add_assets(job, [_poster_made("hero_left", "feed"), _poster_made("hero_left", "story")])
    expect(page.locator("figure.being-made")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    made = page.evaluate(PLACES)
    sections_top = page.evaluate(SECTIONS_TOP)
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, progress=100)
    expect(page.locator("#job-state")).to_have_text("Succeeded")
    expect(page.locator("#assets-head a", has_text="Download all")).to_have_count(1)
    page.wait_for_load_state("networkidle")
    ended = page.evaluate(PLACES)
    lift = page.evaluate(SECTIONS_TOP) - sections_top
    page.screenshot(path=str(shots / f"{name}-job-second-of-a-kind-3.png"), full_page=True)

    # then: nothing above the sections moved them (the status card's Cancel button gave its
    # place to "Make more with changes", and "Download all (ZIP)" was there, disabled, while
    # the job ran: 40.4 px up on a desktop and 32.4 on a phone before), and no card moved in
    # its section (no line folded into a heading)
    assert abs(lift) < 0.5, lift
    assert _shift(made, ended) == 0, (made, ended)
    expect(page.locator("#job-status-inner a", has_text="Make more with changes")).to_have_count(1)

    # and: the job's page opened again says what all of a section's cards share once, under
    # its heading
    page.reload()
    expect(page.locator("#assets-scene-notes")).to_have_text(re.compile(r"^All 2: Product pixels unchanged"))
    expect(page.locator("#assets-poster-notes")).to_have_text(re.compile(r"^All 4: Product pixels unchanged"))
    expect(page.locator("#assets-scene figure.asset .fidelity")).to_have_count(0)


KEPT = {
    "fidelity": {"identical": True},
    "matte": {"source": "accepted", "trusted": True},
    "segmenter": "alpha",
}


def _scene_made(n: int) -> tuple:
    colour = (200, 80, 60) if n % 2 else (60, 160, 90)
    return (
        "scene",
        f"scene-marble_counter-{n:02d}",
        (1600, 1000),
        colour,
        {"theme": "marble_counter", **KEPT},
    )


def _poster_made(template: str, size: str) -> tuple:
    shape = {"feed": (1080, 1080), "story": (1080, 1920)}[size]
    metrics = {"template": template, "size": size, "checks": {"ok": True}, **KEPT}
    return ("poster", f"poster-{template}-{size}", shape, (230, 200, 60), metrics)
