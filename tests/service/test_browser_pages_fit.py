"""Every dashboard page with things on it, on a phone and a desktop in headless Chromium:
no words run off the window or are cut by the box they sit in, no field's example is cut,
and the new-job form's note about cutouts shows only when a cutout is ticked."""

from __future__ import annotations

from playwright.sync_api import expect

from shop_assets.accounts.models import ApiKey
from shop_assets.catalog.audio import add_audio_track
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.webhooks.models import WebhookEndpoint
from tests.service.browser import (
    BROWSER_MARKS,
    full_job,
    open_unfolded,
    running_batch,
    shots_dir,
    sign_in,
    sign_out,
)
from tests.synthetic import sine_track

pytestmark = BROWSER_MARKS

# Words (text nodes) outside the window, or outside a box that clips or scrolls them; a
# field's example (its placeholder) or a menu's choice wider than the field; a page wider
# than the window. Each as [what, where, words].
CUT = """() => {
    const vw = window.innerWidth, found = [];
    const shown = el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden'
        && !el.closest('dialog:not([open]), details:not([open]) > :not(summary), [hidden], .visually-hidden');
    const where = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node; (node = walker.nextNode());) {
        const el = node.parentElement, words = node.textContent.trim().slice(0, 60);
        if (!words || !el || ['SCRIPT', 'STYLE', 'OPTION'].includes(el.tagName) || !shown(el)) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const rects = [...range.getClientRects()].filter(r => r.width >= 1);
        let cut = null;
        for (let box = el; box && box !== document.body && !cut; box = box.parentElement) {
            const style = getComputedStyle(box);
            if (style.overflowX === 'visible') continue;
            const left = box.getBoundingClientRect().left + box.clientLeft, right = left + box.clientWidth;
            if (rects.some(r => r.right > right + 1 || r.left < left - 1))
                cut = [['auto', 'scroll'].includes(style.overflowX) ? 'scrolled out of' : 'cut by', where(box), words];
        }
        if (!cut && rects.some(r => r.right > vw + 1 || r.left < -1)) cut = ['off the window', where(el), words];
        if (cut) found.push(cut);
    }
    const canvas = document.createElement('canvas').getContext('2d');
    const room = (f, arrow) => { const s = getComputedStyle(f); canvas.font = s.font;
        return f.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight) - arrow; };
    for (const f of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
        if (shown(f) && !f.value && canvas.measureText(f.placeholder).width > room(f, 0) + 1)
            found.push(['example cut', where(f), f.placeholder]);
    }
    for (const s of document.querySelectorAll('select:not([multiple])')) {
        const text = s.selectedOptions.length ? s.selectedOptions[0].text : '';
        if (shown(s) && canvas.measureText(text).width > room(s, 20)) found.push(['choice cut', where(s), text]);
    }
    if (document.documentElement.scrollWidth > vw) found.push(['page wider than the window', 'html', String(document.documentElement.scrollWidth)]);
    return found;
}"""

LONG_URL = "https://shop.example.com/hooks/a-rather-long-path/for-the-storefront"


def test_every_page_shows_its_words_whole_on_a_phone_and_a_desktop(
    live_server, browser_page, user, merchant, product, product_image, tmp_path
):
    # given: a full job, a failed one, a webhook endpoint with a long address, an API key,
    # an audio track with a long name and a bulk import
    job = full_job(product_image)
    failed = GenerationJob.objects.create(
        merchant=merchant,
        product=product,
        image=product_image,
        outputs=["poster"],
        status=JobStatus.FAILED,
        progress=30,
        error_message="The headline does not fit.",
    )
    endpoint = WebhookEndpoint.objects.create(merchant=merchant, url=LONG_URL, events=["job.succeeded"])
    ApiKey.issue(merchant, "Storefront sync key")
    add_audio_track(
        merchant.pk, sine_track("wav", 2.0), filename="summer-sale-background-music-final-mix.wav"
    )
    batch = running_batch(merchant)
    poster = job.assets.filter(kind="poster").first()
    pages = {
        "products": "/",
        "product": f"/products/{product.pk}/",
        "new-product": "/products/new/",
        "edit-product": f"/products/{product.pk}/edit/",
        "job": f"/jobs/{job.pk}/",
        "failed-job": f"/jobs/{failed.pk}/",
        "job-again": f"/jobs/{failed.pk}/again/",
        "words": f"/assets/{poster.pk}/words/",
        "brand": "/brand/",
        "bulk": "/batches/",
        "batch": f"/batches/{batch.pk}/",
        "campaigns": "/batches/campaigns/",
        "campaign": "/batches/campaigns/new/",
        "webhooks": "/webhooks/",
        "webhook": f"/webhooks/{endpoint.pk}/",
        "api-keys": "/settings/api-keys/",
        "team": "/settings/team/",
        "not-found": "/no/such/page/",
    }
    page = browser_page
    shots = shots_dir(tmp_path)
    found = {}

    for width, height in ((390, 844), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        for name, path in pages.items():
            # when: the page is opened with every folded part open
            open_unfolded(page, live_server.url + path)
            page.screenshot(path=str(shots / f"fit-{name}-{width}.png"), full_page=True)
            cut = page.evaluate(CUT)
            if cut:
                found[f"{name} at {width} px"] = cut
        sign_out(page)

    # then: nothing is cut anywhere, whatever the page holds
    assert found == {}


def test_the_webhook_address_example_is_whole_on_a_phone(live_server, browser_page, user):
    # given: a phone-sized window
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url)

    # when: the webhooks page is opened
    page.goto(f"{live_server.url}/webhooks/")

    # then: the example address is written out whole on the screen, and named by the field
    example = page.locator("#url-example code")
    expect(example).to_have_text("https://shop.example.com/webhooks/shopassets")
    box = example.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert example.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert page.locator("#id_url").get_attribute("aria-describedby") == "url-example"
    assert page.evaluate(CUT) == []


def test_the_cutout_png_note_shows_only_when_a_cutout_is_ticked(
    live_server, browser_page, user, product_image
):
    # given: the new-job form on a desktop (a packshot ticked, no cutout)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/products/{product_image.product_id}/")
    note = page.get_by_text("Cutouts are always PNG")
    expect(page.locator("input[name=outputs][value=packshot]")).to_be_checked()
    expect(page.locator("#id_format")).to_be_visible()

    # then: the file format is offered, the note about cutouts is not
    expect(note).to_be_hidden()

    # when: Cutout is ticked, then unticked
    page.check("input[name=outputs][value=cutout]")
    expect(note).to_be_visible()
    page.uncheck("input[name=outputs][value=cutout]")
    expect(note).to_be_hidden()

    # and a browser without script shows every option, the note with them
    context = page.context.browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    sign_in(plain, live_server.url)
    plain.goto(f"{live_server.url}/products/{product_image.product_id}/")
    expect(plain.get_by_text("Cutouts are always PNG")).to_be_visible()
    context.close()
