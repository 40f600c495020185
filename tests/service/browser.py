"""Headless Chromium (Debian's package) driven by Playwright, shared by the browser tests:
the marks every such module carries, a page fixture, signing in and a finished job with
stored pictures to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
    from playwright.sync_api import expect, sync_playwright

    # Waits are long enough for two test processes and a worker sharing two cores: an
    # assertion about the page (``expect``) waits as long as any other step, not 5 s.
    expect.set_options(timeout=60_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        # leave every page first: a page that polls (a running job's status) would otherwise
        # send a request the live server answers after the test's database is closed
        for open_page in context.pages:
            open_page.goto("about:blank")
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


PHONE = {"width": 390, "height": 844}


def shots_dir(tmp_path: Path) -> Path:
    """Where a test's screenshots go: ``SHOPASSETS_SCREENSHOTS`` keeps them for a person to
    look at, else the test's own temporary folder."""
    folder = Path(os.environ.get("SHOPASSETS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def signed_in(page, url: str, tmp_path: Path, viewport: dict[str, int] = PHONE) -> Path:
    """Sizes ``page`` to ``viewport`` (a phone unless told) and signs in at ``url``; returns
    the screenshots' folder (``shots_dir``)."""
    page.set_viewport_size(viewport)
    sign_in(page, url)
    return shots_dir(tmp_path)


def sign_in(page, url: str, username: str = "alice", password: str = "pw-alice-123") -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


def sign_out(page) -> None:
    """Leaves the page, then forgets the session: the next ``sign_in`` starts signed out.

    The page is left first because it may still be loading (a new window width re-chooses
    its pictures); those requests, answered without the session, are refused with no cookie
    (``shop_assets.accounts.signed_out``), so they no longer disturb the next sign-in's form,
    but a page left is quieter."""
    page.goto("about:blank")
    page.context.clear_cookies()


def open_unfolded(page, url: str) -> None:
    """Opens ``url`` and waits for it to settle, with every folded part (``<details>``) open."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


def _plain_mp4(size: tuple[int, int], colour) -> bytes:
    """A short H.264 MP4 of one colour at ``size``, as a clip's file."""
    import io

    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        pixels = np.full((size[1], size[0], 3), colour[:3], np.uint8)
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def job_with_assets(product_image, specs, status=None):
    """A job of ``product_image``'s product with one stored asset per ``(kind, name,
    (width, height), colour[, metrics])`` in ``specs`` (``add_assets``), in ``status``
    (default: succeeded)."""
    from shop_assets.jobs.models import GenerationJob, JobStatus

    status = JobStatus.SUCCEEDED if status is None else status
    job = GenerationJob.objects.create(
        merchant_id=product_image.product.merchant_id,
        product=product_image.product,
        image=product_image,
        outputs=sorted({spec[0] for spec in specs}),
        status=status,
        progress=100 if status == JobStatus.SUCCEEDED else 50,
    )
    add_assets(job, specs)
    return job


def add_assets(job, specs) -> None:
    """One stored asset of ``job`` per ``(kind, name, (width, height), colour[, metrics])``
    in ``specs``, as its worker records each it made: a plain picture of that colour as a
    PNG, or for a clip a plain MP4."""
    import io

    from PIL import Image

    from shop_assets.jobs import storage
    from shop_assets.jobs.models import Asset

    for kind, name, (width, height), colour, *rest in specs:
        if kind == "clip":
            fmt, data = "mp4", _plain_mp4((width, height), colour)
        else:
            buf = io.BytesIO()
            Image.new("RGBA", (width, height), colour).save(buf, format="PNG")
            fmt, data = "png", buf.getvalue()
        key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, name, fmt)
        storage.put_bytes(key, data)
        Asset.objects.create(
            merchant_id=job.merchant_id,
            job=job,
            kind=kind,
            name=name,
            format=fmt,
            width=width,
            height=height,
            storage_key=key,
            size_bytes=len(data),
            checksum=storage.sha256(data),
            metrics=rest[0] if rest else {"theme": "marble_counter", "template": "hero_left"},
        )


def add_poster_layouts(job, headline="Hand wash"):
    """A layout file beside each of ``job``'s posters, as a real job stores it (what the
    card's "Edit words" opens)."""
    import json

    from shop_assets.jobs import storage
    from shop_assets.jobs.models import Asset

    for poster in list(job.assets.filter(kind="poster")):
        data = json.dumps({"spec": {"headline": headline}}).encode()
        key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, f"{poster.name}-layout", "json")
        storage.put_bytes(key, data)
        Asset.objects.create(
            merchant_id=job.merchant_id, job=job, kind="poster", name=f"{poster.name}-layout", format="json",
            width=poster.width, height=poster.height, storage_key=key, size_bytes=len(data),
            checksum=storage.sha256(data), metrics={},
        )  # fmt: skip
    return job


def full_job(product_image, status=None):
    """A job with every output a merchant can tick: a cutout, a packshot, four scenes, three
    poster templates at three sizes and two clips (one with sound)."""
    return job_with_assets(product_image, full_job_specs(), status)


def full_job_specs() -> list[tuple]:
    """``full_job``'s assets, for ``job_with_assets`` or ``add_assets``."""
    specs: list[tuple] = [
        ("cutout", "cutout", (600, 800), (30, 120, 80, 255)),
        ("packshot", "packshot", (2000, 2000), (255, 255, 255, 255)),
    ]
    specs += [
        ("scene", f"scene-marble_counter-0{i}", (1600, 1000), (50 * i, 90, 200), {"theme": "marble_counter"})
        for i in range(1, 5)
    ]
    for template in ("hero_left", "bold_sale", "minimal_luxury"):
        for size, shape in (("story", (1080, 1920)), ("feed", (1080, 1080)), ("link", (1200, 628))):
            metrics = {"template": template, "size": size, "checks": {"ok": True}}
            specs.append(("poster", f"poster-{template}-{size}", shape, (230, 200, 60), metrics))
    clip = {"duration": 8.0, "fps": 30, "codec": "h264"}
    specs += [
        ("clip", "clip-parallax-story", (1080, 1920), (20, 40, 60), {**clip, "audio": None}),
        (
            "clip",
            "clip-parallax-feed",
            (1080, 1080),
            (20, 40, 60),
            {**clip, "duration": 6.0, "audio": {"codec": "aac"}},
        ),
    ]
    return specs


def running_batch(merchant):
    """A bulk import of ``catalogue-autumn.csv`` still running (no rows yet)."""
    from shop_assets.bulk.models import Batch, BatchStatus

    return Batch.objects.create(
        merchant=merchant,
        status=BatchStatus.RUNNING,
        source_name="catalogue-autumn.csv",
        source_key="k",
        format="simple",
        encoding="utf-8",
    )
