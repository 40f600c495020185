"""API limits: per-key request rates, per-merchant upload rates, capped pagination.

The quotas (counted by django-ratelimit in Django's cache) run as django-ninja throttles;
a throttled request gets ``429``, ``Retry-After`` and ``{"code", "detail"}`` like every
other refusal of the API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import Throttled
from ninja.pagination import LimitOffsetPagination
from ninja.throttling import BaseThrottle

from shop_assets.limits import LimitExceeded, QuotaExceeded, seconds_text
from shop_assets.limits.quotas import check_api_rate, check_upload_rate

PAGE_DEFAULT = 50
PAGE_MAX = 100
OFFSET_MAX = 1_000_000_000

_REFUSAL = "limit_refusal"  # request attribute: why a throttle said no


class QuotaThrottle(BaseThrottle):
    """Runs a ``check_*`` quota as a ninja throttle: after authentication, before the body
    is parsed, with ninja's ``429`` and ``Retry-After``.

    One instance serves every request of an operation, in many threads: the seconds to
    wait travel in a thread-local from ``allow_request`` to ``wait``.
    """

    def __init__(self, check: Callable[[HttpRequest], None]) -> None:
        self._check = check
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        self._local.wait = None
        try:
            self._check(request)
        except QuotaExceeded as exc:
            setattr(request, _REFUSAL, exc)
            self._local.wait = exc.retry_after
            return False
        return True

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)


def _per_key(request: HttpRequest) -> None:
    check_api_rate(request, request.auth.pk)  # type: ignore[attr-defined]


def _uploads(request: HttpRequest) -> None:
    check_upload_rate(request, request.auth.merchant_id)  # type: ignore[attr-defined]


def api_throttles() -> list[BaseThrottle]:
    """The throttles every API operation gets: ``SHOPASSETS_API_RATE`` per key."""
    return [QuotaThrottle(_per_key)]


def upload_throttles() -> list[BaseThrottle]:
    """An operation that accepts a photo: the per-key rate and the merchant's uploads a minute."""
    return [*api_throttles(), QuotaThrottle(_uploads)]


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """``limit`` capped at 100 (larger values give 100 items), ``offset`` at most 10^9."""

    class Input(Schema):
        limit: int = Field(
            PAGE_DEFAULT, ge=1, description=f"Items per page; values above {PAGE_MAX} are capped."
        )
        offset: int = Field(0, ge=0, le=OFFSET_MAX)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=PAGE_MAX, **kwargs)


def install(api: NinjaAPI) -> None:
    """Answer every limit refusal of ``api`` as ``{"code", "detail"}`` with its status."""

    def refused(request: HttpRequest, exc: LimitExceeded) -> HttpResponse:
        response = api.create_response(request, {"code": exc.code, "detail": exc.detail}, status=exc.status)
        return exc.annotate(response)

    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        # ninja adds Retry-After itself from the throttles' wait()
        refusal = getattr(request, _REFUSAL, None)
        if refusal is None:
            wait = f" Try again in {seconds_text(int(exc.wait))}." if exc.wait else ""
            refusal = QuotaExceeded("rate_limited", f"Too many requests.{wait}")
        return api.create_response(request, {"code": refusal.code, "detail": refusal.detail}, status=429)

    api.exception_handler(LimitExceeded)(refused)
    api.exception_handler(Throttled)(throttled)
