"""Frozen dataclasses shared by every stage of the library.

Boxes are ``(x, y, width, height)`` in pixels of the image they refer to.
Mattes are mode ``L`` images the size of the photo they belong to: 255 is product,
0 is background, values between are soft edges.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]

# progress(fraction 0..1, message) -- called by pipelines between steps.
ProgressCallback = Callable[[float, str], None]
# an engine's ``on_image``: each image as soon as it is finished (RenderedImage, below)
ImageCallback = Callable[["RenderedImage"], None]


def no_progress(fraction: float, message: str) -> None:  # noqa: ARG001
    return None


@dataclass(frozen=True)
class Segmentation:
    """A product photo split into product and background.

    ``confidence`` is the matte evidence score (``generation.check.matte_evidence``,
    independent of the segmenter; 1.0 for the merchant's own alpha or mask) and
    ``evidence`` its named cues; ``low_confidence`` is the score below
    ``generation.check.MATTE_THRESHOLD``: such a matte needs the merchant's review.
    ``foreground``, when set, holds the product's own colour in soft edge pixels (the
    backdrop's colour taken out); it equals ``image`` wherever the matte is 255.
    """

    image: Image.Image  # the normalized photo, RGB
    matte: Image.Image  # L, same size as ``image``
    box: Box  # product bounding box in ``image``
    segmenter: str  # registry name that made the matte, e.g. "classical", "rembg:u2net"
    confidence: float = 1.0  # 0..1, from the matte evidence
    low_confidence: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)  # MatteEvidence.to_dict()
    foreground: Image.Image | None = None  # RGB, decontaminated edge colours

    @property
    def cutout(self) -> Image.Image:
        """RGBA cutout cropped to ``box``: the product's own pixels with the matte as alpha.

        Fully opaque pixels are the photo's; soft edge pixels carry ``foreground``'s
        colour when it is set, so no backdrop colour is pasted onto a new set.
        """
        x, y, w, h = self.box
        # cropped first: converting and putting alpha on the box alone gives the same
        # pixels as on the whole photo, at the cost of the product's own area
        crop = (x, y, x + w, y + h)
        rgba = (self.foreground or self.image).crop(crop).convert("RGB")
        rgba.putalpha(self.matte.crop(crop))
        return rgba

    def matte_meta(self) -> dict[str, Any]:
        """What an asset's sidecar says of the matte it was made with: the segmenter,
        ``confidence``, ``low_confidence`` and ``matte`` (the evidence)."""
        return {
            "segmenter": self.segmenter,
            "confidence": round(float(self.confidence), 4),
            "low_confidence": bool(self.low_confidence),
            "matte": self.evidence,
        }


@dataclass(frozen=True)
class Fidelity:
    """How far an output's product pixels are from the merchant's pixels.

    Measured where the placed product's alpha is fully opaque (255). ``psnr_db`` is
    ``math.inf`` when the pixels are identical.
    """

    max_abs_diff: int
    psnr_db: float
    opaque_pixels: int

    @property
    def identical(self) -> bool:
        return self.max_abs_diff == 0 and self.opaque_pixels > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_abs_diff": self.max_abs_diff,
            # JSON has no infinity: identical pixels are reported as null plus identical=true
            "psnr_db": None if math.isinf(self.psnr_db) else round(self.psnr_db, 3),
            "opaque_pixels": self.opaque_pixels,
            "identical": self.identical,
        }


@dataclass(frozen=True)
class PlacedProduct:
    """The cutout after its one resize, positioned on an output canvas.

    ``layer`` is RGBA and exactly ``box[2] x box[3]``; it is the reference the
    fidelity check compares against.
    """

    layer: Image.Image
    box: Box
    canvas_size: tuple[int, int]

    def visible(self) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
        """The part of the layer inside the canvas: ((x0, y0, x1, y1), RGBA array).

        A box may hang over the edge (e.g. a clip's push-in); only the visible part
        counts. Work is limited to the product box, never the whole canvas.
        """
        cw, ch = self.canvas_size
        x, y, w, h = self.box
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, cw), min(y + h, ch)
        if x1 <= x0 or y1 <= y0:
            return None
        layer = np.asarray(self.layer.convert("RGBA"))
        return (x0, y0, x1, y1), layer[y0 - y : y1 - y, x0 - x : x1 - x]


@dataclass(frozen=True)
class RenderedImage:
    """One output image and what made it."""

    image: Image.Image
    kind: str  # cutout | packshot | scene | poster
    name: str  # deterministic file stem, e.g. "scene-marble-01"
    product_box: Box
    fidelity: Fidelity | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def studio_set(self) -> tuple[str, int] | None:
        """(theme, seed) that build this image's set again at another size and shape when
        the studio engine made it; None for any other image."""
        meta = self.meta or {}
        theme, seed = meta.get("theme"), meta.get("seed")
        if meta.get("engine") != "studio" or not isinstance(theme, str) or not isinstance(seed, int):
            return None
        return theme, seed

    def sidecar(self) -> dict[str, Any]:
        x, y, w, h = self.product_box
        data: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "width": self.image.width,
            "height": self.image.height,
            "product_box": {"x": x, "y": y, "width": w, "height": h},
            "fidelity": self.fidelity.to_dict() if self.fidelity else None,
        }
        data.update(self.meta)
        return data
