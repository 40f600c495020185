"""Job lifecycle in one process: claims, leases, deterministic keys, failures, take-over."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from shop_assets.catalog import masks
from shop_assets.jobs import lifecycle, storing
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.storage import read_bytes
from shop_assets.jobs.tasks import run_job_task
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    masks.make_automatic_mask(product_image)  # what the task run after upload does
    return job_requests.create_job(
        product_image.product, product_image, ["packshot", "cutout"], {"segmenter": "classical"}
    )


def test_only_one_claim_wins(job):
    first = lifecycle.claim_job(job.pk)
    second = lifecycle.claim_job(job.pk)

    assert first is not None and second is None
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.lease_token == first and job.attempts == 1


def test_an_expired_lease_can_be_taken_over_and_the_old_owner_is_locked_out(job, settings):
    old = lifecycle.claim_job(job.pk)
    GenerationJob.objects.filter(pk=job.pk).update(lease_expires_at=job.created_at)  # in the past

    new = lifecycle.claim_job(job.pk)

    assert new is not None and new != old
    with pytest.raises(lifecycle.LeaseLost):
        lifecycle.renew_lease(job.pk, old, progress=50)
    assert storing.finish_job(job.pk, old, []) is False
    assert GenerationJob.objects.get(pk=job.pk).attempts == 2


def test_task_makes_packshot_and_cutout_under_deterministic_keys(job):
    result = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert result == "succeeded", job.error_message
    assert (job.status, job.progress, job.lease_token) == (JobStatus.SUCCEEDED, 100, "")
    assets = {a.name: a for a in job.assets.all()}
    assert set(assets) == {"packshot", "cutout"}
    prefix = f"merchants/{job.merchant_id}/products/BTL-001/jobs/{job.pk}/"
    assert assets["packshot"].storage_key == prefix + "packshot.png"
    assert assets["cutout"].storage_key == prefix + "cutout.png"
    packshot = Image.open(io.BytesIO(read_bytes(assets["packshot"].storage_key)))
    assert packshot.size == (2000, 2000) and packshot.getpixel((0, 0)) == (255, 255, 255)
    assert assets["packshot"].metrics["fidelity"]["identical"] is True
    assert assets["packshot"].metrics["segmenter"] == "classical"
    cutout = Image.open(io.BytesIO(read_bytes(assets["cutout"].storage_key)))
    assert cutout.mode == "RGBA"


def test_a_rerun_overwrites_instead_of_duplicating(job):
    run_job_task.apply(args=[job.pk]).get()
    first_files = stored_files()
    first_checksums = dict(Asset.objects.values_list("name", "checksum"))

    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    run_job_task.apply(args=[job.pk]).get()

    assert stored_files() == first_files
    assert Asset.objects.count() == 2
    assert dict(Asset.objects.values_list("name", "checksum")) == first_checksums


def test_generation_error_fails_the_job_readably_and_keeps_nothing(job, monkeypatch):
    from generation.errors import SegmentationFailed

    # given a photo whose cutout the merchant accepted (without one, a refusal of the full
    # photo waits for review instead: tests/service/test_matte_gate.py)
    masks.make_automatic_mask(job.image)
    masks.accept_automatic(job.image)

    def refuse(*args, **kwargs):
        raise SegmentationFailed("The background is too busy to separate the product.")

    monkeypatch.setattr("generation.pipelines.run_outputs", refuse)
    before = stored_files()

    assert run_job_task.apply(args=[job.pk]).get() == "failed"

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_code == "segmentation_failed"
    assert job.error_message == "The background is too busy to separate the product."
    assert not job.assets.exists() and stored_files() == before


def test_transient_errors_retry_with_backoff_then_fail_readably(job, monkeypatch, caplog, settings):
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        raise ConnectionError("storage unreachable")

    monkeypatch.setattr("generation.pipelines.run_outputs", flaky)
    before = stored_files()

    # apply() runs Celery's retries inline, so the whole retry chain happens here
    run_job_task.apply(args=[job.pk])

    job.refresh_from_db()
    assert len(calls) == settings.JOB_MAX_ATTEMPTS == job.attempts
    assert [
        r.getMessage().split("retry: ")[1].split(":")[0] for r in caplog.records if "retry:" in r.getMessage()
    ] == ["Retry in 10s", "Retry in 20s", "Retry in 40s"]
    assert job.status == JobStatus.FAILED and job.error_code == "transient_error"
    assert job.error_message == f"Gave up after {settings.JOB_MAX_ATTEMPTS} attempts: storage unreachable"
    assert stored_files() == before


def test_released_job_goes_back_to_the_queue(job):
    token = lifecycle.claim_job(job.pk)

    assert lifecycle.release_job(job.pk, token, message="Retrying after a temporary error: x") is True

    job.refresh_from_db()
    assert (job.status, job.lease_token, job.attempts) == (JobStatus.QUEUED, "", 1)
    assert lifecycle.release_job(job.pk, token, message="again") is False


def test_failed_job_removes_assets_already_stored(job):
    run_job_task.apply(args=[job.pk]).get()
    keys = list(Asset.objects.values_list("storage_key", flat=True))
    assert all(k in stored_files() for k in keys)
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, lease_token="t")

    assert lifecycle.fail_job(job.pk, "t", code="x", message="stopped") is True

    assert not Asset.objects.exists()
    assert not any(k in stored_files() for k in keys)


def test_stale_running_job_is_requeued_and_exhausted_one_failed(job, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: sent.append(job_id))
    lifecycle.claim_job(job.pk)
    GenerationJob.objects.filter(pk=job.pk).update(lease_expires_at=job.created_at)

    assert lifecycle.requeue_stale_jobs() == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and sent == [job.pk]

    settings.JOB_MAX_ATTEMPTS = 1
    lifecycle.claim_job(job.pk)  # attempts is 1 now; claim refused at the limit
    GenerationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, lease_token="dead", lease_expires_at=job.created_at
    )
    lifecycle.requeue_stale_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "worker_lost"


def test_heartbeat_keeps_the_lease_alive(job, settings):
    settings.JOB_LEASE_SECONDS = 2
    token = lifecycle.claim_job(job.pk)
    with lifecycle.Heartbeat(job.pk, token):
        time.sleep(2.5)
        assert lifecycle.claim_job(job.pk) is None  # still ours
    job.refresh_from_db()
    assert job.lease_token == token


def test_scene_jobs_take_the_products_brand_colour(product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    product = product_image.product
    product.brand_color = "#2f5d50"
    product.save()

    job = job_requests.create_job(product, product_image, ["scene"], {"scene": {"theme": "brand_color"}})
    explicit = job_requests.create_job(
        product, product_image, ["scene"], {"scene": {"brand_color": [1, 2, 3]}}
    )
    job.refresh_from_db()
    explicit.refresh_from_db()

    assert job.parameters["scene"]["brand_color"] == [47, 93, 80]
    assert explicit.parameters["scene"]["brand_color"] == [1, 2, 3]


def test_redelivered_message_on_the_last_attempt_fails_the_job_instead_of_looping(job, settings):
    settings.JOB_MAX_ATTEMPTS = 1
    lifecycle.claim_job(job.pk)  # the only attempt; its worker then dies
    GenerationJob.objects.filter(pk=job.pk).update(lease_expires_at=job.created_at)

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "failed"
    assert job.status == JobStatus.FAILED and job.error_code == "worker_lost"
    assert job.error_message == "The worker stopped responding on attempt 1 of 1; the job was stopped."
