"""A full job's page in headless Chromium on a phone (390 x 844) and a desktop (1440 x 900)
loads each card's picture at a width the server made for it (it loaded every file whole: a
2000 px packshot and nine posters up to 1200 px wide in cards under 300 px wide); the lightbox
still opens the file itself."""

from __future__ import annotations

import io

from PIL import Image
from playwright.sync_api import expect

from tests.service.browser import BROWSER_MARKS, full_job, open_unfolded, shots_dir, sign_in, sign_out

pytestmark = BROWSER_MARKS

PICTURES = """() => [...document.querySelectorAll('figure.asset img')].map(i => ({
    src: new URL(i.currentSrc).pathname, shown: i.getBoundingClientRect().width }))"""


def test_cards_load_sized_pictures_and_the_lightbox_the_file(
    live_server, browser_page, user, product_image, tmp_path
):
    # given: a finished job with every output
    job = full_job(product_image)
    sizes = {a.pk: a.width for a in job.assets.all()}
    clips = list(job.assets.filter(kind="clip").values_list("pk", flat=True))
    page = browser_page
    shots = shots_dir(tmp_path)
    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server.url)
        fetched: list[str] = []

        def record(request, fetched=fetched) -> None:
            fetched.append(request.url)

        page.on("request", record)

        # when: its page is opened, every section unfolded and scrolled through
        open_unfolded(page, f"{live_server.url}/jobs/{job.pk}/")
        pictures = page.locator("figure.asset img")
        for i in range(pictures.count()):
            pictures.nth(i).scroll_into_view_if_needed()
            page.wait_for_function(
                "i => i.complete && i.naturalWidth > 0", arg=pictures.nth(i).element_handle()
            )
        page.screenshot(path=str(shots / f"job-thumbnails-{width}.png"), full_page=True)

        # then: every card shows a picture of the server's widths, at least as wide as its card
        shown = page.evaluate(PICTURES)
        assert len(shown) == 15, shown
        for picture in shown:
            pk, asked = picture["src"].split("/")[2], picture["src"].split("/")[4]
            # the narrower of the server's widths that is wide enough (a desktop's link preview,
            # 272 px tall beside its story and feed post, is shown 500 px wide: 960)
            wide_enough = "480" if picture["shown"] <= 480 else "960"
            assert picture["src"] == f"/assets/{pk}/thumbnail/{asked}/" and asked == wide_enough, picture
            got = Image.open(io.BytesIO(page.request.get(live_server.url + picture["src"]).body()))
            assert (got.format, got.width) == ("WEBP", min(int(asked), sizes[int(pk)])), picture
            assert picture["shown"] <= got.width + 1, picture  # never drawn larger than it is
        # and no card fetched a picture's file whole (a clip's player reads its own file)
        whole = [url for url in fetched if "/preview/" in url or "/download/" in url]
        assert sorted(whole) == sorted(f"{live_server.url}/assets/{pk}/preview/" for pk in clips), whole

        # when: a poster is opened large
        page.locator("figure[data-kind=poster] a[data-lightbox]").first.click()

        # then: the lightbox shows the poster's own file
        big = page.locator("dialog.lightbox img").first
        expect(big).to_be_visible()
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=big.element_handle())
        assert big.evaluate("i => i.naturalWidth") in (1080, 1200)
        assert "/preview/" in big.evaluate("i => i.currentSrc")
        page.keyboard.press("Escape")
        page.remove_listener("request", record)
        sign_out(page)
