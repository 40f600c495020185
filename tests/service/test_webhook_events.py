"""Events are rows written in the caller's transaction: one that rolls back leaves no
event, sends nothing; one that commits queues its deliveries."""

from __future__ import annotations

import pytest
from django.db import transaction

from shop_assets.catalog.models import Product
from shop_assets.webhooks.endpoints import create_endpoint, update_endpoint
from shop_assets.webhooks.events import EventOutsideTransaction, record_event
from shop_assets.webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEvent


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.ALLOW_PRIVATE_URLS = True


class Boom(Exception):
    pass


def test_deliveries_go_to_this_merchants_active_subscribed_endpoints_only(merchant, other_merchant):
    all_events = create_endpoint(merchant, "http://127.0.0.1:9/all")
    jobs_only = create_endpoint(merchant, "http://127.0.0.1:9/jobs", ["job.succeeded", "job.failed"])
    disabled = create_endpoint(merchant, "http://127.0.0.1:9/off")
    update_endpoint(disabled, is_active=False)
    theirs = create_endpoint(other_merchant, "http://127.0.0.1:9/theirs")

    with transaction.atomic():
        event = record_event(merchant, EventType.PRODUCT_UPDATED, {"product": {"sku": "BTL-001"}})

    deliveries = WebhookDelivery.objects.filter(event=event)
    assert [d.endpoint_id for d in deliveries] == [all_events.pk]
    assert {d.status for d in deliveries} == {DeliveryStatus.PENDING}
    assert event.public_id.startswith("msg_") and len(event.public_id) == 36
    assert not WebhookDelivery.objects.filter(endpoint__in=[jobs_only, disabled, theirs]).exists()


def test_a_rolled_back_change_writes_no_event_and_sends_nothing(
    merchant, product, django_capture_on_commit_callbacks
):
    create_endpoint(merchant, "http://127.0.0.1:9/hooks")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(Boom):
        with transaction.atomic():
            Product.objects.filter(pk=product.pk).update(title="Renamed")
            record_event(merchant, EventType.PRODUCT_UPDATED, {"product": {"sku": product.sku}})
            raise Boom

    product.refresh_from_db()
    assert product.title == "Hand wash"
    assert WebhookEvent.objects.count() == 0 and WebhookDelivery.objects.count() == 0
    assert callbacks == []


def test_a_committed_change_queues_its_deliveries_after_commit(merchant, django_capture_on_commit_callbacks):
    endpoint = create_endpoint(merchant, "http://127.0.0.1:9/hooks")

    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            event = record_event(merchant, EventType.PRODUCT_UPDATED, {"product": {"sku": "X"}})

    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    assert len(callbacks) == 1
    assert delivery.dispatched_at is None  # the callback has not run: nothing sent before commit


def test_a_dedupe_key_records_one_event(merchant):
    create_endpoint(merchant, "http://127.0.0.1:9/hooks")

    with transaction.atomic():
        first = record_event(
            merchant, EventType.JOB_SUCCEEDED, {"job": {"id": 1}}, dedupe_key="job:1:succeeded"
        )
    with transaction.atomic():
        second = record_event(
            merchant, EventType.JOB_SUCCEEDED, {"job": {"id": 1}}, dedupe_key="job:1:succeeded"
        )

    assert second.pk == first.pk and second.public_id == first.public_id
    assert WebhookEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1


def test_unknown_event_types_are_refused(merchant):
    with pytest.raises(ValueError, match="Unknown event type 'job.exploded'"):
        with transaction.atomic():
            record_event(merchant, "job.exploded", {})
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused():
    from shop_assets.accounts.models import Merchant

    merchant = Merchant.objects.create(name="Loose", slug="loose")

    with pytest.raises(EventOutsideTransaction):
        record_event(merchant, EventType.PRODUCT_UPDATED, {})

    assert WebhookEvent.objects.count() == 0
