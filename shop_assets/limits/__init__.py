"""Limits that keep one client from starving everyone else.

- ``login``: failed sign-ins locked out per user and per address (django-axes).
- ``api``: per-key request rates answered ``429`` with ``Retry-After`` (django-ninja's
  throttling) and capped pagination.
- ``quotas``: per-merchant jobs in flight and uploads per minute (django-ratelimit).
- ``uploads``: request bodies refused while streaming, decodes bounded per process.

Counters live in Django's cache (``CACHE_URL``; the database cache by default, so every
web process shares them). Every refusal is a ``LimitExceeded`` carrying a stable code, a
sentence for the merchant, the HTTP status and, where known, the seconds to wait.
"""

from __future__ import annotations

import ipaddress
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

_Response = TypeVar("_Response", bound=HttpResponseBase)


class LimitExceeded(Exception):
    """A request refused by a limit; ``retry_after`` is in whole seconds when known."""

    status = 429

    def __init__(self, code: str, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retry_after = retry_after

    def annotate(self, response: _Response) -> _Response:
        """Set the response's status and ``Retry-After`` from this refusal."""
        response.status_code = self.status
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


class QuotaExceeded(LimitExceeded):
    status = 429


class ServerBusy(LimitExceeded):
    status = 503


class RequestTooLarge(LimitExceeded):
    status = 413


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, trusting ``X-Forwarded-For`` only behind known proxies.

    With ``SHOPASSETS_TRUSTED_PROXIES=N`` the address is the one the outermost of our N
    proxies saw; with 0 (the default) it is the socket's peer, so a client cannot pick
    its own address by sending the header. None when no valid address is known (a
    request built in code, or a forwarded value that is not an address).
    """
    remote = _valid(request.META.get("REMOTE_ADDR"))
    proxies = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies == 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return (_valid(hops[-min(proxies, len(hops))]) if hops else None) or remote


def _valid(address: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def seconds_text(seconds: int) -> str:
    """``"40 seconds"``, ``"1 minute"``, ``"15 minutes"``: for messages to merchants."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
