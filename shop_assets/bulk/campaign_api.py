"""``/api/v1/campaigns``: saved looks, and a campaign applied to one product (mounted by
``api.views``).

A campaign's ``outputs`` and ``parameters`` are a job's (``generation.request``): any
problem is a 400 ``invalid_request`` naming the field (``parameters.poster.sizes[0]``,
``headline`` for an unknown placeholder) and nothing is saved. Every query is scoped to
the key's merchant: another merchant's campaign and product ids answer 404.
"""

# no `from __future__ import annotations`: ninja resolves the query schemas of paginated
# views (wrapped by @paginate) from the annotations themselves
from datetime import datetime
from typing import Annotated, Any, ClassVar, NoReturn

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from generation.request import InvalidRequest, JobParameters
from generation.request import OutputKind as OutputName
from shop_assets.accounts import access
from shop_assets.api.errors import ApiError, ErrorOut
from shop_assets.api.schemas import JobOut, RefusingSchema
from shop_assets.bulk import campaigns
from shop_assets.bulk.models import Campaign
from shop_assets.catalog.models import Product
from shop_assets.jobs.models import GenerationJob
from shop_assets.limits.quotas import check_job_quota

router = Router(tags=["campaigns"])

RULE_HELP = "placeholders: " + ", ".join("{" + name + "}" for name in campaigns.PLACEHOLDERS)


class CampaignIn(RefusingSchema):
    """A campaign: a name, a job's outputs and options, and the headline rule."""

    what: ClassVar[str] = "a campaign"

    name: str = Field(max_length=campaigns.MAX_NAME)
    outputs: Annotated[list[OutputName], Field(min_length=1, max_length=5)]
    parameters: JobParameters = JobParameters()
    headline: str = Field(default="{title}", max_length=campaigns.MAX_RULE, description=RULE_HELP)


class CampaignPatch(RefusingSchema):
    """Only the fields sent change; ``parameters``, when sent, replaces the old ones whole."""

    what: ClassVar[str] = "a campaign"

    name: str | None = Field(default=None, max_length=campaigns.MAX_NAME)
    outputs: Annotated[list[OutputName], Field(min_length=1, max_length=5)] | None = None
    parameters: JobParameters | None = None
    headline: str | None = Field(default=None, max_length=campaigns.MAX_RULE, description=RULE_HELP)


class CampaignOut(Schema):
    id: int
    name: str
    outputs: list[str]
    parameters: dict[str, Any]
    headline: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_outputs(obj: Campaign) -> list[str]:
        return list(obj.request.get("outputs", []))

    @staticmethod
    def resolve_parameters(obj: Campaign) -> dict[str, Any]:
        return {k: v for k, v in obj.request.items() if k != "outputs"}


class CampaignJobIn(Schema):
    product_id: int = Field(ge=1, le=2**63 - 1)
    image_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="default: the newest photo")


class CampaignJobOut(JobOut):
    """The job as ``/jobs`` answers it, with where to poll it."""

    url: str

    @staticmethod
    def resolve_url(obj: GenerationJob) -> str:
        return reverse("api:jobs") + f"/{obj.pk}"


def _campaigns(request: HttpRequest):
    return Campaign.objects.filter(merchant=access.key_merchant(request))


def _under_parameters(exc: InvalidRequest) -> NoReturn:
    """A request field's path as the body has it (``parameters.poster.sizes[0]``)."""
    top = exc.field.split(".")[0].split("[")[0]
    inside = exc.field and top not in ("outputs", "headline", "name", "parameters")
    raise InvalidRequest(exc.detail, f"parameters.{exc.field}" if inside else exc.field) from exc


def _save(request: HttpRequest, campaign: Campaign | None, **fields: Any) -> Campaign:
    try:
        return campaigns.save_campaign(access.key_merchant(request), campaign=campaign, **fields)
    except InvalidRequest as exc:
        _under_parameters(exc)
    except campaigns.DuplicateName as exc:
        raise ApiError(409, "duplicate_name", str(exc), field="name") from exc


@router.post("", response={201: CampaignOut, 400: ErrorOut, 409: ErrorOut}, url_name="campaigns")
def create_campaign(request: HttpRequest, payload: CampaignIn):
    """Save a campaign. ``headline`` is the rule that writes each product's poster and clip
    headline, e.g. ``"{title} - {discount} off"``."""
    campaign = _save(
        request,
        None,
        name=payload.name,
        outputs=payload.outputs,
        parameters=payload.parameters.model_dump(exclude_unset=True),
        headline=payload.headline,
    )
    return Status(201, campaign)


@router.get("", response=list[CampaignOut])
@paginate
def list_campaigns(request: HttpRequest):
    """By name."""
    return _campaigns(request)


@router.get("/{campaign_id}", response=CampaignOut, url_name="campaign")
def get_campaign(request: HttpRequest, campaign_id: int):
    return get_object_or_404(_campaigns(request), pk=campaign_id)


@router.patch("/{campaign_id}", response={200: CampaignOut, 400: ErrorOut, 409: ErrorOut})
def update_campaign(request: HttpRequest, campaign_id: int, payload: CampaignPatch):
    """Batches already confirmed keep the campaign as it was when they started."""
    campaign = get_object_or_404(_campaigns(request), pk=campaign_id)
    sent = payload.model_fields_set
    for name in ("name", "outputs", "headline", "parameters"):
        if name in sent and getattr(payload, name) is None:
            raise InvalidRequest("may not be null", name)
    stored = campaign.request
    parameters = (
        payload.parameters.model_dump(exclude_unset=True)
        if payload.parameters is not None
        else {k: v for k, v in stored.items() if k != "outputs"}
    )
    return _save(
        request,
        campaign,
        name=payload.name if payload.name is not None else campaign.name,
        outputs=payload.outputs if payload.outputs is not None else stored.get("outputs", []),
        parameters=parameters,
        headline=payload.headline if payload.headline is not None else campaign.headline,
    )


@router.delete("/{campaign_id}", response={204: None})
def delete_campaign(request: HttpRequest, campaign_id: int):
    """Batches made with it keep their copy of it and run on."""
    get_object_or_404(_campaigns(request), pk=campaign_id).delete()
    return Status(204, None)


@router.post("/{campaign_id}/jobs", response={202: CampaignJobOut, 400: ErrorOut, 429: ErrorOut})
def apply_campaign(request: HttpRequest, campaign_id: int, payload: CampaignJobIn):
    """Start a normal job for one product with this campaign's look (its headline rule
    filled from the product). Counted against the shop's queued-job quota."""
    campaign = get_object_or_404(_campaigns(request), pk=campaign_id)
    product = get_object_or_404(
        Product.objects.filter(merchant=access.key_merchant(request)), pk=payload.product_id
    )
    images = product.images.all()
    image = images.filter(pk=payload.image_id).first() if payload.image_id else images.first()
    if image is None:
        raise ApiError(400, "no_image", "The product has no such photo; upload one first.", field="image_id")
    with transaction.atomic():
        check_job_quota(product.merchant_id)
        try:
            job = campaigns.create_job(campaign.request, campaign.headline, product, image)
        except InvalidRequest as exc:
            raise ApiError(
                400,
                "invalid_request",
                f"The campaign does not fit this product: {exc}",
                field=exc.field or None,
            ) from exc
    return Status(202, job)
