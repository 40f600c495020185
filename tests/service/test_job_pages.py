"""Job page, its HTMX progress partial, per-asset downloads and the ZIP of all assets."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.urls import reverse

from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def finished_job(product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    job = job_requests.create_job(product_image.product, product_image, ["packshot", "cutout"], {})
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"
    return GenerationJob.objects.get(pk=job.pk)


def test_running_job_partial_keeps_polling(signed_in, product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    job = job_requests.create_job(product_image.product, product_image, ["packshot"], {})
    GenerationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, progress=40, progress_message="Segmenting"
    )

    body = signed_in.get(reverse("dashboard:job_progress", args=[job.pk])).content.decode()

    assert 'hx-trigger="every 1s"' in body
    assert 'aria-valuenow="40"' in body and "Segmenting" in body
    assert "<html" not in body


def test_finished_job_shows_gallery_and_stops_polling(signed_in, finished_job):
    body = signed_in.get(reverse("dashboard:job", args=[finished_job.pk])).content.decode()

    assert "hx-trigger" not in body
    assert body.count('class="asset"') == 2
    assert "Product pixels unchanged" in body


def test_only_the_cutout_offers_the_dark_backdrop(signed_in, finished_job):
    body = signed_in.get(reverse("dashboard:job", args=[finished_job.pk])).content.decode()

    figures = body.split('<figure class="asset"')[1:]
    kinds = [f.split('data-kind="')[1].split('"')[0] for f in figures]
    assert sorted(kinds) == ["cutout", "packshot"]
    offered = {kind: "data-backdrop-toggle" in figure for kind, figure in zip(kinds, figures, strict=True)}
    assert offered == {"cutout": True, "packshot": False}
    assert "dashboard/backdrop.js" in body


def test_asset_download_and_preview(signed_in, finished_job, settings):
    asset = finished_job.assets.get(name="packshot")

    download = signed_in.get(reverse("dashboard:asset_download", args=[asset.pk]))
    preview = signed_in.get(reverse("dashboard:asset_preview", args=[asset.pk]))

    if settings.S3_BUCKET:
        assert download.status_code == preview.status_code == 302
        assert "attachment" in download["Location"] and "inline" in preview["Location"]
    else:
        assert download.status_code == preview.status_code == 200
        assert download["Content-Disposition"] == 'attachment; filename="BTL-001-packshot.png"'
        assert preview["Content-Disposition"].startswith("inline")
        assert b"".join(download.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


def test_download_all_is_a_zip_of_every_asset(signed_in, finished_job):
    response = signed_in.get(reverse("dashboard:job_zip", args=[finished_job.pk]))

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert response["Content-Type"] == "application/zip"
    assert sorted(archive.namelist()) == ["BTL-001-cutout.png", "BTL-001-packshot.png"]
    import hashlib

    for asset in finished_job.assets.all():
        assert hashlib.sha256(archive.read(asset.download_filename)).hexdigest() == asset.checksum


def test_the_gallery_is_a_section_per_output_kind_headed_by_its_count(signed_in, finished_job):
    body = signed_in.get(reverse("dashboard:job", args=[finished_job.pk])).content.decode()

    # the cutout and the packshot share one section, open as the page arrives
    assert body.count('class="assets-section"') == 1
    assert '<details class="assets-section" id="assets-cutout" data-assets-section data-keyed open>' in body
    assert '<h2>Cutout and packshot <span class="count">2</span></h2>' in body
    assert "dashboard/job_sections.js" in body


def test_a_poster_that_could_not_be_made_says_why_in_a_merchants_words(signed_in, product_image):
    # given: a finished job whose story poster could not be made, the reason naming ids
    job = GenerationJob.objects.create(
        merchant=product_image.product.merchant,
        product=product_image.product,
        image=product_image,
        outputs=["poster"],
        status=JobStatus.SUCCEEDED,
        progress=100,
        not_made=[
            {
                "kind": "poster",
                "name": "poster-hero_left-story",
                "reason": "headline would touch the product in hero_left at 1080x1920",
                "template": "hero_left",
                "size": "story",
            }
        ],
    )

    # when: its page is read
    body = signed_in.get(reverse("dashboard:job", args=[job.pk])).content.decode()
    visible = " ".join(re.sub(r"<[^>]+>", " ", body).replace("\xa0", " ").split())

    # then: the poster's place says so, the template by its name, not its id
    assert "Could not be made Headline would touch the product in Hero left at 1080×1920" in visible
    assert "hero_left" not in visible
    assert "Story 9:16 1080×1920" in visible
