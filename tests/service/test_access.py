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
