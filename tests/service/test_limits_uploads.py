"""Upload floods, replayed: a 300 MB body, a file past the limit, many large photos at once."""

from __future__ import annotations

import io
import socket
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import ImageFile

from generation.errors import AudioRejected, ImageRejected
from shop_assets.accounts.models import ApiKey
from shop_assets.catalog import audio as catalog_audio
from shop_assets.catalog import services as catalog
from shop_assets.catalog.models import ProductImage
from shop_assets.limits.uploads import decode_slot
from tests.conftest import stored_files
from tests.service.test_upload import huge_png_header

MB = 1024 * 1024
BOUNDARY = "----attack-boundary"

pytestmark = pytest.mark.usefixtures("fresh_cache")


class AttackBody(io.RawIOBase):
    """A multipart body made up as it is read: one file part of ``size`` bytes.

    It counts the bytes the server reads, and the most bytes it saw in the upload
    temporary folder while reading, so a test can tell how much was read and spooled.
    """

    def __init__(self, size: int, spool_dir: Path) -> None:
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode() + b"\xff\xd8\xff\xe0"
        self.size = size
        self.bytes_read = 0
        self.spool_dir = spool_dir
        self.most_spooled = 0

    def read(self, n: int = -1) -> bytes:
        self.most_spooled = max(self.most_spooled, _spooled_bytes(self.spool_dir))
        left = self.size - self.bytes_read
        n = left if n is None or n < 0 else min(n, left)
        start = self.bytes_read
        self.bytes_read += n
        head = self.head[start : start + n]
        return head + b"\x00" * (n - len(head))

    def readable(self) -> bool:
        return True


def _spooled_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def _attack(client, path: str, body: AttackBody):
    return client.post(
        path,
        CONTENT_LENGTH=str(body.size),
        CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
        **{"wsgi.input": body},
    )


@pytest.fixture
def spool_dir(settings) -> Path:
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
    assert _spooled_bytes(folder) == 0
    return folder


@pytest.fixture
def api_client(client, merchant):
    _, secret = ApiKey.issue(merchant, "storefront")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def test_a_300_mb_body_is_refused_before_a_byte_of_it_is_read(signed_in, product, spool_dir):
    # given a 300 MB upload to the dashboard (the limit is 40 MB)
    before = stored_files()
    body = AttackBody(300 * MB, spool_dir)

    # when it is posted
    response = _attack(signed_in, reverse("dashboard:product_upload", args=[product.pk]), body)

    # then it is refused from its Content-Length alone: nothing read, spooled or stored
    assert response.status_code == 413
    assert "The upload is 300 MB; the limit is 40 MB per photo." in response.content.decode()
    assert body.bytes_read == 0 and body.most_spooled == 0
    assert _spooled_bytes(spool_dir) == 0
    assert stored_files() == before and not ProductImage.objects.exists()


def test_api_refuses_a_300_mb_body_unread_even_without_a_key(client, product, spool_dir):
    body = AttackBody(300 * MB, spool_dir)

    response = _attack(client, f"/api/v1/products/{product.pk}/images", body)

    assert response.status_code == 413
    assert response.json() == {
        "code": "too_large",
        "detail": "The upload is 300 MB; the limit is 40 MB per photo. "
        "Export a smaller JPEG and upload it again.",
    }
    assert body.bytes_read == 0


@pytest.fixture
def csrf_checked(user, product):
    """A signed-in browser whose CSRF token is checked, so the body is parsed by the CSRF
    middleware before any view runs."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get(reverse("dashboard:product", args=[product.pk]))
    browser.defaults["HTTP_X_CSRFTOKEN"] = browser.cookies["csrftoken"].value
    return browser


@pytest.mark.parametrize("door", ["api", "dashboard"])
def test_a_file_past_the_limit_is_cut_off_while_streaming_and_its_spool_removed(
    request, product, spool_dir, settings, door
):
    # given a 1 MB photo limit, files spooled to disk past 64 KB, and a 3 MB file whose
    # request is small enough to pass the Content-Length check
    settings.MAX_UPLOAD_BYTES = 1 * MB
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    before = stored_files()
    body = AttackBody(3 * MB, spool_dir)

    # when it is posted to the API, or to the dashboard past its CSRF check
    if door == "api":
        response = _attack(
            request.getfixturevalue("api_client"), f"/api/v1/products/{product.pk}/images", body
        )
        detail = response.json()["detail"]
    else:
        client = request.getfixturevalue("csrf_checked")
        response = _attack(client, reverse("dashboard:product_upload", args=[product.pk]), body)
        detail = response.content.decode()

    # then reading stopped at the limit (plus one parser chunk), what was spooled never
    # passed it and is gone, and nothing was stored
    assert response.status_code == 413
    assert "The upload is over 1 MB; the limit is 1 MB per photo." in detail
    assert 1 * MB < body.bytes_read <= 1 * MB + 2 * 64 * 1024
    assert 0 < body.most_spooled <= 1 * MB
    assert _spooled_bytes(spool_dir) == 0
    assert stored_files() == before and not ProductImage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_over_real_http_the_413_arrives_while_the_client_is_still_to_send_300_mb(live_server, spool_dir):
    # given a raw HTTP connection announcing 300 MB and sending only its first kilobyte
    host, port = live_server.thread.host, live_server.thread.port
    head = (
        "POST /api/v1/products/1/images HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {300 * MB}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(head + b"\x00" * 1024)

        # when we wait for an answer without sending the rest
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk

    # then the server has already refused it
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert _spooled_bytes(spool_dir) == 0


def test_with_every_decode_slot_taken_a_photo_gets_503_and_nothing_is_stored(
    signed_in, api_client, product, photo_jpeg
):
    before = stored_files()

    # given this process's only decode slot held by another upload
    with decode_slot():
        # when a photo arrives through either door
        by_api = api_client.post(
            f"/api/v1/products/{product.pk}/images",
            {"file": SimpleUploadedFile("a.jpg", photo_jpeg, content_type="image/jpeg")},
        )
        by_dashboard = signed_in.post(
            reverse("dashboard:product_upload", args=[product.pk]),
            {"photo": SimpleUploadedFile("d.jpg", photo_jpeg, content_type="image/jpeg")},
        )

    # then both are told to come back shortly, and nothing was stored
    assert (by_api.status_code, by_api["Retry-After"]) == (503, "5")
    assert by_api.json() == {
        "code": "busy",
        "detail": "The server is busy preparing other large photos; try again in 5 seconds.",
    }
    assert (by_dashboard.status_code, by_dashboard["Retry-After"]) == (503, "5")
    assert "d.jpg: The server is busy preparing other large photos" in by_dashboard.content.decode()
    assert stored_files() == before and not ProductImage.objects.exists()

    # and once the slot is free the same photo goes in
    again = api_client.post(
        f"/api/v1/products/{product.pk}/images",
        {"file": SimpleUploadedFile("a.jpg", photo_jpeg, content_type="image/jpeg")},
    )
    assert again.status_code == 201


def test_with_every_decode_slot_taken_a_large_photo_is_refused_before_its_body_is_read(
    api_client, product, spool_dir
):
    # given this process's only decode slot held, and a 2 MB photo on its way
    body = AttackBody(2 * MB, spool_dir)

    with decode_slot():
        # when it is posted
        response = _attack(api_client, f"/api/v1/products/{product.pk}/images", body)

    # then it is turned away at once, unread
    assert (response.status_code, response["Retry-After"], response.json()["code"]) == (503, "5", "busy")
    assert body.bytes_read == 0


def test_a_pixel_bomb_is_refused_from_its_header_without_decoding_or_a_slot(api_client, product, monkeypatch):
    # given a 60 megapixel PNG header (the limit is 50) and every decode slot taken
    loads = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda im: loads.append(im.size) or real_load(im))

    with decode_slot():
        # when it is uploaded
        response = api_client.post(
            f"/api/v1/products/{product.pk}/images",
            {"file": SimpleUploadedFile("bomb.png", huge_png_header(10000, 6000), content_type="image/png")},
        )

    # then it is refused for its size, not for lack of a slot, and no pixel was decoded
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_pixels"
    assert response.json()["detail"].startswith("The image is 60 megapixels; the limit is 50 megapixels.")
    assert loads == []


@pytest.mark.django_db(transaction=True)
def test_many_photos_at_once_decode_one_at_a_time_and_the_rest_are_told_to_retry(
    live_server, merchant, product, photo_jpeg, monkeypatch
):
    # given a decode that waits until the test has seen the other answers
    decoding, peak = [], []
    others_answered = threading.Event()
    real_normalize = catalog.normalize_image

    def watched_normalize(data, limits):
        decoding.append(1)
        peak.append(len(decoding))
        try:
            others_answered.wait(timeout=30)
            return real_normalize(data, limits)
        finally:
            decoding.pop()

    monkeypatch.setattr(catalog, "normalize_image", watched_normalize)
    _, secret = ApiKey.issue(merchant, "storefront")
    url = f"{live_server.url}/api/v1/products/{product.pk}/images"

    def upload(i: int) -> requests.Response:
        return requests.post(
            url,
            headers={"Authorization": f"Bearer {secret}"},
            files={"file": (f"p{i}.jpg", photo_jpeg, "image/jpeg")},
            timeout=60,
        )

    # when four photos are uploaded at the same time
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(upload, i) for i in range(4)]
        answered = []
        for future in as_completed(futures, timeout=30):
            answered.append(future.result())
            if len(answered) == 3:
                break
        others_answered.set()
        responses = [f.result(timeout=60) for f in futures]

    # then one was decoded while the other three were answered 503 at once, never two at a time
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 503, 503, 503]
    assert [r.status_code for r in answered] == [503, 503, 503]
    assert all(r.headers["Retry-After"] == "5" for r in responses if r.status_code == 503)
    assert max(peak) == 1
    assert ProductImage.objects.count() == 1


class _Unsized(io.BytesIO):
    """An upload that states no size (or a wrong one) and counts what is read of it."""

    def __init__(self, data: bytes, size: int | None) -> None:
        super().__init__(data)
        self.size = size
        self.asked: list[int] = []

    def read(self, n: int | None = -1) -> bytes:
        self.asked.append(-1 if n is None else n)
        return super().read(n)


@pytest.mark.parametrize(
    ("read", "setting", "refused_as", "refusal"),
    [
        (catalog.read_upload, "MAX_UPLOAD_BYTES", ImageRejected, "The file is over the 1 MB limit."),
        (catalog_audio.read_audio_upload, "MAX_AUDIO_MB", AudioRejected, "the file is over the 1 MB limit"),
    ],
)
def test_a_photo_or_track_longer_than_it_said_is_refused_one_byte_past_the_limit(
    read, setting, refused_as, refusal, settings
):
    # given a 1 MB limit, and files that state no size or a small one but hold more
    limit = 1024 * 1024
    setattr(settings, setting, limit if setting == "MAX_UPLOAD_BYTES" else 1)
    for stated in (None, 10):
        upload = _Unsized(b"x" * (limit + 5000), stated)

        with pytest.raises(refused_as) as refused:
            read(upload)

        # then the refusal names the limit, and no more than one byte past it was read
        assert str(refused.value) == refusal and refused.value.code == "too_large"
        assert upload.asked == [limit + 1] and upload.tell() == limit + 1
    # a file of exactly the limit is read whole
    assert read(_Unsized(b"y" * limit, None)) == b"y" * limit
