"""Cutout review on the product page: the card, accept, the editor's refine and save
views, mask upload, and tenancy on every URL."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from generation.check import MATTE_THRESHOLD
from generation.segment.refine import preview_size
from shop_assets.catalog import masks
from shop_assets.catalog.models import MaskSource, ProductImage
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, JobStatus
from shop_assets.jobs.tasks import run_job_task
from tests.conftest import downloaded, png_bytes, stored_files


def _editor_box(image) -> list[int]:
    size = preview_size((image.width, image.height))
    f = size[0] / image.width
    x, y, w, h = image.truth_box
    return [round(x * f) - 6, round(y * f) - 6, round(w * f) + 12, round(h * f) + 12]


def _keep_stroke(image) -> bytes:
    size = preview_size((image.width, image.height))
    f = size[0] / image.width
    x, y, w, h = image.truth_box
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))  # as the browser sends it: painted pixels opaque
    cx, cy = round((x + w / 2) * f), round((y + h / 2) * f)
    canvas.paste((255, 255, 255, 255), (cx - 3, cy - 20, cx + 3, cy + 20))
    return png_bytes(canvas)


def _strokes_post(image) -> dict:
    return {"box": json.dumps(_editor_box(image)), "keep": io.BytesIO(_keep_stroke(image))}


@pytest.mark.django_db
def test_the_card_polls_until_the_automatic_cutout_is_there(signed_in, product_image):
    page = signed_in.get(f"/products/{product_image.product_id}/").content.decode()
    assert 'data-state="pending"' in page and f'hx-get="/photos/{product_image.pk}/cutout/"' in page

    masks.make_automatic_mask(product_image)
    card = signed_in.get(f"/photos/{product_image.pk}/cutout/").content.decode()

    auto = product_image.masks.get()
    assert 'data-state="trusted"' in card and "hx-trigger" not in card
    assert f'src="/masks/{auto.pk}/cutout.webp"' in card and "Accept this cutout" in card
    assert "data-mask-editor" in card
    webp = signed_in.get(f"/masks/{auto.pk}/cutout.webp")
    assert Image.open(io.BytesIO(downloaded(webp))).mode == "RGBA"


@pytest.mark.django_db
def test_a_refused_photo_asks_for_review_with_the_editor_open(signed_in, busy_image):
    page = signed_in.get(f"/products/{busy_image.product_id}/").content.decode()

    assert 'data-state="review"' in page and "Needs your review" in page and "too busy" in page
    assert "Accept this cutout" not in page  # there is nothing to accept
    assert f'data-review-needed="{busy_image.pk}"' in page  # said by the new-job form too
    assert '<details class="more" data-editor-toggle open>' in page
    assert 'src="/static/dashboard/mask_editor.js"' in page
    preview = signed_in.get(f"/photos/{busy_image.pk}/preview.jpg")
    assert Image.open(io.BytesIO(preview.content)).size == preview_size((busy_image.width, busy_image.height))


@pytest.mark.django_db(transaction=True)
def test_box_and_stroke_through_the_views_fix_the_photo_and_the_waiting_job_succeeds(
    signed_in, busy_image, monkeypatch
):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    job = job_requests.create_job(busy_image.product, busy_image, ["cutout", "packshot"], {})
    assert run_job_task.apply(args=[job.pk]).get() == "needs_review"

    page = signed_in.get(f"/products/{busy_image.product_id}/").content.decode()
    assert "1 job waits for this cutout; it goes on once you accept or fix it." in page

    # the refined preview while drawing
    refined = signed_in.post(f"/photos/{busy_image.pk}/mask/refine/", _strokes_post(busy_image))
    assert refined.status_code == 200 and refined["Content-Type"] == "image/png"
    assert float(refined["X-Matte-Confidence"]) >= MATTE_THRESHOLD and refined["X-Matte-Trusted"] == "yes"
    cutout = Image.open(io.BytesIO(refined.content))
    assert cutout.mode == "RGBA" and cutout.size == preview_size((busy_image.width, busy_image.height))
    assert busy_image.masks.count() == 1  # a preview stores nothing

    # saved: a new accepted version, and the job goes on to make its assets from it
    saved = signed_in.post(f"/photos/{busy_image.pk}/mask/save/", _strokes_post(busy_image))
    assert saved.status_code == 201
    body = saved.json()
    mask = busy_image.masks.get(version=body["version"])
    assert (body["version"], mask.source, mask.accepted, mask.created_by.username) == (
        2,
        "refined",
        True,
        "alice",
    )
    assert body["url"] == f"/products/{busy_image.product_id}/#cutout-review"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"
    for asset in Asset.objects.filter(job=job):
        assert asset.metrics["matte"]["confidence"] == mask.confidence == body["confidence"]
        assert asset.metrics["matte"]["version"] == 2 and asset.metrics["matte"]["trusted"] is True
    page = signed_in.get(f"/jobs/{job.pk}/").content.decode()
    assert "Product pixels unchanged" in page


@pytest.mark.django_db
def test_strokes_that_say_nothing_are_refused_by_name(signed_in, busy_image):
    empty = signed_in.post(f"/photos/{busy_image.pk}/mask/refine/", {})
    wrong = signed_in.post(
        f"/photos/{busy_image.pk}/mask/save/",
        {"box": "[1, 2, 3, 4]", "remove": io.BytesIO(png_bytes(Image.new("L", (20, 10))))},
    )

    assert empty.status_code == 400 and "draw a box around the product" in empty.json()["detail"]
    assert wrong.status_code == 400
    assert "remove strokes are 20x10 but the editor's photo is 1024x768" in wrong.json()["detail"]
    assert busy_image.masks.count() == 1


@pytest.mark.django_db
def test_accept_stores_a_new_accepted_version(signed_in, product_image):
    masks.make_automatic_mask(product_image)

    response = signed_in.post(f"/photos/{product_image.pk}/mask/accept/")

    assert response.status_code == 302 and response["Location"].endswith("#cutout-review")
    assert masks.latest_accepted(product_image).source == MaskSource.ACCEPTED
    page = signed_in.get(f"/products/{product_image.product_id}/").content.decode()
    assert 'data-state="accepted"' in page and "Accept this cutout" not in page


@pytest.mark.django_db
def test_an_uploaded_mask_of_the_wrong_size_is_a_400_naming_it(signed_in, product_image):
    masks.make_automatic_mask(product_image)
    before = stored_files()
    wrong = io.BytesIO(png_bytes(Image.new("L", (100, 100), 255)))
    wrong.name = "mask.png"

    response = signed_in.post(f"/photos/{product_image.pk}/mask/upload/", {"mask": wrong})

    assert response.status_code == 400
    assert "mask.png: The mask is 100x100 but the photo is 480x600" in response.content.decode()
    assert stored_files() == before and product_image.masks.count() == 1

    right = Image.new("L", (480, 600), 0)
    right.paste(255, (100, 100, 380, 500))
    ok = io.BytesIO(png_bytes(right))
    ok.name = "mask.png"
    assert signed_in.post(f"/photos/{product_image.pk}/mask/upload/", {"mask": ok}).status_code == 302
    assert masks.latest_accepted(product_image).source == MaskSource.UPLOADED


@pytest.mark.django_db
def test_another_merchants_photo_and_masks_answer_404_everywhere(signed_in, other_product_image):
    auto = masks.make_automatic_mask(other_product_image)
    pk = other_product_image.pk
    mask_file = io.BytesIO(png_bytes(Image.new("L", (480, 600), 255)))

    gets = [f"/photos/{pk}/cutout/", f"/photos/{pk}/preview.jpg", f"/masks/{auto.pk}/cutout.webp"]
    posts = [
        (f"/photos/{pk}/mask/accept/", {}),
        (f"/photos/{pk}/mask/upload/", {"mask": mask_file}),
        (f"/photos/{pk}/mask/refine/", {"box": "[10, 10, 100, 100]"}),
        (f"/photos/{pk}/mask/save/", {"box": "[10, 10, 100, 100]"}),
    ]

    assert [signed_in.get(url).status_code for url in gets] == [404] * 3
    assert [signed_in.post(url, data).status_code for url, data in posts] == [404] * 4
    assert other_product_image.masks.count() == 1


@pytest.mark.django_db
def test_a_cutout_that_never_came_stops_polling_and_offers_the_editor(signed_in, product_image):
    # given a photo uploaded two minutes ago whose automatic cutout was never made (no worker)
    ProductImage.objects.filter(pk=product_image.pk).update(created_at=timezone.now() - timedelta(minutes=2))

    card = signed_in.get(f"/photos/{product_image.pk}/cutout/").content.decode()

    assert 'data-state="missing"' in card and "hx-trigger" not in card
    assert "is a worker running?" in card and "data-mask-editor" in card and "Upload mask" in card
