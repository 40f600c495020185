"""A bulk batch's progress while its products are written, on a phone (390 x 844) and a
desktop (1440 x 900): no row runs yet, so the page says what happens in words ("Importing 2
products…"; it said "Reading your file…" beside the "2 rows" it had read at the upload) and
its bar moves without claiming a share (it showed a full bar beside "0 of 0 done"); once the
products are written, the counts and a bar of their share come back."""

from __future__ import annotations

import io

from shop_assets.bulk import fanout, imports
from shop_assets.bulk.models import BatchStatus
from tests.bulk_files import simple_csv
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in, sign_out

pytestmark = BROWSER_MARKS

ROWS = [{"sku": "MUG-001", "title": "Stoneware mug"}, {"sku": "VASE-02", "title": "Glazed vase"}]


def _bar_share(page) -> float:
    return page.locator("#progress .progress").evaluate(
        "bar => bar.firstElementChild.getBoundingClientRect().width / bar.getBoundingClientRect().width"
    )


def test_a_batch_writing_its_products_says_so_instead_of_a_full_bar(
    live_server, browser_page, user, tmp_path
):
    page = browser_page
    shots = shots_dir(tmp_path)
    # given: a confirmed batch whose products the worker has not written yet (no row runs)
    batch = imports.preview_batch(user.merchant, io.BytesIO(simple_csv(ROWS)), "catalogue.csv")
    fanout.confirm_batch(batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.IMPORTING and fanout.batch_counts(batch).total == 0

    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        # when: the merchant opens the batch
        page.goto(f"{live_server.url}/batches/{batch.pk}/")
        page.screenshot(path=str(shots / f"bulk-reading-{width}.png"), full_page=True)

        # then: words for the state, beside the rows counted at the upload, no "0 of 0", no
        # counts of rows that have no state yet, and a bar that claims no share
        main = page.locator("main").inner_text()
        assert page.locator("#batch-progress-text").inner_text() == "Importing 2 products…"
        assert "· 2 rows" in main and "Reading your file" not in main and "0 of 0" not in main
        assert page.locator("#counts").count() == 0
        # (the links under the bar keep their distance from it)
        gap = page.evaluate(
            "() => document.querySelector('#progress .row:last-child').getBoundingClientRect().top"
            " - document.querySelector('#progress .progress').getBoundingClientRect().bottom"
        )
        assert gap >= 12, gap
        bar = page.get_by_role("progressbar")
        assert bar.get_attribute("aria-valuenow") is None
        assert bar.get_attribute("aria-valuetext") == "Importing 2 products…"
        assert "indeterminate" in bar.get_attribute("class") and _bar_share(page) < 0.5
        sign_out(page)

    # when: the worker has written the products (their two rows wait for their turn)
    imports.import_batch(batch.pk)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/batches/{batch.pk}/")

    # then: the counts and a bar of their share are back (none done: an empty bar)
    assert page.locator("#batch-progress-text").inner_text() == "0 of 2 done"
    bar = page.get_by_role("progressbar")
    assert bar.get_attribute("aria-valuenow") == "0" and "indeterminate" not in bar.get_attribute("class")
    assert _bar_share(page) < 0.02
