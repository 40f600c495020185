"""Schemathesis against the served OpenAPI schema of the jobs endpoints: whatever it sends,
no server error and no response that breaks the schema. Requests to create a job name this
merchant's product and photo, so the generated options reach the request model instead of
a 404."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from shop_assets.accounts.models import ApiKey
from shop_assets.jobs.models import GenerationJob

pytestmark = pytest.mark.slow


@pytest.fixture
def api_key(merchant, monkeypatch) -> str:
    monkeypatch.setattr("shop_assets.jobs.requests.enqueue", lambda job_id, queue: None)
    return ApiKey.issue(merchant, "schemathesis")[1]


# served by the app itself (the schema view reads no database)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application()).include(
    path_regex="^/api/v1/jobs"
)


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_jobs_endpoints_hold_to_their_schema(case, transactional_db, api_key, product_image):
    # each case starts under the per-key rate and the queued-jobs quota (their own tests cover them)
    cache.clear()
    GenerationJob.objects.all().delete()
    body = case.body if case.method == "POST" and case.path == "/api/v1/jobs" else None
    if isinstance(body, dict) and _well_formed_id(body.get("product_id")):
        # a well-formed id becomes this merchant's product; a malformed one stays malformed
        body["product_id"] = product_image.product_id
        if _well_formed_id(body.get("image_id")):
            body["image_id"] = product_image.pk
    if set(case.query or {}) - {p.name for p in case.operation.query}:
        return  # a query parameter the API does not know is ignored (as HTTP APIs do), not refused
    if case.headers:
        # a key reused with another body is a 409 before the body is read; the idempotency
        # tests cover keys, this test the bodies
        case.headers.pop("Idempotency-Key", None)

    # A request can match the schema and still be refused with 400 naming the field: options
    # that only fit together (compare-at price without a price, clip options without a clip
    # output) and the per-job budget are checked after the schema.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"}, excluded_checks=[positive_data_acceptance]
    )
    assert GenerationJob.objects.exclude(merchant=product_image.product.merchant).count() == 0


def _well_formed_id(value: object) -> bool:
    return type(value) is int and 1 <= value <= 2**63 - 1
