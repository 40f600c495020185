"""Product events for storefronts: call inside the transaction that saves the change."""

from __future__ import annotations

from collections.abc import Iterable

from shop_assets.catalog.models import Product
from shop_assets.webhooks.events import record_event
from shop_assets.webhooks.models import EventType
from shop_assets.webhooks.payloads import product_data


def product_updated(product: Product, changed: Iterable[str]) -> None:
    """``product.updated`` with the product as saved and the names of the fields that changed."""
    record_event(
        product.merchant_id,
        EventType.PRODUCT_UPDATED,
        {"product": product_data(product), "changed": sorted(set(changed))},
    )
