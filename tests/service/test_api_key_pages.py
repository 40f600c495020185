"""API keys in the dashboard: a merchant's own user creates (secret shown once) and revokes."""

from __future__ import annotations

from shop_assets.accounts.models import ApiKey


def test_creating_a_key_shows_the_secret_once_and_it_works(signed_in, merchant, client):
    created = signed_in.post("/settings/api-keys/", {"name": "Shopify storefront"})
    later = signed_in.get("/settings/api-keys/")

    key = ApiKey.objects.get(merchant=merchant)
    page = created.content.decode()
    secret = page.split('id="new-secret">')[1].split("<")[0]
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    assert secret.startswith(key.prefix + ".") and ApiKey.hash(secret) == key.key_hash
    assert key.name == "Shopify storefront" and key.revoked is False
    assert secret not in later.content.decode() and key.prefix in later.content.decode()
    client.logout()
    used = client.get("/api/v1/products", HTTP_AUTHORIZATION=f"Bearer {secret}")
    key.refresh_from_db()
    assert used.status_code == 200 and key.last_used_at is not None


def test_a_key_needs_a_name(signed_in, merchant):
    response = signed_in.post("/settings/api-keys/", {"name": ""})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_revoking_a_key_refuses_it_from_then_on(signed_in, merchant, client):
    key, secret = ApiKey.issue(merchant, "old script")

    response = signed_in.post(f"/settings/api-keys/{key.pk}/revoke/")

    key.refresh_from_db()
    assert response.status_code == 302 and key.revoked is True
    client.logout()
    assert client.get("/api/v1/products", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_another_merchants_keys_are_invisible_and_answer_404(signed_in, other_merchant):
    theirs, _ = ApiKey.issue(other_merchant, "their secret integration")

    listing = signed_in.get("/settings/api-keys/").content.decode()
    revoke = signed_in.post(f"/settings/api-keys/{theirs.pk}/revoke/")

    theirs.refresh_from_db()
    assert theirs.prefix not in listing and "their secret integration" not in listing
    assert revoke.status_code == 404 and theirs.revoked is False


def test_revoke_is_post_only_and_pages_need_a_merchant(signed_in, merchant, client, admin_user):
    key, _ = ApiKey.issue(merchant, "k")

    assert signed_in.get(f"/settings/api-keys/{key.pk}/revoke/").status_code == 405
    client.force_login(admin_user)  # staff without a merchant
    assert client.get("/settings/api-keys/").status_code == 403
