"""API products: merchant defaults on create, PATCH (409 on a SKU collision, product.updated),
DELETE with every stored file of the product."""

from __future__ import annotations

import pytest

from shop_assets.accounts.models import ApiKey
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs.models import Asset, GenerationJob
from shop_assets.webhooks.models import WebhookEvent
from tests.conftest import stored_asset, stored_files


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def patch(api, product_id: int, body: dict):
    return api.patch(f"/api/v1/products/{product_id}", body, content_type="application/json")


def test_created_product_takes_the_merchants_currency(api, merchant):
    merchant.default_currency = "EUR"
    merchant.save()

    default = api.post("/api/v1/products", {"sku": "A-1", "title": "A"}, content_type="application/json")
    chosen = api.post(
        "/api/v1/products", {"sku": "A-2", "title": "A", "currency": "gbp"}, content_type="application/json"
    )

    assert default.status_code == 201 and default.json()["currency"] == "EUR"
    assert chosen.status_code == 201 and chosen.json()["currency"] == "GBP"


def test_patch_changes_only_the_fields_sent_and_emits_product_updated(api, product):
    response = patch(api, product.pk, {"title": "Hand wash 500 ml", "price": "11.50"})

    product.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["title"] == "Hand wash 500 ml" and response.json()["sku"] == "BTL-001"
    assert (product.title, str(product.price), product.currency) == ("Hand wash 500 ml", "11.50", "USD")
    event = WebhookEvent.objects.get(type="product.updated")
    assert event.payload["changed"] == ["price", "title"]
    assert event.payload["product"]["title"] == "Hand wash 500 ml"


def test_patch_without_a_change_emits_nothing(api, product):
    response = patch(api, product.pk, {"title": product.title})

    assert response.status_code == 200
    assert not WebhookEvent.objects.exists()


def test_patch_to_an_existing_sku_is_409_and_changes_nothing(api, merchant, product):
    Product.objects.create(merchant=merchant, sku="TAKEN-1", title="Other")

    response = patch(api, product.pk, {"sku": "TAKEN-1", "title": "Renamed"})

    product.refresh_from_db()
    assert response.status_code == 409
    assert response.json() == {
        "code": "duplicate_sku",
        "detail": "A product with SKU 'TAKEN-1' already exists.",
        "field": "sku",
    }
    assert (product.sku, product.title) == ("BTL-001", "Hand wash")
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"sku": "../x"}, "sku"), ({"brand_color": "red"}, "brand_color"), ({"title": None}, "title")],
)
def test_patch_with_a_bad_value_is_400_naming_the_field(api, product, body, field):
    response = patch(api, product.pk, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_product" and response.json()["field"] == field
    product.refresh_from_db()
    assert product.sku == "BTL-001" and product.title == "Hand wash"


def test_patch_and_delete_of_another_merchants_product_are_404(api, other_product_image):
    theirs = other_product_image.product

    patched = patch(api, theirs.pk, {"title": "Mine now"})
    deleted = api.delete(f"/api/v1/products/{theirs.pk}")

    assert patched.status_code == 404 and patched.json()["code"] == "not_found"
    assert deleted.status_code == 404 and deleted.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.title == "Their product" and ProductImage.objects.filter(pk=other_product_image.pk).exists()


def test_delete_removes_the_product_its_photos_jobs_assets_and_files(
    api, product_image, other_product_image, django_capture_on_commit_callbacks
):
    job = GenerationJob.objects.create(
        merchant_id=product_image.product.merchant_id,
        product=product_image.product,
        image=product_image,
        outputs=["cutout"],
        status="succeeded",
    )
    key = stored_asset(job).storage_key
    theirs = (
        set(stored_files())
        - {key}
        - {product_image.original_key, product_image.normalized_key, product_image.thumbnail_key}
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/products/{product_image.product_id}")

    assert response.status_code == 204
    assert not Product.objects.filter(pk=product_image.product_id).exists()
    assert not GenerationJob.objects.filter(pk=job.pk).exists() and not Asset.objects.exists()
    assert set(stored_files()) == theirs  # the other merchant's photo files are still there
    assert other_product_image.original_key in theirs


def test_delete_while_a_job_is_queued_is_409_and_removes_nothing(api, product_image):
    GenerationJob.objects.create(
        merchant_id=product_image.product.merchant_id,
        product=product_image.product,
        image=product_image,
        outputs=["cutout"],
    )
    before = stored_files()

    response = api.delete(f"/api/v1/products/{product_image.product_id}")

    assert response.status_code == 409 and response.json()["code"] == "jobs_in_progress"
    assert Product.objects.filter(pk=product_image.product_id).exists() and stored_files() == before
