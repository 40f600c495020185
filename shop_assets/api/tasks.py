"""Celery tasks of the API: the hourly purge of expired ``Idempotency-Key`` rows."""

from __future__ import annotations

from celery import shared_task

from shop_assets.api.idempotency import purge_expired


@shared_task(name="shop_assets.api.tasks.purge_idempotency_keys_task")
def purge_idempotency_keys_task() -> int:
    return purge_expired()
