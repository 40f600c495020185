"""Dashboard pages of the bulk import: upload -> preview -> confirm, live progress,
per-row errors, retry; another merchant's batches answer 404."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from shop_assets.bulk import fanout, imports
from shop_assets.bulk.models import Batch, BatchRow, BatchStatus, RowState
from shop_assets.jobs.models import Asset, GenerationJob
from tests.bulk_files import shopify_export, simple_csv, zip_bytes


def csv_file(data: bytes, name: str = "products_export.csv") -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


@pytest.mark.django_db
def test_upload_shows_the_preview_then_confirm_starts_it(
    signed_in, merchant, django_capture_on_commit_callbacks
):
    # when a Shopify export is uploaded from the dashboard
    response = signed_in.post(reverse("bulk:upload"), {"catalogue": csv_file(shopify_export())})

    # then the merchant lands on the preview: counts and the refused rows with their lines
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("bulk:batch", args=[batch.pk])
    page = signed_in.get(response["Location"]).content.decode()
    assert (
        '<strong id="create-count">5</strong>' in page
        and '<strong id="error-count" class="error">2</strong>' in page
    )
    assert '<tr data-line="14">' in page and "variant of &#x27;gift-card&#x27; has no SKU" in page
    # the rows with problems only, as there are some (the rows to create are under "all rows")
    assert '<strong aria-current="true">rows with problems</strong>' in page
    assert page.count("<tr data-line=") == 2 and "Shopify product CSV · Unicode (UTF-8) · " in page
    assert "Import 5 products" in page and merchant.products.count() == 0

    # when the merchant confirms
    with django_capture_on_commit_callbacks() as sent:
        confirmed = signed_in.post(reverse("bulk:confirm", args=[batch.pk]))
    assert confirmed.status_code == 302 and len(sent) == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.IMPORTING and batch.created_by.username == "alice"

    # then the batch page polls its status while it runs
    fragment = signed_in.get(
        reverse("bulk:progress", args=[batch.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'hx-trigger="every 2s"' in fragment and 'data-status="importing"' in fragment


@pytest.mark.django_db
def test_a_refused_upload_shows_the_reason_on_the_form(signed_in):
    zipped = csv_file(zip_bytes({"a/../../x.jpg": b"1"}), "photos.zip")
    response = signed_in.post(
        reverse("bulk:upload"),
        {"catalogue": csv_file(simple_csv([{"sku": "A", "title": "A"}])), "images": zipped},
    )
    assert response.status_code == 400
    assert (
        "The ZIP entry &#x27;a/../../x.jpg&#x27; climbs out of the archive with &#x27;..&#x27;."
        in response.content.decode()
    )
    assert Batch.objects.count() == 0


@pytest.mark.django_db
def test_progress_counts_and_retry_of_failed_rows(signed_in, merchant, django_capture_on_commit_callbacks):
    # given a running batch with one imported row and one whose photo failed
    batch = imports.preview_batch(
        merchant,
        io.BytesIO(simple_csv([{"sku": "A-1", "title": "A"}, {"sku": "B-1", "title": "B"}])),
        "p.csv",
    )
    fanout.confirm_batch(batch)
    imports.import_batch(batch.pk)
    BatchRow.objects.filter(batch=batch, sku="A-1").update(state=RowState.IMPORTED)
    BatchRow.objects.filter(batch=batch, sku="B-1").update(
        state=RowState.FAILED, error="the photo URL answered HTTP 404"
    )

    page = signed_in.get(reverse("bulk:batch", args=[batch.pk])).content.decode()
    assert (
        '<strong data-count="failed">1</strong>' in page
        and '<strong data-count="imported">1</strong>' in page
    )
    assert "the photo URL answered HTTP 404" in page and "Retry 1 failed row</button>" in page

    # when the merchant retries
    with django_capture_on_commit_callbacks() as sent:
        signed_in.post(reverse("bulk:retry", args=[batch.pk]))

    # then the failed row is admitted again (its task sent) and the imported one untouched
    assert dict(batch.rows.values_list("sku", "state")) == {
        "A-1": RowState.IMPORTED,
        "B-1": RowState.ADMITTED,
    }
    assert batch.rows.get(sku="B-1").error == "" and len(sent) == 1


@pytest.mark.django_db
def test_another_merchants_batches_answer_404(client, other_user, merchant):
    batch = imports.preview_batch(merchant, io.BytesIO(simple_csv([{"sku": "A-1", "title": "A"}])), "p.csv")
    client.force_login(other_user)
    for name, method in [
        ("bulk:batch", "get"),
        ("bulk:progress", "get"),
        ("bulk:confirm", "post"),
        ("bulk:discard", "post"),
        ("bulk:retry", "post"),
        ("bulk:results", "get"),
        ("bulk:errors", "get"),
        ("bulk:assets", "get"),
    ]:
        assert getattr(client, method)(reverse(name, args=[batch.pk])).status_code == 404, name
    assert "p.csv" not in client.get(reverse("bulk:batches")).content.decode()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PREVIEW


def _progress_words(client, batch) -> str:
    page = client.get(reverse("bulk:batch", args=[batch.pk])).content.decode()
    return page.split('id="batch-progress-text">', 1)[1].split("<", 1)[0]


@pytest.mark.django_db
def test_the_progress_line_says_one_true_thing_in_each_state(signed_in, merchant):
    # given: a file of three rows, one refused, confirmed (its rows were counted at the upload)
    rows = [{"sku": "A-1", "title": "A"}, {"sku": "B-1", "title": "B"}, {"sku": "", "title": "no SKU"}]
    batch = imports.preview_batch(merchant, io.BytesIO(simple_csv(rows)), "p.csv")
    fanout.confirm_batch(batch)
    single = imports.preview_batch(merchant, io.BytesIO(simple_csv(rows[:1])), "one.csv")
    fanout.confirm_batch(single)

    # then: while its products are written the page says so, not that the file is being read,
    # and no row state is counted (none has one yet)
    page = signed_in.get(reverse("bulk:batch", args=[batch.pk])).content.decode()
    assert (batch.total_rows, batch.valid_rows) == (3, 2)
    assert _progress_words(signed_in, batch) == "Importing 2 products…"
    assert 'aria-valuetext="Importing 2 products…"' in page and "Reading your file" not in page
    assert 'id="counts"' not in page
    assert _progress_words(signed_in, single) == "Importing 1 product…"

    # when: the first product is written (the import goes a chunk at a time)
    BatchRow.objects.filter(batch=batch, sku="A-1").update(state=RowState.PENDING)
    # then: the line counts the products written
    assert _progress_words(signed_in, batch) == "Importing products: 1 of 2…"

    # when: every product is written and the rows run, then one row is done
    BatchRow.objects.filter(batch=batch, state=RowState.PENDING).update(state=RowState.PREVIEW)
    imports.import_batch(batch.pk)
    running = _progress_words(signed_in, batch)
    BatchRow.objects.filter(batch=batch, sku="A-1").update(state=RowState.IMPORTED)
    # then: the rows' progress, with their states counted
    assert running == "0 of 2 done"
    assert _progress_words(signed_in, batch) == "1 of 2 done"
    assert 'id="counts"' in signed_in.get(reverse("bulk:batch", args=[batch.pk])).content.decode()

    # and an import that failed before writing a product says nothing was imported
    Batch.objects.filter(pk=single.pk).update(status=BatchStatus.FAILED, error_message="stopped")
    assert _progress_words(signed_in, single) == "Nothing imported"


def _downloads(client, batch) -> str:
    page = client.get(reverse("bulk:batch", args=[batch.pk])).content.decode()
    return page.split('id="progress"', 1)[1].split("<h2>Rows", 1)[0]


@pytest.mark.django_db
def test_results_and_zip_are_offered_once_an_asset_exists(signed_in, merchant, product_image):
    # given: a confirmed batch of two rows, its products still being written
    rows = [{"sku": "A-1", "title": "A"}, {"sku": "B-1", "title": "B"}]
    batch = imports.preview_batch(merchant, io.BytesIO(simple_csv(rows)), "p.csv")
    fanout.confirm_batch(batch)
    results, archive = reverse("bulk:results", args=[batch.pk]), reverse("bulk:assets", args=[batch.pk])

    # then: no link to an empty CSV or a ZIP that answers 404, but when they will come
    part = _downloads(signed_in, batch)
    assert results not in part and archive not in part
    assert "once the first product's assets are made" in part
    assert signed_in.get(archive).status_code == 404

    # when: the rows run and one row's job is done, its asset made, the other still waiting
    imports.import_batch(batch.pk)
    job = GenerationJob.objects.create(
        merchant=merchant, product=product_image.product, image=product_image, status="succeeded"
    )
    Asset.objects.create(
        merchant=merchant, job=job, kind="packshot", name="packshot", format="png",
        storage_key="k/packshot.png", width=10, height=10, size_bytes=1, checksum="0",
    )  # fmt: skip
    BatchRow.objects.filter(batch=batch, sku="A-1").update(state=RowState.JOB, job=job)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RUNNING

    # then: both links, saying they hold what is made so far
    part = _downloads(signed_in, batch)
    assert (
        f'<a href="{results}">Results (CSV)</a>' in part and f'<a href="{archive}">All assets by SKU' in part
    )
    assert "the assets made so far" in part and "once the first" not in part
    lines = b"".join(signed_in.get(results).streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith("A-1,")

    # and: a batch that ended with no asset (products only) says there is nothing to download
    other = imports.preview_batch(merchant, io.BytesIO(simple_csv(rows[:1])), "q.csv")
    fanout.confirm_batch(other)
    imports.import_batch(other.pk)
    Batch.objects.filter(pk=other.pk).update(status=BatchStatus.DONE)
    part = _downloads(signed_in, other)
    assert reverse("bulk:results", args=[other.pk]) not in part
    assert reverse("bulk:assets", args=[other.pk]) not in part
    assert "No assets were made" in part and "so far" not in part


def _errors_csv(client, batch) -> list[list[str]]:
    import csv

    response = client.get(reverse("bulk:errors", args=[batch.pk]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.django_db
def test_refused_and_failed_rows_are_offered_only_when_there_is_one(signed_in, merchant, product_image):
    # given: a running batch of two rows, neither refused nor failed
    rows = [{"sku": "A-1", "title": "A"}, {"sku": "B-1", "title": "B"}]
    batch = imports.preview_batch(merchant, io.BytesIO(simple_csv(rows)), "p.csv")
    fanout.confirm_batch(batch)
    imports.import_batch(batch.pk)
    errors = reverse("bulk:errors", args=[batch.pk])

    # then: no link to a CSV of only its header, but muted words saying why
    part = _downloads(signed_in, batch)
    assert errors not in part and "No rows refused or failed so far" in part
    assert _errors_csv(signed_in, batch) == [["line", "sku", "state", "error"]]

    # when: one row's job fails (the row counted as failed, its job's reason on the page)
    job = GenerationJob.objects.create(
        merchant=merchant, product=product_image.product, image=product_image, status="failed",
        error_message="the scene engine stopped",
    )  # fmt: skip
    BatchRow.objects.filter(batch=batch, sku="A-1").update(state=RowState.JOB, job=job)

    # then: the link, and the CSV lists that row with its job's reason
    part = _downloads(signed_in, batch)
    assert f'<a href="{errors}">Refused and failed rows (CSV)</a>' in part and "so far" not in part
    assert '<strong data-count="failed">1</strong>' in part
    assert _errors_csv(signed_in, batch)[1:] == [["2", "A-1", "Job failed", "the scene engine stopped"]]

    # and: a batch that ended with every row fine says so, in the past
    other = imports.preview_batch(merchant, io.BytesIO(simple_csv(rows[:1])), "q.csv")
    fanout.confirm_batch(other)
    imports.import_batch(other.pk)
    BatchRow.objects.filter(batch=other).update(state=RowState.IMPORTED)
    Batch.objects.filter(pk=other.pk).update(status=BatchStatus.DONE)
    part = _downloads(signed_in, other)
    assert reverse("bulk:errors", args=[other.pk]) not in part and "No row was refused or failed" in part
