"""``Idempotency-Key`` on every POST of the API: a retried request gets the first answer.

The same key with the same request (method, path and body) within 24 hours replays the
first response, status and body, marked ``Idempotent-Replayed: true``, and runs nothing.
The same key with a different request is ``409 idempotency_key_reused``. Keys belong to a
merchant. A second request arriving while the first still runs waits for its answer (up
to ``WAIT_SECONDS``, then ``409 idempotency_key_in_progress``). Answers that a retry could
change (429, 5xx) are not kept: the key is free again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone

from shop_assets.accounts.models import ApiKey
from shop_assets.api.errors import error_response
from shop_assets.api.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
WAIT_SECONDS = 10.0
# a key still running after this long belongs to a request that died: it may be taken over
ABANDONED_AFTER = timedelta(minutes=5)


def fingerprint(request: HttpRequest) -> str:
    """sha256 over the method, the path with its query, and the body (for a multipart
    body: its fields, and each file's name and bytes)."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    if request.content_type == "multipart/form-data":
        for name, values in sorted(request.POST.lists()):
            digest.update(repr((name, values)).encode())
        for name, files in sorted(request.FILES.lists()):
            for upload in files:
                digest.update(repr((name, upload.name, upload.size)).encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _merchant_id(request: HttpRequest) -> int | None:
    """The merchant of the request's API key; None lets the operation refuse it (401)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return (
        ApiKey.objects.filter(key_hash=ApiKey.hash(token.strip()), revoked=False)
        .values_list("merchant_id", flat=True)
        .first()
    )


def purge_expired() -> int:
    """Delete every merchant's expired keys (beat runs it hourly); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


def _claim(merchant_id: int, key: str, print_: str) -> IdempotencyKey | None:
    """Insert the key's row (ours to run: returns None) or return the row already there."""
    now = timezone.now()
    IdempotencyKey.objects.filter(merchant_id=merchant_id, expires_at__lt=now).delete()
    IdempotencyKey.objects.filter(
        merchant_id=merchant_id, key=key, response_status__isnull=True, created_at__lt=now - ABANDONED_AFTER
    ).delete()
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(
                merchant_id=merchant_id, key=key, fingerprint=print_, created_at=now, expires_at=now + KEY_TTL
            )
        return None
    except IntegrityError:
        existing = IdempotencyKey.objects.filter(merchant_id=merchant_id, key=key).first()
        if existing is None:  # expired and removed between our insert and this read
            return _claim(merchant_id, key, print_)
        return existing


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(row.response_body), status=row.response_status, content_type=row.response_content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _keep(response: HttpResponse) -> bool:
    return not response.streaming and response.status_code < 500 and response.status_code != 429


def idempotent(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap a ninja operation's ``run`` (``api.add_decorator(idempotent, mode="view")``)."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return run(request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return error_response(
                400, "invalid_idempotency_key", f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable characters."
            )
        merchant_id = _merchant_id(request)
        if merchant_id is None:
            return run(request, *args, **kwargs)
        try:
            print_ = fingerprint(request)
        except MultiPartParserError as exc:
            return error_response(400, "invalid_body", f"The multipart body could not be read: {exc}")

        deadline = time.monotonic() + WAIT_SECONDS
        while (row := _claim(merchant_id, key, print_)) is not None:
            if row.fingerprint != print_:
                return error_response(
                    409,
                    "idempotency_key_reused",
                    f"This {HEADER} was used with a different request; use a new key for a new request.",
                )
            if row.response_status is not None:
                return _replay(row)
            if time.monotonic() > deadline:
                busy = error_response(
                    409, "idempotency_key_in_progress", f"A request with this {HEADER} is still running."
                )
                busy["Retry-After"] = "1"
                return busy
            time.sleep(0.05)

        kept = False
        try:
            response = run(request, *args, **kwargs)
            if isinstance(response, HttpResponse) and _keep(response):
                IdempotencyKey.objects.filter(merchant_id=merchant_id, key=key).update(
                    response_status=response.status_code,
                    response_body=response.content,
                    response_content_type=response.get("Content-Type", ""),
                )
                kept = True
            return response
        finally:
            if not kept:
                IdempotencyKey.objects.filter(
                    merchant_id=merchant_id, key=key, response_status__isnull=True
                ).delete()

    return wrapper


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the ``Idempotency-Key`` header and its 409 to every POST of an OpenAPI schema."""
    header = {
        "name": HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
        "description": "Send the same key to retry safely: the first answer is replayed for 24 hours.",
    }
    conflict = {
        "description": "idempotency_key_reused or idempotency_key_in_progress",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    malformed = {**conflict, "description": "invalid_idempotency_key (or another refusal)"}
    for operations in schema.get("paths", {}).values():
        post = operations.get("post")
        if post is not None:
            post.setdefault("parameters", []).append(header)
            post.setdefault("responses", {}).setdefault(409, conflict)
            post["responses"].setdefault(400, malformed)
    return schema
