"""The core flow in headless Chromium (Debian's package) driven by Playwright:
sign in, upload a photo, start a job, watch it finish, see and download the asset."""

from __future__ import annotations

import re

from PIL import Image

from tests.conftest import jpeg_bytes
from tests.service.browser import BROWSER_MARKS
from tests.synthetic import product_photo

pytestmark = BROWSER_MARKS


def test_sign_in_upload_start_job_and_download(live_server, worker, browser_page, user, product, tmp_path):
    page = browser_page
    photo, _ = product_photo((480, 600), "gradient")
    photo_path = tmp_path / "bottle.jpg"
    photo_path.write_bytes(jpeg_bytes(photo))

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice-123")
    page.click("button[type=submit]")
    page.click(f"text={product.title}")
    page.set_input_files("#id_photo", str(photo_path))
    page.click("text=Upload")
    page.wait_for_selector("text=Photo bottle.jpg added.")
    page.click("button:has-text('Start')")
    page.wait_for_selector("[data-status=succeeded]", timeout=120_000)
    img = page.locator("figure.asset img").first
    img.wait_for()
    # attached is not loaded: on a busy machine the picture may still be on its way
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    shown = page.evaluate("el => new URL(el.currentSrc).pathname", img.element_handle())
    with page.expect_download() as info:
        page.click("figure.asset >> text=Download")
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    page.screenshot(path=str(tmp_path / "job.png"), full_page=True)

    # the card shows a sized picture of the packshot; the download is the 2000 px file
    assert re.fullmatch(r"/assets/\d+/thumbnail/480/", shown), shown
    assert download.suggested_filename == f"{product.sku}-packshot.png"
    with Image.open(saved) as packshot:
        assert (packshot.format, packshot.size) == ("PNG", (2000, 2000))


def test_another_merchants_job_page_is_not_found(live_server, browser_page, other_user, user, product):
    from shop_assets.catalog.models import ProductImage
    from shop_assets.jobs.models import GenerationJob

    image = ProductImage.objects.create(
        product=product,
        original_key="k",
        original_format="JPEG",
        original_size=1,
        normalized_key="k",
        thumbnail_key="k",
        width=1,
        height=1,
        checksum="0",
    )
    job = GenerationJob.objects.create(
        merchant=product.merchant, product=product, image=image, outputs=["packshot"]
    )
    page = browser_page

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "mallory")
    page.fill("#id_password", "pw-mallory-123")
    page.click("button[type=submit]")
    response = page.goto(f"{live_server.url}/jobs/{job.pk}/")

    assert response.status == 404
