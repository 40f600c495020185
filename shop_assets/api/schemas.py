"""What the API answers about jobs and their assets: one shape, shared by ``/jobs`` and the
routers mounted beside it (a campaign applied to a product answers the same job)."""

from datetime import datetime
from typing import Any

from django.urls import reverse
from ninja import Schema

from shop_assets.jobs.models import Asset, GenerationJob, JobAttempt


class AssetOut(Schema):
    id: int
    job_id: int
    product_id: int
    kind: str
    name: str
    format: str
    width: int
    height: int
    size_bytes: int
    checksum: str
    metrics: dict[str, Any]
    created_at: datetime
    download_url: str

    @staticmethod
    def resolve_product_id(obj: Asset) -> int:
        return obj.job.product_id

    @staticmethod
    def resolve_download_url(obj: Asset) -> str:
        return reverse("api:asset_download", args=[obj.pk])


class AttemptOut(Schema):
    """One worker's try at the job; ``outcome`` is empty while it runs."""

    number: int
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    error_code: str


class JobOut(Schema):
    id: int
    product_id: int
    image_id: int
    outputs: list[str]
    parameters: dict[str, Any]
    queue: str
    status: str
    progress: int
    progress_message: str
    attempts: int
    error_code: str
    error_message: str
    created_at: datetime
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    assets: list[AssetOut]
    attempt_log: list[AttemptOut]

    @staticmethod
    def resolve_assets(obj: GenerationJob) -> list[Asset]:
        return list(obj.assets.all())

    @staticmethod
    def resolve_attempt_log(obj: GenerationJob) -> list[JobAttempt]:
        return list(obj.attempt_log.all())
