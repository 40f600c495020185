"""Headless Chromium (Debian's package) driven by Playwright, shared by the browser tests:
the marks every such module carries, a page fixture, signing in and a finished job with
stored pictures to look at."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="no Chromium installed (apt-get install chromium); .ci/run installs it",
    ),
]


@pytest.fixture
def browser_page():
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by
    # the test between browser steps are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def sign_in(page, url: str, username: str = "alice", password: str = "pw-alice-123") -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


def job_with_assets(product_image, specs, status=None):
    """A job of ``product_image``'s product with one stored PNG asset per ``(kind, name,
    (width, height), colour[, metrics])`` in ``specs`` (a plain picture of that colour), in
    ``status`` (default: succeeded)."""
    import io

    from PIL import Image

    from shop_assets.jobs import storage
    from shop_assets.jobs.models import Asset, GenerationJob, JobStatus

    status = JobStatus.SUCCEEDED if status is None else status
    job = GenerationJob.objects.create(
        merchant_id=product_image.product.merchant_id,
        product=product_image.product,
        image=product_image,
        outputs=sorted({spec[0] for spec in specs}),
        status=status,
        progress=100 if status == JobStatus.SUCCEEDED else 50,
    )
    for kind, name, (width, height), colour, *rest in specs:
        buf = io.BytesIO()
        Image.new("RGBA", (width, height), colour).save(buf, format="PNG")
        key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, name, "png")
        storage.put_bytes(key, buf.getvalue())
        Asset.objects.create(
            merchant_id=job.merchant_id,
            job=job,
            kind=kind,
            name=name,
            format="png",
            width=width,
            height=height,
            storage_key=key,
            size_bytes=len(buf.getvalue()),
            checksum=storage.sha256(buf.getvalue()),
            metrics=rest[0] if rest else {"theme": "marble_counter", "template": "hero_left"},
        )
    return job
