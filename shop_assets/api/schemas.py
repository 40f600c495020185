"""What the API answers about jobs and their assets: one shape, shared by ``/jobs`` and the
routers mounted beside it (a campaign applied to a product answers the same job); and the
base of the bodies that are refused with the field's path."""

from datetime import datetime
from typing import Any, ClassVar

from django.urls import reverse
from ninja import Field, Schema
from pydantic import ValidationError as PydanticValidationError
from pydantic import model_validator

from generation.request import ExpectedOutput, InvalidRequest, OutputKind, first_error
from shop_assets.jobs.coming import still_coming
from shop_assets.jobs.models import Asset, GenerationJob, JobAttempt


class RefusingSchema(Schema):
    """A request body whose first problem is an ``InvalidRequest`` naming the field's path
    (a 400 ``invalid_request``), not ninja's 422 list. ``what`` names the body in the refusal
    of one that is not a JSON object."""

    what: ClassVar[str] = "the body"

    @model_validator(mode="wrap")
    @classmethod
    def _refuse_with_the_field(cls, data: Any, handler: Any) -> Any:
        # raised as InvalidRequest, not ValueError, so ninja's 422 handler does not take it
        if not isinstance(data, dict):
            raise InvalidRequest(f"{cls.what} is a JSON object")
        try:
            return handler(data)
        except PydanticValidationError as exc:
            raise first_error(exc) from None


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


class NotMadeOut(Schema):
    """An output that could not be made while the others were (a poster whose words do not
    fit one size): its would-be name, why, and a poster's template and size."""

    kind: str
    name: str
    reason: str
    template: str = ""
    size: str = ""


class ComingOut(Schema):
    """An output the job has still to make (what its asset will be), known from its request
    before it is made."""

    kind: OutputKind
    template: str = Field(description="A poster's template; empty for other kinds.")
    size: str = Field(description="A poster's size: the preset's name or WxH; empty for other kinds.")
    width: int | None = Field(
        description="Its canvas in px; null where the request does not say (a cutout is its photo's size)."
    )
    height: int | None = Field(description="Its canvas in px; null where the request does not say.")
    format: str = Field(description="Its file's format: png, jpg, webp or mp4.")

    @staticmethod
    def of(out: ExpectedOutput) -> "ComingOut":
        return ComingOut(
            kind=out.kind,
            template=out.template,
            size=out.size,
            width=out.width or None,
            height=out.height or None,
            format=out.fmt,
        )


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
    assets: list[AssetOut]  # while the job runs: those made so far
    not_made: list[NotMadeOut]
    coming: list[ComingOut] = Field(
        description="While the job is queued or running: the outputs it has still to make, in "
        "the order it makes them (each leaves the list when its asset is made or it is found "
        "impossible). Empty once the job has ended."
    )
    attempt_log: list[AttemptOut]

    @staticmethod
    def resolve_assets(obj: GenerationJob) -> list[Asset]:
        return list(obj.assets.all())

    @staticmethod
    def resolve_coming(obj: GenerationJob) -> list[ComingOut]:
        return [ComingOut.of(out) for out in still_coming(obj, list(obj.assets.all()))]

    @staticmethod
    def resolve_attempt_log(obj: GenerationJob) -> list[JobAttempt]:
        return list(obj.attempt_log.all())
