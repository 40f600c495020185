"""Files written by a failed attempt: a job that failed while storing (or hit the soft time
limit there) used to leave the files it had already written, with no row pointing at them."""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from shop_assets.jobs import lifecycle, notify, storage
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db(transaction=True)


class FailingStorage:
    """The configured storage, except that save number ``n`` (counting from 1) under
    ``folder`` raises ``error``; with ``once`` the saves after it work again."""

    def __init__(self, real, folder: str, n: int, error: BaseException, *, once: bool = False) -> None:
        self._real, self._folder, self._n, self._error, self._once = real, folder + "/", n, error, once
        self.saves = 0

    def save(self, name, content, *args, **kwargs):
        if name.startswith(self._folder):
            self.saves += 1
            if self.saves == self._n or (not self._once and self.saves > self._n):
                raise self._error
        return self._real.save(name, content, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def job(product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    job = job_requests.create_job(
        product_image.product, product_image, ["packshot", "cutout"], {"segmenter": "classical"}
    )
    # the media folder outlives each test's database: start from an empty job folder
    storage.delete_keys(storage.files_under(storage.job_folder(job.merchant_id, job.product.sku, job.pk)))
    return job


def job_files(job: GenerationJob) -> list[str]:
    prefix = storage.job_folder(job.merchant_id, job.product.sku, job.pk) + "/"
    return [f for f in stored_files() if f.startswith(prefix)]


@pytest.fixture
def seen_at(monkeypatch, job):
    """The job's files at the moment the worker fails or releases the job: what the failed
    attempt itself left, before the job's end sweeps its folder."""
    seen: dict[str, list[str]] = {}
    real_fail, real_release = lifecycle.fail_job, lifecycle.release_job

    def fail_job(job_id, token, **kwargs):
        seen["fail"] = job_files(job)
        return real_fail(job_id, token, **kwargs)

    def release_job(job_id, token, **kwargs):
        seen["release"] = job_files(job)
        return real_release(job_id, token, **kwargs)

    monkeypatch.setattr(lifecycle, "fail_job", fail_job)
    monkeypatch.setattr(lifecycle, "release_job", release_job)
    return seen


def flaky_storage(monkeypatch, job: GenerationJob, n: int, error: BaseException, **kwargs) -> FailingStorage:
    folder = storage.job_folder(job.merchant_id, job.product.sku, job.pk)
    failing = FailingStorage(storage.default_storage, folder, n, error, **kwargs)
    monkeypatch.setattr(storage, "default_storage", failing)
    return failing


def test_storage_failing_on_the_second_save_leaves_no_file(job, monkeypatch, seen_at):
    failing = flaky_storage(monkeypatch, job, 2, PermissionError(13, "Permission denied"))

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "failed" and job.error_code == "internal_error"
    assert failing.saves == 2  # the first file was written, then removed again
    assert seen_at["fail"] == []
    assert job_files(job) == [] and not Asset.objects.exists()


def test_soft_time_limit_while_storing_leaves_no_file(job, monkeypatch, seen_at):
    flaky_storage(monkeypatch, job, 2, SoftTimeLimitExceeded())

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "failed" and job.error_code == "time_limit"
    assert seen_at["fail"] == []
    assert job_files(job) == [] and not Asset.objects.exists()


def test_a_storage_outage_mid_store_is_cleaned_before_the_retry(job, monkeypatch, seen_at):
    flaky_storage(monkeypatch, job, 2, ConnectionError("storage unreachable"), once=True)

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "succeeded", job.error_message
    assert seen_at["release"] == []
    assert job.attempts == 2
    assert sorted(job_files(job)) == sorted(Asset.objects.values_list("storage_key", flat=True))
    assert Asset.objects.count() == 2


def test_a_failure_while_recording_the_assets_leaves_no_file(job, monkeypatch, seen_at):

    def broken_event(job_id):
        raise RuntimeError("event table missing")

    monkeypatch.setattr(notify, "job_succeeded", broken_event)

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "failed" and job.error_code == "internal_error"
    assert seen_at["fail"] == []
    assert job_files(job) == [] and not Asset.objects.exists()


def test_files_are_left_to_a_worker_that_took_the_job_over(job, monkeypatch):
    real_put = storage.put_bytes
    folder = storage.job_folder(job.merchant_id, job.product.sku, job.pk)

    def put_then_lose_the_job(key, data):
        real_put(key, data)
        if key.startswith(folder + "/"):  # an output, not the photo's matte
            GenerationJob.objects.filter(pk=job.pk).update(lease_token="the-new-owner")
        return key

    monkeypatch.setattr(storage, "put_bytes", put_then_lose_the_job)

    outcome = run_job_task.apply(args=[job.pk]).get()

    assert outcome == "taken over"
    # the new owner writes the same key; removing it would remove the new owner's file
    assert len(job_files(job)) == 1
    assert GenerationJob.objects.get(pk=job.pk).status == JobStatus.RUNNING


def test_a_failed_job_removes_files_that_no_row_points_at(job):
    # given a file an earlier attempt wrote but could not remove (its worker was killed)
    stray = storage.asset_key(job.merchant_id, job.product.sku, job.pk, "packshot", "png")
    storage.put_bytes(stray, b"half a job")
    token = lifecycle.claim_job(job.pk)

    assert lifecycle.fail_job(job.pk, token, code="worker_lost", message="stopped") is True

    assert job_files(job) == []
