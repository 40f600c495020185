"""The typed helpers views use for "the signed-in merchant" refuse anyone else with a 403."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from shop_assets.accounts import access
from shop_assets.accounts.models import User


def _request(user):
    request = RequestFactory().get("/")
    # as AuthenticationMiddleware sets it: a lazy object in front of the user
    request.user = SimpleLazyObject(lambda: user)
    return request


def test_a_merchant_user_gets_their_own_merchant(user, other_merchant):
    request = _request(user)
    assert access.merchant_id(request) == user.merchant_id
    assert access.merchant(request) == user.merchant
    assert access.merchant(request) != other_merchant
    assert access.merchant_user(request) == user


@pytest.mark.parametrize("helper", [access.merchant_id, access.merchant, access.merchant_user])
def test_anonymous_and_staff_without_a_merchant_are_refused(db, helper):
    staff = User.objects.create_user("ops", password="pw-ops-123", is_staff=True)
    for who in (AnonymousUser(), staff):
        with pytest.raises(PermissionDenied, match="no merchant"):
            helper(_request(who))


def test_key_merchant_is_the_merchant_the_api_key_auth_set(merchant):
    request = RequestFactory().get("/api/v1/products")
    with pytest.raises(PermissionDenied, match="API key"):
        access.key_merchant(request)  # the key auth has not run
    request.merchant = "green-leaf"  # not a merchant: refused, never used as one
    with pytest.raises(PermissionDenied, match="API key"):
        access.key_merchant(request)
    request.merchant = merchant
    assert access.key_merchant(request) == merchant
