"""Sign-in brute force, replayed: 40 wrong passwords, password spraying, spoofed addresses."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import pytest
from django.test import Client

from shop_assets.limits import client_address

ATTACKER = "203.0.113.9"
ALICE_HOME = "198.51.100.7"
MALLORY_HOME = "192.0.2.44"


def _sign_in(username: str, password: str, address: str, **headers: str):
    """One sign-in from a fresh browser (no cookies carried between attempts)."""
    client = Client()
    response = client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )
    signed_in = "_auth_user_id" in client.session
    return response, signed_in


def test_forty_wrong_passwords_lock_the_account_and_the_address_until_the_cool_off(
    user, other_user, settings
):
    # given the default limit of 5 failures and a 15 minute cool-off
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)

    # when an attacker tries 40 passwords for alice from one address
    results = []
    for i in range(40):
        if i == 4:
            locked_at = time.monotonic()  # the 5th failure starts the cool-off
        results.append(_sign_in("alice", f"guess-{i}", ATTACKER))
    locked_for = time.monotonic() - locked_at

    # then the first 4 get the usual error, and from the 5th on every answer is a lockout
    statuses = [response.status_code for response, _ in results]
    assert statuses == [200] * 4 + [429] * 36
    assert not any(signed_in for _, signed_in in results)
    first_error = results[0][0].content.decode()
    assert "Please enter a correct username and password" in first_error
    lockout = results[-1][0]
    # what is left of the 15 minutes counted from the 5th failure (a busy machine takes longer
    # over the 40 attempts), not renewed by the failures after it
    assert 900 - math.ceil(locked_for) - 1 <= int(lockout["Retry-After"]) <= 900
    page = lockout.content.decode()
    assert "Too many failed sign-ins for this account or from this network" in page
    assert "Sign-in is paused for 15 minutes" in page
    assert 'name="username"' in page and 'value="alice"' in page

    # and the right password is refused too: for alice from anywhere, for anyone from there
    for username, password, address in (
        ("alice", "pw-alice-123", ATTACKER),
        ("alice", "pw-alice-123", ALICE_HOME),
        ("mallory", "pw-mallory-123", ATTACKER),
    ):
        response, signed_in = _sign_in(username, password, address)
        assert (response.status_code, signed_in) == (429, False), (username, address)

    # while another user at their own address is not affected
    response, signed_in = _sign_in("mallory", "pw-mallory-123", MALLORY_HOME)
    assert (response.status_code, response["Location"], signed_in) == (302, "/", True)

    # when the cool-off has passed (shortened here instead of waiting 15 minutes)
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    time.sleep(1.1)

    # then alice's right password works again
    response, signed_in = _sign_in("alice", "pw-alice-123", ALICE_HOME)
    assert (response.status_code, signed_in) == (302, True)


def test_an_attackers_own_successful_sign_ins_do_not_reset_the_count(user, other_user):
    # given mallory, who has an account, guessing alice's password from her own address
    statuses = []
    for i in range(4):
        statuses.append(_sign_in("alice", f"guess-{i}", MALLORY_HOME)[0].status_code)
        # when she signs in to her own account between guesses
        response, signed_in = _sign_in("mallory", "pw-mallory-123", MALLORY_HOME)
        statuses.append(response.status_code)
        assert signed_in

    # then the fifth wrong guess still locks alice and mallory's address
    statuses.append(_sign_in("alice", "guess-4", MALLORY_HOME)[0].status_code)
    assert statuses == [200, 302] * 4 + [429]
    assert _sign_in("alice", "pw-alice-123", ALICE_HOME)[0].status_code == 429
    assert _sign_in("mallory", "pw-mallory-123", MALLORY_HOME)[0].status_code == 429


def test_spraying_many_users_with_spoofed_forwarded_for_locks_the_real_address(user, other_user):
    # given an attacker trying one password on many usernames, each time claiming
    # another address in X-Forwarded-For (no proxy is trusted by default)
    statuses = [
        _sign_in(f"user{i}", "Summer2026!", ATTACKER, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")[0].status_code
        for i in range(6)
    ]

    # then the socket's address is what counts: locked at the 5th failure
    assert statuses == [200] * 4 + [429] * 2
    response, signed_in = _sign_in("alice", "pw-alice-123", ATTACKER, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert (response.status_code, signed_in) == (429, False)
    # and the users it tried are not locked for their owners elsewhere
    assert _sign_in("alice", "pw-alice-123", ALICE_HOME)[1] is True


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "10.0.0.1, 198.51.100.7", "192.0.2.1"),  # no proxy trusted: the peer
        (1, "10.0.0.1, 198.51.100.7", "198.51.100.7"),  # one proxy: the address it saw
        (2, "10.0.0.1, 198.51.100.7", "10.0.0.1"),
        (3, "198.51.100.7", "198.51.100.7"),  # fewer hops than proxies: the first one
        (1, "", "192.0.2.1"),
        (1, "10.0.0.1, not-an-address", "192.0.2.1"),  # garbage: the peer
    ],
)
def test_client_address_trusts_only_the_configured_proxies(rf, settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_a_request_without_an_address_has_none(rf):
    request = rf.get("/")
    del request.META["REMOTE_ADDR"]
    assert client_address(request) is None
