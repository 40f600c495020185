"""Moments as a merchant reads them on every page: "2 Mar 2026, 09:00 UTC" in a ``<time>``
element whose title gives the second, or "5 minutes ago" / "in 5 minutes" with that title;
never a bare ``2026-03-02 09:00`` (the webhook and API-key pages wrote dates so, while the
job list said "5 minutes ago")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from shop_assets.accounts.models import ApiKey
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.webhooks.endpoints import create_endpoint
from shop_assets.webhooks.models import (
    AttemptOutcome,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

pytestmark = pytest.mark.django_db

MARCH = datetime(2026, 3, 2, 9, 0, 7, tzinfo=UTC)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _read(body: str) -> str:
    """What a merchant reads: the text and the tips shown on hover (not the machine's
    ``datetime`` attribute)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    tips = " ".join(re.findall(r'title="([^"]*)"', body))
    return re.sub(r"<[^>]+>", " ", body) + " " + tips


def _times(body: str) -> list[tuple[str, str, str]]:
    """(datetime, title, text) of each ``<time>`` element."""
    return re.findall(r'<time datetime="([^"]+)" title="([^"]+)">([^<]*)</time>', body)


def test_webhook_pages_write_moments_as_people_do(signed_in, merchant, settings):
    settings.ALLOW_PRIVATE_URLS = True
    # given: an endpoint failing since 2 March, its previous secret still signing for a day,
    # a delivery made then with one attempt, retried in 5 minutes; and a disabled endpoint
    failing = create_endpoint(merchant, "http://127.0.0.1:9/hooks")
    until = timezone.now() + timedelta(days=1)
    WebhookEndpoint.objects.filter(pk=failing.pk).update(
        failing_since=MARCH, previous_secret="whsec_old", previous_secret_expires_at=until
    )
    event = WebhookEvent.objects.create(merchant=merchant, type="webhook.test", payload={})
    delivery = WebhookDelivery.objects.create(
        event=event, endpoint=failing, status=DeliveryStatus.PENDING,
        next_attempt_at=timezone.now() + timedelta(minutes=5, seconds=30),
    )  # fmt: skip
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=MARCH)
    WebhookAttempt.objects.create(
        delivery=delivery, number=1, started_at=MARCH, signed_timestamp=0, duration_ms=12,
        outcome=AttemptOutcome.HTTP_ERROR, status_code=503,
    )  # fmt: skip
    disabled = create_endpoint(merchant, "http://127.0.0.1:9/gone")
    WebhookEndpoint.objects.filter(pk=disabled.pk).update(is_active=False, disabled_at=MARCH)

    # when: the list and both endpoints' pages are opened
    listed = signed_in.get(reverse("webhooks:list")).content.decode()
    detail = signed_in.get(reverse("webhooks:detail", args=[failing.pk])).content.decode()
    gone = signed_in.get(reverse("webhooks:detail", args=[disabled.pk])).content.decode()

    # then: every moment is a <time> reading "2 Mar 2026, 09:00 UTC", the second on hover
    march = ("2026-03-02T09:00:07+00:00", "2 Mar 2026, 09:00:07 UTC", "2 Mar 2026, 09:00 UTC")
    assert 'title="Failing since 2 Mar 2026, 09:00 UTC"' in listed
    assert "Every attempt since " + _time_html(*march) + " has failed." in detail
    assert "Disabled since " + _time_html(*march) + "." in gone
    times = _times(detail)
    assert times.count(march) == 3, times  # the banner, the delivery's row and its attempt
    expires = timezone.localtime(until)
    # the previous secret's end
    assert re.search(rf"until <time [^>]+>{expires.day} {expires:%b %Y, %H:%M} UTC</time>\.", detail)
    ahead = [t for t in times if t[2].startswith("in ")]
    assert [t[2] for t in ahead] == ["in 5\xa0minutes"], times
    for page in (listed, detail, gone):
        assert not ISO_DATE.search(_read(page)), ISO_DATE.findall(_read(page))


def _time_html(iso: str, title: str, text: str) -> str:
    return f'<time datetime="{iso}" title="{title}">{text}</time>'


def test_api_keys_and_the_job_list_write_moments_alike(signed_in, merchant, product_image):
    # given: a key made on 2 March and used 5 minutes ago; a job started 5 minutes ago
    key, _ = ApiKey.issue(merchant, "storefront")
    used = timezone.now() - timedelta(minutes=5, seconds=10)
    ApiKey.objects.filter(pk=key.pk).update(created_at=MARCH, last_used_at=used)
    job = GenerationJob.objects.create(
        merchant=merchant, product=product_image.product, image=product_image, outputs=["cutout"],
        status=JobStatus.SUCCEEDED, progress=100,
    )  # fmt: skip
    GenerationJob.objects.filter(pk=job.pk).update(created_at=used)

    # when: the API keys page and the product's page (its job list) are opened
    keys = signed_in.get(reverse("accounts:api_keys")).content.decode()
    product = signed_in.get(reverse("dashboard:product", args=[product_image.product_id])).content.decode()

    # then: the key's creation as a date, its last use and the job as "5 minutes ago", each
    # a <time> with the moment on hover, and no ISO date anywhere a merchant reads
    exact = timezone.localtime(used)
    five_minutes = (used.isoformat(), f"{exact.day} {exact:%b %Y, %H:%M:%S} UTC", "5\xa0minutes ago")
    march = ("2026-03-02T09:00:07+00:00", "2 Mar 2026, 09:00:07 UTC", "2 Mar 2026, 09:00 UTC")
    assert _times(keys) == [march, five_minutes]
    assert five_minutes in _times(product)
    for page in (keys, product):
        assert not ISO_DATE.search(_read(page)), ISO_DATE.findall(_read(page))
