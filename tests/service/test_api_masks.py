"""/api/v1/images/{id}/mask: read the mask a photo's jobs go by, upload one, accept the
automatic one; another merchant's photo is a 404 on every method."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from generation.check import MATTE_THRESHOLD
from shop_assets.accounts.models import ApiKey
from shop_assets.catalog import masks
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import JobStatus
from shop_assets.jobs.tasks import run_job_task
from tests.conftest import downloaded, png_bytes, stored_files


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "test")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def _put_png(api, image_id: int, image: Image.Image):
    return api.put(f"/api/v1/images/{image_id}/mask", data=png_bytes(image), content_type="image/png")


@pytest.mark.django_db
def test_get_says_which_mask_the_jobs_use_and_serves_its_png(api, product_image):
    pending = api.get(f"/api/v1/images/{product_image.pk}/mask")
    assert pending.status_code == 404 and pending.json()["code"] == "mask_pending"

    auto = masks.make_automatic_mask(product_image)
    body = api.get(f"/api/v1/images/{product_image.pk}/mask").json()

    assert body["image_id"] == product_image.pk and body["version"] == 1 and body["source"] == "auto"
    assert (body["accepted"], body["trusted"], body["needs_review"]) == (False, True, False)
    assert body["confidence"] == auto.confidence and body["threshold"] == MATTE_THRESHOLD
    assert body["evidence"]["cues"] == auto.evidence["cues"]
    assert body["download_url"] == f"/api/v1/images/{product_image.pk}/mask/download"
    download = api.get(body["download_url"])
    png = Image.open(io.BytesIO(downloaded(download)))
    assert png.mode == "L" and png.size == (body["width"], body["height"])


@pytest.mark.django_db
def test_a_refused_photo_needs_review_and_has_no_file(api, busy_image):
    body = api.get(f"/api/v1/images/{busy_image.pk}/mask").json()

    assert (body["needs_review"], body["confidence"], body["download_url"]) == (True, 0.0, None)
    assert "too busy" in body["evidence"]["problems"][0]
    assert api.get(f"/api/v1/images/{busy_image.pk}/mask/download").json()["code"] == "no_mask"


@pytest.mark.django_db(transaction=True)
def test_put_a_mask_png_stores_an_accepted_version_and_resumes_the_waiting_job(api, busy_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    job = job_requests.create_job(busy_image.product, busy_image, ["cutout"], {})
    run_job_task.apply(args=[job.pk]).get()
    # the exact product mask, at half size (the same shape scaled), near-white inside
    truth = np.where(busy_image.truth, 252, 0).astype(np.uint8)
    half = Image.fromarray(truth, "L").resize((busy_image.width // 2, busy_image.height // 2))

    response = _put_png(api, busy_image.pk, half)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["source"], body["accepted"], body["trusted"]) == (2, "uploaded", True, True)
    assert (body["width"], body["height"]) == (busy_image.width, busy_image.height)
    stored = np.asarray(Image.open(io.BytesIO(downloaded(api.get(body["download_url"])))))
    inside = cv2.erode(busy_image.truth.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert stored[inside].min() == 255 and stored[0, 0] == 0  # near-white made opaque
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"
    assert job.assets.get().metrics["matte"]["source"] == "uploaded"


@pytest.mark.django_db
def test_put_accept_automatic(api, product_image, busy_image):
    masks.make_automatic_mask(product_image)

    accepted = api.put(
        f"/api/v1/images/{product_image.pk}/mask",
        data={"accept": "automatic"},
        content_type="application/json",
    )
    nothing = api.put(
        f"/api/v1/images/{busy_image.pk}/mask", data={"accept": "automatic"}, content_type="application/json"
    )

    assert accepted.status_code == 200
    assert (accepted.json()["source"], accepted.json()["version"], accepted.json()["accepted"]) == (
        "accepted",
        2,
        True,
    )
    assert nothing.status_code == 400 and "no automatic cutout to accept" in nothing.json()["detail"]


@pytest.mark.django_db
def test_bad_puts_are_refused_by_name_and_store_nothing(api, product_image):
    masks.make_automatic_mask(product_image)
    before = stored_files()

    wrong_size = _put_png(api, product_image.pk, Image.new("L", (300, 300), 255))
    all_white = _put_png(api, product_image.pk, Image.new("L", (480, 600), 255))
    wrong_type = api.put(f"/api/v1/images/{product_image.pk}/mask", data=b"abc", content_type="text/plain")
    wrong_json = api.put(
        f"/api/v1/images/{product_image.pk}/mask", data={"accept": "yes"}, content_type="application/json"
    )
    not_image = api.put(
        f"/api/v1/images/{product_image.pk}/mask", data=b"not a png", content_type="image/png"
    )

    assert wrong_size.status_code == 400
    assert wrong_size.json() == {
        "code": "invalid_mask",
        "detail": "The mask is 300x300 but the photo is 480x600; upload a mask the size of the photo (or the same shape scaled).",
        "field": "body",
    }
    assert all_white.status_code == 400 and "white everywhere" in all_white.json()["detail"]
    assert wrong_type.status_code == 415 and "not text/plain" in wrong_type.json()["detail"]
    assert wrong_json.status_code == 400 and wrong_json.json()["field"] == "accept"
    assert not_image.status_code == 400
    assert stored_files() == before and product_image.masks.count() == 1


@pytest.mark.django_db
def test_another_merchants_photo_is_a_404_on_every_method(api, other_product_image):
    masks.make_automatic_mask(other_product_image)
    url = f"/api/v1/images/{other_product_image.pk}/mask"
    before = stored_files()

    responses = [
        api.get(url),
        api.get(url + "/download"),
        _put_png(api, other_product_image.pk, Image.new("L", (480, 600), 0)),
        api.put(url, data={"accept": "automatic"}, content_type="application/json"),
    ]

    assert [r.status_code for r in responses] == [404] * 4
    assert {r.json()["code"] for r in responses} == {"not_found"}
    assert stored_files() == before and other_product_image.masks.count() == 1
