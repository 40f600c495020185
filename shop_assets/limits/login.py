"""Sign-in lockout (django-axes): the page a locked-out client sees, and how long it waits.

Axes counts failed sign-ins per username and per client address (``AXES_LOCKOUT_PARAMETERS``
in settings). Once either count reaches ``SHOPASSETS_LOGIN_FAILURE_LIMIT`` inside the
cool-off window, every sign-in for that user, or from that address, is refused with
``429`` and ``Retry-After`` until the window has passed, the right password included.
"""

from __future__ import annotations

import math
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from shop_assets.limits import seconds_text


def lockout_seconds(request: HttpRequest, credentials: dict | None) -> int:
    """Seconds until the lockout that applies to this request lifts (at least 1).

    A count is made of the attempt rows inside the cool-off window; walking them newest
    first, the row that brings a count to the limit is the one whose ageing out lifts it.
    """
    cool_off = get_cool_off(request) or timedelta(0)
    limit = get_failure_limit(request, credentials)
    now = timezone.now()
    lifts_at = now
    for attempts in AxesDatabaseHandler().get_user_attempts(request, credentials):
        total = 0
        for failures, attempt_time in attempts.order_by("-attempt_time").values_list(
            "failures_since_start", "attempt_time"
        ):
            total += failures
            if total >= limit:
                lifts_at = max(lifts_at, attempt_time + cool_off)
                break
    return max(1, math.ceil((lifts_at - now).total_seconds()))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The sign-in page again, saying why and for how long, with ``429`` and ``Retry-After``."""
    seconds = lockout_seconds(request, credentials)
    username = get_client_username(request, credentials) or ""
    form = AuthenticationForm(request, initial={"username": username})
    message = (
        "Too many failed sign-ins for this account or from this network. "
        f"Sign-in is paused for {seconds_text(seconds)}; the right password will not work "
        "until then."
    )
    response = render(
        request,
        "registration/login.html",
        {"form": form, "lockout": message, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
