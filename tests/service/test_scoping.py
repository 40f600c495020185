"""One merchant never sees another's products, photos, jobs or assets: every id answers 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from shop_assets.jobs.models import Asset, GenerationJob


@pytest.fixture
def their_job_and_asset(other_product_image):
    job = GenerationJob.objects.create(
        merchant=other_product_image.product.merchant,
        product=other_product_image.product,
        image=other_product_image,
        outputs=["packshot"],
        status="succeeded",
    )
    asset = Asset.objects.create(
        merchant=job.merchant,
        job=job,
        kind="packshot",
        name="packshot",
        format="jpg",
        width=1,
        height=1,
        storage_key=other_product_image.original_key,
        size_bytes=1,
        checksum="0" * 64,
    )
    return job, asset


@pytest.mark.parametrize(
    ("route", "target", "method"),
    [
        ("dashboard:product", "product", "get"),
        ("dashboard:product_upload", "product", "post"),
        ("dashboard:job_start", "product", "post"),
        ("dashboard:job", "job", "get"),
        ("dashboard:job_progress", "job", "get"),
        ("dashboard:job_zip", "job", "get"),
        ("dashboard:asset_download", "asset", "get"),
        ("dashboard:asset_preview", "asset", "get"),
        ("dashboard:image_thumbnail", "image", "get"),
    ],
)
def test_other_merchants_ids_answer_404(
    signed_in, other_product_image, their_job_and_asset, route, target, method
):
    job, asset = their_job_and_asset
    ids = {
        "product": other_product_image.product_id,
        "job": job.pk,
        "asset": asset.pk,
        "image": other_product_image.pk,
    }

    response = getattr(signed_in, method)(reverse(route, args=[ids[target]]))

    assert response.status_code == 404
    assert GenerationJob.objects.count() == 1  # nothing was started on their product


def test_own_ids_answer(signed_in, product_image, settings):
    assert signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).status_code == 200
    thumb = signed_in.get(reverse("dashboard:image_thumbnail", args=[product_image.pk]))
    if settings.S3_BUCKET:  # a short-lived presigned URL to the object
        assert thumb.status_code == 302 and "X-Amz-Signature" in thumb["Location"]
        assert product_image.thumbnail_key in thumb["Location"]
    else:
        assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
