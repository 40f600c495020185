"""Fields side by side on a desktop (1440 x 900) line up: the new-job form's "Scene theme"
sat 24 px under "Number of scenes" (that label wrapped in its 100 px column), and "Seconds"
3 px above "Camera" (a number field was 3 px taller than a menu). The campaign form has the
same rows."""

from __future__ import annotations

from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in

pytestmark = BROWSER_MARKS

# each visible row of fields: its labels (text, top, lines) and the tops and heights of their fields
# (a field: a box to type in or a menu; a tick box beside them keeps its own place)
ROWS = """() => { const FIELD = 'input:not([type=checkbox]):not([type=radio]), select';
    return [...document.querySelectorAll('.row.fields')].filter(r => r.offsetParent).map(row =>
    [...row.children].filter(c => c.offsetParent && c.querySelector('label') && c.querySelector(FIELD)).map(c => {
        const label = c.querySelector('label'), field = c.querySelector(FIELD);
        const range = document.createRange(); range.selectNodeContents(label);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        const box = field.getBoundingClientRect();
        return {label: label.textContent.trim(), top: Math.round(label.getBoundingClientRect().top),
                lines, fieldTop: Math.round(box.top), fieldHeight: Math.round(box.height)};
    })).filter(fields => fields.length > 1); }"""


def _misaligned(page) -> list:
    bad = []
    for fields in page.evaluate(ROWS):
        first = fields[0]
        for field in fields:
            if (
                field["lines"] > 1
                or abs(field["top"] - first["top"]) > 1
                or abs(field["fieldTop"] - first["fieldTop"]) > 1
                or abs(field["fieldHeight"] - first["fieldHeight"]) > 1
            ):
                bad.append(fields)
                break
    return bad


def test_fields_side_by_side_line_up_on_a_desktop(live_server, browser_page, user, product_image, tmp_path):
    page = browser_page
    shots = shots_dir(tmp_path)
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server.url)

    # when: the merchant ticks every output of the new-job form
    page.goto(f"{live_server.url}/products/{product_image.product_id}/")
    for output in page.locator("#id_outputs input[type=checkbox]").all():
        output.check()
    page.screenshot(path=str(shots / "form-rows-job-1440.png"), full_page=True)
    rows = page.evaluate(ROWS)

    # then: the rows of fields beside each other (scenes, clip) each have their labels on one
    # line at one height, and fields of one height at one height
    labels = {field["label"] for fields in rows for field in fields}
    assert {"Scene theme", "Number of scenes", "Camera", "Seconds"} <= labels, labels
    assert _misaligned(page) == []

    # and: the campaign form's rows too
    page.goto(f"{live_server.url}/batches/campaigns/new/")
    for output in page.locator("#id_outputs input[type=checkbox]").all():
        output.check()
    page.screenshot(path=str(shots / "form-rows-campaign-1440.png"), full_page=True)
    assert len(page.evaluate(ROWS)) >= 2
    assert _misaligned(page) == []
