"""The API's one error shape, ``{"code", "detail", "field"?}``, for every status it refuses with."""

from __future__ import annotations

import json

import pytest

from shop_assets.accounts.models import ApiKey
from shop_assets.api.views import api as ninja_api
from shop_assets.catalog.models import Product


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def error_of(response) -> dict:
    """The body, checked to be exactly the error shape."""
    assert response["Content-Type"].startswith("application/json"), response.content
    body = json.loads(response.content)
    assert {"code", "detail"} <= set(body) <= {"code", "detail", "field"}, body
    assert all(isinstance(value, str) and value for value in body.values()), body
    return body


def test_missing_key_is_401_with_the_shape(client):
    response = client.get("/api/v1/products")

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_another_merchants_product_is_404_with_the_shape(api, other_product_image):
    response = api.get(f"/api/v1/products/{other_product_image.product_id}")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert "SECRET" not in response.content.decode()


def test_unknown_api_url_is_404_with_the_shape(api):
    response = api.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert error_of(response) == {
        "code": "not_found",
        "detail": "There is no API endpoint at /api/v1/nothing-here.",
    }


def test_wrong_method_is_405_with_the_shape_and_allow(api, product):
    response = api.put(f"/api/v1/products/{product.pk}", {}, content_type="application/json")

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_request_validation_is_422_naming_the_field(api):
    response = api.post("/api/v1/products", {"sku": "A-1"}, content_type="application/json")

    assert response.status_code == 422
    body = error_of(response)
    assert body["code"] == "invalid_request" and body["field"] == "title"
    assert body["detail"].startswith("title:")
    assert not Product.objects.exists()


def test_query_validation_names_the_parameter(api):
    response = api.get("/api/v1/products?limit=0")

    assert response.status_code == 422
    assert error_of(response)["field"] == "limit"


def test_model_validation_is_400_naming_the_field(api):
    response = api.post("/api/v1/products", {"sku": "../etc", "title": "x"}, content_type="application/json")

    assert response.status_code == 400
    assert error_of(response) | {"detail": ""} == {"code": "invalid_product", "field": "sku", "detail": ""}


def test_duplicate_sku_is_409_with_the_shape(api, product):
    response = api.post(
        "/api/v1/products", {"sku": product.sku, "title": "x"}, content_type="application/json"
    )

    assert response.status_code == 409
    assert error_of(response) | {"detail": ""} == {"code": "duplicate_sku", "field": "sku", "detail": ""}


def test_unexpected_error_is_500_with_the_shape(api, monkeypatch):
    def broken(request):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("shop_assets.api.views._products", broken)
    response = api.get("/api/v1/products")

    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
    assert "fire" not in response.content.decode()


def test_schema_documents_the_error_shape_on_every_operation():
    schema = ninja_api.get_openapi_schema()

    assert set(schema["components"]["schemas"]["ErrorOut"]["properties"]) == {"code", "detail", "field"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in (401, 422, 429, 500) + (
                (404,) if "{" in path or "requestBody" in operation else ()
            ):
                assert status in operation["responses"], f"{method} {path} lacks {status}"


def test_rate_limited_is_429_with_the_shape(api, settings, fresh_cache):
    settings.API_RATE = "2/m"

    statuses = [api.get("/api/v1/products").status_code for _ in range(3)]
    refused = api.get("/api/v1/products")

    assert statuses == [200, 200, 429] and refused.status_code == 429
    assert error_of(refused)["code"] == "rate_limited" and int(refused["Retry-After"]) > 0


def test_a_nested_field_is_named_by_its_path(api, product):
    response = api.patch(f"/api/v1/products/{product.pk}", {"price": ["x"]}, content_type="application/json")
    listed = api.post(
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/h", "events": ["job.failed", 7]},
        content_type="application/json",
    )

    assert response.status_code == 422 and error_of(response)["field"] == "price"
    assert listed.status_code == 422 and error_of(listed)["field"] == "events[1]"


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/api/v1/jobs", "a job is a JSON object"),
        ("/api/v1/campaigns", "a campaign is a JSON object"),
        ("/api/v1/assets/1/rerender", "a re-render is a JSON object"),
    ],
)
def test_a_body_that_is_not_an_object_is_400_naming_what_it_should_be(api, path, detail):
    response = api.post(path, [1, 2], content_type="application/json")

    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_request", "detail": detail}
