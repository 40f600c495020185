"""API lists: products, jobs and assets, newest first, filtered, capped pages, one merchant's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shop_assets.accounts.models import ApiKey
from shop_assets.catalog.models import Product
from shop_assets.jobs.models import Asset, GenerationJob


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def at(day: int) -> datetime:
    return datetime(2026, 3, day, 12, tzinfo=UTC)


def make_job(image, *, status="queued", day=1) -> GenerationJob:
    job = GenerationJob.objects.create(
        merchant_id=image.product.merchant_id,
        product=image.product,
        image=image,
        outputs=["cutout"],
        status=status,
    )
    GenerationJob.objects.filter(pk=job.pk).update(created_at=at(day))
    return job


def make_asset(job, name: str, kind: str, day: int) -> Asset:
    asset = Asset.objects.create(
        merchant_id=job.merchant_id,
        job=job,
        kind=kind,
        name=name,
        format="png",
        width=10,
        height=10,
        storage_key=f"merchants/{job.merchant_id}/products/x/jobs/{job.pk}/{name}.png",
        size_bytes=1,
        checksum="0" * 64,
    )
    Asset.objects.filter(pk=asset.pk).update(created_at=at(day))
    return asset


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["sku"] for p in response.json()["items"]]


def test_products_filter_by_sku_search_and_dates(api, merchant, other_product_image):
    for day, sku in ((1, "MUG-1"), (5, "MUG-2"), (9, "TEE-1")):
        p = Product.objects.create(merchant=merchant, sku=sku, title=f"Item {sku}")
        Product.objects.filter(pk=p.pk).update(created_at=at(day))

    assert skus(api.get("/api/v1/products")) == ["TEE-1", "MUG-2", "MUG-1"]
    assert skus(api.get("/api/v1/products?sku=MUG-2")) == ["MUG-2"]
    assert skus(api.get("/api/v1/products?q=mug")) == ["MUG-2", "MUG-1"]
    assert skus(api.get("/api/v1/products?created_after=2026-03-05T00:00:00Z")) == ["TEE-1", "MUG-2"]
    assert skus(api.get("/api/v1/products?created_before=2026-03-05T00:00:00Z")) == ["MUG-1"]
    assert skus(api.get("/api/v1/products?sku=SECRET-1")) == []  # another merchant's SKU
    newest = api.get("/api/v1/products?limit=1").json()["items"][0]
    assert newest["created_at"].startswith("2026-03-09T12:00:00")


def test_jobs_filter_by_status_product_sku_and_dates(api, product_image, other_product_image):
    old = make_job(product_image, status="failed", day=2)
    new = make_job(product_image, status="queued", day=8)
    make_job(other_product_image, status="failed", day=3)

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/jobs{query}")
        assert response.status_code == 200, response.content
        return [j["id"] for j in response.json()["items"]]

    assert ids("") == [new.pk, old.pk]
    assert ids("?status=failed") == [old.pk]
    assert ids(f"?product_id={product_image.product_id}") == [new.pk, old.pk]
    assert ids(f"?product_id={other_product_image.product_id}") == []
    assert ids("?sku=BTL-001&created_after=2026-03-05T00:00:00Z") == [new.pk]
    assert ids("?created_before=2026-03-05T00:00:00Z") == [old.pk]


def test_job_status_filter_refuses_unknown_values(api):
    response = api.get("/api/v1/jobs?status=exploded")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request" and response.json()["field"] == "status"


def test_assets_filter_by_kind_job_product_and_dates(api, product_image, other_product_image):
    job = make_job(product_image, day=1)
    second = make_job(product_image, day=2)
    cutout = make_asset(job, "cutout", "cutout", 3)
    packshot = make_asset(second, "packshot", "packshot", 6)
    make_asset(make_job(other_product_image), "cutout", "cutout", 4)

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/assets{query}")
        assert response.status_code == 200, response.content
        return [a["id"] for a in response.json()["items"]]

    assert ids("") == [packshot.pk, cutout.pk]
    assert ids("?kind=cutout") == [cutout.pk]
    assert ids(f"?job_id={second.pk}") == [packshot.pk]
    assert ids(f"?product_id={product_image.product_id}&sku=BTL-001") == [packshot.pk, cutout.pk]
    assert ids("?created_after=2026-03-05T00:00:00Z") == [packshot.pk]
    assert api.get("/api/v1/assets?kind=hologram").json()["field"] == "kind"


def test_asset_of_another_merchant_is_404(api, other_product_image):
    theirs = make_asset(make_job(other_product_image), "cutout", "cutout", 4)

    response = api.get(f"/api/v1/assets/{theirs.pk}")

    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_asset_detail_names_its_job_and_product(api, product_image):
    asset = make_asset(make_job(product_image), "cutout", "cutout", 3)

    body = api.get(f"/api/v1/assets/{asset.pk}").json()

    assert (body["job_id"], body["product_id"], body["kind"]) == (
        asset.job_id,
        product_image.product_id,
        "cutout",
    )
    assert body["download_url"] == f"/api/v1/assets/{asset.pk}/download"


@pytest.mark.parametrize("path", ["/api/v1/products", "/api/v1/jobs", "/api/v1/assets"])
def test_list_pages_are_capped(api, path):
    response = api.get(f"{path}?limit=1000000")

    assert response.status_code == 200
    assert response.json() == {"items": [], "count": 0}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/v1/assets?product_id=595081053539655221248", "product_id"),
        ("/api/v1/jobs?product_id=0", "product_id"),
        ("/api/v1/assets?created_after=0001-01-01T00:00:00%2B05:00", "created_after"),
        ("/api/v1/products?created_before=yesterday", "created_before"),
    ],
)
def test_filter_values_the_database_cannot_compare_are_422(api, query, field):
    response = api.get(query)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_request" and response.json()["field"] == field


def test_a_date_without_a_zone_is_utc(api, merchant):
    p = Product.objects.create(merchant=merchant, sku="MUG-1", title="Mug")
    Product.objects.filter(pk=p.pk).update(created_at=at(5))

    assert skus(api.get("/api/v1/products?created_after=2026-03-05T11:59:00")) == ["MUG-1"]
    assert skus(api.get("/api/v1/products?created_after=2026-03-05T12:01:00")) == []
