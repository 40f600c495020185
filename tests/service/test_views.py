"""Dashboard views: sign-in, product list and search, product creation, job start, CSRF."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from shop_assets.catalog.models import Product
from shop_assets.jobs.models import GenerationJob


def test_dashboard_requires_sign_in(client, db):
    response = client.get(reverse("dashboard:products"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_with_password_then_see_products(client, user, product):
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 302

    page = client.get(reverse("dashboard:products"))

    assert page.status_code == 200
    assert "BTL-001" in page.content.decode()


def test_user_without_merchant_gets_a_clear_403(client, db):
    from shop_assets.accounts.models import User

    client.force_login(User.objects.create_user("staff", password="x-very-long-1"))
    response = client.get(reverse("dashboard:products"))
    assert response.status_code == 403
    assert "not linked to a merchant" in response.content.decode()


def test_product_list_shows_only_own_products_and_searches(signed_in, merchant, other_product_image):
    Product.objects.create(merchant=merchant, sku="MUG-7", title="Stoneware mug")
    Product.objects.create(merchant=merchant, sku="TEA-1", title="Green tea")

    page = signed_in.get(reverse("dashboard:products")).content.decode()
    found = signed_in.get(reverse("dashboard:products"), {"q": "mug"}, headers={"HX-Request": "true"})

    assert "MUG-7" in page and "TEA-1" in page and "SECRET-1" not in page
    body = found.content.decode()
    assert "MUG-7" in body and "TEA-1" not in body
    assert "<html" not in body  # HTMX gets the grid partial only


def test_create_product_and_refuse_duplicate_sku(signed_in, merchant):
    url = reverse("dashboard:product_new")
    data = {"sku": "NEW-1", "title": "New thing", "price": "19.99", "currency": "eur"}

    first = signed_in.post(url, data)
    second = signed_in.post(url, data)

    assert first.status_code == 302
    product = Product.objects.get(merchant=merchant, sku="NEW-1")
    assert product.currency == "EUR"
    assert second.status_code == 400
    assert "already have a product with this SKU" in second.content.decode()
    assert Product.objects.filter(sku="NEW-1").count() == 1


def test_same_sku_is_allowed_for_different_merchants(signed_in, other_product_image):
    response = signed_in.post(
        reverse("dashboard:product_new"), {"sku": "SECRET-1", "title": "Mine", "currency": "USD"}
    )
    assert response.status_code == 302
    assert Product.objects.filter(sku="SECRET-1").count() == 2


def test_start_job_saves_it_and_enqueues_after_commit(
    signed_in, product_image, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "shop_assets.jobs.requests.enqueue", lambda job_id, queue: sent.append((job_id, queue))
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            reverse("dashboard:job_start", args=[product_image.product_id]),
            {
                "image": product_image.pk,
                "outputs": ["packshot"],
                "segmenter": "auto",
                "scene_count": 1,
                "engine": "studio",
                "seed": 0,
                "format": "png",
                "packshot_shadow": "on",
                "theme": "studio_sweep",
            },
        )

    job = GenerationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:job", args=[job.pk])
    assert job.outputs == ["packshot"] and job.status == "queued" and job.queue == "default"
    assert job.parameters["packshot"]["shadow"] is True and job.parameters["packshot"]["size"] == 2000
    assert sent == [(job.pk, "default")]


def test_diffusion_scenes_go_to_the_gpu_queue(signed_in, product_image, monkeypatch, diffusion_installed):
    monkeypatch.setattr("shop_assets.jobs.requests.enqueue", lambda job_id, queue: None)
    signed_in.post(
        reverse("dashboard:job_start", args=[product_image.product_id]),
        {
            "image": product_image.pk,
            "outputs": ["scene"],
            "segmenter": "auto",
            "scene_count": 2,
            "engine": "diffusion",
            "seed": 3,
            "format": "jpg",
            "theme": "studio_sweep",
        },
    )
    job = GenerationJob.objects.get()
    assert job.queue == "gpu" and job.parameters["scene"]["count"] == 2


def test_start_job_without_outputs_is_refused(signed_in, product_image):
    response = signed_in.post(
        reverse("dashboard:job_start", args=[product_image.product_id]),
        {
            "image": product_image.pk,
            "segmenter": "auto",
            "scene_count": 1,
            "engine": "studio",
            "seed": 0,
            "format": "png",
        },
    )
    assert response.status_code == 400
    assert not GenerationJob.objects.exists()


def test_forms_are_csrf_protected(user, product):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(reverse("dashboard:product_new"), {"sku": "X-1", "title": "x", "currency": "USD"})

    assert response.status_code == 403
    assert not Product.objects.filter(sku="X-1").exists()
