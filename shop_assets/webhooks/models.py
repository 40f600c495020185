"""Webhook endpoints, the events a merchant's storefront hears about, and every try to
deliver them: endpoint -> event -> delivery (one per endpoint and event) -> attempt.

An event row is written in the same transaction as the change it reports, with its id
fixed there; every delivery and retry of it carries that id as ``webhook-id``.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from shop_assets.accounts.models import Merchant


class EventType(models.TextChoices):
    ASSET_CREATED = "asset.created", "An asset was made"
    JOB_SUCCEEDED = "job.succeeded", "A job finished"
    JOB_FAILED = "job.failed", "A job failed"
    JOB_NEEDS_REVIEW = "job.needs_review", "A job waits for a cutout review"
    BATCH_COMPLETED = "batch.completed", "A bulk batch finished"
    PRODUCT_UPDATED = "product.updated", "A product changed"
    WEBHOOK_TEST = "webhook.test", "Test event"


# What an endpoint can subscribe to; test events go to the endpoint they were sent to.
SUBSCRIBABLE_EVENTS: tuple[str, ...] = tuple(t for t in EventType.values if t != EventType.WEBHOOK_TEST)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class WebhookEndpoint(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)  # event types it subscribes to
    secret = models.CharField(max_length=100, default=new_secret)
    # After a rotation the old secret signs too, for a while, so receivers can switch over.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Start of the current run of failed attempts; cleared by any success.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.events

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, plus the previous one while its grace period lasts."""
        keys = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            keys.append(self.previous_secret)
        return keys


class WebhookEvent(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="webhook_events")
    public_id = models.CharField(max_length=40, unique=True, default=new_event_id)  # webhook-id
    type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField(default=dict)  # the "data" member of the body
    # Set by callers whose change may be recorded twice (a retried task): one event per key.
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "dedupe_key"], condition=~Q(dedupe_key=""), name="unique_event_dedupe_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"

    def body(self) -> dict:
        """The JSON body every endpoint receives, in the Standard Webhooks shape."""
        return {
            "type": self.type,
            "timestamp": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": self.payload,
        }


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event on its way to one endpoint. Pending until delivered or given up."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    retry_step = models.PositiveSmallIntegerField(default=0)  # attempts since created or redelivered
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)  # last message sent to the workers
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="unique_delivery_per_endpoint")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"delivery {self.pk} of {self.event_id} to {self.endpoint_id} ({self.status})"


class AttemptOutcome(models.TextChoices):
    SUCCESS = "success", "Delivered"
    HTTP_ERROR = "http_error", "Error answer"
    TIMEOUT = "timeout", "Timed out"
    CONNECTION_ERROR = "connection_error", "Could not connect"
    REFUSED = "refused", "Address refused"


class WebhookAttempt(models.Model):
    """One HTTP request: what was sent when, and what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    signed_timestamp = models.BigIntegerField()  # the webhook-timestamp header
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    manual = models.BooleanField(default=False)  # the first attempt after a redelivery
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # the retry it scheduled

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="unique_attempt_number")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"
