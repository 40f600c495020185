"""The products page on a phone (390 x 844): each tile shows its SKU and price whole,
wrapping between them when the tile is narrow (the price was cut: "DEMO-BOTTLE · 12.90 U");
prices are written the way the merchant's locale writes them ("$12.90", was "12.90 USD"), on
a phone and on a desktop (1440 x 900)."""

from __future__ import annotations

from decimal import Decimal

from shop_assets.accounts.models import BrandKit
from shop_assets.catalog.models import Product
from tests.service.browser import BROWSER_MARKS, sign_out, signed_in

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
    assert sorted(text for text, _ in facts) == ["DEMO-BOTTLE · $12.90", "VASE-GLAZED-02 · CN¥1,249.00"]
    assert all(past <= 0.5 for _, past in facts), facts
    lines = page.evaluate(
        """() => [...document.querySelectorAll('.tile .price, .tile .sku')].map(el => {
            const r = document.createRange(); r.selectNodeContents(el);
            return new Set([...r.getClientRects()].map(c => Math.round(c.top))).size; })"""
    )
    assert lines == [1, 1, 1, 1], lines


def test_prices_follow_the_brand_kits_language_on_a_phone_and_a_desktop(
    live_server, browser_page, user, merchant, tmp_path
):
    # given: a shop whose brand kit writes Simplified Chinese, with a dollar and a yuan price
    BrandKit.objects.create(merchant=merchant, default_locale="zh_CN")
    for sku, price, currency in (("DEMO-BOTTLE", "12.90", "USD"), ("VASE-02", "1249.00", "CNY")):
        Product.objects.create(
            merchant=merchant, sku=sku, title=f"Product {sku}", price=Decimal(price), currency=currency
        )
    page = browser_page
    for viewport in ({"width": 390, "height": 844}, {"width": 1440, "height": 900}):
        shots = signed_in(page, live_server.url, tmp_path, viewport)

        # when: the products page opens
        page.goto(f"{live_server.url}/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"product-prices-{viewport['width']}.png"), full_page=True)

        # then: the yuan is the plain sign there, the dollar is told apart from other dollars
        prices = sorted(page.locator(".tile .price").all_inner_texts())
        assert prices == ["US$12.90", "¥1,249.00"], prices
        sign_out(page)
