"""S3 mode against moto's S3 server on loopback, over real HTTP through boto3."""

from __future__ import annotations

import hashlib

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from shop_assets.catalog.models import ProductImage
from shop_assets.jobs.models import Asset
from shop_assets.jobs.tasks import run_job_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(settings, moto_endpoint):
    import boto3

    bucket = "shopassets-test-assets"
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    if bucket not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=bucket)
    settings.S3_BUCKET = bucket
    settings.S3_URL_EXPIRY_SECONDS = 60
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": moto_endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "querystring_auth": True,
                "querystring_expire": 60,
                "file_overwrite": True,
                "default_acl": None,
                "addressing_style": "path",
                "signature_version": "s3v4",
            },
        },
    }
    return client, bucket


def test_upload_job_and_presigned_download_over_s3(s3, signed_in, product, photo_jpeg, monkeypatch):
    client, bucket = s3
    monkeypatch.setattr("shop_assets.jobs.requests.enqueue", lambda job_id, queue: None)

    upload = signed_in.post(
        reverse("dashboard:product_upload", args=[product.pk]),
        {"photo": SimpleUploadedFile("bottle.jpg", photo_jpeg, content_type="image/jpeg")},
    )
    image = ProductImage.objects.get(product=product)
    head = client.head_object(Bucket=bucket, Key=image.original_key)

    from shop_assets.jobs.requests import create_job

    job = create_job(product, image, ["packshot"], {})
    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"
    asset = Asset.objects.get(job=job)
    download = signed_in.get(reverse("dashboard:asset_download", args=[asset.pk]))
    fetched = requests.get(download["Location"], timeout=10)

    assert upload.status_code == 302
    assert head["ContentLength"] == len(photo_jpeg)
    assert download.status_code == 302
    assert (
        download["Location"].startswith(s3_endpoint_of(client)) and "X-Amz-Signature" in download["Location"]
    )
    assert "X-Amz-Expires=60" in download["Location"]
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == asset.checksum
    assert fetched.headers["Content-Disposition"].startswith("attachment")


def test_refused_upload_writes_nothing_to_the_bucket(s3, signed_in, product):
    client, bucket = s3
    prefix = f"merchants/{product.merchant_id}/"

    response = signed_in.post(
        reverse("dashboard:product_upload", args=[product.pk]),
        {"photo": SimpleUploadedFile("broken.jpg", b"\xff\xd8\xff garbage" * 50, content_type="image/jpeg")},
    )

    assert response.status_code == 400
    assert client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0) == 0


def s3_endpoint_of(client) -> str:
    return client.meta.endpoint_url
