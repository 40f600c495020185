"""Celery tasks of the ``webhooks`` queue: one attempt per message, and the sweep that
sends messages for deliveries that are due (retries, and any message the broker lost)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from shop_assets.webhooks import delivery
from shop_assets.webhooks.models import DeliveryStatus, WebhookDelivery

log = logging.getLogger(__name__)

# A due delivery whose message was sent this long ago without an attempt is sent again
# (the message was lost, or the workers are busy: a second message is harmless).
REDISPATCH_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 500


@shared_task(
    name="shop_assets.webhooks.tasks.deliver_webhook_task",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def deliver_webhook_task(delivery_id: int) -> str:
    result = delivery.attempt_delivery(delivery_id)
    return result.outcome if result else "not due"


@shared_task(name="shop_assets.webhooks.tasks.dispatch_due_webhooks_task", ignore_result=True)
def dispatch_due_webhooks_task() -> int:
    return len(dispatch_due())


def dispatch(delivery_ids: Sequence[int]) -> list[int]:
    """Send one message per delivery to the ``webhooks`` queue. Returns the ids sent.

    A broker that is down is not the caller's problem: what was not sent keeps
    ``dispatched_at`` empty and the sweep sends it later.
    """
    sent: list[int] = []
    for delivery_id in delivery_ids:
        try:
            deliver_webhook_task.apply_async(args=[delivery_id])
        except Exception:
            log.warning(
                "could not queue webhook delivery %s; the sweep will retry", delivery_id, exc_info=True
            )
            break
        sent.append(delivery_id)
    if sent:
        WebhookDelivery.objects.filter(pk__in=sent).update(dispatched_at=timezone.now())
    return sent


def dispatch_due(now: datetime | None = None) -> list[int]:
    """Send messages for pending deliveries that are due and not already on their way."""
    now = now or timezone.now()
    due = (
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - REDISPATCH_AFTER))
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return dispatch(list(due))
