"""The Celery app. Queues: ``default`` (CPU work), ``gpu`` (model work), ``webhooks``
(deliveries: short network waits that must not queue behind minutes of rendering) and
``bulk`` (a bulk import's file, its rows' photos and the batch tick: a merchant watching a
preview turn into products must not wait behind other merchants' renders either)."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_assets.settings")

app = Celery("shop_assets")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_default_queue="default",
    # Each queue its own routing key: a job sent to "gpu" must never reach a CPU worker.
    task_queues=(
        Queue("default", Exchange("default", type="direct"), routing_key="default"),
        Queue("gpu", Exchange("gpu", type="direct"), routing_key="gpu"),
        Queue("webhooks", Exchange("webhooks", type="direct"), routing_key="webhooks"),
        Queue("bulk", Exchange("bulk", type="direct"), routing_key="bulk"),
    ),
    task_routes={
        "shop_assets.webhooks.tasks.*": {"queue": "webhooks", "routing_key": "webhooks"},
        "shop_assets.bulk.tasks.*": {"queue": "bulk", "routing_key": "bulk"},
    },
    task_default_exchange="default",
    task_default_routing_key="default",
    task_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    beat_schedule={
        "requeue-stale-jobs": {
            "task": "shop_assets.jobs.tasks.requeue_stale_jobs_task",
            "schedule": float(os.environ.get("SHOPASSETS_STALE_SWEEP_SECONDS", "30")),
        },
        "dispatch-due-webhooks": {
            "task": "shop_assets.webhooks.tasks.dispatch_due_webhooks_task",
            "schedule": float(os.environ.get("SHOPASSETS_WEBHOOK_SWEEP_SECONDS", "5")),
        },
        "purge-idempotency-keys": {
            "task": "shop_assets.api.tasks.purge_idempotency_keys_task",
            "schedule": 3600.0,
        },
        "advance-batches": {
            "task": "shop_assets.bulk.tasks.advance_batches_task",
            "schedule": float(os.environ.get("SHOPASSETS_BATCH_TICK_SECONDS", "5")),
        },
    },
)
app.autodiscover_tasks(
    ["shop_assets.api", "shop_assets.catalog", "shop_assets.jobs", "shop_assets.webhooks", "shop_assets.bulk"]
)
