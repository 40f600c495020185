"""Owning a job: claim, lease, heartbeat, release, fail, take over from dead workers.

Every state change is a conditional UPDATE on the job row, so two workers can never
both own a job: a worker owns it while ``lease_token`` is its token and the lease has
not expired. Progress and error messages are written here only, and always through
``faults.merchant_text``: the merchant never reads a server path or a traceback.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from shop_assets.jobs import faults, notify, storage
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import FINISHED, Asset, AttemptOutcome, GenerationJob, JobAttempt, JobStatus

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker took the job over; this one must stop without writing."""


class CancelRequested(LeaseLost):
    """The merchant cancelled the running job; the worker stops and keeps nothing."""


class NotRetryable(Exception):
    """Only a failed or cancelled job can run again."""


def _lease_until():
    return timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)


# token -> when this process last set the lease (monotonic seconds); see lease_surely_held
_renewed_at: dict[str, float] = {}


def _renewed(token: str) -> None:
    now = time.monotonic()
    for old, at in list(_renewed_at.items()):
        if now - at > 2 * settings.JOB_LEASE_SECONDS:
            _renewed_at.pop(old, None)
    _renewed_at[token] = now


def lease_surely_held(token: str) -> bool:
    """True while no other worker can have taken the job over: our last renewal is recent
    enough that the lease it set has not run out, whatever the database can say right now.
    Lets a failing attempt remove its own files without a query that may itself fail."""
    at = _renewed_at.get(token)
    return at is not None and time.monotonic() - at < settings.JOB_LEASE_SECONDS / 2


def claim_job(job_id: int, *, worker: str = "") -> str | None:
    """Take the job if it is queued, or running under an expired lease. Returns our token.

    Opens the attempt's row (``worker`` is the Celery worker's hostname, this machine's by
    default); an attempt still open from a worker whose lease ran out is closed as lost.
    """
    now = timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        claimed = (
            GenerationJob.objects.filter(
                pk=job_id, attempts__lt=settings.JOB_MAX_ATTEMPTS, cancel_requested_at__isnull=True
            )
            .filter(Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_expires_at__lt=now))
            .update(
                status=JobStatus.RUNNING,
                lease_token=token,
                lease_expires_at=_lease_until(),
                attempts=F("attempts") + 1,
                started_at=now,
                progress_message="Started",
                error_code="",
                error_message="",
                not_made=[],
            )
        )
        if not claimed:
            return None
        end_attempt(job_id, AttemptOutcome.LOST, "worker_lost")
        last = JobAttempt.objects.filter(job_id=job_id).aggregate(n=Max("number"))["n"] or 0
        JobAttempt.objects.create(
            job_id=job_id, number=last + 1, worker=(worker or socket.gethostname())[:255], started_at=now
        )
    _renewed(token)
    return token


def end_attempt(job_id: int, outcome: str, error_code: str = "") -> None:
    """Close the job's open attempt; call it in the transaction that records the job's change."""
    JobAttempt.objects.filter(job_id=job_id, ended_at__isnull=True).update(
        outcome=outcome, error_code=error_code[:64], ended_at=timezone.now()
    )


def lease_seconds_left(job_id: int) -> float | None:
    """Seconds until another worker may take the job; None when there is nothing to wait for."""
    job = GenerationJob.objects.filter(pk=job_id).values("status", "lease_expires_at").first()
    if not job or job["status"] != JobStatus.RUNNING or job["lease_expires_at"] is None:
        return None
    return max((job["lease_expires_at"] - timezone.now()).total_seconds(), 0.0)


def renew_lease(job_id: int, token: str, *, progress: int | None = None, message: str | None = None) -> None:
    fields: dict[str, Any] = {"lease_expires_at": _lease_until()}
    if progress is not None:
        fields["progress"] = max(0, min(100, progress))
    if message is not None:
        fields["progress_message"] = faults.merchant_text(message, limit=200)
    ours = GenerationJob.objects.filter(pk=job_id, lease_token=token, status=JobStatus.RUNNING)
    if not ours.filter(cancel_requested_at__isnull=True).update(**fields):
        if ours.exists():
            raise CancelRequested(f"job {job_id} was cancelled")
        raise LeaseLost(f"job {job_id} is no longer owned by this worker")
    _renewed(token)


class Heartbeat:
    """Renews the lease in the background while a long step (model load) runs."""

    def __init__(self, job_id: int, token: str) -> None:
        self.job_id, self.token = job_id, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)
        self.lost = False

    def _run(self) -> None:
        from django.db import connection

        interval = max(settings.JOB_LEASE_SECONDS / 3, 0.5)
        try:
            while not self._stop.wait(interval):
                try:
                    renew_lease(self.job_id, self.token)
                except LeaseLost:
                    self.lost = True
                    return
                except Exception as exc:  # a passing database error: try again next beat
                    log.warning("heartbeat for job %s failed", self.job_id, exc_info=True)
                    faults.drop_broken_connections(exc)  # on a new connection, not the dead one
        finally:
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def release_job(job_id: int, token: str, *, message: str, code: str = "transient_error") -> bool:
    """Give the job back to the queue (a transient error; it will be retried)."""
    with transaction.atomic():
        released = GenerationJob.objects.filter(
            pk=job_id, lease_token=token, status=JobStatus.RUNNING
        ).update(
            status=JobStatus.QUEUED,
            lease_token="",
            lease_expires_at=None,
            progress_message=faults.merchant_text(message, limit=200),
            enqueued_at=timezone.now(),
        )
        if released:
            end_attempt(job_id, AttemptOutcome.RETRY, code)
    return bool(released)


def fail_job(
    job_id: int, token: str | None, *, code: str, message: str, outcome: str = AttemptOutcome.FAILED
) -> bool:
    """Record a readable failure and remove whatever the job had stored: its assets, and any
    file under its folder that an attempt wrote but could not remove (a takeover, a crash)."""
    with transaction.atomic():
        qs = GenerationJob.objects.filter(pk=job_id).exclude(status__in=FINISHED)
        if token is not None:
            qs = qs.filter(lease_token=token)
        updated = qs.update(
            status=JobStatus.FAILED,
            error_code=code[:64],
            error_message=faults.merchant_text(message, limit=2000),
            progress_message="Failed",
            lease_token="",
            lease_expires_at=None,
            finished_at=timezone.now(),
        )
        if not updated:
            return False
        end_attempt(job_id, outcome, code)
        notify.job_failed(job_id)
        assets = list(Asset.objects.filter(job_id=job_id))
        keys = [a.storage_key for a in assets]
        Asset.objects.filter(job_id=job_id).delete()
        job = GenerationJob.objects.select_related("product").get(pk=job_id)
        folder = storage.job_folder(job.merchant_id, job.product.sku, job_id)
    storage.delete_keys(list(dict.fromkeys([*keys, *storage.files_under(folder)])))
    return True


def hold_for_review(job_id: int, token: str, *, message: str, review: dict[str, Any]) -> bool:
    """Stop the job before it makes anything: the photo's matte needs the merchant's review.

    ``job.needs_review`` is recorded in the same transaction; ``review`` says why.
    """
    with transaction.atomic():
        updated = GenerationJob.objects.filter(pk=job_id, lease_token=token, status=JobStatus.RUNNING).update(
            status=JobStatus.NEEDS_REVIEW,
            error_code="matte_needs_review",
            error_message=faults.merchant_text(message, limit=2000),
            progress_message="Waiting for your review of the cutout",
            lease_token="",
            lease_expires_at=None,
            finished_at=timezone.now(),
        )
        if not updated:
            return False
        end_attempt(job_id, AttemptOutcome.REVIEW, "matte_needs_review")
        notify.job_needs_review(job_id, review)
    return True


def _queue_again(rows: Any, now: Any) -> int:
    """Put the jobs in ``rows`` back in the queue as fresh attempts (a merchant's retry, a
    job resumed after review); returns how many changed."""
    return int(
        rows.update(
            status=JobStatus.QUEUED,
            attempts=0,
            progress=0,
            progress_message="Waiting for a worker",
            error_code="",
            error_message="",
            not_made=[],
            cancel_requested_at=None,
            started_at=None,
            finished_at=None,
            enqueued_at=now,
        )
    )


def resume_after_review(image_id: int) -> list[int]:
    """Queue again the photo's jobs that waited for its cutout (the merchant accepted one).

    Their attempts start over: the wait was not a failure. Sent after commit.
    """
    now = timezone.now()
    with transaction.atomic():
        waiting = list(
            GenerationJob.objects.filter(image_id=image_id, status=JobStatus.NEEDS_REVIEW).values_list(
                "pk", "queue"
            )
        )
        resumed = []
        for job_id, queue in waiting:
            if _queue_again(GenerationJob.objects.filter(pk=job_id, status=JobStatus.NEEDS_REVIEW), now):
                resumed.append(job_id)
                transaction.on_commit(partial(job_requests.enqueue, job_id, queue))
    return resumed


def give_up_if_exhausted(job_id: int) -> bool:
    """Fail a job whose lease ran out on its last allowed attempt. True if it was failed."""
    job = GenerationJob.objects.filter(
        pk=job_id,
        status=JobStatus.RUNNING,
        lease_expires_at__lt=timezone.now(),
        attempts__gte=settings.JOB_MAX_ATTEMPTS,
    ).first()
    if job is None:
        return False
    return fail_job(
        job.pk,
        job.lease_token,
        code="worker_lost",
        outcome=AttemptOutcome.LOST,
        message=f"The worker stopped responding on attempt {job.attempts} of {settings.JOB_MAX_ATTEMPTS}; the job was stopped.",
    )


def requeue_stale_jobs(*, queued_after_seconds: int = 600) -> list[int]:
    """Take over jobs whose worker died (lease expired) and re-send lost messages.

    Run by Celery beat and when a worker starts. Sending a job twice is harmless:
    only one claim can succeed.
    """
    now = timezone.now()
    # a cancelled job whose worker died: nobody is left to stop it
    for job_id in GenerationJob.objects.filter(
        status=JobStatus.RUNNING, lease_expires_at__lt=now, cancel_requested_at__isnull=False
    ).values_list("pk", flat=True):
        _end_cancelled(GenerationJob.objects.filter(pk=job_id, status=JobStatus.RUNNING), job_id)
    requeued: list[int] = []
    for job in GenerationJob.objects.filter(status=JobStatus.RUNNING, lease_expires_at__lt=now):
        if give_up_if_exhausted(job.pk):
            continue
        with transaction.atomic():
            released = GenerationJob.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, lease_token=job.lease_token, lease_expires_at__lt=now
            ).update(
                status=JobStatus.QUEUED,
                lease_token="",
                lease_expires_at=None,
                enqueued_at=now,
                progress_message="Restarting after a worker stopped",
            )
            if released:
                end_attempt(job.pk, AttemptOutcome.LOST, "worker_lost")
        if released:
            requeued.append(job.pk)
    stale_queued = GenerationJob.objects.filter(
        status=JobStatus.QUEUED, enqueued_at__lt=now - timedelta(seconds=queued_after_seconds)
    )
    for job in stale_queued:
        GenerationJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(enqueued_at=now)
        requeued.append(job.pk)
    for job in GenerationJob.objects.filter(pk__in=requeued):
        job_requests.enqueue(job.pk, job.queue)
    return requeued


def attempts_of(job_id: int) -> int:
    return GenerationJob.objects.filter(pk=job_id).values_list("attempts", flat=True).first() or 0


def _end_cancelled(rows: Any, job_id: int, **fields: Any) -> bool:
    """Mark ``rows`` (the job, as a conditional queryset) cancelled and remove its assets
    and every file under its folder (written but not recorded ones too) once that commits."""
    with transaction.atomic():
        updated = rows.update(
            status=JobStatus.CANCELLED,
            progress_message="Cancelled",
            lease_token="",
            lease_expires_at=None,
            finished_at=timezone.now(),
            **fields,
        )
        if not updated:
            return False
        end_attempt(job_id, AttemptOutcome.CANCELLED, "cancelled")
        job = GenerationJob.objects.select_related("product").get(pk=job_id)
        assets = Asset.objects.filter(job_id=job_id)
        keys = list(assets.values_list("storage_key", flat=True))
        assets.delete()
        folder = storage.job_folder(job.merchant_id, job.product.sku, job_id)
        transaction.on_commit(lambda: storage.delete_keys([*keys, *storage.files_under(folder)]))
    return True


def cancel_job(job: GenerationJob) -> bool:
    """Cancel a queued job (or one waiting for a cutout review) at once; ask a running one
    to stop at its next heartbeat (its worker then ends it cancelled, keeping no assets).
    False when it had already finished."""
    now = timezone.now()
    queued = GenerationJob.objects.filter(pk=job.pk, status__in=(JobStatus.QUEUED, JobStatus.NEEDS_REVIEW))
    if _end_cancelled(queued, job.pk, cancel_requested_at=now):
        return True
    running = GenerationJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING)
    return bool(
        running.update(
            cancel_requested_at=Coalesce(F("cancel_requested_at"), now), progress_message="Cancelling"
        )
    )


def stop_cancelled(job_id: int, token: str) -> bool:
    """The worker's side of a cancel: end the job cancelled if we still hold it and a cancel
    was requested. False when there was no such request."""
    rows = GenerationJob.objects.filter(
        pk=job_id, lease_token=token, status=JobStatus.RUNNING, cancel_requested_at__isnull=False
    )
    return _end_cancelled(rows, job_id)


def retry_job(job: GenerationJob) -> None:
    """Queue a failed or cancelled job again as a fresh attempt; call it inside the
    transaction that checks the merchant's job quota. Raises NotRetryable otherwise."""
    again = _queue_again(
        GenerationJob.objects.filter(pk=job.pk, status__in=(JobStatus.FAILED, JobStatus.CANCELLED)),
        timezone.now(),
    )
    if not again:
        status = GenerationJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
        raise NotRetryable(f"The job is {status}; only a failed or cancelled job can be retried.")
    transaction.on_commit(lambda: job_requests.enqueue(job.pk, job.queue))
