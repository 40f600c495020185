"""Webhooks delivered by a real Celery worker on the real broker: a job's events reach a
loopback storefront once each, and a failed attempt is retried by the beat sweep."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook

from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import JobStatus
from shop_assets.webhooks.endpoints import create_endpoint
from shop_assets.webhooks.events import send_test_event
from shop_assets.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.conftest import WorkerProcess, wait_for_job
from tests.loopback import Receiver, Reply

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def loopback_allowed(settings, monkeypatch):
    settings.ALLOW_PRIVATE_URLS = True
    monkeypatch.setenv("SHOPASSETS_ALLOW_PRIVATE_URLS", "true")  # for the worker processes
    monkeypatch.setenv("SHOPASSETS_WEBHOOK_SWEEP_SECONDS", "1")


def wait_for_requests(receiver: Receiver, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.received) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(receiver.received)} of {count} webhooks arrived in {timeout}s")
        time.sleep(0.1)


def test_a_jobs_events_are_delivered_once_each_by_the_worker(product_image, merchant):
    with Receiver([Reply(200)]) as shop:
        endpoint = create_endpoint(merchant, f"{shop.url}/hooks", ["asset.created", "job.succeeded"])
        worker = WorkerProcess(queues="default,gpu,webhooks")
        try:
            job = job_requests.create_job(product_image.product, product_image, ["packshot"], {})
            job = wait_for_job(job.pk)
            wait_for_requests(shop, 2)
            time.sleep(2)  # nothing more arrives
        finally:
            worker.stop()

    assert job.status == JobStatus.SUCCEEDED, worker.output()
    bodies = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in shop.received]
    assert sorted(b["type"] for b in bodies) == ["asset.created", "job.succeeded"]
    assert len({r.headers["webhook-id"] for r in shop.received}) == 2
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert [(d.status, d.attempt_count) for d in deliveries] == [(DeliveryStatus.SUCCEEDED, 1)] * 2
    asset_event = next(b for b in bodies if b["type"] == "asset.created")
    assert asset_event["data"]["asset"]["sku"] == "BTL-001"
    assert asset_event["data"]["asset"]["kind"] == "packshot"


def test_a_failed_attempt_is_retried_by_the_beat_sweep(merchant):
    with Receiver([Reply(500, b"deploying"), Reply(200)]) as shop:
        endpoint = create_endpoint(merchant, shop.url)
        worker = WorkerProcess(queues="webhooks", beat=True)
        try:
            delivery = send_test_event(endpoint)
            wait_for_requests(shop, 2, timeout=90)
        finally:
            worker.stop()

    delivery.refresh_from_db()
    first, second = shop.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event.public_id
    assert 4.0 <= second.at - first.at < 30  # the first retry waits 5 s (+-20%)
    assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.SUCCEEDED, 2), worker.output()
    assert [a.status_code for a in delivery.attempts.all()] == [500, 200]


def test_a_worker_killed_mid_job_still_announces_the_job_once(product_image, merchant):
    """SIGKILL the process running the job; the job runs again on the same worker and the
    storefront hears about it once: one job.succeeded, one asset.created per asset."""
    import os
    import signal

    with Receiver([Reply(200)]) as shop:
        endpoint = create_endpoint(merchant, shop.url, ["asset.created", "job.succeeded"])
        worker = WorkerProcess(queues="default,gpu,webhooks")
        try:
            job = job_requests.create_job(
                product_image.product,
                product_image,
                ["scene"],
                {"scene": {"theme": "studio_sweep", "count": 3, "width": 1200, "height": 1200}},
            )
            wait_for_job(
                job.pk, until=lambda j: j.status == JobStatus.RUNNING and j.progress >= 10, timeout=90
            )
            for pid in worker.children():
                os.kill(pid, signal.SIGKILL)
            job = wait_for_job(job.pk, timeout=240)
            wait_for_requests(shop, 4, timeout=90)
            time.sleep(3)  # nothing more arrives
        finally:
            worker.stop()

    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2), worker.output()
    bodies = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in shop.received]
    assert sorted(b["type"] for b in bodies) == ["asset.created"] * 3 + ["job.succeeded"]
    assert len({r.headers["webhook-id"] for r in shop.received}) == 4
    assert sorted(b["data"]["asset"]["name"] for b in bodies if b["type"] == "asset.created") == [
        f"scene-studio_sweep-{i:02d}" for i in range(1, 4)
    ]
