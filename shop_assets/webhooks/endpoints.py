"""Creating and changing a merchant's webhook endpoints; checks happen here, at the door."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from shop_assets import outbound
from shop_assets.accounts.models import Merchant
from shop_assets.webhooks.models import SUBSCRIBABLE_EVENTS, WebhookEndpoint, new_secret

# After a rotation both secrets sign every message for this long.
ROTATION_GRACE = timedelta(hours=24)
MAX_ENDPOINTS_PER_MERCHANT = 20
MAX_URL_LENGTH = 2000


class EndpointInvalid(ValueError):
    """A field of an endpoint is not acceptable; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def clean_url(url: str) -> str:
    """A URL we may deliver to: http(s), public address (unless private URLs are allowed)."""
    url = (url or "").strip()
    if not url:
        raise EndpointInvalid("url", "Enter the URL that should receive the webhooks.")
    if len(url) > MAX_URL_LENGTH:
        raise EndpointInvalid("url", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        outbound.default_client().check_url(url)
    except outbound.OutboundError as exc:
        raise EndpointInvalid("url", str(exc)) from None
    return url


def clean_events(events: Iterable[str] | None) -> list[str]:
    """The subscribed event types in a fixed order; None means every type."""
    if events is None:
        return list(SUBSCRIBABLE_EVENTS)
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in SUBSCRIBABLE_EVENTS]
    if unknown:
        raise EndpointInvalid(
            "events",
            f"Unknown event type(s): {', '.join(unknown)}. Choose from {', '.join(SUBSCRIBABLE_EVENTS)}.",
        )
    if not chosen:
        raise EndpointInvalid("events", "Choose at least one event type.")
    return [e for e in SUBSCRIBABLE_EVENTS if e in chosen]


def create_endpoint(
    merchant: Merchant, url: str, events: Iterable[str] | None = None, description: str = ""
) -> WebhookEndpoint:
    if WebhookEndpoint.objects.filter(merchant=merchant).count() >= MAX_ENDPOINTS_PER_MERCHANT:
        raise EndpointInvalid(
            "url", f"A shop can have at most {MAX_ENDPOINTS_PER_MERCHANT} webhook endpoints."
        )
    return WebhookEndpoint.objects.create(
        merchant=merchant,
        url=clean_url(url),
        events=clean_events(events),
        description=_clean_description(description),
    )


def update_endpoint(
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change the given fields. Enabling a disabled endpoint clears why it was disabled."""
    if url is not None:
        endpoint.url = clean_url(url)
    if events is not None:
        endpoint.events = clean_events(events)
    if description is not None:
        endpoint.description = _clean_description(description)
    if is_active is True and not endpoint.is_active:
        endpoint.is_active = True
        endpoint.disabled_reason, endpoint.disabled_at, endpoint.failing_since = "", None, None
    elif is_active is False and endpoint.is_active:
        endpoint.is_active = False
        endpoint.disabled_reason, endpoint.disabled_at = "Disabled by the shop.", timezone.now()
    endpoint.save()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> WebhookEndpoint:
    """A new secret; the old one keeps signing, beside it, for ROTATION_GRACE."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + ROTATION_GRACE
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > 200:
        raise EndpointInvalid("description", "The description is longer than 200 characters.")
    return description
