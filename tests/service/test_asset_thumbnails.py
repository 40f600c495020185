"""A job page's pictures at the server's widths: made once per asset and width from the
stored file, stored beside it (so they go with the job, the photo or the product), served
like any stored file; another width, a file that is not a picture, or another merchant's
asset answer 404 and write nothing."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from shop_assets.catalog import services as catalog
from shop_assets.dashboard import thumbnails
from shop_assets.jobs import storage
from tests.conftest import downloaded, stored_files
from tests.service.browser import job_with_assets

pytestmark = pytest.mark.django_db


def _url(asset, width: int) -> str:
    return reverse("dashboard:asset_thumbnail", args=[asset.pk, width])


def test_a_packshot_is_shown_from_a_webp_of_the_asked_width_made_once(signed_in, product_image, monkeypatch):
    # given: a finished job's 2000 px packshot and an 800 px wide cutout with transparency
    job = job_with_assets(
        product_image,
        [
            ("packshot", "packshot", (2000, 2000), (250, 250, 250, 255)),
            ("cutout", "cutout", (600, 800), (30, 120, 80, 0)),
        ],
    )
    packshot, cutout = job.assets.get(kind="packshot"), job.assets.get(kind="cutout")
    made = []
    monkeypatch.setattr(
        thumbnails,
        "_webp",
        lambda data, width, make=thumbnails._webp: made.append(width) or make(data, width),
    )

    # when: the page's two widths of the packshot are fetched, the small one twice
    small = downloaded(signed_in.get(_url(packshot, 480)))
    again = downloaded(signed_in.get(_url(packshot, 480)))
    large = downloaded(signed_in.get(_url(packshot, 960)))

    # then: each is a WebP of that width and the packshot's shape, made once
    assert Image.open(io.BytesIO(small)).format == "WEBP"
    assert Image.open(io.BytesIO(small)).size == (480, 480) and Image.open(io.BytesIO(large)).size == (
        960,
        960,
    )
    assert again == small and made == [480, 960]
    assert len(small) < packshot.size_bytes
    # stored beside the packshot, under the job's folder (other tests' jobs share the storage)
    folder = storage.job_folder(job.merchant_id, job.product.sku, job.pk)
    assert sorted(k for k in stored_files() if k.startswith(f"{folder}/") and "/thumbs/" in k) == [
        f"{folder}/thumbs/packshot-{packshot.checksum[:16]}-w480.webp",
        f"{folder}/thumbs/packshot-{packshot.checksum[:16]}-w960.webp",
    ]

    # and a narrower picture is never made larger; a cutout keeps its transparency
    shown = Image.open(io.BytesIO(downloaded(signed_in.get(_url(cutout, 960)))))
    assert shown.size == (600, 800) and shown.mode == "RGBA" and shown.getpixel((10, 10))[3] == 0


def test_a_width_the_server_does_not_make_or_a_file_that_is_no_picture_answers_404(signed_in, product_image):
    job = job_with_assets(product_image, [("packshot", "packshot", (800, 800), (250, 250, 250, 255))])
    packshot = job.assets.get()
    before = stored_files()

    assert signed_in.get(_url(packshot, 481)).status_code == 404
    packshot.format = "json"  # as a poster's layout file is
    packshot.save()
    assert signed_in.get(_url(packshot, 480)).status_code == 404
    assert stored_files() == before


def test_another_merchants_asset_answers_404(signed_in, other_product_image):
    theirs = job_with_assets(other_product_image, [("packshot", "packshot", (800, 800), (1, 2, 3, 255))])
    before = stored_files()

    assert signed_in.get(_url(theirs.assets.get(), 480)).status_code == 404
    assert stored_files() == before


@pytest.mark.django_db(transaction=True)
def test_the_thumbnails_go_with_their_product(signed_in, product_image):
    job = job_with_assets(product_image, [("scene", "scene-studio_sweep-01", (1600, 1000), (9, 9, 9, 255))])
    scene = job.assets.get()
    before = set(stored_files())
    assert Image.open(io.BytesIO(downloaded(signed_in.get(_url(scene, 480))))).size == (480, 300)
    made = set(stored_files()) - before
    assert [key.rsplit("/", 2)[1] for key in made] == ["thumbs"]

    catalog.delete_product(job.product)

    assert not (made | {scene.storage_key}) & set(stored_files())
