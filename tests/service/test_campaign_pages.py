"""Dashboard pages of campaigns: list, editor, live preview; a campaign chosen at the
upload and at the confirmation of a batch; another merchant's ids answer 404."""

from __future__ import annotations

import base64
import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from shop_assets.accounts.models import BrandKit
from shop_assets.bulk import campaigns
from shop_assets.bulk.models import Batch, BatchStatus, Campaign
from shop_assets.jobs.models import GenerationJob
from tests.bulk_files import simple_csv

FORM = {
    "name": "Summer sale",
    "outputs": ["packshot", "poster"],
    "headline": "{title} - {discount} off",
    "format": "png",
    "seed": "3",
    "packshot_size": "1600",
    "packshot_shadow": "on",
    "theme": "studio_sweep",
    "scene_count": "1",
    "engine": "studio",
    "poster_templates": ["hero_left", "bold_sale"],
    "poster_sizes": ["feed", "story"],
    "poster_background": "",
    "subline": "Linen, washed soft",
    "cta": "",
    "ribbon": "",
    "badge": "",
    "clip_preset": "story",
    "clip_style": "push_in",
    "clip_duration": "8",
    "brand_primary": "#aa3300",
    "brand_text": "",
    "brand_heading_family": "playfair",
    "brand_body_family": "",
    "brand_locale": "",
}


@pytest.fixture
def saved(merchant) -> Campaign:
    return campaigns.save_campaign(
        merchant,
        name="Plain",
        outputs=["packshot"],
        parameters={"packshot": {"size": 1600}},
        headline="{sku}",
    )


@pytest.mark.django_db
def test_the_editor_saves_what_was_chosen(signed_in, merchant):
    response = signed_in.post(reverse("bulk:campaign_new"), FORM)

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "bulk:campaign", args=[campaign.pk]
    )
    assert campaign.merchant == merchant and campaign.headline == "{title} - {discount} off"
    assert campaign.request == {
        "outputs": ["packshot", "poster"],
        "format": "png",
        "packshot": {"size": 1600, "shadow": True},
        "poster": {
            "templates": ["hero_left", "bold_sale"],
            "sizes": ["feed", "story"],
            "seed": 3,
            "subline": "Linen, washed soft",
        },
        "brand": {"primary": "#aa3300", "heading_family": "playfair"},
    }
    # the editor shows it again as saved, choices with their human labels
    page = signed_in.get(response["Location"]).content.decode()
    assert 'value="Summer sale"' in page and 'value="{title} - {discount} off"' in page
    assert re.search(r'<option value="playfair" selected>Playfair Display</option>', page)
    assert re.search(r'value="bold_sale"[^>]*checked', page)
    assert "Story / Reels / TikTok / Douyin 9:16" in page


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"headline": "{title} {colour}"}, "unknown placeholder {colour}"),
        ({"brand_primary": "red"}, "Primary colour: Use a colour like #2f5d50."),
        ({"outputs": ["clip"], "cta": "x" * 40}, "Call to action: Too long: use at most 32 characters."),
        ({"poster_templates": ["nope"]}, "Select a valid choice. nope is not one of the available choices."),
    ],
)
@pytest.mark.django_db
def test_a_refused_campaign_shows_why_and_saves_nothing(signed_in, change, shown):
    response = signed_in.post(reverse("bulk:campaign_new"), {**FORM, **change})

    assert response.status_code == 400
    # the words as read (each field in the list at the form's top is a link to it)
    assert shown in re.sub(r"<[^>]+>", "", response.content.decode()).replace("&#x27;", "'")
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_editing_and_deleting(signed_in, saved):
    response = signed_in.post(reverse("bulk:campaign", args=[saved.pk]), {**FORM, "name": "Renamed"})
    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.name == "Renamed" and saved.request["outputs"] == ["packshot", "poster"]

    listed = signed_in.get(reverse("bulk:campaigns")).content.decode()
    assert "Renamed" in listed and "Marketplace packshot, Poster" in listed

    assert signed_in.post(reverse("bulk:campaign_delete", args=[saved.pk])).status_code == 302
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_another_merchants_campaign_answers_404(signed_in, other_merchant):
    theirs = campaigns.save_campaign(other_merchant, name="Theirs", outputs=["packshot"], parameters={})

    assert signed_in.get(reverse("bulk:campaign", args=[theirs.pk])).status_code == 404
    assert signed_in.post(reverse("bulk:campaign", args=[theirs.pk]), FORM).status_code == 404
    assert signed_in.post(reverse("bulk:campaign_delete", args=[theirs.pk])).status_code == 404
    assert "Theirs" not in signed_in.get(reverse("bulk:campaigns")).content.decode()
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def _previews(html: str) -> list[tuple[str, Image.Image]]:
    found = re.findall(r'data-kind="(\w+)"><img src="data:image/jpeg;base64,([^"]+)"', html)
    return [(kind, Image.open(io.BytesIO(base64.b64decode(data)))) for kind, data in found]


@pytest.mark.django_db
def test_the_live_preview_renders_the_look_on_a_product(signed_in, product_image):
    product = product_image.product
    product.compare_at_price = "12.00"
    product.save()

    response = signed_in.post(
        reverse("bulk:campaign_preview"), {**FORM, "preview_product": str(product.pk)}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert response.status_code == 200, html
    images = _previews(html)
    assert [kind for kind, _ in images] == ["packshot", "poster"], html
    packshot, poster = images[0][1], images[1][1]
    assert packshot.size == (480, 480)
    assert poster.size == (480, 480)  # the first size (feed, 1:1) at preview size
    # the headline rule filled from the product: 9.90 against 12.00 is 17 % off
    assert '<strong id="preview-headline">Hand wash - 17% off</strong>' in html
    assert "The first of 4 posters" in html
    seconds = float(re.search(r"rendered in ([\d.]+) s", html).group(1))
    assert seconds > 0


@pytest.mark.django_db
def test_the_preview_refuses_other_shops_products_and_bad_choices(
    signed_in, other_product_image, product_image
):
    theirs = signed_in.post(
        reverse("bulk:campaign_preview"), {**FORM, "preview_product": str(other_product_image.product_id)}
    ).content.decode()
    assert "Choose a product with a photo" in theirs and "data:image" not in theirs

    bad = signed_in.post(
        reverse("bulk:campaign_preview"),
        {**FORM, "headline": "{nope}", "preview_product": str(product_image.product_id)},
    ).content.decode()
    assert "headline: unknown placeholder {nope}" in bad and "data:image" not in bad

    # a colour that is not #rrggbb is named in the brand kit's words, not the request model's
    colour = signed_in.post(
        reverse("bulk:campaign_preview"),
        {**FORM, "brand_text": "navy", "preview_product": str(product_image.product_id)},
    ).content.decode()
    assert "Text colour: Use a colour like #2f5d50." in colour and "pattern" not in colour


@pytest.mark.django_db
def test_a_campaign_chosen_at_upload_and_at_confirmation(
    signed_in, merchant, saved, django_capture_on_commit_callbacks
):
    other = campaigns.save_campaign(merchant, name="Other", outputs=["cutout"], parameters={})
    upload = io.BytesIO(simple_csv([{"sku": "A-1", "title": "A"}]))
    upload.name = "p.csv"

    response = signed_in.post(reverse("bulk:upload"), {"catalogue": upload, "campaign": str(saved.pk)})

    batch = Batch.objects.get()
    assert response.status_code == 302 and batch.campaign == saved and batch.request is None
    page = signed_in.get(reverse("bulk:batch", args=[batch.pk])).content.decode()
    assert re.search(rf'<option value="{saved.pk}" selected>Plain</option>', page)

    # the merchant picks another campaign before confirming: that one is frozen into the batch
    with django_capture_on_commit_callbacks():
        signed_in.post(reverse("bulk:confirm", args=[batch.pk]), {"campaign": str(other.pk)})
    batch.refresh_from_db()
    assert (batch.status, batch.campaign, batch.request) == (
        BatchStatus.IMPORTING,
        other,
        {"outputs": ["cutout"]},
    )
    page = signed_in.get(reverse("bulk:batch", args=[batch.pk])).content.decode()
    assert 'id="batch-campaign"' in page and "Other</a></strong> · one job per product: Cutout" in page


@pytest.mark.django_db
def test_confirming_with_another_shops_campaign_is_refused(signed_in, merchant, other_merchant):
    theirs = campaigns.save_campaign(other_merchant, name="Theirs", outputs=["packshot"], parameters={})
    upload = io.BytesIO(simple_csv([{"sku": "A-1", "title": "A"}]))
    upload.name = "p.csv"
    signed_in.post(reverse("bulk:upload"), {"catalogue": upload})
    batch = Batch.objects.get()

    signed_in.post(reverse("bulk:confirm", args=[batch.pk]), {"campaign": str(theirs.pk)})

    batch.refresh_from_db()
    assert (batch.status, batch.campaign, batch.request) == (BatchStatus.PREVIEW, None, None)


@pytest.mark.django_db
def test_a_campaign_applied_from_the_product_page(signed_in, saved, product_image, other_merchant, settings):
    product = product_image.product
    picker = signed_in.get(reverse("bulk:campaign_apply", args=[product.pk]), HTTP_HX_REQUEST="true")
    assert f'<option value="{saved.pk}">Plain</option>' in picker.content.decode()
    assert (
        'id="campaign-apply"'
        in signed_in.get(reverse("dashboard:product", args=[product.pk])).content.decode()
    )

    response = signed_in.post(reverse("bulk:campaign_apply", args=[product.pk]), {"campaign": str(saved.pk)})

    job = GenerationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:job", args=[job.pk])
    assert (job.product, job.image, job.outputs, job.parameters["packshot"]["size"]) == (
        product,
        product_image,
        ["packshot"],
        1600,
    )

    # the quota holds here too; another shop's campaign or a bad id is not found
    settings.MAX_QUEUED_JOBS = 1
    full = signed_in.post(
        reverse("bulk:campaign_apply", args=[product.pk]), {"campaign": str(saved.pk)}, follow=True
    )
    assert "the limit is 1" in full.content.decode()
    theirs = campaigns.save_campaign(other_merchant, name="Theirs", outputs=["packshot"], parameters={})
    for value in (str(theirs.pk), "x"):
        refused = signed_in.post(reverse("bulk:campaign_apply", args=[product.pk]), {"campaign": value})
        assert refused.status_code == 404
    assert GenerationJob.objects.count() == 1


@pytest.mark.django_db
def test_applying_to_another_shops_product_answers_404(signed_in, saved, other_product_image):
    url = reverse("bulk:campaign_apply", args=[other_product_image.product_id])

    assert signed_in.get(url).status_code == 404
    assert signed_in.post(url, {"campaign": str(saved.pk)}).status_code == 404
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db
def test_a_campaign_with_clips_keeps_their_opening(signed_in):
    # given a campaign whose clips open with the fade, and one that leaves the opening unset
    form = {**FORM, "outputs": ["clip"], "clip_style": "parallax", "clip_reveal": "fade"}
    response = signed_in.post(reverse("bulk:campaign_new"), form)
    unset = {**FORM, "name": "Plain clips", "outputs": ["clip"]}
    signed_in.post(reverse("bulk:campaign_new"), unset)

    # then the request carries the opening chosen (the drop-in when none was)
    fade = Campaign.objects.get(name="Summer sale")
    assert fade.request["clip"]["reveal"] == "fade" and fade.request["clip"]["style"] == "parallax"
    assert Campaign.objects.get(name="Plain clips").request["clip"]["reveal"] == "drop_in"
    # and the editor shows it again, in the merchant's words
    page = signed_in.get(response["Location"]).content.decode()
    assert re.search(r'<option value="fade" selected>The scene fades in around the product</option>', page)
    assert "Clip opening" in page


@pytest.mark.django_db
def test_a_campaign_keeps_how_the_product_is_shown(signed_in):
    # given a campaign of scenes, posters and clips that lays the product flat
    form = {**FORM, "outputs": ["scene", "poster", "clip"], "view": "flat"}
    response = signed_in.post(reverse("bulk:campaign_new"), form)

    # then every output of its request lays it flat
    r = Campaign.objects.get(name="Summer sale").request
    assert r["scene"]["view"] == r["poster"]["view"] == r["clip"]["view"] == "flat"
    # and the editor shows it again, in the merchant's words
    page = signed_in.get(response["Location"]).content.decode()
    assert re.search(r'<option value="flat" selected>Lying flat, seen from above</option>', page)
    assert "How the product is shown" in page


@pytest.mark.django_db
def test_a_campaign_refuses_an_unknown_clip_opening(signed_in):
    response = signed_in.post(
        reverse("bulk:campaign_new"), {**FORM, "outputs": ["clip"], "clip_reveal": "spin"}
    )
    assert response.status_code == 400 and not Campaign.objects.exists()
    assert "spin is not one of the available choices" in response.content.decode()


def test_the_brand_language_is_a_menu_and_the_colours_say_their_format(signed_in, merchant):
    # when: the merchant opens the editor (Language was an empty box that wanted "zh_CN", and
    # the colours' "#rrggbb" was never shown)
    body = signed_in.get(reverse("bulk:campaign_new")).content.decode()

    # then: Language is a menu of the brand kit's languages, blank first
    menu = body.split('<select name="brand_locale"', 1)[1].split("</select>", 1)[0]
    assert '<option value="" selected>Your brand kit&#x27;s</option>' in menu
    assert '<option value="zh_CN">中文（简体）</option>' in menu
    assert "Colours as #rrggbb, such as #2F5D50." in body

    # and: a language chosen there is saved as its code
    signed_in.post(reverse("bulk:campaign_new"), {**FORM, "name": "Chinese", "brand_locale": "zh_CN"})
    assert Campaign.objects.get(name="Chinese").request["brand"]["locale"] == "zh_CN"


@pytest.mark.django_db
def test_blank_brand_boxes_show_the_brand_kits_values(signed_in, merchant):
    # given: a shop with no brand kit yet; then the boxes stand empty, nothing to show
    blank = signed_in.get(reverse("bulk:campaign_new")).content.decode()
    assert not re.search(r'id="id_brand_primary"[^>]*placeholder', blank)

    # given: the shop's brand kit
    BrandKit.objects.create(
        merchant=merchant, primary_color="#aa3300", text_color="#112233", default_cta="Buy now"
    )

    page = signed_in.get(reverse("bulk:campaign_new")).content.decode()

    # then: what a blank box gives is greyed in it, the kit's own values (the boxes stood empty)
    for field, value in (("brand_primary", "#aa3300"), ("brand_text", "#112233"), ("cta", "Buy now")):
        tag = re.search(rf'<input [^>]*id="id_{field}"[^>]*>', page)
        assert tag and f'placeholder="{value}"' in tag.group(0) and "value=" not in tag.group(0), (field, tag)
