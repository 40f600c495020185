"""Recording events: one row per change, written in the caller's transaction.

``record_event`` writes the event and a delivery row for every endpoint of the merchant
that subscribes to its type; the workers are told once the transaction commits. A change
that rolls back leaves no event and sends nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from shop_assets.accounts.models import Merchant
from shop_assets.webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from shop_assets.webhooks.tasks import dispatch


class EventOutsideTransaction(RuntimeError):
    """record_event was called with no transaction open."""


def record_event(
    merchant: Merchant | int,
    event_type: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str = "",
    endpoints: Sequence[WebhookEndpoint] | None = None,
) -> WebhookEvent:
    """Write an event and its delivery rows inside the caller's open transaction.

    ``dedupe_key``: a change that may be recorded twice (a retried task) passes a key
    naming it; the second call returns the first event and writes nothing.
    ``endpoints``: deliver to these endpoints only (test events), whatever they subscribe to.
    Raises EventOutsideTransaction when no transaction is open, ValueError for an unknown type.
    """
    if not transaction.get_connection().in_atomic_block:
        raise EventOutsideTransaction(
            "record_event() must run inside the transaction that makes the change (transaction.atomic())."
        )
    if event_type not in EventType.values:
        raise ValueError(f"Unknown event type {event_type!r}.")
    merchant_id = merchant if isinstance(merchant, int) else merchant.pk
    if dedupe_key:
        existing = WebhookEvent.objects.filter(merchant_id=merchant_id, dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin must not undo the caller's change
            event = WebhookEvent.objects.create(
                merchant_id=merchant_id,
                type=event_type,
                payload=payload,
                dedupe_key=dedupe_key,
                created_at=timezone.now(),
            )
    except IntegrityError:
        return WebhookEvent.objects.get(merchant_id=merchant_id, dedupe_key=dedupe_key)

    if endpoints is None:
        active = WebhookEndpoint.objects.filter(merchant_id=merchant_id, is_active=True)
        endpoints = [e for e in active if e.subscribes_to(event_type)]
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event=event, endpoint=e, next_attempt_at=event.created_at) for e in endpoints]
    )
    ids = [d.pk for d in deliveries]
    if ids:
        transaction.on_commit(lambda: dispatch(ids))
    return event


class RedeliveryRefused(ValueError):
    """The delivery cannot be sent again now (its endpoint is disabled)."""


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, with the same webhook-id, and a fresh retry schedule."""
    if not delivery.endpoint.is_active and delivery.event.type != EventType.WEBHOOK_TEST:
        raise RedeliveryRefused("The endpoint is disabled; enable it before redelivering.")
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING,
            retry_step=0,
            next_attempt_at=timezone.now(),
            dispatched_at=None,
            finished_at=None,
        )
        transaction.on_commit(lambda: dispatch([delivery.pk]))
    delivery.refresh_from_db()
    return delivery


def send_test_event(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``webhook.test`` event to this endpoint only, through the normal delivery path."""
    with transaction.atomic():
        event = record_event(
            endpoint.merchant_id,
            EventType.WEBHOOK_TEST,
            {
                "endpoint": {"id": endpoint.pk, "url": endpoint.url},
                "message": "A test event from ShopAssets: your endpoint receives and verifies webhooks.",
            },
            endpoints=[endpoint],
        )
    return event.deliveries.get(endpoint=endpoint)
