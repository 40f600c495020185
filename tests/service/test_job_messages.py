"""Merchant-visible job text: progress and error messages used to carry the server's absolute
paths (a missing photo named its file under the storage root)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.urls import reverse

from generation.errors import GenerationError
from shop_assets.accounts.models import ApiKey
from shop_assets.jobs import faults, lifecycle
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    return job_requests.create_job(
        product_image.product, product_image, ["cutout"], {"segmenter": "classical"}
    )


def merchant_views(client, user, merchant, job: GenerationJob) -> tuple[dict, str]:
    """The job as the merchant sees it: the API's JSON and the dashboard's job page."""
    _, secret = ApiKey.issue(merchant, "storefront")
    api = client.get(f"/api/v1/jobs/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    client.force_login(user)
    page = client.get(reverse("dashboard:job", args=[job.pk])).content.decode()
    return api, page


def assert_no_server_detail(text: str) -> None:
    for secret in (
        str(settings.DATA_DIR),
        str(settings.MEDIA_ROOT),
        str(settings.BASE_DIR),
        "Traceback",
        "/merchants/",
    ):
        assert secret not in text


def test_a_missing_photo_reads_cleanly_in_the_api_and_the_dashboard(job, client, user, merchant):
    default_storage.delete(job.image.normalized_key)

    run_job_task.apply(args=[job.pk]).get()

    api, page = merchant_views(client, user, merchant, job)
    assert api["status"] == "failed" and api["error_code"] == "file_missing"
    assert api["error_message"] == "A file this job needs is no longer in storage. Upload the photo again."
    assert api["error_message"] in page
    assert_no_server_detail(repr(api))
    assert_no_server_detail(page)


def test_paths_in_errors_of_the_database_and_the_engines_are_stripped(
    job, client, user, merchant, monkeypatch, settings
):
    socket = "/var/run/postgresql/.s.PGSQL.5432"
    weights = f"{settings.DATA_DIR}/models/birefnet/model.onnx"
    errors = [
        OperationalError(f'connection to server on socket "{socket}" failed: No such file or directory'),
        GenerationError(
            f"The model file {weights} is damaged.\nTraceback (most recent call last):\n"
            f'  File "{settings.BASE_DIR}/generation/segment/rembg_sessions.py", line 80, in load\n'
            "ValueError: bad header",
            code="model_damaged",
        ),
    ]
    progress = []
    real_release = lifecycle.release_job

    def release_and_look(job_id, token, **kwargs):
        released = real_release(job_id, token, **kwargs)
        progress.append(GenerationJob.objects.get(pk=job_id).progress_message)
        return released

    def fail_in_turn(*args, **kwargs):
        raise errors.pop(0)

    monkeypatch.setattr(lifecycle, "release_job", release_and_look)
    monkeypatch.setattr("generation.pipelines.run_outputs", fail_in_turn)

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "failed" and job.attempts == 2
    # what the merchant read while the retry waited, then at the end
    assert progress == [
        'Retrying after a temporary error: connection to server on socket ".s.PGSQL.5432" failed: No such file or directory'
    ]
    assert job.error_code == "model_damaged"
    assert job.error_message == "The model file model.onnx is damaged."
    api, page = merchant_views(client, user, merchant, job)
    assert api["error_message"] == job.error_message
    assert_no_server_detail(repr(api))
    assert_no_server_detail(page)


def test_progress_messages_are_cleaned_where_they_are_written(job):
    token = lifecycle.claim_job(job.pk)

    lifecycle.renew_lease(job.pk, token, progress=10, message=f"Reading {settings.MEDIA_ROOT}/x/y/photo.png")

    assert GenerationJob.objects.get(pk=job.pk).progress_message == "Reading photo.png"
    assert lifecycle.release_job(job.pk, token, message="Retrying: C:\\data\\media\\photo.png gone") is True
    assert GenerationJob.objects.get(pk=job.pk).progress_message == "Retrying: photo.png gone"
    assert GenerationJob.objects.get(pk=job.pk).status == JobStatus.QUEUED


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "[Errno 2] No such file or directory: '/srv/shop/data/media/a/b.png'",
            "[Errno 2] No such file or directory: 'b.png'",
        ),
        (
            'Could not connect to the endpoint URL: "http://minio:9000/assets/merchants/1/x.png"',
            'Could not connect to the endpoint URL: "[address]',
        ),
        ("Scaled 1600/1600 px to 3/4 and/or back", "Scaled 1600/1600 px to 3/4 and/or back"),
        ("boom\nTraceback (most recent call last):\n  File \"/app/x.py\", line 1\nKeyError: 'k'", "boom"),
        ("folder (/var/lib/shop/) missing", "folder (shop) missing"),
    ],
)
def test_merchant_text(raw, clean):
    assert faults.merchant_text(raw) == clean
