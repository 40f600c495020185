"""Job events: written in the transaction that finishes or fails the job, once per change,
with payloads a storefront can act on; delivered signed to a loopback storefront."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from shop_assets.catalog import masks
from shop_assets.jobs import lifecycle, storing
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus
from shop_assets.jobs.tasks import run_job_task
from shop_assets.webhooks.delivery import attempt_delivery
from shop_assets.webhooks.endpoints import create_endpoint
from shop_assets.webhooks.models import WebhookDelivery, WebhookEvent
from tests.loopback import Receiver, Reply

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.ALLOW_PRIVATE_URLS = True
    settings.SITE_URL = "https://assets.example.com"


@pytest.fixture
def job(product_image, monkeypatch):
    monkeypatch.setattr(job_requests, "enqueue", lambda job_id, queue: None)
    return job_requests.create_job(
        product_image.product, product_image, ["packshot", "cutout"], {"segmenter": "classical"}
    )


def events_of(type_: str) -> list[WebhookEvent]:
    return list(WebhookEvent.objects.filter(type=type_).order_by("pk"))


def test_a_finished_job_announces_each_asset_and_itself_once(job, merchant):
    with Receiver([Reply(200)]) as shop:
        endpoint = create_endpoint(merchant, shop.url, ["job.succeeded", "asset.created"])

        assert run_job_task.apply(args=[job.pk]).get() == "succeeded"
        succeeded = events_of("job.succeeded")[0]
        attempt_delivery(WebhookDelivery.objects.get(event=succeeded).pk)

    job.refresh_from_db()
    assets = {a.pk: a for a in Asset.objects.filter(job=job)}
    created = events_of("asset.created")
    assert sorted(e.payload["asset"]["id"] for e in created) == sorted(assets)
    assert len(events_of("job.succeeded")) == 1 and events_of("job.failed") == []
    cutout = next(e.payload for e in created if e.payload["asset"]["kind"] == "cutout")
    asset = assets[cutout["asset"]["id"]]
    assert cutout["asset"] == {
        "id": asset.pk,
        "sku": "BTL-001",
        "job_id": job.pk,
        "kind": "cutout",
        "name": "cutout",
        "format": "png",
        "content_type": "image/png",
        "width": asset.width,
        "height": asset.height,
        "size_bytes": asset.size_bytes,
        "checksum_sha256": asset.checksum,
        "download_url": f"https://assets.example.com/api/v1/assets/{asset.pk}/download",
        "fidelity": asset.metrics["fidelity"],
        "matte_confidence": asset.metrics["confidence"],
        "segmenter": "classical",
        "derived_from": None,
        "created_at": asset.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert cutout["asset"]["fidelity"]["identical"] is True
    assert 0.0 <= cutout["asset"]["matte_confidence"] <= 1.0
    assert cutout["product"]["sku"] == "BTL-001" and cutout["job_id"] == job.pk
    # the storefront receives job.succeeded, signed, with every asset in it
    [received] = shop.received
    body = Webhook(endpoint.secret).verify(received.body, received.headers)
    assert received.headers["webhook-id"] == succeeded.public_id
    assert body["type"] == "job.succeeded"
    assert body["data"]["job"]["id"] == job.pk and body["data"]["job"]["status"] == "succeeded"
    assert sorted(a["kind"] for a in body["data"]["assets"]) == ["cutout", "packshot"]
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 3  # 2 assets + the job


def test_matte_confidence_is_the_accepted_cutouts_not_the_librarys(job, merchant, product_image):
    # given a cutout the merchant accepted, whose evidence scored 0.83; the library is handed
    # the accepted mask as it is and calls it 1.0
    masks.make_automatic_mask(product_image)
    accepted = masks.accept_automatic(product_image)
    type(accepted).objects.filter(pk=accepted.pk).update(confidence=0.83)
    create_endpoint(merchant, "http://127.0.0.1:9/hooks", ["asset.created", "job.succeeded"])

    assert run_job_task.apply(args=[job.pk]).get() == "succeeded"

    # then the cutout and packshot events report the accepted matte's confidence
    created = {e.payload["asset"]["kind"]: e.payload["asset"] for e in events_of("asset.created")}
    assert sorted(created) == ["cutout", "packshot"]
    for kind in ("cutout", "packshot"):
        asset = Asset.objects.get(pk=created[kind]["id"])
        assert asset.metrics["confidence"] == 1.0  # the library's value, not the one reported
        assert asset.metrics["matte"]["version"] == accepted.version
        assert created[kind]["matte_confidence"] == 0.83
    [succeeded] = events_of("job.succeeded")
    assert [a["matte_confidence"] for a in succeeded.payload["assets"]] == [0.83, 0.83]


def test_a_failed_job_announces_the_failure_and_no_assets(job, merchant, monkeypatch):
    from generation.errors import GenerationError

    def refuse(*args, **kwargs):
        raise GenerationError("The product could not be separated from the background.", code="no_product")

    monkeypatch.setattr("generation.pipelines.run_outputs", refuse)
    create_endpoint(merchant, "http://127.0.0.1:9/hooks")

    assert run_job_task.apply(args=[job.pk]).get() == "failed"

    [failed] = events_of("job.failed")
    assert failed.payload["job"]["error"] == {
        "code": "no_product",
        "message": "The product could not be separated from the background.",
    }
    assert failed.payload["job"]["status"] == "failed" and failed.payload["product"]["sku"] == "BTL-001"
    assert events_of("asset.created") == [] and events_of("job.succeeded") == []
    assert failed.deliveries.count() == 1


def stored(job: GenerationJob) -> list[storing.StoredOutput]:
    key = f"merchants/{job.merchant_id}/products/BTL-001/jobs/{job.pk}/packshot.png"
    return [storing.StoredOutput("packshot", "packshot", "png", 2000, 2000, key, 10, "ab" * 32, {})]


def test_finishing_twice_announces_once(job):
    token = lifecycle.claim_job(job.pk)

    first = storing.finish_job(job.pk, token, stored(job))
    second = storing.finish_job(job.pk, token, stored(job))
    also_failed = lifecycle.fail_job(job.pk, token, code="late", message="too late")

    assert (first, second, also_failed) == (True, False, False)
    assert len(events_of("job.succeeded")) == 1 and len(events_of("asset.created")) == 1
    assert events_of("job.failed") == []


def test_the_events_share_the_finish_transaction(job, monkeypatch):
    token = lifecycle.claim_job(job.pk)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("shop_assets.jobs.notify.record_event", broken)
    with pytest.raises(RuntimeError):
        storing.finish_job(job.pk, token, stored(job))

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.lease_token == token
    assert not Asset.objects.filter(job=job).exists() and WebhookEvent.objects.count() == 0
