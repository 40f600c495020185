"""Job lifecycle: create, claim, report, finish, fail, take over from dead workers.

Every state change is a conditional UPDATE on the job row, so two workers can never
both own a job: a worker owns it while ``lease_token`` is its token and the lease has
not expired. Assets go to deterministic keys and ``(job, name)`` rows, so a job that
runs again after a crash overwrites its own files instead of adding a second set.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs import storage
from shop_assets.jobs.models import FINISHED, Asset, GenerationJob, JobStatus, OutputKind

log = logging.getLogger(__name__)

SUPPORTED_OUTPUTS = (OutputKind.CUTOUT, OutputKind.PACKSHOT, OutputKind.SCENE)
IMAGE_FORMATS = ("png", "jpg", "webp")


class JobRequestInvalid(ValueError):
    """The requested outputs or parameters are not something a job can do."""


class LeaseLost(Exception):
    """Another worker took the job over; this one must stop without writing."""


# --- creating jobs ----------------------------------------------------------


def validate_request(outputs: list[str], parameters: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Normalize and check a job request. Raises JobRequestInvalid naming the problem."""
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
    except TypeError as exc:
        raise JobRequestInvalid(f"Unknown parameter: {exc}") from exc
    except InvalidSpec as exc:
        raise JobRequestInvalid(str(exc)) from exc
    return outputs, params


def _check_theme(theme: str) -> None:
    try:
        from generation.engines.themes import list_themes
    except ImportError:  # pragma: no cover - themes ship with the library
        return
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
    return "default"


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
        hex_color = product.brand_color.lstrip("#")
        parameters["scene"] = {**scene, "brand_color": [int(hex_color[i : i + 2], 16) for i in (0, 2, 4)]}
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


def build_requests(job: GenerationJob) -> list[Any]:
    from generation.pipelines import OutputRequest
    from generation.specs import PackshotSpec, SceneSpec

    params = job.parameters
    requests = []
    for kind in job.outputs:
        if kind == OutputKind.PACKSHOT:
            requests.append(OutputRequest(kind="packshot", packshot=PackshotSpec(**params.get("packshot", {}))))
        elif kind == OutputKind.SCENE:
            scene = dict(params.get("scene", {}))
            if isinstance(scene.get("brand_color"), list):
                scene["brand_color"] = tuple(scene["brand_color"])
            requests.append(OutputRequest(kind="scene", scene=SceneSpec(**scene)))
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

    with Heartbeat(job_id, token) as beat:
        result = run_outputs(
            photo,
            build_requests(job),
            segmenter=job.parameters.get("segmenter", "auto"),
            config=generation_config(),
            progress=report,
        )
    if beat.lost:
        raise LeaseLost(f"job {job_id} was taken over during generation")

    fmt = job.parameters.get("format", "png")
    stored: list[StoredOutput] = []
    total = len(result.images)
    for i, rendered in enumerate(result.images):
        # a cutout keeps its transparency, so it is always PNG
        ext = "png" if rendered.kind == OutputKind.CUTOUT else fmt
        data = encode_image(rendered.image, ext)
        key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, rendered.name, ext)
        storage.put_bytes(key, data)
        stored.append(
            StoredOutput(
                kind=rendered.kind,
                name=rendered.name,
                format=ext,
                width=rendered.image.width,
                height=rendered.image.height,
                key=key,
                size=len(data),
                checksum=storage.sha256(data),
                metrics=rendered.sidecar(),
            )
        )
        renew_lease(job_id, token, progress=90 + int(9 * (i + 1) / total), message=f"Stored {rendered.name}")
    return stored


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
