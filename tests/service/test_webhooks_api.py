"""``/api/v1/webhooks``: create, list, change, rotate, test, deliveries, redeliver; another
merchant's ids answer 404 and change nothing."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from shop_assets.accounts.models import ApiKey
from shop_assets.webhooks.delivery import attempt_delivery
from shop_assets.webhooks.endpoints import create_endpoint
from shop_assets.webhooks.models import SUBSCRIBABLE_EVENTS, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.loopback import Receiver, Reply


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.ALLOW_PRIVATE_URLS = True


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


@pytest.fixture
def theirs(other_merchant):
    return create_endpoint(other_merchant, "http://127.0.0.1:9/theirs")


def post(api, path, data=None):
    return api.post(path, data or {}, content_type="application/json")


def test_create_answers_201_with_id_and_secret_and_defaults_to_every_event(api, merchant):
    response = post(api, "/api/v1/webhooks", {"url": "http://127.0.0.1:8001/hooks"})

    body = response.json()
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    assert response.status_code == 201
    assert body["id"] == endpoint.pk and body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 50
    assert (
        body["events"]
        == list(SUBSCRIBABLE_EVENTS)
        == [
            "asset.created",
            "job.succeeded",
            "job.failed",
            "job.needs_review",
            "batch.completed",
            "product.updated",
        ]
    )
    assert (body["url"], body["is_active"]) == ("http://127.0.0.1:8001/hooks", True)


def test_create_with_chosen_events(api):
    response = post(
        api, "/api/v1/webhooks", {"url": "http://127.0.0.1:8001/h", "events": ["job.failed", "asset.created"]}
    )

    assert response.status_code == 201
    assert response.json()["events"] == ["asset.created", "job.failed"]


@pytest.mark.parametrize(
    ("payload", "field", "detail"),
    [
        ({"url": "ftp://shop.example/in"}, "url", "Only http and https URLs are allowed, not 'ftp'."),
        ({"url": ""}, "url", "Enter the URL that should receive the webhooks."),
        (
            {"url": "http://127.0.0.1:8001/h", "events": ["job.exploded"]},
            "events",
            "Unknown event type(s): job.exploded. Choose from asset.created, job.succeeded, job.failed, "
            "job.needs_review, batch.completed, product.updated.",
        ),
        ({"url": "http://127.0.0.1:8001/h", "events": []}, "events", "Choose at least one event type."),
        (
            {"url": "http://169.254.169.254/latest"},
            "url",
            "Refused: 169.254.169.254 is a cloud metadata address.",
        ),
    ],
)
def test_invalid_endpoints_are_refused_naming_the_field(api, payload, field, detail):
    response = post(api, "/api/v1/webhooks", payload)

    assert response.status_code == 400
    assert response.json() == {"code": "invalid_webhook", "detail": detail, "field": field}
    assert WebhookEndpoint.objects.count() == 0


def test_private_addresses_are_refused_at_the_door_in_production(api, settings):
    settings.ALLOW_PRIVATE_URLS = False

    response = post(api, "/api/v1/webhooks", {"url": "http://2130706433:8001/hooks"})

    assert response.status_code == 400
    assert response.json()["detail"] == "Refused: 127.0.0.1 is a loopback address."
    assert WebhookEndpoint.objects.count() == 0


def test_list_get_update_and_delete_own_endpoints(api, merchant, theirs):
    mine = create_endpoint(merchant, "http://127.0.0.1:9/a")

    listing = api.get("/api/v1/webhooks").json()
    got = api.get(f"/api/v1/webhooks/{mine.pk}").json()
    patched = api.patch(
        f"/api/v1/webhooks/{mine.pk}",
        {"url": "http://127.0.0.1:9/b", "events": ["job.succeeded"], "description": "Shopify app"},
        content_type="application/json",
    )
    deleted = api.delete(f"/api/v1/webhooks/{mine.pk}")

    assert [e["id"] for e in listing["items"]] == [mine.pk] and listing["count"] == 1
    assert "secret" not in got and got["url"] == "http://127.0.0.1:9/a"
    assert patched.status_code == 200
    assert (patched.json()["url"], patched.json()["events"], patched.json()["description"]) == (
        "http://127.0.0.1:9/b",
        ["job.succeeded"],
        "Shopify app",
    )
    assert deleted.status_code == 204
    assert list(WebhookEndpoint.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_re_enabling_clears_why_it_was_disabled(api, merchant):
    endpoint = create_endpoint(merchant, "http://127.0.0.1:9/a")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason="410 Gone")

    response = api.patch(
        f"/api/v1/webhooks/{endpoint.pk}", {"is_active": True}, content_type="application/json"
    )

    assert response.status_code == 200
    assert (response.json()["is_active"], response.json()["disabled_reason"]) == (True, "")


def test_rotate_secret_and_read_it(api, merchant):
    endpoint = create_endpoint(merchant, "http://127.0.0.1:9/a")
    old = endpoint.secret

    rotated = post(api, f"/api/v1/webhooks/{endpoint.pk}/rotate-secret").json()
    read = api.get(f"/api/v1/webhooks/{endpoint.pk}/secret").json()

    endpoint.refresh_from_db()
    assert rotated["secret"] == endpoint.secret == read["secret"] != old
    assert endpoint.previous_secret == old
    assert read["previous_secret_expires_at"] is not None


def test_test_event_goes_through_the_normal_delivery_path(api, merchant, django_capture_on_commit_callbacks):
    with Receiver([Reply(200)]) as shop:
        endpoint = create_endpoint(merchant, f"{shop.url}/hooks")
        other = create_endpoint(merchant, f"{shop.url}/other")

        with django_capture_on_commit_callbacks() as callbacks:
            response = post(api, f"/api/v1/webhooks/{endpoint.pk}/test")
        attempt_delivery(response.json()["id"])

    body = response.json()
    [received] = shop.received
    payload = Webhook(endpoint.secret).verify(received.body, received.headers)
    assert response.status_code == 202
    assert (body["event_type"], body["status"], body["attempts"]) == ("webhook.test", "pending", [])
    assert len(callbacks) == 1  # queued for the workers after commit
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint"] == {"id": endpoint.pk, "url": f"{shop.url}/hooks"}
    assert received.path == "/hooks" and received.headers["webhook-id"] == body["event_id"]
    assert not WebhookDelivery.objects.filter(endpoint=other).exists()


def test_deliveries_with_attempts_and_redelivery(api, merchant):
    with Receiver([Reply(500, b"oops"), Reply(200, b"fine")]) as shop:
        endpoint = create_endpoint(merchant, shop.url)
        test = post(api, f"/api/v1/webhooks/{endpoint.pk}/test").json()
        attempt_delivery(test["id"])

        listing = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries?status=pending").json()
        redelivered = post(api, f"/api/v1/webhooks/{endpoint.pk}/deliveries/{test['id']}/redeliver")
        attempt_delivery(test["id"])
        detail = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/{test['id']}").json()

    [pending] = listing["items"]
    assert pending["id"] == test["id"] and pending["attempts"][0]["status_code"] == 500
    assert pending["attempts"][0]["response_excerpt"] == "oops"
    assert redelivered.status_code == 202 and redelivered.json()["status"] == "pending"
    assert detail["status"] == "succeeded"
    assert [(a["number"], a["status_code"], a["manual"]) for a in detail["attempts"]] == [
        (1, 500, False),
        (2, 200, True),
    ]
    assert shop.received[0].headers["webhook-id"] == shop.received[1].headers["webhook-id"]


def test_redelivery_to_a_disabled_endpoint_is_refused(api, merchant):
    endpoint = create_endpoint(merchant, "http://127.0.0.1:9/a")
    from django.db import transaction

    from shop_assets.webhooks.events import record_event

    with transaction.atomic():
        event = record_event(merchant, "product.updated", {"product": {"sku": "X"}})
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason="410")
    delivery = event.deliveries.get()

    response = post(api, f"/api/v1/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver")

    assert response.status_code == 409
    assert response.json()["detail"] == "The endpoint is disabled; enable it before redelivering."


def test_another_merchants_ids_answer_404_and_change_nothing(api, merchant, theirs):
    from django.db import transaction

    from shop_assets.webhooks.events import record_event

    with transaction.atomic():
        their_event = record_event(theirs.merchant_id, "product.updated", {"product": {"sku": "S"}})
    their_delivery = their_event.deliveries.get()
    mine = create_endpoint(merchant, "http://127.0.0.1:9/mine")
    secret = theirs.secret
    base = f"/api/v1/webhooks/{theirs.pk}"

    answers = [
        api.get(base),
        api.get(f"{base}/secret"),
        api.patch(base, {"url": "http://127.0.0.1:9/stolen"}, content_type="application/json"),
        api.delete(base),
        post(api, f"{base}/rotate-secret"),
        post(api, f"{base}/test"),
        api.get(f"{base}/deliveries"),
        api.get(f"{base}/deliveries/{their_delivery.pk}"),
        post(api, f"{base}/deliveries/{their_delivery.pk}/redeliver"),
        # their delivery through my endpoint's path
        api.get(f"/api/v1/webhooks/{mine.pk}/deliveries/{their_delivery.pk}"),
        post(api, f"/api/v1/webhooks/{mine.pk}/deliveries/{their_delivery.pk}/redeliver"),
    ]

    theirs.refresh_from_db()
    their_delivery.refresh_from_db()
    assert [a.status_code for a in answers] == [404] * 11
    assert all(secret not in a.content.decode() for a in answers)
    assert (theirs.url, theirs.secret) == ("http://127.0.0.1:9/theirs", secret)
    assert WebhookEvent.objects.filter(type="webhook.test").count() == 0
    assert their_delivery.dispatched_at is None


def test_webhooks_need_an_api_key(client, theirs):
    assert client.get("/api/v1/webhooks").status_code == 401
    assert (
        client.post("/api/v1/webhooks", {"url": "http://x"}, content_type="application/json").status_code
        == 401
    )
