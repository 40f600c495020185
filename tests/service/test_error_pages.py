"""404, 403 and 500 answer with the site's own pages, not Django's bare ones."""

from __future__ import annotations

from django.test import RequestFactory
from django.views import defaults


def test_unknown_page_is_the_sites_404(signed_in):
    response = signed_in.get("/no/such/page/")

    body = response.content.decode()
    assert response.status_code == 404
    assert "We could not find that page" in body
    assert "dashboard/app.css" in body and "Sign out" in body  # the site's frame, signed in


def test_another_merchants_product_is_the_same_404(signed_in, other_product_image):
    response = signed_in.get(f"/products/{other_product_image.product.pk}/")

    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()
    assert "SECRET-1" not in response.content.decode()


def test_server_error_page_renders_without_a_request_context(db):
    response = defaults.server_error(RequestFactory().get("/"))

    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body and "dashboard/app.css" in body


def test_permission_denied_page(db):
    from django.core.exceptions import PermissionDenied

    response = defaults.permission_denied(
        RequestFactory().get("/"), PermissionDenied("Only the owner can do that.")
    )

    assert response.status_code == 403
    assert "Only the owner can do that." in response.content.decode()


def test_expired_csrf_token_gets_the_sites_page(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post("/products/new/", {"sku": "X-1", "title": "x"})

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
