"""Helpers every segmenter shares: the RGB photo, the product box, matte statistics."""

from __future__ import annotations

import numpy as np
from PIL import Image

from generation.errors import ImageRejected, SegmentationFailed
from generation.types import Box, Segmentation

# A matte value above this counts as product when measuring the box: low enough to keep
# soft edges inside the box, high enough to ignore faint matting haze.
BOX_THRESHOLD = 8

# Below this confidence a backend flags its own matte; ``segment()`` then replaces the
# flag with the matte evidence (``generation.check.MATTE_THRESHOLD``).
LOW_CONFIDENCE = 0.6


def to_rgb(image: Image.Image) -> Image.Image:
    """The photo's colour pixels as RGB, unchanged: alpha is dropped, never composited."""
    if image.mode == "RGB":
        return image.copy()
    try:
        if image.mode in {"P", "PA", "La", "RGBa", "LA", "RGBA"}:
            # via RGBA so palette transparency and premultiplied modes keep their colours
            return image.convert("RGBA").convert("RGB")
        return image.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageRejected(f"images in mode {image.mode} are not supported") from exc


def matte_box(matte: np.ndarray, threshold: int = BOX_THRESHOLD) -> Box:
    """(x, y, w, h) of the pixels above ``threshold``; raises when there are none."""
    ys = np.flatnonzero((matte > threshold).any(axis=1))
    xs = np.flatnonzero((matte > threshold).any(axis=0))
    if ys.size == 0:
        raise SegmentationFailed("no product found: the matte is empty")
    x0, x1, y0, y1 = int(xs[0]), int(xs[-1]), int(ys[0]), int(ys[-1])
    return (x0, y0, x1 - x0 + 1, y1 - y0 + 1)


def border_fraction(foreground: np.ndarray) -> float:
    """Share of the image's outermost ring of pixels that is foreground (bool array)."""
    ring = np.concatenate([foreground[0, :], foreground[-1, :], foreground[1:-1, 0], foreground[1:-1, -1]])
    return float(ring.mean()) if ring.size else 0.0


def decisiveness(matte: np.ndarray) -> float:
    """0..1: how much of the product matte is clearly product or clearly background.

    A learned model that is unsure paints wide grey areas; a clean cutout has grey only
    along its edges. Measured as 1 - (grey pixels / product pixels).
    """
    product = int((matte >= 128).sum())
    if product == 0:
        return 0.0
    grey = int(((matte > 32) & (matte < 224)).sum())
    return float(np.clip(1.0 - grey / product, 0.0, 1.0))


def build_segmentation(
    rgb: Image.Image,
    matte: np.ndarray,
    segmenter: str,
    confidence: float = 1.0,
    *,
    foreground: np.ndarray | None = None,
) -> Segmentation:
    """Wrap a uint8 matte the size of ``rgb`` into a ``Segmentation``.

    ``foreground`` (uint8 (h, w, 3)) is the decontaminated colour of soft edge pixels;
    wherever the matte is 255 the photo's own pixel is kept, whatever it holds.
    """
    if matte.shape != (rgb.height, rgb.width):
        raise ValueError(f"matte shape {matte.shape} does not match photo {rgb.size}")
    fg_image = None
    if foreground is not None:
        photo = np.asarray(rgb)
        fg = np.where((matte == 255)[..., None], photo, foreground).astype(np.uint8)
        fg_image = Image.fromarray(fg, "RGB")
    confidence = float(np.clip(confidence, 0.0, 1.0))
    return Segmentation(
        image=rgb,
        matte=Image.fromarray(matte.astype(np.uint8), "L"),
        box=matte_box(matte),
        segmenter=segmenter,
        confidence=round(confidence, 3),
        low_confidence=confidence < LOW_CONFIDENCE,
        foreground=fg_image,
    )
