"""``/api/v1/batches``: upload and preview, confirm, rows, exports; tenancy on every id."""

from __future__ import annotations

import csv
import io
import os
import zipfile

import pytest

from shop_assets.accounts.models import ApiKey
from shop_assets.bulk.models import Batch, BatchRow, BatchStatus, RowState
from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset, GenerationJob
from tests.bulk_files import shopify_export, simple_csv, zip_bytes


@pytest.fixture
def api_key(merchant) -> str:
    return ApiKey.issue(merchant, "bulk tests")[1]


@pytest.fixture
def other_key(other_merchant) -> str:
    return ApiKey.issue(other_merchant, "rival")[1]


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def upload(client, key: str, data: bytes, name: str = "products.csv", **extra):
    files = {"file": io.BytesIO(data)}
    files["file"].name = name
    return client.post("/api/v1/batches", {**files, **extra}, **auth(key))


@pytest.mark.django_db
def test_upload_answers_the_preview_with_row_errors(client, api_key, merchant):
    # when a Shopify export is uploaded
    response = upload(client, api_key, shopify_export())

    # then the preview names what will be created and each refused row, and nothing is imported
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["format"], body["total_rows"], body["error_rows"]) == (
        "preview",
        "shopify",
        7,
        2,
    )
    assert (body["create_count"], body["update_count"], body["unchanged_count"]) == (5, 0, 0)
    assert [(e["line"], e["error"]) for e in body["errors"]] == [
        (14, "variant of 'gift-card' has no SKU"),
        (15, "variant of 'gift-card' has no SKU"),
    ]
    assert body["counts"]["refused"] == 2 and body["counts"]["total"] == 0
    batch = Batch.objects.get(pk=body["id"])
    assert batch.merchant == merchant and batch.channel == "api" and batch.source_name == "products.csv"
    assert merchant.products.count() == 0


@pytest.mark.django_db
def test_confirm_starts_the_import_once(client, api_key, django_capture_on_commit_callbacks):
    batch_id = upload(client, api_key, simple_csv([{"sku": "A-1", "title": "A"}])).json()["id"]

    with django_capture_on_commit_callbacks() as sent:
        response = client.post(f"/api/v1/batches/{batch_id}/confirm", **auth(api_key))
    assert response.status_code == 202 and response.json()["status"] == "importing"
    assert len(sent) == 1  # the import task, sent after the commit

    again = client.post(f"/api/v1/batches/{batch_id}/confirm", **auth(api_key))
    assert again.status_code == 400
    assert again.json() == {
        "code": "not_confirmable",
        "detail": "This batch was already confirmed or discarded.",
    }


@pytest.mark.django_db
def test_upload_and_confirm_in_one_call(client, api_key, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as sent:
        response = upload(client, api_key, simple_csv([{"sku": "A-1", "title": "A"}]), confirm="true")
    assert response.status_code == 201 and response.json()["status"] == "importing" and len(sent) == 1


@pytest.mark.django_db
def test_refused_uploads_answer_400_and_keep_nothing(client, api_key):
    response = upload(client, api_key, b"id;name\n1;x\n")
    assert response.status_code == 400 and response.json()["code"] == "invalid_catalogue"
    assert response.json()["detail"].startswith("Line 1: The header (id;name) is not one we know.")

    images = io.BytesIO(zip_bytes({"/abs/x.jpg": b"1"}))
    images.name = "images.zip"
    response = upload(client, api_key, simple_csv([{"sku": "A-1", "title": "A"}]), images=images)
    assert response.status_code == 400
    assert response.json() == {
        "code": "zip_refused",
        "detail": "The ZIP entry '/abs/x.jpg' has an absolute path; entries must be relative.",
    }
    assert Batch.objects.count() == 0


@pytest.mark.django_db
def test_another_merchants_batch_ids_answer_404(client, api_key, other_key):
    batch_id = upload(client, api_key, simple_csv([{"sku": "A-1", "title": "A"}])).json()["id"]
    key = auth(other_key)

    for method, path in [
        ("get", f"/api/v1/batches/{batch_id}"),
        ("post", f"/api/v1/batches/{batch_id}/confirm"),
        ("delete", f"/api/v1/batches/{batch_id}"),
        ("get", f"/api/v1/batches/{batch_id}/rows"),
        ("post", f"/api/v1/batches/{batch_id}/retry"),
        ("get", f"/api/v1/batches/{batch_id}/results.csv"),
        ("get", f"/api/v1/batches/{batch_id}/errors.csv"),
        ("get", f"/api/v1/batches/{batch_id}/assets.zip"),
    ]:
        assert getattr(client, method)(path, **key).status_code == 404, path
    assert client.get("/api/v1/batches", **key).json()["count"] == 0
    assert Batch.objects.get(pk=batch_id).status == BatchStatus.PREVIEW


@pytest.mark.django_db
def test_rows_page_through_errors_and_the_errors_csv_neutralises_formulas(client, api_key):
    data = simple_csv(
        [
            {"sku": "OK-1", "title": "Fine"},
            {"sku": '=HYPERLINK("http://evil")', "title": "X"},
            {"sku": "BAD-2", "title": "Y", "price": "-1"},
        ]
    )
    batch_id = upload(client, api_key, data).json()["id"]

    rows = client.get(f"/api/v1/batches/{batch_id}/rows?state=invalid", **auth(api_key)).json()
    assert [(r["line"], r["sku"]) for r in rows["items"]] == [(3, '=HYPERLINK("http://evil")'), (4, "BAD-2")]

    response = client.get(f"/api/v1/batches/{batch_id}/errors.csv", **auth(api_key))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [
        ["line", "sku", "state", "error"],
        [
            "3",
            '\'=HYPERLINK("http://evil")',
            "Refused",
            "SKU '=HYPERLINK(\"http://evil\")' is not allowed: Use 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit.",
        ],
        ["4", "BAD-2", "Refused", "price '-1' is negative"],
    ]


@pytest.mark.django_db
def test_results_csv_and_assets_zip_by_sku(client, api_key, merchant, product, product_image):
    # given a batch whose row made a job with two assets
    batch_id = upload(client, api_key, simple_csv([{"sku": product.sku, "title": "Hand wash"}])).json()["id"]
    job = GenerationJob.objects.create(
        merchant=merchant, product=product, image=product_image, status="succeeded"
    )
    for name, data in (("packshot", b"PNGDATA-1"), ("poster-feed", b"PNGDATA-22")):
        key = storage.put_bytes(storage.asset_key(merchant.pk, product.sku, job.pk, name, "png"), data)
        Asset.objects.create(
            merchant=merchant,
            job=job,
            kind=name.split("-")[0],
            name=name,
            format="png",
            width=10,
            height=20,
            storage_key=key,
            size_bytes=len(data),
            checksum=storage.sha256(data),
        )
    BatchRow.objects.filter(batch_id=batch_id).update(state=RowState.JOB, job=job)

    response = client.get(f"/api/v1/batches/{batch_id}/results.csv", **auth(api_key))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    ids = {a.name: a.pk for a in job.assets.all()}
    assert rows == [
        [
            "sku",
            "line",
            "asset_kind",
            "asset_name",
            "format",
            "width",
            "height",
            "size_bytes",
            "download_url",
        ],
        [
            product.sku,
            "2",
            "packshot",
            "packshot",
            "png",
            "10",
            "20",
            "9",
            f"http://testserver/api/v1/assets/{ids['packshot']}/download",
        ],
        [
            product.sku,
            "2",
            "poster",
            "poster-feed",
            "png",
            "10",
            "20",
            "10",
            f"http://testserver/api/v1/assets/{ids['poster-feed']}/download",
        ],
    ]

    response = client.get(f"/api/v1/batches/{batch_id}/assets.zip", **auth(api_key))
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == {
            f"{product.sku}/packshot.png": b"PNGDATA-1",
            f"{product.sku}/poster-feed.png": b"PNGDATA-22",
        }


@pytest.mark.django_db
def test_a_photos_zip_may_be_larger_than_one_photo_but_has_its_own_limit(client, api_key, product, settings):
    # given a per-photo limit of 100 KB and a ZIP of four 80 KB photos (320 KB)
    settings.MAX_UPLOAD_BYTES, settings.MAX_REQUEST_BYTES = 100_000, 200_000
    entries = {f"P-{i}.jpg": os.urandom(80_000) for i in range(4)}
    images = io.BytesIO(zip_bytes(entries, compression=zipfile.ZIP_STORED))
    images.name = "photos.zip"

    # when it comes with a catalogue, it is accepted (each photo is within the limit)
    response = upload(
        client, api_key, simple_csv([{"sku": f"P-{i}", "title": "P"} for i in range(4)]), images=images
    )
    assert response.status_code == 201, response.content
    assert Batch.objects.get().images_name == "photos.zip"

    # while a single photo of the same size is refused before its body is read
    photo = io.BytesIO(images.getvalue())
    photo.name = "big.jpg"
    refused = client.post(f"/api/v1/products/{product.pk}/images", {"file": photo}, **auth(api_key))
    assert refused.status_code == 413

    # and a ZIP over the batch limit is refused too, naming that limit
    settings.BATCH_MAX_ZIP_MB, settings.BATCH_MAX_CSV_MB = 0, 0
    images.seek(0)
    too_big = upload(client, api_key, simple_csv([{"sku": "P-0", "title": "P"}]), images=images)
    assert too_big.status_code == 413
    assert too_big.json()["detail"] == "A file is over 0 MB, the limit for a photos ZIP. Split the ZIP."
    assert Batch.objects.count() == 1
