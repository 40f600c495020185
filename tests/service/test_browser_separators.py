"""Separators ("·") never start or end a line, on a phone (390 x 844) and a desktop (1440 x
900): a poster card's actions on a phone read "Download · Edit words ·" and then
"Regenerate" alone, and a bulk batch's counts ended lines with "·". Rows of actions and
counts are now lists spaced by a gap, with no separator characters to strand; where a "·"
stays in words (a clip's facts, a poster size's name, the Edit words heading, a campaign's
placeholders) it never breaks from its neighbours. And a poster size's name that wraps
stays beside its box (on a phone "Xiaohongshu) · 1080×1080" sat under the checkbox)."""

from __future__ import annotations

import io

from shop_assets.bulk import fanout, imports
from tests.bulk_files import simple_csv
from tests.service.browser import (
    BROWSER_MARKS,
    add_poster_layouts,
    job_with_assets,
    open_unfolded,
    shots_dir,
    sign_in,
    sign_out,
)

pytestmark = BROWSER_MARKS

MADE = {"fidelity": {"identical": True}, "matte": {"source": "accepted", "trusted": True, "confidence": 0.93}}
CHECKED = {**MADE, "template": "hero_left", "checks": {"ok": True, "problems": []}}

# Every "·" in main whose line has nothing visible before it or after it: the line is the
# set of visible characters of the same block whose boxes share the dot's vertical middle.
STRANDED = """() => {
  const blockOf = n => { let e = n.parentElement;
    while (e && getComputedStyle(e).display.startsWith('inline')) e = e.parentElement; return e; };
  const rectsOf = (node, i) => { const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
    return r.getBoundingClientRect(); };
  const found = [];
  const walk = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  const dots = [];
  for (let n = walk.nextNode(); n; n = walk.nextNode())
    for (let i = 0; i < n.data.length; i++) if (n.data[i] === '·') dots.push([n, i]);
  for (const [node, i] of dots) {
    const dot = rectsOf(node, i);
    if (!dot.width) continue;
    const mid = dot.top + dot.height / 2, block = blockOf(node);
    let before = false, after = false;
    const inner = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let t = inner.nextNode(); t; t = inner.nextNode())
      for (let j = 0; j < t.data.length; j++) {
        if (/\\s|·/.test(t.data[j])) continue;
        const c = rectsOf(t, j);
        if (!c.width || c.top > mid || c.bottom < mid) continue;
        if (c.right <= dot.left) before = true; else if (c.left >= dot.right) after = true;
      }
    if (!before || !after) found.push(block.innerText.replace(/\\n/g, ' / ').slice(0, 120));
  }
  return found;
}"""


# The choices among the poster templates and sizes whose words wrap under their box
UNDER_THE_BOX = """() => [...document.querySelectorAll('#id_poster_templates label, #id_poster_sizes label')]
  .filter(label => { const box = label.querySelector('input').getBoundingClientRect();
    return [...label.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).some(text => {
      const words = document.createRange(); words.selectNodeContents(text);
      return [...words.getClientRects()].some(r => r.width > 1 && r.left < box.right); }); })
  .map(label => label.innerText)"""


def _job_with_cards(product_image):
    job = job_with_assets(
        product_image,
        [
            ("scene", "scene-marble_counter-01", (800, 500), (200, 80, 60), MADE),
            ("scene", "scene-marble_counter-02", (800, 500), (60, 160, 90), MADE),
            ("poster", "poster-hero_left-story", (540, 960), (230, 200, 60), {**CHECKED, "size": "story"}),
            ("poster", "poster-hero_left-feed", (540, 540), (230, 200, 60), {**CHECKED, "size": "feed"}),
            ("clip", "clip-story", (540, 960), (30, 90, 200), {**MADE, "duration": 8.0}),
        ],
    )
    return add_poster_layouts(job)


def test_no_separator_starts_or_ends_a_line_on_job_cards_and_batch_counts(
    live_server, browser_page, user, product_image, tmp_path
):
    page = browser_page
    shots = shots_dir(tmp_path)
    # given: a finished job with scenes and posters, and a batch whose rows are imported
    job = _job_with_cards(product_image)
    rows = [{"sku": f"MUG-{n:03d}", "title": "Stoneware mug"} for n in range(3)]
    batch = imports.preview_batch(user.merchant, io.BytesIO(simple_csv(rows)), "catalogue.csv")
    fanout.confirm_batch(batch)
    imports.import_batch(batch.pk)

    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)

        # when: the job page is opened, every section unfolded
        open_unfolded(page, f"{live_server.url}/jobs/{job.pk}/")
        page.screenshot(path=str(shots / f"separators-job-{width}.png"), full_page=True)
        # then: every poster card offers its three actions, each on screen inside its card
        cards = page.locator("figure[data-kind=poster]")
        assert cards.count() == 2
        for card in cards.all():
            box = card.bounding_box()
            for name in ("Download", "Edit words", "Regenerate"):
                action = card.get_by_text(name, exact=True).bounding_box()
                assert (
                    box["x"] <= action["x"] and action["x"] + action["width"] <= box["x"] + box["width"] + 0.5
                )
        # and no "·" starts or ends a line anywhere on the page
        assert page.evaluate(STRANDED) == [], width

        # when: a poster's Edit words page is opened; then its heading strands no "·"
        page.locator("figure[data-kind=poster] a", has_text="Edit words").first.click()
        page.wait_for_selector("h1:has-text('Edit words')")
        assert page.evaluate(STRANDED) == [], width

        # when: a new campaign's form is opened
        page.goto(f"{live_server.url}/batches/campaigns/new/")
        page.screenshot(path=str(shots / f"separators-campaign-{width}.png"), full_page=True)
        # then: the headline's placeholders strand no "·"
        assert page.evaluate(STRANDED) == [], width
        # and a poster size's name that wraps stays beside its box, never under it
        assert page.evaluate(UNDER_THE_BOX) == [], width

        # when: the batch's page is opened; then its counts strand no "·" either
        page.goto(f"{live_server.url}/batches/{batch.pk}/")
        page.screenshot(path=str(shots / f"separators-batch-{width}.png"), full_page=True)
        assert (
            page.locator("#counts").inner_text().split()
            == (
                "waiting 3 queued 0 running 0 succeeded 0 needs review 0 failed 0 imported without a job 0 refused 0"
            ).split()
        )
        assert page.evaluate(STRANDED) == [], width
        sign_out(page)
