"""Permanent and transient errors told apart by type: a missing file or an undecodable photo
used to count as a passing ``OSError`` and was retried four times."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError
from PIL import Image, UnidentifiedImageError

from generation.errors import GenerationError
from shop_assets.jobs import faults
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import JobStatus
from shop_assets.jobs.storage import put_bytes
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)


def client_error(status: int, code: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("server closed the connection unexpectedly"),
        InterfaceError("connection already closed"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError("timed out"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:9/bucket"),
        client_error(500, "InternalError"),
        client_error(503, "SlowDown"),
        client_error(400, "Throttling"),
        client_error(429, "TooManyRequests"),
    ],
    ids=type,
)
def test_outages_and_throttling_are_transient(exc):
    assert faults.is_transient(exc) is True


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (FileNotFoundError(2, "No such file or directory", "/srv/data/media/x.png"), "file_missing"),
        (UnidentifiedImageError("cannot identify image file"), "unreadable_image"),
        (Image.DecompressionBombError("Image size exceeds limit"), "image_too_large"),
        (ValueError("width must be positive"), "invalid_input"),
        (PermissionError(13, "Permission denied"), "internal_error"),
        (OSError(28, "No space left on device"), "internal_error"),
        (client_error(404, "NoSuchKey"), "internal_error"),
        (client_error(403, "AccessDenied"), "internal_error"),
        (NoCredentialsError(), "internal_error"),
        (KeyError("poster"), "internal_error"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_bad_input_missing_files_and_bugs_are_permanent(exc, code):
    assert faults.is_transient(exc) is False
    assert faults.permanent_failure(exc)[0] == code


def test_generation_errors_are_not_transient():
    assert faults.is_transient(GenerationError("no", code="segmentation_failed")) is False


@pytest.fixture
def job(product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    return job_requests.create_job(
        product_image.product, product_image, ["cutout"], {"segmenter": "classical"}
    )


def retries_logged(caplog) -> int:
    return sum("retry:" in r.getMessage() for r in caplog.records)


def test_a_photo_missing_from_storage_fails_at_once_without_retries(job, caplog):
    default_storage.delete(job.image.normalized_key)

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "failed"
    assert (job.status, job.attempts, job.error_code) == (JobStatus.FAILED, 1, "file_missing")
    assert retries_logged(caplog) == 0


def test_an_undecodable_photo_fails_at_once_without_retries(job, caplog):
    default_storage.delete(job.image.normalized_key)
    put_bytes(job.image.normalized_key, b"this is not an image")

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "failed"
    assert (job.status, job.attempts, job.error_code) == (JobStatus.FAILED, 1, "unreadable_image")
    assert job.error_message == "The photo could not be read as an image."
    assert retries_logged(caplog) == 0


def test_a_storage_outage_is_still_retried(job, monkeypatch, caplog, settings):
    calls = []
    real_read = __import__("shop_assets.jobs.storage", fromlist=["read_bytes"]).read_bytes

    def unreachable_once(key):
        calls.append(key)
        if len(calls) == 1:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket")
        return real_read(key)

    monkeypatch.setattr("shop_assets.jobs.storage.read_bytes", unreachable_once)

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "succeeded", job.error_message
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
    assert retries_logged(caplog) == 1
