"""REST API: key auth, merchant scoping, upload refusals as JSON, jobs and downloads."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shop_assets.accounts.models import ApiKey
from shop_assets.catalog.models import ProductImage
from shop_assets.jobs.models import GenerationJob
from tests.conftest import stored_files


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def test_requests_without_a_valid_key_are_refused(client, product):
    assert client.get("/api/v1/products").status_code == 401
    wrong = client.get("/api/v1/products", HTTP_AUTHORIZATION="Bearer sa_nope.nope")
    assert wrong.status_code == 401


def test_revoked_key_is_refused(client, merchant):
    key, secret = ApiKey.issue(merchant, "old")
    key.revoked = True
    key.save()
    assert client.get("/api/v1/products", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_list_create_and_scope_products(api, product, other_product_image):
    created = api.post(
        "/api/v1/products",
        {"sku": "CUP-2", "title": "Cup", "price": "4.50", "currency": "eur"},
        content_type="application/json",
    )
    duplicate = api.post(
        "/api/v1/products", {"sku": "CUP-2", "title": "Cup"}, content_type="application/json"
    )
    listing = api.get("/api/v1/products").json()
    theirs = api.get(f"/api/v1/products/{other_product_image.product_id}")

    assert created.status_code == 201 and created.json()["currency"] == "EUR"
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_sku"
    assert sorted(p["sku"] for p in listing["items"]) == ["BTL-001", "CUP-2"]
    assert theirs.status_code == 404


def test_invalid_sku_is_a_400_naming_the_field(api):
    response = api.post("/api/v1/products", {"sku": "../etc", "title": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("sku:")


def test_upload_refusal_is_json_and_stores_nothing(api, product):
    before = stored_files()
    response = api.post(
        f"/api/v1/products/{product.pk}/images",
        {"file": SimpleUploadedFile("x.gif", b"GIF89a" + b"\0" * 100)},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_format"
    assert not ProductImage.objects.exists() and stored_files() == before


@pytest.mark.django_db(transaction=True)
def test_upload_create_job_poll_and_download(api, product, photo_jpeg, monkeypatch):
    from shop_assets.jobs.tasks import run_job_task

    monkeypatch.setattr("shop_assets.jobs.requests.enqueue", lambda job_id, queue: None)
    image = api.post(
        f"/api/v1/products/{product.pk}/images",
        {"file": SimpleUploadedFile("b.jpg", photo_jpeg, content_type="image/jpeg")},
    )
    job = api.post(
        "/api/v1/jobs", {"product_id": product.pk, "outputs": ["packshot"]}, content_type="application/json"
    )
    run_job_task.apply(args=[job.json()["id"]]).get()
    done = api.get(f"/api/v1/jobs/{job.json()['id']}").json()
    download = api.get(done["assets"][0]["download_url"])

    assert image.status_code == 201 and image.json()["width"] == 480
    assert job.status_code == 202 and job.json()["status"] == "queued"
    assert done["status"] == "succeeded" and done["progress"] == 100
    assert done["assets"][0]["metrics"]["fidelity"]["identical"] is True
    assert download.status_code in (200, 302)


def test_bad_job_request_names_the_problem(api, product_image):
    response = api.post(
        "/api/v1/jobs",
        {"product_id": product_image.product_id, "outputs": ["hologram"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "hologram" in response.json()["detail"]
    assert not GenerationJob.objects.exists()


def test_other_merchants_job_is_404(api, other_product_image):
    job = GenerationJob.objects.create(
        merchant=other_product_image.product.merchant,
        product=other_product_image.product,
        image=other_product_image,
        outputs=["packshot"],
    )
    assert api.get(f"/api/v1/jobs/{job.pk}").status_code == 404
    assert (
        api.post(
            "/api/v1/jobs",
            {"product_id": other_product_image.product_id, "outputs": ["packshot"]},
            content_type="application/json",
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "parameters",
    [
        {"scene": "marble"},
        {"packshot": {"colour": "red"}},
        {"packshot": ["x"]},
        {"clip": {"duration": "long"}},
    ],
)
def test_malformed_job_parameters_are_a_400(api, product_image, parameters):
    outputs = [next(iter(parameters))]
    response = api.post(
        "/api/v1/jobs",
        {"product_id": product_image.product_id, "outputs": outputs, "parameters": parameters},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_request"
    assert not GenerationJob.objects.exists()


def test_key_last_used_is_recorded_to_the_minute(client, merchant, product):
    from datetime import timedelta

    key, secret = ApiKey.issue(merchant, "storefront")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    client.get("/api/v1/products", **auth)
    key.refresh_from_db()
    first = key.last_used_at
    client.get("/api/v1/products", **auth)
    key.refresh_from_db()
    unchanged = key.last_used_at
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/products", **auth)
    key.refresh_from_db()

    assert first is not None and unchanged == first
    assert key.last_used_at > first
