"""The product description box is as tall as its words: it took ten empty lines (about 240 px)
under a one-line description, pushing the price and the Save button off a phone's first screen.
It starts at three lines, grows as the merchant types, and scrolls only past fifteen."""

from __future__ import annotations

from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in

pytestmark = BROWSER_MARKS

# the box's height, one line's height and whether all its words show without scrolling it
MEASURE = """e => { const style = getComputedStyle(e);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
    return {height: e.getBoundingClientRect().height, line, fits: e.scrollHeight <= e.clientHeight + 1}; }"""

LONG = "\n".join(f"Line {n}: cold for 24 hours, hot for 12." for n in range(1, 9))


def _lines(box: dict) -> float:
    return box["height"] / box["line"]


def test_the_description_box_fits_its_words(live_server, browser_page, user, product, tmp_path):
    # given: a product with a one-line description
    product.description = "A gentle hand wash with aloe."
    product.save()
    page = browser_page
    shots = shots_dir(tmp_path)
    sign_in(page, live_server.url)

    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        # when: the product's edit form opens
        page.goto(f"{live_server.url}/products/{product.pk}/edit/")
        page.screenshot(path=str(shots / f"description-short-{width}.png"), full_page=True)
        # then: its description box is a few lines tall, not ten
        short = page.locator("#id_description").evaluate(MEASURE)
        assert 2.5 <= _lines(short) <= 4.5, (width, short)
        assert short["fits"], (width, short)

        # when: the merchant types an eight-line description; then the box grows to show it all
        page.fill("#id_description", LONG)
        grown = page.locator("#id_description").evaluate(MEASURE)
        page.screenshot(path=str(shots / f"description-long-{width}.png"), full_page=True)
        assert grown["fits"] and grown["height"] > short["height"] + 4 * short["line"], (width, grown)

        # when: it runs to forty lines; then the box stops growing and scrolls instead
        page.fill("#id_description", LONG * 5)
        tallest = page.locator("#id_description").evaluate(MEASURE)
        assert not tallest["fits"] and _lines(tallest) <= 17, (width, tallest)

        # and the new-product form's box starts as small
        page.goto(f"{live_server.url}/products/new/")
        empty = page.locator("#id_description").evaluate(MEASURE)
        assert 2.5 <= _lines(empty) <= 4.5, (width, empty)


# each visible label of the form: its text, whether its field is required, and its lines
LABELS = """() => [...document.querySelectorAll('form.card label')].filter(l => l.offsetParent && l.control).map(l => {
    const range = document.createRange(); range.selectNodeContents(l);
    return {text: l.textContent.trim().replace(/\\s+/g, ' '), required: l.control.required,
            lines: new Set([...range.getClientRects()].map(r => Math.round(r.top))).size}; })"""


def test_the_product_forms_say_which_fields_may_stay_empty(
    live_server, browser_page, user, product, tmp_path
):
    page = browser_page
    shots = shots_dir(tmp_path)
    sign_in(page, live_server.url)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in (("new", "/products/new/"), ("edit", f"/products/{product.pk}/edit/")):
            # when: the new-product or edit form opens
            page.goto(live_server.url + path)
            page.screenshot(path=str(shots / f"product-{name}-labels-{width}.png"), full_page=True)
            labels = page.evaluate(LABELS)
            # then: the five fields a product can do without say "(optional)" (two of them said
            # so in their help under the box, three nowhere); the three it needs do not
            optional = [label["text"] for label in labels if label["text"].endswith(" (optional)")]
            assert optional == [
                "Description (optional)",
                "Price (optional)",
                "Compare-at price (optional)",
                "Brand name (optional)",
                "Brand colour (optional)",
            ], (width, name, labels)
            assert all(label["required"] != label["text"].endswith(" (optional)") for label in labels), labels
            # and each label stays on one line, on a phone too
            assert all(label["lines"] == 1 for label in labels), (width, name, labels)
            assert "(optional)" not in page.locator("form.card").inner_text().replace(" (optional)\n", "\n")
