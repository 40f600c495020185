"""A product's photos carry one number everywhere on its page: the tile says "Photo 2", the
new-job form's menu "Photo 2 (W×H)" and the cutout card "Photo 2" (the tiles had no number
and the cards only the pixel size, so two photos of one size could not be told apart)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from PIL import Image

from shop_assets.catalog.services import add_product_image
from tests.conftest import jpeg_bytes


@pytest.mark.django_db
def test_the_tiles_the_menu_and_the_cutout_cards_number_the_photos_alike(signed_in, product, product_image):
    # given: a second photo of the same product, of another size
    second = add_product_image(
        product, jpeg_bytes(Image.new("RGB", (900, 1200), (200, 190, 170))), filename="b.jpg"
    )
    order = list(product.images.values_list("pk", flat=True))

    # when: the product page opens
    page = signed_in.get(reverse("dashboard:product", args=[product.pk])).content.decode()

    # then: tiles, menu and cutout cards name the photos 1 and 2 in the same order
    sizes = {image.pk: f"{image.width}×{image.height}" for image in (product_image, second)}
    tiles = re.findall(
        r'<div class="meta"><strong>(Photo \d)</strong> <span class="sku muted">(\d+×\d+) ', page
    )
    menu = re.findall(r'<option value="(\d+)" [^>]*>(Photo \d) \((\d+×\d+)\)</option>', page)
    cards = re.findall(r'<p><strong>(Photo \d)</strong> <span class="muted">(\d+×\d+)</span>', page)
    expected = [(f"Photo {n}", sizes[pk]) for n, pk in enumerate(order, 1)]
    assert tiles == expected
    assert [(name, size) for _, name, size in menu] == expected
    assert [int(pk) for pk, _, _ in menu] == order
    assert cards == expected

    # and a cutout card fetched on its own (the page polls it) keeps its number
    card = signed_in.get(reverse("dashboard:cutout_card", args=[order[1]])).content.decode()
    assert f'<p><strong>Photo 2</strong> <span class="muted">{sizes[order[1]]}</span>' in card
