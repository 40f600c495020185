"""Poster template previews: drawn from the real templates, shown beside each template's box."""

from __future__ import annotations

from django.urls import reverse
from PIL import Image

from shop_assets.dashboard import previews


def test_previews_are_drawn_once_per_template(tmp_path):
    files = previews.build_template_previews(tmp_path, names=["hero_left", "bold_sale"])
    first = files[0].stat().st_mtime_ns

    again = previews.build_template_previews(tmp_path, names=["hero_left", "bold_sale"])

    assert [f.name for f in files] == ["hero_left.webp", "bold_sale.webp"]
    for path in files:
        with Image.open(path) as image:
            assert image.format == "WEBP" and max(image.size) == previews.SIDE
            assert len(image.convert("L").getcolors(256) or []) > 20  # a drawn poster, not a flat fill
    assert again == files and files[0].stat().st_mtime_ns == first


def test_job_form_shows_the_previews_that_exist(signed_in, product_image, tmp_path, monkeypatch):
    monkeypatch.setattr(previews, "OUTPUT_DIR", tmp_path)
    previews.build_template_previews(tmp_path, names=["hero_left"])

    body = signed_in.get(reverse("dashboard:product", args=[product_image.product.pk])).content.decode()

    assert '<img src="/static/dashboard/previews/hero_left.webp"' in body
    assert "dashboard/previews/bold_sale.webp" not in body  # not built: no broken picture
    assert 'name="poster_templates" value="bold_sale"' in body


def test_campaign_editor_shows_the_same_previews(signed_in, tmp_path, monkeypatch):
    monkeypatch.setattr(previews, "OUTPUT_DIR", tmp_path)
    previews.build_template_previews(tmp_path, names=["hero_left"])

    body = signed_in.get(reverse("bulk:campaign_new")).content.decode()

    assert '<img src="/static/dashboard/previews/hero_left.webp" alt="Big headline on the left,' in body
    assert "dashboard/previews/bold_sale.webp" not in body
    assert 'name="poster_templates" value="hero_left"' in body
