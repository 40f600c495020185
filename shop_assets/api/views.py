"""REST API (django-ninja) at /api/v1/, authenticated by a merchant's API key
(``Authorization: Bearer sa_xxxx.secret``). Every query is scoped to that merchant."""

# no `from __future__ import annotations`: ninja resolves the query schemas of paginated
# views (wrapped by @paginate) from the annotations themselves
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, File, FilterLookup, FilterSchema, NinjaAPI, Query, Schema, Status, Swagger
from ninja.files import UploadedFile
from ninja.openapi.schema import OpenAPISchema
from ninja.pagination import paginate
from ninja.security import HttpBearer
from pydantic import AfterValidator, BeforeValidator

from generation.errors import AudioRejected, ImageRejected
from generation.request import InvalidRequest, JobParameters, PosterSize, RerenderTexts
from generation.request import OutputKind as OutputName
from shop_assets.accounts.access import ApiRequest, key_merchant
from shop_assets.accounts.models import ApiKey
from shop_assets.api import errors, idempotency
from shop_assets.api.audio import router as audio_router
from shop_assets.api.errors import ApiError, ErrorOut
from shop_assets.api.idempotency import idempotent
from shop_assets.api.masks import router as masks_router
from shop_assets.api.schemas import AssetOut, JobOut, RefusingSchema
from shop_assets.api.webhooks import router as webhooks_router
from shop_assets.bulk.api import router as batches_router
from shop_assets.bulk.campaign_api import router as campaigns_router
from shop_assets.catalog import notify as product_notify
from shop_assets.catalog import services as catalog
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs import again, lifecycle, storage
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus, OutputKind
from shop_assets.limits import api as limits
from shop_assets.limits.quotas import check_job_quota

LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = (
            ApiKey.objects.select_related("merchant")
            .filter(key_hash=ApiKey.hash(token), revoked=False)
            .first()
        )
        if key is None:
            return None
        now = timezone.now()
        # to the minute: a write per request would serialize every API call on SQLite
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        # the one place the key's merchant is set; views read it with key_merchant(request)
        cast(ApiRequest, request).merchant = key.merchant
        return key


class ShopAssetsAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        idempotency.document(errors.document(schema))
        return schema


api = ShopAssetsAPI(
    title="ShopAssets API",
    version="1",
    urls_namespace="api",
    # the bundled Swagger UI (ninja in INSTALLED_APPS), without the online validator badge
    docs=Swagger(settings={"validatorUrl": None}),
    auth=ApiKeyAuth(),
    throttle=limits.api_throttles(),
)
errors.install(api)
limits.install(api)
api.add_decorator(idempotent, mode="view")  # Idempotency-Key on every POST


@api.exception_handler(ImageRejected)
def image_rejected(request: HttpRequest, exc: ImageRejected):
    return api.create_response(request, errors.error_body(exc.code, str(exc), "file"), status=400)


@api.exception_handler(AudioRejected)
def audio_rejected(request: HttpRequest, exc: AudioRejected):
    return api.create_response(request, errors.error_body(exc.code, str(exc), "file"), status=400)


@api.exception_handler(InvalidRequest)
def job_invalid(request: HttpRequest, exc: InvalidRequest):
    return api.create_response(request, errors.error_body(exc.code, str(exc), exc.field), status=400)


class ProductIn(Schema):
    sku: str
    title: str
    description: str = ""
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    currency: str | None = None  # the merchant's default currency when left out
    brand_name: str = ""
    brand_color: str = ""


class ProductPatch(Schema):
    """Only the fields sent change."""

    sku: str | None = None
    title: str | None = None
    description: str | None = None
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    currency: str | None = None
    brand_name: str | None = None
    brand_color: str | None = None


class ImageOut(Schema):
    id: int
    width: int
    height: int
    original_format: str
    has_alpha: bool
    created_at: datetime


class ProductOut(Schema):
    id: int
    sku: str
    title: str
    description: str
    price: Decimal | None
    compare_at_price: Decimal | None
    currency: str
    brand_name: str
    brand_color: str
    created_at: datetime
    updated_at: datetime
    images: list[ImageOut]

    @staticmethod
    def resolve_images(obj: Product) -> list[ProductImage]:
        return list(obj.images.all())


class JobIn(RefusingSchema):
    """A job: which photo, which outputs, and each output's options (``generation.request``).

    Any problem is a 400 ``invalid_request`` with the field's path, e.g.
    ``parameters.poster.sizes[0]``; nothing is stored.
    """

    what: ClassVar[str] = "a job"

    product_id: Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]
    image_id: Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)] | None = Field(
        default=None, description="default: the product's newest photo"
    )
    outputs: Annotated[list[OutputName], Field(min_length=1, max_length=5)]
    parameters: JobParameters = JobParameters()


class RerenderIn(RefusingSchema):
    """What changes on the poster: some words (``texts``) and/or the ``size``; the rest (template,
    background, the scene it was made on) comes from the poster's stored layout."""

    what: ClassVar[str] = "a re-render"

    texts: RerenderTexts = RerenderTexts()
    size: PosterSize | None = Field(default=None, description="default: the poster's own size")


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_time_text(value: Any) -> Any:
    """The schema's ``date-time`` only: pydantic would also take a number (a Unix time) or a
    bare date, which the documented format does not allow."""
    if isinstance(value, str) and not _DATE_TIME.match(value.strip()):
        raise ValueError("a date and time such as 2026-11-30T12:00:00Z")
    return value


def _storable_moment(value: datetime) -> datetime:
    """A filter date the database can compare: naive means UTC; refused when it falls
    outside the years 1-9999 in UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the date is out of range in UTC") from exc


# what a filter compares against a column: ids as the database stores them, dates it can convert
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Moment = Annotated[datetime, BeforeValidator(_date_time_text), AfterValidator(_storable_moment)]


class ProductFilter(FilterSchema):
    q: Annotated[str | None, FilterLookup(["sku__icontains", "title__icontains"])] = None
    sku: Annotated[str | None, FilterLookup("sku")] = None
    created_after: Annotated[Moment | None, FilterLookup("created_at__gte")] = None
    created_before: Annotated[Moment | None, FilterLookup("created_at__lt")] = None


class JobFilter(FilterSchema):
    status: Annotated[JobStatus | None, FilterLookup("status")] = None
    product_id: Annotated[RowId | None, FilterLookup("product_id")] = None
    sku: Annotated[str | None, FilterLookup("product__sku")] = None
    created_after: Annotated[Moment | None, FilterLookup("created_at__gte")] = None
    created_before: Annotated[Moment | None, FilterLookup("created_at__lt")] = None


class AssetFilter(FilterSchema):
    kind: Annotated[OutputKind | None, FilterLookup("kind")] = None
    job_id: Annotated[RowId | None, FilterLookup("job_id")] = None
    product_id: Annotated[RowId | None, FilterLookup("job__product_id")] = None
    sku: Annotated[str | None, FilterLookup("job__product__sku")] = None
    created_after: Annotated[Moment | None, FilterLookup("created_at__gte")] = None
    created_before: Annotated[Moment | None, FilterLookup("created_at__lt")] = None


def _products(request: HttpRequest):
    return Product.objects.filter(merchant=key_merchant(request))


@api.get("/products", response=list[ProductOut], url_name="products")
@paginate
def list_products(request: HttpRequest, filters: Query[ProductFilter]):
    """Newest first; ``q`` searches SKUs and titles, ``sku`` matches one SKU exactly."""
    return filters.filter(_products(request).prefetch_related("images"))


@api.post("/products", response={201: ProductOut, 400: ErrorOut, 409: ErrorOut})
def create_product(request: HttpRequest, payload: ProductIn):
    """Create a product; ``currency`` defaults to the merchant's."""
    product = Product(merchant=key_merchant(request), **payload.dict(exclude={"currency"}))
    product.currency = (payload.currency or key_merchant(request).default_currency).upper()
    _save_product(product)
    return Status(201, product)


def _save_product(product: Product, changed: set[str] | None = None) -> None:
    """Validate and save; ``changed`` (an update) also records ``product.updated``."""
    try:
        product.full_clean(exclude=["merchant"], validate_unique=False)
        with transaction.atomic():
            product.save()
            if changed:
                product_notify.product_updated(product, changed)
    except ValidationError as exc:
        raise ApiError(
            400,
            "invalid_product",
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()),
            field=next(iter(exc.message_dict), None),
        ) from exc
    except IntegrityError as exc:
        raise ApiError(
            409, "duplicate_sku", f"A product with SKU {product.sku!r} already exists.", field="sku"
        ) from exc


@api.get("/products/{product_id}", response=ProductOut)
def get_product(request: HttpRequest, product_id: int):
    return get_object_or_404(_products(request), pk=product_id)


@api.patch("/products/{product_id}", response={200: ProductOut, 400: ErrorOut, 409: ErrorOut})
def update_product(request: HttpRequest, product_id: int, payload: ProductPatch):
    """Change the fields sent; a storefront subscribed to ``product.updated`` hears of it."""
    product = get_object_or_404(_products(request), pk=product_id)
    values = payload.dict(exclude_unset=True)
    if "currency" in values:
        values["currency"] = (values["currency"] or key_merchant(request).default_currency).upper()
    for name in ("sku", "title", "description", "currency", "brand_name", "brand_color"):
        if name in values and values[name] is None:
            raise ApiError(400, "invalid_product", f"{name}: may not be null.", field=name)
    changed = {name for name, value in values.items() if getattr(product, name) != value}
    for name in changed:
        setattr(product, name, values[name])
    if changed:
        _save_product(product, changed)
    return product


@api.delete("/products/{product_id}", response={204: None, 409: ErrorOut})
def delete_product(request: HttpRequest, product_id: int):
    """Delete the product with its photos, jobs and assets, files included. Refused while
    one of its jobs is queued or running (cancel it first)."""
    with transaction.atomic():
        product = get_object_or_404(_products(request).select_for_update(), pk=product_id)
        busy = product.jobs.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).count()
        if busy:
            raise ApiError(
                409,
                "jobs_in_progress",
                f"{busy} job(s) of this product are queued or running; cancel them or wait.",
            )
        catalog.delete_product(product)
    return Status(204, None)


@api.post(
    "/products/{product_id}/images",
    response={201: ImageOut, 400: ErrorOut, 413: ErrorOut, 429: ErrorOut, 503: ErrorOut},
    throttle=limits.upload_throttles(),
)
def upload_image(request: HttpRequest, product_id: int, file: File[UploadedFile]):
    product = get_object_or_404(_products(request), pk=product_id)
    return Status(
        201, catalog.add_product_image(product, catalog.read_upload(file), filename=file.name or "")
    )


@api.post("/jobs", response={202: JobOut, 400: ErrorOut, 429: ErrorOut})
def create_job(request: HttpRequest, payload: JobIn):
    product = get_object_or_404(_products(request), pk=payload.product_id)
    images = product.images.all()
    image = images.filter(pk=payload.image_id).first() if payload.image_id else images.first()
    if image is None:
        raise ApiError(400, "no_image", "The product has no such photo; upload one first.", field="image_id")
    with transaction.atomic():
        check_job_quota(product.merchant_id)
        try:
            job = job_requests.create_job(
                product, image, payload.outputs, payload.parameters.model_dump(exclude_unset=True)
            )
        except InvalidRequest as exc:
            # the request's own fields sit under "parameters" in the body
            inside = exc.field and exc.field.split(".")[0].split("[")[0] not in ("outputs", "image_id")
            raise InvalidRequest(exc.detail, f"parameters.{exc.field}" if inside else exc.field) from exc
    return Status(202, job)


def _jobs(request: HttpRequest):
    return GenerationJob.objects.filter(merchant=key_merchant(request))


def _assets(request: HttpRequest):
    return Asset.objects.filter(merchant=key_merchant(request))


@api.get("/jobs", response=list[JobOut], url_name="jobs")
@paginate
def list_jobs(request: HttpRequest, filters: Query[JobFilter]):
    """Newest first."""
    return filters.filter(_jobs(request).prefetch_related("assets", "attempt_log"))


@api.get("/jobs/{job_id}", response=JobOut)
def get_job(request: HttpRequest, job_id: int):
    return get_object_or_404(_jobs(request), pk=job_id)


@api.post("/jobs/{job_id}/cancel", response={202: JobOut, 409: ErrorOut})
def cancel_job(request: HttpRequest, job_id: int):
    """A queued job is cancelled at once; a running one stops at its next heartbeat
    (``cancel_requested_at`` is set meanwhile) and keeps no assets."""
    job = get_object_or_404(_jobs(request), pk=job_id)
    if not lifecycle.cancel_job(job):
        raise ApiError(409, "job_finished", f"The job already {job.status}; there is nothing to cancel.")
    return Status(202, _jobs(request).get(pk=job_id))


@api.post("/jobs/{job_id}/retry", response={202: JobOut, 409: ErrorOut, 429: ErrorOut})
def retry_job(request: HttpRequest, job_id: int):
    """Queue a failed or cancelled job again (the same id, a fresh set of attempts)."""
    job = get_object_or_404(_jobs(request), pk=job_id)
    with transaction.atomic():
        check_job_quota(job.merchant_id)
        try:
            lifecycle.retry_job(job)
        except lifecycle.NotRetryable as exc:
            raise ApiError(409, "not_retryable", str(exc)) from exc
    return Status(202, _jobs(request).get(pk=job_id))


@api.get("/assets", response=list[AssetOut], url_name="assets")
@paginate
def list_assets(request: HttpRequest, filters: Query[AssetFilter]):
    """Newest first."""
    return filters.filter(_assets(request).select_related("job").order_by("-created_at", "-pk"))


@api.get("/assets/{asset_id}", response=AssetOut)
def get_asset(request: HttpRequest, asset_id: int):
    return get_object_or_404(_assets(request).select_related("job"), pk=asset_id)


@api.delete("/assets/{asset_id}", response={204: None})
def delete_asset(request: HttpRequest, asset_id: int):
    """Delete the asset and its file (once the deletion commits)."""
    with transaction.atomic():
        asset = get_object_or_404(_assets(request), pk=asset_id)
        keys = storage.asset_keys([asset])
        asset.delete()
        transaction.on_commit(lambda: storage.delete_keys(keys))
    return Status(204, None)


def _refused_again(exc: InvalidRequest) -> ApiError:
    """A refusal of the one-asset-again endpoints, with the field as their body spells it."""
    field, section = exc.field, exc.field.split(".")[0]
    if field == "rerender.asset_id":
        return ApiError(400, "not_rerenderable", exc.detail)
    if section == "rerender":
        name = field.split(".", 1)[1]
        field = name if name == "size" else f"texts.{name}"
    return ApiError(400, exc.code, exc.detail, field=field or None)


@api.post(
    "/assets/{asset_id}/rerender",
    response={201: JobOut, 400: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    url_name="asset_rerender",
)
def rerender_asset(request: HttpRequest, asset_id: int, payload: RerenderIn):
    """A new job making this poster again from its stored layout, with ``texts`` and/or ``size``
    changed, on the same scene when it was made on one. A word left out stays as it was; ``""``
    removes a subline, call to action, ribbon or badge. Not a poster (or a poster without its
    layout): 400 ``not_rerenderable``."""
    asset = get_object_or_404(_assets(request).select_related("job__product", "job__image"), pk=asset_id)
    changes = payload.texts.model_dump(exclude_none=True)
    if payload.size is not None:
        changes["size"] = payload.size
    try:
        job = again.rerender_job(asset, changes)
    except InvalidRequest as exc:
        raise _refused_again(exc) from exc
    return Status(201, job)


@api.post(
    "/assets/{asset_id}/regenerate",
    response={201: JobOut, 400: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    url_name="asset_regenerate",
)
def regenerate_asset(request: HttpRequest, asset_id: int):
    """A new job for this asset's kind alone, with its recorded settings and a fresh seed (a
    poster made on a scene: a new scene of that theme and the poster on it, both assets of the
    job). A side file (layout JSON, clip frame) regenerates the asset it belongs to."""
    asset = get_object_or_404(_assets(request).select_related("job__product", "job__image"), pk=asset_id)
    try:
        job = again.regenerate_job(asset)
    except InvalidRequest as exc:
        raise _refused_again(exc) from exc
    return Status(201, job)


@api.get("/assets/{asset_id}/download", url_name="asset_download")
def download_asset(request: HttpRequest, asset_id: int):
    asset = get_object_or_404(_assets(request).select_related("job__product"), pk=asset_id)
    return storage.file_response(
        asset.storage_key, filename=asset.download_filename, content_type=asset.content_type, attachment=True
    )


api.add_router("/webhooks", webhooks_router)
api.add_router("/batches", batches_router)
api.add_router("/campaigns", campaigns_router)
api.add_router("/images", masks_router)
api.add_router("/audio", audio_router)
