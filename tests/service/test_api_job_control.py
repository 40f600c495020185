"""API job cancel and retry, asset delete: the row's state, the worker's stop, the files."""

from __future__ import annotations

import pytest
from django.utils import timezone

from shop_assets.accounts.models import ApiKey
from shop_assets.catalog import masks
from shop_assets.jobs import lifecycle, storage
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task
from tests.conftest import stored_files


@pytest.fixture
def api(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """Job ids handed to the broker."""
    ids: list[int] = []
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: ids.append(job_id))
    return ids


def make_job(image, status=JobStatus.QUEUED, **fields) -> GenerationJob:
    return GenerationJob.objects.create(
        merchant_id=image.product.merchant_id,
        product=image.product,
        image=image,
        outputs=["cutout"],
        status=status,
        **fields,
    )


def stored_asset(job, name: str = "cutout") -> Asset:
    key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, name, "png")
    storage.put_bytes(key, b"png")
    return Asset.objects.create(
        merchant_id=job.merchant_id,
        job=job,
        kind="cutout",
        name=name,
        format="png",
        width=1,
        height=1,
        storage_key=key,
        size_bytes=3,
        checksum="0" * 64,
    )


def test_cancel_a_queued_job_ends_it_at_once_and_no_worker_takes_it(api, product_image):
    job = make_job(product_image)

    response = api.post(f"/api/v1/jobs/{job.pk}/cancel")

    job.refresh_from_db()
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    assert job.status == JobStatus.CANCELLED and job.finished_at is not None
    assert lifecycle.claim_job(job.pk) is None
    assert run_job_task.apply(args=[job.pk]).get() == "nothing to do"


def test_cancel_a_running_job_asks_its_worker_to_stop_at_the_next_heartbeat(
    api, product_image, django_capture_on_commit_callbacks
):
    job = make_job(product_image)
    token = lifecycle.claim_job(job.pk)
    written = stored_asset(job).storage_key  # a file the worker wrote before the cancel

    response = api.post(f"/api/v1/jobs/{job.pk}/cancel")

    body = response.json()
    assert response.status_code == 202
    assert body["status"] == "running" and body["cancel_requested_at"] is not None
    with pytest.raises(lifecycle.CancelRequested):
        lifecycle.renew_lease(job.pk, token, progress=50)
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.stop_cancelled(job.pk, token) is True
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.progress_message == "Cancelled"
    assert not Asset.objects.exists() and written not in stored_files()


@pytest.mark.django_db(transaction=True)
def test_worker_stops_a_job_cancelled_while_it_stores_and_keeps_nothing(
    api, product_image, sent, monkeypatch
):
    # given a job whose cancel arrives after the worker wrote its first file
    masks.make_automatic_mask(product_image)  # the upload's task made the photo's matte
    job = make_job(product_image)
    put = storage.put_bytes
    writes: list[str] = []

    def put_then_cancel(key: str, data: bytes) -> str:
        writes.append(put(key, data))
        if len(writes) == 1:
            assert api.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 202
        return key

    monkeypatch.setattr(storage, "put_bytes", put_then_cancel)
    before = set(stored_files())

    # when the worker runs it
    outcome = run_job_task.apply(args=[job.pk]).get()

    # then it stopped at the next lease renewal, kept no asset and removed what it wrote
    job.refresh_from_db()
    assert outcome == "cancelled" and job.status == JobStatus.CANCELLED
    assert writes and not Asset.objects.filter(job=job).exists()
    folder = storage.job_folder(job.merchant_id, job.product.sku, job.pk) + "/"
    after = set(stored_files())
    assert not [key for key in after if key.startswith(folder)]
    assert after == {key for key in before if not key.startswith(folder)}


def test_cancel_a_finished_job_is_409(api, product_image):
    job = make_job(product_image, JobStatus.SUCCEEDED)

    response = api.post(f"/api/v1/jobs/{job.pk}/cancel")

    assert response.status_code == 409 and response.json()["code"] == "job_finished"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_a_cancelled_job_whose_worker_died_is_ended_by_the_sweep(product_image, sent):
    job = make_job(product_image)
    lifecycle.claim_job(job.pk)
    lifecycle.cancel_job(job)
    GenerationJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())

    requeued = lifecycle.requeue_stale_jobs()

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and requeued == [] and sent == []


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED])
def test_retry_queues_a_failed_or_cancelled_job_again(
    api, product_image, sent, status, django_capture_on_commit_callbacks
):
    job = make_job(product_image, status, attempts=4, error_code="boom", finished_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/jobs/{job.pk}/retry")

    job.refresh_from_db()
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert (job.status, job.attempts, job.error_code, job.finished_at) == (JobStatus.QUEUED, 0, "", None)
    assert sent == [job.pk]
    assert lifecycle.claim_job(job.pk) is not None


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED])
def test_retry_of_a_job_that_did_not_fail_is_409(api, product_image, sent, status):
    job = make_job(product_image, status)

    response = api.post(f"/api/v1/jobs/{job.pk}/retry")

    assert response.status_code == 409 and response.json()["code"] == "not_retryable"
    assert status in response.json()["detail"] and sent == []


def test_retry_respects_the_job_quota(api, product_image, sent, settings):
    settings.MAX_QUEUED_JOBS = 1
    make_job(product_image)
    failed = make_job(product_image, JobStatus.FAILED)

    response = api.post(f"/api/v1/jobs/{failed.pk}/retry")

    failed.refresh_from_db()
    assert response.status_code == 429 and response.json()["code"] == "too_many_jobs"
    assert failed.status == JobStatus.FAILED and sent == []


def test_delete_an_asset_removes_its_file(api, product_image, django_capture_on_commit_callbacks):
    job = make_job(product_image, JobStatus.SUCCEEDED)
    asset = stored_asset(job)
    kept = stored_asset(job, "other")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/assets/{asset.pk}")

    assert response.status_code == 204
    assert list(Asset.objects.values_list("pk", flat=True)) == [kept.pk]
    files = stored_files()
    assert asset.storage_key not in files and kept.storage_key in files


def test_another_merchants_job_and_asset_are_404(api, other_product_image, sent):
    job = make_job(other_product_image, JobStatus.FAILED)
    asset = stored_asset(job)

    responses = [
        api.post(f"/api/v1/jobs/{job.pk}/cancel"),
        api.post(f"/api/v1/jobs/{job.pk}/retry"),
        api.delete(f"/api/v1/assets/{asset.pk}"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert {r.json()["code"] for r in responses} == {"not_found"}
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and Asset.objects.filter(pk=asset.pk).exists() and sent == []


def test_a_cancelled_job_of_a_batch_counts_as_failed_and_is_retried_with_them(
    api, merchant, product_image, sent
):
    from shop_assets.bulk import fanout
    from shop_assets.bulk.models import Batch, BatchRow, BatchStatus, RowState

    batch = Batch.objects.create(
        merchant=merchant,
        status=BatchStatus.RUNNING,
        source_name="p.csv",
        source_key="k",
        format="simple",
        encoding="utf-8",
    )
    job = make_job(product_image)
    BatchRow.objects.create(
        batch=batch, line=2, sku="BTL-001", state=RowState.JOB, product=product_image.product, job=job
    )

    api.post(f"/api/v1/jobs/{job.pk}/cancel")
    counts = fanout.batch_counts(batch)
    retried = fanout.retry_failed_rows(batch)

    assert (counts.failed, counts.queued) == (1, 0)
    assert retried == 1 and BatchRow.objects.get(batch=batch).job is None


@pytest.mark.django_db(transaction=True)
def test_worker_stops_a_job_cancelled_while_it_generates(api, product_image, sent, monkeypatch):
    # given a generation step that reports progress after the merchant cancelled
    job = make_job(product_image)
    reported: list[float] = []

    def generate(photo, requests, *, progress, **kwargs):
        progress(0.2, "Cutting out")
        reported.append(0.2)
        assert api.post(f"/api/v1/jobs/{job.pk}/cancel").json()["cancel_requested_at"] is not None
        progress(0.6, "Composing")  # the next heartbeat: the worker stops here
        reported.append(0.6)
        raise AssertionError("generation went on after the cancel")

    monkeypatch.setattr("generation.pipelines.run_outputs", generate)

    # when the worker runs it
    outcome = run_job_task.apply(args=[job.pk]).get()

    # then it stopped at the report after the cancel, and the job ends cancelled with nothing
    job.refresh_from_db()
    assert outcome == "cancelled" and reported == [0.2]
    assert job.status == JobStatus.CANCELLED and job.progress < 60
    assert not Asset.objects.filter(job=job).exists()
