"""Floods, replayed: API requests per key, uploads per merchant, jobs in flight, huge pages."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import Form
from django.test import Client
from django.urls import reverse

from shop_assets.accounts.models import ApiKey
from shop_assets.api.views import api as ninja_api
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.dashboard.forms import JobForm
from shop_assets.jobs.models import GenerationJob, JobStatus
from tests.conftest import stored_files

pytestmark = pytest.mark.usefixtures("fresh_cache")


def _key_client(merchant) -> Client:
    _, secret = ApiKey.issue(merchant, "storefront")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _photo(photo_jpeg: bytes, name: str = "b.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, photo_jpeg, content_type="image/jpeg")


def test_an_api_key_past_its_rate_gets_429_with_retry_after_and_nothing_done(merchant, settings):
    # given a rate of 5 requests a minute per key
    settings.API_RATE = "5/m"
    flooding, other_key = _key_client(merchant), _key_client(merchant)

    # when one key sends 8 requests
    statuses = [flooding.get("/api/v1/products").status_code for _ in range(5)]
    refused = flooding.post(
        "/api/v1/products", {"sku": "FLOOD-1", "title": "x"}, content_type="application/json"
    )
    again = flooding.get("/api/v1/products")

    # then the 6th and later are refused with the wait, and the refused create did nothing
    assert statuses == [200] * 5
    assert (refused.status_code, again.status_code) == (429, 429)
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json() == {
        "code": "rate_limited",
        "detail": "This API key is limited to 5 requests a minute; "
        f"try again in {int(refused['Retry-After'])} second{'s' if refused['Retry-After'] != '1' else ''}.",
    }
    assert not Product.objects.filter(sku="FLOOD-1").exists()
    # and another key of the same shop has its own allowance
    assert other_key.get("/api/v1/products").status_code == 200


def test_uploads_per_minute_are_counted_per_merchant_across_api_and_dashboard(
    merchant, other_merchant, user, product, photo_jpeg, settings
):
    # given 3 uploads a minute per merchant
    settings.UPLOADS_PER_MINUTE = 3
    key = _key_client(merchant)
    dashboard = Client()
    dashboard.force_login(user)
    url = f"/api/v1/products/{product.pk}/images"

    # when the shop uploads 3 photos through the API, then one more through each door
    accepted = [key.post(url, {"file": _photo(photo_jpeg)}).status_code for _ in range(3)]
    before = stored_files()
    by_api = key.post(url, {"file": _photo(photo_jpeg)})
    by_dashboard = dashboard.post(
        reverse("dashboard:product_upload", args=[product.pk]), {"photo": _photo(photo_jpeg, "d.jpg")}
    )

    # then both are refused with 429, the wait and a sentence saying why; nothing stored
    assert accepted == [201] * 3
    assert by_api.status_code == 429 and by_api.json()["code"] == "too_many_uploads"
    assert by_api.json()["detail"].startswith("Your shop can upload 3 photos a minute; try again in ")
    assert 1 <= int(by_api["Retry-After"]) <= 60
    assert by_dashboard.status_code == 429 and 1 <= int(by_dashboard["Retry-After"]) <= 60
    assert "d.jpg: Your shop can upload 3 photos a minute" in by_dashboard.content.decode()
    assert ProductImage.objects.count() == 3 and stored_files() == before

    # and another merchant uploads as usual
    theirs = Product.objects.create(merchant=other_merchant, sku="T-1", title="Theirs")
    response = _key_client(other_merchant).post(
        f"/api/v1/products/{theirs.pk}/images", {"file": _photo(photo_jpeg)}
    )
    assert response.status_code == 201


def _form_defaults(form: Form) -> dict[str, object]:
    """What a browser posts when nothing on the form is changed."""
    return {name: form[name].initial for name in form.fields if form[name].initial is not None}


def _job_request(client: Client, image: ProductImage):
    return client.post(
        "/api/v1/jobs",
        {"product_id": image.product_id, "outputs": ["packshot"]},
        content_type="application/json",
    )


def test_jobs_in_flight_are_capped_per_merchant(merchant, user, product_image, other_product_image, settings):
    # given at most 2 queued or running jobs per merchant
    settings.MAX_QUEUED_JOBS = 2
    key = _key_client(merchant)
    dashboard = Client()
    dashboard.force_login(user)

    # when the shop asks for 3 jobs through the API and 1 through the dashboard
    first, second, third = (_job_request(key, product_image) for _ in range(3))
    by_dashboard = dashboard.post(
        reverse("dashboard:job_start", args=[product_image.product_id]),
        {**_form_defaults(JobForm()), "image": product_image.pk, "outputs": ["packshot"]},
    )

    # then the third and the fourth are refused, and only two jobs exist
    assert (first.status_code, second.status_code) == (202, 202)
    assert third.status_code == 429 and third["Retry-After"] == "30"
    assert third.json() == {
        "code": "too_many_jobs",
        "detail": "Your shop has 2 jobs queued or running and the limit is 2; "
        "start more when some have finished.",
    }
    assert by_dashboard.status_code == 429 and by_dashboard["Retry-After"] == "30"
    assert "Your shop has 2 jobs queued or running and the limit is 2" in by_dashboard.content.decode()
    assert GenerationJob.objects.filter(merchant=merchant).count() == 2

    # and another merchant is not held back
    assert (
        _job_request(_key_client(other_product_image.product.merchant), other_product_image).status_code
        == 202
    )

    # when one of the shop's jobs finishes, there is room for one more
    GenerationJob.objects.filter(pk=first.json()["id"]).update(status=JobStatus.SUCCEEDED)
    assert _job_request(key, product_image).status_code == 202
    assert _job_request(key, product_image).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_job_requests_cannot_pass_the_quota_together(
    live_server, merchant, product_image, settings, monkeypatch
):
    # given room for 3 jobs, and ten requests sent at the same moment
    monkeypatch.setattr("shop_assets.jobs.requests.enqueue", lambda job_id, queue: None)
    settings.MAX_QUEUED_JOBS = 3
    _, secret = ApiKey.issue(merchant, "storefront")
    start = threading.Barrier(10)

    def ask(_: int) -> int:
        start.wait(timeout=30)
        return requests.post(
            f"{live_server.url}/api/v1/jobs",
            json={"product_id": product_image.product_id, "outputs": ["packshot"]},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=120,
        ).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = sorted(pool.map(ask, range(10)))

    # then exactly three got in
    assert statuses == [202] * 3 + [429] * 7
    assert GenerationJob.objects.filter(merchant=merchant).count() == 3


@pytest.mark.parametrize(
    ("query", "status", "items"),
    [
        ("limit=1000000", 200, 100),
        (f"limit={10**30}", 200, 100),
        ("limit=7&offset=3", 200, 7),
        ("", 200, 50),
        (f"offset={10**30}", 422, None),
        ("offset=1000000001", 422, None),
        ("offset=1000000000", 200, 0),
        ("limit=0", 422, None),
    ],
)
def test_huge_limit_is_capped_and_huge_offset_is_a_client_error(merchant, query, status, items):
    # given a shop with 120 products
    Product.objects.bulk_create(Product(merchant=merchant, sku=f"P-{i:03}", title="p") for i in range(120))

    # when a page is asked for with an extreme limit or offset
    response = _key_client(merchant).get(f"/api/v1/products?{query}")

    # then it is a page of at most 100, or a 422 naming the field, never a server error
    assert response.status_code == status, response.content
    if items is not None:
        assert len(response.json()["items"]) == items and response.json()["count"] == 120
    else:
        assert response.json()["field"] in ("offset", "limit")


def test_every_paginated_api_list_is_capped():
    # given the served OpenAPI schema
    schema = ninja_api.get_openapi_schema()

    # then every operation taking limit/offset bounds its offset (the capped paginator)
    lists = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            params = {p["name"]: p for p in operation.get("parameters", [])}
            if "limit" in params:
                lists.append(f"{method} {path}")
                assert params["offset"]["schema"]["maximum"] == 1_000_000_000, path
                assert "capped" in params["limit"]["schema"]["description"], path
    assert "get /api/v1/products" in lists
