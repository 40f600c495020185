"""A batch with a campaign: one job per SKU, made once, within the merchant's job quota.

The row tasks run in the test process (``prepare_row``, the task's body); jobs are
saved but not run (their tasks are sent after a commit that never comes here)."""

from __future__ import annotations

import io
import json
import threading

import pytest
from django.db import connection

from shop_assets.accounts.models import ApiKey
from shop_assets.bulk import campaigns, fanout, imports
from shop_assets.bulk.models import Batch, BatchRow, BatchStatus, RowState
from shop_assets.catalog.services import add_product_image
from shop_assets.jobs import storage
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.webhooks.models import WebhookEvent
from tests.bulk_files import simple_csv, zip_bytes
from tests.conftest import jpeg_bytes, stored_files
from tests.synthetic import product_photo


def photo(n: int) -> bytes:
    image, _ = product_photo((320 + 8 * n, 400), "gradient", scale=0.5 + 0.02 * n)
    return jpeg_bytes(image)


@pytest.fixture(autouse=True)
def no_files_left():
    """Batches left running here keep their uploads and staged photos; later tests count files."""
    yield
    storage.delete_keys([key for key in stored_files() if "/batches/" in key])


@pytest.fixture
def campaign(merchant):
    return campaigns.save_campaign(
        merchant,
        name="Sale",
        outputs=["packshot", "poster"],
        parameters={"packshot": {"size": 1600}, "poster": {"sizes": ["square"]}},
        headline="{title} {discount}",
    )


def catalogue(merchant, count: int, *, photos: bool = True, extra: list[dict] | None = None) -> Batch:
    rows = [
        {
            "sku": f"S-{i}",
            "title": f"Shirt {i}",
            "price": "8",
            "compare_at_price": "10",
            "image": f"S-{i}.jpg",
        }
        for i in range(count)
    ] + (extra or [])
    images = zip_bytes({f"S-{i}.jpg": photo(i) for i in range(count)}) if photos else None
    return imports.preview_batch(
        merchant,
        io.BytesIO(simple_csv(rows)),
        "p.csv",
        io.BytesIO(images) if images else None,
        "images.zip" if images else "",
    )


def start(batch: Batch, campaign=None) -> Batch:
    fanout.confirm_batch(batch, campaign)
    imports.import_batch(batch.pk)
    batch.refresh_from_db()
    return batch


def prepare_admitted(batch: Batch) -> list[str]:
    fanout.advance_batch(batch.pk)
    ids = (
        BatchRow.objects.filter(batch=batch, state=RowState.ADMITTED)
        .order_by("line")
        .values_list("pk", flat=True)
    )
    return [fanout.prepare_row(pk) for pk in list(ids)]


@pytest.mark.django_db
def test_confirming_with_a_campaign_freezes_its_request(merchant, campaign):
    batch = start(catalogue(merchant, 1), campaign)

    campaign.headline = "{sku}"
    campaign.save()

    batch.refresh_from_db()
    assert batch.campaign == campaign
    assert batch.request == {
        "outputs": ["packshot", "poster"],
        "packshot": {"size": 1600},
        "poster": {"sizes": ["square"]},
    }
    assert batch.headline == "{title} {discount}"


@pytest.mark.django_db
def test_one_job_per_sku_from_the_frozen_request(merchant, campaign):
    batch = start(
        catalogue(
            merchant, 3, extra=[{"sku": "OWN", "title": "Own", "headline": "Row words", "image": "S-0.jpg"}]
        ),
        campaign,
    )

    states = prepare_admitted(batch)

    assert states == ["job", "job", "job", "job"]
    rows = {r.sku: r for r in BatchRow.objects.filter(batch=batch).select_related("job")}
    assert GenerationJob.objects.count() == 4
    for row in rows.values():
        job = row.job
        assert (row.state, job.product_id, job.image_id, job.outputs) == (
            "job",
            row.product_id,
            row.image_id,
            ["packshot", "poster"],
        )
        assert job.parameters["packshot"]["size"] == 1600 and job.parameters["poster"]["sizes"] == ["square"]
    assert rows["S-1"].job.parameters["poster"]["headline"] == "Shirt 1 20%"
    assert rows["OWN"].job.parameters["poster"]["headline"] == "Row words"
    counts = fanout.batch_counts(batch)
    assert (counts.total, counts.queued, counts.succeeded, counts.imported) == (4, 4, 0, 0)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING  # jobs still queued


@pytest.mark.django_db
def test_a_redelivered_row_task_makes_no_second_job(merchant, campaign):
    batch = start(catalogue(merchant, 1), campaign)
    fanout.advance_batch(batch.pk)
    row = BatchRow.objects.get(batch=batch)

    first = fanout.prepare_row(row.pk)
    again = fanout.prepare_row(row.pk)

    assert (first, again) == ("job", "nothing to do")
    assert GenerationJob.objects.count() == 1
    assert BatchRow.objects.get(pk=row.pk).job == GenerationJob.objects.get()


@pytest.mark.django_db
def test_a_failed_sku_does_not_stop_the_others(merchant, campaign):
    # a row without a photo fails; the others make their jobs
    batch = start(
        catalogue(merchant, 2, extra=[{"sku": "NOPIC", "title": "No photo"}]),
        campaign,
    )

    states = prepare_admitted(batch)

    assert states == ["job", "job", "failed"]
    failed = BatchRow.objects.get(batch=batch, sku="NOPIC")
    assert failed.error == "the product has no photo: give one in the file or upload one first"
    assert failed.job is None
    assert GenerationJob.objects.count() == 2
    assert fanout.batch_counts(batch).failed == 1


@pytest.mark.django_db
def test_rows_wait_for_the_job_quota_and_are_not_failed(merchant, campaign, settings):
    settings.MAX_QUEUED_JOBS = 3
    batch = start(catalogue(merchant, 5), campaign)

    # the window is cut to the places left: three rows admitted, two wait
    assert fanout.advance_batch(batch.pk) == 3
    for pk in BatchRow.objects.filter(batch=batch, state=RowState.ADMITTED).values_list("pk", flat=True):
        assert fanout.prepare_row(pk) == "job"
    assert fanout.advance_batch(batch.pk) == 0
    states = sorted(BatchRow.objects.filter(batch=batch).values_list("state", flat=True))
    assert states == ["job", "job", "job", "pending", "pending"]
    assert GenerationJob.objects.filter(status=JobStatus.QUEUED).count() == 3
    # when jobs finish, the waiting rows take their places
    GenerationJob.objects.update(status=JobStatus.SUCCEEDED)
    assert prepare_admitted(batch) == ["job", "job"]
    GenerationJob.objects.update(status=JobStatus.SUCCEEDED)
    fanout.advance_batch(batch.pk)
    done = Batch.objects.get(pk=batch.pk)
    assert done.status == BatchStatus.DONE
    assert GenerationJob.objects.count() == 5
    events = WebhookEvent.objects.filter(merchant=merchant, type="batch.completed")
    assert events.count() == 1
    assert events.get().payload["batch"]["counts"]["succeeded"] == 5


@pytest.mark.django_db
def test_a_batch_whose_rows_wait_for_other_jobs_is_not_done(merchant, campaign, settings, product_image):
    settings.MAX_QUEUED_JOBS = 1
    campaigns.create_job(campaign.request, campaign.headline, product_image.product, product_image)
    batch = start(catalogue(merchant, 2), campaign)

    # no place, no row being prepared, none of its jobs in flight: still not finished
    assert fanout.advance_batch(batch.pk) == 0

    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING
    assert sorted(BatchRow.objects.filter(batch=batch).values_list("state", flat=True)) == [
        "pending",
        "pending",
    ]
    assert not WebhookEvent.objects.filter(type="batch.completed").exists()


@pytest.mark.django_db
def test_a_row_that_finds_the_quota_taken_goes_back_to_wait(merchant, campaign, settings, product_image):
    settings.MAX_QUEUED_JOBS = 1
    batch = start(catalogue(merchant, 1), campaign)
    assert fanout.advance_batch(batch.pk) == 1
    row = BatchRow.objects.get(batch=batch)
    # another job takes the last place between the row's admission and its task
    campaigns.create_job(campaign.request, campaign.headline, product_image.product, product_image)

    assert fanout.prepare_row(row.pk) == "pending"

    row.refresh_from_db()
    assert (row.state, row.error, row.job) == ("pending", "", None)
    assert row.image is not None  # its photo is kept for the next try
    assert GenerationJob.objects.count() == 1
    GenerationJob.objects.update(status=JobStatus.SUCCEEDED)
    assert prepare_admitted(batch) == ["job"]


@pytest.mark.django_db
def test_a_batch_without_a_campaign_makes_no_jobs(merchant):
    batch = start(catalogue(merchant, 2))

    assert prepare_admitted(batch) == ["imported", "imported"]
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db
def test_another_shops_campaign_is_refused_at_confirm(merchant, other_merchant):
    theirs = campaigns.save_campaign(other_merchant, name="Theirs", outputs=["packshot"], parameters={})
    batch = catalogue(merchant, 1)

    with pytest.raises(fanout.NotConfirmable, match="another shop"):
        fanout.confirm_batch(batch, theirs)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.PREVIEW


# --- the API ------------------------------------------------------------------------------


def upload(client, key: str, data: bytes, **fields):
    file = io.BytesIO(data)
    file.name = "p.csv"
    return client.post("/api/v1/batches", {"file": file, **fields}, HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.django_db
def test_api_upload_with_a_saved_or_inline_campaign(client, merchant, other_merchant, campaign):
    key = ApiKey.issue(merchant, "t")[1]
    data = simple_csv([{"sku": "A-1", "title": "A"}])

    saved = upload(client, key, data, campaign_id=str(campaign.pk))
    assert saved.status_code == 201, saved.json()
    assert (saved.json()["campaign_id"], saved.json()["outputs"]) == (campaign.pk, ["packshot", "poster"])

    inline = upload(client, key, data, campaign=json.dumps({"outputs": ["packshot"], "headline": "{sku}"}))
    assert inline.status_code == 201, inline.json()
    batch = Batch.objects.get(pk=inline.json()["id"])
    assert (batch.campaign, batch.request, batch.headline) == (None, {"outputs": ["packshot"]}, "{sku}")

    bad = upload(
        client,
        key,
        data,
        campaign=json.dumps({"outputs": ["poster"], "parameters": {"poster": {"sizes": ["x"]}}}),
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "campaign.parameters.poster.sizes[0]"
    rule = upload(client, key, data, campaign=json.dumps({"outputs": ["poster"], "headline": "{oops}"}))
    assert (rule.status_code, rule.json()["field"]) == (400, "campaign.headline")

    theirs = campaigns.save_campaign(other_merchant, name="Theirs", outputs=["packshot"], parameters={})
    refused = upload(client, key, data, campaign_id=str(theirs.pk))
    assert refused.status_code == 400
    assert refused.json() == {
        "code": "unknown_campaign",
        "detail": f"Your shop has no campaign {theirs.pk}.",
        "field": "campaign_id",
    }
    assert Batch.objects.filter(merchant=merchant).count() == 2  # the refused uploads kept nothing


@pytest.mark.django_db
def test_api_confirm_with_a_campaign(client, merchant, campaign):
    key = ApiKey.issue(merchant, "t")[1]
    batch_id = upload(client, key, simple_csv([{"sku": "A-1", "title": "A"}])).json()["id"]

    response = client.post(
        f"/api/v1/batches/{batch_id}/confirm?campaign_id={campaign.pk}", HTTP_AUTHORIZATION=f"Bearer {key}"
    )

    assert response.status_code == 202, response.json()
    batch = Batch.objects.get(pk=batch_id)
    assert (batch.campaign, batch.request["outputs"], batch.headline) == (
        campaign,
        ["packshot", "poster"],
        "{title} {discount}",
    )


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_make_one_job(merchant, campaign):
    """The broker may hand the same row to two workers; the row lock lets one make the job."""
    batch = start(catalogue(merchant, 1), campaign)
    fanout.advance_batch(batch.pk)
    row = BatchRow.objects.get(batch=batch)
    # the photo is in place already: both deliveries go straight to the job
    image = add_product_image(row.product, photo(0), filename="p.jpg")
    BatchRow.objects.filter(pk=row.pk).update(image=image, staged_key="")
    ready = threading.Barrier(2)
    results: list[str] = []

    def deliver() -> None:
        try:
            ready.wait()
            results.append(fanout.prepare_row(row.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(results) == ["job", "nothing to do"]
    assert GenerationJob.objects.count() == 1
    assert BatchRow.objects.get(pk=row.pk).job == GenerationJob.objects.get()


@pytest.mark.django_db
def test_a_batch_with_a_job_held_for_review_is_done_only_when_it_resumes_and_finishes(merchant, campaign):
    # given a batch whose two jobs were made, one of them held for review
    batch = start(catalogue(merchant, 2), campaign)
    assert prepare_admitted(batch) == ["job", "job"]
    first, second = GenerationJob.objects.order_by("pk")
    GenerationJob.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED)
    GenerationJob.objects.filter(pk=second.pk).update(status=JobStatus.NEEDS_REVIEW)

    # when the batch is advanced: it is not done, and the held job is not counted as finished
    fanout.advance_batch(batch.pk)
    counts = fanout.batch_counts(batch)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING
    assert (counts.needs_review, counts.finished, counts.progress) == (1, 1, 50)
    assert not WebhookEvent.objects.filter(type="batch.completed").exists()

    # when the merchant accepts the cutout and the job finishes, the batch completes once
    GenerationJob.objects.filter(pk=second.pk).update(status=JobStatus.SUCCEEDED)
    fanout.advance_batch(batch.pk)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.DONE
    events = WebhookEvent.objects.filter(merchant=merchant, type="batch.completed")
    assert events.count() == 1
    assert events.get().payload["batch"]["counts"]["succeeded"] == 2
