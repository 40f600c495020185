"""Issue 9, items 1 and 2, as the attacks that found them: a job request naming another
merchant's file, and payloads that reached the worker or the database. Each is now a 400
``invalid_request`` naming the field, with no job row; accepted requests are stored
normalized with their version and run in the worker."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.urls import reverse
from PIL import Image

from generation.request import REQUEST_VERSION, InvalidRequest
from shop_assets.accounts.models import ApiKey, BrandKit
from shop_assets.catalog.services import store_logo
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.jobs.storage import read_bytes
from shop_assets.jobs.tasks import run_job_task
from tests.conftest import png_bytes, stored_files


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


@pytest.fixture
def their_logo_key(other_merchant):
    """Merchant B's brand kit logo: a file in storage that merchant A must never reach."""
    logo = Image.new("RGBA", (120, 40), (200, 0, 0, 255))
    key = store_logo(other_merchant.pk, png_bytes(logo))
    BrandKit.objects.create(merchant=other_merchant, logo_key=key)
    return key


def post_job(api, body: dict | str):
    data = body if isinstance(body, str) else json.dumps(body)
    return api.post("/api/v1/jobs", data, content_type="application/json")


def test_a_request_naming_another_merchants_logo_is_refused(api, product_image, their_logo_key):
    response = post_job(
        api,
        {
            "product_id": product_image.product_id,
            "outputs": ["poster"],
            "parameters": {"brand": {"logo_key": their_logo_key}},
        },
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["field"] == "parameters.brand.logo_key"
    assert their_logo_key not in response.content.decode()
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_stored_legacy_logo_key_is_ignored_and_the_worker_uses_the_merchants_own_kit(
    product_image, their_logo_key
):
    # given a row saved before requests had a version, carrying another merchant's logo key
    job = GenerationJob.objects.create(
        merchant_id=product_image.product.merchant_id,
        product=product_image.product,
        image=product_image,
        outputs=["poster"],
        parameters={
            "poster": {"sizes": ["feed"]},
            "brand": {"primary": "#2f5d50", "logo_key": their_logo_key},
        },
    )

    # when
    outcome = run_job_task.apply(args=[job.pk]).get()

    # then: it runs with the merchant's own kit, which has no logo
    assert outcome == "succeeded"
    layout = json.loads(read_bytes(job.assets.get(format="json").storage_key))
    assert layout["spec"]["brand"]["logo"] is None


@pytest.mark.django_db(transaction=True)
def test_the_worker_draws_the_merchants_own_logo(product_image, merchant):
    own = Image.new("RGBA", (120, 40), (0, 0, 200, 255))
    BrandKit.objects.create(merchant=merchant, logo_key=store_logo(merchant.pk, png_bytes(own)))
    job = job_requests.create_job(
        product_image.product, product_image, ["poster"], {"poster": {"sizes": ["feed"]}}
    )

    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    layout = json.loads(read_bytes(job.assets.get(format="json").storage_key))
    assert layout["spec"]["brand"]["logo"].startswith("data:image/png;base64,")


BAD_PARAMETERS = [
    ({"poster": [1]}, ["poster"], "parameters.poster"),
    ({"clip": "x"}, ["clip"], "parameters.clip"),
    ({"brand": [1]}, ["poster"], "parameters.brand"),
    ({"packshot": {"shadow": "no"}}, ["packshot"], "parameters.packshot.shadow"),
    ({"poster": {"sizes": [-5]}}, ["poster"], "parameters.poster.sizes[0]"),
    ({"poster": {"sizes": [[1080, "x"]]}}, ["poster"], "parameters.poster.sizes[0]"),
    ({"poster": {"theme": "fancy"}}, ["poster"], "parameters.poster.theme"),
    ({"clip": {"themes": ["fancy"]}}, ["clip"], "parameters.clip.themes[0]"),
    ({"scene": {"count": 1.5}}, ["scene"], "parameters.scene.count"),
    ({"scene": {"width": "1600"}}, ["scene"], "parameters.scene.width"),
    ({"clip": {"motion": "diffusion"}}, ["clip"], "parameters.clip.motion"),
    ({"scene": {"prompt": "x" * 5_000_000}}, ["scene"], "parameters.scene.prompt"),
    ({"junk": "y" * 9_000_000}, ["packshot"], "parameters.junk"),
    ({"version": 2}, ["packshot"], "parameters.version"),
    (
        {
            "poster": {
                "templates": ["hero_left", "bold_sale"],
                "sizes": ["4096x4096", "4096x4000", "4000x4096"],
                "headlines": [f"headline {i}" for i in range(10)],
            }
        },
        ["poster"],
        "parameters.poster",
    ),
    ({"clip": {"size": [3840, 2160], "duration": 15}}, ["clip"], "parameters.clip"),
]


@pytest.mark.parametrize(("parameters", "outputs", "field"), BAD_PARAMETERS)
def test_each_bad_payload_is_a_400_naming_the_field_and_stores_nothing(
    api, product_image, parameters, outputs, field
):
    before = stored_files()

    response = post_job(
        api, {"product_id": product_image.product_id, "outputs": outputs, "parameters": parameters}
    )

    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid_request" and body["field"] == field
    assert body["detail"].startswith(f"{field}:")
    assert len(response.content) < 2000
    assert not GenerationJob.objects.exists() and stored_files() == before


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"product_id": %d, "outputs": ["packshot"], "parameters": {"packshot": {"fill": NaN}}}', None),
        ('{"product_id": NaN, "outputs": ["packshot"]}', "product_id"),
        ('{"product_id": %d, "outputs": ["hologram"]}', "outputs[0]"),
        ('{"product_id": %d, "outputs": "packshot"}', "outputs"),
        ('{"product_id": %d, "outputs": ["packshot"], "parameters": [1]}', "parameters"),
        ("[1]", None),
    ],
)
def test_malformed_bodies_are_400_not_500(api, product_image, raw, field):
    body = raw % product_image.product_id if "%d" in raw else raw

    response = post_job(api, body)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "invalid_request"
    if field:
        assert response.json()["field"] == field
    if "NaN}" in body:
        assert response.json()["field"] == "parameters.packshot.fill"
    assert not GenerationJob.objects.exists()


def test_the_job_row_keeps_the_normalized_request_with_its_version(api, product_image):
    response = post_job(
        api,
        {
            "product_id": product_image.product_id,
            "outputs": ["poster", "packshot", "poster"],
            "parameters": {"poster": {"sizes": [[1080, 1350], "Story"], "price": 19.9}},
        },
    )

    assert response.status_code == 202, response.content
    job = GenerationJob.objects.get()
    assert job.outputs == ["poster", "packshot"]
    assert job.parameters["version"] == REQUEST_VERSION
    assert job.parameters["packshot"] == {"size": 2000, "fill": 0.85, "shadow": True}
    assert job.parameters["poster"]["sizes"] == ["1080x1350", "story"]
    assert job.parameters["poster"]["price"] == "19.9"  # the client's price over the product's
    assert job.parameters["poster"]["headlines"] == [product_image.product.title]
    assert "logo_key" not in job.parameters["brand"]
    assert response.json()["parameters"] == job.parameters


def test_chinese_words_on_a_kit_without_a_language_are_priced_in_chinese(merchant, product_image):
    # given a brand kit left on its automatic language and a product priced in yuan
    BrandKit.objects.create(merchant=merchant)
    product = product_image.product
    product.price, product.compare_at_price, product.currency = "89", "129", "CNY"
    product.save()
    # when a poster with Chinese words is asked for (no locale in the request)
    request = job_requests.build_request(product, ["poster"], {"poster": {"headline": "夏日清凉 保温杯"}})
    # then nothing names a locale, and the poster's words are priced the Chinese way
    assert request.brand.locale is None and request.poster.locale is None
    (spec,) = request.poster_specs()
    assert spec.effective_locale == "zh_CN"
    # while a kit with a chosen language keeps it
    BrandKit.objects.filter(merchant=merchant).update(default_locale="en_US")
    request = job_requests.build_request(product, ["poster"], {"poster": {"headline": "夏日清凉 保温杯"}})
    assert request.poster_specs()[0].effective_locale == "en_US"


@pytest.mark.django_db(transaction=True)
def test_an_accepted_request_runs_in_the_worker(api, product_image):
    response = post_job(
        api,
        {
            "product_id": product_image.product_id,
            "outputs": ["cutout", "packshot"],
            "parameters": {"format": "jpg", "packshot": {"size": 1600, "shadow": False}},
        },
    )
    job_id = response.json()["id"]

    assert run_job_task.apply(args=[job_id]).get() == "succeeded"

    job = GenerationJob.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED
    packshot = job.assets.get(kind="packshot")
    assert (packshot.format, packshot.width, packshot.height) == ("jpg", 1600, 1600)
    with Image.open(io.BytesIO(read_bytes(packshot.storage_key))) as im:
        assert im.format == "JPEG"
    assert job.assets.get(kind="cutout").format == "png"


CLIP_FORM = {
    "outputs": ["clip"],
    "segmenter": "auto",
    "scene_count": 1,
    "engine": "studio",
    "seed": 0,
    "format": "png",
    "theme": "studio_sweep",
    "clip_preset": "story",
    "clip_style": "push_in",
    "clip_duration": 8,
}


def test_the_dashboard_form_is_checked_by_the_same_model(signed_in, product_image):
    response = signed_in.post(
        reverse("dashboard:job_start", args=[product_image.product_id]),
        {**CLIP_FORM, "image": product_image.pk, "cta": "x" * 40},  # fits a poster's button, not a clip's
    )

    assert response.status_code == 400
    # in the dashboard's words (it read "String should have at most 32 characters")
    page = re.sub(r"<[^>]+>", "", response.content.decode())
    assert "Call to action: Too long: use at most 32 characters." in page and "String should" not in page
    assert not GenerationJob.objects.exists()


def test_the_dashboard_form_names_the_language_of_the_words(signed_in, product_image, monkeypatch):
    # given the new-job form asking for posters and a clip, jobs not sent to a worker
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    url = reverse("dashboard:job_start", args=[product_image.product_id])
    form = {**CLIP_FORM, "image": product_image.pk, "outputs": ["poster", "clip"]}
    form.update(poster_templates=["hero_left"], poster_sizes=["feed"])
    assert (
        'name="language"'
        in signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()
    )
    # when it is sent with Traditional Chinese, then with the brand kit's (automatic) choice
    first = signed_in.post(url, {**form, "language": "zh_TW"})
    second = signed_in.post(url, {**form, "language": ""})
    # then the first job's posters and clip are written in it, and the second names none
    assert first.status_code == 302 and second.status_code == 302, first.content.decode()[:2000]
    named, automatic = GenerationJob.objects.order_by("pk")
    assert named.parameters["poster"]["locale"] == "zh_TW" and named.parameters["clip"]["locale"] == "zh_TW"
    assert automatic.parameters["poster"].get("locale") is None
    assert automatic.parameters["clip"]["locale"] == "en_US"  # a clip's own default


def test_the_dashboard_form_asks_how_the_clip_opens(signed_in, product_image):
    # given the new-job form
    url = reverse("dashboard:job_start", args=[product_image.product_id])
    page = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()
    assert 'name="clip_reveal"' in page and "The scene fades in around the product" in page

    # when a clip is started with the fade, then with a value the form does not offer
    started = signed_in.post(url, {**CLIP_FORM, "image": product_image.pk, "clip_reveal": "fade"})
    refused = signed_in.post(url, {**CLIP_FORM, "image": product_image.pk, "clip_reveal": "spin"})

    # then the job asks for the fade; the other is refused on its field, and no job is made
    assert started.status_code == 302
    assert GenerationJob.objects.get().parameters["clip"]["reveal"] == "fade"
    assert refused.status_code == 400 and GenerationJob.objects.count() == 1
    # (as read: the field's name in the list of what to change is a link to it)
    assert "Opening: Select a valid choice" in re.sub(r"<[^>]+>", "", refused.content.decode())


def test_the_dashboard_form_asks_how_the_product_is_shown(signed_in, product_image):
    # given the new-job form: the view is offered in the merchant's words
    url = reverse("dashboard:job_start", args=[product_image.product_id])
    page = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()
    assert 'name="view"' in page and "How the product is shown" in page
    assert re.search(r'<option value="auto" selected>Automatic</option>', page)
    assert "Lying flat, seen from above" in page and "Standing on a surface" in page

    # when scenes, posters and a clip are started lying flat, then with a value the form
    # does not offer
    form = {**CLIP_FORM, "outputs": ["scene", "poster", "clip"], "image": product_image.pk}
    started = signed_in.post(url, {**form, "view": "flat"})
    refused = signed_in.post(url, {**form, "view": "sideways"})

    # then every output of the job lays it flat; the other is refused on its field, no job made
    assert started.status_code == 302, started.content.decode()[:2000]
    p = GenerationJob.objects.get().parameters
    assert p["scene"]["view"] == p["poster"]["view"] == p["clip"]["view"] == "flat"
    assert refused.status_code == 400 and GenerationJob.objects.count() == 1
    assert "How the product is shown: Select a valid choice" in re.sub(
        r"<[^>]+>", "", refused.content.decode()
    )
    # and another run of the job starts from the same choice
    again = signed_in.get(reverse("dashboard:job_again", args=[GenerationJob.objects.get().pk]))
    assert again.status_code == 200
    assert re.search(
        r'<option value="flat" selected>Lying flat, seen from above</option>', again.content.decode()
    )


def test_an_unknown_clip_reveal_is_refused_at_the_door(api, product_image):
    response = post_job(
        api,
        {
            "product_id": product_image.product_id,
            "outputs": ["clip"],
            "parameters": {"clip": {"reveal": "spin"}},
        },
    )

    assert response.status_code == 400
    assert response.json()["field"] == "parameters.clip.reveal"
    assert "'drop_in', 'fade' or 'none'" in response.json()["detail"]
    assert not GenerationJob.objects.exists()


def test_the_dashboard_offers_diffusion_only_where_it_is_installed(signed_in, product_image):
    page = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()

    assert '<input type="hidden" name="engine" value="studio"' in page  # nothing else to choose
    assert '<option value="diffusion"' not in page


def test_the_dashboard_offers_diffusion_once_installed(signed_in, product_image, diffusion_installed):
    page = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()

    assert '<option value="diffusion"' in page


def test_the_api_docs_show_the_real_options(api):
    schema = api.get("/api/v1/openapi.json").json()
    defs = schema["components"]["schemas"]

    job_in = defs["JobIn"]["properties"]
    assert job_in["outputs"]["items"]["enum"] == ["cutout", "packshot", "scene", "poster", "clip"]
    assert "marble_counter" in defs["SceneOptions"]["properties"]["theme"]["enum"]
    assert "hero_left" in defs["PosterOptions"]["properties"]["templates"]["items"]["enum"]
    assert defs["ClipOptions"]["properties"]["reveal"]["enum"] == ["drop_in", "fade", "none"]
    assert defs["ClipOptions"]["properties"]["reveal"]["default"] == "drop_in"
    assert defs["BrandOptions"]["additionalProperties"] is False
    assert "logo_key" not in defs["BrandOptions"]["properties"]


def test_web_nodes_can_offer_the_gpu_workers_diffusion(product_image, settings):
    # given a web node without the models, told the GPU workers have them
    settings.OFFER_DIFFUSION = "yes"

    job = job_requests.create_job(
        product_image.product, product_image, ["scene"], {"scene": {"engine": "diffusion"}}
    )

    assert (job.queue, job.parameters["scene"]["engine"]) == ("gpu", "diffusion")


def test_diffusion_can_be_switched_off_where_its_models_are_installed(
    product_image, settings, diffusion_installed
):
    settings.OFFER_DIFFUSION = "no"

    with pytest.raises(InvalidRequest) as refused:
        job_requests.create_job(
            product_image.product, product_image, ["clip"], {"clip": {"motion": "diffusion"}}
        )

    assert refused.value.field == "clip.motion"
    assert not GenerationJob.objects.exists()


def test_a_sequence_clip_never_comes_back_to_the_same_set(signed_in, product_image, monkeypatch):
    # given the new-job form asking for a sequence clip, jobs not sent to a worker
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    url = reverse("dashboard:job_start", args=[product_image.product_id])
    form = {**CLIP_FORM, "image": product_image.pk, "clip_style": "sequence"}

    # when it opens on the plain sweep, then on the marble counter (one of the stock follow-ups)
    for theme in ("studio_sweep", "marble_counter"):
        assert signed_in.post(url, {**form, "theme": theme}).status_code == 302

    # then each cuts to three different sets, opening on the merchant's own
    sweep, marble = (job.parameters["clip"]["themes"] for job in GenerationJob.objects.order_by("pk"))
    assert sweep == ["studio_sweep", "soft_window_light", "marble_counter"]
    assert marble[0] == "marble_counter" and len(set(marble)) == 3, marble
