"""One asset again from the job page: a poster with new words, one more scene like this one.
Each is a new job built from the asset's recorded settings; the first job is untouched."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from shop_assets.jobs import requests as job_requests
from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: sent.append(job_id))
    return sent


def _asset(image, *, kind, name, metrics, outputs, parameters) -> Asset:
    job = GenerationJob.objects.create(
        merchant_id=image.product.merchant_id,
        product=image.product,
        image=image,
        outputs=outputs,
        parameters=parameters,
        status=JobStatus.SUCCEEDED,
    )
    key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, name, "png")
    storage.put_bytes(key, b"png")
    return Asset.objects.create(
        merchant_id=job.merchant_id,
        job=job,
        kind=kind,
        name=name,
        format="png",
        width=1080,
        height=1080,
        storage_key=key,
        size_bytes=3,
        checksum="0" * 64,
        metrics=metrics,
    )


def _poster(image) -> Asset:
    return _asset(
        image,
        kind="poster",
        name="poster-hero_left-feed",
        metrics={
            "template": "hero_left",
            "size": "feed",
            "background": "scene",
            "theme": "marble_counter",
            "seed": 7,
        },
        outputs=["scene", "poster"],
        parameters={
            "segmenter": "classical",
            "format": "jpg",
            "scene": {"theme": "marble_counter", "count": 2, "seed": 7},
            "poster": {
                "templates": ["hero_left", "bold_sale"],
                "sizes": ["feed", "story"],
                "headline": "Old words",
                "ribbon": "NEW",
            },
        },
    )


def test_edit_words_form_is_filled_from_the_job(signed_in, product_image):
    poster = _poster(product_image)

    body = signed_in.get(reverse("dashboard:poster_words", args=[poster.pk])).content.decode()

    assert 'value="Old words"' in body and 'value="NEW"' in body


def test_new_words_make_one_poster_in_a_new_job(signed_in, product_image, queued):
    poster = _poster(product_image)

    response = signed_in.post(
        reverse("dashboard:poster_words", args=[poster.pk]), {"headline": "限时特价 保温杯", "cta": "Buy"}
    )

    new = GenerationJob.objects.exclude(pk=poster.job_id).get()
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:job", args=[new.pk])
    assert new.outputs == ["poster"] and queued == [new.pk]
    p = new.parameters["poster"]
    assert (p["templates"], p["sizes"], p["background"], p["theme"], p["seed"]) == (
        ["hero_left"],
        ["feed"],
        "theme",
        "marble_counter",
        7,
    )
    assert p["headline"] == "限时特价 保温杯" and p["cta"] == "Buy" and not p.get("ribbon")
    assert new.parameters["segmenter"] == "classical" and new.parameters["format"] == "jpg"
    assert GenerationJob.objects.get(pk=poster.job_id).status == JobStatus.SUCCEEDED


@pytest.mark.slow
def test_the_new_poster_carries_the_new_words(signed_in, product_image, queued):
    poster = _poster(product_image)
    signed_in.post(reverse("dashboard:poster_words", args=[poster.pk]), {"headline": "Brand new words"})
    new = GenerationJob.objects.exclude(pk=poster.job_id).get()

    assert run_job_task.apply(args=[new.pk]).get() == "succeeded"

    layout = new.assets.get(name__endswith="-layout")
    text = json.dumps(json.loads(storage.read_bytes(layout.storage_key)), ensure_ascii=False)
    assert "Brand new words" in text and "Old words" not in text
    assert new.assets.filter(kind="poster", format="jpg").count() == 1


def test_make_another_scene_like_this_one(signed_in, product_image, queued):
    scene = _asset(
        product_image,
        kind="scene",
        name="scene-marble_counter-02",
        metrics={"theme": "marble_counter", "seed": 7},
        outputs=["scene"],
        parameters={
            "format": "png",
            "scene": {"theme": "marble_counter", "count": 4, "seed": 7, "engine": "studio"},
        },
    )

    response = signed_in.post(reverse("dashboard:scene_again", args=[scene.pk]))

    new = GenerationJob.objects.exclude(pk=scene.job_id).get()
    assert response.status_code == 302 and queued == [new.pk]
    s = new.parameters["scene"]
    assert (new.outputs, s["theme"], s["count"], s["engine"]) == (["scene"], "marble_counter", 1, "studio")
    assert s["seed"] != 7


def test_wrong_kind_and_another_merchants_asset_make_nothing(
    signed_in, product_image, other_product_image, queued
):
    poster = _poster(product_image)
    theirs = _poster(other_product_image)

    wrong_kind = signed_in.post(reverse("dashboard:scene_again", args=[poster.pk]))
    not_ours = signed_in.post(reverse("dashboard:poster_words", args=[theirs.pk]), {"headline": "x"})
    not_ours_scene = signed_in.post(reverse("dashboard:scene_again", args=[theirs.pk]))

    assert wrong_kind.status_code == not_ours.status_code == not_ours_scene.status_code == 404
    assert GenerationJob.objects.count() == 2 and queued == []


def _scene(image, theme: str = "marble_counter") -> Asset:
    return _asset(
        image,
        kind="scene",
        name=f"scene-{theme}-01",
        metrics={"theme": theme, "seed": 7},
        outputs=["scene"],
        parameters={"format": "png", "scene": {"theme": theme, "count": 1, "seed": 7}},
    )


def test_a_full_job_quota_refuses_another_scene_with_a_message(signed_in, product_image, queued, settings):
    settings.MAX_QUEUED_JOBS = 0
    scene = _scene(product_image)

    response = signed_in.post(reverse("dashboard:scene_again", args=[scene.pk]), follow=True)

    assert response.status_code == 200 and queued == []
    assert GenerationJob.objects.count() == 1
    assert "the limit is 0" in response.content.decode()


def test_a_recorded_request_that_no_longer_passes_is_refused_with_a_message(signed_in, product_image, queued):
    scene = _scene(product_image, theme="retired_theme")

    response = signed_in.post(reverse("dashboard:scene_again", args=[scene.pk]), follow=True)

    assert response.status_code == 200 and queued == []
    assert GenerationJob.objects.count() == 1
    assert "retired_theme" in response.content.decode()


def test_a_refused_request_makes_no_job_and_says_why(signed_in, product_image, queued):
    poster = _poster(product_image)
    Asset.objects.filter(pk=poster.pk).update(metrics={**poster.metrics, "template": "no_such_template"})

    response = signed_in.post(reverse("dashboard:poster_words", args=[poster.pk]), {"headline": "x"})

    assert response.status_code == 400
    assert "no_such_template" in response.content.decode()
    assert GenerationJob.objects.count() == 1 and queued == []
