"""Celery tasks of the bulk import: thin, they take ids and call ``imports``/``fanout``."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from shop_assets.bulk import fanout, imports
from shop_assets.bulk.models import Batch, BatchStatus

log = logging.getLogger(__name__)


@shared_task(name="shop_assets.bulk.tasks.import_batch_task", acks_late=True, reject_on_worker_lost=True)
def import_batch_task(batch_id: int) -> str:
    try:
        imports.import_batch(batch_id)
    except Exception as exc:
        log.exception("batch %s could not be imported", batch_id)
        with transaction.atomic():
            Batch.objects.filter(pk=batch_id, status=BatchStatus.IMPORTING).update(
                status=BatchStatus.FAILED,
                error_message=f"The import stopped on our side ({type(exc).__name__}); rows imported so far are kept.",
            )
        return "failed"
    fanout.advance_batch(batch_id)
    return "imported"


@shared_task(
    bind=True,
    name="shop_assets.bulk.tasks.prepare_row_task",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=fanout.TRANSIENT_TRIES,
)
def prepare_row_task(self, row_id: int) -> str:
    try:
        return fanout.prepare_row(row_id)
    except imports.RowFailed as exc:  # transient: the row stays admitted and is tried again
        raise self.retry(countdown=5 * 2**self.request.retries) from exc


@shared_task(name="shop_assets.bulk.tasks.advance_batches_task")
def advance_batches_task() -> int:
    return fanout.advance_running_batches()
