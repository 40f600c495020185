"""Creating jobs: the merchant's defaults filled into a typed request, checked, saved, sent.

The request is ``generation.request.JobRequest``: checked here against what this install can
run and the per-job budget, and stored as its normalized JSON (``parameters`` with its
``version``; ``outputs`` in their own column). A rerun makes the same assets even if the
product or the brand kit changes later; only the logo is read from the merchant's own kit
when the job runs, and a clip's audio track (``clip.audio``, checked here to be the
merchant's own) from storage, since a request never names a file.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from generation.config import GenerationConfig
from generation.request import (
    Capabilities,
    InvalidRequest,
    JobRequest,
    budget_from,
    installed_capabilities,
    parse_request,
)
from generation.typography.money import locale_for_words
from generation.typography.words import default_cta
from shop_assets.accounts.models import BrandKit
from shop_assets.catalog.models import AudioTrack, Product, ProductImage
from shop_assets.jobs import rerender
from shop_assets.jobs.models import Asset, GenerationJob, OutputKind

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_CLIP_CTA = 32  # generation.request.ClipOptions.cta


@lru_cache(maxsize=1)
def generation_config() -> GenerationConfig:
    """Built once per process, so engines and model caches are reused by the worker."""
    return GenerationConfig.from_env()


def capabilities() -> Capabilities:
    """What this install lets a job ask for: its models folder (file checks, nothing loaded),
    or for diffusion what ``OFFER_DIFFUSION`` says the GPU workers have."""
    installed = installed_capabilities(generation_config())
    if settings.OFFER_DIFFUSION == "auto":
        return installed
    offered = settings.OFFER_DIFFUSION == "yes"
    return replace(installed, scene_diffusion=offered, clip_diffusion=offered)


def build_request(product: Product, outputs: Any, parameters: Any) -> JobRequest:
    """The request a merchant's job runs: ``parameters`` over the product's and the brand
    kit's defaults, checked. Raises ``InvalidRequest`` naming the field at fault."""
    if not isinstance(parameters, dict):
        raise InvalidRequest("the parameters are a JSON object", "parameters")
    data = with_merchant_defaults(product, outputs if isinstance(outputs, list) else [], parameters)
    data.setdefault("segmenter", settings.DEFAULT_SEGMENTER)
    request = parse_request(
        {**data, "outputs": outputs},
        capabilities=capabilities(),
        budget=budget_from(generation_config()),
    )
    if request.clip is not None and request.clip.audio is not None:
        audio_track(product.merchant_id, request.clip.audio)
    if request.rerender is not None:
        source = rerender.check_rerender(product.merchant_id, product.pk, request.rerender)
        if request.rerender.size is None:
            # stored with the source's size, so the row says what it makes and is priced by it
            size = (source.poster.metrics or {}).get(
                "size"
            ) or f"{source.poster.width}x{source.poster.height}"
            data["rerender"] = {**data["rerender"], "size": size}
            return build_request(product, outputs, data)
    return request


def audio_track(merchant_id: int, track_id: int) -> AudioTrack:
    """The merchant's own track ``track_id``; ``InvalidRequest`` on ``clip.audio`` when the
    merchant has none by that id (another merchant's ids are answered the same)."""
    track = AudioTrack.objects.filter(merchant_id=merchant_id, pk=track_id).first()
    if track is None:
        raise InvalidRequest(
            f"you have no audio track {track_id}; upload one (POST /api/v1/audio) and use its id",
            "clip.audio",
        )
    return track


def stored_request(job: GenerationJob) -> JobRequest:
    """The request a job row holds, checked again by the same model before it runs.

    The install's models are not checked here: a worker without them fails naming the
    command that installs them.
    """
    parameters = dict(job.parameters)
    if "version" not in parameters and isinstance(parameters.get("brand"), dict):
        # rows saved before requests had a version carried the kit's logo key; the
        # worker takes the logo from the merchant's kit instead
        parameters["brand"] = {k: v for k, v in parameters["brand"].items() if k != "logo_key"}
    return parse_request(
        {**parameters, "outputs": job.outputs},
        capabilities=Capabilities.everything(),
        budget=budget_from(generation_config()),
    )


def queue_for(request: JobRequest) -> str:
    if request.scene is not None and request.scene.engine == "diffusion":
        return "gpu"
    if request.clip is not None and request.clip.motion == "diffusion":
        return "gpu"
    return "default"


# BrandKit.default_cta's default: a kit that keeps it has no call to action of its own
_STOCK_CTA: str = BrandKit._meta.get_field("default_cta").default


def _words_locale(section: dict[str, Any], brand: dict[str, Any], product: Product) -> str:
    """The locale of a poster's or clip's words: the brand's, else what the words and the
    product's currency suggest (a Chinese headline -> "zh_CN")."""
    locale = section.get("locale") or brand.get("locale")
    if isinstance(locale, str) and locale:
        return locale
    headlines = section.get("headlines")
    many = headlines if isinstance(headlines, list) else []
    texts = [t for t in (section.get("headline"), section.get("subline"), *many) if isinstance(t, str)]
    currency = section.get("currency") or product.currency or ""
    return locale_for_words(texts, currency if isinstance(currency, str) else "")


def with_merchant_defaults(
    product: Product, outputs: list[Any], parameters: dict[str, Any]
) -> dict[str, Any]:
    """``parameters`` with the words and brand filled from the product and the brand kit.

    Only sections that are JSON objects (or absent) are filled; anything else is left for
    the request model to refuse by name.
    """
    params = dict(parameters)
    kit = BrandKit.objects.filter(merchant_id=product.merchant_id).first()
    brand = {
        "primary": kit.primary_color if kit else (product.brand_color or "#2f5d50"),
        "secondary": kit.secondary_color if kit else "",
        "text": kit.text_color if kit else "#1b1b1f",
        "heading_family": kit.heading_font if kit else "",
        "body_family": kit.body_font if kit else "",
        # the kit's own call to action; the stock one is said in the words' language below
        "default_cta": kit.default_cta if kit and kit.default_cta != _STOCK_CTA else "",
        "locale": kit.default_locale if kit else "",  # "": the poster's words decide
    }
    brand = {k: v for k, v in brand.items() if v}  # a kit's empty field is the default
    given_brand = params.get("brand")
    if given_brand is None or isinstance(given_brand, dict):
        params["brand"] = {**brand, **(given_brand or {})}
        brand = params["brand"]
    words = {
        "price": str(product.price) if product.price is not None else None,
        "compare_at_price": str(product.compare_at_price) if product.compare_at_price is not None else None,
        "currency": product.currency,
        "locale": brand.get("locale"),
        "cta": brand.get("default_cta") or None,
    }
    words = {k: v for k, v in words.items() if v is not None}
    scene = params.get("scene")
    if isinstance(scene, dict) and not scene.get("brand_color") and _HEX.match(product.brand_color or ""):
        # the brand_color theme (and any theme that uses it) follows the product's brand
        params["scene"] = {**scene, "brand_color": _rgb(product.brand_color)}
    poster = params.get("poster", {})
    # a re-render keeps its source's words unless it changes them
    if OutputKind.POSTER in outputs and isinstance(poster, dict) and "rerender" not in params:
        poster = dict(poster)
        if not poster.get("headlines") and not poster.get("headline"):
            poster["headline"] = product.title[:160]
        poster_words = dict(words)
        if "cta" not in poster_words and _words_locale(poster, brand, product).startswith("en"):
            # English words keep the stock "Shop now"; others take their template's own
            # ("立即购买", "立即抢购"), never an English button under a Chinese headline
            poster_words["cta"] = _STOCK_CTA
        params["poster"] = {**poster_words, **poster}
    clip = params.get("clip", {})
    if OutputKind.CLIP in outputs and isinstance(clip, dict):
        clip = dict(clip)
        clip.setdefault("headline", product.title[:80])
        primary = brand.get("primary")
        if isinstance(primary, str) and _HEX.match(primary):
            clip.setdefault("brand_color", _rgb(primary))
        clip_words = dict(words)  # the end card shows a compare-at price struck through
        cta = clip_words.pop("cta", None) or default_cta(_words_locale(clip, brand, product))
        if isinstance(cta, str) and len(cta) <= MAX_CLIP_CTA:
            clip_words["cta"] = cta  # a kit's longer CTA does not fit a clip's button
        params["clip"] = {**clip_words, **clip}
    return params


def _rgb(value: str) -> list[int]:
    value = value.lstrip("#")
    return [int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)]


def create_job(
    product: Product, image: ProductImage, outputs: Any, parameters: Any | None = None
) -> GenerationJob:
    """Check the request, save the job and enqueue it once the transaction commits.

    Raises ``InvalidRequest`` (nothing saved) naming the field at fault.
    """
    if image.product_id != product.pk:
        raise InvalidRequest("that photo belongs to another product", "image_id")
    request = build_request(product, outputs, {} if parameters is None else parameters)
    if request.rerender is not None:
        source_image = (
            Asset.objects.filter(pk=request.rerender.asset_id).values_list("job__image_id", flat=True).first()
        )
        if source_image != image.pk:
            raise InvalidRequest(
                f"poster {request.rerender.asset_id} was made from photo {source_image}; re-render it from that one",
                "image_id",
            )
    job = GenerationJob.objects.create(
        merchant_id=product.merchant_id,
        product=product,
        image=image,
        outputs=request.outputs,
        parameters=request.stored(),
        queue=queue_for(request),
        enqueued_at=timezone.now(),
        progress_message="Waiting for a worker",
    )
    transaction.on_commit(lambda: enqueue(job.pk, job.queue))
    return job


def enqueue(job_id: int, queue: str) -> None:
    # The one place the job code reaches for the task: tasks.py imports the job modules,
    # so importing it at module level here would make a cycle.
    from shop_assets.jobs.tasks import run_job_task

    run_job_task.apply_async(args=[job_id], queue=queue)
