"""Webhook delivery to a real HTTP server on loopback, with a clock the test controls:
every attempt recorded, the retry schedule, 410, 429 + Retry-After, timeouts, redirects,
endpoints disabled after days of failures, signatures checked by ``standardwebhooks``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shop_assets.webhooks import endpoints as endpoint_service
from shop_assets.webhooks.delivery import RETRY_DELAYS, attempt_delivery, retry_delay
from shop_assets.webhooks.events import record_event, redeliver
from shop_assets.webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from shop_assets.webhooks.tasks import dispatch_due
from tests.loopback import Receiver, Reply, closed_port

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    settings.SITE_URL = "https://assets.example.com"


def make_endpoint(merchant, url: str, events=None) -> WebhookEndpoint:
    return endpoint_service.create_endpoint(merchant, url, events)


def new_delivery(merchant, endpoint, *, sku: str = "BTL-001", at: datetime = T0) -> WebhookDelivery:
    event = record_event(merchant, EventType.PRODUCT_UPDATED, {"product": {"sku": sku}})
    event.created_at = at
    event.save(update_fields=["created_at"])
    WebhookDelivery.objects.filter(event=event).update(next_attempt_at=at)
    return WebhookDelivery.objects.get(event=event, endpoint=endpoint)


def run_until_settled(delivery_id: int, start: datetime) -> list[datetime]:
    """Attempt at each scheduled time until the delivery stops asking for another.
    Also checks that nothing happens one second before each attempt is due."""
    now, times = start, []
    while True:
        result = attempt_delivery(delivery_id, now=now)
        assert result is not None
        times.append(now)
        if result.next_attempt_at is None:
            return times
        assert attempt_delivery(delivery_id, now=result.next_attempt_at - timedelta(seconds=1)) is None
        now = result.next_attempt_at


def verified(received, secret: str) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def test_a_200_is_delivered_once_with_a_verifiable_signature(merchant):
    with Receiver([Reply(200, b'{"received": true}')]) as shop:
        endpoint = make_endpoint(merchant, f"{shop.url}/hooks")
        delivery = new_delivery(merchant, endpoint)

        result = attempt_delivery(delivery.pk, now=T0)
        again = attempt_delivery(delivery.pk, now=T0 + timedelta(days=1))

    delivery.refresh_from_db()
    [sent] = shop.received
    body = verified(sent, endpoint.secret)
    assert (result.outcome, result.status_code, result.next_attempt_at) == ("success", 200, None)
    assert again is None and len(shop.received) == 1
    assert (sent.method, sent.path, sent.headers["content-type"]) == ("POST", "/hooks", "application/json")
    assert sent.headers["webhook-id"] == delivery.event.public_id
    assert body == {
        "type": "product.updated",
        "timestamp": "2026-03-02T09:00:00Z",
        "data": {"product": {"sku": "BTL-001"}},
    }
    assert (delivery.status, delivery.attempt_count, delivery.finished_at) == (
        DeliveryStatus.SUCCEEDED,
        1,
        T0,
    )
    attempt = delivery.attempts.get()
    assert (attempt.number, attempt.outcome, attempt.status_code) == (1, "success", 200)
    assert attempt.response_excerpt == '{"received": true}'
    assert attempt.signed_timestamp == int(sent.headers["webhook-timestamp"])
    assert 0 <= attempt.duration_ms < 1000 and attempt.error == ""


def test_500s_are_retried_on_the_schedule_for_about_three_days_then_given_up(merchant):
    with Receiver([Reply(500, b"upstream exploded")]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        delivery = new_delivery(merchant, endpoint)

        times = run_until_settled(delivery.pk, T0)

    delivery.refresh_from_db()
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == len(RETRY_DELAYS) + 1 == 11
    for gap, nominal in zip(gaps, RETRY_DELAYS, strict=True):
        assert nominal * 0.8 <= gap <= nominal * 1.2
    assert gaps == [retry_delay(delivery.pk, step) for step in range(10)]
    assert timedelta(days=2.3) < times[-1] - T0 < timedelta(days=3.6)
    assert len(shop.received) == 11
    assert {r.headers["webhook-id"] for r in shop.received} == {delivery.event.public_id}
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "Gave up after 11 attempts. The endpoint answered 500."
    attempts = list(delivery.attempts.all())
    assert [a.started_at for a in attempts] == times
    assert [a.next_attempt_at for a in attempts] == [*times[1:], None]
    assert {(a.status_code, a.response_excerpt) for a in attempts} == {(500, "upstream exploded")}


def test_the_jitter_is_fixed_per_delivery_and_differs_between_deliveries():
    assert retry_delay(7, 3) == retry_delay(7, 3)
    assert retry_delay(7, 3) != retry_delay(8, 3)
    assert retry_delay(7, len(RETRY_DELAYS)) is None


def test_a_recovered_endpoint_ends_the_failure_streak(merchant):
    with Receiver([Reply(503), Reply(502), Reply(200)]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        delivery = new_delivery(merchant, endpoint)

        first = attempt_delivery(delivery.pk, now=T0)
        endpoint.refresh_from_db()
        failing_since = endpoint.failing_since
        times = run_until_settled(delivery.pk, first.next_attempt_at)

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert failing_since == T0
    assert len(times) == 2 and len(shop.received) == 3
    assert [a.status_code for a in delivery.attempts.all()] == [503, 502, 200]
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert (endpoint.failing_since, endpoint.is_active) == (None, True)


@pytest.mark.parametrize(
    ("retry_after", "expected_delay"),
    [("120", 120), ("Mon, 02 Mar 2026 09:30:00 GMT", 1800)],
)
def test_429_waits_as_long_as_retry_after_says(merchant, retry_after, expected_delay):
    with Receiver([Reply(429, b"slow down", headers={"Retry-After": retry_after}), Reply(200)]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        delivery = new_delivery(merchant, endpoint)

        first = attempt_delivery(delivery.pk, now=T0)
        early = attempt_delivery(delivery.pk, now=T0 + timedelta(seconds=expected_delay - 1))
        second = attempt_delivery(delivery.pk, now=T0 + timedelta(seconds=expected_delay))

    assert (first.outcome, first.status_code) == ("http_error", 429)
    assert first.next_attempt_at == T0 + timedelta(seconds=expected_delay)
    assert early is None
    assert (second.outcome, second.delivery_status) == ("success", DeliveryStatus.SUCCEEDED)
    assert len(shop.received) == 2


def test_410_disables_the_endpoint_and_nothing_more_is_sent(merchant):
    with Receiver([Reply(410, b"gone")]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        first = new_delivery(merchant, endpoint, sku="A-1")
        second = new_delivery(merchant, endpoint, sku="A-2")

        result = attempt_delivery(first.pk, now=T0)
        skipped = attempt_delivery(second.pk, now=T0 + timedelta(minutes=1))
        later_event = record_event(merchant, EventType.PRODUCT_UPDATED, {"product": {"sku": "A-3"}})

    endpoint.refresh_from_db()
    second.refresh_from_db()
    assert (result.delivery_status, result.next_attempt_at) == (DeliveryStatus.FAILED, None)
    assert endpoint.is_active is False
    assert (
        endpoint.disabled_reason
        == "The endpoint answered 410 Gone on 2 Mar 2026, 09:00 UTC; nothing more is sent to it."
    )
    assert endpoint.disabled_at == T0
    assert skipped.outcome == "not_sent" and second.status == DeliveryStatus.FAILED
    assert second.last_error.startswith("Not sent: the endpoint is disabled. The endpoint answered 410 Gone")
    assert second.attempts.count() == 0
    assert later_event.deliveries.count() == 0
    assert len(shop.received) == 1


def test_a_slow_endpoint_times_out_and_is_retried(merchant):
    with Receiver([Reply(200, delay=2.5)]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        delivery = new_delivery(merchant, endpoint)

        result = attempt_delivery(delivery.pk, now=T0)

    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (result.outcome, result.status_code, result.delivery_status) == ("timeout", None, "pending")
    assert T0 + timedelta(seconds=4) <= result.next_attempt_at <= T0 + timedelta(seconds=6)
    assert attempt.outcome == "timeout" and attempt.error.startswith("No answer in time from 127.0.0.1")
    assert 900 <= attempt.duration_ms < 2400


def test_a_redirect_is_not_followed_and_not_retried(merchant):
    with Receiver([Reply(200)]) as elsewhere:
        with Receiver([Reply(302, b"", headers={"Location": f"{elsewhere.url}/new"})]) as shop:
            endpoint = make_endpoint(merchant, shop.url)
            delivery = new_delivery(merchant, endpoint)

            result = attempt_delivery(delivery.pk, now=T0)

    delivery.refresh_from_db()
    assert (result.status_code, result.delivery_status, result.next_attempt_at) == (302, "failed", None)
    assert delivery.last_error == "The endpoint answered 302 (a redirect); redirects are not followed."
    assert len(shop.received) == 1 and elsewhere.received == []


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_client_errors_are_not_retried(merchant, status):
    with Receiver([Reply(status, b"no")]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        delivery = new_delivery(merchant, endpoint)

        result = attempt_delivery(delivery.pk, now=T0)
        later = attempt_delivery(delivery.pk, now=T0 + timedelta(days=1))

    delivery.refresh_from_db()
    assert (result.delivery_status, later) == (DeliveryStatus.FAILED, None)
    assert delivery.last_error == f"The endpoint answered {status}; not retried."
    assert len(shop.received) == 1
    endpoint.refresh_from_db()
    assert endpoint.is_active is True


def test_connection_refused_is_retried(merchant):
    endpoint = make_endpoint(merchant, f"http://127.0.0.1:{closed_port()}/hooks")
    delivery = new_delivery(merchant, endpoint)

    result = attempt_delivery(delivery.pk, now=T0)

    assert (result.outcome, result.delivery_status) == ("connection_error", DeliveryStatus.PENDING)
    assert result.error.startswith("Could not reach 127.0.0.1")


def test_an_address_refused_at_send_time_is_not_retried(merchant, settings):
    with Receiver() as shop:
        endpoint = make_endpoint(merchant, shop.url)
        delivery = new_delivery(merchant, endpoint)
        settings.ALLOW_PRIVATE_URLS = False

        result = attempt_delivery(delivery.pk, now=T0)

    assert (result.outcome, result.delivery_status) == ("refused", DeliveryStatus.FAILED)
    assert result.error == "Refused: 127.0.0.1 is a loopback address."
    assert shop.received == []


def test_an_endpoint_failing_for_days_is_disabled_with_the_reason(merchant, settings):
    settings.WEBHOOK_DISABLE_AFTER_DAYS = 5
    with Receiver([Reply(500, b"down")]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        first = new_delivery(merchant, endpoint, sku="DAY-0")
        run_until_settled(first.pk, T0)
        endpoint.refresh_from_db()
        still_active_after_three_days = endpoint.is_active
        late = new_delivery(merchant, endpoint, sku="DAY-5", at=T0 + timedelta(days=5, hours=1))

        result = attempt_delivery(late.pk, now=T0 + timedelta(days=5, hours=1))

    endpoint.refresh_from_db()
    assert still_active_after_three_days is True
    assert result.delivery_status == DeliveryStatus.PENDING  # the delivery itself would retry...
    assert endpoint.is_active is False  # ...but the endpoint is off, so the retry sends nothing
    assert endpoint.disabled_reason == (
        "Every delivery attempt since 2 Mar 2026, 09:00 UTC failed (5 days); the endpoint was disabled. "
        "The last attempt: The endpoint answered 500."
    )
    skipped = attempt_delivery(late.pk, now=result.next_attempt_at)
    assert skipped.outcome == "not_sent" and len(shop.received) == 12


def test_both_secrets_sign_during_a_rotation_then_only_the_new_one(merchant):
    with Receiver([Reply(200)]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        old_secret = endpoint.secret
        endpoint = endpoint_service.rotate_secret(endpoint, now=T0)
        during = new_delivery(merchant, endpoint, sku="R-1")
        after = new_delivery(merchant, endpoint, sku="R-2", at=T0 + timedelta(hours=25))

        attempt_delivery(during.pk, now=T0)
        attempt_delivery(after.pk, now=T0 + timedelta(hours=25))

    rotating, rotated = shop.received
    assert endpoint.secret != old_secret and endpoint.secret.startswith("whsec_")
    assert len(rotating.headers["webhook-signature"].split(" ")) == 2
    assert verified(rotating, endpoint.secret)["data"] == {"product": {"sku": "R-1"}}
    assert verified(rotating, old_secret)["data"] == {"product": {"sku": "R-1"}}
    assert len(rotated.headers["webhook-signature"].split(" ")) == 1
    assert verified(rotated, endpoint.secret)["data"] == {"product": {"sku": "R-2"}}
    with pytest.raises(WebhookVerificationError):
        verified(rotated, old_secret)


def test_a_tampered_body_fails_verification(merchant):
    with Receiver([Reply(200)]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        attempt_delivery(new_delivery(merchant, endpoint).pk, now=T0)

    [sent] = shop.received
    tampered = json.loads(sent.body)
    tampered["data"]["product"]["sku"] = "FREE-STUFF"
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(json.dumps(tampered), sent.headers)


def test_manual_redelivery_sends_again_with_the_same_id(merchant):
    with Receiver([Reply(200)]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        delivery = new_delivery(merchant, endpoint)
        attempt_delivery(delivery.pk, now=T0)

        redeliver(delivery)
        result = attempt_delivery(delivery.pk)

    delivery.refresh_from_db()
    first, second = shop.received
    assert result.outcome == "success"
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event.public_id
    assert first.body == second.body
    assert [(a.number, a.manual) for a in delivery.attempts.all()] == [(1, False), (2, True)]
    assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.SUCCEEDED, 2)


def test_a_worker_that_died_holding_the_lease_is_taken_over_after_it_expires(merchant):
    with Receiver([Reply(200)]) as shop:
        endpoint = make_endpoint(merchant, shop.url)
        delivery = new_delivery(merchant, endpoint)
        # a worker leased the row, then died before recording anything
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            lease_token="dead-worker", lease_expires_at=T0 + timedelta(minutes=1), dispatched_at=T0
        )

        while_leased = attempt_delivery(delivery.pk, now=T0 + timedelta(seconds=30))
        swept_early = dispatch_due(now=T0 + timedelta(seconds=30))
        swept = dispatch_due(now=T0 + timedelta(minutes=6))
        taken_over = attempt_delivery(delivery.pk, now=T0 + timedelta(minutes=6))

    assert while_leased is None and swept_early == []
    assert swept == [delivery.pk]
    assert taken_over.outcome == "success"
    assert [r.headers["webhook-id"] for r in shop.received] == [delivery.event.public_id]
