"""Brand kit form: colours, fonts, default CTA and locale, logo upload with refusals."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from shop_assets.accounts.models import BrandKit
from shop_assets.jobs.storage import read_bytes
from tests.conftest import png_bytes, stored_files

FORM = {
    "primary_color": "#aa3300",
    "secondary_color": "#ffffff",
    "text_color": "#111111",
    "heading_font": "playfair",
    "body_font": "inter",
    "default_cta": "立即购买",
    "default_locale": "zh_CN",
}


def test_save_brand_kit_with_logo(signed_in, merchant):
    logo = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    logo.paste((200, 30, 30, 255), (20, 20, 280, 100))

    response = signed_in.post(
        reverse("dashboard:brand_kit"), {**FORM, "logo": SimpleUploadedFile("logo.png", png_bytes(logo))}
    )

    assert response.status_code == 302
    kit = BrandKit.objects.get(merchant=merchant)
    assert (kit.primary_color, kit.heading_font, kit.default_cta, kit.default_locale) == (
        "#aa3300",
        "playfair",
        "立即购买",
        "zh_CN",
    )
    assert kit.logo_key == f"merchants/{merchant.pk}/brand/logo.png"
    stored = Image.open(io.BytesIO(read_bytes(kit.logo_key)))
    assert stored.mode == "RGBA" and stored.size == (300, 120)
    assert signed_in.get(reverse("dashboard:brand_logo")).status_code in (200, 302)


def test_bad_colour_and_bad_logo_are_refused(signed_in, merchant):
    before = stored_files()

    bad_colour = signed_in.post(reverse("dashboard:brand_kit"), {**FORM, "primary_color": "red"})
    bad_logo = signed_in.post(
        reverse("dashboard:brand_kit"), {**FORM, "logo": SimpleUploadedFile("logo.png", b"not a png")}
    )

    assert bad_colour.status_code == 400 and "Use a colour like #2f5d50." in bad_colour.content.decode()
    assert bad_logo.status_code == 400 and "logo.png:" in bad_logo.content.decode()
    assert BrandKit.objects.get(merchant=merchant).logo_key == ""
    assert stored_files() == before


def test_logo_of_another_merchant_is_never_served(signed_in, other_merchant):
    BrandKit.objects.create(merchant=other_merchant, logo_key="merchants/999/brand/logo.png")
    assert signed_in.get(reverse("dashboard:brand_logo")).status_code == 404
