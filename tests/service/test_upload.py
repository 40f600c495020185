"""Uploads through the dashboard: accepted photos are stored three ways, refusals store nothing."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from shop_assets.catalog.models import ProductImage
from tests.conftest import jpeg_bytes, stored_files
from tests.synthetic import product_photo


def _upload(client, product, name: str, data: bytes, content_type: str = "image/jpeg"):
    return client.post(
        reverse("dashboard:product_upload", args=[product.pk]),
        {"photo": SimpleUploadedFile(name, data, content_type=content_type)},
    )


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height; the pixel data is a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_valid_photo_is_stored_as_original_normalized_and_thumbnail(signed_in, product, photo_jpeg):
    before = stored_files()

    response = _upload(signed_in, product, "bottle.jpg", photo_jpeg)

    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    assert (image.width, image.height, image.original_format) == (480, 600, "JPEG")
    added = set(stored_files()) - set(before)
    assert added == {image.original_key, image.normalized_key, image.thumbnail_key}
    assert image.original_key.startswith(f"merchants/{product.merchant_id}/products/BTL-001/images/")


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("broken.jpg", b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10, "damaged"),
        ("notes.txt", b"hello, I am text", "not"),
        ("giant.png", huge_png_header(20000, 20000), "pixels"),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_message_and_nothing_stored(
    signed_in, product, name, data, expected
):
    before = stored_files()

    response = _upload(signed_in, product, name, data)

    assert response.status_code == 400
    body = response.content.decode()
    assert name in body and expected in body.lower()
    assert not ProductImage.objects.exists()
    assert stored_files() == before


def test_upload_over_the_size_limit_names_the_limit(signed_in, product, settings):
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    before = stored_files()

    response = _upload(signed_in, product, "big.jpg", b"\xff\xd8" + b"0" * (1024 * 1024 + 10))

    # refused while the body streams in (LimitedUploadHandler), so 413, not a form error
    assert response.status_code == 413
    assert "limit is 1 MB per photo" in response.content.decode()
    assert stored_files() == before and not ProductImage.objects.exists()


def test_cmyk_jpeg_is_converted_to_rgb(signed_in, product):
    photo, _ = product_photo((300, 400))
    buf = io.BytesIO()
    photo.convert("CMYK").save(buf, format="JPEG", quality=95)

    response = _upload(signed_in, product, "cmyk.jpg", buf.getvalue())

    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    from shop_assets.jobs.storage import read_bytes

    normalized = Image.open(io.BytesIO(read_bytes(image.normalized_key)))
    assert normalized.mode == "RGB" and normalized.size == (300, 400)


def test_rotated_phone_photo_is_turned_upright(signed_in, product):
    photo, _ = product_photo((400, 300))  # stored landscape, EXIF says rotate 90 degrees
    exif = Image.Exif()
    exif[0x0112] = 6

    response = _upload(signed_in, product, "phone.jpg", jpeg_bytes(photo, exif=exif.tobytes()))

    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    assert (image.width, image.height) == (300, 400)
    assert image.orientation_applied is True
