"""Poster and clip outputs through the service: defaults from the product and the brand
kit, one asset per poster plus its layout JSON, clips as MP4 with their frame."""

from __future__ import annotations

import io
import json

import av
import pytest
from django.urls import reverse
from PIL import Image

from generation.posters.template import list_templates
from generation.request import InvalidRequest
from shop_assets.accounts.models import BrandKit
from shop_assets.catalog.services import store_logo
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob
from shop_assets.jobs.storage import read_bytes
from shop_assets.jobs.tasks import run_job_task
from tests.conftest import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)


@pytest.fixture
def brand_kit(merchant):
    logo = Image.new("RGBA", (240, 80), (0, 0, 0, 0))
    logo.paste((180, 40, 40, 255), (10, 10, 230, 70))
    return BrandKit.objects.create(
        merchant=merchant,
        primary_color="#7a2e3a",
        default_cta="立即购买",
        default_locale="zh_CN",
        heading_font="playfair",
        logo_key=store_logo(merchant.pk, png_bytes(logo)),
    )


def test_posters_take_words_from_the_product_and_style_from_the_brand_kit(product_image, brand_kit):
    product = product_image.product
    product.compare_at_price = "14.90"
    product.save()

    job = job_requests.create_job(
        product,
        product_image,
        ["poster"],
        {"poster": {"templates": ["hero_left", "price_tag"], "sizes": ["feed", "story"]}},
    )
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    job.refresh_from_db()
    assert job.parameters["poster"]["headlines"] == ["Hand wash"]
    assert job.parameters["brand"]["primary"] == "#7a2e3a"
    posters = job.assets.filter(kind="poster", format="png")
    assert sorted(posters.values_list("name", flat=True)) == [
        "poster-hero_left-feed",
        "poster-hero_left-story",
        "poster-price_tag-feed",
        "poster-price_tag-story",
    ]
    story = posters.get(name="poster-hero_left-story")
    assert (story.width, story.height) == (1080, 1920)
    assert story.metrics["fidelity"]["identical"] is True and story.metrics["checks"]["ok"] is True
    layout = json.loads(read_bytes(job.assets.get(name="poster-hero_left-story-layout").storage_key))
    assert layout["words"]["cta"] == "立即购买"
    assert layout["words"]["price"] == "US$9.90"  # USD written the way zh_CN (the kit's locale) writes it
    assert layout["spec"]["brand"]["primary"] == "#7a2e3a" and layout["spec"]["brand"]["logo"]
    assert layout["families"]["heading"] == "playfair"


def test_bad_poster_template_is_refused_when_the_job_is_made(product_image):
    with pytest.raises(InvalidRequest, match="fancy"):
        job_requests.create_job(
            product_image.product, product_image, ["poster"], {"poster": {"templates": ["fancy"]}}
        )
    assert not GenerationJob.objects.exists()


def test_too_many_posters_are_refused(product_image):
    with pytest.raises(InvalidRequest, match="at most 60"):
        job_requests.create_job(
            product_image.product,
            product_image,
            ["poster"],
            {
                "poster": {
                    "templates": list_templates()[:7],
                    "sizes": ["feed", "story", "portrait"],
                    "headlines": ["a", "b", "c"],
                }
            },
        )
    assert not GenerationJob.objects.exists()


def test_clip_job_stores_an_mp4_and_its_frame(signed_in, product_image):
    job = job_requests.create_job(
        product_image.product,
        product_image,
        ["clip"],
        {"clip": {"preset": "story", "duration": 5, "style": "pan", "size": [270, 480]}},
    )
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    clip = job.assets.get(kind="clip", format="mp4")
    frame = job.assets.get(kind="clip", format="jpg")
    with av.open(io.BytesIO(read_bytes(clip.storage_key))) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
    assert (stream.codec_context.name, stream.width, stream.height, frames) == ("h264", 270, 480, 150)
    assert clip.metrics["duration"] == 5.0 and clip.metrics["fps"] == 30
    assert clip.metrics["fidelity"]["identical"] is True
    # the matte the clip was made from, recorded with the clip and its frame
    assert clip.metrics["matte"]["trusted"] is True and frame.metrics["matte"] == clip.metrics["matte"]
    assert frame.name == f"{clip.name}-frame"
    page = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()
    assert "<video" in page and reverse("dashboard:asset_thumbnail", args=[frame.pk, 960]) in page


def test_diffusion_motion_clips_go_to_the_gpu_queue(product_image, diffusion_installed):
    job = job_requests.create_job(
        product_image.product, product_image, ["clip"], {"clip": {"motion": "diffusion"}}
    )
    assert job.queue == "gpu"


def test_diffusion_motion_is_refused_where_no_video_model_is_installed(product_image):
    with pytest.raises(InvalidRequest) as refused:
        job_requests.create_job(
            product_image.product, product_image, ["clip"], {"clip": {"motion": "diffusion"}}
        )

    assert refused.value.field == "clip.motion"
    assert not GenerationJob.objects.exists()


def test_a_chinese_product_without_a_call_to_action_of_its_own_gets_one_in_chinese(product_image):
    # given: a merchant with no brand kit (or a kit keeping the stock "Shop now") and a product
    # whose title is Chinese; the poster's button and the clip's end card said "Shop now"
    product = product_image.product
    product.title = "双层真空保温杯"
    product.currency = "CNY"
    product.save()

    job = job_requests.create_job(
        product,
        product_image,
        ["poster", "clip"],
        {
            "poster": {"templates": ["hero_left"], "sizes": ["feed"]},
            "clip": {"preset": "story", "duration": 5, "style": "pan", "size": [270, 480]},
        },
    )
    assert job.parameters["clip"]["cta"] == "立即购买"
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"
    layout = json.loads(read_bytes(job.assets.get(name="poster-hero_left-feed-layout").storage_key))
    assert layout["words"]["cta"] == "立即购买"  # the template's own Chinese button

    # and: English words keep "Shop now", a kit's own words are used whatever the language
    product.title = "Vacuum flask"
    product.save()
    english = job_requests.create_job(product, product_image, ["poster", "clip"], {})
    assert (english.parameters["poster"]["cta"], english.parameters["clip"]["cta"]) == (
        "Shop now",
        "Shop now",
    )
    BrandKit.objects.create(merchant=product.merchant, default_cta="Order today")
    product.title = "双层真空保温杯"
    product.save()
    own = job_requests.create_job(product, product_image, ["poster", "clip"], {})
    assert (own.parameters["poster"]["cta"], own.parameters["clip"]["cta"]) == ("Order today", "Order today")
