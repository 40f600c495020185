"""Storage glue: deterministic keys, atomic writes, downloads in both modes.

Everything goes through Django's default storage, so the same code writes to a local
folder (embedded default) or to S3 / an S3-compatible server (``S3_BUCKET`` set).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, HttpResponseBase, HttpResponseRedirect


class OverwritingFileSystemStorage(FileSystemStorage):
    """Local storage where a key always names one file.

    Writes go to a temporary file beside the target and are renamed into place, so a
    reader never sees half a file and a rerun replaces the old bytes in one step.
    """

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name

    def _save(self, name: str, content) -> str:
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as out:
                content.seek(0)
                for chunk in content.chunks():
                    out.write(chunk)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name


def is_s3() -> bool:
    return bool(settings.S3_BUCKET)


def product_prefix(merchant_id: int, sku: str) -> str:
    return f"merchants/{merchant_id}/products/{sku}"


def asset_key(merchant_id: int, sku: str, job_id: int, name: str, ext: str) -> str:
    """``merchants/<id>/products/<sku>/jobs/<job>/<name>.<ext>``: the same inputs, the same key."""
    return f"{job_folder(merchant_id, sku, job_id)}/{name}.{ext}"


def job_folder(merchant_id: int, sku: str, job_id: int) -> str:
    """The folder every file of a job's assets is stored under (see ``asset_key``)."""
    return f"{product_prefix(merchant_id, sku)}/jobs/{job_id}"


def files_under(folder: str) -> list[str]:
    """Every stored key under ``folder``, at any depth; empty when there is none."""
    try:
        dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    keys = [f"{folder}/{name}" for name in files]
    for sub in dirs:
        keys += files_under(f"{folder}/{sub}")
    return keys


# the widths the dashboard shows an asset's picture at (shop_assets/dashboard/thumbnails.py)
THUMBNAIL_WIDTHS = (480, 960)


def thumbnail_key(storage_key: str, checksum: str, width: int) -> str:
    """``<folder>/thumbs/<name>-<checksum>-w<width>.webp`` beside the asset's file (so the
    job's folder holds it and goes with it); the checksum names the bytes it was made from."""
    folder, _, filename = storage_key.rpartition("/")
    stem = filename.rsplit(".", 1)[0]
    return f"{folder}/thumbs/{stem}-{checksum[:16]}-w{width}.webp"


def asset_keys(assets: Iterable[Any]) -> list[str]:
    """Every stored key of ``assets`` (``Asset`` rows): their files and their thumbnails,
    made or not (deleting a missing key is no error)."""
    keys = []
    for asset in assets:
        keys.append(asset.storage_key)
        keys += [thumbnail_key(asset.storage_key, asset.checksum, w) for w in THUMBNAIL_WIDTHS]
    return keys


def image_key(merchant_id: int, sku: str, image_uid: str, role: str, ext: str) -> str:
    return f"{product_prefix(merchant_id, sku)}/images/{image_uid}/{role}.{ext}"


def audio_key(merchant_id: int, uid: str, ext: str) -> str:
    """``merchants/<id>/audio/<uid>.<ext>``: the server's name for a track, never the uploader's."""
    return f"merchants/{merchant_id}/audio/{uid}.{ext}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_bytes(key: str, data: bytes) -> str:
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:  # a storage that renamed the key would break determinism
        default_storage.delete(saved)
        raise RuntimeError(f"storage stored {key!r} as {saved!r}")
    return key


def read_bytes(key: str) -> bytes:
    with default_storage.open(key, "rb") as fh:
        return fh.read()


def delete_keys(keys: list[str]) -> None:
    for key in keys:
        if key:
            default_storage.delete(key)


def file_response(key: str, *, filename: str, content_type: str, attachment: bool) -> HttpResponseBase:
    """Serve a stored file to a caller that has already been authorized for it.

    S3 mode: a redirect to a short-lived presigned URL. Local mode: the bytes, streamed.
    """
    if is_s3():
        disposition = "attachment" if attachment else "inline"
        # S3 mode: default_storage is django-storages' S3Storage, whose url() takes these
        url = default_storage.url(  # type: ignore[call-arg]
            key,
            parameters={
                "ResponseContentDisposition": f'{disposition}; filename="{filename}"',
                "ResponseContentType": content_type,
            },
            expire=settings.S3_URL_EXPIRY_SECONDS,
        )
        return HttpResponseRedirect(url)
    response = FileResponse(
        default_storage.open(key, "rb"),
        as_attachment=attachment,
        filename=filename,
        content_type=content_type,
    )
    response["Cache-Control"] = "private, max-age=300"
    return response
