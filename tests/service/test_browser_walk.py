"""What a merchant walking the dashboard on a phone and a desktop found cut, unlabelled or
cramped: menus whose chosen words did not fit, a file input with no label, names broken
inside ("job.needs_rev / iew", "Layout / JSON"), a button touching the card under it, a cutout
drawn under its own button, checkerboards behind pictures that have no transparency, a poster's
words listed under their labels with the browser's indent, a failed job's bar in green, and
posters headed by bare pixel sizes."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from shop_assets.catalog.models import ProductImage
from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from tests.service.browser import BROWSER_MARKS, open_unfolded, shots_dir, sign_in, sign_out
from tests.service.test_browser_layout import _no_sideways_scroll

pytestmark = BROWSER_MARKS

CUT_SELECTS = """() => {
    const canvas = document.createElement('canvas').getContext('2d');
    return [...document.querySelectorAll('select')].filter(s => s.offsetParent && !s.multiple).flatMap(s => {
        const style = getComputedStyle(s);
        canvas.font = style.font;
        const text = s.selectedOptions.length ? s.selectedOptions[0].text : '';
        // the room for words: the box less its padding and the menu's arrow
        const room = s.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
        return canvas.measureText(text).width > room ? [s.name + ': ' + text] : [];
    });
}"""

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')].filter(el =>
    el.type !== 'hidden' && el.offsetParent &&
    !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.title
).map(el => el.outerHTML.slice(0, 120))"""

# a name's words on more than one line (its text's line boxes, blockified or not)
BROKEN_INSIDE = """() => [...document.querySelectorAll(
    '.gallery figcaption a, .gallery figcaption button, ul.checks code')].filter(el => {
        if (!el.offsetParent) return false;
        const range = document.createRange();
        range.selectNodeContents(el);
        return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
    }).map(el => el.textContent.trim())"""


def _job(product_image) -> GenerationJob:
    """A finished job with a cutout, two scenes and a story poster with its layout JSON."""
    job = GenerationJob.objects.create(
        merchant_id=product_image.product.merchant_id,
        product=product_image.product,
        image=product_image,
        outputs=["cutout", "poster", "scene"],
        status=JobStatus.SUCCEEDED,
        progress=100,
    )
    cutout = Image.new("RGBA", (400, 900), (0, 0, 0, 0))
    cutout.paste((30, 120, 80, 255), (0, 0, 400, 900))
    specs = [
        ("cutout", "cutout", "png", cutout),
        ("scene", "scene-marble_counter-01", "png", Image.new("RGB", (1600, 1000), (200, 80, 60))),
        ("scene", "scene-marble_counter-02", "png", Image.new("RGB", (1600, 1000), (60, 160, 90))),
        ("poster", "poster-hero_left-story", "png", Image.new("RGB", (1080, 1920), (230, 200, 60))),
        ("poster", "poster-hero_left-story-layout", "json", None),
    ]
    for kind, name, fmt, image in specs:
        if image is None:
            data, (width, height) = (
                json.dumps({"spec": {"headline": "Hand wash", "cta": "Shop now"}}).encode(),
                (1080, 1920),
            )
        else:
            buf = io.BytesIO()
            image.save(buf, format="PNG")
            data, (width, height) = buf.getvalue(), image.size
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
            metrics={"theme": "marble_counter", "template": "hero_left", "size": "story"},
        )
    return job


def test_pages_show_their_words_whole_label_their_controls_and_give_things_room(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job, and a photo whose automatic cutout never came (so its card
    # offers the editor and a mask upload)
    job = _job(product_image)
    failed = GenerationJob.objects.create(
        merchant_id=job.merchant_id,
        product=job.product,
        image=product_image,
        outputs=["poster"],
        status=JobStatus.FAILED,
        progress=30,
        error_message="The headline does not fit.",
    )
    ProductImage.objects.filter(pk=product_image.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    page = browser_page
    shots = shots_dir(tmp_path)
    pages = {
        "product": f"/products/{product_image.product_id}/",
        "job": f"/jobs/{job.pk}/",
        "brand": "/brand/",
        "bulk": "/batches/",
        "webhooks": "/webhooks/",
    }

    for width, height in ((390, 844), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        for name, path in pages.items():
            open_unfolded(page, live_server.url + path)
            if name == "product":  # every option of the new-job form shown
                for output in ("scene", "poster", "clip"):
                    page.check(f"input[name=outputs][value={output}]")
            page.screenshot(path=str(shots / f"walk-{name}-{width}.png"), full_page=True)

            # then: every menu shows its choice whole, every field has a label, nothing
            # breaks inside a name, and nothing is wider than the window
            assert page.evaluate(CUT_SELECTS) == [], (name, width)
            assert page.evaluate(UNLABELLED) == [], (name, width)
            assert page.evaluate(BROKEN_INSIDE) == [], (name, width)
            _no_sideways_scroll(page)

        # and the bulk import's labels sit on their fields
        page.goto(live_server.url + "/batches/")
        label, field = (
            page.locator("label[for=id_catalogue]").bounding_box(),
            page.locator("#id_catalogue").bounding_box(),
        )
        assert field["y"] - (label["y"] + label["height"]) < 12, (label, field)

        # and on the job page: the Download all button keeps a gap above the first card
        page.goto(f"{live_server.url}/jobs/{job.pk}/")
        cutout = page.locator("figure[data-kind=cutout] img")
        cutout.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=cutout.element_handle())
        button = page.locator("a:has-text('Download all (ZIP)')").bounding_box()
        first = page.locator("figure.asset").first.bounding_box()
        assert first["y"] - (button["y"] + button["height"]) >= 8, (button, first)

        # the posters are headed by their template's name, each card by its size's, short
        # ("Story 9:16"), the new-job form's whole name on hover
        expect(page.locator("#assets-poster h3")).to_have_text("Hero left")
        size = page.locator("#assets-poster figcaption div[title]")
        expect(size).to_have_attribute("title", "Story / Reels / TikTok / Douyin 9:16\u00a0·\u00a01080×1920")
        expect(size.locator("strong")).to_have_text("Story 9:16")

        # the cutout is drawn clear of its Dark backdrop button
        picture = cutout.evaluate(
            """img => { const r = img.getBoundingClientRect(), s = getComputedStyle(img);
                const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
                const w = img.naturalWidth * scale, h = img.naturalHeight * scale;
                return {x: r.left + (r.width - w) / 2, y: r.top + (r.height - h) / 2, width: w, height: h}; }"""
        )
        toggle = page.locator("figure[data-kind=cutout] [data-backdrop-toggle]").bounding_box()
        apart = (
            toggle["y"] + toggle["height"] <= picture["y"]
            or toggle["x"] >= picture["x"] + picture["width"]
            or toggle["x"] + toggle["width"] <= picture["x"]
        )
        assert apart, (toggle, picture)

        # only the cutout, which has transparency, sits on a checkerboard
        behind = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('figure.asset')].map(f =>
                [f.dataset.kind, getComputedStyle(f.querySelector('.preview')).backgroundImage]))"""
        )
        assert "conic-gradient" in behind["cutout"], behind
        assert behind["scene"] == behind["poster"] == "none", behind

        # and Edit words lists what the poster says now with each label beside its words
        poster = job.assets.get(kind="poster", format="png")
        page.goto(f"{live_server.url}/assets/{poster.pk}/words/")
        label, words = page.locator("dl.current-words dt").first, page.locator("dl.current-words dd").first
        assert label.inner_text() == "Headline" and words.inner_text() == "Hand wash"
        assert abs(label.bounding_box()["y"] - words.bounding_box()["y"]) < 2
        assert words.bounding_box()["x"] > label.bounding_box()["x"] + label.bounding_box()["width"]
        page.screenshot(path=str(shots / f"walk-words-{width}.png"), full_page=True)

        # and a failed job's bar stops in the colour of its status
        page.goto(f"{live_server.url}/jobs/{failed.pk}/")
        bar = page.locator("#job-status-inner .progress > div")
        assert bar.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(180, 35, 24)"
        sign_out(page)
