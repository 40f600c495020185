"""Create a demo merchant, a demo user and a demo product with a photo (idempotent)."""

from __future__ import annotations

import io
import os

from django.core.management.base import BaseCommand
from django.db import transaction

from shop_assets.accounts.models import Merchant, User
from shop_assets.catalog.models import Product
from shop_assets.catalog.services import add_product_image


class Command(BaseCommand):
    help = "Create the demo merchant 'Demo Shop', user 'demo' and product 'DEMO-BOTTLE' with a photo."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument(
            "--password", default=os.environ.get("SHOPASSETS_DEMO_PASSWORD", "demo-shop-2026")
        )

    def handle(self, *args, username: str, password: str, **options) -> None:
        from generation.samples import product_photo

        with transaction.atomic():
            merchant, _ = Merchant.objects.get_or_create(slug="demo-shop", defaults={"name": "Demo Shop"})
            user, created = User.objects.get_or_create(
                username=username, defaults={"merchant": merchant, "is_owner": True}
            )
            if created or not user.has_usable_password():
                user.set_password(password)
                user.save()
            product, _ = Product.objects.get_or_create(
                merchant=merchant,
                sku="DEMO-BOTTLE",
                defaults={
                    "title": "Botanical Hand Wash 500 ml",
                    "price": "12.90",
                    "currency": "USD",
                    "brand_name": "Demo Shop",
                    "brand_color": "#2f5d50",
                },
            )
        if not product.images.exists():
            photo, _ = product_photo((1200, 1500), "gradient", scale=0.62)
            buf = io.BytesIO()
            photo.save(buf, format="JPEG", quality=93)
            add_product_image(product, buf.getvalue(), filename="demo-bottle.jpg")
        self.stdout.write(f"Demo merchant: {merchant.name}; sign in as {username} / {password}")
