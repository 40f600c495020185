"""Idempotency-Key on the API's POSTs: replay, reuse refused, per merchant, expiry, races."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from shop_assets.accounts.models import ApiKey
from shop_assets.api.models import IdempotencyKey
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.webhooks.models import WebhookEndpoint


def key_client(merchant) -> Client:
    _, secret = ApiKey.issue(merchant, "storefront")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.ALLOW_PRIVATE_URLS = True


@pytest.fixture
def api(merchant):
    return key_client(merchant)


def post(api, path: str, body: dict, key: str | None = "order-42"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(path, body, content_type="application/json", **headers)


def test_same_key_and_body_replays_the_first_answer(api):
    first = post(api, "/api/v1/products", {"sku": "MUG-1", "title": "Mug"})
    again = post(api, "/api/v1/products", {"sku": "MUG-1", "title": "Mug"})

    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Product.objects.count() == 1


def test_without_a_key_a_repeat_runs_again(api):
    post(api, "/api/v1/products", {"sku": "MUG-1", "title": "Mug"}, key=None)
    again = post(api, "/api/v1/products", {"sku": "MUG-1", "title": "Mug"}, key=None)

    assert again.status_code == 409 and again.json()["code"] == "duplicate_sku"


def test_same_key_with_another_body_is_409_and_runs_nothing(api):
    post(api, "/api/v1/products", {"sku": "MUG-1", "title": "Mug"})
    reused = post(api, "/api/v1/products", {"sku": "MUG-2", "title": "Mug"})
    other_path = post(api, "/api/v1/webhooks", {"url": "http://127.0.0.1:8001/hook"})

    for response in (reused, other_path):
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_key_reused"
    assert list(Product.objects.values_list("sku", flat=True)) == ["MUG-1"]
    assert not WebhookEndpoint.objects.exists()


def test_a_refusal_is_replayed_too(api):
    first = post(api, "/api/v1/products", {"sku": "../x", "title": "Mug"})
    again = post(api, "/api/v1/products", {"sku": "../x", "title": "Mug"})

    assert first.status_code == again.status_code == 400
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"


def test_keys_belong_to_one_merchant(api, other_merchant):
    mine = post(api, "/api/v1/products", {"sku": "MUG-1", "title": "Mug"})
    theirs = post(key_client(other_merchant), "/api/v1/products", {"sku": "MUG-1", "title": "Mug"})

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]


def test_an_expired_key_runs_again(api):
    first = post(api, "/api/v1/webhooks", {"url": "http://127.0.0.1:8001/hook"})
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    again = post(api, "/api/v1/webhooks", {"url": "http://127.0.0.1:8001/hook"})

    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert WebhookEndpoint.objects.count() == 2
    assert IdempotencyKey.objects.get().expires_at > timezone.now() + timedelta(hours=23)


def test_stored_with_a_24_hour_expiry(api):
    post(api, "/api/v1/products", {"sku": "MUG-1", "title": "Mug"})

    row = IdempotencyKey.objects.get()
    assert row.expires_at - row.created_at == timedelta(hours=24)
    assert (row.key, row.response_status) == ("order-42", 201)


def test_upload_with_a_key_stores_one_photo(api, product, photo_jpeg):
    def upload(data: bytes):
        return api.post(
            f"/api/v1/products/{product.pk}/images",
            {"file": SimpleUploadedFile("b.jpg", data, content_type="image/jpeg")},
            HTTP_IDEMPOTENCY_KEY="photo-1",
        )

    first = upload(photo_jpeg)
    again = upload(photo_jpeg)
    other = upload(photo_jpeg + b"\0")

    assert first.status_code == again.status_code == 201 and again.content == first.content
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert ProductImage.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_a_malformed_key_is_400(api, key):
    response = post(api, "/api/v1/products", {"sku": "MUG-1", "title": "Mug"}, key=key)

    assert response.status_code == 400 and response.json()["code"] == "invalid_idempotency_key"
    assert not Product.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_create_one_product(merchant, monkeypatch):
    # given a create that takes a while, so the two requests overlap
    from shop_assets.api import views

    save = views._save_product
    start = threading.Barrier(2, timeout=10)

    def slow_save(product, changed=None):
        save(product, changed)
        threading.Event().wait(0.5)

    monkeypatch.setattr(views, "_save_product", slow_save)
    clients = [key_client(merchant), key_client(merchant)]
    responses: list = [None, None]

    def send(i: int) -> None:
        start.wait()
        try:
            responses[i] = post(clients[i], "/api/v1/products", {"sku": "MUG-1", "title": "Mug"}, key="race")
        finally:
            connection.close()  # this thread's own connection, so the test database can be dropped

    # when both are sent at once with the same key and body
    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # then one product exists and both callers got its 201, one of them replayed
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].content == responses[1].content
    assert sorted(r.has_header("Idempotent-Replayed") for r in responses) == [False, True]
    assert Product.objects.count() == 1


def test_a_broken_multipart_body_with_a_key_is_400(api, product):
    response = api.post(
        f"/api/v1/products/{product.pk}/images",
        b"--x\r\nnot a part",
        content_type="multipart/form-data",
        HTTP_IDEMPOTENCY_KEY="photo-1",
    )

    assert response.status_code == 400 and response.json()["code"] == "invalid_body"
    assert not IdempotencyKey.objects.exists() and not ProductImage.objects.exists()


def test_the_hourly_purge_removes_expired_keys_of_every_merchant(api, other_merchant):
    from shop_assets.api.tasks import purge_idempotency_keys_task

    post(api, "/api/v1/products", {"sku": "MUG-1", "title": "Mug"}, key="old")
    post(api, "/api/v1/products", {"sku": "MUG-2", "title": "Mug"}, key="fresh")
    post(key_client(other_merchant), "/api/v1/products", {"sku": "MUG-1", "title": "Mug"}, key="old")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))

    removed = purge_idempotency_keys_task.apply().get()

    assert removed == 2
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
