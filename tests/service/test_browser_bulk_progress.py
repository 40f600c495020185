"""A bulk batch's progress while its file is still being read, on a phone (390 x 844) and
a desktop (1440 x 900): no row is counted yet, so the page says so in words and its bar
moves without claiming a share (it showed a full bar beside "0 of 0 done"); once the rows
are imported, the counts and a bar of their share come back."""

from __future__ import annotations

import io

from shop_assets.bulk import fanout, imports
from shop_assets.bulk.models import BatchStatus
from tests.bulk_files import simple_csv
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in

pytestmark = BROWSER_MARKS

ROWS = [{"sku": "MUG-001", "title": "Stoneware mug"}, {"sku": "VASE-02", "title": "Glazed vase"}]


def _bar_share(page) -> float:
    return page.locator("#progress .progress").evaluate(
        "bar => bar.firstElementChild.getBoundingClientRect().width / bar.getBoundingClientRect().width"
    )


def test_a_batch_whose_file_is_being_read_says_so_instead_of_a_full_bar(
    live_server, browser_page, user, tmp_path
):
    page = browser_page
    shots = shots_dir(tmp_path)
    # given: a confirmed batch whose rows the worker has not read yet (no row counted)
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

        # then: words for the state, no "0 of 0", and a bar that claims no share
        assert page.locator("#batch-progress-text").inner_text() == "Reading your file…"
        assert "0 of 0" not in page.locator("main").inner_text()
        bar = page.get_by_role("progressbar")
        assert bar.get_attribute("aria-valuenow") is None
        assert bar.get_attribute("aria-valuetext") == "Reading your file"
        assert "indeterminate" in bar.get_attribute("class") and _bar_share(page) < 0.5
        page.context.clear_cookies()

    # when: the worker has read the file (its two rows wait for their turn)
    imports.import_batch(batch.pk)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/batches/{batch.pk}/")

    # then: the counts and a bar of their share are back (none done: an empty bar)
    assert page.locator("#batch-progress-text").inner_text() == "0 of 2 done"
    bar = page.get_by_role("progressbar")
    assert bar.get_attribute("aria-valuenow") == "0" and "indeterminate" not in bar.get_attribute("class")
    assert _bar_share(page) < 0.02
