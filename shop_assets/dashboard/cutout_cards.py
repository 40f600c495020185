"""The cutout card of one photo on the product page: what it shows and which actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from shop_assets.catalog import masks
from shop_assets.catalog.models import ProductImage
from shop_assets.jobs.models import JobStatus

PENDING_FOR = timedelta(minutes=1)


def cutout_context(image: ProductImage, error: str = "") -> dict[str, Any]:
    """What the product page's cutout card shows for one photo."""
    auto = masks.latest_automatic(image)
    accepted = masks.latest_accepted(image)
    shown = accepted or auto
    return {
        "image": image,
        # the photo's place among its product's photos, as the tiles and the job form number them
        "number": list(image.product.images.values_list("pk", flat=True)).index(image.pk) + 1,
        "auto": auto,
        "accepted": accepted,
        "shown": shown if shown is not None and shown.preview_key else None,
        # waiting for the task after upload; past a minute something is wrong (no worker):
        # stop polling and offer the editor and the upload instead
        "pending": auto is None and accepted is None and timezone.now() - image.created_at < PENDING_FOR,
        "missing": auto is None and accepted is None,
        "trusted": bool(shown and shown.trusted),
        "editor": {"width": masks.editor_size(image)[0], "height": masks.editor_size(image)[1]},
        "waiting": image.jobs.filter(status=JobStatus.NEEDS_REVIEW).count(),
        "error": error,
    }
