"""Storing: encode a job's outputs, write them to deterministic keys, record the assets.

Assets go to deterministic keys and ``(job, name)`` rows, so a job that runs again after
a crash overwrites its own files instead of adding a second set. Each output is stored and
recorded as soon as generation hands it over (``Keeper``), so the job's page shows it while
the rest are made; an attempt that fails takes its rows and files away again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from shop_assets.jobs import notify, storage
from shop_assets.jobs.lifecycle import (
    CancelRequested,
    LeaseLost,
    end_attempt,
    lease_surely_held,
    renew_lease,
)
from shop_assets.jobs.models import Asset, AttemptOutcome, GenerationJob, JobStatus, OutputKind

log = logging.getLogger(__name__)


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


def encode_image(image, fmt: str) -> bytes:
    from generation.encode import encode_image as _encode

    return _encode(image, fmt)


def store_outputs(
    job: GenerationJob, token: str, files: list[tuple[dict[str, Any], bytes]]
) -> list[StoredOutput]:
    """Write every output file to its key, renewing the lease as it goes.

    If anything fails on the way (storage, the database, the soft time limit), the files
    already written are removed before the error goes on: no file without an asset row.
    """
    job_id = job.pk
    stored: list[StoredOutput] = []
    written: list[str] = []
    try:
        for out, data in files:
            key = storage.asset_key(job.merchant_id, job.product.sku, job.pk, out["name"], out["format"])
            written.append(key)  # before the write: a write that fails half-way may leave a file
            storage.put_bytes(key, data)
            stored.append(StoredOutput(key=key, size=len(data), checksum=storage.sha256(data), **out))
            renew_lease(job_id, token)
    except BaseException as exc:
        discard_written(job_id, token, written, exc)
        raise
    return stored


def discard_written(job_id: int, token: str, keys: list[str], exc: BaseException) -> None:
    """Remove the files a failing attempt wrote, unless another worker may now own the job.

    The keys are deterministic, so a worker that took the job over writes the same ones:
    after a takeover (or when our lease may have run out) they are left alone, and the
    job's end (assets recorded, failed or cancelled) accounts for them.
    """
    if isinstance(exc, LeaseLost) or not lease_surely_held(token):
        log.warning("job %s: leaving %d written file(s) to the job's new owner", job_id, len(keys))
        return
    try:
        storage.delete_keys(keys)
    except Exception:  # the error that stopped the attempt matters more than this one
        log.exception("job %s: could not remove the files of a failed attempt: %s", job_id, keys)


class Keeper:
    """Stores and records a job's outputs one by one, as generation hands them over.

    ``keep`` writes an output's files, then records their rows (and any output that could
    not be made) only while the job is still ours; ``discard`` takes back what this attempt
    kept when it fails. ``stored`` is everything kept so far, for ``finish_job``.
    """

    def __init__(self, job: GenerationJob, token: str) -> None:
        self.job, self.token = job, token
        self.stored: list[StoredOutput] = []

    def keep(
        self, files: list[tuple[dict[str, Any], bytes]], not_made: list[dict[str, Any]] | None = None
    ) -> None:
        stored = store_outputs(self.job, self.token, files) if files else []
        try:
            with transaction.atomic():
                job = _ours(self.job.pk, self.token)
                _record_rows(job, stored)
                if not_made:
                    names = {m["name"] for m in not_made}
                    job.not_made = [m for m in job.not_made if m.get("name") not in names] + list(not_made)
                    job.save(update_fields=["not_made", "updated_at"])
        except BaseException as exc:
            discard_written(self.job.pk, self.token, [out.key for out in stored], exc)
            raise
        self.stored.extend(stored)

    def discard(self, exc: BaseException) -> None:
        discard_kept(self.job.pk, self.token, self.stored, exc)


def _ours(job_id: int, token: str) -> GenerationJob:
    """The job, locked, while this worker still owns it and no cancel was asked; raises
    CancelRequested or LeaseLost otherwise. Call it inside a transaction."""
    job = (
        GenerationJob.objects.select_for_update()
        .filter(pk=job_id, lease_token=token, status=JobStatus.RUNNING)
        .first()
    )
    if job is None:
        raise LeaseLost(f"job {job_id} is no longer owned by this worker")
    if job.cancel_requested_at is not None:
        raise CancelRequested(f"job {job_id} was cancelled")
    return job


def _record_rows(job: GenerationJob, outputs: list[StoredOutput]) -> None:
    for out in outputs:
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


def discard_kept(job_id: int, token: str, outputs: list[StoredOutput], exc: BaseException) -> None:
    """Remove the rows and files of outputs a failing attempt kept, unless another worker may
    now own the job (as ``discard_written``); rows first, so none points at a missing file.
    A database that cannot be reached leaves rows and files together, for the job's end."""
    if not outputs or isinstance(exc, LeaseLost) or not lease_surely_held(token):
        discard_written(job_id, token, [out.key for out in outputs], exc)
        return
    try:
        with transaction.atomic():
            if not GenerationJob.objects.select_for_update().filter(pk=job_id, lease_token=token).exists():
                return
            rows = Asset.objects.filter(job_id=job_id, name__in=[out.name for out in outputs])
            keys = storage.asset_keys(rows)  # with any thumbnail the page made meanwhile
            rows.delete()
    except Exception:  # the error that stopped the attempt matters more than this one
        log.exception("job %s: could not remove the assets of a failed attempt", job_id)
        return
    discard_written(job_id, token, list(dict.fromkeys([*keys, *(out.key for out in outputs)])), exc)


def output_files(job: GenerationJob, result: Any):
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
    try:
        recorded = _record_assets(job_id, token, outputs)
    except BaseException as exc:  # rolled back: the rows kept before go with their files
        discard_kept(job_id, token, outputs, exc)
        raise
    if recorded is None:
        return False
    storage.delete_keys(recorded)
    return True


def _record_assets(job_id: int, token: str, outputs: list[StoredOutput]) -> list[str] | None:
    """The transaction of finish_job. Returns the keys of assets a rerun no longer makes,
    or None when the job is no longer ours."""
    with transaction.atomic():
        job = (
            GenerationJob.objects.select_for_update()
            .filter(pk=job_id, lease_token=token, status=JobStatus.RUNNING, cancel_requested_at__isnull=True)
            .first()
        )
        if job is None:
            return None
        _record_rows(job, outputs)
        leftovers = Asset.objects.filter(job=job).exclude(name__in={out.name for out in outputs})
        stale_keys = storage.asset_keys(leftovers)
        leftovers.delete()
        GenerationJob.objects.filter(pk=job_id).update(
            status=JobStatus.SUCCEEDED,
            progress=100,
            progress_message="Done",
            lease_token="",
            lease_expires_at=None,
            finished_at=timezone.now(),
        )
        end_attempt(job_id, AttemptOutcome.OK)
        notify.job_succeeded(job_id)
    return stale_keys
