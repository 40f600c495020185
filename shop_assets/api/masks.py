"""A photo's product mask in the REST API (``/api/v1/images/{id}/mask``), scoped to the
key's merchant: another merchant's photo ids answer 404 like ids that do not exist.

``GET`` says which mask the photo's jobs go by (the newest accepted one, else the
automatic one) with its confidence and evidence; ``GET .../mask/download`` is the PNG
(white is the product). ``PUT`` stores a new accepted version: the mask PNG as the
request body, or ``{"accept": "automatic"}`` to accept the automatic mask as it is.
Jobs of the photo that waited for a review go on by themselves.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Router, Schema, Status

from generation.check import MATTE_THRESHOLD
from shop_assets.accounts.access import key_merchant
from shop_assets.api.errors import ApiError, ErrorOut
from shop_assets.catalog import masks
from shop_assets.catalog.models import PhotoMask, ProductImage
from shop_assets.jobs import storage

router = Router(tags=["masks"])

MASK_TYPES = ("image/png", "image/webp", "image/jpeg")


class MaskOut(Schema):
    image_id: int
    version: int
    source: str  # auto | accepted | refined | uploaded
    accepted: bool
    trusted: bool  # accepted, or automatic with confidence >= threshold
    needs_review: bool  # jobs of this photo wait for the merchant
    confidence: float
    threshold: float
    evidence: dict[str, Any]
    width: int  # 0 when the automatic segmenter refused the photo (no mask file)
    height: int
    created_at: datetime
    download_url: str | None

    @staticmethod
    def resolve_needs_review(obj: PhotoMask) -> bool:
        return not obj.trusted

    @staticmethod
    def resolve_threshold(obj: PhotoMask) -> float:
        return MATTE_THRESHOLD

    @staticmethod
    def resolve_download_url(obj: PhotoMask) -> str | None:
        return reverse("api:image_mask_download", args=[obj.image_id]) if obj.storage_key else None


def _image(request: HttpRequest, image_id: int) -> ProductImage:
    return get_object_or_404(
        ProductImage.objects.filter(product__merchant=key_merchant(request)), pk=image_id
    )


def _current(image: ProductImage) -> PhotoMask:
    mask = masks.current_mask(image)
    if mask is None:
        raise ApiError(
            404, "mask_pending", "The photo's automatic mask is still being made; ask again in a few seconds."
        )
    return mask


@router.get("/{image_id}/mask", response={200: MaskOut, 404: ErrorOut})
def get_mask(request: HttpRequest, image_id: int):
    """The mask the photo's jobs go by: the newest accepted one, else the automatic one."""
    return _current(_image(request, image_id))


@router.get("/{image_id}/mask/download", url_name="image_mask_download", response={404: ErrorOut})
def download_mask(request: HttpRequest, image_id: int):
    """The current mask as a PNG (white is the product; the automatic one is preview-size)."""
    image = _image(request, image_id)
    mask = _current(image)
    if not mask.storage_key:
        raise ApiError(
            404, "no_mask", "The automatic segmenter found no product in this photo; upload a mask."
        )
    return storage.file_response(
        mask.storage_key,
        filename=f"{image.product.sku}-photo{image.pk}-mask-v{mask.version}.png",
        content_type="image/png",
        attachment=True,
    )


@router.put(
    "/{image_id}/mask",
    response={200: MaskOut, 400: ErrorOut, 404: ErrorOut, 415: ErrorOut},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"accept": {"type": "string", "enum": ["automatic"]}},
                        "required": ["accept"],
                    }
                },
            },
        }
    },
)
def put_mask(request: HttpRequest, image_id: int):
    """Store a new accepted mask: a PNG (or WebP/JPEG) body the photo's size or the same
    shape scaled, white the product; or ``{"accept": "automatic"}``."""
    image = _image(request, image_id)
    content_type = request.content_type or ""
    try:
        if content_type == "application/json":
            try:
                body = json.loads(request.body or b"null")
            except ValueError as exc:
                raise ApiError(400, "invalid_json", "The body is not valid JSON.") from exc
            if not isinstance(body, dict) or body.get("accept") != "automatic":
                raise ApiError(
                    400,
                    "invalid_request",
                    'Send {"accept": "automatic"}, or a mask PNG as the body.',
                    field="accept",
                )
            return Status(200, masks.accept_automatic(image))
        if content_type not in MASK_TYPES:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"Send the mask as {', '.join(MASK_TYPES)} (or JSON to accept the automatic mask), not {content_type or 'nothing'}.",
            )
        return Status(200, masks.save_uploaded(image, request.body))
    except masks.MaskInvalid as exc:
        raise ApiError(400, "invalid_mask", str(exc), field="body") from exc
