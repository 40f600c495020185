"""One asset again from the job page: a poster with new words set on its stored layout, and
**Regenerate** on every asset card. Each is a new job; the first job is untouched."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from shop_assets.jobs import requests as job_requests
from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)

PARAMETERS = {
    "segmenter": "classical",
    "format": "jpg",
    "scene": {"theme": "marble_counter", "count": 2, "seed": 7, "engine": "studio"},
    "poster": {"templates": ["hero_left"], "sizes": ["feed"], "headlines": ["Old words"], "ribbon": "NEW"},
    "packshot": {"size": 1800, "fill": 0.8, "shadow": False},
    "clip": {"preset": "story", "duration": 6.0, "style": "parallax", "seed": 5, "themes": ["podium"]},
}


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: sent.append(job_id))
    return sent


def _job(image) -> GenerationJob:
    return GenerationJob.objects.create(
        merchant_id=image.product.merchant_id,
        product=image.product,
        image=image,
        outputs=["cutout", "packshot", "scene", "poster", "clip"],
        parameters=PARAMETERS,
        status=JobStatus.SUCCEEDED,
    )


def _asset(job, *, kind, name, metrics=None, fmt="png", data=b"png") -> Asset:
    key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, name, fmt)
    storage.put_bytes(key, data)
    return Asset.objects.create(
        merchant_id=job.merchant_id, job=job, kind=kind, name=name, format=fmt, width=1080, height=1080,
        storage_key=key, size_bytes=len(data), checksum="0" * 64, metrics=metrics or {},
    )  # fmt: skip


def _poster(job) -> Asset:
    """A poster on a brand background with its layout JSON beside it."""
    name = "poster-hero_left-feed"
    spec = {"headline": "Old words", "subline": "", "ribbon": "NEW", "cta": "Shop now", "price": "9.90"}
    _asset(job, kind="poster", name=f"{name}-layout", fmt="json", data=json.dumps({"spec": spec}).encode())
    metrics = {"template": "hero_left", "size": "feed", "background": "brand", "seed": 0}
    return _asset(job, kind="poster", name=name, metrics=metrics)


def test_edit_words_shows_the_words_on_the_poster_now(signed_in, product_image):
    poster = _poster(_job(product_image))

    body = signed_in.get(reverse("dashboard:poster_words", args=[poster.pk])).content.decode()

    assert 'value="Old words"' in body and 'value="NEW"' in body and 'value="9.90"' in body
    assert "<dt>Ribbon</dt><dd>NEW</dd>" in body
    assert '<option value="" selected>Same size (' in body


def test_edit_words_shows_the_price_as_the_poster_prints_it(signed_in, product_image):
    # given a poster in yuan whose layout JSON has the words it was set with
    job = _job(product_image)
    spec = {"headline": "保温杯", "price": "89.00", "compare_at_price": "129.00", "currency": "CNY"}
    layout = {"spec": spec, "words": {"headline": "保温杯", "price": "¥89", "compare_at": "¥129"}}
    name = "poster-hero_left-feed"
    _asset(job, kind="poster", name=f"{name}-layout", fmt="json", data=json.dumps(layout).encode())
    metrics = {"template": "hero_left", "size": "feed", "background": "brand", "seed": 0}
    poster = _asset(job, kind="poster", name=name, metrics=metrics)
    # when its Edit words page is opened
    body = signed_in.get(reverse("dashboard:poster_words", args=[poster.pk])).content.decode()
    # then the prices read as on the poster, each labelled, and the form still edits the amounts
    assert "<dt>Price</dt><dd>¥89</dd>" in body
    assert "<dt>Compare-at price</dt><dd><s>¥129</s></dd>" in body
    assert "89.00 CNY" not in body
    assert 'value="89.00"' in body and 'value="129.00"' in body


def test_new_words_rerender_the_poster_in_a_new_job(signed_in, product_image, queued):
    poster = _poster(_job(product_image))

    response = signed_in.post(
        reverse("dashboard:poster_words", args=[poster.pk]),
        {"headline": "限时特价 保温杯", "ribbon": "", "cta": "Shop now", "price": "9.90", "size": "story"},
    )

    new = GenerationJob.objects.exclude(pk=poster.job_id).get()
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:job", args=[new.pk])
    assert new.outputs == ["poster"] and queued == [new.pk] and new.parameters.get("poster") is None
    r = new.parameters["rerender"]
    # only what changed: the emptied ribbon comes off, the unchanged CTA and price stay the poster's
    assert {k: v for k, v in r.items() if v is not None} == {
        "asset_id": poster.pk,
        "headline": "限时特价 保温杯",
        "ribbon": "",
        "size": "story",
    }
    assert new.parameters["segmenter"] == "classical" and new.parameters["format"] == "jpg"
    assert GenerationJob.objects.get(pk=poster.job_id).status == JobStatus.SUCCEEDED
    page = signed_in.get(reverse("dashboard:poster_words", args=[poster.pk])).content.decode()
    assert f"Job #{new.pk}</a>" in page  # the jobs made from this poster
    # and the new job's page says which poster it makes again, linking to its job
    made = signed_in.get(reverse("dashboard:job", args=[new.pk])).content.decode()
    assert re.search(
        rf'data-made-from>New words or size for Poster · .+? of <a href="{reverse("dashboard:job", args=[poster.job_id])}">Job&nbsp;#{poster.job_id}</a>',
        made,
    )


def test_a_refused_word_is_shown_on_its_field_and_makes_no_job(signed_in, product_image, queued):
    poster = _poster(_job(product_image))

    response = signed_in.post(
        reverse("dashboard:poster_words", args=[poster.pk]), {"headline": "x", "price": "nine"}
    )

    assert response.status_code == 400
    assert re.search(
        r'<label for="id_price">.*?a price is a number like 199', response.content.decode(), re.S
    )
    assert GenerationJob.objects.count() == 1 and queued == []


@pytest.mark.slow
def test_the_rerendered_poster_carries_the_new_words_on_its_layout(signed_in, product_image, queued):
    first = job_requests.create_job(
        product_image.product,
        product_image,
        ["poster"],
        {"segmenter": "classical", "poster": {"headline": "Old"}},
    )
    assert run_job_task.apply(args=[first.pk]).get() == "succeeded"
    poster = first.assets.get(kind="poster", format="png")

    signed_in.post(reverse("dashboard:poster_words", args=[poster.pk]), {"headline": "Brand new words"})
    new = GenerationJob.objects.exclude(pk=first.pk).get()
    assert run_job_task.apply(args=[new.pk]).get() == "succeeded"

    old_layout = json.loads(storage.read_bytes(first.assets.get(format="json").storage_key))
    layout = json.loads(storage.read_bytes(new.assets.get(format="json").storage_key))
    assert layout["words"]["headline"] == "Brand new words" and old_layout["words"]["headline"] == "Old"
    assert (layout["template"]["id"], layout["size"]) == (old_layout["template"]["id"], old_layout["size"])
    assert layout["background"] == old_layout["background"]


def test_regenerate_makes_the_assets_kind_again_with_a_fresh_seed(signed_in, product_image, queued):
    job = _job(product_image)
    scene = _asset(
        job, kind="scene", name="scene-marble_counter-02", metrics={"theme": "marble_counter", "seed": 8}
    )
    packshot = _asset(job, kind="packshot", name="packshot")
    cutout = _asset(job, kind="cutout", name="cutout")
    clip = _asset(job, kind="clip", name="clip-parallax-story", fmt="mp4")
    frame = _asset(job, kind="clip", name="clip-parallax-story-frame", metrics={"frame_of": clip.name})
    poster = _poster(job)

    made = {}
    for asset in (scene, packshot, cutout, frame, poster):
        response = signed_in.post(reverse("dashboard:regenerate", args=[asset.pk]))
        made[asset.name] = GenerationJob.objects.order_by("-pk").first()
        assert response.status_code == 302
        assert response["Location"] == reverse("dashboard:job", args=[made[asset.name].pk])

    s = made[scene.name].parameters["scene"]
    assert (made[scene.name].outputs, s["theme"], s["count"], s["engine"]) == (
        ["scene"],
        "marble_counter",
        1,
        "studio",
    )
    assert s["seed"] != 7
    assert made[packshot.name].outputs == ["packshot"]
    assert made[packshot.name].parameters["packshot"] == {"size": 1800, "fill": 0.8, "shadow": False}
    assert made[cutout.name].outputs == ["cutout"]
    c = made[frame.name].parameters["clip"]  # a clip's frame regenerates its clip
    assert made[frame.name].outputs == ["clip"] and (c["style"], c["duration"], c["themes"]) == (
        "parallax",
        6.0,
        ["podium"],
    )
    assert c["seed"] != 5
    p = made[poster.name].parameters["poster"]
    assert (p["templates"], p["sizes"], p["background"], p["headlines"], p["ribbon"]) == (
        ["hero_left"],
        ["feed"],
        "brand",
        ["Old words"],
        "NEW",
    )
    assert len(queued) == 5 and GenerationJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED


def test_regenerate_on_a_poster_drawn_on_a_scene_makes_a_new_scene_under_it(signed_in, product_image, queued):
    job = _job(product_image)
    _asset(job, kind="scene", name="scene-marble_counter-01", metrics={"theme": "marble_counter", "seed": 7})
    poster = _poster(job)
    poster.metrics["background"] = "scene"
    poster.save()

    response = signed_in.post(reverse("dashboard:regenerate", args=[poster.pk]))

    new = GenerationJob.objects.exclude(pk=job.pk).get()
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:job", args=[new.pk])
    assert new.outputs == ["scene", "poster"] and queued == [new.pk]
    s, p = new.parameters["scene"], new.parameters["poster"]
    assert (s["theme"], s["count"], s["engine"]) == ("marble_counter", 1, "studio") and s["seed"] != 7
    assert (p["background"], p["theme"], p["templates"], p["headlines"]) == (
        "scene",
        None,
        ["hero_left"],
        ["Old words"],
    )


def test_the_job_page_offers_regenerate_on_every_card_and_edit_words_on_posters(signed_in, product_image):
    job = _job(product_image)
    scene = _asset(job, kind="scene", name="scene-marble_counter-01", metrics={"theme": "marble_counter"})
    poster = _poster(job)
    clip = _asset(job, kind="clip", name="clip-parallax-story", fmt="mp4")

    body = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()

    for asset in (scene, poster, clip):
        assert f'action="{reverse("dashboard:regenerate", args=[asset.pk])}"' in body
    assert body.count(">Regenerate</button>") == 3
    assert f'href="{reverse("dashboard:poster_words", args=[poster.pk])}"' in body


def test_wrong_kind_and_another_merchants_asset_make_nothing(
    signed_in, product_image, other_product_image, queued
):
    ours = _job(product_image)
    scene = _asset(ours, kind="scene", name="scene-marble_counter-01", metrics={"theme": "marble_counter"})
    theirs = _poster(_job(other_product_image))

    wrong_kind = signed_in.get(reverse("dashboard:poster_words", args=[scene.pk]))
    not_ours = signed_in.post(reverse("dashboard:poster_words", args=[theirs.pk]), {"headline": "x"})
    not_ours_again = signed_in.post(reverse("dashboard:regenerate", args=[theirs.pk]))

    assert wrong_kind.status_code == not_ours.status_code == not_ours_again.status_code == 404
    assert GenerationJob.objects.count() == 2 and queued == []


def test_a_full_job_quota_refuses_another_asset_with_a_message(signed_in, product_image, queued, settings):
    settings.MAX_QUEUED_JOBS = 0
    scene = _asset(
        _job(product_image), kind="scene", name="scene-marble_counter-01", metrics={"theme": "marble_counter"}
    )

    response = signed_in.post(reverse("dashboard:regenerate", args=[scene.pk]), follow=True)

    assert response.status_code == 200 and queued == []
    assert GenerationJob.objects.count() == 1
    assert "the limit is 0" in response.content.decode()


def test_a_recorded_request_that_no_longer_passes_is_refused_with_a_message(signed_in, product_image, queued):
    scene = _asset(
        _job(product_image), kind="scene", name="scene-retired_theme-01", metrics={"theme": "retired_theme"}
    )

    response = signed_in.post(reverse("dashboard:regenerate", args=[scene.pk]), follow=True)

    assert response.status_code == 200 and queued == []
    assert GenerationJob.objects.count() == 1
    assert "retired_theme" in response.content.decode()


def test_the_regenerated_jobs_page_says_what_it_makes_again_and_from_which_job(
    signed_in, product_image, queued
):
    # given: a finished job with a packshot and a poster drawn on a scene
    job = _job(product_image)
    packshot = _asset(job, kind="packshot", name="packshot")
    _asset(job, kind="scene", name="scene-marble_counter-01", metrics={"theme": "marble_counter", "seed": 7})
    poster = _poster(job)
    poster.metrics["background"] = "scene"
    poster.save()

    # when: the merchant regenerates the packshot, then the poster
    said = []
    for asset in (packshot, poster):
        page = signed_in.post(reverse("dashboard:regenerate", args=[asset.pk]), follow=True)
        said.append(page.content.decode().split('<ul class="messages">', 1)[1].split("</ul>", 1)[0])

    # then: each new job's page names the asset and the job it comes from (kept on one line)
    first = f"Job\u00a0#{job.pk}"
    assert (
        f"Regenerating Marketplace packshot of {first} with a new variation; {first} stays as it" in said[0]
    )
    assert f"Regenerating Poster · Hero left of {first} on a new scene; {first} stays as it is." in said[1]


def test_change_settings_on_failed_new_words_opens_the_posters_form_with_those_words(
    signed_in, product_image, queued
):
    # given: a job of new words and another size for a poster, which failed
    poster = _poster(_job(product_image))
    asked = {"headline": "早安马克杯 新品上市", "subline": "手工青花釉", "ribbon": "", "size": "story"}
    signed_in.post(
        reverse("dashboard:poster_words", args=[poster.pk]),
        {**asked, "cta": "Shop now", "badge": "", "price": "", "compare_at_price": ""},
    )
    failed = GenerationJob.objects.get(parameters__rerender__asset_id=poster.pk)
    GenerationJob.objects.filter(pk=failed.pk).update(status=JobStatus.FAILED, error_message="stopped")

    # when: the merchant presses "Change settings" on it
    response = signed_in.get(reverse("dashboard:job_again", args=[failed.pk]))

    # then: the poster's own form, holding the words and size that job asked for (the new-job
    # form started a fresh poster with an empty headline)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:poster_words", args=[poster.pk]) + f"?from={failed.pk}"
    body = signed_in.get(response["Location"]).content.decode()
    assert 'value="早安马克杯 新品上市"' in body and ">\n手工青花釉</textarea>" in body
    assert '<option value="story" selected>' in body and 'value="NEW"' not in body
    assert f"holds the words Job\u00a0#{failed.pk} asked for" in body
    # and: the poster's own words stay what the form shows without that job
    plain = signed_in.get(reverse("dashboard:poster_words", args=[poster.pk])).content.decode()
    assert 'value="Old words"' in plain and "asked for" not in plain
