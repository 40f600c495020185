"""One asset again: a poster re-rendered from its stored layout, or any asset regenerated.

Both make a new job, so the quota, the worker, the checks, the matte and fidelity records and
the webhooks are those of every job, and the first job and its assets stay as they were.

- **Re-render** (``rerender_job``): the poster's layout JSON, read by the worker, made again
  with other words and/or at another size (``generation.posters.render.rerender``), on the
  same scene when it was made on one. The request names the source by asset id only.
- **Regenerate** (``regenerate_job``): a new job for that one asset's kind with its recorded
  settings and a fresh seed.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from generation.request import MAX_SEED, InvalidRequest
from shop_assets.jobs.models import Asset, GenerationJob, OutputKind
from shop_assets.jobs.requests import create_job
from shop_assets.jobs.rerender import poster_words
from shop_assets.limits.quotas import check_job_quota

# poster options a regenerated poster keeps from its job (words come from its layout)
_POSTER_KEPT = ("currency", "locale", "cta", "ribbon", "badge", "price", "compare_at_price", "subline")
# side files recorded beside an asset: which metrics key names the asset they belong to
_SIDE_OF = ("layout_of", "frame_of", "webm_of", "preview_of")


def rerender_job(poster: Asset, changes: dict[str, Any]) -> GenerationJob:
    """A new job that makes ``poster`` again with ``changes`` (``RerenderOptions`` fields:
    words and ``size``), for the same product and photo. Raises ``InvalidRequest`` and
    ``LimitExceeded`` (nothing saved)."""
    params = {**_common(poster.job), "rerender": {**changes, "asset_id": poster.pk}}
    return _start(poster.job, [OutputKind.POSTER], params)


def main_asset(asset: Asset) -> Asset:
    """The asset a side file (a poster's layout JSON, a clip's frame or WebM) belongs to."""
    metrics = asset.metrics or {}
    of = next((metrics[k] for k in _SIDE_OF if isinstance(metrics.get(k), str)), None)
    if of is None:
        return asset
    return asset.job.assets.filter(name=of).first() or asset


def regenerate_job(asset: Asset) -> GenerationJob:
    """A new job for ``asset``'s kind alone with its recorded settings and a fresh seed.

    A poster made on a scene gets that scene's theme as its background (no second scene).
    Raises ``InvalidRequest`` (the recorded settings no longer pass) and ``LimitExceeded``.
    """
    asset = main_asset(asset)
    job, kind = asset.job, asset.kind
    recorded = job.parameters or {}
    seed = secrets.randbelow(MAX_SEED)
    params = _common(job)
    if kind == OutputKind.SCENE:
        scene = dict(recorded.get("scene") or {})
        scene.pop("brand_color", None)  # create_job sets it again from the product
        scene.update(count=1, seed=seed)
        if (asset.metrics or {}).get("theme"):
            scene["theme"] = asset.metrics["theme"]
        params["scene"] = scene
    elif kind == OutputKind.POSTER:
        params["poster"] = _poster_again(asset, seed)
    elif kind == OutputKind.PACKSHOT:
        params["packshot"] = dict(recorded.get("packshot") or {})
    elif kind == OutputKind.CLIP:
        params["clip"] = {**(recorded.get("clip") or {}), "seed": seed}
    if kind in (OutputKind.POSTER, OutputKind.CLIP) and isinstance(recorded.get("brand"), dict):
        params["brand"] = recorded["brand"]
    return _start(job, [kind], params)


def _poster_again(asset: Asset, seed: int) -> dict[str, Any]:
    """The poster's template, size, background and words; a poster on a scene gets the
    scene's theme (or the brand background when the scene had none)."""
    metrics = asset.metrics or {}
    if not {"template", "size"} <= set(metrics):
        raise InvalidRequest(f"poster {asset.pk} records no template and size to make it again")
    recorded = asset.job.parameters.get("poster") or {}
    poster: dict[str, Any] = {k: recorded[k] for k in _POSTER_KEPT if recorded.get(k) is not None}
    poster.update(poster_words(asset))
    if "headline" not in poster and recorded.get("headline"):
        poster["headline"] = recorded["headline"]
    poster.update(templates=[metrics["template"]], sizes=[metrics["size"]], seed=seed)
    background = metrics.get("background") or "theme"
    theme = metrics.get("theme") or (asset.job.parameters.get("scene") or {}).get("theme")
    if background == "scene":
        background = "theme" if theme else "brand"
    poster["background"] = background
    if theme and background == "theme":
        poster["theme"] = theme
    return poster


def _common(job: GenerationJob) -> dict[str, Any]:
    return {k: job.parameters[k] for k in ("segmenter", "format") if k in (job.parameters or {})}


def _start(job: GenerationJob, outputs: list[str], params: dict[str, Any]) -> GenerationJob:
    with transaction.atomic():
        check_job_quota(job.merchant_id)
        return create_job(job.product, job.image, outputs, params)
