"""When a worker starts, take over jobs that a stopped worker left behind."""

from __future__ import annotations

import logging

from celery.signals import worker_ready

log = logging.getLogger(__name__)


@worker_ready.connect
def requeue_on_start(**kwargs) -> None:
    from shop_assets.jobs.lifecycle import requeue_stale_jobs

    try:
        requeued = requeue_stale_jobs()
    except Exception:  # the database may not be migrated yet; beat will try again
        log.warning("could not look for stale jobs at start-up", exc_info=True)
        return
    if requeued:
        log.info("requeued stale jobs: %s", requeued)
