"""A batch on a real Celery worker (filesystem broker, or the broker CI configures):
confirm -> import task -> one task per row -> photos fetched from a loopback server ->
batch done; a failing photo fails its row only."""

from __future__ import annotations

import io
import time

import pytest

from shop_assets.bulk import fanout, imports
from shop_assets.bulk.models import Batch, BatchStatus, RowState
from shop_assets.catalog.models import ProductImage
from tests.bulk_files import simple_csv
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
        worker = WorkerProcess(beat=True)
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
