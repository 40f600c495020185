"""Request bodies refused while streaming, and decoding bounded per web process.

1. ``LimitsMiddleware`` refuses a body whose ``Content-Length`` is over the limit before
   a byte of it is read (``413``), and a photo while every decode slot of the process is
   taken (``503``, see 3).
2. ``LimitedUploadHandler`` stops a file at the limit while it streams in, whoever parses
   the body (CSRF checks, a form, ninja after its throttles): nothing past the limit is
   read or spooled to disk, the spooled part is removed, and ``UploadTooLarge`` becomes a
   ``413`` (ninja's handler for the API, ``handler400`` for the dashboard).
3. ``decode_slot()`` lets ``SHOPASSETS_DECODE_SLOTS`` photos be decoded at a time in one
   web process; a request that finds none free within ``SHOPASSETS_DECODE_WAIT_SECONDS``
   is answered ``503`` with ``Retry-After`` instead of holding a web thread, so sign-in,
   the dashboard and ``/healthz`` keep their threads during a flood of large photos.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from shop_assets.limits import LimitExceeded, RequestTooLarge, ServerBusy

_MB = 1024 * 1024
_BODY_METHODS = ("POST", "PUT", "PATCH")
BUSY_RETRY_AFTER = 5
# Multipart bodies above this carry a photo (the only other multipart form, the brand kit
# without a logo, is a few kilobytes).
PHOTO_BODY_BYTES = 256 * 1024


def _mb(n: int) -> str:
    return f"{n / _MB:.1f}".removesuffix(".0") + " MB"


def read_bounded(upload: Any, limit: int, too_large: Callable[[int | None], Exception]) -> bytes:
    """The bytes of a Django ``UploadedFile`` of at most ``limit`` bytes.

    A file whose stated size is over the limit is refused before a byte of it is read, and
    one that proves longer while read (no size, or a wrong one) after ``limit + 1`` bytes:
    ``too_large(size)`` is raised, with the stated size in bytes, or None when only known
    to be over."""
    if upload.size is not None and upload.size > limit:
        raise too_large(upload.size)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise too_large(None)
    return data


# Catalogue imports (a CSV and a ZIP of photos) have limits of their own.
BATCH_UPLOAD_PATHS = ("/api/v1/batches", "/batches/upload/")


def is_batch_upload(request: HttpRequest | None) -> bool:
    return request is not None and request.method == "POST" and request.path in BATCH_UPLOAD_PATHS


def _batch_body_limit() -> int:
    return (settings.BATCH_MAX_ZIP_MB + settings.BATCH_MAX_CSV_MB + 1) * _MB


def _too_large(size: int | None, *, batch: bool = False) -> RequestTooLarge:
    if batch:
        if size is None:  # one file passed its limit while streaming
            return RequestTooLarge(
                "too_large",
                f"A file is over {_mb(settings.BATCH_MAX_ZIP_MB * _MB)}, the limit for a photos ZIP. Split the ZIP.",
            )
        return RequestTooLarge(
            "too_large",
            f"The upload is {_mb(size)}; a catalogue and its photos ZIP may be {_mb(_batch_body_limit())} "
            "together. Split the ZIP.",
        )
    limit = settings.MAX_UPLOAD_BYTES
    got = f"is {_mb(size)}" if size is not None else f"is over {_mb(limit)}"
    return RequestTooLarge(
        "too_large",
        f"The upload {got}; the limit is {_mb(limit)} per photo. Export a smaller JPEG and upload it again.",
    )


def refusal_response(request: HttpRequest, refusal: LimitExceeded) -> HttpResponse:
    """JSON ``{"code", "detail"}`` for the API, a short page for the dashboard."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"code": refusal.code, "detail": refusal.detail})
    else:
        response = render(request, "limits/refused.html", {"detail": refusal.detail})
    refusal.annotate(response)
    return response


class LimitsMiddleware:
    """Refuse oversized bodies before they are read (see the module docstring), and answer
    any ``LimitExceeded`` a view lets through with its status and ``Retry-After``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in _BODY_METHODS:
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal_response(request, refusal)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, LimitExceeded):
            return refusal_response(request, exception)
        return None

    def _refusal(self, request: HttpRequest) -> LimitExceeded | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body without a valid length
        if request.content_type == "multipart/form-data" and is_batch_upload(request):
            # a catalogue is parsed, not decoded here: only its size is limited
            return _too_large(length, batch=True) if length > _batch_body_limit() else None
        if request.content_type == "multipart/form-data":
            if length > settings.MAX_REQUEST_BYTES:
                return _too_large(length)
            if length > PHOTO_BODY_BYTES and settings.DECODE_WAIT_SECONDS == 0 and not _slot_free():
                # It would be refused after its body is read anyway: spare the thread the read.
                return _busy()
            return None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return RequestTooLarge(
                "too_large", f"The request body is {_mb(length)}; the limit is {_mb(limit)}."
            )
        return None


class UploadTooLarge(RequestTooLarge, MultiPartParserError):
    """A file passed the limit while the body was parsed (a parse error to Django)."""


class LimitedUploadHandler(FileUploadHandler):
    """First in ``FILE_UPLOAD_HANDLERS``: stops an upload as soon as one file passes
    ``SHOPASSETS_MAX_UPLOAD_MB``, before the next handler spools more of it to disk."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        batch = is_batch_upload(self.request)
        limit = settings.BATCH_MAX_ZIP_MB * _MB if batch else settings.MAX_UPLOAD_BYTES
        if start + len(raw_data) > limit:
            # Close (and so delete) what the other handlers spooled; the rest of the body
            # is left unread.
            for handler in self.request.upload_handlers if self.request else ():
                spooled = getattr(handler, "file", None)
                if spooled is not None:
                    spooled.close()
            refusal = _too_large(None, batch=batch)
            raise UploadTooLarge(refusal.code, refusal.detail)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file


_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None
_slots_size = 0


def _semaphore() -> threading.BoundedSemaphore:
    global _slots, _slots_size
    with _slots_lock:
        if _slots is None or _slots_size != settings.DECODE_SLOTS:
            _slots = threading.BoundedSemaphore(settings.DECODE_SLOTS)
            _slots_size = settings.DECODE_SLOTS
        return _slots


def _busy() -> ServerBusy:
    return ServerBusy(
        "busy",
        f"The server is busy preparing other large photos; try again in {BUSY_RETRY_AFTER} seconds.",
        retry_after=BUSY_RETRY_AFTER,
    )


def _slot_free() -> bool:
    slots = _semaphore()
    if not slots.acquire(blocking=False):
        return False
    slots.release()
    return True


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of this process's decode slots; ``ServerBusy`` when none frees up in time."""
    slots = _semaphore()
    if not slots.acquire(timeout=settings.DECODE_WAIT_SECONDS):
        raise _busy()
    try:
        yield
    finally:
        slots.release()
