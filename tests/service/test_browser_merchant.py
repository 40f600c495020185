"""What a merchant met walking the dashboard in a real browser, on a phone and a desktop:
no page asks for a file that is not there, Chinese headings are bold like their Latin
letters, and the audio tracks table keeps its Delete button on a phone's screen."""

from __future__ import annotations

from shop_assets.catalog.audio import add_audio_track
from shop_assets.dashboard.webfonts import FAMILY, build_webfonts
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in, sign_out
from tests.service.test_browser_layout import _no_sideways_scroll
from tests.synthetic import sine_track

pytestmark = BROWSER_MARKS

CHINESE_TITLE = "保温杯 不锈钢 500ml 限时特价"
LONG_TRACK = "summer-sale-background-music-final-mix-v3-loud.wav"


def _ink(page, weight: int, text: str) -> int:
    """How many pixels ``text`` darkens, drawn at ``weight`` in the CJK web font."""
    return page.evaluate(
        """async ([family, weight, text]) => {
            const font = weight + ' 48px "' + family + '"';
            await document.fonts.load(font, text);
            const canvas = document.createElement('canvas');
            canvas.width = 600; canvas.height = 80;
            const c = canvas.getContext('2d');
            c.font = font; c.fillStyle = '#000'; c.fillText(text, 4, 60);
            const alpha = c.getImageData(0, 0, 600, 80).data;
            let ink = 0;
            for (let i = 3; i < alpha.length; i += 4) ink += alpha[i] > 127 ? 1 : 0;
            return ink;
        }""",
        [FAMILY, weight, text],
    )


def test_phone_and_desktop_pages_load_whole_with_bold_chinese_and_a_reachable_delete(
    live_server, browser_page, user, product, product_image, tmp_path
):
    # given a Chinese product title and an audio track with a long file name
    build_webfonts()
    product.title = CHINESE_TITLE
    product.save()
    add_audio_track(user.merchant_id, sine_track("wav", 2.0), filename=LONG_TRACK)
    page = browser_page
    shots = shots_dir(tmp_path)
    errors: list[str] = []  # the browser's own requests (the site's icon) show only here
    page.on(
        "console", lambda m: errors.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None
    )

    for width, height in ((390, 844), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        for path in ("/", f"/products/{product.pk}/", "/brand/", "/settings/team/"):
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            _no_sideways_scroll(page)

        # then: the brand kit's Delete names its track and stays inside the card and the window
        page.goto(live_server.url + "/brand/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"brand-{width}.png"), full_page=True)
        delete = page.get_by_role("button", name=f"Delete {LONG_TRACK}")
        button, card = delete.bounding_box(), page.locator("table.tracks").locator("xpath=..").bounding_box()
        assert button is not None and card is not None
        assert button["x"] + button["width"] <= min(card["x"] + card["width"], width), (button, card)
        assert delete.is_visible()
        sign_out(page)

    # then: no page asked for a file that is not there (the site's icon among them)
    assert errors == []

    # and the product's Chinese title is bold in its heading, as its Latin letters are
    page.goto(f"{live_server.url}/login/")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/products/{product.pk}/")
    heading = page.locator("h1", has_text="保温杯")
    assert int(heading.evaluate("h => getComputedStyle(h).fontWeight")) >= 600
    regular, bold = _ink(page, 400, "保温杯限时特价"), _ink(page, 700, "保温杯限时特价")
    assert bold > regular * 1.12, (regular, bold)


def _fits(page, selector: str) -> dict:
    """The width of a select's chosen option's text and the room the select gives it."""
    return page.eval_on_selector(
        selector,
        """s => {
            const st = getComputedStyle(s);
            const c = document.createElement('canvas').getContext('2d');
            c.font = st.fontWeight + ' ' + st.fontSize + ' ' + st.fontFamily;
            const text = c.measureText(s.options[s.selectedIndex].text).width;
            const room = s.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight) - 20;
            return {text, room};
        }""",
    )


def test_form_fields_fit_swatches_show_their_hex_and_the_team_page_stays_put(
    live_server, browser_page, user, product, product_image, tmp_path
):
    # given: the signed-in user owns the shop (the team page shows its form)
    user.is_owner = True
    user.save()
    page = browser_page
    shots = shots_dir(tmp_path)

    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)

        # when: the new-job form shows its clip and poster options
        page.goto(f"{live_server.url}/products/{product.pk}/")
        page.wait_for_load_state("networkidle")
        page.check("input[name=outputs][value=clip]")
        page.check("input[name=outputs][value=poster]")
        page.locator("#id_clip_preset").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"job-form-{width}.png"), full_page=True)
        # then: every option of "Clip format" fits its select
        for value in page.eval_on_selector_all("#id_clip_preset option", "os => os.map(o => o.value)"):
            page.select_option("#id_clip_preset", value)
            fit = _fits(page, "#id_clip_preset")
            assert fit["text"] <= fit["room"], (width, value, fit)
        # and a template's tick box sits beside its preview, not over it
        picks = page.locator(".template-pick")
        assert picks.count() > 0
        for i in range(picks.count()):
            box = picks.nth(i).locator("input").bounding_box()
            img = picks.nth(i).locator("img")
            if img.count():
                pic = img.bounding_box()
                assert box is not None and pic is not None
                assert box["y"] >= pic["y"] + pic["height"] or box["x"] >= pic["x"] + pic["width"], (
                    width,
                    box,
                    pic,
                )

        # when: the brand kit opens
        page.goto(f"{live_server.url}/brand/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"brand-kit-{width}.png"), full_page=True)
        # then: each colour shows its hex value as text one can select and copy
        for name in ("primary_color", "secondary_color", "text_color"):
            value = page.input_value(f"#id_{name}")
            hex_text = page.locator(f"[data-hex-for=id_{name}]")
            assert hex_text.is_visible()
            assert hex_text.inner_text().strip().lower() == value.lower(), (name, value)
            assert hex_text.evaluate("e => getComputedStyle(e).userSelect") != "none"
            copied = hex_text.evaluate(
                "e => { const r = document.createRange(); r.selectNodeContents(e);"
                " const s = getSelection(); s.removeAllRanges(); s.addRange(r); return s.toString(); }"
            )
            assert copied.strip().lower() == value.lower()
        # and a new colour shows its new hex at once
        page.eval_on_selector(
            "#id_primary_color",
            "e => { e.value = '#12ab9f'; e.dispatchEvent(new Event('input', {bubbles: true})); }",
        )
        assert page.locator("[data-hex-for=id_primary_color]").inner_text().strip() == "#12ab9f"

        # when: the team page opens
        page.goto(f"{live_server.url}/settings/team/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"team-{width}.png"))
        # then: it opens at its top, with no field grabbing the focus
        assert page.evaluate("() => window.scrollY") == 0
        assert page.evaluate("() => document.activeElement === document.body")
        assert page.locator("[autofocus]").count() == 0
        sign_out(page)


def test_a_product_heading_on_a_phone_keeps_its_sku_whole_and_its_button_clear_of_the_card(
    live_server, browser_page, user, product
):
    # given a product whose SKU has hyphens and whose title fills a phone's line
    product.sku = "MUG-SLOW-350"
    product.title = "晨光陶瓷马克杯 Slow Mornings 350 ml"
    product.save()
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url)

    # when its page is opened
    page.goto(f"{live_server.url}/products/{product.pk}/")
    page.wait_for_load_state("networkidle")

    # then the SKU sits on one line (not "MUG-" above "SLOW-350")
    sku = page.locator("h1 .sku")
    lines = sku.evaluate("el => el.getClientRects().length")
    assert lines == 1, lines
    # and the Edit button, wrapped under the heading, leaves a gap above the first card
    button = page.get_by_role("link", name="Edit or delete").bounding_box()
    card = page.locator("section.card").first.bounding_box()
    assert button is not None and card is not None
    assert card["y"] - (button["y"] + button["height"]) >= 8, (button, card)
