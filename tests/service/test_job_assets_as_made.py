"""A job's assets are stored and recorded one by one as they are made, so the job's page can
show each while the rest are made; an output that cannot be made is recorded on the job
with its reason; an attempt that fails takes back what it had kept."""

from __future__ import annotations

import pytest

from generation import pipelines
from generation.errors import InvalidSpec
from shop_assets.accounts.models import ApiKey
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)


def test_an_asset_is_recorded_while_the_rest_of_the_job_is_still_made(product_image, monkeypatch):
    # given: a job making a cutout, then a packshot; what the database holds as the packshot starts
    job = job_requests.create_job(
        product_image.product, product_image, ["cutout", "packshot"], {"segmenter": "classical"}
    )
    seen: dict = {}
    real_packshot = pipelines.render_packshot

    def packshot_watched(*args, **kwargs):
        seen["status"] = GenerationJob.objects.get(pk=job.pk).status
        seen["assets"] = list(Asset.objects.filter(job_id=job.pk).values_list("name", "storage_key"))
        seen["file"] = storage.read_bytes(seen["assets"][0][1])[:8] if seen["assets"] else b""
        return real_packshot(*args, **kwargs)

    monkeypatch.setattr(pipelines, "render_packshot", packshot_watched)

    # when: the job runs
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    # then: the cutout was recorded, its file readable, while the job was still running
    assert seen["status"] == JobStatus.RUNNING
    assert [name for name, _ in seen["assets"]] == ["cutout"]
    assert seen["file"] == b"\x89PNG\r\n\x1a\n"
    # and the finished job has both, once each
    assert sorted(Asset.objects.filter(job_id=job.pk).values_list("name", flat=True)) == [
        "cutout",
        "packshot",
    ]


def test_a_poster_that_cannot_be_made_is_recorded_on_the_job_and_the_others_are_kept(
    product_image, monkeypatch, client, merchant
):
    # given: a poster job whose story size cannot be made
    from generation.posters import render

    real_render = render.render_poster

    def no_story(seg, spec, **kwargs):
        if spec.size_name == "story":
            raise InvalidSpec("the headline does not fit")
        return real_render(seg, spec, **kwargs)

    monkeypatch.setattr(render, "render_poster", no_story)
    job = job_requests.create_job(
        product_image.product,
        product_image,
        ["poster"],
        {
            "segmenter": "classical",
            "poster": {"templates": ["hero_left"], "sizes": ["feed", "story", "link"]},
        },
    )

    # when: it runs
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    # then: the two others are its assets, and the story is named on the job with the reason
    job.refresh_from_db()
    posters = Asset.objects.filter(job=job, format="png").values_list("name", flat=True)
    assert sorted(posters) == ["poster-hero_left-feed", "poster-hero_left-link"]
    assert job.not_made == [
        {
            "kind": "poster",
            "name": "poster-hero_left-story",
            "reason": "the headline does not fit",
            "template": "hero_left",
            "size": "story",
        }
    ]
    # and the API's job says so too
    _, secret = ApiKey.issue(merchant, "storefront")
    api = client.get(f"/api/v1/jobs/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert api["not_made"] == job.not_made


def test_a_job_failing_after_its_first_asset_keeps_no_row_and_no_file(product_image, monkeypatch):
    # given: a job whose packshot fails after the cutout was kept
    job = job_requests.create_job(
        product_image.product, product_image, ["cutout", "packshot"], {"segmenter": "classical"}
    )
    folder = storage.job_folder(job.merchant_id, job.product.sku, job.pk)
    storage.delete_keys(storage.files_under(folder))

    def broken_packshot(*args, **kwargs):
        assert Asset.objects.filter(job_id=job.pk).count() == 1
        raise RuntimeError("out of paint")

    monkeypatch.setattr(pipelines, "render_packshot", broken_packshot)

    # when: it runs
    assert run_job_task.apply(args=[job.pk]).get() == "failed"

    # then: nothing of it is left
    assert not Asset.objects.filter(job_id=job.pk).exists()
    assert storage.files_under(folder) == []
