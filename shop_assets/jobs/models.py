from __future__ import annotations

import re

from django.core.validators import MaxValueValidator
from django.db import models

from shop_assets.accounts.models import Merchant
from shop_assets.catalog.models import Product, ProductImage


class OutputKind(models.TextChoices):
    CUTOUT = "cutout", "Cutout"
    PACKSHOT = "packshot", "Marketplace packshot"
    SCENE = "scene", "Scene"
    POSTER = "poster", "Poster"
    CLIP = "clip", "Clip"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    NEEDS_REVIEW = "needs_review", "Needs your review"


# Jobs no worker will touch again. One waiting for a review is queued again when the
# merchant accepts or fixes the photo's cutout (``lifecycle.resume_after_review``).
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.NEEDS_REVIEW)


class GenerationJob(models.Model):
    """One request to make assets from one product photo.

    The row is the source of truth: a worker owns the job only while it holds the
    lease (``lease_token`` and ``lease_expires_at``), which it renews as it reports
    progress. A worker that dies stops renewing, and another takes the job over.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="jobs")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="jobs")
    image = models.ForeignKey(ProductImage, on_delete=models.CASCADE, related_name="jobs")
    outputs = models.JSONField(default=list)  # ["cutout", "packshot", "scene"]
    parameters = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=20, default="default")
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    progress_message = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    lease_token = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # set while running: the worker stops at its next heartbeat and the job ends cancelled
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # outputs that could not be made while the others were, as they were found:
    # [{"kind": "poster", "name": "poster-hero_left-story", "reason": "...", "template": ..., "size": ...}]
    not_made = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "lease_expires_at"])]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


class AttemptOutcome(models.TextChoices):
    OK = "ok", "Succeeded"
    FAILED = "failed", "Failed"
    RETRY = "retry", "Retried after a temporary error"
    LOST = "lost", "Worker stopped responding"
    CANCELLED = "cancelled", "Cancelled"
    REVIEW = "review", "Stopped for a cutout review"


class JobAttempt(models.Model):
    """One worker's try at a job, opened when it claims the job and closed when it ends.

    ``number`` counts every attempt the job ever had (a job retried by the merchant goes
    on counting), while ``GenerationJob.attempts`` counts those toward the retry limit.
    ``outcome`` is blank while the attempt runs.
    """

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    worker = models.CharField(max_length=255, blank=True)  # the Celery worker's hostname
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=AttemptOutcome.choices, blank=True)
    error_code = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="unique_attempt_number_per_job")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} attempt {self.number} ({self.outcome or 'running'})"


class Asset(models.Model):
    """One stored output file. ``(job, name)`` is unique so reruns overwrite, not add."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="assets")
    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="assets")
    kind = models.CharField(max_length=12, choices=OutputKind.choices)
    name = models.CharField(max_length=120)
    format = models.CharField(max_length=10)  # png | jpg | webp | mp4
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    storage_key = models.CharField(max_length=512, unique=True)
    size_bytes = models.PositiveBigIntegerField()
    checksum = models.CharField(max_length=64)  # sha256 of the stored bytes
    metrics = models.JSONField(default=dict, blank=True)  # fidelity, segmenter, engine, ...
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="unique_asset_name_per_job")]

    def __str__(self) -> str:
        return self.storage_key

    @property
    def filename(self) -> str:
        return self.storage_key.rsplit("/", 1)[-1]

    @property
    def download_filename(self) -> str:
        """``<SKU>-<kind>-<name>.<ext>``, e.g. ``BTL-001-scene-marble_counter-01.png``.

        The kind is not repeated where the name already starts with it (``BTL-001-packshot.png``).
        Only letters, digits, dots, dashes and underscores survive, so the name is safe in a
        Content-Disposition header and on every file system. Reads ``job.product``: select it.
        """
        ext = self.filename.rsplit(".", 1)[-1] if "." in self.filename else self.format
        rest = self.name
        if rest == self.kind:
            rest = ""
        elif rest.startswith(f"{self.kind}-"):
            rest = rest[len(self.kind) + 1 :]
        parts = [_safe_name(self.job.product.sku) or "product", _safe_name(self.kind), _safe_name(rest)]
        return "-".join(p for p in parts if p) + f".{_safe_name(ext) or 'bin'}"

    @property
    def content_type(self) -> str:
        return {
            "png": "image/png",
            "jpg": "image/jpeg",
            "webp": "image/webp",
            "mp4": "video/mp4",
            "json": "application/json",
        }.get(self.format, "application/octet-stream")


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
