"""Batches (one catalogue import), their rows, campaigns (a saved look) and the
validators of photos fetched from URLs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from shop_assets.accounts.models import Merchant
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs.models import GenerationJob


class Campaign(models.Model):
    """A saved set of output choices, applied to a batch or to any product.

    ``request`` is a ``generation.request.JobRequest`` as JSON, as the merchant chose it
    (the product's words and the brand kit fill the rest when a job is made), and
    ``headline`` the rule that writes each product's headline (see ``campaigns.py``).
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=120)
    request = models.JSONField()
    headline = models.CharField(max_length=200, default="{title}")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["merchant", "name"], name="unique_campaign_name")]

    def __str__(self) -> str:
        return self.name


class BatchStatus(models.TextChoices):
    PREVIEW = "preview", "Waiting for confirmation"
    IMPORTING = "importing", "Importing"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    DISCARDED = "discarded", "Discarded"
    FAILED = "failed", "Failed"


class Batch(models.Model):
    """One catalogue file (and its images ZIP): previewed, then confirmed and imported.

    The stored files live under the merchant's prefix with keys the service chose
    (``source_key``, ``images_key``). ``request`` and ``headline`` are the campaign's as
    they were when the batch was confirmed, so editing the campaign later does not change
    a batch that is running; no request means an import without jobs.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="batches")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=12, default="dashboard")  # dashboard | api | command
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches"
    )
    request = models.JSONField(null=True, blank=True)
    headline = models.CharField(max_length=200, default="{title}")
    status = models.CharField(max_length=12, choices=BatchStatus.choices, default=BatchStatus.PREVIEW)
    source_name = models.CharField(max_length=255)
    source_key = models.CharField(max_length=512)
    images_name = models.CharField(max_length=255, blank=True)
    images_key = models.CharField(max_length=512, blank=True)
    format = models.CharField(max_length=20)
    encoding = models.CharField(max_length=40)
    ignored_columns = models.JSONField(default=list, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    create_count = models.PositiveIntegerField(default=0)
    update_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.status})"

    @property
    def valid_rows(self) -> int:
        return self.total_rows - self.error_rows


class RowState(models.TextChoices):
    INVALID = "invalid", "Refused"  # an error found in the preview; never imported
    PREVIEW = "preview", "Ready"  # valid, waiting for the batch to be confirmed
    PENDING = "pending", "Waiting"  # confirmed, waiting for a free place (quota)
    ADMITTED = "admitted", "Preparing"  # its task is queued: photo, then job
    IMPORTED = "imported", "Imported"  # product and photo in place; the batch makes no jobs
    JOB = "job", "Job"  # a job was made: its status is the row's
    FAILED = "failed", "Failed"  # the photo or the job could not be made


class RowAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    UNCHANGED = "unchanged", "Unchanged"


class BatchRow(models.Model):
    """One product line of a batch. ``data`` holds the parsed fields (``ProductRow``)."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()
    sku = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=RowState.choices)
    action = models.CharField(max_length=10, choices=RowAction.choices, blank=True)
    data = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    image = models.ForeignKey(
        ProductImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    image_status = models.CharField(max_length=12, blank=True)  # new | unchanged | existing | none
    staged_key = models.CharField(max_length=512, blank=True)  # the ZIP entry, copied out for the worker
    job = models.ForeignKey(GenerationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["line"]
        constraints = [models.UniqueConstraint(fields=["batch", "line"], name="unique_batch_line")]
        indexes = [models.Index(fields=["batch", "state"])]

    def __str__(self) -> str:
        return f"batch {self.batch_id} line {self.line} {self.sku}"


class RemoteImage(models.Model):
    """What a photo URL answered last time: its validators and the photo it became.

    The next import of the same URL sends ``If-None-Match``/``If-Modified-Since``; a
    ``304``, or a body with the same SHA-256, keeps the photo without processing it again.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=2048)
    etag = models.CharField(max_length=512, blank=True)
    last_modified = models.CharField(max_length=64, blank=True)
    checksum = models.CharField(max_length=64)
    image = models.ForeignKey(ProductImage, on_delete=models.CASCADE, related_name="+")
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["product", "url"])]

    def __str__(self) -> str:
        return self.url
