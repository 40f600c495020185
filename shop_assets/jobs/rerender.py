"""Posters made again from their stored layout: which poster a request names, and what the
worker renders for it.

A re-render names its source by asset id only (``generation.request.RerenderOptions``); the
poster's layout JSON and, for a poster made on a scene, that scene are found here from the
merchant's own assets and read from storage by the worker.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from PIL import Image

from generation.errors import InvalidSpec
from generation.pipelines import PosterRerender
from generation.request import RERENDER_TEXTS, InvalidRequest, RerenderOptions
from generation.types import RenderedImage
from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset, GenerationJob, OutputKind

SOURCE_FIELD = "rerender.asset_id"


@dataclass(frozen=True)
class PosterSource:
    """A poster that can be made again: the image asset, its layout JSON and, for a poster
    made on a scene, that scene's asset."""

    poster: Asset
    layout: Asset
    scene: Asset | None


def poster_source(merchant_id: int, asset_id: int) -> PosterSource:
    """The merchant's poster ``asset_id`` with its layout; ``InvalidRequest`` naming the problem.

    Another merchant's asset reads like one that does not exist.
    """
    poster = Asset.objects.filter(merchant_id=merchant_id, pk=asset_id).select_related("job").first()
    if poster is None:
        raise InvalidRequest(f"there is no asset {asset_id}", SOURCE_FIELD)
    if poster.kind != OutputKind.POSTER:
        raise InvalidRequest(
            f"asset {asset_id} is a {poster.kind}, not a poster; only posters can be re-rendered",
            SOURCE_FIELD,
        )
    if poster.format == "json":
        raise InvalidRequest(
            f"asset {asset_id} is a poster's layout JSON; name the poster itself", SOURCE_FIELD
        )
    layout = poster.job.assets.filter(name=f"{poster.name}-layout", format="json").first()
    if layout is None:
        raise InvalidRequest(
            f"poster {asset_id} has no layout JSON to re-render from (it was deleted)", SOURCE_FIELD
        )
    scene = None
    if (poster.metrics or {}).get("background") == "scene":
        scene = scene_of(poster)
        if scene is None:
            raise InvalidRequest(
                f"poster {asset_id} was made on a scene that has been deleted; regenerate it instead",
                SOURCE_FIELD,
            )
    return PosterSource(poster, layout, scene)


def scene_of(poster: Asset, name: str | None = None) -> Asset | None:
    """The scene a poster was drawn on: recorded by a re-render, else the first scene of the
    poster's own job (``name`` from its layout, when read)."""
    recorded = ((poster.metrics or {}).get("rerender_of") or {}).get("scene_asset_id")
    if recorded:
        scenes = Asset.objects.filter(merchant_id=poster.merchant_id, pk=recorded)
    else:
        scenes = poster.job.assets.all()
    scenes = scenes.filter(kind=OutputKind.SCENE).order_by("name")
    return scenes.filter(name=name).first() if name and not recorded else scenes.first()


def check_rerender(job_merchant_id: int, product_id: int, options: RerenderOptions) -> PosterSource:
    """The source of a re-render request for ``product_id``: the merchant's own poster of
    that product, with its layout (and scene)."""
    source = poster_source(job_merchant_id, options.asset_id)
    if source.poster.job.product_id != product_id:
        raise InvalidRequest(f"poster {options.asset_id} is of another product", SOURCE_FIELD)
    return source


def load_rerender(job: GenerationJob, options: RerenderOptions) -> PosterRerender:
    """What the worker renders: the source's layout JSON and scene, read from storage."""
    source = check_rerender(job.merchant_id, job.product_id, options)
    try:
        layout = json.loads(storage.read_bytes(source.layout.storage_key))
    except ValueError as exc:
        raise InvalidSpec(f"the layout JSON of poster {source.poster.pk} cannot be read: {exc}") from exc
    background = layout.get("background") if isinstance(layout, dict) else None
    scene = None
    if isinstance(background, dict) and background.get("mode") == "scene":
        scene = scene_of(source.poster, background.get("scene"))
        if scene is None:
            raise InvalidSpec(f"the scene poster {source.poster.pk} was made on has been deleted")
    return PosterRerender(
        layout=layout,
        texts=options.texts(),
        size=options.size,
        background=_scene_image(scene) if scene is not None else None,
        meta={
            "rerender_of": {
                "asset_id": source.poster.pk,
                "job_id": source.poster.job_id,
                "scene_asset_id": scene.pk if scene is not None else None,
            }
        },
    )


def _scene_image(asset: Asset) -> RenderedImage:
    """A stored scene as the renderer's scene: its pixels, product box, theme and seed."""
    with Image.open(io.BytesIO(storage.read_bytes(asset.storage_key))) as im:
        image = im.convert("RGB")
    metrics = asset.metrics or {}
    box = metrics.get("product_box") or {}
    try:
        product_box = (int(box["x"]), int(box["y"]), int(box["width"]), int(box["height"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidSpec(f"scene {asset.pk} has no product box to line the poster up with") from None
    meta = {k: metrics[k] for k in ("engine", "theme", "seed") if k in metrics}
    return RenderedImage(
        image=image, kind="scene", name=asset.name, product_box=product_box, fidelity=None, meta=meta
    )


def poster_layout(poster: Asset) -> dict:
    """A poster's layout JSON, read once from storage (empty when it has none or it cannot
    be read)."""
    layout = poster.job.assets.filter(name=f"{poster.name}-layout", format="json").first()
    if layout is None:
        return {}
    try:
        data = json.loads(storage.read_bytes(layout.storage_key))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _section(layout: dict, key: str) -> dict:
    value = layout.get(key)
    return value if isinstance(value, dict) else {}


def poster_words(poster: Asset, layout: dict | None = None) -> dict[str, str]:
    """The words a poster shows, from its layout JSON's spec (empty when it has none);
    ``layout`` when the caller has already read it."""
    spec = _section(poster_layout(poster) if layout is None else layout, "spec")
    words = {name: spec.get(name) for name in (*RERENDER_TEXTS, "currency", "locale")}
    return {k: str(v) for k, v in words.items() if v is not None}


def poster_prices_shown(poster: Asset, layout: dict | None = None) -> dict[str, str]:
    """``price`` and ``compare_at`` as the poster printed them ("¥89"), from its layout
    JSON's words (empty when it has none); ``layout`` when the caller has already read it."""
    words = _section(poster_layout(poster) if layout is None else layout, "words")
    return {k: str(words[k]) for k in ("price", "compare_at") if words.get(k)}
