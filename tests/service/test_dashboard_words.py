"""Merchant-facing words: human labels, display names instead of internal ids, option
groups tied to the outputs they belong to, and an upload hint that names the real limits."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from generation.posters.template import get_template
from generation.sets import get_theme
from shop_assets.accounts.models import BrandKit
from shop_assets.dashboard import labels
from shop_assets.jobs.models import Asset, GenerationJob


def test_new_product_and_brand_kit_forms_use_human_labels(signed_in):
    new_product = signed_in.get(reverse("dashboard:product_new")).content.decode()
    brand = signed_in.get(reverse("dashboard:brand_kit")).content.decode()

    assert ">SKU</label>" in new_product and ">Sku</label>" not in new_product
    assert '>Compare-at price <span class="muted optional">(optional)</span></label>' in new_product
    assert ">Default call to action</label>" in brand
    assert "Default cta" not in brand


def test_job_form_names_themes_and_templates_by_their_display_names(signed_in, product_image):
    body = signed_in.get(reverse("dashboard:product", args=[product_image.product.pk])).content.decode()

    marble = get_theme("marble_counter").label
    assert f'<option value="marble_counter">{marble}</option>' in body
    assert get_template("hero_left").label in body
    # internal ids appear only as form values, never as visible text
    visible = re.sub(r"<[^>]+>", " ", body)
    assert "marble_counter" not in visible and "hero_left" not in visible


def test_no_form_or_card_says_seed(signed_in, product_image):
    # given: a finished job with one scene (its card offers Regenerate)
    job = GenerationJob.objects.create(
        merchant=product_image.product.merchant, product=product_image.product, image=product_image,
        outputs=["scene"], status="succeeded", progress=100,
    )  # fmt: skip
    Asset.objects.create(
        merchant=job.merchant, job=job, kind="scene", name="scene-marble_counter-01", format="png",
        storage_key="k/scene.png", width=10, height=10, size_bytes=1, checksum="0", metrics={},
    )  # fmt: skip
    pages = [
        reverse("dashboard:product", args=[product_image.product.pk]),  # the new-job form
        reverse("bulk:campaign_new"),
        reverse("dashboard:job", args=[job.pk]),
    ]
    for url in pages:
        body = signed_in.get(url).content.decode()
        # what a merchant reads: the text, and the tips shown on hover
        read = re.sub(r"<[^>]+>", " ", body) + " ".join(re.findall(r'title="([^"]*)"', body))
        assert "seed" not in read.lower(), url
    assert ">Variation number</label>" in signed_in.get(pages[0]).content.decode()
    assert "Regenerate" in body and "the same settings, a new variation" in body


def test_each_option_group_names_the_outputs_it_belongs_to(signed_in, product_image):
    body = signed_in.get(reverse("dashboard:product", args=[product_image.product.pk])).content.decode()

    groups = dict(re.findall(r'data-output="([a-z ]+)">\s*<legend>([^<]+)</legend>', body))

    assert groups == {
        "packshot": "Packshot",
        "scene poster clip": "Product",
        "scene clip": "Scenes",
        "packshot scene poster": "Image files",
        "poster": "Posters",
        "poster clip": "Words",
        "clip": "Clip",
    }
    assert "dashboard/job_form.js" in body


def test_no_field_is_labelled_like_its_option_group(signed_in, product_image):
    # a field labelled "Scenes" right under the "Scenes" heading read as a second heading;
    # a count says what it counts
    for url in [reverse("dashboard:product", args=[product_image.product.pk]), reverse("bulk:campaign_new")]:
        body = signed_in.get(url).content.decode()
        for legend, inside in re.findall(r"<legend>([^<]+)</legend>(.*?)</fieldset>", body, re.S):
            labels = [
                re.sub(r"<[^>]+>", "", text).strip()
                for text in re.findall(r"<label[^>]*>(.*?)</label>", inside, re.S)
            ]
            assert legend.strip() not in labels, (url, legend)
    body = signed_in.get(reverse("dashboard:product", args=[product_image.product.pk])).content.decode()
    assert '<label for="id_scene_count">Number of scenes</label>' in body


def test_upload_hint_names_the_configured_limits(signed_in, product, settings):
    settings.MAX_UPLOAD_MB = 12
    settings.MAX_IMAGE_PIXELS = 30_000_000

    body = signed_in.get(reverse("dashboard:product", args=[product.pk])).content.decode()

    assert "JPEG, PNG, WebP or HEIC/HEIF, up to 12 MB and 30 megapixels." in body


def test_asset_captions_show_display_names_not_ids(signed_in, product_image):
    job = GenerationJob.objects.create(
        merchant=product_image.product.merchant,
        product=product_image.product,
        image=product_image,
        outputs=["scene", "poster"],
        status="succeeded",
        progress=100,
    )
    common = {
        "merchant": job.merchant,
        "job": job,
        "width": 10,
        "height": 10,
        "size_bytes": 1,
        "checksum": "0",
    }
    Asset.objects.create(
        kind="scene",
        name="scene-marble_counter-02",
        format="png",
        storage_key="k/scene.png",
        metrics={"theme": "marble_counter", "segmenter": "classical", "engine": "studio"},
        **common,
    )
    Asset.objects.create(
        kind="poster",
        name="poster-hero_left-feed",
        format="png",
        storage_key="k/poster.png",
        metrics={"template": "hero_left", "segmenter": "rembg:u2netp", "engine": "poster"},
        **common,
    )

    body = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()
    # (a title's "·" is held to its neighbours by no-break spaces: read them as spaces)
    visible = re.sub(r"<[^>]+>", " ", body).replace("\xa0", " ")

    assert "Scene · Marble counter 2" in visible
    # (a poster's template heads its row of sizes)
    assert f'<h3 id="posters-hero_left-title">{get_template("hero_left").label}</h3>' in body
    assert "Classical (built-in) · Studio" in visible
    assert "AI model (u2netp)" in visible
    assert "marble_counter" not in visible and "hero_left" not in visible
    assert "Scene, Poster" in visible  # the job's outputs in the heading


def test_an_asset_made_from_the_merchants_cutout_says_so_and_not_the_photos_transparency(
    signed_in, product_image
):
    # given assets made with an accepted, a fixed and an uploaded cutout (the library records
    # "alpha": it was handed the cutout as the photo's transparency), and one automatic
    job = GenerationJob.objects.create(
        merchant=product_image.product.merchant,
        product=product_image.product,
        image=product_image,
        outputs=["cutout"],
        status="succeeded",
        progress=100,
    )
    made = {"accepted": "alpha", "refined": "alpha", "uploaded": "alpha", "auto": "classical"}
    for n, (source, segmenter) in enumerate(made.items()):
        Asset.objects.create(
            merchant=job.merchant, job=job, kind="cutout", name=f"cutout-{n}", format="png",
            storage_key=f"k/{n}.png", width=10, height=10, size_bytes=1, checksum="0",
            metrics={"segmenter": segmenter, "engine": "cutout", "fidelity": {"identical": True},
                     "matte": {"source": source, "trusted": True, "confidence": 0.9}},
        )  # fmt: skip

    body = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()
    captions = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r'<div class="muted fidelity".*?</div>', body)]

    # then each says whose cutout it was, and none repeats the kind after the title
    assert captions == [
        "Product pixels unchanged · Your accepted cutout",
        "Product pixels unchanged · Your fixed cutout",
        "Product pixels unchanged · Your uploaded mask",
        "Product pixels unchanged · Classical (built-in)",
    ]


def test_unknown_ids_are_still_readable():
    assert labels.theme_label("no_such_theme") == "No such theme"
    assert labels.segmenter_label("classical") == "Classical (built-in)"
    assert labels.segmenter_label("rembg:custom:mine.onnx") == "AI model (mine.onnx)"
    assert labels.output_label("packshot") == "Marketplace packshot"


def test_the_product_form_says_what_brand_name_and_colour_are_for(signed_in):
    body = signed_in.get(reverse("dashboard:product_new")).content.decode()

    assert 'placeholder="#2F5D50"' in body
    assert "campaign headlines can use it as {vendor}" in body
    assert "it tints this product&#x27;s scenes" in body


def test_the_engine_and_the_diffusion_description_show_only_where_diffusion_is_offered(
    signed_in, product_image, settings
):
    # given an install whose GPU workers offer no diffusion engine
    settings.OFFER_DIFFUSION = "no"
    url = reverse("dashboard:product", args=[product_image.product.pk])

    # when the merchant opens the new-job form
    body = signed_in.get(url).content.decode()

    # then there is no one-choice Engine menu and no description box that nothing would read;
    # the studio engine still goes with the form
    assert "Scene description" not in body and 'name="prompt"' not in body
    assert '<label for="id_engine">' not in body
    assert re.search(r'<input type="hidden" name="engine" value="studio"', body)

    # and where diffusion is offered, both are there to choose and fill in
    settings.OFFER_DIFFUSION = "yes"
    body = signed_in.get(url).content.decode()
    assert "Scene description (diffusion)" in body and 'name="prompt"' in body
    assert '<option value="diffusion">' in body


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        (Decimal("34"), "USD", "en", "$34.00"),
        (Decimal("34"), "USD", "en_GB", "US$34.00"),
        (Decimal("34"), "CNY", "zh_CN", "¥34.00"),
        ("1249.5", "cny", "zh-CN", "¥1,249.50"),  # a layout's string, a lower-case code
        (Decimal("1999"), "JPY", "ja_JP", "￥1,999"),  # no minor unit
        (Decimal("19.9"), "EUR", "de_DE", "19,90\u00a0€"),
        (Decimal("34"), "USD", "xx_NOPE", "34 USD"),  # a locale Babel does not know
        ("n/a", "USD", "en", "n/a USD"),  # not a number
    ],
)
def test_a_price_is_written_the_way_its_locale_writes_prices(amount, currency, locale, text):
    assert labels.price_label(amount, currency, locale) == text


@pytest.mark.django_db
def test_the_price_locale_is_the_brand_kits_else_the_merchants(merchant):
    assert labels.price_locale(merchant) == "en"
    BrandKit.objects.create(merchant=merchant, default_locale="ja_JP")
    assert labels.price_locale(merchant) == "ja_JP"


@pytest.mark.django_db
def test_the_variation_number_says_what_it_does(signed_in, product_image):
    # given: the new-job form and the campaign editor (their "Variation number" had no words)
    pages = [
        signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode(),
        signed_in.get(reverse("bulk:campaign_new")).content.decode(),
    ]

    # then: each says it under the field
    for page in pages:
        after = page.split('<label for="id_seed">Variation number</label>', 1)[1]
        assert (
            'id="seed-help">Another number makes another take on the same settings; the same number' in after
        )


def test_the_clip_opening_says_a_flat_lay_settles_rather_than_drops(signed_in, product_image):
    # given: the new-job form ("The product drops into place" is not what a flat-lay does)
    page = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()

    # then: the opening's help says what a product lying flat does
    after = page.split('<label for="id_clip_reveal">', 1)[1]
    assert (
        "A product lying flat settles onto its surface rather than dropping." in after.split("</div>", 1)[0]
    )


@pytest.mark.parametrize(
    ("sku", "said"),
    [
        ("TEA-青-1", "SKU may not contain “青”: use letters A-Z, digits, dots, dashes or underscores."),
        ("TEA 1", "SKU may not contain a space: use letters A-Z, digits, dots, dashes or underscores."),
        ("-TEA", "SKU may not start with “-”: start with a letter A-Z or a digit."),
    ],
)
def test_a_refused_sku_names_what_is_wrong_with_it(signed_in, sku, said):
    response = signed_in.post(
        reverse("dashboard:product_new"), {"sku": sku, "title": "Tea", "currency": "USD"}
    )  # fmt: skip

    body = response.content.decode()
    assert response.status_code == 400
    assert said in body
    # the help line is said once (under the field), not repeated as the error
    assert "starting with a letter or digit" not in body


def _finished_job(product_image) -> GenerationJob:
    """A finished job with one scene, as the worker leaves it ("Done" its last stage words)."""
    job = GenerationJob.objects.create(
        merchant=product_image.product.merchant, product=product_image.product, image=product_image,
        outputs=["scene"], status="succeeded", progress=100, progress_message="Done",
    )  # fmt: skip
    Asset.objects.create(
        merchant=job.merchant, job=job, kind="scene", name="scene-marble_counter-01", format="png",
        storage_key="k/scene.png", width=10, height=10, size_bytes=1, checksum="0", metrics={},
    )  # fmt: skip
    return job


def test_the_assets_hint_fits_a_mouse_and_a_finger(signed_in, product_image):
    job = _finished_job(product_image)

    body = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()

    # "click" is wrong on a phone, where the picture is tapped
    assert "open a picture to see it large" in body
    assert "click a picture" not in body


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        ("String should have at most 32 characters", "Too long: use at most 32 characters."),
        ("String should have at least 1 character", "Too short: use at least 1 character."),
        ("Input should be less than or equal to 8", "Use 8 or less."),
        ("Input should be greater than or equal to 5", "Use 5 or more."),
        ("List should have at most 6 items after validation, not 7", "Choose at most 6."),
        ("unknown placeholder {colour}", "unknown placeholder {colour}"),  # the project's own words stay
    ],
)
def test_the_request_models_refusals_are_said_in_the_dashboards_words(detail, shown):
    assert labels.request_problem(detail) == shown


def test_the_job_form_and_the_campaign_editor_name_the_language_default_alike(signed_in, product_image):
    # when: the new-job form (on the product's page) and the campaign editor are opened
    job_form = signed_in.get(reverse("dashboard:product", args=[product_image.product.pk])).content.decode()
    campaign = signed_in.get(reverse("bulk:campaign_new")).content.decode()

    # then: both language menus offer the same default, in the same words, with the same
    # help (the text the menu's aria-describedby names)
    def language(body: str, name: str) -> tuple[str, str]:
        select = re.search(rf'<select name="{name}"([^>]*)>(.*?)</select>', body, re.S)
        default = re.search(r'<option value=""[^>]*>([^<]*)</option>', select.group(2)).group(1)
        described = re.search(r'aria-describedby="([^"]+)"', select.group(1)).group(1)
        help_text = re.search(rf'<div class="muted" id="{described}">([^<]*)</div>', body).group(1)
        return default, help_text

    job_default, job_help = language(job_form, "language")
    campaign_default, campaign_help = language(campaign, "brand_locale")
    assert job_default == campaign_default == "Your brand kit&#x27;s"
    assert job_help == campaign_help
    assert job_help.startswith("How prices and discounts are written: ¥89 and 6.9折 in Chinese")
    # the campaign's font menus beside it name their default the same way
    for name in ("brand_heading_family", "brand_body_family"):
        menu = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', campaign, re.S).group(1)
        assert '<option value="" selected>Your brand kit&#x27;s</option>' in menu, menu[:200]
