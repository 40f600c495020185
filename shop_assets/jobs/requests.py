"""Creating jobs: check a request, fill in the merchant's defaults, save it and send it.

The parameters stored with the job are the complete request: a rerun makes the same
assets even if the product or the brand kit changes later.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs.models import GenerationJob, OutputKind

SUPPORTED_OUTPUTS = (
    OutputKind.CUTOUT,
    OutputKind.PACKSHOT,
    OutputKind.SCENE,
    OutputKind.POSTER,
    OutputKind.CLIP,
)
MAX_POSTERS_PER_JOB = 60
IMAGE_FORMATS = ("png", "jpg", "webp")


class JobRequestInvalid(ValueError):
    """The requested outputs or parameters are not something a job can do."""


def validate_request(outputs: list[str], parameters: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Normalize and check a job request. Raises JobRequestInvalid naming the problem."""
    from generation.clips.spec import ClipSpec
    from generation.errors import InvalidSpec
    from generation.specs import PackshotSpec, SceneSpec

    outputs = list(dict.fromkeys(outputs))
    if not outputs:
        raise JobRequestInvalid("Choose at least one output.")
    unknown = [o for o in outputs if o not in SUPPORTED_OUTPUTS]
    if unknown:
        raise JobRequestInvalid(
            f"Unknown or not yet available output(s): {', '.join(unknown)}. "
            f"Available: {', '.join(SUPPORTED_OUTPUTS)}."
        )
    params = dict(parameters or {})
    params.setdefault("segmenter", settings.DEFAULT_SEGMENTER)
    if params["segmenter"] not in ("auto", "alpha", "rembg", "classical"):
        raise JobRequestInvalid(f"Unknown segmenter {params['segmenter']!r}.")
    params.setdefault("format", "png")
    if params["format"] not in IMAGE_FORMATS:
        raise JobRequestInvalid(f"Format must be one of {', '.join(IMAGE_FORMATS)}.")
    try:
        if OutputKind.PACKSHOT in outputs:
            params["packshot"] = _spec_dict(PackshotSpec(**params.get("packshot", {})))
        if OutputKind.SCENE in outputs:
            scene = dict(params.get("scene", {}))
            if isinstance(scene.get("brand_color"), list):
                scene["brand_color"] = tuple(scene["brand_color"])
            spec = SceneSpec(**scene)
            _check_theme(spec.theme)
            params["scene"] = _spec_dict(spec)
        if OutputKind.POSTER in outputs:
            params["poster"] = _checked_poster(params.get("poster", {}), params.get("brand", {}))
        if OutputKind.CLIP in outputs:
            clip = clip_kwargs(params.get("clip", {}))
            ClipSpec(**clip)
            params["clip"] = params.get("clip", {})
    except (TypeError, ValueError) as exc:  # wrong keys or shapes in the request's JSON
        raise JobRequestInvalid(f"Invalid parameters: {exc}") from exc
    except InvalidSpec as exc:
        raise JobRequestInvalid(str(exc)) from exc
    return outputs, params


POSTER_LIST_FIELDS = ("templates", "sizes", "headlines")
POSTER_TEXT_FIELDS = (
    "subline",
    "price",
    "compare_at_price",
    "currency",
    "locale",
    "cta",
    "ribbon",
    "badge",
    "theme",
    "background",
    "seed",
)


def _checked_poster(poster: dict[str, Any], brand: dict[str, Any]) -> dict[str, Any]:
    """Fill the poster lists and check every poster they make (templates x sizes x headlines)."""
    unknown = set(poster) - set(POSTER_LIST_FIELDS) - set(POSTER_TEXT_FIELDS) - {"headline"}
    if unknown:
        raise JobRequestInvalid(f"Unknown poster parameter(s): {', '.join(sorted(unknown))}.")
    poster = dict(poster)
    poster["templates"] = list(poster.get("templates") or ["hero_left"])
    poster["sizes"] = [str(size) for size in (poster.get("sizes") or ["feed"])]
    poster["headlines"] = list(poster.get("headlines") or [poster.pop("headline", "")])
    poster.pop("headline", None)
    count = len(poster["templates"]) * len(poster["sizes"]) * len(poster["headlines"])
    if count > MAX_POSTERS_PER_JOB:
        raise JobRequestInvalid(f"That is {count} posters; one job makes at most {MAX_POSTERS_PER_JOB}.")
    poster_specs(poster, brand_kit_spec(brand, logo=None), "png")  # raises InvalidSpec naming the problem
    return poster


def poster_specs(poster: dict[str, Any], brand: Any, fmt: str) -> tuple[Any, ...]:
    from generation.posters.spec import PosterSpec
    from generation.posters.template import get_template

    for template in poster["templates"]:
        get_template(template)
    words = {k: poster[k] for k in POSTER_TEXT_FIELDS if poster.get(k) not in (None, "")}
    return tuple(
        PosterSpec(template=t, size=size, headline=h, brand=brand, output_format=fmt, **words)
        for t in poster["templates"]
        for size in poster["sizes"]
        for h in poster["headlines"]
    )


def brand_kit_spec(brand: dict[str, Any], *, logo: Any) -> Any:
    """The generation library's BrandKit from the snapshot stored with the job."""
    from generation.posters.spec import BrandKit as BrandKitSpec

    return BrandKitSpec(
        logo=logo,
        primary=brand.get("primary", "#2f5d50"),
        secondary=brand.get("secondary") or None,
        text=brand.get("text", "#1b1b1f"),
        heading_family=brand.get("heading_family") or None,
        body_family=brand.get("body_family") or None,
        default_cta=brand.get("default_cta") or None,
        locale=brand.get("locale", "en_US"),
    )


def clip_kwargs(clip: dict[str, Any]) -> dict[str, Any]:
    kwargs = dict(clip)
    for key in ("themes", "size", "brand_color"):
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])
    return kwargs


def _check_theme(theme: str) -> None:
    from generation.engines.themes import list_themes

    names = list_themes()
    if theme not in names:
        raise JobRequestInvalid(f"Unknown theme {theme!r}. Themes: {', '.join(names)}.")


def _spec_dict(spec: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(spec)


def queue_for(outputs: list[str], params: dict[str, Any]) -> str:
    scene = params.get("scene") or {}
    if OutputKind.SCENE in outputs and scene.get("engine") == "diffusion":
        return "gpu"
    if OutputKind.CLIP in outputs and (params.get("clip") or {}).get("motion") == "diffusion":
        return "gpu"
    return "default"


def with_merchant_defaults(
    product: Product, outputs: list[str], parameters: dict[str, Any]
) -> dict[str, Any]:
    """Fill words and brand from the product and the brand kit, and record them with the job
    so a rerun makes the same assets even if the product or the kit changes later."""
    from shop_assets.accounts.models import BrandKit

    params = dict(parameters)
    kit = BrandKit.objects.filter(merchant_id=product.merchant_id).first()
    brand = {
        "primary": kit.primary_color if kit else (product.brand_color or "#2f5d50"),
        "secondary": kit.secondary_color if kit else "",
        "text": kit.text_color if kit else "#1b1b1f",
        "heading_family": kit.heading_font if kit else "",
        "body_family": kit.body_font if kit else "",
        "default_cta": kit.default_cta if kit else "Shop now",
        "locale": kit.default_locale if kit else "en_US",
        "logo_key": kit.logo_key if kit else "",
    }
    params["brand"] = {**brand, **(params.get("brand") or {})}
    brand = params["brand"]
    words = {
        "price": str(product.price) if product.price is not None else None,
        "compare_at_price": str(product.compare_at_price) if product.compare_at_price is not None else None,
        "currency": product.currency,
        "locale": brand["locale"],
        "cta": brand["default_cta"],
    }
    words = {k: v for k, v in words.items() if v is not None}
    if OutputKind.POSTER in outputs:
        poster = dict(params.get("poster") or {})
        if not poster.get("headlines") and not poster.get("headline"):
            poster["headline"] = product.title
        params["poster"] = {**words, **poster}
    if OutputKind.CLIP in outputs:
        clip = dict(params.get("clip") or {})
        clip.setdefault("headline", product.title[:80])
        clip.setdefault("brand_color", list(_rgb(brand["primary"])))
        params["clip"] = {**{k: v for k, v in words.items() if k != "compare_at_price"}, **clip}
    return params


def _rgb(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def create_job(
    product: Product, image: ProductImage, outputs: list[str], parameters: dict[str, Any] | None = None
) -> GenerationJob:
    """Save a job and enqueue it once the transaction commits."""
    if image.product_id != product.pk:
        raise JobRequestInvalid("That photo belongs to another product.")
    parameters = dict(parameters or {})
    scene = parameters.get("scene")
    if isinstance(scene, dict) and not scene.get("brand_color") and product.brand_color:
        # the brand_color theme (and any theme that uses it) follows the product's brand
        parameters["scene"] = {**scene, "brand_color": list(_rgb(product.brand_color))}
    parameters = with_merchant_defaults(product, outputs, parameters)
    outputs, params = validate_request(outputs, parameters)
    job = GenerationJob.objects.create(
        merchant_id=product.merchant_id,
        product=product,
        image=image,
        outputs=outputs,
        parameters=params,
        queue=queue_for(outputs, params),
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
