"""A merchant with people always has an owner: its first user, however that user was made (the
admin's add form with the Owner box left empty, ``create_user``, a user moved from another
shop), and someone else when the owner leaves, is moved or steps down. It was only what the
operator ticked: a shop whose first user was made in the admin had nobody to manage its team."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from shop_assets.accounts.models import Merchant, User

STRONG = "a-long-Pass-phrase-42"


def _owners(merchant) -> list[str]:
    return list(
        User.objects.filter(merchant=merchant, is_owner=True)
        .order_by("pk")
        .values_list("username", flat=True)
    )


@pytest.fixture
def operator(db):
    operator = User.objects.create_superuser("ops", password=STRONG)
    client = Client()
    client.force_login(operator)
    return client


def _add_in_admin(operator: Client, username: str, merchant, **extra):
    data = {"username": username, "usable_password": "true", "password1": STRONG, "password2": STRONG}
    return operator.post(
        reverse("admin:accounts_user_add"), {**data, "merchant": merchant.pk, **extra}, follow=True
    )


def test_a_first_user_added_in_the_admin_without_the_owner_box_owns_the_shop(operator, merchant):
    # when: the operator adds the shop's first user and leaves Owner empty, then a second
    first = _add_in_admin(operator, "ann", merchant)
    second = _add_in_admin(operator, "ben", merchant)

    # then: the first is the owner (and the admin says why); the second is a colleague
    assert first.status_code == second.status_code == 200
    assert User.objects.get(username="ann").merchant_id == merchant.pk
    assert _owners(merchant) == ["ann"]
    assert "Green Leaf&#x27;s owner is now ann, its first user." in first.content.decode()
    assert "owner is now" not in second.content.decode()
    assert User.objects.get(username="ben").is_owner is False


def test_the_admin_refuses_to_leave_a_shop_without_its_owner(operator, merchant):
    _add_in_admin(operator, "ann", merchant)
    ann = User.objects.get(username="ann")
    change = reverse("admin:accounts_user_change", args=[ann.pk])
    form = {
        "username": "ann",
        "merchant": merchant.pk,
        "date_joined_0": "2026-12-01",
        "date_joined_1": "10:00:00",
    }

    # when: the operator clears the only owner's box
    alone = operator.post(change, {**form, "is_active": "on"})
    _add_in_admin(operator, "ben", merchant)
    with_colleague = operator.post(change, {**form, "is_active": "on"})

    # then: refused, naming why, and ann still owns the shop
    assert alone.status_code == with_colleague.status_code == 200  # the form again, not a redirect
    assert "ann is the only user of Green Leaf, so its owner." in alone.content.decode()
    assert "Green Leaf needs an owner: tick another of its users" in with_colleague.content.decode()
    assert _owners(merchant) == ["ann"]


def test_moving_the_owner_in_the_admin_leaves_the_shop_its_next_user_as_owner(
    operator, merchant, other_merchant
):
    _add_in_admin(operator, "ann", merchant)
    _add_in_admin(operator, "ben", merchant)
    _add_in_admin(operator, "dan", other_merchant)
    ann = User.objects.get(username="ann")
    change = reverse("admin:accounts_user_change", args=[ann.pk])
    form = {"username": "ann", "is_active": "on", "date_joined_0": "2026-12-01", "date_joined_1": "10:00:00"}

    # when: the operator moves ann, with her Owner box still ticked, to a shop that has an owner
    moved = operator.post(change, {**form, "merchant": other_merchant.pk, "is_owner": "on"}, follow=True)

    # then: ann is a colleague there, ben owns the shop she left, and the admin says both
    body = moved.content.decode()
    assert _owners(other_merchant) == ["dan"] and _owners(merchant) == ["ben"]
    assert "Green Leaf&#x27;s owner is now ben, its first user since ann left." in body
    assert "Rival Goods already has an owner: ann joins it as a colleague." in body


def test_the_owner_rule_holds_whatever_changes_a_shops_people(merchant, other_merchant):
    # given: users made in code, none ticked as owner
    ann = User.objects.create_user("ann", password=STRONG, merchant=merchant)
    ben = User.objects.create_user("ben", password=STRONG, merchant=merchant)
    cat = User.objects.create_user("cat", password=STRONG, merchant=merchant)
    assert (ann.is_owner, _owners(merchant)) == (True, ["ann"])  # the instance says so too

    # when: the owner is deleted (as a QuerySet, which skips the model's delete)
    User.objects.filter(pk=ann.pk).delete()
    # then: the first one left owns the shop
    assert _owners(merchant) == ["ben"]

    # when: the owner steps down
    ben.refresh_from_db()
    ben.is_owner = False
    ben.save()
    # then: the next user takes over
    assert _owners(merchant) == ["cat"]

    # when: the owner moves to a shop that has an owner of its own
    dan = User.objects.create_user("dan", password=STRONG, merchant=other_merchant)
    cat.refresh_from_db()
    cat.merchant = other_merchant
    cat.save()
    # then: they arrive there as a colleague, and the shop they left has an owner again
    assert _owners(other_merchant) == ["dan"] and cat.is_owner is False
    assert _owners(merchant) == ["ben"]

    # when: the last user of a shop steps down, or a user arrives in an empty shop
    ben.refresh_from_db()
    ben.is_owner = False
    ben.save()
    empty = Merchant.objects.create(name="Empty", slug="empty")
    dan.merchant = empty
    dan.save()
    # then: a shop with people is never without an owner
    assert _owners(merchant) == ["ben"] and ben.is_owner is True
    assert _owners(empty) == ["dan"] and _owners(other_merchant) == ["cat"]


def test_a_sign_in_does_not_query_the_owner_rule(merchant, django_assert_num_queries):
    ann = User.objects.create_user("ann", password=STRONG, merchant=merchant)

    with django_assert_num_queries(1):  # the UPDATE of last_login alone
        ann.save(update_fields=["last_login"])


def test_the_team_page_shows_the_first_user_as_owner_who_can_add_people(merchant):
    # given: the shop's first user, made with nothing said about owning it
    User.objects.create_user("ann", password=STRONG, merchant=merchant)
    User.objects.create_user("ben", password=STRONG, merchant=merchant)
    client = Client()
    client.force_login(User.objects.get(username="ann"))

    # when: ann opens the team page
    page = client.get(reverse("accounts:team")).content.decode()

    # then: ann is the owner and may add colleagues
    assert "As the owner, you add and remove people." in page
    assert "Add a colleague" in page
    rows = page.split('<table class="members"', 1)[1]
    assert rows.index("ann") < rows.index("Owner") < rows.index("ben") < rows.index("Colleague")


@pytest.mark.django_db(transaction=True)
def test_upgrade_gives_each_ownerless_merchant_its_first_user_as_owner():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0003_brand_kit_automatic_locale")])
    old = executor.loader.project_state([("accounts", "0003_brand_kit_automatic_locale")]).apps
    OldMerchant, OldUser = old.get_model("accounts", "Merchant"), old.get_model("accounts", "User")
    shop_a = OldMerchant.objects.create(name="A", slug="a")
    shop_b = OldMerchant.objects.create(name="B", slug="b")
    first_a = OldUser.objects.create(username="a1", merchant=shop_a)  # made in the admin, box empty
    OldUser.objects.create(username="a2", merchant=shop_a)
    OldUser.objects.create(username="b1", merchant=shop_b)
    owner_b = OldUser.objects.create(username="b2", merchant=shop_b, is_owner=True)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    owners = set(User.objects.filter(is_owner=True).values_list("pk", flat=True))
    assert owners == {first_a.pk, owner_b.pk}
