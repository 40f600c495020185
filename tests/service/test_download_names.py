"""Downloads are named ``<SKU>-<kind>-<name>.<ext>`` in the dashboard and the API."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from shop_assets.accounts.models import ApiKey
from shop_assets.catalog.models import Product
from shop_assets.jobs.models import Asset, GenerationJob


def _asset(product_image, *, kind: str, name: str, sku: str | None = None) -> Asset:
    product = product_image.product
    if sku is not None:
        Product.objects.filter(pk=product.pk).update(sku=sku)
        product.refresh_from_db()
    job = GenerationJob.objects.create(
        merchant=product.merchant, product=product, image=product_image, outputs=[kind], status="succeeded"
    )
    key = f"merchants/{product.merchant_id}/products/x/jobs/{job.pk}/{name}.png"
    default_storage.save(key, ContentFile(b"\x89PNG\r\n\x1a\nrest"))
    return Asset.objects.create(
        merchant=product.merchant,
        job=job,
        kind=kind,
        name=name,
        format="png",
        width=1,
        height=1,
        storage_key=key,
        size_bytes=12,
        checksum="0",
    )


@pytest.mark.parametrize(
    ("kind", "name", "sku", "expected"),
    [
        ("packshot", "packshot", None, "BTL-001-packshot.png"),
        ("scene", "scene-marble_counter-02", None, "BTL-001-scene-marble_counter-02.png"),
        ("poster", "poster-hero_left-feed", None, "BTL-001-poster-hero_left-feed.png"),
        ("cutout", "cutout", 'A B/"C";\u6c34', "A-B-C-cutout.png"),
    ],
)
def test_download_filename(product_image, kind, name, sku, expected):
    asset = _asset(product_image, kind=kind, name=name, sku=sku)

    assert asset.download_filename == expected


def test_dashboard_and_api_downloads_carry_the_name(signed_in, client, product_image, settings):
    asset = _asset(product_image, kind="scene", name="scene-marble_counter-01")
    _, secret = ApiKey.issue(product_image.product.merchant, "test")

    dashboard = signed_in.get(reverse("dashboard:asset_download", args=[asset.pk]))
    api = client.get(f"/api/v1/assets/{asset.pk}/download", HTTP_AUTHORIZATION=f"Bearer {secret}")

    expected = "BTL-001-scene-marble_counter-01.png"
    if settings.S3_BUCKET:
        assert expected in dashboard["Location"] and expected in api["Location"]
    else:
        assert dashboard["Content-Disposition"] == f'attachment; filename="{expected}"'
        assert api["Content-Disposition"] == f'attachment; filename="{expected}"'
