"""Adding photos to products: validate, normalize, store; nothing stored on refusal."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction

from generation.errors import ImageRejected
from generation.normalize import ImageLimits, NormalizedImage, normalize_image, read_header
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.catalog.tasks import enqueue_automatic_mask
from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset
from shop_assets.limits.uploads import decode_slot, read_bounded

THUMBNAIL_SIDE = 480
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}


def image_limits() -> ImageLimits:
    return ImageLimits(max_bytes=settings.MAX_UPLOAD_BYTES, max_pixels=settings.MAX_IMAGE_PIXELS)


def read_upload(upload) -> bytes:
    """Bytes of a Django UploadedFile, refusing an oversized one before reading it."""
    limit = settings.MAX_UPLOAD_BYTES

    def too_large(size: int | None) -> ImageRejected:
        mb = limit // 1048576
        if size is None:
            return ImageRejected(f"The file is over the {mb} MB limit.", code="too_large")
        return ImageRejected(f"The file is {size / 1048576:.1f} MB; the limit is {mb} MB.", code="too_large")

    return read_bounded(upload, limit, too_large)


@contextmanager
def decoded(data: bytes) -> Iterator[NormalizedImage]:
    """``data`` decoded inside one of this web process's decode slots.

    The header is read first, so a file that is unsupported or over the pixel limit is
    refused without decoding it or taking a slot. Raises ImageRejected, or ServerBusy when
    every slot stays taken.
    """
    limits = image_limits()
    read_header(data, limits)
    with decode_slot():
        yield normalize_image(data, limits)


def add_product_image(
    product: Product, data: bytes, *, filename: str = "", auto_mask: bool = True
) -> ProductImage:
    """Normalize ``data`` and store the original, the normalized PNG and a thumbnail.

    With ``auto_mask`` a task on the default queue makes the automatic matte once the row
    is committed (``shop_assets.catalog.masks``: about a second on two cores, too long to
    keep the uploader waiting), and the product page shows the cutout when it lands;
    without it (bulk imports) the photo's first job makes it.

    Raises ImageRejected (nothing stored) for anything that is not an acceptable image,
    ServerBusy when the web process is already decoding as many photos as it may.
    """
    # 1. decode safely and 2. encode the copies the jobs and the dashboard use;
    # refusals happen before anything is written
    with decoded(data) as normalized:
        image = normalized.image
        png = io.BytesIO()
        # zlib level 1: about four times faster than level 6 on a large photo, for about
        # a sixth more bytes; this runs while the uploader waits.
        image.save(png, format="PNG", optimize=False, compress_level=1)
        thumb = image.copy()
        thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        thumb_bytes = io.BytesIO()
        if thumb.mode == "RGBA":
            thumb.save(thumb_bytes, format="WEBP", quality=85)
            thumb_ext = "webp"
        else:
            thumb.convert("RGB").save(thumb_bytes, format="JPEG", quality=85)
            thumb_ext = "jpg"
        width, height = image.size
        source_format, has_alpha = normalized.source_format, normalized.has_alpha
        orientation_applied = normalized.orientation_applied
    del normalized, image, thumb  # the decoded pixels are not kept while storing

    # 3. store all three; if any write or the row fails, remove what was written
    uid = uuid.uuid4().hex
    m, sku = product.merchant_id, product.sku
    keys = {
        "original": storage.image_key(m, sku, uid, "original", _EXTENSIONS.get(source_format, "bin")),
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
            row = ProductImage.objects.create(
                product=product,
                original_key=keys["original"],
                original_name=filename[:255],
                original_format=source_format,
                original_size=len(data),
                normalized_key=keys["normalized"],
                thumbnail_key=keys["thumbnail"],
                width=width,
                height=height,
                has_alpha=has_alpha,
                orientation_applied=orientation_applied,
                checksum=storage.sha256(data),
            )
    except BaseException:
        storage.delete_keys(written)
        raise
    if auto_mask:
        transaction.on_commit(lambda: enqueue_automatic_mask(row.pk))
    return row


def _image_keys(image: ProductImage) -> list[str]:
    keys = [image.original_key, image.normalized_key, image.thumbnail_key]
    keys += [key for mask in image.masks.all() for key in (mask.storage_key, mask.preview_key)]
    return keys


def delete_product(product: Product) -> None:
    """Delete the product with its photos, cutouts, jobs and assets; their files go once
    the deletion commits (a rollback keeps them)."""
    keys = [key for image in product.images.prefetch_related("masks") for key in _image_keys(image)]
    keys += storage.asset_keys(Asset.objects.filter(job__product=product))
    product.delete()
    transaction.on_commit(lambda: storage.delete_keys(keys))


def delete_product_image(image: ProductImage) -> None:
    """Delete one photo with its cutouts and the jobs made from it (and their assets); the
    files go once the deletion commits."""
    keys = _image_keys(image)
    keys += storage.asset_keys(Asset.objects.filter(job__image=image))
    image.delete()
    transaction.on_commit(lambda: storage.delete_keys(keys))


LOGO_MAX_SIDE = 1200


def store_logo(merchant_id: int, data: bytes) -> str:
    """Normalize a logo (kept with its transparency, at most 1200 px) and store it as PNG."""
    with decoded(data) as normalized:
        logo = normalized.image
        logo.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
        buf = io.BytesIO()
        logo.save(buf, format="PNG")
    return storage.put_bytes(f"merchants/{merchant_id}/brand/logo.png", buf.getvalue())
