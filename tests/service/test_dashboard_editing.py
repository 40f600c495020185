"""Editing and deleting products and photos from the dashboard, and the way out of a
failed job: retry with the same settings, or the new-job form filled from them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from shop_assets.catalog import services as catalog
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.webhooks.models import WebhookEvent as Event
from tests.conftest import stored_asset, stored_files


def _job(image, *, status=JobStatus.SUCCEEDED, outputs=("cutout",), parameters=None) -> GenerationJob:
    return GenerationJob.objects.create(
        merchant_id=image.product.merchant_id,
        product=image.product,
        image=image,
        outputs=list(outputs),
        parameters=parameters or {},
        status=status,
    )


def _image_keys(image: ProductImage) -> set[str]:
    keys = {image.original_key, image.normalized_key, image.thumbnail_key}
    keys |= {k for m in image.masks.all() for k in (m.storage_key, m.preview_key) if k}
    return keys


def test_edit_title_price_and_currency(signed_in, product):
    url = reverse("dashboard:product_edit", args=[product.pk])
    data = {"sku": product.sku, "title": "Steel bottle 1 l", "price": "24.50", "currency": "eur"}

    page = signed_in.get(url)
    response = signed_in.post(url, data)

    assert page.status_code == 200 and ">SKU</label>" in page.content.decode()
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.title, str(product.price), product.currency) == ("Steel bottle 1 l", "24.50", "EUR")
    event = Event.objects.get(type="product.updated")
    assert sorted(event.payload["changed"]) == ["currency", "price", "title"]


def test_edit_refuses_a_bad_price_and_a_taken_sku(signed_in, product, merchant):
    Product.objects.create(merchant=merchant, sku="MUG-7", title="Mug")
    url = reverse("dashboard:product_edit", args=[product.pk])

    negative = signed_in.post(url, {"sku": product.sku, "title": "x", "price": "-1", "currency": "USD"})
    taken = signed_in.post(url, {"sku": "MUG-7", "title": "x", "currency": "USD"})

    assert negative.status_code == 400 and taken.status_code == 400
    assert "already have a product with this SKU" in taken.content.decode()
    product.refresh_from_db()
    assert product.title != "x" and product.sku == "BTL-001"
    assert not Event.objects.filter(type="product.updated").exists()


def test_delete_product_removes_rows_and_files(
    signed_in, product_image, other_product_image, django_capture_on_commit_callbacks
):
    asset = stored_asset(_job(product_image))
    ours = _image_keys(product_image) | {asset.storage_key}
    theirs = set(stored_files()) - ours

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(reverse("dashboard:product_delete", args=[product_image.product_id]))

    assert response.status_code == 302 and response["Location"] == reverse("dashboard:products")
    assert not Product.objects.filter(pk=product_image.product_id).exists()
    assert not Asset.objects.filter(pk=asset.pk).exists()
    left = set(stored_files())
    assert not (ours & left)
    assert theirs <= left  # the other merchant's files stay


def test_delete_product_with_a_running_job_is_refused(signed_in, product_image):
    _job(product_image, status=JobStatus.RUNNING)
    before = stored_files()

    response = signed_in.post(
        reverse("dashboard:product_delete", args=[product_image.product_id]), follow=True
    )

    assert "1 job of this product is still queued or running" in response.content.decode()
    assert Product.objects.filter(pk=product_image.product_id).exists()
    assert stored_files() == before


def test_delete_photo_removes_it_its_jobs_and_their_files(
    signed_in, product_image, photo_jpeg, django_capture_on_commit_callbacks
):
    from shop_assets.catalog.services import add_product_image

    other_photo = add_product_image(product_image.product, photo_jpeg, filename="second.jpg")
    asset = stored_asset(_job(product_image))
    ours = _image_keys(product_image) | {asset.storage_key}

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(reverse("dashboard:photo_delete", args=[product_image.pk]))

    assert response.status_code == 302
    assert not ProductImage.objects.filter(pk=product_image.pk).exists()
    assert ProductImage.objects.filter(pk=other_photo.pk).exists()
    assert not GenerationJob.objects.filter(image_id=product_image.pk).exists()
    left = set(stored_files())
    assert not (ours & left)
    assert other_photo.original_key in left


@pytest.mark.parametrize(
    "name", ["dashboard:product_edit", "dashboard:product_delete", "dashboard:photo_delete"]
)
def test_another_merchants_product_and_photo_are_not_found(signed_in, other_product_image, name):
    target = other_product_image.pk if name == "dashboard:photo_delete" else other_product_image.product_id
    before = stored_files()

    response = signed_in.post(reverse(name, args=[target]), {"sku": "HACK", "title": "x", "currency": "USD"})

    assert response.status_code == 404
    other_product_image.product.refresh_from_db()
    assert other_product_image.product.sku == "SECRET-1"
    assert ProductImage.objects.filter(pk=other_product_image.pk).exists()
    assert stored_files() == before


def test_failed_job_offers_retry_and_change_settings(signed_in, product_image):
    job = _job(product_image, status=JobStatus.FAILED)

    body = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()

    assert reverse("dashboard:job_retry", args=[job.pk]) in body and ">Retry</button>" in body
    assert reverse("dashboard:job_again", args=[job.pk]) in body and "Change settings" in body


def test_retry_queues_the_same_job_again(
    signed_in, product_image, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: sent.append(job_id))
    job = _job(product_image, status=JobStatus.FAILED)
    GenerationJob.objects.filter(pk=job.pk).update(error_message="worker died", attempts=3)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(reverse("dashboard:job_retry", args=[job.pk]))

    job.refresh_from_db()
    assert response.status_code == 302
    assert (job.status, job.attempts, job.error_message) == (JobStatus.QUEUED, 0, "")
    assert sent == [job.pk]


def test_retry_of_a_succeeded_job_is_refused(signed_in, product_image, monkeypatch):
    sent = []
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: sent.append(job_id))
    job = _job(product_image, status=JobStatus.SUCCEEDED)

    response = signed_in.post(reverse("dashboard:job_retry", args=[job.pk]), follow=True)

    assert "only a failed or cancelled job can be retried" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and sent == []


def test_another_merchants_job_cannot_be_retried(signed_in, other_product_image):
    job = _job(other_product_image, status=JobStatus.FAILED)

    response = signed_in.post(reverse("dashboard:job_retry", args=[job.pk]))

    job.refresh_from_db()
    assert response.status_code == 404 and job.status == JobStatus.FAILED


def test_change_settings_fills_the_form_from_the_job(signed_in, product_image):
    parameters = {
        "segmenter": "classical",
        "format": "webp",
        "scene": {"theme": "marble_counter", "count": 3, "engine": "studio", "seed": 42, "prompt": ""},
        "poster": {
            "templates": ["bold_sale"],
            "sizes": ["story"],
            "headline": "Summer sale",
            "ribbon": "NEW",
        },
    }
    job = _job(product_image, status=JobStatus.FAILED, outputs=("scene", "poster"), parameters=parameters)

    body = signed_in.get(reverse("dashboard:job_again", args=[job.pk])).content.decode()

    for expected in (
        '<option value="marble_counter" selected>',
        '<option value="webp" selected>',
        'name="scene_count" value="3"',
        'name="seed" value="42"',
        'value="Summer sale"',
        'value="NEW"',
    ):
        assert expected in body, expected
    checked = set(re.findall(r'<input type="checkbox" name="(\w+)" value="(\w+)"[^>]*\schecked', body))
    assert {("outputs", "scene"), ("outputs", "poster"), ("poster_templates", "bold_sale")} <= checked
    assert ("poster_sizes", "story") in checked and ("poster_sizes", "feed") not in checked
    assert ("outputs", "packshot") not in checked


def _deletes(client, product) -> str:
    page = client.get(reverse("dashboard:product_edit", args=[product.pk])).content.decode()
    return page.split("<p>Deletes ", 1)[1].split("</p>", 1)[0]


def test_delete_says_what_goes_with_the_product_in_words(signed_in, product, photo_jpeg):
    # given: a product with nothing yet (the page said "with its 0 photos, 0 jobs and 0 files")
    assert _deletes(signed_in, product) == (
        "Hand wash (BTL-001), which has no photos or jobs yet. This cannot be undone."
    )

    # when: it has a photo, then a job on it with two files
    image = catalog.add_product_image(product, photo_jpeg, filename="bottle.jpg")
    assert _deletes(signed_in, product) == "Hand wash (BTL-001) with its 1 photo. This cannot be undone."
    job = _job(image)
    for name in ("cutout", "packshot"):
        Asset.objects.create(
            merchant=product.merchant, job=job, kind=name, name=name, format="png",
            storage_key=f"k/{name}.png", width=1, height=1, size_bytes=1, checksum="0",
        )  # fmt: skip

    # then: each thing counted once, in the singular where there is one
    assert _deletes(signed_in, product) == (
        "Hand wash (BTL-001) with its 1 photo, 1 job and the 2 files made from them. This cannot be undone."
    )


def test_the_job_state_is_said_once_beside_its_pill(signed_in, product_image):
    # given: a failed job and a cancelled one (their progress line repeated the state: "Failed
    # Failed"), and a running one at a stage
    failed = _job(product_image, status=JobStatus.FAILED)
    cancelled = _job(product_image, status=JobStatus.CANCELLED)
    running = _job(product_image, status=JobStatus.RUNNING)
    GenerationJob.objects.filter(pk=failed.pk).update(progress_message="Failed")
    GenerationJob.objects.filter(pk=cancelled.pk).update(progress_message="Cancelled")
    GenerationJob.objects.filter(pk=running.pk).update(progress_message="Rendering frames")

    def progress_text(job) -> str:
        body = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()
        return body.split('id="job-progress-text">', 1)[1].split("<", 1)[0]

    # then: the state is the pill's alone; a stage still says itself
    assert (progress_text(failed), progress_text(cancelled)) == ("", "")
    assert progress_text(running) == "Rendering frames"
