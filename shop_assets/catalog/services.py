"""Adding photos to products: validate, normalize, store; nothing stored on refusal."""

from __future__ import annotations

import io
import uuid

from django.conf import settings
from django.db import transaction

from generation.errors import ImageRejected
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs import storage

THUMBNAIL_SIDE = 480
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}


def image_limits():
    from generation.normalize import ImageLimits

    return ImageLimits(max_bytes=settings.MAX_UPLOAD_BYTES, max_pixels=settings.MAX_IMAGE_PIXELS)


def read_upload(upload) -> bytes:
    """Bytes of a Django UploadedFile, refusing an oversized one before reading it."""
    limit = settings.MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise ImageRejected(
            f"The file is {upload.size / 1048576:.1f} MB; the limit is {limit // 1048576} MB.",
            code="too_large",
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ImageRejected(f"The file is over the {limit // 1048576} MB limit.", code="too_large")
    return data


def add_product_image(product: Product, data: bytes, *, filename: str = "") -> ProductImage:
    """Normalize ``data`` and store the original, the normalized PNG and a thumbnail.

    Raises ImageRejected (nothing stored) for anything that is not an acceptable image.
    """
    from generation.normalize import normalize_image

    # 1. decode safely; refusals happen before anything is written
    normalized = normalize_image(data, image_limits())
    image = normalized.image

    # 2. encode the copies the jobs and the dashboard use
    png = io.BytesIO()
    image.save(png, format="PNG", optimize=False, compress_level=6)
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    thumb_bytes = io.BytesIO()
    if thumb.mode == "RGBA":
        thumb.save(thumb_bytes, format="WEBP", quality=85)
        thumb_ext = "webp"
    else:
        thumb.convert("RGB").save(thumb_bytes, format="JPEG", quality=85)
        thumb_ext = "jpg"

    # 3. store all three; if any write or the row fails, remove what was written
    uid = uuid.uuid4().hex
    m, sku = product.merchant_id, product.sku
    keys = {
        "original": storage.image_key(
            m, sku, uid, "original", _EXTENSIONS.get(normalized.source_format, "bin")
        ),
        "normalized": storage.image_key(m, sku, uid, "normalized", "png"),
        "thumbnail": storage.image_key(m, sku, uid, "thumbnail", thumb_ext),
    }
    written: list[str] = []
    try:
        for role, payload in (
            ("original", data),
            ("normalized", png.getvalue()),
            ("thumbnail", thumb_bytes.getvalue()),
        ):
            written.append(storage.put_bytes(keys[role], payload))
        with transaction.atomic():
            return ProductImage.objects.create(
                product=product,
                original_key=keys["original"],
                original_name=filename[:255],
                original_format=normalized.source_format,
                original_size=len(data),
                normalized_key=keys["normalized"],
                thumbnail_key=keys["thumbnail"],
                width=image.width,
                height=image.height,
                has_alpha=normalized.has_alpha,
                orientation_applied=normalized.orientation_applied,
                checksum=storage.sha256(data),
            )
    except BaseException:
        storage.delete_keys(written)
        raise


def delete_product_image(image: ProductImage) -> None:
    keys = [image.original_key, image.normalized_key, image.thumbnail_key]
    image.delete()
    transaction.on_commit(lambda: storage.delete_keys(keys))


LOGO_MAX_SIDE = 1200


def store_logo(merchant_id: int, data: bytes) -> str:
    """Normalize a logo (kept with its transparency, at most 1200 px) and store it as PNG."""
    from generation.normalize import normalize_image

    logo = normalize_image(data, image_limits()).image
    logo.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
    buf = io.BytesIO()
    logo.save(buf, format="PNG")
    return storage.put_bytes(f"merchants/{merchant_id}/brand/logo.png", buf.getvalue())
