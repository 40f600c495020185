"""The matte gate: no asset from a matte nobody trusts; the job waits for the merchant's
review and goes on by itself once a matte is accepted."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

import generation.check
import generation.segment
from generation.check import MATTE_THRESHOLD
from generation.errors import SegmentationFailed
from generation.segment.metrics import iou
from generation.segment.refine import preview_size
from shop_assets.catalog import masks
from shop_assets.catalog.models import MaskSource
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.storage import read_bytes
from shop_assets.jobs.tasks import run_job_task
from shop_assets.webhooks.models import WebhookEvent
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db(transaction=True)
OUTPUTS = ["cutout", "packshot", "scene", "poster"]


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    queued: list[int] = []
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: queued.append(job_id))
    return queued


def _job(image, outputs=OUTPUTS):
    return job_requests.create_job(image.product, image, outputs, {"segmenter": "auto"})


def test_a_photo_whose_automatic_matte_is_refused_makes_nothing_and_waits_for_review(busy_image, sent):
    job = _job(busy_image)
    before = stored_files()

    assert run_job_task.apply(args=[job.pk]).get() == "needs_review"

    job.refresh_from_db()
    assert job.status == JobStatus.NEEDS_REVIEW and job.is_finished
    assert job.error_code == "matte_needs_review"
    assert "needs your review" in job.error_message and "too busy" in job.error_message
    assert "it may be wrong." in job.error_message and "confidence" not in job.error_message
    assert not Asset.objects.filter(job=job).exists()
    assert stored_files() == before
    event = WebhookEvent.objects.get(type="job.needs_review")
    assert event.payload["job"]["id"] == job.pk and event.payload["job"]["status"] == "needs_review"
    assert event.payload["review"]["confidence"] == 0.0 and event.payload["review"]["mask_version"] == 1
    assert not WebhookEvent.objects.filter(type__in=["job.failed", "job.succeeded"]).exists()


def test_a_low_confidence_automatic_matte_also_stops_the_job(product_image, sent):
    # given an automatic matte whose evidence is below the threshold
    auto = masks.make_automatic_mask(product_image)
    type(auto).objects.filter(pk=auto.pk).update(confidence=MATTE_THRESHOLD - 0.01)
    job = _job(product_image, ["cutout"])

    assert run_job_task.apply(args=[job.pk]).get() == "needs_review"

    assert GenerationJob.objects.get(pk=job.pk).status == JobStatus.NEEDS_REVIEW
    assert not Asset.objects.exists()


def test_after_a_box_and_stroke_fix_the_same_job_goes_on_and_its_assets_carry_the_mask(busy_image, sent):
    # given the job stopped for review
    job = _job(busy_image)
    run_job_task.apply(args=[job.pk]).get()
    # when the merchant draws a box (on the preview) and saves the refined cutout
    size = preview_size((busy_image.width, busy_image.height))
    f = size[0] / busy_image.width
    x, y, w, h = busy_image.truth_box
    saved = masks.save_refined(
        busy_image, masks.read_strokes(busy_image, [x * f - 6, y * f - 6, w * f + 12, h * f + 12], None, None)
    )

    # then the job is queued again, and runs to the end
    job.refresh_from_db()
    assert sent[-1] == job.pk and (job.status, job.attempts, job.error_message) == (JobStatus.QUEUED, 0, "")
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"
    assets = list(Asset.objects.filter(job=job))
    assert {a.kind for a in assets} == set(OUTPUTS)
    for asset in assets:
        matte = asset.metrics["matte"]
        assert (matte["version"], matte["source"], matte["trusted"]) == (2, MaskSource.REFINED, True)
        assert matte["confidence"] == saved.confidence >= MATTE_THRESHOLD
    cutout = next(a for a in assets if a.kind == "cutout")
    assert cutout.metrics["segmenter"] == "alpha" and cutout.metrics["fidelity"]["identical"] is True
    # the cutout's alpha is the accepted matte, cropped to the product's box
    alpha = np.asarray(Image.open(io.BytesIO(read_bytes(cutout.storage_key))).getchannel("A"))
    accepted = np.asarray(Image.open(io.BytesIO(read_bytes(saved.storage_key))))
    ys, xs = np.nonzero(accepted > 8)
    assert np.array_equal(alpha, accepted[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    assert iou(accepted, busy_image.truth.astype(np.uint8) * 255) > 0.95


def test_a_trusted_automatic_matte_goes_straight_through_and_is_recorded(product_image, sent):
    auto = masks.make_automatic_mask(product_image)
    job = _job(product_image, ["cutout", "packshot"])

    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    assets = list(Asset.objects.filter(job=job))
    full_photo = next(a for a in assets if a.kind == "cutout").metrics["confidence"]
    assert full_photo >= MATTE_THRESHOLD
    for asset in assets:
        assert asset.metrics["matte"] == {
            "version": 1,
            "source": "auto",
            "accepted": False,
            "confidence": auto.confidence,
            "threshold": MATTE_THRESHOLD,
            "trusted": True,
            "evidence": auto.evidence,
            "full_photo_confidence": full_photo,
        }


def test_a_full_photo_matte_weaker_than_its_preview_also_stops_the_job(product_image, sent, monkeypatch):
    # given a trusted preview matte, and a full-photo matte whose evidence is weak
    masks.make_automatic_mask(product_image)
    evidence = generation.check.with_evidence

    def weak(seg, **kwargs):
        scored = evidence(seg, **kwargs)
        return dataclasses.replace(
            scored,
            confidence=0.31,
            low_confidence=True,
            evidence={**scored.evidence, "problems": ["A kept floor."]},
        )

    monkeypatch.setattr(generation.check, "with_evidence", weak)
    job = _job(product_image, ["cutout", "packshot"])
    before = stored_files()

    assert run_job_task.apply(args=[job.pk]).get() == "needs_review"

    job.refresh_from_db()
    assert "it may be wrong. A kept floor." in job.error_message
    review = WebhookEvent.objects.get(type="job.needs_review").payload["review"]
    assert (review["confidence"], review["threshold"]) == (0.31, MATTE_THRESHOLD)
    assert not Asset.objects.filter(job=job).exists() and stored_files() == before
    assert WebhookEvent.objects.get(type="job.needs_review").payload["review"]["confidence"] == 0.31


def test_a_full_photo_refusal_after_a_trusted_preview_waits_for_review_and_goes_on_once_accepted(
    product_image, sent, monkeypatch
):
    # given a trusted preview matte, and a segmenter that refuses the full photo on its own
    preview = masks.make_automatic_mask(product_image)
    assert preview.trusted
    segment = generation.segment.segment

    def refuses_without_a_mask(image, method="auto", config=None, mask=None):
        if mask is None:
            raise SegmentationFailed("No product stands out from the background.")
        return segment(image, method, config, mask)

    monkeypatch.setattr(generation.segment, "segment", refuses_without_a_mask)
    job = _job(product_image, ["cutout", "packshot"])
    before = stored_files()

    # when the job runs, it is held for review, not failed
    assert run_job_task.apply(args=[job.pk]).get() == "needs_review"

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.NEEDS_REVIEW, "matte_needs_review")
    assert "it may be wrong. No product stands out from the background." in job.error_message
    assert not Asset.objects.filter(job=job).exists() and stored_files() == before
    review = WebhookEvent.objects.get(type="job.needs_review").payload["review"]
    assert (review["mask_version"], review["confidence"], review["problems"]) == (
        preview.version,
        0.0,
        ["No product stands out from the background."],
    )
    assert not WebhookEvent.objects.filter(type__in=["job.failed", "job.succeeded"]).exists()

    # when the merchant accepts the preview's cutout, the same job is queued again and finishes
    accepted = masks.accept_automatic(product_image)
    job.refresh_from_db()
    assert sent[-1] == job.pk and job.status == JobStatus.QUEUED
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"
    for asset in Asset.objects.filter(job=job):
        assert (asset.metrics["matte"]["version"], asset.metrics["matte"]["source"]) == (
            accepted.version,
            MaskSource.ACCEPTED,
        )


def test_the_job_page_shows_the_review_and_the_badge_follows_the_matte(
    signed_in, busy_image, product_image, sent
):
    # a job that stopped for review
    stopped = _job(busy_image, ["cutout"])
    run_job_task.apply(args=[stopped.pk]).get()
    page = signed_in.get(f"/jobs/{stopped.pk}/").content.decode()
    assert 'data-status="needs_review"' in page and "Needs your review" in page
    assert "too busy" in page and f'href="/products/{busy_image.product_id}/#cutout-review"' in page
    assert "hx-trigger" not in page  # nothing more to poll for

    # a job made from a trusted matte says its product pixels are unchanged...
    masks.make_automatic_mask(product_image)
    done = _job(product_image, ["cutout"])
    run_job_task.apply(args=[done.pk]).get()
    page = signed_in.get(f"/jobs/{done.pk}/").content.decode()
    assert "Product pixels unchanged" in page and "Cutout not confirmed" not in page

    # ...and one whose matte nobody trusted says so in words, with a way to review it
    asset = Asset.objects.get(job=done)
    asset.metrics["matte"].update(trusted=False, confidence=0.42)
    asset.save()
    page = signed_in.get(f"/jobs/{done.pk}/").content.decode()
    assert "Product pixels unchanged" not in page
    assert "Cutout not confirmed: it may be wrong" in page and "#cutout-review" in page
    assert "0.42" not in page


def test_an_automatic_matte_from_another_segmenter_is_made_again_for_the_job(product_image, sent):
    # given an automatic matte made before the install changed (another backend made it)
    old = masks.make_automatic_mask(product_image)
    type(old).objects.filter(pk=old.pk).update(segmenter="rembg:u2net", confidence=0.2)
    job = _job(product_image, ["cutout"])

    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    latest = masks.latest_automatic(product_image)
    assert (latest.version, latest.segmenter) == (2, "classical") and latest.trusted
    assert Asset.objects.get(job=job).metrics["matte"]["version"] == 2


def test_a_job_asking_for_the_photos_own_alpha_on_a_photo_without_one_waits_for_review(product_image, sent):
    masks.make_automatic_mask(product_image)
    job = job_requests.create_job(product_image.product, product_image, ["cutout"], {"segmenter": "alpha"})

    assert run_job_task.apply(args=[job.pk]).get() == "needs_review"

    job.refresh_from_db()
    # the segmenter's problem is its own sentence between the doubt and what to do
    assert job.error_message == (
        "The cutout of this photo needs your review before any asset is made: it may be wrong. "
        "The photo has no transparency (no alpha channel); upload a "
        "PNG or WebP with transparency, or a mask, or choose another background removal. Open the "
        "product page to accept it, fix it with a box and a few strokes, or upload a mask; this job "
        "then goes on by itself."
    )
    assert masks.latest_automatic(product_image).segmenter == "alpha" and not Asset.objects.exists()
