"""Job events for storefronts, recorded in the same transaction as the job's state change.

``finish_job`` calls :func:`job_succeeded` (one ``asset.created`` per stored asset, then
``job.succeeded``) and ``fail_job`` calls :func:`job_failed`, both inside their atomic
blocks: a state change that rolls back records nothing, and one that commits is announced
once. Each event carries a dedupe key naming the change, so recording it twice (a task
run again) writes one event with one ``webhook-id``.
"""

from __future__ import annotations

from typing import Any

from shop_assets.jobs.models import Asset, GenerationJob
from shop_assets.webhooks.events import record_event
from shop_assets.webhooks.models import EventType
from shop_assets.webhooks.payloads import asset_data, job_data, product_data


def _change_key(job: GenerationJob, what: str) -> str:
    finished = job.finished_at.isoformat() if job.finished_at else ""
    return f"job:{job.pk}:{what}:{finished}"


def job_succeeded(job_id: int) -> None:
    job = GenerationJob.objects.select_related("product").get(pk=job_id)
    product = product_data(job.product)
    assets = list(Asset.objects.filter(job=job).order_by("pk"))
    for asset in assets:
        record_event(
            job.merchant_id,
            EventType.ASSET_CREATED,
            {"asset": asset_data(asset, sku=job.product.sku), "job_id": job.pk, "product": product},
            dedupe_key=f"asset:{asset.pk}:{asset.checksum}",
        )
    record_event(
        job.merchant_id,
        EventType.JOB_SUCCEEDED,
        {
            "job": job_data(job),
            "product": product,
            "assets": [asset_data(asset, sku=job.product.sku) for asset in assets],
        },
        dedupe_key=_change_key(job, "succeeded"),
    )


def job_failed(job_id: int) -> None:
    job = GenerationJob.objects.select_related("product").get(pk=job_id)
    record_event(
        job.merchant_id,
        EventType.JOB_FAILED,
        {"job": job_data(job), "product": product_data(job.product)},
        dedupe_key=_change_key(job, "failed"),
    )


def job_needs_review(job_id: int, review: dict[str, Any]) -> None:
    """For the review step: the matte was not trusted; ``review`` says why (confidence, reason)."""
    job = GenerationJob.objects.select_related("product").get(pk=job_id)
    record_event(
        job.merchant_id,
        EventType.JOB_NEEDS_REVIEW,
        {"job": job_data(job), "product": product_data(job.product), "review": review},
        dedupe_key=f"job:{job.pk}:needs_review:{job.attempts}",
    )
