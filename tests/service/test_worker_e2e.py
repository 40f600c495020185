"""A real Celery worker process on a real broker: the filesystem broker by default, or
Redis / RabbitMQ when CELERY_BROKER_URL names one. The database row is polled for the
outcome, as the dashboard does."""

from __future__ import annotations

import io
import os
import signal

import pytest
from django.conf import settings
from PIL import Image

from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, JobStatus
from shop_assets.jobs.storage import read_bytes
from tests.conftest import stored_files, wait_for_job

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_broker_is_the_one_configured():
    expected = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    assert settings.CELERY_BROKER_URL == expected


def test_job_runs_on_a_real_worker(worker, product_image):
    job = job_requests.create_job(product_image.product, product_image, ["packshot"], {})

    job = wait_for_job(job.pk)

    assert job.status == JobStatus.SUCCEEDED, f"{job.error_message}\n{worker.output()}"
    asset = job.assets.get()
    image = Image.open(io.BytesIO(read_bytes(asset.storage_key)))
    assert image.size == (2000, 2000)
    assert asset.metrics["fidelity"]["identical"] is True
    assert asset.checksum == __import__("hashlib").sha256(read_bytes(asset.storage_key)).hexdigest()
    # the broker keeps everything under the data folder, nothing in the checkout
    assert not (settings.BASE_DIR / "control").exists()


def test_worker_killed_mid_job_finishes_exactly_once(worker, product_image):
    """SIGKILL the process running the job; the job is redelivered, waits out the dead
    worker's lease, runs again and ends with one set of assets."""
    job = job_requests.create_job(
        product_image.product,
        product_image,
        ["packshot", "scene"],
        {"scene": {"theme": "studio_sweep", "count": 6, "width": 1600, "height": 1600}},
    )
    running = wait_for_job(
        job.pk, until=lambda j: j.status == JobStatus.RUNNING and j.progress >= 10, timeout=60
    )
    assert running.attempts == 1
    children = worker.children()
    assert children, worker.output()

    for pid in children:
        os.kill(pid, signal.SIGKILL)
    job = wait_for_job(job.pk, timeout=180)

    assert job.status == JobStatus.SUCCEEDED, f"{job.error_message}\n{worker.output()}"
    assert job.attempts == 2
    tries = list(job.attempt_log.values_list("number", "outcome", "error_code", "worker"))
    assert [t[:3] for t in tries] == [(1, "lost", "worker_lost"), (2, "ok", "")]
    assert all(t[3].startswith("test-") and "@" in t[3] for t in tries)  # the worker node names itself
    names = sorted(Asset.objects.filter(job=job).values_list("name", flat=True))
    assert names == ["packshot"] + [f"scene-studio_sweep-{i:02d}" for i in range(1, 7)]
    prefix = f"merchants/{job.merchant_id}/products/{job.product.sku}/jobs/{job.pk}/"
    job_files = [f for f in stored_files() if f.startswith(prefix)]
    assert sorted(job_files) == sorted(Asset.objects.filter(job=job).values_list("storage_key", flat=True))


def test_gpu_jobs_never_reach_a_cpu_worker(product_image, diffusion_installed):
    """A worker on the default queue only must leave a gpu-queue job alone."""
    import time

    from tests.conftest import WorkerProcess

    cpu_worker = WorkerProcess(queues="default")
    try:
        gpu_job = job_requests.create_job(
            product_image.product, product_image, ["scene"], {"scene": {"engine": "diffusion", "count": 1}}
        )
        cpu_job = job_requests.create_job(product_image.product, product_image, ["cutout"], {})
        wait_for_job(cpu_job.pk)
        time.sleep(2)
        gpu_job.refresh_from_db()
    finally:
        cpu_worker.stop()

    assert gpu_job.queue == "gpu"
    assert (gpu_job.status, gpu_job.attempts) == (JobStatus.QUEUED, 0)


def test_whole_worker_killed_then_a_new_worker_takes_the_job_over(product_image):
    """SIGKILL the worker and its pool (the broker may lose the message); a new worker
    with the beat sweeper finds the expired lease and finishes the job exactly once."""
    from tests.conftest import WorkerProcess

    first = WorkerProcess()
    job = job_requests.create_job(
        product_image.product,
        product_image,
        ["scene"],
        {"scene": {"theme": "wooden_table", "count": 6, "width": 1600, "height": 1600}},
    )
    wait_for_job(job.pk, until=lambda j: j.status == JobStatus.RUNNING and j.progress >= 10, timeout=60)
    for pid in [*first.children(), first.proc.pid]:
        os.kill(pid, signal.SIGKILL)
    first.proc.wait()
    first.stop()

    second = WorkerProcess(beat=True)
    try:
        job = wait_for_job(job.pk, timeout=180)
    finally:
        second.stop()

    assert job.status == JobStatus.SUCCEEDED, f"{job.error_message}\n{second.output()}"
    assert job.attempts == 2
    names = sorted(Asset.objects.filter(job=job).values_list("name", flat=True))
    assert names == [f"scene-wooden_table-{i:02d}" for i in range(1, 7)]
    prefix = f"merchants/{job.merchant_id}/products/{job.product.sku}/jobs/{job.pk}/"
    assert sorted(f for f in stored_files() if f.startswith(prefix)) == sorted(
        Asset.objects.filter(job=job).values_list("storage_key", flat=True)
    )
