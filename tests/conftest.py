"""Shared fixtures for the service tests."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.synthetic import product_photo


def jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=92, **kwargs)
    return buf.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def photo_jpeg() -> bytes:
    photo, _ = product_photo((480, 600), "gradient")
    return jpeg_bytes(photo)


@pytest.fixture
def merchant(db):
    from shop_assets.accounts.models import Merchant

    return Merchant.objects.create(name="Green Leaf", slug="green-leaf")


@pytest.fixture
def other_merchant(db):
    from shop_assets.accounts.models import Merchant

    return Merchant.objects.create(name="Rival Goods", slug="rival-goods")


@pytest.fixture
def user(merchant):
    from shop_assets.accounts.models import User

    return User.objects.create_user("alice", password="pw-alice-123", merchant=merchant)


@pytest.fixture
def other_user(other_merchant):
    from shop_assets.accounts.models import User

    return User.objects.create_user("mallory", password="pw-mallory-123", merchant=other_merchant)


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def fresh_cache(db):
    """An empty cache: rate counters left by earlier tests (Redis keeps them) start at zero."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def product(merchant):
    from shop_assets.catalog.models import Product

    return Product.objects.create(
        merchant=merchant, sku="BTL-001", title="Hand wash", price="9.90", currency="USD"
    )


@pytest.fixture
def product_image(product, photo_jpeg):
    from shop_assets.catalog.services import add_product_image

    return add_product_image(product, photo_jpeg, filename="bottle.jpg")


@pytest.fixture
def other_product_image(other_merchant, photo_jpeg):
    from shop_assets.catalog.models import Product
    from shop_assets.catalog.services import add_product_image

    p = Product.objects.create(merchant=other_merchant, sku="SECRET-1", title="Their product")
    return add_product_image(p, photo_jpeg, filename="theirs.jpg")


@pytest.fixture
def diffusion_installed(tmp_path, monkeypatch):
    """Folders standing for the diffusion and video models, so this install offers diffusion
    scenes and diffusion motion (a job that reaches a worker still needs real weights)."""
    from shop_assets.jobs import requests as job_requests

    for name in ("SD15_INPAINT_MODEL", "SD15_CONTROLNET_CANNY", "CLIP_MOTION_MODEL"):
        folder = tmp_path / "installed" / name.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(f"SHOPASSETS_{name}", str(folder))
    job_requests.generation_config.cache_clear()
    yield
    job_requests.generation_config.cache_clear()


def s3_client():
    import boto3
    from django.conf import settings

    opts = settings.STORAGES["default"]["OPTIONS"]
    return boto3.client(
        "s3",
        endpoint_url=opts.get("endpoint_url"),
        region_name=opts.get("region_name") or "us-east-1",
        aws_access_key_id=opts.get("access_key"),
        aws_secret_access_key=opts.get("secret_key"),
    )


def stored_files() -> list[str]:
    """Every stored key: the bucket's objects in S3 mode, files under MEDIA_ROOT otherwise
    (temporary files included, so a half-written file would show up)."""
    from django.conf import settings

    if settings.S3_BUCKET:
        pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=settings.S3_BUCKET)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))
    root = settings.MEDIA_ROOT
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="session", autouse=True)
def s3_bucket_when_configured():
    """In S3 mode (CI's services run) make sure the bucket exists on the endpoint."""
    from django.conf import settings

    if settings.configured and settings.S3_BUCKET:
        client = s3_client()
        existing = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
        if settings.S3_BUCKET not in existing:
            client.create_bucket(Bucket=settings.S3_BUCKET)
    yield


class WorkerProcess:
    """A real Celery worker in a subprocess, on the broker the settings name."""

    def __init__(self, queues: str = "default,gpu", beat: bool = False) -> None:
        import os
        import subprocess
        import sys

        from django.conf import settings

        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="tests.settings",
            SHOPASSETS_DATA_DIR=str(settings.DATA_DIR),
            SHOPASSETS_USE_TEST_DB="1",
            SHOPASSETS_STALE_SWEEP_SECONDS="1",
            PYTHONUNBUFFERED="1",
        )
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "shop_assets",
            "worker",
            "-Q",
            queues,
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{os.getpid()}@%h",
        ]
        if beat:
            cmd += ["-B", "--schedule", str(settings.DATA_DIR / "beat-schedule")]
        self.log_path = settings.DATA_DIR / f"worker-{len(list(settings.DATA_DIR.glob('worker-*.log')))}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=settings.BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.output()}")
            if b"ready." in self.log_path.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_bytes().decode(errors="replace")[-6000:]

    def children(self) -> list[int]:
        from pathlib import Path

        kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in kids.read_text().split()] if kids.exists() else []

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wait_for_job(job_id: int, *, until=None, timeout: float = 120):
    """Poll the job row until it is finished (or ``until(job)`` is true)."""
    import time

    from shop_assets.jobs.models import GenerationJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = GenerationJob.objects.get(pk=job_id)
        if until(job) if until else job.is_finished:
            return job
        time.sleep(0.1)
    raise AssertionError(
        f"job {job_id} still {job.status} at {job.progress}% after {timeout}s: {job.progress_message}"
    )


@pytest.fixture
def worker(transactional_db):
    w = WorkerProcess()
    yield w
    w.stop()


@pytest.fixture
def busy_image(product):
    """A candle on a styled set (``tests.photoset``) that the automatic segmenter refuses,
    uploaded to ``product``, with the exact product mask as ``busy_image.truth``."""
    from shop_assets.catalog import masks
    from shop_assets.catalog.services import add_product_image
    from tests.photoset import make_case

    case = make_case("busy_styled_set")
    image = add_product_image(product, jpeg_bytes(case.photo), filename="candle.jpg")
    masks.make_automatic_mask(image)  # what the task run after upload does
    image.truth = case.mask
    image.truth_box = case.box
    return image


def downloaded(response) -> bytes:
    """The bytes a download view answered with: streamed from local storage, or from the
    S3 address it redirects to when the files are on S3."""
    if response.status_code == 302:
        import requests

        fetched = requests.get(response["Location"], timeout=30)
        fetched.raise_for_status()
        return fetched.content
    assert response.status_code == 200, response.status_code
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def stored_asset(job):
    """A one-pixel cutout asset of ``job`` with its file in storage."""
    from shop_assets.jobs import storage
    from shop_assets.jobs.models import Asset

    key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, "cutout", "png")
    storage.put_bytes(key, b"png bytes")
    return Asset.objects.create(
        merchant_id=job.merchant_id,
        job=job,
        kind="cutout",
        name="cutout",
        format="png",
        width=1,
        height=1,
        storage_key=key,
        size_bytes=9,
        checksum="0" * 64,
    )
