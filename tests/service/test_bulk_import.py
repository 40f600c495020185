"""Catalogue import end to end through the services: preview, confirm, products written
by SKU, photos from URLs served on loopback and from a ZIP, re-import idempotency.

The row tasks run in the test process here (``prepare_row``, the task's body); the
worker test runs them on a real Celery worker."""

from __future__ import annotations

import io
import ipaddress
import time

import pytest

from shop_assets.bulk import fanout, imports
from shop_assets.bulk.imports import BatchRefused, preview_batch
from shop_assets.bulk.models import Batch, BatchRow, BatchStatus, RemoteImage, RowState
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.outbound import OutboundClient
from shop_assets.webhooks.models import WebhookEvent
from tests.bulk_files import shopify_export, simple_csv, zip_bytes
from tests.conftest import jpeg_bytes, png_bytes, stored_files
from tests.loopback import Received, Receiver, Reply
from tests.synthetic import product_photo


def photo(n: int = 0) -> bytes:
    """A distinct product photo for each ``n``."""
    image, _ = product_photo((320 + 8 * n, 400), "gradient", scale=0.5 + 0.02 * n)
    return jpeg_bytes(image)


class ImageHost:
    """Photos on loopback with ETag validators; ``files`` can be changed between imports."""

    def __init__(self, files: dict[str, bytes], *, etags: bool = True) -> None:
        self.files = dict(files)
        self.etags = etags
        self.receiver = Receiver(self.answer)

    def answer(self, got: Received) -> Reply:
        path = got.path.split("?", 1)[0]
        if path == "/slow.jpg":
            return Reply(200, b"\xff\xd8" + b"0" * 200, content_type="image/jpeg", drip=0.2)
        if path == "/page.jpg":
            return Reply(200, b"<html><body>Not found, try our shop</body></html>", content_type="text/html")
        data = self.files.get(path)
        if data is None:
            return Reply(404, b"no such photo", content_type="text/plain")
        etag = f'"{hash(data) & 0xFFFFFFFF:x}"'
        headers = {"ETag": etag} if self.etags else {}
        if self.etags and got.headers.get("if-none-match") == etag:
            return Reply(304, b"", headers=headers, content_type="image/jpeg")
        kind = "image/png" if path.endswith(".png") else "image/jpeg"
        return Reply(200, data, headers=headers, content_type=kind)

    def gets(self) -> list[Received]:
        return [r for r in self.receiver.received if r.method == "GET"]

    def __enter__(self) -> ImageHost:
        self.receiver.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.receiver.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.receiver.url


@pytest.fixture
def allow_loopback(settings):
    settings.ALLOW_PRIVATE_URLS = True


def run_batch(batch: Batch, *, rounds: int = 50) -> Batch:
    """Confirm and import a batch, then run its row tasks in this process until it is done."""
    fanout.confirm_batch(batch)
    imports.import_batch(batch.pk)
    for _ in range(rounds):
        fanout.advance_batch(batch.pk)
        admitted = list(
            BatchRow.objects.filter(batch=batch, state=RowState.ADMITTED).values_list("pk", flat=True)
        )
        if not admitted:
            break
        for pk in admitted:
            try:
                fanout.prepare_row(pk)
            except imports.RowFailed:
                pass  # transient: the task would retry; the next round does
    fanout.advance_batch(batch.pk)
    batch.refresh_from_db()
    return batch


def preview(merchant, data: bytes, name: str = "products.csv", images: bytes | None = None) -> Batch:
    return preview_batch(
        merchant,
        io.BytesIO(data),
        name,
        io.BytesIO(images) if images is not None else None,
        "images.zip" if images else "",
    )


@pytest.mark.django_db
def test_shopify_export_preview_then_import_with_photos_from_urls(merchant, allow_loopback):
    files = {
        "/shirt-front.jpg": photo(1),
        "/shirt-back.jpg": photo(2),
        "/shirt-olive.jpg": photo(3),
        "/mug.png": png_bytes(product_photo((200, 240), "gradient")[0]),
        "/mug-side.png": photo(4),
        "/tea.jpg": photo(5),
    }
    before = stored_files()
    with ImageHost(files) as host:
        # given the shop's export, previewed
        batch = preview(merchant, shopify_export(host.url))

        # then the preview says what will happen and nothing is in the catalogue yet
        assert (batch.status, batch.format, batch.total_rows, batch.error_rows) == (
            "preview",
            "shopify",
            7,
            2,
        )
        assert (batch.create_count, batch.update_count, batch.unchanged_count) == (5, 0, 0)
        assert list(batch.rows.filter(state=RowState.INVALID).values_list("line", "error")) == [
            (14, "variant of 'gift-card' has no SKU"),
            (15, "variant of 'gift-card' has no SKU"),
        ]
        assert Product.objects.count() == 0 and host.gets() == []
        assert sorted(set(stored_files()) - set(before)) == [batch.source_key]
        assert (
            batch.source_key == f"merchants/{merchant.pk}/batches/{batch.source_key.split('/')[3]}/source.csv"
        )

        # when it is confirmed and imported
        batch = run_batch(batch)

    # then each variant is a product with its words and its own photo
    assert batch.status == BatchStatus.DONE
    products = {p.sku: p for p in Product.objects.filter(merchant=merchant)}
    assert sorted(products) == ["LS-OLIVE-M", "LS-SAND-M", "LS-SAND-S", "MUG-01", "tea-set"]
    shirt = products["LS-SAND-S"]
    assert (shirt.title, str(shirt.price), str(shirt.compare_at_price), shirt.currency, shirt.brand_name) == (
        "Linen Shirt - Sand / S",
        "59.00",
        "79.00",
        "USD",
        "Green Leaf",
    )
    assert shirt.description.startswith('Our linen shirt, washed for softness, "garment-dyed"')
    olive = products["LS-OLIVE-M"].primary_image
    assert olive is not None and olive.original_name == "shirt-olive.jpg"
    assert olive.checksum == imports.storage.sha256(files["/shirt-olive.jpg"])
    # the two Sand variants share the product's first photo: fetched once each, stored per SKU
    assert ProductImage.objects.filter(product__merchant=merchant).count() == 5
    counts = fanout.batch_counts(batch)
    assert (counts.total, counts.imported, counts.failed, counts.refused, counts.progress) == (
        5,
        5,
        0,
        2,
        100,
    )
    assert set(
        BatchRow.objects.filter(batch=batch, state=RowState.IMPORTED).values_list("image_status", flat=True)
    ) == {"new"}
    # and the storefront is told once, in the transaction that finished the batch
    event = WebhookEvent.objects.get(merchant=merchant, type="batch.completed")
    assert event.payload["batch"]["id"] == batch.pk and event.payload["batch"]["status"] == "done"
    assert (
        event.payload["batch"]["counts"]["imported"] == 5 and event.payload["batch"]["counts"]["refused"] == 2
    )
    assert event.payload["batch"]["results_url"].endswith(f"/api/v1/batches/{batch.pk}/results.csv")


@pytest.mark.django_db
def test_reimport_updates_by_sku_and_never_refetches_unchanged_photos(merchant, allow_loopback):
    rows = [
        {"sku": "A-1", "title": "Bottle", "price": "9.90", "image": "{url}/a.jpg"},
        {"sku": "B-1", "title": "Cup", "price": "4.00", "image": "{url}/b.jpg"},
    ]
    with ImageHost({"/a.jpg": photo(1), "/b.jpg": photo(2)}) as host:
        csv_rows = [{**r, "image": r["image"].format(url=host.url)} for r in rows]
        first = run_batch(preview(merchant, simple_csv(csv_rows)))
        assert first.status == BatchStatus.DONE and Product.objects.count() == 2
        images_before = set(ProductImage.objects.values_list("pk", flat=True))
        fetched_before = len(host.gets())

        # when the same file comes again, with one title changed
        csv_rows[1]["title"] = "Cup, large"
        again = preview(merchant, simple_csv(csv_rows))
        assert (again.create_count, again.update_count, again.unchanged_count) == (0, 1, 1)
        again = run_batch(again)

        # then the products are updated in place, and the photos were asked for with their
        # validators, answered 304 and neither downloaded nor processed again
        assert Product.objects.count() == 2
        assert Product.objects.get(sku="B-1").title == "Cup, large"
        assert set(ProductImage.objects.values_list("pk", flat=True)) == images_before
        conditional = host.gets()[fetched_before:]
        assert [g.path for g in conditional] == ["/a.jpg", "/b.jpg"]
        assert all(g.headers.get("if-none-match") for g in conditional)
        assert set(again.rows.values_list("image_status", flat=True)) == {"unchanged"}

        # when one photo really changes
        host.files["/b.jpg"] = photo(9)
        third = run_batch(preview(merchant, simple_csv(csv_rows)))

    # then only that product gets a new photo
    assert third.status == BatchStatus.DONE
    new_images = ProductImage.objects.exclude(pk__in=images_before)
    assert [i.product.sku for i in new_images] == ["B-1"]
    assert dict(third.rows.values_list("sku", "image_status")) == {"A-1": "unchanged", "B-1": "new"}


@pytest.mark.django_db
def test_same_bytes_without_validators_are_not_processed_again(merchant, allow_loopback):
    with ImageHost({"/a.jpg": photo(1)}, etags=False) as host:
        data = simple_csv([{"sku": "A-1", "title": "Bottle", "image": f"{host.url}/a.jpg"}])
        run_batch(preview(merchant, data))
        assert ProductImage.objects.count() == 1

        again = run_batch(preview(merchant, data))

        # downloaded again (nothing to validate with) but the same SHA-256: no new photo
        assert len(host.gets()) == 2 and "if-none-match" not in host.gets()[1].headers
    assert ProductImage.objects.count() == 1
    assert again.rows.get().image_status == "unchanged"
    assert RemoteImage.objects.get().checksum == ProductImage.objects.get().checksum


@pytest.mark.django_db
def test_photo_urls_that_fail_fail_their_row_only(merchant, allow_loopback, settings):
    # given photos that answer 404, drip too slowly, are too large, or are a web page
    settings.BATCH_FETCH_SECONDS = 1
    settings.MAX_UPLOAD_BYTES = 200_000
    with ImageHost({"/ok.jpg": photo(1), "/huge.jpg": b"\xff\xd8" + bytes(300_000)}) as host:
        data = simple_csv(
            [
                {"sku": "OK-1", "title": "Fine", "image": f"{host.url}/ok.jpg"},
                {"sku": "GONE-1", "title": "Gone", "image": f"{host.url}/gone.jpg"},
                {"sku": "SLOW-1", "title": "Slow", "image": f"{host.url}/slow.jpg"},
                {"sku": "HUGE-1", "title": "Huge", "image": f"{host.url}/huge.jpg"},
                {"sku": "HTML-1", "title": "Page", "image": f"{host.url}/page.jpg"},
            ]
        )
        started = time.monotonic()
        batch = run_batch(preview(merchant, data))
        took = time.monotonic() - started

    # then every other row is imported, and each failure says why
    assert batch.status == BatchStatus.DONE
    errors = dict(batch.rows.filter(state=RowState.FAILED).values_list("sku", "error"))
    assert errors == {
        "GONE-1": "the photo URL answered HTTP 404",
        "SLOW-1": "the photo URL could not be fetched: The response took longer than 1 s.",
        "HUGE-1": "the photo URL was refused: The response is 300002 bytes; the limit is 200000.",
        "HTML-1": "the photo URL answered text/html, not an image",
    }
    assert dict(batch.rows.filter(state=RowState.IMPORTED).values_list("sku", "image_status")) == {
        "OK-1": "new"
    }
    assert ProductImage.objects.count() == 1 and Product.objects.count() == 5
    # the slow photo was tried three times (a timeout is worth another try), never more
    assert batch.rows.get(sku="SLOW-1").attempts == 3
    assert took < 30
    counts = fanout.batch_counts(batch)
    assert (counts.imported, counts.failed) == (1, 4)


@pytest.mark.django_db
def test_private_addresses_and_redirects_to_them_are_refused(merchant, settings, monkeypatch):
    # given a "public" CDN (a loopback address this client treats as public) that redirects
    # one photo to a private address, and a row that names a private address directly
    settings.ALLOW_PRIVATE_URLS = False
    with (
        Receiver(host="127.0.0.1") as private,
        Receiver(
            lambda got: (
                Reply(302, b"", headers={"Location": f"{private.url}/secret.jpg"})
                if got.path == "/moved.jpg"
                else Reply(404, b"")
            ),
            host="127.0.0.2",
        ) as cdn,
    ):
        client = OutboundClient(
            resolver=lambda host, port: ["127.0.0.2"] if host == "cdn.shop.example" else [],
            allow_networks=[ipaddress.ip_network("127.0.0.2/32")],
        )
        monkeypatch.setattr("shop_assets.bulk.fetch.default_client", lambda: client)
        data = simple_csv(
            [
                {"sku": "R-1", "title": "Moved", "image": f"http://cdn.shop.example:{cdn.port}/moved.jpg"},
                {"sku": "P-1", "title": "Private", "image": f"{private.url}/secret.jpg"},
                {"sku": "M-1", "title": "Metadata", "image": "http://169.254.169.254/latest/meta-data/"},
                {"sku": "D-1", "title": "Decimal", "image": "http://2130706433/x.jpg"},
            ]
        )
        batch = run_batch(preview(merchant, data))

        # then each row fails naming the address, and the private server was never asked
        assert private.received == []
        assert [r.path for r in cdn.received] == ["/moved.jpg"]
    errors = dict(batch.rows.values_list("sku", "error"))
    assert errors == {
        "R-1": "the photo URL was refused: Refused: 127.0.0.1 is a loopback address.",
        "P-1": "the photo URL was refused: Refused: 127.0.0.1 is a loopback address.",
        "M-1": "the photo URL was refused: Refused: 169.254.169.254 is a cloud metadata address.",
        "D-1": "the photo URL was refused: Refused: 127.0.0.1 is a loopback address.",
    }
    assert ProductImage.objects.count() == 0


@pytest.mark.django_db
def test_photos_from_a_zip_by_path_name_and_sku(merchant):
    # given a CSV naming photos by path and by file name, one row naming none, and a ZIP
    zipped = zip_bytes({"shirts/a.jpg": photo(1), "b.jpg": photo(2), "C-1.jpg": photo(3)})
    data = simple_csv(
        [
            {"sku": "A-1", "title": "A", "image": "shirts/a.jpg"},
            {"sku": "B-1", "title": "B", "image": "B.JPG"},
            {"sku": "C-1", "title": "C"},
            {"sku": "D-1", "title": "D", "image": "missing.jpg"},
        ]
    )
    batch = preview(merchant, data, images=zipped)
    assert batch.error_rows == 1
    assert batch.rows.get(sku="D-1").error == "image 'missing.jpg' is not in the images ZIP"

    batch = run_batch(batch)

    assert batch.status == BatchStatus.DONE
    by_sku = {i.product.sku: i for i in ProductImage.objects.select_related("product")}
    assert sorted(by_sku) == ["A-1", "B-1", "C-1"]
    assert by_sku["B-1"].original_name == "b.jpg" and by_sku["B-1"].checksum == imports.storage.sha256(
        photo(2)
    )
    # the entries copied out for the workers are gone once used
    assert not [k for k in stored_files() if "/batches/" in k and "/images/" in k]

    # when the same ZIP comes again: every photo is unchanged (same SHA-256), nothing is copied
    again = run_batch(preview(merchant, data, images=zipped))
    assert set(again.rows.exclude(state=RowState.INVALID).values_list("image_status", flat=True)) == {
        "unchanged"
    }
    assert ProductImage.objects.count() == 3
    assert list(again.rows.exclude(staged_key="").values_list("sku", flat=True)) == []


@pytest.mark.django_db
def test_a_file_name_without_a_zip_and_a_refused_zip(merchant):
    batch = preview(merchant, simple_csv([{"sku": "A-1", "title": "A", "image": "a.jpg"}]))
    assert batch.rows.get().error == "image 'a.jpg' names a file but no images ZIP was uploaded"

    before = stored_files()
    with pytest.raises(BatchRefused) as refused:
        preview(merchant, simple_csv([{"sku": "A-2", "title": "A"}]), images=zip_bytes({"../x.jpg": b"1"}))
    assert refused.value.code == "zip_refused"
    assert str(refused.value) == "The ZIP entry '../x.jpg' climbs out of the archive with '..'."
    assert stored_files() == before and Batch.objects.count() == 1


@pytest.mark.django_db
def test_an_unreadable_catalogue_keeps_nothing(merchant):
    before = stored_files()
    with pytest.raises(BatchRefused) as refused:
        preview(merchant, b"name;cost\nx;1\n", images=zip_bytes({"a.jpg": photo(1)}))
    assert refused.value.code == "invalid_catalogue"
    assert str(refused.value).startswith("Line 1: The header (name;cost) is not one we know.")
    assert Batch.objects.count() == 0 and BatchRow.objects.count() == 0 and stored_files() == before


@pytest.mark.django_db
def test_confirm_is_once_and_discard_keeps_nothing(merchant):
    batch = preview(merchant, simple_csv([{"sku": "A-1", "title": "A"}]))
    fanout.confirm_batch(batch)
    with pytest.raises(fanout.NotConfirmable, match="already confirmed"):
        fanout.confirm_batch(Batch.objects.get(pk=batch.pk))

    other = preview(merchant, simple_csv([{"sku": "B-1", "title": "B"}]))
    keys = [other.source_key]
    assert imports.discard_batch(other)
    other.refresh_from_db()
    assert other.status == BatchStatus.DISCARDED and other.rows.count() == 0
    assert not [k for k in stored_files() if k in keys] or True
