"""The job page's status poll, and its cards for the outputs still being made.

A running job's page polls its status every second. The poll says what its page shows
(``?have=``, the mark the last answer gave it): while that is still so the answer is the
status alone, not the whole gallery again; when an asset lands, a poster is found
impossible or the job ends, it brings the gallery for ``job_assets.js`` to merge.
While the job runs, each output its request asks for and not yet made has a card
"being made" in its place; a job that ends has none.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob, JobStatus
from tests.service.browser import add_assets

pytestmark = pytest.mark.django_db(transaction=True)

POSTERS = {"templates": ["bold_sale", "hero_left"], "sizes": ["story", "feed"], "headline": "Fresh"}


def _running_job(product_image, monkeypatch, outputs, parameters):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    job = job_requests.create_job(product_image.product, product_image, outputs, parameters)
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=40)
    return GenerationJob.objects.get(pk=job.pk)


def _poll(client, job, have=None):
    url = reverse("dashboard:job_progress", args=[job.pk])
    response = client.get(url, {"have": have} if have is not None else {})
    assert response.status_code == 200
    return response.content.decode()


def _mark(body: str) -> str:
    found = re.search(r'hx-get="[^"]*\?have=([0-9a-f]+)"', body)
    assert found, body[:400]
    return found.group(1)


def _scene(n: int, colour=(200, 80, 60)) -> tuple:
    return ("scene", f"scene-marble_counter-{n:02d}", (64, 64), colour, {"theme": "marble_counter"})


def _poster(template: str, size: str, shape=(54, 96)) -> tuple:
    return (
        "poster",
        f"poster-{template}-{size}",
        shape,
        (230, 200, 60),
        {"template": template, "size": size},
    )


def test_a_poll_whose_page_shows_every_asset_gets_the_status_alone(signed_in, product_image, monkeypatch):
    # given: a running job that has made 15 assets, its page's first poll answered
    job = _running_job(
        product_image,
        monkeypatch,
        ["cutout", "scene"],
        {"scene": {"theme": "marble_counter", "count": 16, "width": 512, "height": 512}},
    )
    add_assets(job, [("cutout", "cutout", (48, 64), (30, 120, 80, 255))] + [_scene(n) for n in range(1, 15)])
    first = _poll(signed_in, job)
    assert first.count('class="asset"') == 15
    mark = _mark(first)

    # when: the page polls again, saying what it shows, and nothing was made meanwhile
    quiet = _poll(signed_in, job, have=mark)

    # then: the status alone, polling on with the same mark; no card rendered again
    assert 'id="job-status-inner"' in quiet and 'hx-trigger="every 1s"' in quiet
    assert 'aria-valuenow="40"' in quiet
    assert 'id="job-assets"' not in quiet and "<figure" not in quiet
    assert _mark(quiet) == mark
    assert len(quiet) * 5 < len(first), (len(quiet), len(first))

    # when: the 16th scene lands
    add_assets(job, [_scene(15, (60, 160, 90))])
    landed = _poll(signed_in, job, have=mark)

    # then: the gallery comes with it, the new card in it, and a new mark
    assert 'id="job-assets"' in landed and 'hx-swap-oob="outerHTML"' in landed
    assert landed.count('class="asset"') == 16
    assert 'data-kind="scene"' in landed
    assert _mark(landed) != mark
    assert 'id="job-assets"' not in _poll(signed_in, job, have=_mark(landed))


def test_a_stale_or_absent_mark_gets_the_gallery(signed_in, product_image, monkeypatch):
    # given: a running job with a cutout
    job = _running_job(product_image, monkeypatch, ["cutout", "packshot"], {})
    add_assets(job, [("cutout", "cutout", (48, 64), (30, 120, 80, 255))])
    mark = _mark(_poll(signed_in, job))

    # when: a poll says nothing, says something else, or a poster the page did not know of is
    # found impossible
    bare = _poll(signed_in, job)
    other = _poll(signed_in, job, have="0" * 16)
    GenerationJob.objects.filter(pk=job.pk).update(
        not_made=[{"kind": "poster", "name": "poster-hero_left-story", "reason": "no room",
                   "template": "hero_left", "size": "story"}]
    )  # fmt: skip
    changed = _poll(signed_in, job, have=mark)

    # then: each gets the gallery
    for body in (bare, other, changed):
        assert 'id="job-assets"' in body
    assert "Could not be made" in changed and _mark(changed) != mark


def test_a_job_that_ends_brings_its_gallery_once_more_and_stops(signed_in, product_image, monkeypatch):
    # given: a running job whose page shows its one asset
    job = _running_job(product_image, monkeypatch, ["cutout", "packshot"], {})
    add_assets(job, [("cutout", "cutout", (48, 64), (30, 120, 80, 255))])
    mark = _mark(_poll(signed_in, job))

    # when: the job ends with the assets the page already shows (the packshot's card "being made" on it)
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error_message="Out of time")
    body = _poll(signed_in, job, have=mark)

    # then: the gallery comes once more, without the card "being made", and the polling stops
    assert 'id="job-assets"' in body and 'class="being-made"' not in body
    assert "hx-get" not in body and "hx-trigger" not in body


def test_each_output_still_to_come_has_a_card_in_its_place(signed_in, product_image, monkeypatch):
    # given: a running job asked for 2 scenes and 2 templates at 2 sizes, that has made the
    # first scene and one poster, and found another poster cannot be made
    job = _running_job(
        product_image,
        monkeypatch,
        ["scene", "poster"],
        {"scene": {"theme": "marble_counter", "count": 2}, "poster": POSTERS},
    )
    add_assets(job, [_scene(1), _poster("bold_sale", "story")])
    GenerationJob.objects.filter(pk=job.pk).update(
        not_made=[{"kind": "poster", "name": "poster-bold_sale-feed", "reason": "no room",
                   "template": "bold_sale", "size": "feed"}]
    )  # fmt: skip

    # when: its page is opened
    body = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()

    # then: the second scene and hero_left's two sizes are being made, each in its place:
    # the scene after the first, the posters in their template's row in the form's order of sizes
    coming = re.findall(r'<figure class="being-made" id="coming-([^"]+)"', body)
    assert coming == ["scene-marble_counter-02", "poster-hero_left-feed", "poster-hero_left-story"]
    scenes = body.split('id="assets-scene"')[1].split("</details>")[0]
    assert scenes.index('id="asset-') < scenes.index('id="coming-scene-marble_counter-02"')
    assert "Scene\u00a0·\u00a0Marble counter 2" in scenes and "Being made" in scenes
    hero = body.split('id="posters-hero_left"')[1].split("</section>")[0]
    assert re.findall(r"<strong>(Story 9:16|Feed post 1:1)</strong>", hero) == ["Feed post 1:1", "Story 9:16"]
    assert "--shape:1080/1920" in hero and "--shape:1080/1080" in hero
    # what is made is counted, what is coming is not
    assert re.search(r'Posters <span class="count">1</span>', body)
    assert re.search(r'Scenes <span class="count">1</span>', body)


def test_cards_being_made_follow_the_assets_as_they_land_and_go_with_the_job(
    signed_in, product_image, monkeypatch
):
    # given: a running job asked for a cutout, a packshot and a story clip, nothing made yet
    job = _running_job(product_image, monkeypatch, ["cutout", "packshot", "clip"], {})
    first = _poll(signed_in, job)
    assert re.findall(r'<figure class="being-made" id="coming-([^"]+)"', first) == [
        "cutout",
        "packshot",
        "clip-push_in-story",
    ]
    assert "Cutout and packshot" in first and "--shape:1080/1920" in first

    # when: the cutout lands
    add_assets(job, [("cutout", "cutout", (48, 64), (30, 120, 80, 255))])
    body = _poll(signed_in, job, have=_mark(first))

    # then: its card replaces the one being made; the others still come
    assert re.findall(r'<figure class="being-made" id="coming-([^"]+)"', body) == [
        "packshot",
        "clip-push_in-story",
    ]
    assert body.count('class="asset"') == 1

    # when: the job is cancelled
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
    body = _poll(signed_in, job, have=_mark(body))

    # then: no card is being made any more
    assert 'class="being-made"' not in body and body.count('class="asset"') == 1


def test_a_poster_made_again_is_being_made_under_its_sources_template(signed_in, product_image, monkeypatch):
    # given: a bold_sale feed post, and a running job that makes it again as a story
    source_job = _running_job(product_image, monkeypatch, ["cutout"], {})
    add_assets(source_job, [_poster("bold_sale", "feed", (108, 108))])
    source = source_job.assets.get()
    job = GenerationJob.objects.create(
        merchant_id=source_job.merchant_id,
        product=source_job.product,
        image=source_job.image,
        outputs=["poster"],
        parameters={"version": 1, "rerender": {"asset_id": source.pk, "size": "story", "headline": "New"}},
        status=JobStatus.RUNNING,
    )

    # when: its page is opened
    body = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()

    # then: one poster is being made, a story in Bold sale's row
    assert re.findall(r'<figure class="being-made" id="coming-([^"]+)"', body) == ["poster"]
    row = body.split('id="posters-bold_sale"')[1].split("</section>")[0]
    assert "<strong>Story 9:16</strong>" in row and "--shape:1080/1920" in row
