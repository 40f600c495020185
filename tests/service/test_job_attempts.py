"""A row per attempt: a job retried after an outage, or taken over after its worker died,
used to leave only a counter behind, with no record of when, where or how each try ended."""

from __future__ import annotations

import socket

import pytest
from botocore.exceptions import EndpointConnectionError
from django.urls import reverse

from shop_assets.accounts.models import ApiKey
from shop_assets.jobs import lifecycle, storage
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import GenerationJob, JobAttempt
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    return job_requests.create_job(
        product_image.product, product_image, ["cutout"], {"segmenter": "classical"}
    )


def attempts(job: GenerationJob) -> list[tuple]:
    return list(JobAttempt.objects.filter(job=job).values_list("number", "outcome", "error_code"))


def storage_down_once(monkeypatch) -> None:
    real_read = storage.read_bytes
    calls = []

    def read(key):
        calls.append(key)
        if len(calls) == 1:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket")
        return real_read(key)

    monkeypatch.setattr(storage, "read_bytes", read)


def test_a_retried_job_keeps_one_row_per_attempt(job, monkeypatch):
    storage_down_once(monkeypatch)

    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    assert attempts(job) == [(1, "retry", "storage_unavailable"), (2, "ok", "")]
    rows = list(JobAttempt.objects.filter(job=job))
    assert all(r.worker == socket.gethostname() for r in rows)
    assert all(r.started_at <= r.ended_at for r in rows)
    assert rows[0].ended_at <= rows[1].started_at


def test_a_permanent_failure_closes_its_attempt_as_failed(job):
    storage.delete_keys([job.image.normalized_key])

    assert run_job_task.apply(args=[job.pk]).get() == "failed"

    assert attempts(job) == [(1, "failed", "file_missing")]


def test_a_dead_workers_attempt_is_closed_as_lost_when_the_sweeper_requeues_it(job):
    token = lifecycle.claim_job(job.pk, worker="celery@worker-1")
    GenerationJob.objects.filter(pk=job.pk).update(lease_expires_at=job.created_at)  # it died

    assert lifecycle.requeue_stale_jobs() == [job.pk]
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    assert token and attempts(job) == [(1, "lost", "worker_lost"), (2, "ok", "")]
    assert list(JobAttempt.objects.filter(job=job).values_list("worker", flat=True)) == [
        "celery@worker-1",
        socket.gethostname(),
    ]


def test_a_takeover_closes_the_old_attempt_as_lost(job):
    lifecycle.claim_job(job.pk, worker="celery@worker-1")
    GenerationJob.objects.filter(pk=job.pk).update(lease_expires_at=job.created_at)

    assert lifecycle.claim_job(job.pk, worker="celery@worker-2") is not None

    assert attempts(job) == [(1, "lost", "worker_lost"), (2, "", "")]
    assert JobAttempt.objects.get(job=job, number=2).ended_at is None


def test_a_job_retried_by_the_merchant_goes_on_counting(job):
    storage.delete_keys([job.image.normalized_key])
    run_job_task.apply(args=[job.pk]).get()
    storage.put_bytes(job.image.normalized_key, storage.read_bytes(job.image.original_key))

    lifecycle.retry_job(GenerationJob.objects.get(pk=job.pk))
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    job.refresh_from_db()
    assert job.attempts == 1  # the retry limit starts over
    assert attempts(job) == [(1, "failed", "file_missing"), (2, "ok", "")]


def test_attempts_show_in_the_api_and_the_dashboard_without_the_worker(
    job, client, user, merchant, admin_client
):
    lifecycle.claim_job(job.pk, worker="celery@render-node-7")
    GenerationJob.objects.filter(pk=job.pk).update(lease_expires_at=job.created_at)  # it died
    lifecycle.requeue_stale_jobs()
    run_job_task.apply(args=[job.pk]).get()
    _, secret = ApiKey.issue(merchant, "storefront")

    api = client.get(f"/api/v1/jobs/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.force_login(user)
    page = client.get(reverse("dashboard:job", args=[job.pk])).content.decode()
    admin = admin_client.get(reverse("admin:jobs_generationjob_change", args=[job.pk])).content.decode()

    log = api.json()["attempt_log"]
    assert [(a["number"], a["outcome"], a["error_code"]) for a in log] == [
        (1, "lost", "worker_lost"),
        (2, "ok", ""),
    ]
    assert all(set(a) == {"number", "started_at", "ended_at", "outcome", "error_code"} for a in log)
    assert "Tried 2 times" in page and "Worker stopped responding" in page
    # the merchant does not learn the names of our machines; the operator does
    assert "render-node-7" not in api.content.decode() and "render-node-7" not in page
    assert "celery@render-node-7" in admin and "worker_lost" in admin
