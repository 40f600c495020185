"""Fixing a cutout in headless Chromium: a busy photo the automatic segmenter refuses,
one box and a keep stroke drawn on the editor's canvas, an undone remove stroke, save."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from generation.check import MATTE_THRESHOLD
from generation.segment.metrics import iou
from shop_assets.catalog import masks
from tests.service.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS


def test_box_and_strokes_in_the_browser_fix_a_refused_photo(
    live_server,
    browser_page,
    user,
    busy_image,
    tmp_path,
):
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice-123")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/products/{busy_image.product_id}/")
    page.wait_for_selector("[data-state=review]")
    editor = page.locator("[data-mask-editor]")
    canvas = editor.locator("canvas[data-draw]")
    canvas.scroll_into_view_if_needed()
    frame = canvas.bounding_box()
    f = frame["width"] / busy_image.width  # photo pixels to screen pixels

    def at(x: float, y: float) -> tuple[float, float]:
        return frame["x"] + x * f, frame["y"] + y * f

    def drag(points: list[tuple[float, float]]) -> None:
        page.mouse.move(*at(*points[0]))
        page.mouse.down()
        for p in points[1:]:
            page.mouse.move(*at(*p), steps=4)
        page.mouse.up()

    def refreshed(count: int) -> None:
        page.wait_for_function(
            f"() => document.querySelector('[data-mask-editor]').dataset.refreshes === '{count}'"
            " && !document.querySelector('[data-mask-editor]').dataset.busy"
        )

    x, y, w, h = busy_image.truth_box
    cx, cy = x + w / 2, y + h / 2
    # a box around the candle
    drag([(x - 12, y - 12), (x + w + 12, y + h + 12)])
    refreshed(1)
    # a keep stroke down its middle
    editor.locator("[data-tool=keep]").click()
    drag([(cx, cy - h / 4), (cx, cy + h / 4)])
    refreshed(2)
    # a remove stroke across it, taken back
    editor.locator("[data-tool=remove]").click()
    drag([(x - 10, cy), (x + w + 10, cy)])
    refreshed(3)
    editor.locator("[data-undo]").click()
    refreshed(4)
    confidence = float(editor.get_attribute("data-confidence"))
    assert editor.locator("img[data-result]").is_visible()
    page.screenshot(path=str(tmp_path / "cutout-editor.png"), full_page=True)

    editor.locator("[data-save]").click()
    page.wait_for_selector("[data-state=accepted]")

    saved = masks.latest_accepted(busy_image)
    assert confidence >= MATTE_THRESHOLD and saved.source == "refined" and saved.created_by == user
    matte = np.asarray(Image.open(io.BytesIO(masks.mask_png(saved))))
    assert iou(matte, busy_image.truth.astype(np.uint8) * 255) > 0.95
    # the accepted cutout is shown (waited for: on S3 the image loads through a redirect)
    page.locator(f"img[src='/masks/{saved.pk}/cutout.webp']").wait_for(state="visible", timeout=15000)
