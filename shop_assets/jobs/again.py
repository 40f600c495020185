"""One asset again: a poster re-rendered from its stored layout, or any asset regenerated.

Both make a new job, so the quota, the worker, the checks, the matte and fidelity records and
the webhooks are those of every job, and the first job and its assets stay as they were.

- **Re-render** (``rerender_job``): the poster's layout JSON, read by the worker, made again
  with other words and/or at another size (``generation.posters.render.rerender``), on the
  same scene when it was made on one. The request names the source by asset id only.
- **Regenerate** (``regenerate_job``): a new job for that one asset's kind with its recorded
  settings and a fresh seed. A poster made on a scene is a poster of that kind again: the job
  makes a new scene (the first one's theme and settings, a fresh seed) and the poster on it;
  the scene is an asset of the new job like any other, so the new poster can have its words
  changed on it later.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from generation.request import MAX_SEED, InvalidRequest
from shop_assets.jobs.models import Asset, GenerationJob, OutputKind
from shop_assets.jobs.requests import create_job
from shop_assets.jobs.rerender import poster_words, scene_of
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

    A poster made on a scene gets a new scene under it (outputs ``scene`` and ``poster``).
    Raises ``InvalidRequest`` (the recorded settings no longer pass) and ``LimitExceeded``.
    """
    asset = main_asset(asset)
    job, kind = asset.job, asset.kind
    recorded = job.parameters or {}
    seed = secrets.randbelow(MAX_SEED)
    params = _common(job)
    outputs = [kind]
    if kind == OutputKind.SCENE:
        params["scene"] = _scene_again(recorded.get("scene"), (asset.metrics or {}).get("theme"), seed)
    elif kind == OutputKind.POSTER:
        params["poster"] = _poster_again(asset, seed)
        scene = _scene_under(asset, seed) if params["poster"]["background"] == "scene" else None
        if scene is not None:
            params["scene"] = scene
            outputs = [OutputKind.SCENE, OutputKind.POSTER]
        elif params["poster"]["background"] == "scene":  # no scene options left to make one
            theme = (asset.metrics or {}).get("theme")
            params["poster"].update(
                {"background": "theme", "theme": theme} if theme else {"background": "brand"}
            )
    elif kind == OutputKind.PACKSHOT:
        params["packshot"] = dict(recorded.get("packshot") or {})
    elif kind == OutputKind.CLIP:
        params["clip"] = {**(recorded.get("clip") or {}), "seed": seed}
    if kind in (OutputKind.POSTER, OutputKind.CLIP) and isinstance(recorded.get("brand"), dict):
        params["brand"] = recorded["brand"]
    return _start(job, outputs, params)


def _scene_again(recorded: dict[str, Any] | None, theme: str | None, seed: int) -> dict[str, Any]:
    """One scene with a job's recorded scene options, ``theme`` (the scene's own) and ``seed``."""
    scene = dict(recorded or {})
    scene.pop("brand_color", None)  # create_job sets it again from the product
    scene.update(count=1, seed=seed)
    if theme:
        scene["theme"] = theme
    return scene


def _scene_under(poster: Asset, seed: int) -> dict[str, Any] | None:
    """The options of a new scene for a poster made on one: the scene it was drawn on (its
    job's scene options and its theme), else its own job's scene options; None when neither
    is recorded."""
    drawn_on = scene_of(poster)
    if drawn_on is not None and isinstance((drawn_on.job.parameters or {}).get("scene"), dict):
        return _scene_again(drawn_on.job.parameters["scene"], (drawn_on.metrics or {}).get("theme"), seed)
    recorded = (poster.job.parameters or {}).get("scene")
    if isinstance(recorded, dict):
        return _scene_again(recorded, (poster.metrics or {}).get("theme"), seed)
    return None


def _poster_again(asset: Asset, seed: int) -> dict[str, Any]:
    """The poster's template, size, background and words; a poster on a scene keeps the
    ``scene`` background (``regenerate_job`` adds the scene)."""
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
    poster["background"] = background
    theme = metrics.get("theme") or (asset.job.parameters.get("scene") or {}).get("theme")
    if theme and background == "theme":
        poster["theme"] = theme
    return poster


def _common(job: GenerationJob) -> dict[str, Any]:
    return {k: job.parameters[k] for k in ("segmenter", "format") if k in (job.parameters or {})}


def _start(job: GenerationJob, outputs: list[str], params: dict[str, Any]) -> GenerationJob:
    with transaction.atomic():
        check_job_quota(job.merchant_id)
        return create_job(job.product, job.image, outputs, params)
