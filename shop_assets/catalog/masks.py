"""A photo's product matte, versioned: the automatic one, the merchant's accepted one.

- Right after upload a task makes the automatic matte on a preview-size copy
  (``generation.segment.preview.preview_segment``, 0.4-1 s on two cores for the classical
  segmenter on a 2-3 MP photo) and stores it as version 1 with its evidence; a photo the
  segmenter refuses gets a version 1 with no matte and confidence 0. A job on a photo
  without one makes it first.
- The merchant accepts it, fixes it (a box and keep/remove strokes, refined with
  ``generation.segment.refine.refine_matte``) or uploads a mask; each is a new version,
  accepted. The newest accepted version is the matte every later job of the photo uses.
- A job on a photo with no accepted matte and an automatic one below
  ``MATTE_THRESHOLD`` makes nothing: it waits for the merchant's review. So does a job
  whose trusted preview matte does not hold on the full photo (weak there, or refused).

Storage keys are chosen here, under the photo's own folder; nothing a client sends
becomes part of one.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from PIL import Image

from generation.check import MATTE_THRESHOLD, matte_evidence
from generation.errors import GenerationError, InvalidSpec, SegmentationFailed
from generation.segment import choose_segmenter
from generation.segment.alpha import OPAQUE_FROM, alpha_channel
from generation.segment.classical import full_resolution_matte
from generation.segment.preview import preview_segment
from generation.segment.refine import preview_image, preview_size, refine_matte, scale_strokes
from generation.types import Segmentation
from shop_assets.catalog.models import MaskSource, PhotoMask, ProductImage
from shop_assets.jobs import lifecycle, storage
from shop_assets.jobs.requests import generation_config

log = logging.getLogger(__name__)

# A mask whose shape differs from the photo's by more than this share is refused.
ASPECT_TOLERANCE = 0.01


class MaskInvalid(ValueError):
    """A mask, box or stroke the merchant sent cannot be used; the message says why."""


# --- reading ---------------------------------------------------------------------


def load_photo(image: ProductImage) -> Image.Image:
    """The normalized photo the jobs use (RGB, or RGBA with its own transparency)."""
    with Image.open(io.BytesIO(storage.read_bytes(image.normalized_key))) as im:
        im.load()
        return im.copy()


def latest_accepted(image: ProductImage) -> PhotoMask | None:
    return image.masks.filter(accepted=True).exclude(storage_key="").order_by("-version").first()


def latest_automatic(image: ProductImage) -> PhotoMask | None:
    return image.masks.filter(source=MaskSource.AUTO).order_by("-version").first()


def current_mask(image: ProductImage) -> PhotoMask | None:
    """What the photo's jobs go by: the newest accepted mask, else the automatic one."""
    return latest_accepted(image) or latest_automatic(image)


def mask_values(mask: PhotoMask, size: tuple[int, int] | None = None) -> Image.Image:
    """The stored matte (mode L) scaled to ``size`` (w, h) when given, near-white opaque."""
    with Image.open(io.BytesIO(storage.read_bytes(mask.storage_key))) as im:
        matte = im.convert("L")
    if size is not None and matte.size != size:
        matte = matte.resize(size, Image.Resampling.BILINEAR)
    values = np.array(matte)
    values[values >= OPAQUE_FROM] = 255
    return Image.fromarray(values, "L")


def mask_png(mask: PhotoMask) -> bytes:
    return storage.read_bytes(mask.storage_key)


# --- writing ---------------------------------------------------------------------


def _encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False, compress_level=1)
    return buf.getvalue()


def cutout_preview(photo: Image.Image, matte: Image.Image) -> Image.Image:
    """The photo at preview size with ``matte`` as its alpha (RGBA), for showing."""
    small = preview_image(photo)
    alpha = matte if matte.size == small.size else matte.resize(small.size, Image.Resampling.BILINEAR)
    rgba = small.convert("RGB")
    rgba.putalpha(alpha.convert("L"))
    return rgba


def preview_bytes(photo: Image.Image, matte: Image.Image) -> bytes:
    buf = io.BytesIO()
    cutout_preview(photo, matte).save(buf, format="WEBP", quality=85)
    return buf.getvalue()


def _folder(image: ProductImage) -> str:
    return image.normalized_key.rsplit("/", 1)[0] + "/masks"


def _store(
    image: ProductImage,
    *,
    source: str,
    photo: Image.Image | None,
    matte: Image.Image | None,
    confidence: float,
    evidence: dict[str, Any],
    segmenter: str = "",
    accepted: bool = False,
    user: Any = None,
) -> PhotoMask:
    """Write the matte and its preview, then the row with the next version number;
    nothing is kept when either fails. An accepted matte sends the photo's jobs that
    waited for a review on their way again."""
    written: list[str] = []
    keys = {"storage_key": "", "preview_key": ""}
    if matte is not None:
        assert photo is not None
        uid = uuid.uuid4().hex
        keys["storage_key"] = f"{_folder(image)}/{uid}.png"
        keys["preview_key"] = f"{_folder(image)}/{uid}-cutout.webp"
    try:
        if matte is not None and photo is not None:
            written.append(storage.put_bytes(keys["storage_key"], _encode_png(matte)))
            written.append(storage.put_bytes(keys["preview_key"], preview_bytes(photo, matte)))
        with transaction.atomic():
            # the image row is the lock that numbers versions one after another
            ProductImage.objects.select_for_update().filter(pk=image.pk).first()
            last = image.masks.aggregate(v=Max("version"))["v"] or 0
            mask = PhotoMask.objects.create(
                image=image,
                version=last + 1,
                source=source,
                width=matte.width if matte is not None else 0,
                height=matte.height if matte is not None else 0,
                segmenter=segmenter[:40],
                confidence=round(float(confidence), 3),
                evidence=evidence,
                accepted=accepted,
                created_by=user if getattr(user, "pk", None) else None,
                **keys,
            )
            if accepted:
                lifecycle.resume_after_review(image.pk)
            return mask
    except BaseException:
        storage.delete_keys(written)
        raise


def automatic_backend(photo: Image.Image, method: str) -> str:
    """The backend ``method`` runs on ``photo``: what ``auto`` picks on this install
    (``alpha``, ``rembg`` or ``classical``), or ``method`` itself."""
    return choose_segmenter(photo, generation_config()) if method == "auto" else method


def make_automatic_mask(
    image: ProductImage, photo: Image.Image | None = None, method: str | None = None
) -> PhotoMask:
    """Segment the photo at preview size with ``method`` (the configured segmenter when
    None) and store the result as a new automatic version.

    A refusal (the segmenter cannot find the product) is stored too: no matte,
    confidence 0, and the reason among the evidence's problems.
    """
    photo = photo if photo is not None else load_photo(image)
    backend = automatic_backend(photo, method or settings.DEFAULT_SEGMENTER)
    try:
        seg = preview_segment(photo, backend, generation_config())
    except SegmentationFailed as exc:
        return _store(
            image,
            source=MaskSource.AUTO,
            photo=None,
            matte=None,
            confidence=0.0,
            evidence={
                "score": 0.0,
                "threshold": MATTE_THRESHOLD,
                "trusted": False,
                "refused": True,
                "cues": {},
                "problems": [str(exc)],
            },
            segmenter=backend,
        )
    return _store(
        image,
        source=MaskSource.AUTO,
        photo=photo,
        matte=seg.matte,
        confidence=seg.confidence,
        evidence=seg.evidence,
        segmenter=seg.segmenter,
    )


def make_automatic_mask_quietly(image: ProductImage, photo: Image.Image | None = None) -> PhotoMask | None:
    """``make_automatic_mask`` for the upload path: a failure is logged, not raised (the
    photo is stored either way, and the first job makes the matte again)."""
    try:
        return make_automatic_mask(image, photo)
    except (GenerationError, OSError):
        log.warning("automatic matte of image %s failed", image.pk, exc_info=True)
        return None


def ensure_automatic_mask(image: ProductImage) -> PhotoMask:
    return latest_automatic(image) or make_automatic_mask(image)


def accept_automatic(image: ProductImage, user: Any = None) -> PhotoMask:
    """The merchant accepts the automatic matte: a new accepted version with the same
    cutout at the photo's full size (see ``full_size_matte``)."""
    auto = latest_automatic(image)
    if auto is None or not auto.storage_key:
        raise MaskInvalid(
            "There is no automatic cutout to accept for this photo; draw a box around the product or upload a mask."
        )
    photo = load_photo(image)
    matte = full_size_matte(auto, photo)
    return _store(
        image,
        source=MaskSource.ACCEPTED,
        photo=photo,
        matte=matte,
        confidence=auto.confidence,
        evidence={**auto.evidence, "accepted_version": auto.version},
        segmenter=auto.segmenter,
        accepted=True,
        user=user,
    )


def full_size_matte(auto: PhotoMask, photo: Image.Image) -> Image.Image:
    """The automatic (preview-size) matte at the photo's size: the upload's own alpha when
    that is what it was, else its outline taken to full resolution by the same soft-edge
    solver the segmenters use (edges snapped to the photo's, no upscaling stair-steps)."""
    own_alpha = alpha_channel(photo)
    if auto.segmenter == "alpha" and own_alpha is not None:
        return Image.fromarray(own_alpha, "L")
    small = np.asarray(mask_values(auto)) >= 128
    if small.shape == (photo.height, photo.width):
        return mask_values(auto)
    rgb = np.asarray(photo.convert("RGB"))
    matte, _ = full_resolution_matte(rgb, small, small.shape[1] / photo.width)
    return Image.fromarray(matte, "L")


# --- the editor: a box and strokes drawn on the preview ---------------------------


@dataclass(frozen=True)
class Strokes:
    """What the editor sends, in preview pixels: a box and keep/remove stroke masks."""

    box: tuple[int, int, int, int] | None
    keep: Image.Image | None
    remove: Image.Image | None


def editor_size(image: ProductImage) -> tuple[int, int]:
    """The size (w, h) of the preview the editor draws on."""
    return preview_size((image.width, image.height))


def read_strokes(image: ProductImage, box: Any, keep_png: bytes | None, remove_png: bytes | None) -> Strokes:
    """Check the editor's box ``[x, y, w, h]`` and stroke PNGs against the preview size."""
    size = editor_size(image)
    parsed_box = None
    if box not in (None, "", []):
        try:
            parsed_box = tuple(int(round(float(v))) for v in box)
        except (TypeError, ValueError) as exc:
            raise MaskInvalid("The box must be four numbers: x, y, width, height.") from exc
        if len(parsed_box) != 4:
            raise MaskInvalid("The box must be four numbers: x, y, width, height.")
    return Strokes(
        box=parsed_box,  # type: ignore[arg-type]
        keep=_stroke_image(keep_png, size, "keep"),
        remove=_stroke_image(remove_png, size, "remove"),
    )


def _stroke_image(data: bytes | None, size: tuple[int, int], what: str) -> Image.Image | None:
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG":
                raise MaskInvalid(f"The {what} strokes must be a PNG.")
            if im.size != size:
                raise MaskInvalid(
                    f"The {what} strokes are {im.width}x{im.height} but the editor's photo is "
                    f"{size[0]}x{size[1]}."
                )
            painted = alpha_channel(im)
            return Image.fromarray(painted if painted is not None else np.asarray(im.convert("L")), "L")
    except (OSError, Image.DecompressionBombError) as exc:
        raise MaskInvalid(f"The {what} strokes are not a readable PNG.") from exc


def refine_preview(image: ProductImage, strokes: Strokes, photo: Image.Image | None = None) -> Segmentation:
    """The refined matte on the editor's preview (what the merchant sees while drawing)."""
    small = preview_image(photo if photo is not None else load_photo(image))
    try:
        return refine_matte(small, box=strokes.box, keep=strokes.keep, remove=strokes.remove)
    except (InvalidSpec, SegmentationFailed) as exc:
        raise MaskInvalid(str(exc)) from exc


def save_refined(image: ProductImage, strokes: Strokes, user: Any = None) -> PhotoMask:
    """Refine on the full photo with the box and strokes scaled up, and store it accepted."""
    photo = load_photo(image)
    small = preview_size(photo.size)
    factor = photo.width / small[0]
    box = None
    if strokes.box is not None:
        x, y, w, h = strokes.box
        box = (int(x * factor), int(y * factor), max(1, round(w * factor)), max(1, round(h * factor)))
    keep = scale_strokes(strokes.keep, photo.size) if strokes.keep is not None else None
    remove = scale_strokes(strokes.remove, photo.size) if strokes.remove is not None else None
    try:
        seg = refine_matte(photo, box=box, keep=keep, remove=remove)
    except (InvalidSpec, SegmentationFailed) as exc:
        raise MaskInvalid(str(exc)) from exc
    return _store(
        image,
        source=MaskSource.REFINED,
        photo=photo,
        matte=seg.matte,
        confidence=seg.confidence,
        evidence={**seg.evidence, "box": list(strokes.box) if strokes.box else None},
        segmenter=seg.segmenter,
        accepted=True,
        user=user,
    )


# --- uploaded masks ----------------------------------------------------------------


def read_mask_upload(image: ProductImage, data: bytes) -> Image.Image:
    """A merchant's mask file as mode L at the photo's size.

    White (or opaque, for a PNG with transparency) is product. The file must be the
    photo's size, or the same shape scaled (it is then resized). Raises MaskInvalid or
    ImageRejected naming the problem.
    """
    # services enqueues the task that uses this module: import it when needed, not at load
    from shop_assets.catalog.services import decoded

    with decoded(data) as normalized:
        im = normalized.image
        alpha = alpha_channel(im) if normalized.has_alpha else None
        matte = Image.fromarray(alpha, "L") if alpha is not None else im.convert("L")
    size = (image.width, image.height)
    if matte.size != size:
        photo_shape, mask_shape = size[0] / size[1], matte.width / matte.height
        if abs(mask_shape / photo_shape - 1) > ASPECT_TOLERANCE:
            raise MaskInvalid(
                f"The mask is {matte.width}x{matte.height} but the photo is {size[0]}x{size[1]}; "
                "upload a mask the size of the photo (or the same shape scaled)."
            )
        matte = matte.resize(size, Image.Resampling.BILINEAR)
    values = np.array(matte)
    values[values >= OPAQUE_FROM] = 255
    if int(values.min()) == 255:
        raise MaskInvalid("The mask is white everywhere, so it does not show where the product ends.")
    if int(values.max()) <= 8:
        raise MaskInvalid("The mask is black everywhere: there is no product in it.")
    return Image.fromarray(values, "L")


def save_uploaded(image: ProductImage, data: bytes, user: Any = None) -> PhotoMask:
    matte = read_mask_upload(image, data)
    photo = load_photo(image)
    evidence = matte_evidence(photo, matte)
    return _store(
        image,
        source=MaskSource.UPLOADED,
        photo=photo,
        matte=matte,
        confidence=evidence.score,
        evidence=evidence.to_dict(),
        segmenter="alpha",
        accepted=True,
        user=user,
    )


# --- the gate every job passes ------------------------------------------------------


def _sentence(text: str) -> str:
    """A segmenter's problem ("the photo has no ...") as a sentence of the review message:
    a capital first letter and a full stop, so problems do not run into each other."""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text[-1] in ".!?" else ".")


class MatteNeedsReview(Exception):
    """The photo has no accepted matte and the automatic one is not trusted: the stored
    one, or the one the job made from the full photo (its ``confidence`` and ``problems``;
    a refusal of the full photo is confidence 0 with the refusal as the problem)."""

    def __init__(
        self, mask: PhotoMask, confidence: float | None = None, problems: list[str] | None = None
    ) -> None:
        self.mask = mask
        confidence = mask.confidence if confidence is None else confidence
        found = mask.problems if problems is None else problems
        reasons = " ".join(_sentence(problem) for problem in found) or "Its evidence is weak."
        super().__init__(
            # merchant words; the confidence and the threshold are in ``review``
            f"The cutout of this photo needs your review before any asset is made: it may be "
            f"wrong. {reasons} "
            "Open the product page to accept it, fix it with a box and a few strokes, or upload "
            "a mask; this job then goes on by itself."
        )
        self.review = {
            "image_id": mask.image_id,
            "mask_version": mask.version,
            "confidence": confidence,
            "threshold": MATTE_THRESHOLD,
            "problems": found,
            "reason": str(self),
        }


def matte_record(mask: PhotoMask) -> dict[str, Any]:
    """What every asset made with ``mask`` records about it (its metrics' ``matte``)."""
    return {
        "version": mask.version,
        "source": mask.source,
        "accepted": mask.accepted,
        "confidence": mask.confidence,
        "threshold": MATTE_THRESHOLD,
        "trusted": mask.trusted,
        "evidence": mask.evidence,
    }


@dataclass(frozen=True)
class JobMatte:
    """The matte a job goes by: the accepted one (``mask``), or the automatic segmenter
    (``mask`` None) when its stored matte (``automatic``) was trusted."""

    mask: Image.Image | None
    record: dict[str, Any]
    automatic: PhotoMask | None = None

    def segmenter(self, requested: str) -> str:
        # an accepted mask is used as it is, whichever segmenter the job asked for
        return "auto" if self.mask is not None else requested

    def annotate(
        self, result: Any, files: Iterable[tuple[dict[str, Any], bytes]]
    ) -> Iterator[tuple[dict[str, Any], bytes]]:
        """``storing.output_files`` of ``result`` with the matte recorded in every asset's
        metrics. On the automatic path the full photo's matte must be trusted too (the
        stored one was made on the preview): raises MatteNeedsReview before any file."""
        record = self.record
        if self.automatic is not None:
            full = result.segmentation
            if full.low_confidence:
                raise MatteNeedsReview(
                    self.automatic, full.confidence, list(full.evidence.get("problems") or [])
                )
            record = {**record, "full_photo_confidence": full.confidence}
        for fields, data in files:
            yield {**fields, "metrics": {**fields["metrics"], "matte": record}}, data

    def hold_refusal(self, refusal: SegmentationFailed) -> None:
        """On the automatic path the segmenter refusing the full photo (after a trusted
        preview) is the merchant's to review, like a weak full-photo matte: raises
        MatteNeedsReview. With an accepted mask it returns, and the refusal stands."""
        if self.automatic is not None:
            raise MatteNeedsReview(self.automatic, 0.0, [str(refusal)]) from refusal


def job_matte(image: ProductImage, photo: Image.Image, method: str = "auto") -> JobMatte:
    """The gate: the newest accepted matte at the photo's size, else the automatic one if
    trusted. Raises MatteNeedsReview otherwise.

    The automatic one is made now when the photo has none from the backend the job's
    ``method`` runs (a model installed since the upload, or a job asking for another
    segmenter, gets its own version)."""
    accepted = latest_accepted(image)
    if accepted is not None:
        return JobMatte(mask=mask_values(accepted, photo.size), record=matte_record(accepted))
    auto = latest_automatic(image)
    backend = automatic_backend(photo, method)
    if auto is None or auto.segmenter.split(":")[0] != backend:
        auto = make_automatic_mask(image, photo, backend)
    if not auto.trusted:
        raise MatteNeedsReview(auto)
    return JobMatte(mask=None, record=matte_record(auto), automatic=auto)
