"""Job lifecycle: create, claim, report, finish, fail, take over from dead workers.

Every state change is a conditional UPDATE on the job row, so two workers can never
both own a job: a worker owns it while ``lease_token`` is its token and the lease has
not expired. Assets go to deterministic keys and ``(job, name)`` rows, so a job that
runs again after a crash overwrites its own files instead of adding a second set.
"""

from __future__ import annotations

import io
import logging
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs import notify, storage
from shop_assets.jobs.models import FINISHED, Asset, GenerationJob, JobStatus, OutputKind

log = logging.getLogger(__name__)

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


class LeaseLost(Exception):
    """Another worker took the job over; this one must stop without writing."""


# --- creating jobs ----------------------------------------------------------


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
            clip = _clip_kwargs(params.get("clip", {}))
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


def _clip_kwargs(clip: dict[str, Any]) -> dict[str, Any]:
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
    from shop_assets.jobs.tasks import run_job_task

    run_job_task.apply_async(args=[job_id], queue=queue)


# --- owning a job -----------------------------------------------------------


def _lease_until():
    return timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)


def claim_job(job_id: int) -> str | None:
    """Take the job if it is queued, or running under an expired lease. Returns our token."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = (
        GenerationJob.objects.filter(pk=job_id, attempts__lt=settings.JOB_MAX_ATTEMPTS)
        .filter(Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_expires_at__lt=now))
        .update(
            status=JobStatus.RUNNING,
            lease_token=token,
            lease_expires_at=_lease_until(),
            attempts=F("attempts") + 1,
            started_at=now,
            progress_message="Started",
            error_code="",
            error_message="",
        )
    )
    return token if claimed else None


def lease_seconds_left(job_id: int) -> float | None:
    """Seconds until another worker may take the job; None when there is nothing to wait for."""
    job = GenerationJob.objects.filter(pk=job_id).values("status", "lease_expires_at").first()
    if not job or job["status"] != JobStatus.RUNNING or job["lease_expires_at"] is None:
        return None
    return max((job["lease_expires_at"] - timezone.now()).total_seconds(), 0.0)


def renew_lease(job_id: int, token: str, *, progress: int | None = None, message: str | None = None) -> None:
    fields: dict[str, Any] = {"lease_expires_at": _lease_until()}
    if progress is not None:
        fields["progress"] = max(0, min(100, progress))
    if message is not None:
        fields["progress_message"] = message[:200]
    updated = GenerationJob.objects.filter(pk=job_id, lease_token=token, status=JobStatus.RUNNING).update(
        **fields
    )
    if not updated:
        raise LeaseLost(f"job {job_id} is no longer owned by this worker")


class Heartbeat:
    """Renews the lease in the background while a long step (model load) runs."""

    def __init__(self, job_id: int, token: str) -> None:
        self.job_id, self.token = job_id, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)
        self.lost = False

    def _run(self) -> None:
        from django.db import connection

        interval = max(settings.JOB_LEASE_SECONDS / 3, 0.5)
        try:
            while not self._stop.wait(interval):
                try:
                    renew_lease(self.job_id, self.token)
                except LeaseLost:
                    self.lost = True
                    return
                except Exception:  # a passing database error: try again next beat
                    log.warning("heartbeat for job %s failed", self.job_id, exc_info=True)
        finally:
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def release_job(job_id: int, token: str, *, message: str) -> bool:
    """Give the job back to the queue (a transient error; it will be retried)."""
    return bool(
        GenerationJob.objects.filter(pk=job_id, lease_token=token, status=JobStatus.RUNNING).update(
            status=JobStatus.QUEUED,
            lease_token="",
            lease_expires_at=None,
            progress_message=message[:200],
            enqueued_at=timezone.now(),
        )
    )


def fail_job(job_id: int, token: str | None, *, code: str, message: str) -> bool:
    """Record a readable failure and remove whatever assets the job had stored."""
    with transaction.atomic():
        qs = GenerationJob.objects.filter(pk=job_id).exclude(status__in=FINISHED)
        if token is not None:
            qs = qs.filter(lease_token=token)
        updated = qs.update(
            status=JobStatus.FAILED,
            error_code=code[:64],
            error_message=message,
            progress_message="Failed",
            lease_token="",
            lease_expires_at=None,
            finished_at=timezone.now(),
        )
        if not updated:
            return False
        notify.job_failed(job_id)
        assets = list(Asset.objects.filter(job_id=job_id))
        keys = [a.storage_key for a in assets]
        Asset.objects.filter(job_id=job_id).delete()
    storage.delete_keys(keys)
    return True


# --- doing the work -----------------------------------------------------------


@dataclass(frozen=True)
class StoredOutput:
    kind: str
    name: str
    format: str
    width: int
    height: int
    key: str
    size: int
    checksum: str
    metrics: dict[str, Any]


@lru_cache(maxsize=1)
def generation_config():
    """Built once per worker process, so engines and model caches are reused."""
    from generation.config import GenerationConfig

    return GenerationConfig.from_env()


def load_logo(params: dict[str, Any]) -> Any:
    key = (params.get("brand") or {}).get("logo_key")
    if not key:
        return None
    from PIL import Image

    with Image.open(io.BytesIO(storage.read_bytes(key))) as im:
        return im.convert("RGBA")


def build_requests(job: GenerationJob, logo: Any = None) -> list[Any]:
    from generation.pipelines import OutputRequest
    from generation.specs import PackshotSpec, SceneSpec

    params = job.parameters
    requests = []
    for kind in job.outputs:
        if kind == OutputKind.PACKSHOT:
            requests.append(
                OutputRequest(kind="packshot", packshot=PackshotSpec(**params.get("packshot", {})))
            )
        elif kind == OutputKind.SCENE:
            scene = dict(params.get("scene", {}))
            if isinstance(scene.get("brand_color"), list):
                scene["brand_color"] = tuple(scene["brand_color"])
            requests.append(OutputRequest(kind="scene", scene=SceneSpec(**scene)))
        elif kind == OutputKind.POSTER:
            brand = brand_kit_spec(params.get("brand", {}), logo=logo)
            specs = poster_specs(params["poster"], brand, params.get("format", "png"))
            requests.append(OutputRequest(kind="poster", posters=specs))
        elif kind == OutputKind.CLIP:
            from generation.clips.spec import ClipSpec

            requests.append(OutputRequest(kind="clip", clip=ClipSpec(**_clip_kwargs(params.get("clip", {})))))
        else:
            requests.append(OutputRequest(kind=kind))
    return requests


def encode_image(image, fmt: str) -> bytes:
    from generation.encode import encode_image as _encode

    return _encode(image, fmt)


def run_job(job_id: int, token: str) -> list[StoredOutput]:
    """Generate and store every output of the job. Raises LeaseLost if taken over."""
    from PIL import Image

    from generation.pipelines import run_outputs

    job = GenerationJob.objects.select_related("product", "image").get(pk=job_id)
    last = {"progress": -1}

    def report(fraction: float, message: str) -> None:
        # 5..90 for generation, the rest for storing; write only on visible change
        pct = 5 + int(85 * max(0.0, min(1.0, fraction)))
        if pct != last["progress"]:
            last["progress"] = pct
            renew_lease(job_id, token, progress=pct, message=message)

    renew_lease(job_id, token, progress=2, message="Loading the photo")
    with Image.open(io.BytesIO(storage.read_bytes(job.image.normalized_key))) as im:
        photo = im.copy()

    logo = load_logo(job.parameters)
    with tempfile.TemporaryDirectory(prefix=f"job{job_id}-") as workdir, Heartbeat(job_id, token) as beat:
        result = run_outputs(
            photo,
            build_requests(job, logo),
            segmenter=job.parameters.get("segmenter", "auto"),
            config=generation_config(),
            progress=report,
            workdir=Path(workdir),
            logo=logo,
        )
        if beat.lost:
            raise LeaseLost(f"job {job_id} was taken over during generation")
        files = list(_output_files(job, result))

    stored: list[StoredOutput] = []
    for i, (out, data) in enumerate(files):
        key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, out["name"], out["format"])
        storage.put_bytes(key, data)
        stored.append(StoredOutput(key=key, size=len(data), checksum=storage.sha256(data), **out))
        renew_lease(
            job_id, token, progress=90 + int(9 * (i + 1) / len(files)), message=f"Stored {out['name']}"
        )
    return stored


def _output_files(job: GenerationJob, result: Any):
    """(asset fields, file bytes) for every image, poster layout and clip file of a result."""
    fmt = job.parameters.get("format", "png")
    for rendered in result.images:
        # a cutout keeps its transparency, so it is always PNG
        ext = "png" if rendered.kind == OutputKind.CUTOUT else fmt
        fields = {
            "kind": rendered.kind,
            "name": rendered.name,
            "format": ext,
            "width": rendered.image.width,
            "height": rendered.image.height,
        }
        yield {**fields, "metrics": rendered.sidecar()}, encode_image(rendered.image, ext)
        if rendered.name in result.layouts:
            layout = {
                **fields,
                "name": f"{rendered.name}-layout",
                "format": "json",
                "metrics": {"layout_of": rendered.name},
            }
            yield layout, result.layouts[rendered.name].encode()
    for clip in result.clips:
        name = clip.path.stem
        fields = {"kind": OutputKind.CLIP, "width": clip.width, "height": clip.height}
        yield {**fields, "name": name, "format": "mp4", "metrics": clip.sidecar()}, clip.path.read_bytes()
        extras = (("frame", clip.poster), ("webm", clip.webm), ("preview", clip.preview))
        for role, path in extras:
            if path is not None:
                ext = path.suffix.lstrip(".").lower().replace("jpeg", "jpg")
                extra = {**fields, "name": f"{name}-{role}", "format": ext, "metrics": {f"{role}_of": name}}
                yield extra, path.read_bytes()


def finish_job(job_id: int, token: str, outputs: list[StoredOutput]) -> bool:
    """Record the assets and mark the job done, only if we still own it."""
    stale_keys: list[str] = []
    with transaction.atomic():
        job = (
            GenerationJob.objects.select_for_update()
            .filter(pk=job_id, lease_token=token, status=JobStatus.RUNNING)
            .first()
        )
        if job is None:
            return False
        names = set()
        for out in outputs:
            names.add(out.name)
            Asset.objects.update_or_create(
                job=job,
                name=out.name,
                defaults={
                    "merchant_id": job.merchant_id,
                    "kind": out.kind,
                    "format": out.format,
                    "width": out.width,
                    "height": out.height,
                    "storage_key": out.key,
                    "size_bytes": out.size,
                    "checksum": out.checksum,
                    "metrics": out.metrics,
                },
            )
        leftovers = Asset.objects.filter(job=job).exclude(name__in=names)
        stale_keys = list(leftovers.values_list("storage_key", flat=True))
        leftovers.delete()
        GenerationJob.objects.filter(pk=job_id).update(
            status=JobStatus.SUCCEEDED,
            progress=100,
            progress_message="Done",
            lease_token="",
            lease_expires_at=None,
            finished_at=timezone.now(),
        )
        notify.job_succeeded(job_id)
    storage.delete_keys(stale_keys)
    return True


def give_up_if_exhausted(job_id: int) -> bool:
    """Fail a job whose lease ran out on its last allowed attempt. True if it was failed."""
    job = GenerationJob.objects.filter(
        pk=job_id,
        status=JobStatus.RUNNING,
        lease_expires_at__lt=timezone.now(),
        attempts__gte=settings.JOB_MAX_ATTEMPTS,
    ).first()
    if job is None:
        return False
    return fail_job(
        job.pk,
        job.lease_token,
        code="worker_lost",
        message=f"The worker stopped responding on attempt {job.attempts} of {settings.JOB_MAX_ATTEMPTS}; the job was stopped.",
    )


def requeue_stale_jobs(*, queued_after_seconds: int = 600) -> list[int]:
    """Take over jobs whose worker died (lease expired) and re-send lost messages.

    Run by Celery beat and when a worker starts. Sending a job twice is harmless:
    only one claim can succeed.
    """
    now = timezone.now()
    requeued: list[int] = []
    for job in GenerationJob.objects.filter(status=JobStatus.RUNNING, lease_expires_at__lt=now):
        if give_up_if_exhausted(job.pk):
            continue
        released = GenerationJob.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, lease_token=job.lease_token, lease_expires_at__lt=now
        ).update(
            status=JobStatus.QUEUED,
            lease_token="",
            lease_expires_at=None,
            enqueued_at=now,
            progress_message="Restarting after a worker stopped",
        )
        if released:
            requeued.append(job.pk)
    stale_queued = GenerationJob.objects.filter(
        status=JobStatus.QUEUED, enqueued_at__lt=now - timedelta(seconds=queued_after_seconds)
    )
    for job in stale_queued:
        GenerationJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(enqueued_at=now)
        requeued.append(job.pk)
    for job in GenerationJob.objects.filter(pk__in=requeued):
        enqueue(job.pk, job.queue)
    return requeued


def attempts_of(job_id: int) -> int:
    return GenerationJob.objects.filter(pk=job_id).values_list("attempts", flat=True).first() or 0
