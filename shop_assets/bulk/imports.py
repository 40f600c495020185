"""Catalogue import: preview, confirm, write the products, prepare each row's photo.

1. ``preview_batch`` checks the images ZIP, stores the uploaded files under keys of our
   own, reads the catalogue row by row and saves a ``BatchRow`` for each: refused (line
   number and reason) or what it will do (create, update, unchanged). Nothing is changed
   in the catalogue. A file that cannot be read at all raises ``BatchRefused`` and
   nothing is kept.
2. ``confirm_batch`` fixes the campaign and hands the batch to a worker
   (``import_batch``): products are created or updated by SKU in chunks, the ZIP's photos
   are copied out for the rows whose photo changed (SHA-256 of the bytes), and the rows
   wait for their turn.
3. ``prepare_row`` (one task per row, see ``fanout``) fetches a URL photo or takes the
   copied ZIP entry, adds it to the product unless it is unchanged, and starts the
   product's job when the batch has a campaign.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from generation.errors import ImageRejected
from shop_assets.accounts.models import Merchant
from shop_assets.bulk.archive import ArchiveLimits, ArchiveRefused, ImageArchive
from shop_assets.bulk.fetch import FetchFailed, fetch_image
from shop_assets.bulk.models import Batch, BatchRow, BatchStatus, RemoteImage, RowAction, RowState
from shop_assets.bulk.parsers import Catalogue, CatalogueInvalid, ProductRow, RowError, read_catalogue
from shop_assets.catalog import services as catalog
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs import storage

CHUNK = 500
PRODUCT_FIELDS = ("title", "description", "price", "compare_at_price", "currency", "brand_name")


class BatchRefused(Exception):
    """The upload cannot become a batch; ``code`` is stable, the message names the problem."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def archive_limits() -> ArchiveLimits:
    return ArchiveLimits(
        max_entries=settings.BATCH_ZIP_MAX_ENTRIES,
        max_total_bytes=settings.BATCH_ZIP_MAX_TOTAL_MB * 1024 * 1024,
        max_entry_bytes=settings.MAX_UPLOAD_BYTES,
        max_ratio=float(settings.BATCH_ZIP_MAX_RATIO),
    )


def batch_prefix(merchant_id: int, uid: str) -> str:
    return f"merchants/{merchant_id}/batches/{uid}"


def put_file(key: str, fh: IO[bytes]) -> str:
    """Store an open file under ``key``, streamed (never read whole into memory)."""
    fh.seek(0)
    saved = default_storage.save(key, File(fh))
    if saved != key:
        default_storage.delete(saved)
        raise RuntimeError(f"storage stored {key!r} as {saved!r}")
    return key


@contextlib.contextmanager
def local_copy(key: str) -> Iterator[IO[bytes]]:
    """A stored file opened for random access: the file itself on local storage, a
    temporary copy (streamed down) on S3."""
    if not storage.is_s3():
        with open(default_storage.path(key), "rb") as fh:
            yield fh
        return
    with tempfile.TemporaryFile() as tmp, default_storage.open(key, "rb") as remote:
        shutil.copyfileobj(remote, tmp, 1024 * 1024)
        tmp.seek(0)
        yield tmp


def _size(fh: IO[bytes]) -> int:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size


# --- 1. preview ------------------------------------------------------------------------------


def _row_data(row: ProductRow) -> dict[str, Any]:
    data = asdict(row)
    del data["line"], data["sku"]
    for key in ("price", "compare_at_price"):
        data[key] = str(data[key]) if data[key] is not None else None
    return data


def product_values(
    data: dict[str, Any], merchant: Merchant, existing: dict[str, Any] | None
) -> dict[str, Any]:
    """The product fields a row sets (a row without a currency keeps the product's)."""
    currency = data.get("currency") or (existing or {}).get("currency") or merchant.default_currency
    return {
        "title": data["title"],
        "description": data.get("description", ""),
        "price": Decimal(data["price"]) if data.get("price") is not None else None,
        "compare_at_price": Decimal(data["compare_at_price"])
        if data.get("compare_at_price") is not None
        else None,
        "currency": currency,
        "brand_name": data.get("vendor", ""),
    }


def _action(values: dict[str, Any], existing: dict[str, Any] | None) -> str:
    if existing is None:
        return RowAction.CREATE
    return RowAction.UNCHANGED if all(existing[f] == values[f] for f in PRODUCT_FIELDS) else RowAction.UPDATE


def _existing(merchant: Merchant, skus: list[str]) -> dict[str, dict[str, Any]]:
    rows = Product.objects.filter(merchant=merchant, sku__in=skus).values("id", "sku", *PRODUCT_FIELDS)
    return {r["sku"]: r for r in rows}


def _match_image(row: ProductRow, archive: ImageArchive | None) -> tuple[str, str]:
    """(path inside the ZIP or "", reason the row is refused or "")."""
    ref = row.image
    if ref.lower().startswith(("http://", "https://")):
        return "", ""
    if archive is None:
        return "", (f"image {ref[:80]!r} names a file but no images ZIP was uploaded" if ref else "")
    entry, problem = archive.find(ref, sku=row.sku)
    return (entry.path if entry else ""), problem


def preview_batch(
    merchant: Merchant,
    source: IO[bytes],
    source_name: str,
    images: IO[bytes] | None = None,
    images_name: str = "",
    *,
    channel: str = "dashboard",
    user: Any = None,
) -> Batch:
    """Read the upload into a batch waiting for confirmation (see the module docstring)."""
    # 1. refuse what is too large or hostile before storing anything
    if _size(source) > settings.BATCH_MAX_CSV_MB * 1024 * 1024:
        raise BatchRefused("too_large", f"The catalogue file is over {settings.BATCH_MAX_CSV_MB} MB.")
    archive = None
    if images is not None:
        if _size(images) > settings.BATCH_MAX_ZIP_MB * 1024 * 1024:
            raise BatchRefused("too_large", f"The images ZIP is over {settings.BATCH_MAX_ZIP_MB} MB.")
        try:
            archive = ImageArchive(images, archive_limits())
        except ArchiveRefused as exc:
            raise BatchRefused("zip_refused", str(exc)) from None
    # 2. store the files, then read the catalogue into rows; on any failure keep nothing
    prefix = batch_prefix(merchant.pk, uuid.uuid4().hex)
    written: list[str] = []
    try:
        written.append(put_file(f"{prefix}/source.csv", source))
        if images is not None:
            written.append(put_file(f"{prefix}/images.zip", images))
        with transaction.atomic():
            batch = Batch.objects.create(
                merchant=merchant,
                created_by=user if getattr(user, "pk", None) else None,
                channel=channel,
                source_name=posixpath.basename(source_name.replace("\\", "/"))[:255] or "catalogue.csv",
                source_key=written[0],
                images_name=posixpath.basename(images_name.replace("\\", "/"))[:255]
                if images is not None
                else "",
                images_key=written[1] if images is not None else "",
            )
            _read_rows(batch, merchant, source, archive)
        return batch
    except CatalogueInvalid as exc:
        storage.delete_keys(written)
        raise BatchRefused("invalid_catalogue", str(exc)) from None
    except BaseException:
        storage.delete_keys(written)
        raise
    finally:
        if archive is not None:
            archive.close()


def _read_rows(batch: Batch, merchant: Merchant, source: IO[bytes], archive: ImageArchive | None) -> None:
    info = Catalogue(format="", delimiter=",", encoding="")
    counts = {"total": 0, "errors": 0, RowAction.CREATE: 0, RowAction.UPDATE: 0, RowAction.UNCHANGED: 0}
    pending: list[ProductRow | RowError] = []

    def flush() -> None:
        valid = [r for r in pending if isinstance(r, ProductRow)]
        existing = _existing(merchant, [r.sku for r in valid])
        objs = []
        for item in pending:
            if isinstance(item, RowError):
                objs.append(
                    BatchRow(
                        batch=batch, line=item.line, sku=item.sku, state=RowState.INVALID, error=item.reason
                    )
                )
                counts["errors"] += 1
                continue
            zip_path, problem = _match_image(item, archive)
            if problem:
                objs.append(
                    BatchRow(batch=batch, line=item.line, sku=item.sku, state=RowState.INVALID, error=problem)
                )
                counts["errors"] += 1
                continue
            data = _row_data(item)
            data["zip_path"] = zip_path
            action = _action(product_values(data, merchant, existing.get(item.sku)), existing.get(item.sku))
            counts[action] += 1
            objs.append(
                BatchRow(
                    batch=batch,
                    line=item.line,
                    sku=item.sku,
                    state=RowState.PREVIEW,
                    action=action,
                    data=data,
                )
            )
        BatchRow.objects.bulk_create(objs, batch_size=CHUNK)
        pending.clear()

    for item in read_catalogue(source, info):
        counts["total"] += 1
        if counts["total"] > settings.BATCH_MAX_ROWS:
            raise CatalogueInvalid(
                f"the file has more than {settings.BATCH_MAX_ROWS} products; split it into smaller files",
                line=item.line,
            )
        pending.append(item)
        if len(pending) >= CHUNK:
            flush()
    flush()
    if counts["total"] == 0:
        raise CatalogueInvalid("the file has a header but no products")
    batch.format, batch.encoding, batch.ignored_columns = (
        info.format,
        info.encoding,
        info.ignored_columns[:50],
    )
    batch.total_rows, batch.error_rows = counts["total"], counts["errors"]
    batch.create_count = counts[RowAction.CREATE]
    batch.update_count = counts[RowAction.UPDATE]
    batch.unchanged_count = counts[RowAction.UNCHANGED]
    batch.save()


def discard_batch(batch: Batch) -> bool:
    """Drop a batch that was never confirmed: its rows and stored files go."""
    if not Batch.objects.filter(pk=batch.pk, status=BatchStatus.PREVIEW).update(status=BatchStatus.DISCARDED):
        return False
    batch.rows.all().delete()
    keys = [batch.source_key, batch.images_key]
    transaction.on_commit(lambda: storage.delete_keys(keys))
    return True


# --- 2. import --------------------------------------------------------------------------------


def latest_images(product_ids: list[int]) -> dict[int, ProductImage]:
    """Each product's newest photo (the one its jobs use)."""
    latest: dict[int, ProductImage] = {}
    for image in ProductImage.objects.filter(product_id__in=product_ids).order_by(
        "product_id", "-created_at", "-pk"
    ):
        latest.setdefault(image.product_id, image)
    return latest


def import_batch(batch_id: int) -> None:
    """Write the confirmed batch's products and prepare its rows (runs on a worker)."""
    batch = Batch.objects.select_related("merchant").get(pk=batch_id)
    if batch.status != BatchStatus.IMPORTING:
        return
    with contextlib.ExitStack() as stack:
        archive = None
        if batch.images_key:
            archive = stack.enter_context(
                contextlib.closing(
                    ImageArchive(stack.enter_context(local_copy(batch.images_key)), archive_limits())
                )
            )
        last_line = 0
        while True:
            rows = list(
                batch.rows.filter(state=RowState.PREVIEW, line__gt=last_line).order_by("line")[:CHUNK]
            )
            if not rows:
                break
            _import_chunk(batch, rows, archive)
            last_line = rows[-1].line
    Batch.objects.filter(pk=batch.pk, status=BatchStatus.IMPORTING).update(status=BatchStatus.RUNNING)


def _import_chunk(batch: Batch, rows: list[BatchRow], archive: ImageArchive | None) -> None:
    """Products of ``rows`` created or updated, rows made pending. Rows sharing a value are
    updated together (bulk_update's CASE per row costs ~10 ms a row in Python here)."""
    merchant = batch.merchant
    staged: list[str] = []
    try:
        with transaction.atomic():
            existing = _existing(merchant, [r.sku for r in rows])
            new: list[Product] = []
            now = timezone.now()
            groups: dict[tuple[str, str], list[int]] = {}
            for row in rows:
                values = product_values(row.data, merchant, existing.get(row.sku))
                row.action = _action(values, existing.get(row.sku))
                if row.action == RowAction.CREATE:
                    new.append(Product(merchant=merchant, sku=row.sku, **values))
                elif row.action == RowAction.UPDATE:
                    Product.objects.filter(pk=existing[row.sku]["id"]).update(**values, updated_at=now)
            Product.objects.bulk_create(new, batch_size=CHUNK, ignore_conflicts=True)
            ids = dict(
                Product.objects.filter(merchant=merchant, sku__in=[r.sku for r in rows]).values_list(
                    "sku", "id"
                )
            )
            latest = latest_images(list(ids.values()))
            for row in rows:
                row.product_id = ids[row.sku]
                current = latest.get(row.product_id)
                zip_path = row.data.get("zip_path", "")
                if zip_path and archive is not None:
                    row.state = RowState.PENDING
                    staged_key = _stage_zip_entry(batch, row, archive, zip_path, current)
                    if staged_key:
                        staged.append(staged_key)
                    BatchRow.objects.filter(pk=row.pk).update(
                        action=row.action,
                        state=row.state,
                        product_id=row.product_id,
                        image=row.image,
                        image_status=row.image_status,
                        staged_key=row.staged_key,
                        error=row.error,
                        data=row.data,
                    )
                    continue
                if row.data.get("image"):
                    status = ""  # a URL: fetched by the row's task
                elif current is not None:
                    status = "existing"
                else:
                    status = "none"
                groups.setdefault((row.action, status), []).append(row.pk)
            for (action, status), pks in groups.items():
                product = Subquery(
                    Product.objects.filter(merchant=merchant, sku=OuterRef("sku")).values("pk")[:1]
                )
                fields: dict[str, Any] = {"action": action, "state": RowState.PENDING, "image_status": status}
                BatchRow.objects.filter(pk__in=pks).update(product_id=product, **fields)
                if status == "existing":
                    newest = ProductImage.objects.filter(product_id=OuterRef("product_id")).order_by(
                        "-created_at", "-pk"
                    )
                    BatchRow.objects.filter(pk__in=pks).update(image_id=Subquery(newest.values("pk")[:1]))
    except BaseException:
        storage.delete_keys(staged)
        raise


def _stage_zip_entry(
    batch: Batch, row: BatchRow, archive: ImageArchive, zip_path: str, current: ProductImage | None
) -> str:
    """Copy the row's ZIP entry out for its worker, unless it is the product's photo already."""
    entry = archive.entries.get(zip_path.lower())
    if entry is None:  # pragma: no cover - matched at preview against the same stored file
        row.state, row.error = RowState.FAILED, f"image {zip_path!r} is not in the images ZIP"
        return ""
    try:
        data, checksum = archive.read(entry)
    except ArchiveRefused as exc:
        row.state, row.error = RowState.FAILED, str(exc)
        return ""
    if current is not None and current.checksum == checksum:
        row.image, row.image_status = current, "unchanged"
        return ""
    ext = posixpath.splitext(entry.path)[1].lower()[:6] or ".bin"
    key = f"{posixpath.dirname(batch.source_key)}/images/{row.line}{ext}"
    row.staged_key = storage.put_bytes(key, data)
    row.data = {**row.data, "image_name": posixpath.basename(entry.path)}
    return key


# --- 3. one row ------------------------------------------------------------------------------


class RowFailed(Exception):
    """The row's photo or job cannot be made; the message is for the merchant."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def row_image(row: BatchRow) -> ProductImage | None:
    """The photo the row's product should have, fetched or copied in when it changed."""
    product = row.product
    assert product is not None
    if row.image_id is not None:
        return row.image
    if row.staged_key:
        try:
            data = storage.read_bytes(row.staged_key)
        except FileNotFoundError:
            raise RowFailed("the photo copied from the ZIP is gone; import the batch again") from None
        image = _add_image(product, data, row.data.get("image_name", ""))
        row.image_status = "new"
        return image
    url = row.data.get("image", "")
    if not url:
        return None
    current = latest_images([product.pk]).get(product.pk)
    remote = RemoteImage.objects.filter(product=product, url=url).order_by("-fetched_at").first()
    known = remote if remote is not None and current is not None and remote.image_id == current.pk else None
    try:
        fetched = fetch_image(
            url, etag=known.etag if known else "", last_modified=known.last_modified if known else ""
        )
    except FetchFailed as exc:
        raise RowFailed(str(exc), transient=exc.transient) from None
    if fetched.body is None:  # 304: the server says it is the photo we have
        # fetch_image answers 304 only to the conditional request, sent for a known photo
        assert known is not None
        row.image_status = "unchanged"
        RemoteImage.objects.filter(pk=known.pk).update(
            etag=fetched.etag, last_modified=fetched.last_modified, fetched_at=timezone.now()
        )
        return current
    if current is not None and current.checksum == fetched.checksum:
        row.image_status, image = "unchanged", current
    else:
        image = _add_image(product, fetched.body, posixpath.basename(url.split("?", 1)[0]))
        row.image_status = "new"
    RemoteImage.objects.update_or_create(
        product=product,
        url=url,
        defaults={
            "etag": fetched.etag,
            "last_modified": fetched.last_modified,
            "checksum": fetched.checksum,
            "image": image,
        },
    )
    return image


def _add_image(product: Product, data: bytes, name: str) -> ProductImage:
    try:
        # the automatic matte waits for the first job: a catalogue is thousands of photos
        return catalog.add_product_image(product, data, filename=name, auto_mask=False)
    except ImageRejected as exc:
        raise RowFailed(f"the photo was refused: {exc}") from None
