"""A campaign's look on one product, small and at once: the campaign editor's live preview.

The request is built exactly as the product's job would be (``campaigns.job_parameters``
then ``jobs.requests.build_request``: headline rule, product words, brand kit, checks),
then rendered by the generation library in the web process at preview size: the photo
scaled to ``PHOTO_SIDE``, the photo's stored mask reused when it has one, one scene
(studio engine) and the first poster of the set at ``PREVIEW_SIDE`` on its long side, the
packshot at its smallest size and scaled down. Clips are not previewed (their poster
frame is the scene's look). At most ``PREVIEW_SLOTS`` previews render at once per process.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image

from generation import pipelines
from generation.errors import GenerationError
from generation.posters.sizes import resolve_size
from generation.specs import PackshotSpec
from shop_assets.bulk import campaigns
from shop_assets.catalog import masks
from shop_assets.catalog.models import Product, ProductImage
from shop_assets.jobs.requests import build_request, generation_config
from shop_assets.jobs.running import load_logo

PHOTO_SIDE = 640
PREVIEW_SIDE = 480
PREVIEW_SLOTS = 2
_slots = threading.BoundedSemaphore(PREVIEW_SLOTS)


class PreviewBusy(Exception):
    pass


@dataclass(frozen=True)
class PreviewImage:
    kind: str
    label: str
    data_uri: str  # a small JPEG, inline


@dataclass(frozen=True)
class Preview:
    images: list[PreviewImage]
    headline: str
    seconds: float
    notes: list[str]


def render_preview(
    product: Product, image: ProductImage, request: dict[str, Any], headline_rule: str
) -> Preview:
    """Render ``request`` (a campaign's stored form) on ``product``'s ``image``.

    Raises ``InvalidRequest`` (the campaign does not fit this product), ``GenerationError``
    (the photo cannot be used) or ``PreviewBusy``.
    """
    if not _slots.acquire(timeout=5):
        raise PreviewBusy("Other previews are rendering; try again in a moment.")
    try:
        return _render(product, image, request, headline_rule)
    finally:
        _slots.release()


def _render(product: Product, image: ProductImage, request: dict[str, Any], headline_rule: str) -> Preview:
    started = time.monotonic()
    # 1. the request the job would run
    outputs, parameters = campaigns.job_parameters(request, headline_rule, product)
    job_request = build_request(product, outputs, parameters)
    logo = load_logo(product.merchant_id)
    # 2. the photo and its mask, small
    photo = masks.load_photo(image)
    stored = masks.current_mask(image)
    matte = masks.mask_values(stored, photo.size) if stored is not None and stored.storage_key else None
    scale = min(1.0, PHOTO_SIDE / max(photo.size))
    if scale < 1.0:
        size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
        photo = photo.resize(size, Image.Resampling.LANCZOS)
        matte = matte.resize(size, Image.Resampling.BILINEAR) if matte is not None else None
    # 3. the outputs at preview size
    wanted, notes = _small_outputs(job_request, logo)
    result = pipelines.run_outputs(
        photo,
        wanted,
        segmenter=job_request.segmenter if matte is None else "auto",
        mask=matte,
        config=generation_config(),
        logo=logo,
    )
    notes.extend(f"Not previewed: {why}" for why in result.failed)
    images = [
        PreviewImage(kind=out.kind, label=_label(out.kind, out.name), data_uri=_jpeg_uri(out.image))
        for out in result.images
    ]
    headline = ""
    if job_request.poster is not None:
        headline = job_request.poster.all_headlines[0]
    elif job_request.clip is not None:
        headline = job_request.clip.headline
    return Preview(images=images, headline=headline, seconds=time.monotonic() - started, notes=notes)


def _small_outputs(request: Any, logo: Image.Image | None) -> tuple[list[pipelines.OutputRequest], list[str]]:
    made: list[pipelines.OutputRequest] = []
    notes: list[str] = []
    for kind in request.outputs:
        if kind == "cutout":
            made.append(pipelines.OutputRequest("cutout"))
        elif kind == "packshot":
            made.append(
                pipelines.OutputRequest("packshot", packshot=replace(request.packshot_spec(), size=1600))
            )
        elif kind == "scene":
            spec = request.scene_spec()
            w, h = _fit(spec.width, spec.height, PREVIEW_SIDE, minimum=256)
            if spec.engine != "studio":
                notes.append(
                    "Diffusion scenes are painted by the GPU worker; the preview shows the studio look."
                )
            made.append(
                pipelines.OutputRequest(
                    "scene", scene=replace(spec, count=1, width=w, height=h, engine="studio")
                )
            )
        elif kind == "poster":
            first = request.poster_specs(logo)[0]
            target = resolve_size(first.size)
            w, h = _fit(target.width, target.height, PREVIEW_SIDE, minimum=200)
            made.append(pipelines.OutputRequest("poster", posters=(replace(first, size=f"{w}x{h}"),)))
            count = request.poster.count
            if count > 1:
                notes.append(f"The first of {count} posters; the job makes every template and size.")
        elif kind == "clip":
            notes.append("Clips are not previewed; they use the scene theme and headline shown here.")
    if not made:
        made.append(pipelines.OutputRequest("packshot", packshot=PackshotSpec(size=1600)))
    return made, notes


def _fit(width: int, height: int, side: int, *, minimum: int) -> tuple[int, int]:
    scale = side / max(width, height)
    return max(minimum, round(width * scale)), max(minimum, round(height * scale))


def _label(kind: str, name: str) -> str:
    return {"packshot": "Packshot", "scene": "Scene", "poster": "Poster", "cutout": "Cutout"}.get(kind, name)


def _jpeg_uri(image: Image.Image) -> str:
    picture = image.copy()
    picture.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    if picture.mode in ("RGBA", "LA"):
        # a cutout on the checker-free light grey the dashboard shows cutouts on
        flat = Image.new("RGB", picture.size, (238, 238, 238))
        flat.paste(picture, mask=picture.getchannel("A"))
        picture = flat
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


__all__ = ["GenerationError", "Preview", "PreviewBusy", "render_preview"]
