"""A bulk import's rows with problems on a phone (390 x 844): the refused rows' table fits the
screen. Its "What" column was empty for every refused row (a row never imported has no action)
and pushed "Problem", the one column the merchant came for, past the screen's edge."""

from __future__ import annotations

from tests.bulk_files import simple_csv
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in

pytestmark = BROWSER_MARKS

ROWS = [
    {"sku": "MUG-001", "title": "Stoneware mug", "price": "18.00"},
    {"sku": "", "title": "No SKU", "price": "5"},
    {"sku": "CUP-03", "title": "Cup", "price": "-3"},
]


def test_the_refused_rows_fit_a_phone(live_server, browser_page, user, tmp_path):
    page = browser_page
    shots = shots_dir(tmp_path)
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_bytes(simple_csv(ROWS))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url)

    # when: a file with two refused rows is uploaded (its preview lists those rows first)
    page.goto(f"{live_server.url}/batches/")
    page.set_input_files("#id_catalogue", str(catalogue))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#preview")
    page.screenshot(path=str(shots / "bulk-problem-rows-390.png"), full_page=True)

    # then: the table has no empty What column and fits its box (nothing to scroll sideways)
    headers = page.locator("#rows thead th").all_inner_texts()
    assert headers == ["Line", "SKU", "State", "Problem"], headers
    fit = page.locator("#rows").evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
    assert fit[0] <= fit[1], fit
    assert "price '-3' is negative" in page.locator("#rows").inner_text()

    # and: all rows (the one to create among them) keep the What column
    page.click("#row-filter >> text=all rows")
    page.wait_for_selector("#rows")
    assert "What" in page.locator("#rows thead th").all_inner_texts()
