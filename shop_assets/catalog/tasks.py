"""Celery tasks of the catalogue: thin, they take ids and call ``masks``."""

from __future__ import annotations

from celery import shared_task

from shop_assets.catalog import masks
from shop_assets.catalog.models import ProductImage


@shared_task(name="shop_assets.catalog.tasks.automatic_mask_task", acks_late=True)
def automatic_mask_task(image_id: int) -> str:
    """Make the photo's automatic matte unless it has one (a job may have made it first)."""
    image = ProductImage.objects.filter(pk=image_id).first()
    if image is None:
        return "gone"
    if masks.latest_automatic(image) is not None:
        return "exists"
    mask = masks.make_automatic_mask_quietly(image)
    return "failed" if mask is None else f"v{mask.version}"


def enqueue_automatic_mask(image_id: int) -> None:
    automatic_mask_task.apply_async(args=[image_id], queue="default")
