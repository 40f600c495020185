"""The products page on a phone (390 x 844): each tile shows its SKU and price whole,
wrapping between them when the tile is narrow (the price was cut: "DEMO-BOTTLE · 12.90 U")."""

from __future__ import annotations

from decimal import Decimal

from shop_assets.catalog.models import Product
from tests.service.browser import BROWSER_MARKS, signed_in

pytestmark = BROWSER_MARKS

# each tile's facts line: its words, and how far its text runs past the tile's right edge
FACTS = """() => [...document.querySelectorAll('.tile')].map(tile => {
    const facts = tile.querySelector('.meta > div:last-child'), range = document.createRange();
    range.selectNodeContents(facts);
    const right = Math.max(...[...range.getClientRects()].map(r => r.right));
    return [facts.textContent.trim(), right - tile.getBoundingClientRect().right];
})"""


def test_each_tiles_sku_and_price_show_whole_on_a_phone(live_server, browser_page, user, merchant, tmp_path):
    # given: products whose SKU and price do not fit one line of a phone's tile
    for sku, price, currency in (("DEMO-BOTTLE", "12.90", "USD"), ("VASE-GLAZED-02", "1249.00", "CNY")):
        Product.objects.create(
            merchant=merchant, sku=sku, title=f"Product {sku}", price=Decimal(price), currency=currency
        )
    page = browser_page
    shots = signed_in(page, live_server.url, tmp_path)

    # when: the products page opens on a phone
    page.goto(f"{live_server.url}/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / "product-tiles-390.png"), full_page=True)

    # then: every tile's SKU and price stay inside the tile, and neither is broken inside
    facts = page.evaluate(FACTS)
    assert sorted(text for text, _ in facts) == ["DEMO-BOTTLE · 12.90 USD", "VASE-GLAZED-02 · 1249.00 CNY"]
    assert all(past <= 0.5 for _, past in facts), facts
    lines = page.evaluate(
        """() => [...document.querySelectorAll('.tile .price, .tile .sku')].map(el => {
            const r = document.createRange(); r.selectNodeContents(el);
            return new Set([...r.getClientRects()].map(c => Math.round(c.top))).size; })"""
    )
    assert lines == [1, 1, 1, 1], lines
