"""The ``data`` of each event: what a storefront needs to act without calling back first.

Money is a string (exact decimals), times are ISO 8601 in UTC, and every asset carries
its SKU, kind, size, format, an authenticated download URL (the API key of the shop),
its fidelity check and the confidence of the product's matte.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from shop_assets.catalog.models import Product
from shop_assets.jobs.models import Asset, GenerationJob


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def matte_confidence(metrics: dict[str, Any]) -> float | None:
    """The confidence of the matte the asset was made with, where the asset recorded it.

    The job's matte record (``metrics["matte"]``) comes first: an accepted, refined or
    uploaded mask is given to the library as it is, so the library's own ``confidence`` on a
    cutout or packshot reads 1.0 and says nothing of it; the mask's confidence does. On the
    automatic path the matte used is the one made from the full photo
    (``full_photo_confidence``), not the preview's. Assets without a record (made before
    the record existed) fall back to the library's value.
    """
    matte = metrics.get("matte")
    if isinstance(matte, dict):
        for key in ("full_photo_confidence", "confidence"):
            if isinstance(matte.get(key), int | float) and not isinstance(matte.get(key), bool):
                return float(matte[key])
    for key in ("matte_confidence", "confidence"):
        if isinstance(metrics.get(key), int | float) and not isinstance(metrics.get(key), bool):
            return float(metrics[key])
    return None


def product_data(product: Product) -> dict[str, Any]:
    return {
        "id": product.pk,
        "sku": product.sku,
        "title": product.title,
        "price": None if product.price is None else str(product.price),
        "compare_at_price": None if product.compare_at_price is None else str(product.compare_at_price),
        "currency": product.currency,
        "updated_at": iso(product.updated_at),
    }


def asset_data(asset: Asset, *, sku: str) -> dict[str, Any]:
    metrics = asset.metrics or {}
    return {
        "id": asset.pk,
        "sku": sku,
        "job_id": asset.job_id,
        "kind": asset.kind,
        "name": asset.name,
        "format": asset.format,
        "content_type": asset.content_type,
        "width": asset.width,
        "height": asset.height,
        "size_bytes": asset.size_bytes,
        "checksum_sha256": asset.checksum,
        "download_url": absolute(reverse("api:asset_download", args=[asset.pk])),
        "fidelity": metrics.get("fidelity"),
        "matte_confidence": matte_confidence(metrics),
        "segmenter": metrics.get("segmenter"),
        # side files (a poster's layout, a clip's poster frame) name the asset they belong to
        "derived_from": next((v for k, v in metrics.items() if k.endswith("_of")), None),
        "created_at": iso(asset.created_at),
    }


def job_data(job: GenerationJob) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": job.pk,
        "status": job.status,
        "outputs": list(job.outputs),
        "attempts": job.attempts,
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at),
    }
    if job.error_code:
        data["error"] = {"code": job.error_code, "message": job.error_message}
    return data
