"""The outputs a queued or running job has still to make, from its stored request: what the
job page shows as cards "being made" and the API's job lists as ``coming``."""

from __future__ import annotations

from dataclasses import replace

from generation.errors import InvalidSpec
from generation.posters.sizes import resolve_size
from generation.request import IMAGE_FORMATS, ExpectedOutput, InvalidRequest
from shop_assets.jobs import requests as job_requests
from shop_assets.jobs.models import Asset, GenerationJob, JobStatus


def still_coming(job: GenerationJob, assets: list[Asset]) -> list[ExpectedOutput]:
    """The outputs a queued or running job has still to make, from its request (the typed
    model that let it in): each expected output not yet made nor found impossible, in the
    order it will be made. Nothing for a job that is not queued or running, so a job that
    ends has nothing still to come.

    Made and expected outputs are matched by what they are (a poster by template and size,
    the others by kind) and counted, not by name: a scene or a poster of a second headline
    is the next of its kind whatever it ends up named.
    """
    if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return []
    try:
        expected = list(job_requests.stored_request(job).expected_outputs())
    except InvalidRequest:
        return []
    if any(out.kind == "poster" and not out.name for out in expected):
        expected = [_as_its_source(job, out) if out.kind == "poster" else out for out in expected]
    by_kind_only = any(out.kind == "poster" and not out.template for out in expected)

    def slot(kind: str, template: object = "", size: object = "") -> tuple:
        if kind != "poster" or by_kind_only:
            return (kind,)
        try:  # a poster's asset records its size by the preset's name ("reels" is a story)
            size = resolve_size(str(size)).name
        except InvalidSpec:
            pass
        return (kind, str(template or ""), str(size or ""))

    done: dict[tuple, int] = {}
    for asset in assets:
        main = asset.format in IMAGE_FORMATS if asset.kind != "clip" else asset.format == "mp4"
        if main:
            metrics = asset.metrics or {}
            key = slot(asset.kind, metrics.get("template"), metrics.get("size"))
            done[key] = done.get(key, 0) + 1
    for missing in job.not_made or []:
        key = slot(str(missing.get("kind", "")), missing.get("template"), missing.get("size"))
        done[key] = done.get(key, 0) + 1
    coming = []
    for out in expected:
        key = slot(out.kind, out.template, out.size)
        if done.get(key, 0) > 0:
            done[key] -= 1
        else:
            coming.append(out)
    return coming


def made_from(job: GenerationJob) -> Asset | None:
    """The poster a re-render job sets new words on (the merchant's own), else None."""
    source = (job.parameters or {}).get("rerender")
    asset_id = source.get("asset_id") if isinstance(source, dict) else None
    if not isinstance(asset_id, int):
        return None
    return Asset.objects.filter(merchant_id=job.merchant_id, pk=asset_id).first()


def _as_its_source(job: GenerationJob, out: ExpectedOutput) -> ExpectedOutput:
    """A poster made again: its template (and its size, unless the job changes it) are its
    source's, the merchant's own poster the request names."""
    source = made_from(job)
    if source is None:
        return out
    metrics = source.metrics or {}
    if out.size:
        return replace(out, template=str(metrics.get("template") or ""))
    return replace(
        out,
        template=str(metrics.get("template") or ""),
        size=str(metrics.get("size") or ""),
        width=source.width,
        height=source.height,
    )
