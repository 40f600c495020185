"""``/api/v1/batches``: catalogue imports over the REST API (mounted by ``api.views``).

``POST /batches`` takes the catalogue as multipart ``file`` (and ``images``, a ZIP) and
answers the preview: counts, what will be created and updated, each refused row with
its line number. ``POST /batches/{id}/confirm`` starts it (or ``confirm=true`` at once).
A saved campaign (``campaign_id``) or one given as JSON (``campaign``: ``outputs``,
``parameters``, ``headline``) makes one job per SKU; without one the batch only imports.
Every query is scoped to the key's merchant: another merchant's batch ids answer 404.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NoReturn

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from generation.request import InvalidRequest
from shop_assets.accounts import access
from shop_assets.api.errors import ApiError, ErrorOut
from shop_assets.bulk import campaigns, exports, fanout, imports
from shop_assets.bulk.models import Batch, BatchRow, Campaign, RowState

router = Router(tags=["batches"])


class CountsOut(Schema):
    total: int
    waiting: int
    queued: int
    running: int
    succeeded: int
    failed: int
    needs_review: int
    imported: int
    refused: int
    progress: int


class RowOut(Schema):
    line: int
    sku: str
    state: str
    action: str
    error: str
    image_status: str
    product_id: int | None
    job_id: int | None


class BatchOut(Schema):
    id: int
    status: str
    campaign_id: int | None
    outputs: list[str] = Field(description="what each row's job makes; empty: the batch only imports")
    headline: str
    format: str
    encoding: str
    source_name: str
    images_name: str
    total_rows: int
    error_rows: int
    create_count: int
    update_count: int
    unchanged_count: int
    ignored_columns: list[str]
    error_message: str
    created_at: datetime
    confirmed_at: datetime | None
    finished_at: datetime | None
    counts: CountsOut
    errors: list[RowOut]

    @staticmethod
    def resolve_outputs(obj: Batch) -> list[str]:
        request = obj.request or (obj.campaign.request if obj.campaign else None) or {}
        return list(request.get("outputs", []))

    @staticmethod
    def resolve_headline(obj: Batch) -> str:
        if obj.request is None and obj.campaign is not None:
            return obj.campaign.headline
        return obj.headline

    @staticmethod
    def resolve_counts(obj: Batch) -> dict[str, int]:
        counts = fanout.batch_counts(obj)
        return {**counts.__dict__, "progress": counts.progress}

    @staticmethod
    def resolve_errors(obj: Batch) -> list[BatchRow]:
        # the first refused rows; GET /batches/{id}/rows?state=invalid pages through all
        return list(obj.rows.filter(state__in=(RowState.INVALID, RowState.FAILED)).order_by("line")[:100])


def _batches(request: HttpRequest):
    return Batch.objects.filter(merchant=access.key_merchant(request)).select_related("campaign")


def _campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    found = Campaign.objects.filter(merchant=access.key_merchant(request), pk=campaign_id).first()
    if found is None:
        raise ApiError(
            400, "unknown_campaign", f"Your shop has no campaign {campaign_id}.", field="campaign_id"
        )
    return found


def _inline_campaign(text: str) -> tuple[dict[str, Any], str]:
    """(request, headline rule) of a campaign given as JSON; 400 naming the field otherwise."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"campaign is not JSON: {exc}", field="campaign") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "campaign is a JSON object", field="campaign")
    unknown = sorted(set(data) - {"outputs", "parameters", "headline"})
    if unknown:
        raise ApiError(
            400,
            "invalid_request",
            "unknown option; use outputs, parameters, headline",
            field=f"campaign.{unknown[0]}",
        )
    try:
        stored = campaigns.check_request(data.get("outputs"), data.get("parameters", {}))
        rule = campaigns.check_headline_rule(data.get("headline", "{title}"))
    except InvalidRequest as exc:
        top = exc.field.split(".")[0].split("[")[0]
        inside = exc.field and top not in ("outputs", "headline", "parameters")
        field = f"campaign.parameters.{exc.field}" if inside else f"campaign.{exc.field or 'outputs'}"
        raise ApiError(400, "invalid_request", exc.detail, field=field) from exc
    return stored, rule


def _refused(exc: Exception, code: str) -> NoReturn:
    raise ApiError(400, code, str(exc)) from exc


@router.post("", response={201: BatchOut, 400: ErrorOut}, url_name="batches")
def create_batch(
    request: HttpRequest,
    file: File[UploadedFile],
    images: UploadedFile | None = File(None),  # noqa: B008 - ninja marks an optional file this way
    confirm: Form[bool] = False,
    campaign_id: Form[int | None] = None,
    campaign: Form[str] = "",
):
    """Upload a catalogue (Shopify or WooCommerce export, or a simple CSV) and its images ZIP.

    ``campaign_id`` names a saved campaign; ``campaign`` gives one as JSON instead
    (``{"outputs": [...], "parameters": {...}, "headline": "{title}"}``), checked like a job.
    """
    if file.file is None:  # a multipart upload always has one
        raise ApiError(400, "file_missing", "The catalogue upload has no content.")
    chosen = _campaign(request, campaign_id) if campaign_id is not None else None
    inline = _inline_campaign(campaign) if campaign else None
    if chosen is not None and inline is not None:
        raise ApiError(400, "invalid_request", "Give campaign_id or campaign, not both.", field="campaign")
    try:
        batch = imports.preview_batch(
            access.key_merchant(request),
            file.file,
            file.name or "catalogue.csv",
            images.file if images is not None else None,
            (images.name or "images.zip") if images is not None else "",
            channel="api",
        )
    except imports.BatchRefused as exc:
        return _refused(exc, exc.code)
    if chosen is not None or inline is not None:
        batch.campaign = chosen
        if inline is not None:
            batch.request, batch.headline = inline
        batch.save(update_fields=["campaign", "request", "headline"])
    if confirm:
        try:
            with transaction.atomic():
                fanout.confirm_batch(batch)
        except fanout.NotConfirmable as exc:
            return _refused(exc, "not_confirmable")
    return Status(201, batch)


@router.get("", response=list[BatchOut])
@paginate
def list_batches(request: HttpRequest):
    return _batches(request)


@router.get("/{batch_id}", response=BatchOut, url_name="batch")
def get_batch(request: HttpRequest, batch_id: int):
    return get_object_or_404(_batches(request), pk=batch_id)


@router.post("/{batch_id}/confirm", response={202: BatchOut, 400: ErrorOut})
def confirm_batch(request: HttpRequest, batch_id: int, campaign_id: int | None = None):
    """Start the import; ``campaign_id`` (else the one given at the upload) makes one job
    per SKU with that campaign as it is now."""
    batch = get_object_or_404(_batches(request), pk=batch_id)
    chosen = _campaign(request, campaign_id) if campaign_id is not None else None
    try:
        with transaction.atomic():
            fanout.confirm_batch(batch, chosen)
    except fanout.NotConfirmable as exc:
        return _refused(exc, "not_confirmable")
    return Status(202, batch)


@router.delete("/{batch_id}", response={204: None, 400: ErrorOut})
def discard_batch(request: HttpRequest, batch_id: int):
    batch = get_object_or_404(_batches(request), pk=batch_id)
    with transaction.atomic():
        if not imports.discard_batch(batch):
            return _refused(
                Exception("Only a batch waiting for confirmation can be discarded."), "not_discardable"
            )
    return Status(204, None)


@router.get("/{batch_id}/rows", response=list[RowOut])
@paginate
def list_rows(request: HttpRequest, batch_id: int, state: str = ""):
    batch = get_object_or_404(_batches(request), pk=batch_id)
    rows = batch.rows.order_by("line")
    return rows.filter(state=state) if state else rows


@router.post("/{batch_id}/retry", response={202: BatchOut})
def retry_batch(request: HttpRequest, batch_id: int):
    batch = get_object_or_404(_batches(request), pk=batch_id)
    fanout.retry_failed_rows(batch)
    batch.refresh_from_db()
    return Status(202, batch)


@router.get("/{batch_id}/results.csv", url_name="batch_results")
def batch_results(request: HttpRequest, batch_id: int) -> StreamingHttpResponse:
    batch = get_object_or_404(_batches(request), pk=batch_id)
    base = request.build_absolute_uri("/")[:-1]
    return exports.results_csv(batch, lambda a: base + reverse("api:asset_download", args=[a.pk]))


@router.get("/{batch_id}/errors.csv")
def batch_errors(request: HttpRequest, batch_id: int) -> StreamingHttpResponse:
    return exports.errors_csv(get_object_or_404(_batches(request), pk=batch_id))


@router.get("/{batch_id}/assets.zip", url_name="batch_assets")
def batch_assets(request: HttpRequest, batch_id: int) -> HttpResponse | StreamingHttpResponse:
    response = exports.assets_zip(get_object_or_404(_batches(request), pk=batch_id))
    if response is None:
        return HttpResponse(status=404)
    return response
