"""Webhook endpoints in the dashboard: add, edit, reveal and rotate the secret, send a
test event, read the delivery log with its attempts, redeliver; scoped to the merchant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shop_assets.webhooks.delivery import attempt_delivery
from shop_assets.webhooks.endpoints import create_endpoint
from shop_assets.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.loopback import Receiver, Reply


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.ALLOW_PRIVATE_URLS = True


def test_adding_an_endpoint_with_chosen_events(signed_in, merchant):
    response = signed_in.post(
        "/webhooks/",
        {
            "url": "http://127.0.0.1:9/hooks",
            "description": "Storefront",
            "events": ["job.succeeded", "asset.created"],
        },
    )

    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    assert response.status_code == 302 and response["Location"] == f"/webhooks/{endpoint.pk}/"
    assert (endpoint.url, endpoint.description) == ("http://127.0.0.1:9/hooks", "Storefront")
    assert endpoint.events == ["asset.created", "job.succeeded"]


def test_a_refused_url_is_a_field_error_and_nothing_is_saved(signed_in, settings):
    settings.ALLOW_PRIVATE_URLS = False

    response = signed_in.post("/webhooks/", {"url": "http://169.254.169.254/", "events": ["job.failed"]})

    assert response.status_code == 400
    assert "Refused: 169.254.169.254 is a cloud metadata address." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_secret_is_hidden_until_revealed(signed_in, merchant):
    endpoint = create_endpoint(merchant, "http://127.0.0.1:9/hooks")

    page = signed_in.get(f"/webhooks/{endpoint.pk}/")
    revealed = signed_in.get(f"/webhooks/{endpoint.pk}/secret/", HTTP_HX_REQUEST="true")
    without_js = signed_in.get(f"/webhooks/{endpoint.pk}/secret/")

    assert endpoint.secret not in page.content.decode()
    assert endpoint.secret in revealed.content.decode() and revealed["Cache-Control"] == "no-store"
    assert without_js.status_code == 302 and without_js["Location"] == f"/webhooks/{endpoint.pk}/?reveal=1"
    assert endpoint.secret in signed_in.get(without_js["Location"]).content.decode()


def test_rotating_keeps_the_old_secret_signing_for_a_day(signed_in, merchant):
    endpoint = create_endpoint(merchant, "http://127.0.0.1:9/hooks")
    old = endpoint.secret

    response = signed_in.post(f"/webhooks/{endpoint.pk}/rotate/", follow=True)

    endpoint.refresh_from_db()
    page = response.content.decode()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in page
    assert "signed with both the old and the new secret" in page
    assert "The previous secret also signs every webhook until" in page


def test_send_test_then_the_log_shows_each_attempt_and_redeliver_sends_again(signed_in, merchant):
    with Receiver([Reply(503, b"maintenance"), Reply(200, b"thanks")]) as shop:
        endpoint = create_endpoint(merchant, f"{shop.url}/hooks")
        signed_in.post(f"/webhooks/{endpoint.pk}/test/")
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        attempt_delivery(delivery.pk)

        log = signed_in.get(f"/webhooks/{endpoint.pk}/").content.decode()
        redelivered = signed_in.post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
        attempt_delivery(delivery.pk)
        fragment = signed_in.get(f"/webhooks/{endpoint.pk}/deliveries/").content.decode()

    delivery.refresh_from_db()
    assert delivery.event.type == "webhook.test" and len(shop.received) == 2
    assert "webhook.test" in log and delivery.event.public_id in log
    assert "503" in log and "maintenance" in log and 'hx-trigger="every 5s"' in log  # pending: polls
    assert redelivered.status_code == 302
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert "thanks" in fragment and "(resent)" in fragment and "every 5s" not in fragment


def test_a_disabled_endpoint_shows_why_and_can_be_enabled(signed_in, merchant):
    endpoint = create_endpoint(merchant, "http://127.0.0.1:9/hooks")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False,
        disabled_reason="The endpoint answered 410 Gone on 2 Mar 2026, 09:00 UTC; nothing more is sent to it.",
        disabled_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )

    page = signed_in.get(f"/webhooks/{endpoint.pk}/").content.decode()
    signed_in.post(f"/webhooks/{endpoint.pk}/toggle/", {"enable": "1"})

    endpoint.refresh_from_db()
    assert "Disabled since <time " in page and ">2 Mar 2026, 09:00 UTC</time>." in page
    assert "The endpoint answered 410 Gone on 2 Mar 2026, 09:00 UTC; nothing more is sent to it." in page
    assert (endpoint.is_active, endpoint.disabled_reason, endpoint.failing_since) == (True, "", None)


def test_editing_and_deleting(signed_in, merchant):
    endpoint = create_endpoint(merchant, "http://127.0.0.1:9/a")

    edited = signed_in.post(
        f"/webhooks/{endpoint.pk}/",
        {"url": "http://127.0.0.1:9/b", "description": "", "events": ["job.failed"]},
    )
    endpoint.refresh_from_db()
    bad = signed_in.post(f"/webhooks/{endpoint.pk}/", {"url": "gopher://x", "events": ["job.failed"]})
    deleted = signed_in.post(f"/webhooks/{endpoint.pk}/delete/")

    assert edited.status_code == 302 and (endpoint.url, endpoint.events) == (
        "http://127.0.0.1:9/b",
        ["job.failed"],
    )
    assert bad.status_code == 400 and "Only http and https URLs are allowed" in bad.content.decode()
    assert deleted.status_code == 302 and not WebhookEndpoint.objects.exists()


def test_another_merchants_endpoints_answer_404_and_change_nothing(signed_in, other_merchant):
    from django.db import transaction

    from shop_assets.webhooks.events import record_event

    theirs = create_endpoint(other_merchant, "http://127.0.0.1:9/theirs")
    with transaction.atomic():
        event = record_event(other_merchant, "product.updated", {"product": {"sku": "S"}})
    their_delivery = event.deliveries.get()
    secret = theirs.secret
    base = f"/webhooks/{theirs.pk}"

    answers = [
        signed_in.get(f"{base}/"),
        signed_in.post(f"{base}/", {"url": "http://127.0.0.1:9/stolen", "events": ["job.failed"]}),
        signed_in.get(f"{base}/secret/", HTTP_HX_REQUEST="true"),
        signed_in.get(f"{base}/deliveries/"),
        signed_in.post(f"{base}/rotate/"),
        signed_in.post(f"{base}/test/"),
        signed_in.post(f"{base}/toggle/", {"enable": "0"}),
        signed_in.post(f"{base}/deliveries/{their_delivery.pk}/redeliver/"),
        signed_in.post(f"{base}/delete/"),
    ]
    listing = signed_in.get("/webhooks/").content.decode()

    theirs.refresh_from_db()
    assert [a.status_code for a in answers] == [404] * 9
    assert (theirs.url, theirs.secret, theirs.is_active) == ("http://127.0.0.1:9/theirs", secret, True)
    assert "theirs" not in listing
    assert WebhookEvent.objects.filter(type="webhook.test").count() == 0
