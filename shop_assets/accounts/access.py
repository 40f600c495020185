"""Who a request acts for, typed: the signed-in merchant user, or the API key's merchant.

Dashboard views sit behind ``merchant_required``; these helpers give them the user, the
merchant and its id as non-optional types, and refuse with ``PermissionDenied`` (403)
should a view ever be reached without a merchant user. API views get the merchant of the
key that authenticated the request with ``key_merchant``.
"""

from __future__ import annotations

from typing import cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from shop_assets.accounts.models import Merchant, User

NO_MERCHANT = "This page is for merchant accounts; the signed-in user has no merchant."


class HtmxRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for views that read ``request.htmx``)."""

    htmx: HtmxDetails


class ApiRequest(HttpRequest):
    """A request the API's key auth let through: it sets ``merchant`` to the key's merchant."""

    merchant: Merchant


def key_merchant(request: HttpRequest) -> Merchant:
    """The merchant of the API key that authenticated ``request``."""
    if not isinstance(getattr(request, "merchant", None), Merchant):
        raise PermissionDenied("This request was not authenticated with an API key.")
    return cast(ApiRequest, request).merchant


def merchant_user(request: HttpRequest) -> User:
    """The signed-in user, who belongs to a merchant."""
    user = request.user
    if not isinstance(user, User) or user.merchant_id is None:
        raise PermissionDenied(NO_MERCHANT)
    return user


def merchant_id(request: HttpRequest) -> int:
    """The id of the signed-in user's merchant (no query)."""
    return cast(int, merchant_user(request).merchant_id)  # merchant_user refuses None


def merchant(request: HttpRequest) -> Merchant:
    """The signed-in user's merchant."""
    return cast(Merchant, merchant_user(request).merchant)
