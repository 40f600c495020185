"""How the product is shown (automatic, standing, lying flat from above) is offered in the
new-job form and the campaign editor whenever scenes, posters or a clip are asked for (a
poster-only job too: it sat with the scene options, hidden without scenes), on a desktop
and a phone: its label above its menu, its help under it, and the merchant's choice
reaches the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from shop_assets.bulk.models import Campaign
from shop_assets.jobs.models import GenerationJob
from tests.service.browser import BROWSER_MARKS, shots_dir, sign_in

pytestmark = BROWSER_MARKS

# the view's label, menu and help: their boxes, and the form's room and the page's width
PLACES = """() => { const box = e => { const r = e.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width}; };
    const menu = document.getElementById('id_view');
    return {label: box(document.querySelector('label[for=id_view]')), menu: box(menu),
            help: box(document.getElementById('view-help')), form: box(menu.form),
            shown: !!menu.offsetParent, described: menu.getAttribute('aria-describedby'),
            scroll: document.documentElement.scrollWidth, width: window.innerWidth,
            options: [...menu.options].map(o => o.textContent)}; }"""


def _check_places(p: dict) -> None:
    assert p["shown"] and p["described"] == "view-help"
    assert p["options"] == ["Automatic", "Standing on a surface", "Lying flat, seen from above"]
    # the label just above the menu, the help just under it, all inside the form
    assert p["label"]["bottom"] <= p["menu"]["top"] + 1 and p["menu"]["top"] - p["label"]["bottom"] < 16
    assert p["menu"]["bottom"] <= p["help"]["top"] + 1 and p["help"]["top"] - p["menu"]["bottom"] < 16
    for part in ("label", "menu", "help"):
        assert p["form"]["left"] - 1 <= p[part]["left"] and p[part]["right"] <= p["form"]["right"] + 1, part
    assert p["scroll"] <= p["width"]  # no sideways scroll


JOB_OUTPUTS = "#id_outputs input"
CAMPAIGN_OUTPUTS = "#campaign-form input[name=outputs]"


def _form_asking_for(page, base: str, path: str, outputs: str, ticked, unticked=(), *, shot: Path) -> None:
    """Signs in, opens the form at ``path``, unticks and ticks those outputs there, and keeps
    a screenshot (``shot``) with the view's menu in sight."""
    sign_in(page, base)
    page.goto(f"{base}{path}")
    for output in unticked:
        page.locator(f"{outputs}[value={output}]").uncheck()
    for output in ticked:
        page.locator(f"{outputs}[value={output}]").check()
    page.locator("#id_view").scroll_into_view_if_needed()
    page.screenshot(path=str(shot), full_page=True)


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 390, "height": 844}])
def test_the_new_job_form_asks_how_the_product_is_shown(
    live_server, browser_page, user, product_image, tmp_path, viewport
):
    page = browser_page
    page.set_viewport_size(viewport)

    # when: the merchant asks for scenes and a clip of a photo
    shot = shots_dir(tmp_path) / f"view-job-{viewport['width']}.png"
    path = f"/products/{product_image.product_id}/"
    _form_asking_for(page, live_server.url, path, JOB_OUTPUTS, ("scene", "clip"), shot=shot)

    # then: the choice is offered in their words, in its place
    _check_places(page.evaluate(PLACES))

    # and: lying flat reaches every output of the job
    page.select_option("#id_view", "flat")
    page.locator("#job-form button[type=submit]").click()
    page.wait_for_url("**/jobs/**")
    parameters = GenerationJob.objects.get().parameters
    assert parameters["scene"]["view"] == parameters["clip"]["view"] == "flat"


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 390, "height": 844}])
def test_the_campaign_editor_asks_how_the_product_is_shown(
    live_server, browser_page, user, tmp_path, viewport
):
    page = browser_page
    page.set_viewport_size(viewport)

    # when: a campaign of scenes is made
    shot = shots_dir(tmp_path) / f"view-campaign-{viewport['width']}.png"
    _form_asking_for(
        page, live_server.url, "/batches/campaigns/new/", CAMPAIGN_OUTPUTS, ("scene",), shot=shot
    )

    # then: the same choice, in its place
    _check_places(page.evaluate(PLACES))


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 390, "height": 844}])
def test_a_poster_only_job_can_lay_the_product_flat(
    live_server, browser_page, user, product_image, tmp_path, viewport
):
    page = browser_page
    page.set_viewport_size(viewport)

    # when: the merchant asks for posters only (no scenes, no clip)
    shot = shots_dir(tmp_path) / f"view-poster-job-{viewport['width']}.png"
    path = f"/products/{product_image.product_id}/"
    _form_asking_for(page, live_server.url, path, JOB_OUTPUTS, ("poster",), ("packshot",), shot=shot)

    # then: how the product is shown is offered, in its place (it was hidden with the scenes)
    _check_places(page.evaluate(PLACES))

    # and: lying flat reaches the posters, and nothing else is asked for
    page.select_option("#id_view", label="Lying flat, seen from above")
    page.locator("#job-form button[type=submit]").click()
    page.wait_for_url("**/jobs/**")
    job = GenerationJob.objects.get()
    assert list(job.outputs) == ["poster"]
    assert job.parameters["poster"]["view"] == "flat"
    assert job.parameters["scene"] is None and job.parameters["clip"] is None


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 390, "height": 844}])
def test_a_poster_campaign_can_lay_the_product_flat(live_server, browser_page, user, tmp_path, viewport):
    page = browser_page
    page.set_viewport_size(viewport)

    # when: a campaign of posters only is made
    shot = shots_dir(tmp_path) / f"view-poster-campaign-{viewport['width']}.png"
    new = "/batches/campaigns/new/"
    _form_asking_for(page, live_server.url, new, CAMPAIGN_OUTPUTS, ("poster",), ("packshot",), shot=shot)

    # then: the same choice, in its place
    _check_places(page.evaluate(PLACES))

    # and: lying flat is kept with the campaign's posters
    page.fill("#id_name", "Flat tees")
    page.select_option("#id_view", label="Lying flat, seen from above")
    page.click("button[name=save]")
    page.wait_for_selector("text=Campaign Flat tees saved.")
    request = Campaign.objects.get().request
    assert request["outputs"] == ["poster"]
    assert request["poster"]["view"] == "flat"
