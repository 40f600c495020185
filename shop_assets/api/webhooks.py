"""Webhook endpoints in the REST API (``/api/v1/webhooks``), scoped to the key's merchant:
another merchant's endpoint and delivery ids answer 404 like ids that do not exist."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from shop_assets.accounts.access import key_merchant
from shop_assets.api.errors import ApiError, ErrorOut
from shop_assets.webhooks import endpoints as endpoint_service
from shop_assets.webhooks import events
from shop_assets.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

router = Router(tags=["webhooks"])


EVENTS_HELP = (
    "the event types to receive: asset.created, job.succeeded, job.failed, job.needs_review, "
    "batch.completed, product.updated; every type when left out. asset.created is sent once per "
    "asset when its job succeeds (before job.succeeded), not while the job runs: a failed or "
    "cancelled attempt takes back the assets it had recorded"
)


class EndpointIn(Schema):
    url: str
    events: list[str] | None = Field(default=None, description=EVENTS_HELP)
    description: str = ""


class EndpointPatch(Schema):
    url: str | None = None
    events: list[str] | None = Field(default=None, description="as when registering; left out: unchanged")
    description: str | None = None
    is_active: bool | None = None  # true re-enables a disabled endpoint


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    is_active: bool
    disabled_reason: str
    disabled_at: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class SecretOut(Schema):
    secret: str
    previous_secret_expires_at: datetime | None  # until then the old secret signs too


class EndpointWithSecretOut(EndpointOut):
    secret: str
    previous_secret_expires_at: datetime | None


class AttemptOut(Schema):
    number: int
    started_at: datetime
    duration_ms: int
    outcome: str
    status_code: int | None
    error: str
    response_excerpt: str
    manual: bool
    next_attempt_at: datetime | None


class DeliveryOut(Schema):
    id: int
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    finished_at: datetime | None
    attempts: list[AttemptOut]

    @staticmethod
    def resolve_event_id(obj: WebhookDelivery) -> str:
        return obj.event.public_id

    @staticmethod
    def resolve_event_type(obj: WebhookDelivery) -> str:
        return obj.event.type

    @staticmethod
    def resolve_attempts(obj: WebhookDelivery) -> list[WebhookAttempt]:
        return list(obj.attempts.all())


def _endpoints(request: HttpRequest) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(merchant=key_merchant(request))


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(_endpoints(request), pk=endpoint_id)


def _delivery(request: HttpRequest, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    endpoint = _endpoint(request, endpoint_id)
    deliveries = WebhookDelivery.objects.select_related("event", "endpoint").filter(endpoint=endpoint)
    return get_object_or_404(deliveries, pk=delivery_id)


def _invalid(exc: endpoint_service.EndpointInvalid) -> NoReturn:
    raise ApiError(400, "invalid_webhook", str(exc), field=exc.field) from exc


@router.post("", response={201: EndpointWithSecretOut, 400: ErrorOut}, url_name="webhooks")
def create_webhook(request: HttpRequest, payload: EndpointIn):
    """Register a URL. The answer carries the signing secret (``whsec_...``)."""
    try:
        endpoint = endpoint_service.create_endpoint(
            key_merchant(request), payload.url, payload.events, payload.description
        )
    except endpoint_service.EndpointInvalid as exc:
        return _invalid(exc)
    return Status(201, endpoint)


@router.get("", response=list[EndpointOut])
@paginate
def list_webhooks(request: HttpRequest):
    return _endpoints(request)


@router.get("/{endpoint_id}", response=EndpointOut, url_name="webhook")
def get_webhook(request: HttpRequest, endpoint_id: int):
    return _endpoint(request, endpoint_id)


@router.patch("/{endpoint_id}", response={200: EndpointOut, 400: ErrorOut})
def update_webhook(request: HttpRequest, endpoint_id: int, payload: EndpointPatch):
    endpoint = _endpoint(request, endpoint_id)
    try:
        return endpoint_service.update_endpoint(endpoint, **payload.dict(exclude_unset=True))
    except endpoint_service.EndpointInvalid as exc:
        return _invalid(exc)


@router.delete("/{endpoint_id}", response={204: None})
def delete_webhook(request: HttpRequest, endpoint_id: int):
    _endpoint(request, endpoint_id).delete()
    return Status(204, None)


@router.get("/{endpoint_id}/secret", response=SecretOut)
def get_webhook_secret(request: HttpRequest, endpoint_id: int):
    return _endpoint(request, endpoint_id)


@router.post("/{endpoint_id}/rotate-secret", response=EndpointWithSecretOut)
def rotate_webhook_secret(request: HttpRequest, endpoint_id: int):
    """A new secret; the old one keeps signing beside it for 24 hours."""
    return endpoint_service.rotate_secret(_endpoint(request, endpoint_id))


@router.post("/{endpoint_id}/test", response={202: DeliveryOut})
def send_test_webhook(request: HttpRequest, endpoint_id: int):
    """Send a ``webhook.test`` event to this endpoint through the normal delivery path."""
    return Status(202, events.send_test_event(_endpoint(request, endpoint_id)))


@router.get("/{endpoint_id}/deliveries", response=list[DeliveryOut])
@paginate
def list_deliveries(request: HttpRequest, endpoint_id: int, status: str = ""):
    """Newest first; ``status`` is one of pending, succeeded, failed."""
    endpoint = _endpoint(request, endpoint_id)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").prefetch_related("attempts")
    )
    if status not in ("", *DeliveryStatus.values):
        raise ApiError(
            400,
            "invalid_filter",
            f"status must be one of {', '.join(DeliveryStatus.values)}.",
            field="status",
        )
    return deliveries.filter(status=status) if status else deliveries


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response=DeliveryOut)
def get_delivery(request: HttpRequest, endpoint_id: int, delivery_id: int):
    return _delivery(request, endpoint_id, delivery_id)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/redeliver", response={202: DeliveryOut, 409: ErrorOut})
def redeliver(request: HttpRequest, endpoint_id: int, delivery_id: int):
    """Send the event again now, with the same ``webhook-id``."""
    try:
        return Status(202, events.redeliver(_delivery(request, endpoint_id, delivery_id)))
    except events.RedeliveryRefused as exc:
        raise ApiError(409, "endpoint_disabled", str(exc)) from exc
