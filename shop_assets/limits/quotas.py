"""Per-merchant and per-key quotas: jobs in flight, uploads per minute, API requests.

Rates are counted by django-ratelimit in Django's cache (fixed windows, one per key);
jobs in flight are counted in the database, under a lock on the merchant's row.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from shop_assets.accounts.models import Merchant
from shop_assets.jobs.models import GenerationJob, JobStatus
from shop_assets.limits import QuotaExceeded, seconds_text

IN_FLIGHT = (JobStatus.QUEUED, JobStatus.RUNNING)
# Nothing tells when a running job will end; a client polling sooner learns nothing new.
JOB_QUOTA_RETRY_AFTER = 30
_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def _count(request: HttpRequest, group: str, key: str, rate: str) -> int | None:
    """Count this request against ``rate`` for ``key``; seconds to wait if over, else None."""
    usage = get_usage(request, group=group, key=lambda _group, _request: key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


def rate_text(rate: str) -> str:
    """``"300/m"`` -> ``"300 requests a minute"``."""
    count, unit = rate.split("/")
    return f"{count} requests a {_UNITS[unit]}"


def check_api_rate(request: HttpRequest, api_key_id: int) -> None:
    """Count one API request of this key; ``QuotaExceeded`` past ``SHOPASSETS_API_RATE``."""
    rate = settings.API_RATE
    wait = _count(request, "api-key", str(api_key_id), rate)
    if wait is not None:
        raise QuotaExceeded(
            "rate_limited",
            f"This API key is limited to {rate_text(rate)}; try again in {seconds_text(wait)}.",
            retry_after=wait,
        )


def check_upload_rate(request: HttpRequest, merchant_id: int) -> None:
    """Count one photo upload of this merchant (dashboard and API alike); ``QuotaExceeded``
    past ``SHOPASSETS_UPLOADS_PER_MINUTE``."""
    per_minute = settings.UPLOADS_PER_MINUTE
    wait = _count(request, "uploads", str(merchant_id), f"{per_minute}/m")
    if wait is not None:
        raise QuotaExceeded(
            "too_many_uploads",
            f"Your shop can upload {per_minute} photos a minute; try again in {seconds_text(wait)}.",
            retry_after=wait,
        )


def check_job_quota(merchant_id: int, adding: int = 1) -> None:
    """Refuse ``adding`` more jobs when the merchant would pass ``SHOPASSETS_MAX_QUEUED_JOBS``
    jobs queued or running.

    Call it inside the transaction that creates the jobs: it locks the merchant's row
    (PostgreSQL; SQLite's immediate transactions already run one at a time), so two
    requests cannot both take the last place.
    """
    limit = settings.MAX_QUEUED_JOBS
    Merchant.objects.select_for_update().filter(pk=merchant_id).values_list("pk", flat=True).first()
    in_flight = GenerationJob.objects.filter(merchant_id=merchant_id, status__in=IN_FLIGHT).count()
    if in_flight + adding > limit:
        raise QuotaExceeded(
            "too_many_jobs",
            f"Your shop has {in_flight} jobs queued or running and the limit is {limit}; "
            "start more when some have finished.",
            retry_after=JOB_QUOTA_RETRY_AFTER,
        )
