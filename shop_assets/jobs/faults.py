"""What went wrong in a job: worth another attempt or not, and what the merchant is told.

Transient means the same attempt could succeed a moment later: the database or the storage
service was unreachable, slow or throttling. Everything else is permanent and fails the job
at once: a missing file, an image that cannot be decoded, bad input, a generation error, a
bug. Classified by type, never by ``OSError`` (a missing file is an ``OSError`` too).
"""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

from botocore.exceptions import BotoCoreError, ClientError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker, TransientRetryableChecker
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)

# botocore's own rules for what its retry mode retries, with 429 counted as throttling.
_S3_TRANSIENT = TransientRetryableChecker(transient_status_codes=[429, 500, 502, 503, 504])
_S3_THROTTLED = ThrottledRetryableChecker()

# (type, error code, what the merchant reads); the first match wins.
PERMANENT: tuple[tuple[type[BaseException], str, str], ...] = (
    (
        FileNotFoundError,
        "file_missing",
        "A file this job needs is no longer in storage. Upload the photo again.",
    ),
    (UnidentifiedImageError, "unreadable_image", "The photo could not be read as an image."),
    (
        Image.DecompressionBombError,
        "image_too_large",
        "The photo has too many pixels to process safely.",
    ),
    (ValueError, "invalid_input", "The job's input could not be used: {detail}"),
)


def is_transient(exc: BaseException) -> bool:
    """True when another attempt of the same job may succeed."""
    if isinstance(exc, TRANSIENT_TYPES):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        context = RetryContext(
            attempt_number=1,
            parsed_response=exc.response,
            http_response=SimpleNamespace(status_code=status) if status else None,
        )
        return _S3_TRANSIENT.is_retryable(context) or _S3_THROTTLED.is_retryable(context)
    if isinstance(exc, BotoCoreError):  # endpoint unreachable, connection dropped, read timeout
        return _S3_TRANSIENT.is_retryable(RetryContext(attempt_number=1, caught_exception=exc))
    return False


def transient_code(exc: BaseException) -> str:
    """The error code an attempt that will be retried records."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return "database_unavailable"
    if isinstance(exc, (BotoCoreError, ClientError)):
        return "storage_unavailable"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "connection_error"


def permanent_failure(exc: BaseException) -> tuple[str, str]:
    """(error code, merchant-readable message) for an error that no retry will fix."""
    for kind, code, message in PERMANENT:
        if isinstance(exc, kind):
            return code, message.format(detail=exc)
    return "internal_error", f"Something went wrong on our side ({type(exc).__name__}). The error was logged."


def drop_broken_connections(exc: BaseException) -> None:
    """After a database error, close this thread's connections so the next query opens a
    new one. Django does not reconnect a connection that died under it, and SQLite reports
    every connection usable, so ``close_old_connections()`` alone would keep a dead one."""
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except DatabaseError:  # closing a dead connection may fail; it is dropped either way
            log.debug("closing a broken %s connection failed", conn.alias, exc_info=True)


_TRACEBACK = re.compile(r"Traceback \(most recent call last\):.*", re.S)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)
# an absolute path: not part of a word, a number (3/4) or a URL; quoted or bare
_POSIX_PATH = re.compile(r"(?<![\w.:/~-])(?:/[^\s'\"/:,;()\[\]]+)+/?")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\[^\s'\",;]*")


def merchant_text(message: str, *, limit: int | None = None) -> str:
    """A message fit for the merchant's eyes: no traceback, no server path or address.

    A path keeps only its last part (the file's own name), which says which file without
    saying where the server keeps it.
    """
    text = _TRACEBACK.sub("", str(message))
    text = _URL.sub("[address]", text)
    text = _WINDOWS_PATH.sub(lambda m: m.group(0).rstrip("\\").rsplit("\\", 1)[-1], text)
    text = _POSIX_PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] or "/", text)
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
