"""A confirmed batch fans out: one task per row (photo, then the product's job), a few
at a time, and its counts are read from the rows and their jobs.

Rows are admitted in windows: ``advance_batch`` moves up to ``SHOPASSETS_BATCH_WINDOW``
rows of a batch from *pending* to *admitted* and sends their tasks after the commit. It
runs when the batch is confirmed, when a row finishes without a job, and on beat's
``advance_batches_task`` tick (which also notices finished jobs). A batch of 10,000
rows therefore never puts 10,000 messages on the broker at once, and other merchants'
jobs are not stuck behind it. Each row is claimed with a conditional update, so a
redelivered task never prepares a row twice; a failed row never stops the others.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from generation.request import InvalidRequest
from shop_assets.bulk import campaigns
from shop_assets.bulk.imports import RowFailed, row_image
from shop_assets.bulk.models import Batch, BatchRow, BatchStatus, Campaign, RowState
from shop_assets.jobs import storage
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.limits import QuotaExceeded
from shop_assets.limits.quotas import IN_FLIGHT, check_job_quota
from shop_assets.webhooks import payloads
from shop_assets.webhooks.events import record_event
from shop_assets.webhooks.models import EventType

log = logging.getLogger(__name__)

IMPORT_TASK = "shop_assets.bulk.tasks.import_batch_task"
ROW_TASK = "shop_assets.bulk.tasks.prepare_row_task"
QUEUE = "bulk"  # the bulk import's own (shop_assets/celery.py): never behind a render
TRANSIENT_TRIES = 3


class NotConfirmable(Exception):
    pass


def confirm_batch(batch: Batch, campaign: Campaign | None = None) -> None:
    """Start importing a previewed batch (once; a second confirm changes nothing).

    ``campaign`` (else the one chosen at the upload) is copied into the batch: each row
    then makes one job with it, and editing the campaign later does not change this batch.
    """
    if batch.valid_rows == 0:
        raise NotConfirmable("No row of this file can be imported; fix the errors and upload it again.")
    if campaign is not None and campaign.merchant_id != batch.merchant_id:
        raise NotConfirmable("That campaign belongs to another shop.")
    campaign = campaign or batch.campaign
    frozen = (
        {"campaign": campaign, "request": campaign.request, "headline": campaign.headline} if campaign else {}
    )
    claimed = Batch.objects.filter(pk=batch.pk, status=BatchStatus.PREVIEW).update(
        status=BatchStatus.IMPORTING, confirmed_at=timezone.now(), **frozen
    )
    if not claimed:
        raise NotConfirmable("This batch was already confirmed or discarded.")
    batch.status = BatchStatus.IMPORTING
    for name, value in frozen.items():
        setattr(batch, name, value)
    transaction.on_commit(lambda: current_app.send_task(IMPORT_TASK, args=[batch.pk], queue=QUEUE))


def advance_batch(batch_id: int) -> int:
    """Admit the next rows of a running batch; mark it done when nothing is left.

    Returns the number of rows admitted.
    """
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id, status=BatchStatus.RUNNING).first()
        if batch is None:
            return 0
        rows = BatchRow.objects.filter(batch=batch)
        admitted = rows.filter(state=RowState.ADMITTED).count()
        free = max(0, settings.BATCH_WINDOW - admitted)
        if batch.request:
            free = min(free, job_places(batch.merchant_id))
        ids = list(rows.filter(state=RowState.PENDING).order_by("line").values_list("pk", flat=True)[:free])
        if ids:
            rows.filter(pk__in=ids, state=RowState.PENDING).update(state=RowState.ADMITTED)
            transaction.on_commit(lambda: _send_rows(ids))
        elif (
            admitted == 0
            and not rows.filter(state=RowState.PENDING).exists()  # waiting for job quota
            and not _jobs_in_flight(batch)
        ):
            _finish(batch)
        return len(ids)


def job_places(merchant_id: int) -> int:
    """Jobs the merchant may still queue: ``SHOPASSETS_MAX_QUEUED_JOBS`` less the jobs queued
    or running and the rows of its batches (with a campaign) being prepared, each of which
    is about to make one. ``prepare_row`` checks the quota again under the merchant's lock."""
    in_flight = GenerationJob.objects.filter(merchant_id=merchant_id, status__in=IN_FLIGHT).count()
    preparing = BatchRow.objects.filter(
        batch__merchant_id=merchant_id,
        batch__status=BatchStatus.RUNNING,
        batch__request__isnull=False,
        state=RowState.ADMITTED,
    ).count()
    return max(0, settings.MAX_QUEUED_JOBS - in_flight - preparing)


def _send_rows(ids: list[int]) -> None:
    with current_app.producer_or_acquire() as producer:
        for pk in ids:
            current_app.send_task(ROW_TASK, args=[pk], queue=QUEUE, producer=producer)


def _jobs_in_flight(batch: Batch) -> bool:
    """A row's job is queued, running or held for review (it resumes when its cutout is
    accepted, so the batch is not done until the merchant acts on it)."""
    return BatchRow.objects.filter(
        batch=batch,
        state=RowState.JOB,
        job__status__in=(JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.NEEDS_REVIEW),
    ).exists()


def _finish(batch: Batch) -> None:
    """Done: ``batch.completed`` is recorded in the same transaction (once per completion:
    a retry that reopens the batch announces its next completion too)."""
    finished_at = timezone.now()
    Batch.objects.filter(pk=batch.pk, status=BatchStatus.RUNNING).update(
        status=BatchStatus.DONE, finished_at=finished_at
    )
    batch.status, batch.finished_at = BatchStatus.DONE, finished_at
    record_event(
        batch.merchant_id,
        EventType.BATCH_COMPLETED,
        batch_data(batch),
        dedupe_key=f"batch.completed:{batch.pk}:{finished_at.isoformat()}",
    )
    staged = list(
        BatchRow.objects.filter(batch=batch).exclude(staged_key="").values_list("staged_key", flat=True)
    )
    transaction.on_commit(lambda: storage.delete_keys(staged))


def batch_data(batch: Batch) -> dict[str, Any]:
    """The ``data`` of ``batch.completed``: the batch, its counts and where its results are."""
    counts = batch_counts(batch)
    return {
        "batch": {
            "id": batch.pk,
            "status": batch.status,
            "source_name": batch.source_name,
            "campaign_id": batch.campaign_id,
            "finished_at": payloads.iso(batch.finished_at),
            "counts": {**asdict(counts), "progress": counts.progress},
            "results_url": payloads.absolute(reverse("api:batch_results", args=[batch.pk])),
            "assets_url": payloads.absolute(reverse("api:batch_assets", args=[batch.pk])),
        }
    }


def advance_running_batches() -> int:
    """Beat's tick: every running batch takes its next rows (or finishes)."""
    admitted = 0
    for batch_id in Batch.objects.filter(status=BatchStatus.RUNNING).values_list("pk", flat=True):
        admitted += advance_batch(batch_id)
    return admitted


def prepare_row(row_id: int) -> str:
    """The row's photo, then (with a campaign) its job. Returns the row's new state.

    Raises ``RowFailed`` with ``transient`` for errors worth another try (the row stays
    admitted); anything else fails the row, never the batch.
    """
    row = BatchRow.objects.select_related("batch", "product", "image").filter(pk=row_id).first()
    if row is None or row.state != RowState.ADMITTED or row.product is None:
        return "nothing to do"
    BatchRow.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
    state: str  # a RowState, or "nothing to do" from _make_job
    try:
        image = row_image(row)
        row.image = image
        if image is None and row.batch.request:
            raise RowFailed("the product has no photo: give one in the file or upload one first")
        state = RowState.IMPORTED
    except RowFailed as exc:
        if exc.transient and row.attempts + 1 < TRANSIENT_TRIES:
            raise
        state, row.error = RowState.FAILED, str(exc)[:2000]
    if state == RowState.IMPORTED and row.batch.request:
        state = _make_job(row)
        updated = state != "nothing to do"
    else:
        updated = (
            BatchRow.objects.filter(pk=row.pk, state=RowState.ADMITTED).update(
                state=state, image=row.image, image_status=row.image_status, error=row.error
            )
            > 0
        )
    if updated and row.staged_key and state != RowState.FAILED:
        storage.delete_keys([row.staged_key])
        BatchRow.objects.filter(pk=row.pk).update(staged_key="")
    advance_batch(row.batch_id)
    return state


def _make_job(row: BatchRow) -> str:
    """The row's job from the batch's campaign, made once: the row is locked and still
    admitted, or another delivery already made it. Full quota sends the row back to wait."""
    batch = row.batch
    assert row.product is not None and row.image is not None and batch.request is not None
    photo = {"image": row.image, "image_status": row.image_status}
    with transaction.atomic():
        mine = BatchRow.objects.select_for_update().filter(pk=row.pk, state=RowState.ADMITTED)
        if not mine.exists():
            return "nothing to do"
        try:
            check_job_quota(batch.merchant_id)
        except QuotaExceeded:
            mine.update(state=RowState.PENDING, attempts=0, **photo)
            return RowState.PENDING
        try:
            job = campaigns.create_job(
                batch.request, batch.headline, row.product, row.image, row.data.get("headline") or ""
            )
        except InvalidRequest as exc:
            error = f"the campaign does not fit this product: {exc}"[:2000]
            mine.update(state=RowState.FAILED, error=error, **photo)
            return RowState.FAILED
        mine.update(state=RowState.JOB, job=job, error="", **photo)
    return RowState.JOB


# --- counts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchCounts:
    total: int  # rows that can be imported (refused rows are not counted)
    waiting: int  # confirmed, not yet started
    queued: int  # being prepared, or their job is queued
    running: int
    succeeded: int
    failed: int
    needs_review: int
    imported: int  # imported without a job (a batch with no campaign)
    refused: int  # rows refused at the preview

    @property
    def finished(self) -> int:
        # a job held for review has not made its assets: it waits on the merchant
        return self.succeeded + self.failed + self.imported

    @property
    def progress(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 100


def batch_counts(batch: Batch) -> BatchCounts:
    """One query: rows by state and by their job's status."""
    tally: Counter[str] = Counter()
    rows = BatchRow.objects.filter(batch=batch).values("state", "job__status").annotate(n=Count("pk"))
    for item in rows:
        state, status, n = item["state"], item["job__status"], item["n"]
        if state == RowState.JOB:
            tally[_JOB_COUNT.get(status, "queued")] += n
        else:
            tally[_ROW_COUNT[RowState(state)]] += n
    total = sum(n for key, n in tally.items() if key not in ("refused", "preview"))
    return BatchCounts(
        total=total,
        waiting=tally["waiting"],
        queued=tally["queued"],
        running=tally["running"],
        succeeded=tally["succeeded"],
        failed=tally["failed"],
        needs_review=tally["needs_review"],
        imported=tally["imported"],
        refused=tally["refused"],
    )


_ROW_COUNT = {
    RowState.INVALID: "refused",
    RowState.PREVIEW: "preview",
    RowState.PENDING: "waiting",
    RowState.ADMITTED: "queued",
    RowState.IMPORTED: "imported",
    RowState.FAILED: "failed",
}
# A job status the service adds later (a matte nobody trusts: "needs_review") is counted
# under its own name as soon as it exists.
_JOB_COUNT = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "running",
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "failed",  # did not make its assets; retried with the failed rows
    "needs_review": "needs_review",
}


def retry_failed_rows(batch: Batch) -> int:
    """Send the batch's failed rows (their photo or their job failed) through again."""
    with transaction.atomic():
        failed = BatchRow.objects.filter(batch=batch, state=RowState.FAILED) | BatchRow.objects.filter(
            batch=batch, state=RowState.JOB, job__status__in=(JobStatus.FAILED, JobStatus.CANCELLED)
        )
        ids = list(failed.values_list("pk", flat=True))
        if not ids:
            return 0
        BatchRow.objects.filter(pk__in=ids).update(state=RowState.PENDING, error="", job=None, attempts=0)
        Batch.objects.filter(pk=batch.pk, status__in=(BatchStatus.RUNNING, BatchStatus.DONE)).update(
            status=BatchStatus.RUNNING, finished_at=None
        )
    advance_batch(batch.pk)
    return len(ids)
