"""The cutout shown right after upload: the same segmenters on a preview-size copy.

``preview_segment`` runs ``segment`` on the photo scaled to ``PREVIEW_SIDE`` (about a
second for the classical segmenter on two cores, whatever the upload's size), so the
product page shows the cutout and its matte evidence before the merchant chooses
outputs. Jobs segment the full photo (or use the merchant's accepted mask).
"""

from __future__ import annotations

from PIL import Image

from generation.config import GenerationConfig
from generation.segment import segment
from generation.segment.refine import PREVIEW_SIDE, preview_size
from generation.types import Segmentation


def preview_segment(
    photo: Image.Image,
    method: str = "auto",
    config: GenerationConfig | None = None,
    mask: Image.Image | None = None,
    *,
    side: int = PREVIEW_SIDE,
) -> Segmentation:
    """``segment`` on the photo scaled to at most ``side`` px (the mask scaled with it).

    The result's image and matte are preview-size; raises what ``segment`` raises.
    """
    small = (
        photo
        if max(photo.size) <= side
        else photo.resize(preview_size(photo.size, side), Image.Resampling.LANCZOS)
    )
    small_mask = None
    if mask is not None:
        small_mask = (
            mask
            if mask.size == small.size
            else mask.convert("L").resize(small.size, Image.Resampling.BILINEAR)
        )
    return segment(small, method, config, mask=small_mask)
