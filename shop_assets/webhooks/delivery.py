"""Delivering one event to one endpoint: sign, POST, record the attempt, decide what next.

The delivery row is the truth, the broker only a doorbell: an attempt starts with a
conditional UPDATE that leases the row, so two workers never send the same attempt, and
a worker that dies mid-send loses its lease and the periodic sweep sends again, with the
same ``webhook-id``.

What happens after an answer:

- 2xx: delivered.
- 410 Gone: the endpoint is disabled, the delivery failed; nothing more is sent there.
- timeout, connection error, 5xx, 429: tried again after ``RETRY_DELAYS`` (with jitter;
  a ``Retry-After`` answer sets the delay instead), about three days in all, then failed.
- 3xx (redirects are not followed), any other 4xx, an address the outbound client
  refuses: failed at once.
- An endpoint whose attempts have all failed for ``WEBHOOK_DISABLE_AFTER_DAYS`` is
  disabled, and the reason is kept on it for the merchant to read.

``now`` is a parameter everywhere so tests can run three days of retries in a second.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from shop_assets import outbound
from shop_assets.dates import human_moment
from shop_assets.webhooks.models import (
    AttemptOutcome,
    DeliveryStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

# Seconds to wait after attempt 1, 2, ...: 11 attempts over about three days (2.98 d nominal).
RETRY_DELAYS: tuple[int, ...] = (5, 60, 300, 1800, 7200, 18000, 36000, 50400, 72000, 72000)
JITTER = 0.2  # each delay is scaled by a factor in [1 - JITTER, 1 + JITTER]
MAX_RETRY_AFTER = 24 * 3600  # a Retry-After beyond a day is read as a day
EXCERPT_BYTES = 1024  # of each response body, kept with the attempt
USER_AGENT = "ShopAssets-Webhooks/1"


@dataclass(frozen=True)
class AttemptResult:
    outcome: str
    status_code: int | None
    delivery_status: str
    next_attempt_at: datetime | None
    error: str


def retry_delay(delivery_id: int, step: int, retry_after: float | None = None) -> float | None:
    """Seconds before the next attempt after automatic attempt ``step`` (0-based) failed,
    or None when the schedule is used up. The jitter is fixed per delivery and step, so a
    burst of failures spreads out while each delivery's schedule is reproducible."""
    if step >= len(RETRY_DELAYS):
        return None
    if retry_after is not None:
        return float(min(max(retry_after, 1.0), MAX_RETRY_AFTER))
    factor = random.Random(f"{delivery_id}:{step}").uniform(1 - JITTER, 1 + JITTER)
    return float(round(RETRY_DELAYS[step] * factor))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def signed_headers(endpoint: WebhookEndpoint, msg_id: str, body: str, *, sent_at: int, now: datetime) -> dict:
    """Standard Webhooks headers: one ``v1`` signature per secret in use (two while rotating)."""
    stamp = datetime.fromtimestamp(sent_at, tz=UTC)
    signatures = [Webhook(secret).sign(msg_id, stamp, body) for secret in endpoint.signing_secrets(now)]
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(sent_at),
        "webhook-signature": " ".join(signatures),
    }


def body_of(delivery: WebhookDelivery) -> str:
    return json.dumps(delivery.event.body(), ensure_ascii=False, separators=(",", ":"))


def _lease_seconds() -> int:
    return settings.WEBHOOK_TIMEOUT_SECONDS * 3 + 30


def attempt_delivery(
    delivery_id: int, *, now: datetime | None = None, client: outbound.OutboundClient | None = None
) -> AttemptResult | None:
    """Make one attempt if the delivery is due and no one else is on it; None otherwise."""
    now = now or timezone.now()
    client = client or outbound.default_client()

    # 1. lease the row: only one worker sends this attempt
    token = uuid.uuid4().hex
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(lease_token=token, lease_expires_at=now + timedelta(seconds=_lease_seconds()))
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    is_test = delivery.event.type == EventType.WEBHOOK_TEST

    # 2. a disabled endpoint gets nothing but test events (to check a fix before enabling it)
    if not endpoint.is_active and not is_test:
        error = f"Not sent: the endpoint is disabled. {endpoint.disabled_reason}".strip()
        _close(delivery, token, status=DeliveryStatus.FAILED, now=now, error=error)
        return AttemptResult("not_sent", None, DeliveryStatus.FAILED, None, error)

    # 3. sign and send; the timestamp is the real send time, which receivers compare with their clock
    body = body_of(delivery)
    sent_at = int(time.time())
    headers = signed_headers(endpoint, delivery.event.public_id, body, sent_at=sent_at, now=now)
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    limits = outbound.Limits(
        connect_timeout=min(timeout, 5), read_timeout=timeout, total_timeout=timeout, max_bytes=EXCERPT_BYTES
    )
    started = time.monotonic()
    status_code: int | None = None
    excerpt = error = ""
    retry_after: float | None = None
    try:
        response = client.request(
            "POST", endpoint.url, headers=headers, data=body.encode(), limits=limits, truncate=True
        )
    except outbound.OutboundTimeout as exc:
        outcome, error = AttemptOutcome.TIMEOUT, str(exc)
    except (outbound.AddressNotAllowed, outbound.InvalidTargetURL) as exc:
        outcome, error = AttemptOutcome.REFUSED, str(exc)
    except outbound.OutboundError as exc:
        outcome, error = AttemptOutcome.CONNECTION_ERROR, str(exc)
    else:
        status_code = response.status
        excerpt = response.body.decode("utf-8", errors="replace")
        outcome = AttemptOutcome.SUCCESS if 200 <= status_code < 300 else AttemptOutcome.HTTP_ERROR
        if status_code == 429 or status_code >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    duration_ms = int((time.monotonic() - started) * 1000)

    # 4. decide what comes next
    retryable = outcome in (AttemptOutcome.TIMEOUT, AttemptOutcome.CONNECTION_ERROR) or (
        status_code is not None and (status_code == 429 or status_code >= 500)
    )
    next_at: datetime | None = None
    disable_reason = ""
    if outcome == AttemptOutcome.SUCCESS:
        status = DeliveryStatus.SUCCEEDED
    elif status_code == 410:
        status = DeliveryStatus.FAILED
        error = "The endpoint answered 410 Gone."
        disable_reason = f"The endpoint answered 410 Gone on {human_moment(now)}; nothing more is sent to it."
    elif retryable:
        delay = retry_delay(delivery.pk, delivery.retry_step, retry_after)
        if delay is None:
            status = DeliveryStatus.FAILED
            error = f"Gave up after {delivery.retry_step + 1} attempts. {error or _http_error(status_code)}".strip()
        else:
            status = DeliveryStatus.PENDING
            next_at = now + timedelta(seconds=delay)
    else:
        status = DeliveryStatus.FAILED
        if status_code is not None and 300 <= status_code < 400:
            error = f"The endpoint answered {status_code} (a redirect); redirects are not followed."
        elif status_code is not None:
            error = f"The endpoint answered {status_code}; not retried."

    # 5. record the attempt and the delivery's new state, only while we still hold the lease
    with transaction.atomic():
        still_ours = WebhookDelivery.objects.filter(pk=delivery.pk, lease_token=token).update(
            status=status,
            attempt_count=delivery.attempt_count + 1,
            retry_step=delivery.retry_step + 1,
            next_attempt_at=next_at,
            dispatched_at=None,
            lease_token="",
            lease_expires_at=None,
            last_status_code=status_code,
            last_error=error or _http_error(status_code),
            finished_at=None if status == DeliveryStatus.PENDING else now,
        )
        if not still_ours:
            return None
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempt_count + 1,
            started_at=now,
            signed_timestamp=sent_at,
            duration_ms=duration_ms,
            outcome=outcome,
            status_code=status_code,
            error=error or _http_error(status_code),
            response_excerpt=excerpt,
            manual=delivery.retry_step == 0 and delivery.attempt_count > 0,
            next_attempt_at=next_at,
        )
        if endpoint.is_active:
            _update_endpoint_health(endpoint, succeeded=outcome == AttemptOutcome.SUCCESS, now=now)
        if disable_reason:
            disable_endpoint(endpoint, disable_reason, now=now)
    return AttemptResult(outcome, status_code, status, next_at, error)


def _http_error(status_code: int | None) -> str:
    if status_code is None or 200 <= status_code < 300:
        return ""
    return f"The endpoint answered {status_code}."


def _close(delivery: WebhookDelivery, token: str, *, status: str, now: datetime, error: str) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk, lease_token=token).update(
        status=status,
        next_attempt_at=None,
        lease_token="",
        lease_expires_at=None,
        last_error=error,
        finished_at=now,
    )


def _update_endpoint_health(endpoint: WebhookEndpoint, *, succeeded: bool, now: datetime) -> None:
    """Track how long every attempt has been failing; disable past the limit."""
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if succeeded:
        if endpoint.failing_since is not None:  # as loaded with the delivery: most often None
            endpoints.update(failing_since=None)
        return
    endpoints.filter(failing_since=None).update(failing_since=now)
    limit = timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS)
    since = endpoints.values_list("failing_since", flat=True).first()
    if since is not None and now - since >= limit:
        last = (
            WebhookAttempt.objects.filter(delivery__endpoint=endpoint).order_by("-started_at", "-id").first()
        )
        detail = f" The last attempt: {last.error}" if last and last.error else ""
        disable_endpoint(
            endpoint,
            f"Every delivery attempt since {human_moment(since)} failed "
            f"({settings.WEBHOOK_DISABLE_AFTER_DAYS} days); the endpoint was disabled.{detail}",
            now=now,
        )


def disable_endpoint(endpoint: WebhookEndpoint, reason: str, *, now: datetime) -> bool:
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_reason=reason, disabled_at=now
        )
    )
