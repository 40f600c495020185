"""A batch on a real Celery worker (filesystem broker, or the broker CI configures):
confirm -> import task -> one task per row -> photos fetched from a loopback server ->
batch done; a failing photo fails its row only. The import's tasks have their own queue,
``bulk``: a batch is imported by a worker of that queue alone, never behind a render."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest

from shop_assets.bulk import campaigns, exports, fanout, imports
from shop_assets.bulk.models import Batch, BatchStatus, RowState
from shop_assets.catalog.models import ProductImage
from shop_assets.celery import app
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.webhooks.models import WebhookEvent
from tests.bulk_files import simple_csv, zip_bytes
from tests.conftest import WorkerProcess, jpeg_bytes
from tests.loopback import Received, Receiver, Reply
from tests.synthetic import product_photo


def wait_for_batch(batch_id: int, timeout: float = 120) -> Batch:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = Batch.objects.get(pk=batch_id)
        if batch.status in (BatchStatus.DONE, BatchStatus.FAILED):
            return batch
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} still {batch.status}: {fanout.batch_counts(batch)}")


@pytest.mark.parametrize(
    "task",
    [fanout.IMPORT_TASK, fanout.ROW_TASK, "shop_assets.bulk.tasks.advance_batches_task"],
)
def test_every_bulk_import_task_goes_to_the_bulk_queue(task):
    # the tick beat sends by name is routed like the tasks the import sends itself
    route = app.amqp.router.route({}, task)
    assert (route["queue"].name, route["queue"].routing_key) == ("bulk", "bulk")
    assert fanout.QUEUE == "bulk"


@pytest.mark.slow
def test_a_batch_runs_on_a_real_worker(transactional_db, merchant, monkeypatch, settings):
    photo = jpeg_bytes(product_photo((320, 400), "gradient")[0])

    def answer(got: Received) -> Reply:
        if got.path.startswith("/ok-"):
            return Reply(200, photo, content_type="image/jpeg")
        return Reply(404, b"gone")

    monkeypatch.setenv("SHOPASSETS_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("SHOPASSETS_BATCH_WINDOW", "2")  # several windows for 5 rows
    settings.BATCH_WINDOW = 2
    with Receiver(answer) as host:
        rows = [
            {"sku": f"W-{i}", "title": f"Bottle {i}", "image": f"{host.url}/ok-{i}.jpg"} for i in range(4)
        ]
        rows.append({"sku": "W-GONE", "title": "Gone", "image": f"{host.url}/gone.jpg"})
        batch = imports.preview_batch(merchant, io.BytesIO(simple_csv(rows)), "p.csv")
        # a worker of the bulk queue only: no job worker is needed to import a batch
        worker = WorkerProcess(queues="bulk", beat=True)
        try:
            fanout.confirm_batch(batch)  # autocommit here: the import task is sent at once
            done = wait_for_batch(batch.pk)
        finally:
            worker.stop()

    assert done.status == BatchStatus.DONE, worker.output()
    states = dict(done.rows.values_list("sku", "state"))
    assert states == {
        "W-0": "imported",
        "W-1": "imported",
        "W-2": "imported",
        "W-3": "imported",
        "W-GONE": "failed",
    }
    assert done.rows.get(sku="W-GONE").error == "the photo URL answered HTTP 404"
    assert ProductImage.objects.filter(product__merchant=merchant).count() == 4
    counts = fanout.batch_counts(done)
    assert (counts.total, counts.imported, counts.failed, counts.queued, counts.waiting) == (5, 4, 1, 0, 0)
    assert sorted(r.path for r in host.received) == [
        "/gone.jpg",
        "/ok-0.jpg",
        "/ok-1.jpg",
        "/ok-2.jpg",
        "/ok-3.jpg",
    ]
    assert not done.rows.filter(state=RowState.ADMITTED).exists()


@pytest.mark.slow
def test_a_batch_with_a_campaign_makes_packshots_on_a_real_worker(
    transactional_db, merchant, monkeypatch, settings
):
    """One job per SKU on the worker; counts, the results CSV and the assets ZIP by SKU;
    ``batch.completed`` once every job has finished; a refused photo fails its row only."""
    monkeypatch.setenv("SHOPASSETS_BATCH_TICK_SECONDS", "1")
    monkeypatch.setenv("SHOPASSETS_BATCH_WINDOW", "2")
    settings.BATCH_WINDOW = 2
    campaign = campaigns.save_campaign(
        merchant, name="Packshots", outputs=["packshot"], parameters={"packshot": {"size": 1600}}
    )
    # three widths the classical cut gets right (IoU 0.99, trusted): at 336 px it bites into
    # the label and holds the job for review, which keeps a batch open (see
    # tests/generation/test_segment.py's label-hole test)
    photos = {
        f"P-{i}.jpg": jpeg_bytes(product_photo((width, 400), "gradient")[0])
        for i, width in enumerate((320, 352, 384))
    }
    photos["BROKEN.jpg"] = b"not a photo at all"
    rows = [{"sku": name[:-4], "title": name[:-4], "image": name} for name in photos]
    batch = imports.preview_batch(
        merchant, io.BytesIO(simple_csv(rows)), "p.csv", io.BytesIO(zip_bytes(photos)), "photos.zip"
    )
    worker = WorkerProcess(queues="default,gpu,bulk", beat=True)
    try:
        fanout.confirm_batch(batch, campaign)
        done = wait_for_batch(batch.pk, timeout=240)
    finally:
        worker.stop()

    assert done.status == BatchStatus.DONE, worker.output()
    jobs = GenerationJob.objects.filter(merchant=merchant)
    assert sorted(jobs.values_list("product__sku", "status")) == [
        ("P-0", JobStatus.SUCCEEDED),
        ("P-1", JobStatus.SUCCEEDED),
        ("P-2", JobStatus.SUCCEEDED),
    ], worker.output()
    broken = done.rows.get(sku="BROKEN")
    assert broken.state == RowState.FAILED and broken.error.startswith("the photo was refused")
    counts = fanout.batch_counts(done)
    assert (
        counts.total,
        counts.succeeded,
        counts.failed,
        counts.queued,
        counts.running,
        counts.progress,
    ) == (
        4,
        3,
        1,
        0,
        0,
        100,
    )
    # every job finished before the batch did, and it was announced once
    last_job = max(jobs.values_list("finished_at", flat=True))
    assert done.finished_at >= last_job
    events = WebhookEvent.objects.filter(merchant=merchant, type="batch.completed")
    assert events.count() == 1 and events.get().payload["batch"]["counts"]["succeeded"] == 3

    response = exports.results_csv(done, lambda a: f"/a/{a.pk}")
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assets = {
        a.job.product.sku: a
        for a in Asset.objects.filter(job__merchant=merchant).select_related("job__product")
    }
    assert sorted((r["sku"], r["asset_kind"], r["width"], r["height"], r["download_url"]) for r in lines) == [
        (sku, "packshot", "1600", "1600", f"/a/{assets[sku].pk}") for sku in ("P-0", "P-1", "P-2")
    ]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(exports.assets_zip(done).streaming_content)))
    assert sorted(archive.namelist()) == sorted(
        f"{sku}/{assets[sku].filename}" for sku in ("P-0", "P-1", "P-2")
    )
    assert archive.read(f"P-1/{assets['P-1'].filename}")[:8] == b"\x89PNG\r\n\x1a\n"
