"""What a signed-out request gets from the dashboard.

A page a person navigates to leads to the sign-in page. A request a page makes by itself
(its pictures, a file it fetches, htmx's polls and swaps) gets a plain 403 that sets no
cookie: the sign-in page's answer sets the CSRF cookie (and an expired session's cookie is
deleted), so a background request of a tab whose session expired, answered after the
merchant signed in again in another tab, would overwrite their new CSRF cookie (one "form
expired" page) or delete their new session.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase

SIGNED_OUT = "You are signed out. Sign in again to continue."


def navigated(request: HttpRequest) -> bool:
    """A top-level navigation, by the browser's own word (``Sec-Fetch-Mode``)."""
    return request.headers.get("Sec-Fetch-Mode") == "navigate"


def fetched_by_a_page(request: HttpRequest) -> bool:
    """A request a page made by itself, by the browser's or htmx's word: not a navigation. A
    request that says nothing of how it was made (an old browser, a script) is not one."""
    mode = request.headers.get("Sec-Fetch-Mode")
    return request.headers.get("HX-Request") == "true" or (mode is not None and mode != "navigate")


def refused(request: HttpRequest) -> HttpResponse:
    """The plain 403 of a signed-out request that is not led to the sign-in page; it sets no
    cookie (``NoCookiesWhenSignedOutMiddleware``)."""
    response = HttpResponse(SIGNED_OUT, status=403, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response.sets_no_cookies = True  # type: ignore[attr-defined]
    return response


class NoCookiesWhenSignedOutMiddleware:
    """Takes every cookie off a ``refused`` answer, as the last to see the response (placed
    before ``SessionMiddleware``, which would delete an expired session's cookie on it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if getattr(response, "sets_no_cookies", False):
            response.cookies.clear()
        return response
