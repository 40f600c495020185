"""Celery tasks: take ids, claim the row, call a service, record the outcome."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from generation.errors import GenerationError
from shop_assets.catalog.masks import MatteNeedsReview
from shop_assets.jobs import faults, lifecycle, running, storing

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="shop_assets.jobs.tasks.run_job_task",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.JOB_SOFT_TIME_LIMIT,
    time_limit=settings.JOB_TIME_LIMIT,
    max_retries=None,  # bounded by the job's own attempts counter
)
def run_job_task(self, job_id: int) -> str:
    token = lifecycle.claim_job(job_id, worker=self.request.hostname or "")
    if token is None:
        if lifecycle.give_up_if_exhausted(job_id):
            return "failed"
        wait = lifecycle.lease_seconds_left(job_id)
        if wait is None:
            return "nothing to do"  # finished or failed
        # Another worker holds the lease (or died holding it): look again when it ends.
        raise self.retry(countdown=wait + 1)
    try:
        outputs = running.run_job(job_id, token)
        finished = storing.finish_job(job_id, token, outputs)
    except lifecycle.LeaseLost:  # CancelRequested included
        if lifecycle.stop_cancelled(job_id, token):
            return "cancelled"
        log.warning("job %s was taken over by another worker", job_id)
        return "taken over"
    except MatteNeedsReview as exc:
        lifecycle.hold_for_review(job_id, token, message=str(exc), review=exc.review)
        return "needs_review"
    except GenerationError as exc:
        lifecycle.fail_job(job_id, token, code=exc.code, message=str(exc))
        return "failed"
    except SoftTimeLimitExceeded:
        lifecycle.fail_job(
            job_id,
            token,
            code="time_limit",
            message=f"The job took longer than {settings.JOB_SOFT_TIME_LIMIT} s and was stopped.",
        )
        return "failed"
    except Exception as exc:
        if faults.is_transient(exc):
            return retry_later(self, job_id, token, exc)
        code, message = faults.permanent_failure(exc)
        if code == "internal_error":
            log.exception("job %s failed unexpectedly", job_id)
        else:
            log.warning("job %s failed: %s", job_id, exc)
        lifecycle.fail_job(job_id, token, code=code, message=message)
        return "failed"
    if finished:
        return "succeeded"
    if lifecycle.stop_cancelled(job_id, token):  # cancelled after the last heartbeat
        return "cancelled"
    return "taken over"


def retry_later(task, job_id: int, token: str, exc: Exception) -> str:
    """Put the job back in the queue and schedule another attempt, or fail it on the last one.

    A database error leaves this thread's connection dead, so it is replaced before the job
    row is touched again. If the database is still unreachable the job keeps our lease; the
    retry waits for the lease to run out and then claims the job afresh.
    """
    faults.drop_broken_connections(exc)
    try:
        attempts = lifecycle.attempts_of(job_id)
        if attempts >= settings.JOB_MAX_ATTEMPTS:
            lifecycle.fail_job(
                job_id,
                token,
                code="transient_error",
                message=f"Gave up after {attempts} attempts: {exc}",
            )
            return "failed"
        lifecycle.release_job(
            job_id, token, message=f"Retrying after a temporary error: {exc}", code=faults.transient_code(exc)
        )
    except (OperationalError, InterfaceError) as db_exc:
        faults.drop_broken_connections(db_exc)
        log.warning("job %s: database still unreachable, retrying after the lease", job_id, exc_info=True)
        raise task.retry(exc=exc, countdown=settings.JOB_LEASE_SECONDS + 1) from exc
    raise task.retry(exc=exc, countdown=min(2**attempts * 5, 300)) from exc


@shared_task(name="shop_assets.jobs.tasks.requeue_stale_jobs_task")
def requeue_stale_jobs_task() -> list[int]:
    return lifecycle.requeue_stale_jobs()
