"""The API's job lists the outputs still to come while it runs (``coming``), as the job
page shows them as cards "being made": from its stored request, less what it has made or
found impossible; none once it has ended."""

from __future__ import annotations

import pytest

from shop_assets.accounts.models import ApiKey
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob, JobStatus
from tests.service.browser import add_assets

POSTERS = {"templates": ["bold_sale", "hero_left"], "sizes": ["story", "feed"], "headline": "Fresh"}


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def _running_job(product_image, monkeypatch, outputs, parameters) -> GenerationJob:
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    job = job_requests.create_job(product_image.product, product_image, outputs, parameters)
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=40)
    return GenerationJob.objects.get(pk=job.pk)


def _coming(api, job) -> list[dict]:
    response = api.get(f"/api/v1/jobs/{job.pk}")
    assert response.status_code == 200
    return response.json()["coming"]


def test_a_running_job_lists_each_output_still_to_come(api, product_image, monkeypatch):
    # given: a running job asked for a cutout, 2 scenes, 2 templates at 2 sizes and a story
    # clip; it has made the cutout, the first scene and one poster, and found another poster
    # cannot be made
    job = _running_job(
        product_image,
        monkeypatch,
        ["cutout", "scene", "poster", "clip"],
        {"scene": {"theme": "marble_counter", "count": 2, "width": 1600, "height": 1000}, "poster": POSTERS},
    )
    add_assets(
        job,
        [
            ("cutout", "cutout", (48, 64), (30, 120, 80, 255)),
            ("scene", "scene-marble_counter-01", (64, 64), (200, 80, 60), {"theme": "marble_counter"}),
            ("poster", "poster-bold_sale-story", (54, 96), (230, 200, 60), {"template": "bold_sale", "size": "story"}),
        ],
    )  # fmt: skip
    GenerationJob.objects.filter(pk=job.pk).update(
        not_made=[{"kind": "poster", "name": "poster-bold_sale-feed", "reason": "no room",
                   "template": "bold_sale", "size": "feed"}]
    )  # fmt: skip

    # when: the API is asked for the job
    coming = _coming(api, job)

    # then: the second scene, hero_left at both sizes and the clip are still to come, in the
    # order the job makes them, each with its canvas and format
    assert coming == [
        {"kind": "scene", "template": "", "size": "", "width": 1600, "height": 1000, "format": "png"},
        {"kind": "poster", "template": "hero_left", "size": "story", "width": 1080, "height": 1920, "format": "png"},
        {"kind": "poster", "template": "hero_left", "size": "feed", "width": 1080, "height": 1080, "format": "png"},
        {"kind": "clip", "template": "", "size": "", "width": 1080, "height": 1920, "format": "mp4"},
    ]  # fmt: skip


def test_a_cutout_still_to_come_has_no_canvas_size_and_a_job_that_ends_has_nothing_to_come(
    api, product_image, monkeypatch
):
    # given: a queued job for a cutout and a packshot, nothing made
    job = _running_job(product_image, monkeypatch, ["cutout", "packshot"], {})
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)

    # then: both are to come; the cutout's size is its photo's, not known yet
    assert _coming(api, job) == [
        {"kind": "cutout", "template": "", "size": "", "width": None, "height": None, "format": "png"},
        {"kind": "packshot", "template": "", "size": "", "width": 2000, "height": 2000, "format": "png"},
    ]  # fmt: skip

    # when: the job is cancelled (and, for the list too, it fails)
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)

    # then: nothing is to come, on the job and in the list of jobs
    assert _coming(api, job) == []
    listed = api.get("/api/v1/jobs").json()
    assert [(j["id"], j["coming"]) for j in listed["items"]] == [(job.pk, [])]


def test_the_schema_documents_what_is_to_come(api):
    # when: the OpenAPI schema is read
    schemas = api.get("/api/v1/openapi.json").json()["components"]["schemas"]

    # then: the job has a typed list of outputs to come, each named by kind
    assert schemas["JobOut"]["properties"]["coming"]["items"] == {"$ref": "#/components/schemas/ComingOut"}
    assert "coming" in schemas["JobOut"]["required"]
    coming = schemas["ComingOut"]
    assert set(coming["properties"]) == {"kind", "template", "size", "width", "height", "format"}
    assert "poster" in coming["properties"]["kind"]["enum"]
    assert "Empty once the job has ended" in schemas["JobOut"]["properties"]["coming"]["description"]
