"""Team members: the merchant's owner adds colleagues (password or one-time invite link) and
removes them; colleagues cannot manage people; nothing crosses to another merchant."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shop_assets.accounts.models import Invitation, User

STRONG = "a-long-Pass-phrase-42"


@pytest.fixture
def owner(user):
    User.objects.filter(pk=user.pk).update(is_owner=True)
    user.refresh_from_db()
    return user


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def colleague(user):
    # made after alice: a shop's first user is its owner
    return User.objects.create_user("bob", password=STRONG, merchant=user.merchant)


@pytest.fixture
def colleague_client(colleague):
    c = Client()
    c.force_login(colleague)
    return c


def _invite_link(response) -> str:
    match = re.search(r'<code class="secret" id="invite-link">([^<]+)</code>', response.content.decode())
    assert match, "no invite link on the page"
    return match.group(1)


def test_owner_adds_a_colleague_who_can_sign_in(owner_client, merchant, product):
    response = owner_client.post(
        reverse("accounts:team"), {"username": "carol", "password1": STRONG, "password2": STRONG}
    )

    assert response.status_code == 302
    carol = User.objects.get(username="carol")
    assert (carol.merchant_id, carol.is_owner, carol.is_staff, carol.is_superuser) == (
        merchant.pk,
        False,
        False,
        False,
    )
    fresh = Client()
    signed = fresh.post(reverse("login"), {"username": "carol", "password": STRONG})
    assert signed.status_code == 302
    assert product.sku in fresh.get(reverse("dashboard:products")).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "carol", "password1": "123", "password2": "123"}, "too short"),
        ({"username": "carol", "password1": STRONG, "password2": STRONG + "x"}, "didn’t match"),
        ({"username": "alice", "password1": STRONG, "password2": STRONG}, "already exists"),
    ],
)
def test_bad_colleague_forms_are_refused(owner_client, data, message):
    before = User.objects.count()

    response = owner_client.post(reverse("accounts:team"), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert User.objects.count() == before


def test_a_colleague_sees_the_team_but_cannot_manage_it(colleague_client, owner):
    page = colleague_client.get(reverse("accounts:team"))
    add = colleague_client.post(
        reverse("accounts:team"), {"username": "eve", "password1": STRONG, "password2": STRONG}
    )
    invite = colleague_client.post(reverse("accounts:invitation_create"))
    remove = colleague_client.post(reverse("accounts:member_remove", args=[owner.pk]))

    body = page.content.decode()
    assert page.status_code == 200 and "alice" in body and "Owner" in body
    assert "Add a colleague" not in body and "Remove</button>" not in body
    assert add.status_code == invite.status_code == remove.status_code == 403
    assert "Only the shop&#x27;s owner can add or remove people." in add.content.decode()
    assert not User.objects.filter(username="eve").exists()
    assert not Invitation.objects.exists()
    assert User.objects.filter(pk=owner.pk).exists()


def test_owner_removes_a_colleague_and_their_session_ends(owner_client, colleague, colleague_client):
    response = owner_client.post(reverse("accounts:member_remove", args=[colleague.pk]))

    assert response.status_code == 302
    assert not User.objects.filter(pk=colleague.pk).exists()
    after = colleague_client.get(reverse("dashboard:products"))
    assert after.status_code == 302 and after["Location"].startswith(reverse("login"))


def test_owner_cannot_remove_themself(owner_client, owner):
    response = owner_client.post(reverse("accounts:member_remove", args=[owner.pk]), follow=True)

    assert "The owner cannot be removed" in response.content.decode()
    assert User.objects.filter(pk=owner.pk).exists()


def test_another_merchants_people_and_invitations_are_not_found(owner_client, other_user, other_merchant):
    theirs = Invitation.objects.create(
        merchant=other_merchant, token_hash="0" * 64, expires_at=timezone.now() + timedelta(days=1)
    )

    remove = owner_client.post(reverse("accounts:member_remove", args=[other_user.pk]))
    revoke = owner_client.post(reverse("accounts:invitation_revoke", args=[theirs.pk]))
    page = owner_client.get(reverse("accounts:team")).content.decode()

    assert remove.status_code == revoke.status_code == 404
    assert User.objects.filter(pk=other_user.pk).exists() and Invitation.objects.filter(pk=theirs.pk).exists()
    assert "mallory" not in page


def test_invite_link_is_shown_once_and_joins_one_person(owner_client, merchant):
    created = owner_client.post(reverse("accounts:invitation_create"))
    link = _invite_link(created)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    visitor = Client()

    landing = visitor.get(link)
    joined = visitor.post(link, {"username": "dora", "password1": STRONG, "password2": STRONG})
    again = Client().post(link, {"username": "erin", "password1": STRONG, "password2": STRONG})

    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    invitation = Invitation.objects.get()
    assert invitation.token_hash == Invitation.hash(token) and token not in invitation.token_hash
    assert landing.status_code == 200 and "Join Green Leaf" in landing.content.decode()
    assert joined.status_code == 302
    dora = User.objects.get(username="dora")
    assert (dora.merchant_id, dora.is_owner) == (merchant.pk, False)
    assert visitor.get(reverse("dashboard:products")).status_code == 200  # signed in
    invitation.refresh_from_db()
    assert invitation.used_by_id == dora.pk and invitation.used_at is not None
    assert again.status_code == 404 and not User.objects.filter(username="erin").exists()
    assert link not in owner_client.get(reverse("accounts:team")).content.decode()


@pytest.mark.parametrize("state", ["expired", "revoked", "unknown"])
def test_dead_invite_links_create_nobody(owner_client, state):
    link = _invite_link(owner_client.post(reverse("accounts:invitation_create")))
    invitation = Invitation.objects.get()
    if state == "expired":
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "revoked":
        owner_client.post(reverse("accounts:invitation_revoke", args=[invitation.pk]))
    else:
        link = link.rstrip("/") + "x/"
    before = User.objects.count()

    response = Client().post(link, {"username": "frank", "password1": STRONG, "password2": STRONG})

    assert response.status_code == 404
    assert "This invite link does not work" in response.content.decode()
    assert User.objects.count() == before


def test_seeded_demo_user_owns_the_demo_shop(db):
    from django.core.management import call_command

    call_command("seed_demo")

    assert User.objects.get(username="demo").is_owner is True


@pytest.mark.django_db(transaction=True)
def test_upgrade_makes_each_merchants_first_user_its_owner():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0001_initial")])
    old = executor.loader.project_state([("accounts", "0001_initial")]).apps
    OldMerchant, OldUser = old.get_model("accounts", "Merchant"), old.get_model("accounts", "User")
    shop_a = OldMerchant.objects.create(name="A", slug="a")
    shop_b = OldMerchant.objects.create(name="B", slug="b")
    first_a = OldUser.objects.create(username="a1", merchant=shop_a)
    OldUser.objects.create(username="a2", merchant=shop_a)
    first_b = OldUser.objects.create(username="b1", merchant=shop_b)
    OldUser.objects.create(username="staff", is_staff=True)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    owners = set(User.objects.filter(is_owner=True).values_list("pk", flat=True))
    assert owners == {first_a.pk, first_b.pk}


def test_the_password_rules_are_said_before_a_password_is_refused(owner_client, settings):
    # given: the service's password rules (8 characters, not a common one)
    rules = "At least 8 characters, not a commonly used password."

    # when: the owner opens the team page, and a colleague opens an invite link
    team = owner_client.get(reverse("accounts:team")).content.decode()
    link = _invite_link(owner_client.post(reverse("accounts:invitation_create")))
    join = Client().get(link).content.decode()

    # then: both say them under the password (they were only said once a password was refused)
    for page in (team, join):
        assert 'id="id_password1"' in page and f'<div class="help">{rules}</div>' in page
    # and: a longer minimum is the one said
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 12},
        }
    ]
    from django.contrib.auth import password_validation

    password_validation.get_default_password_validators.cache_clear()
    try:
        team = owner_client.get(reverse("accounts:team")).content.decode()
        assert '<div class="help">At least 12 characters.</div>' in team
    finally:
        password_validation.get_default_password_validators.cache_clear()


def test_open_invite_links_show_dates_as_the_other_pages_do(owner_client, owner):
    # given: an invite link made this morning at 00:55 UTC, open for 7 days
    made = timezone.now().replace(hour=0, minute=55, second=0, microsecond=0)
    invitation = Invitation.objects.create(
        merchant=owner.merchant, created_by=owner, token_hash=Invitation.hash("t0k"),
        expires_at=made + timedelta(days=7),
    )  # fmt: skip
    Invitation.objects.filter(pk=invitation.pk).update(created_at=made)

    body = owner_client.get(reverse("accounts:team")).content.decode()

    # then: "2 Dec 2026, 00:55 UTC" as every page writes a moment (dashboard_labels.when),
    # to the second on hover
    row = re.search(r"<tr><td[^>]*>.*?</tr>", body[body.index("Open invite links") :], re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    expires = made + timedelta(days=7)
    assert cells[:2] == [
        f"{made.day} {made:%b %Y}, 00:55 UTC",
        f"{expires.day} {expires:%b %Y}, 00:55 UTC",
    ], cells
    assert f'title="{made.day} {made:%b %Y}, 00:55:00 UTC"' in row
    assert f"{made:%Y-%m-%d} 00:55" not in body


def test_the_password_is_asked_again_in_plain_words(owner_client, merchant):
    # given: an invite link
    link = _invite_link(owner_client.post(reverse("accounts:invitation_create")))

    for page in (owner_client.get(reverse("accounts:team")), Client().get(link)):
        body = page.content.decode()
        # then: the team form and the invite page ask for the "Password again" (they said
        # Django's "Password confirmation")
        assert '<label for="id_password2">Password again</label>' in body
        assert "Password confirmation" not in body
