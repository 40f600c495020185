"""A database connection that dies mid-job: the retry path used to touch the dead connection
again, crash, and leave the job running until the sweeper took it over."""

from __future__ import annotations

import time

import pytest
from django.db import connection, connections

from shop_assets.jobs import lifecycle, storing
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)


class DeadConnection:
    """The driver connection after the server dropped it: every use fails until it is closed."""

    def __init__(self, real) -> None:
        self._real = real

    def close(self) -> None:
        self._real.close()

    def __getattr__(self, name: str):
        raise connection.Database.OperationalError("server closed the connection unexpectedly")


def cut_the_connection() -> None:
    connection.ensure_connection()
    connection.connection = DeadConnection(connection.connection)


@pytest.fixture
def job(product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    return job_requests.create_job(
        product_image.product, product_image, ["cutout"], {"segmenter": "classical"}
    )


def test_connection_cut_after_generation_is_retried_and_the_job_completes(job, monkeypatch, caplog):
    from generation import pipelines

    real_run = pipelines.run_outputs
    calls = []

    def run_then_lose_the_database(*args, **kwargs):
        calls.append(1)
        result = real_run(*args, **kwargs)
        if len(calls) == 1:
            cut_the_connection()
        return result

    monkeypatch.setattr(pipelines, "run_outputs", run_then_lose_the_database)

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "succeeded", job.error_message
    assert (job.status, job.attempts, job.lease_token) == (JobStatus.SUCCEEDED, 2, "")
    assert list(Asset.objects.filter(job=job).values_list("name", flat=True)) == ["cutout"]
    assert sum("retry:" in r.getMessage() for r in caplog.records) == 1


def test_connection_cut_before_the_assets_are_recorded_is_retried(job, monkeypatch):
    real_store = storing.store_outputs
    calls = []

    def store_then_lose_the_database(*args, **kwargs):
        calls.append(1)
        stored = real_store(*args, **kwargs)
        if len(calls) == 1:
            cut_the_connection()
        return stored

    monkeypatch.setattr(storing, "store_outputs", store_then_lose_the_database)

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "succeeded", job.error_message
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
    assert list(Asset.objects.filter(job=job).values_list("name", flat=True)) == ["cutout"]


def test_postgresql_backend_terminated_mid_job_is_retried_and_the_job_completes(job, monkeypatch):
    """The real thing on PostgreSQL: the server ends the worker's session mid-job."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL (CI's services run); the SQLite run cuts it above")
    from generation import pipelines

    real_run = pipelines.run_outputs
    calls = []

    def run_then_terminate_our_session(*args, **kwargs):
        calls.append(1)
        result = real_run(*args, **kwargs)
        if len(calls) == 1:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            admin = connections.create_connection("default")
            try:
                with admin.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            finally:
                admin.close()
        return result

    monkeypatch.setattr(pipelines, "run_outputs", run_then_terminate_our_session)

    outcome = run_job_task.apply(args=[job.pk]).get()

    job.refresh_from_db()
    assert outcome == "succeeded", job.error_message
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
    assert list(job.attempt_log.values_list("outcome", "error_code")) == [
        ("retry", "database_unavailable"),
        ("ok", ""),
    ]


def test_the_heartbeat_reconnects_after_its_connection_dies(job, monkeypatch, settings):
    """A heartbeat that kept its dead connection failed every beat, and the job was taken
    from a worker that was still working on it."""
    settings.JOB_LEASE_SECONDS = 2
    token = lifecycle.claim_job(job.pk)
    real_renew = lifecycle.renew_lease
    beats = []

    def renew_on_a_cut_connection_once(*args, **kwargs):
        beats.append(1)
        if len(beats) == 1:
            cut_the_connection()  # the heartbeat thread's own connection
        return real_renew(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "renew_lease", renew_on_a_cut_connection_once)

    with lifecycle.Heartbeat(job.pk, token) as beat:
        time.sleep(3)
        taken = lifecycle.claim_job(job.pk)

    assert len(beats) >= 3 and not beat.lost
    assert taken is None  # still ours
    assert GenerationJob.objects.get(pk=job.pk).lease_token == token
