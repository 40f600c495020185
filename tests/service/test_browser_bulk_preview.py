"""A bulk import's preview on a phone (390 x 844) and a desktop (1440 x 900): the campaign
menu, then Import and Discard side by side under it with room between (Import touched the
menu's bottom edge and Discard sat beside the menu, away from the button it goes with); a
file with no problem rows lists all its rows (it showed an empty "with problems" list, "No
rows to show."), and the file's encoding is named as a spreadsheet names it (not "utf-8")."""

from __future__ import annotations

from shop_assets.bulk.models import Batch
from tests.bulk_files import simple_csv
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in, sign_out

pytestmark = BROWSER_MARKS

ROWS = [
    {"sku": "MUG-001", "title": "Stoneware mug 350 ml", "price": "18.00", "compare_at_price": "24.00"},
    {"sku": "VASE-02", "title": "Glazed vase", "price": "42.00"},
]


def test_import_and_discard_sit_together_under_the_campaign_menu(live_server, browser_page, user, tmp_path):
    page = browser_page
    shots = shots_dir(tmp_path)
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_bytes(simple_csv(ROWS))

    for width, height in ((390, 844), (1440, 900)):
        # given: a catalogue uploaded from the bulk import page, now in its preview
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}/batches/")
        page.set_input_files("#id_catalogue", str(catalogue))
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#preview")
        page.screenshot(path=str(shots / f"bulk-preview-{width}.png"), full_page=True)

        # then: with no problem rows, every row is listed, and the encoding is in words
        lines = page.locator("#rows tbody tr").evaluate_all("rows => rows.map(r => r.dataset.line)")
        assert lines == ["2", "3"], lines
        assert page.locator("#rows tbody").inner_text().count("Create") == 2
        assert page.locator("#row-filter [aria-current]").inner_text() == "all rows"
        assert page.locator("#no-rows").count() == 0
        facts = page.locator("h1 + p.muted").inner_text()
        assert facts == "Simple CSV · Unicode (UTF-8) · 2 rows", facts
        assert "utf-8" not in page.locator("main").inner_text()

        # then: Import sits under the campaign menu with at least 12 px between them
        menu = page.locator("#confirm_campaign").bounding_box()
        imports = page.get_by_role("button", name="Import 2 products")
        discard = page.get_by_role("button", name="Discard")
        button, other = imports.bounding_box(), discard.bounding_box()
        assert button["y"] - (menu["y"] + menu["height"]) >= 12, (width, menu, button)
        # and Discard is beside Import, on the same line, after it
        assert abs(other["y"] - button["y"]) < 2 and other["x"] > button["x"] + button["width"], (
            button,
            other,
        )
        # and Import still sends the campaign's form
        assert imports.evaluate("b => b.form && b.form.querySelector('#confirm_campaign') !== null")

        # when: Discard is pressed, the batch goes and nothing was imported
        batch = Batch.objects.get(merchant=user.merchant, status="preview")
        discard.click()
        page.wait_for_load_state("networkidle")
        assert not Batch.objects.filter(pk=batch.pk, status="preview").exists()
        assert user.merchant.products.count() == 0
        sign_out(page)
