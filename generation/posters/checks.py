"""Legibility and integrity checks, stored with every poster.

- Contrast: each text's colour against what is actually behind it (the poster's
  pixels before any text was drawn, under the text's ink bbox). The background side of
  the WCAG 2 ratio is the worst case of its 10th and 90th percentile luminance, taken
  over 1.5 em tiles of the bbox, so neither a few stray pixels nor a dark patch under
  three letters of a long line decides it alone. Required: 4.5, or 3 for large text.
- Large text, defined for posters: at least 24 px bold (weight >= 700) or 32 px
  regular *at a 1080 px shorter side*; the thresholds scale with the canvas, because a
  poster is seen at the screen's width whatever its pixel size.
- Legible size: no text under ``min_text_px``, set at the width the size is seen at
  (``SizePreset.display_width``, from ``sizes.json``): 5.8 CSS px there, never under
  10 px. A feed post, portrait or story (1080 px seen at a phone's 390 CSS px) needs
  16 px; a 1200 x 628 link ad, seen at the same width, 18 px (its shorter side alone
  would have allowed 10).
- Keep-out: no text, badge, logo, ribbon, button or plate box touches the product
  matte (alpha > 0) dilated by ``keepout_margin``.
- Calm: on every background (a scene, a theme's set, the template's brand colours with
  their shapes, white), no text sits over busy detail, such as marble veins or the edge
  of a decorative shape, that passes the contrast ratio but runs through the letters:
  ``busyness`` under the text's ink at most ``BUSY_LIMIT``.
- Bounds: every element inside the canvas and outside the size preset's safe zones.
- Fidelity: ``compose.measure_fidelity`` says identical (max_abs_diff 0 where the
  product's alpha is 255).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

import cv2
import numpy as np
from PIL import Image

from generation import compose
from generation.posters.geometry import Keepout, box_hits, keepout_margin, on_canvas, product_keepout
from generation.posters.sizes import SizePreset
from generation.types import Box, Fidelity, PlacedProduct

RGB = tuple[int, int, int]

BODY_RATIO = 4.5
LARGE_RATIO = 3.0
LARGE_BOLD_PX = 24  # at a 1080 px shorter side
LARGE_REGULAR_PX = 32
BOLD_WEIGHT = 700
LOW_PERCENTILE, HIGH_PERCENTILE = 10, 90


def linear(channel: np.ndarray | float) -> np.ndarray:
    c = np.asarray(channel, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# Each channel's share of the luminance for every 8-bit value: pixels are looked up.
_LUM_TABLE = linear(np.arange(256))[:, None] * np.array([0.2126, 0.7152, 0.0722])


@overload
def luminance(rgb: RGB) -> float: ...
@overload
def luminance(rgb: np.ndarray) -> np.ndarray | float: ...
def luminance(rgb: np.ndarray | RGB) -> np.ndarray | float:
    """WCAG 2 relative luminance of sRGB colour(s), last axis RGB."""
    arr = np.asarray(rgb)
    if arr.dtype == np.uint8:  # pixels: three table look-ups instead of a power each
        lum = _LUM_TABLE[arr[..., 0], 0] + _LUM_TABLE[arr[..., 1], 1] + _LUM_TABLE[arr[..., 2], 2]
    else:
        lin = linear(arr.astype(np.float64))
        lum = lin[..., 0] * 0.2126 + lin[..., 1] * 0.7152 + lin[..., 2] * 0.0722
    return float(lum) if np.ndim(lum) == 0 else lum


def contrast_ratio(l1: float, l2: float) -> float:
    hi, lo = max(l1, l2), min(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


def is_large_text(size_px: int, weight: int, short_side: int) -> bool:
    scale = short_side / 1080.0
    threshold = LARGE_BOLD_PX if weight >= BOLD_WEIGHT else LARGE_REGULAR_PX
    return size_px >= threshold * scale


def min_text_px(size: SizePreset) -> int:
    """The minimum legible text size (font px) at ``size``, set at its display width."""
    return size.min_text_px


def required_ratio(size_px: int, weight: int, short_side: int) -> float:
    return LARGE_RATIO if is_large_text(size_px, weight, short_side) else BODY_RATIO


def background_range(behind: np.ndarray, box: Box, tile: int | None = None) -> tuple[float, float]:
    """Worst-case (10th, 90th) percentile luminance of ``behind`` (HxWx3 uint8) in ``box``.

    With ``tile`` (px) the box is cut into tiles about that size and the darkest 10th
    and brightest 90th percentile of any tile are returned, so a dark patch under a
    few letters of a long line is not averaged away by the rest of the line.
    """
    region = _region(behind, box)
    if region is None:
        raise ValueError(f"box {box} is outside the image")
    rh, rw = region.shape[:2]
    step = max(4, int(tile)) if tile else max(rw, rh)
    lows: list[float] = []
    highs: list[float] = []
    for ty in range(0, rh, step):
        th = min(step, rh - ty)
        # the row's tiles of full width share one shape: sampled together, each one
        # exactly as on its own; the narrower last one after them, in the same order
        whole = rw // step
        runs = [(0, whole, step)] if whole else []
        if whole * step < rw:
            runs.append((whole * step, 1, rw - whole * step))
        for tx, count, tw in runs:
            n = th * tw
            if n < 0.25 * step * step:
                if lows or n < 16:
                    continue  # a sliver at the edge says little on its own
                count = 1  # unless nothing else is sampled: then the first one only
            tiles = region[ty : ty + th, tx : tx + count * tw].reshape(th, count, tw, 3)
            patches = tiles.transpose(1, 0, 2, 3).reshape(count, n, 3)
            if n > 20000:  # big tiles: a regular subsample is as good and cheaper
                patches = patches[:, :: n // 20000 + 1]
            lum = luminance(patches)
            lo, hi = np.percentile(lum, [LOW_PERCENTILE, HIGH_PERCENTILE], axis=1)
            lows += lo.tolist()
            highs += hi.tolist()
    return min(lows), max(highs)


# Background detail at the scale of the letters' strokes that competes with them: 0.04 of
# luminance at the 98th percentile. A studio set's grain, a plain or gradient backdrop
# and a soft edge measure 0.003-0.025 under text; marble veins 0.045-0.14.
BUSY_LIMIT = 0.04
BUSY_FINE_SIGMA = 2.0  # px: the finer blur of ``busyness`` is measured at this or more


def busyness(behind: np.ndarray, box: Box, size_px: int) -> float:
    """How busy ``behind`` (HxWx3 uint8) is under text of ``size_px`` at ``box``: the 98th
    percentile of its luminance detail between 0.05 and 0.25 em (a band-pass: the grain
    below the strokes' scale and the gradients above it do not count)."""
    region = _region(behind, box)
    if region is None or min(region.shape[:2]) < 2:
        return 0.0
    lum: np.ndarray = np.asarray(luminance(region), dtype=np.float32)
    fine_sigma, coarse_sigma = max(0.8, 0.05 * size_px), max(2.0, 0.25 * size_px)
    # Large text: its band starts well above a pixel, so it is measured on a copy shrunk
    # until the finer blur is BUSY_FINE_SIGMA px or more (a shrink by f averages f x f
    # pixels, detail the finer blur takes out anyway): the blurs' kernels f times shorter
    # over f x f times fewer pixels. Over the 560 reference posters' 4724 measures
    # (bench/poster_references.py) it moved by 0.0013 at most, 0.00015 at the 99th
    # percentile, and none crossed BUSY_LIMIT.
    f = int(fine_sigma // BUSY_FINE_SIGMA)
    h, w = lum.shape
    if f >= 2 and min(h, w) >= 8 * f:
        small = (round(w / f), round(h / f))
        lum = cv2.resize(lum, small, interpolation=cv2.INTER_AREA)
        fine_sigma, coarse_sigma = fine_sigma / f, coarse_sigma / f
    fine = cv2.GaussianBlur(lum, (0, 0), fine_sigma)
    coarse = cv2.GaussianBlur(lum, (0, 0), coarse_sigma)
    return float(np.percentile(np.abs(fine - coarse), 98))


class Samples:
    """Background ranges and busyness measured while a poster is drawn, each kept with
    the pixels it was measured on. The checks measure the same boxes of the finished
    background again: where a box still holds the same pixels, the kept value is the
    one measuring would give, and is used instead (compared pixel for pixel, so a box
    painted over since, by a plate or a button, is measured again)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[Any, ...], tuple[np.ndarray, Any]] = {}

    def background_range(
        self, behind: np.ndarray, box: Box, tile: int, *, at: Box | None = None
    ) -> tuple[float, float]:
        """``background_range(behind, box, tile)``; ``at``: where ``box`` is on the canvas
        when ``behind`` is a patch of it (``contrast.as_pixels``)."""
        region = _region(behind, box)
        return self._measured("range", at or box, tile, region, lambda: background_range(behind, box, tile))

    def busyness(self, behind: np.ndarray, box: Box, size_px: int, *, at: Box | None = None) -> float:
        """``busyness(behind, box, size_px)``; ``at`` as for ``background_range``."""
        region = _region(behind, box)
        return self._measured("busy", at or box, size_px, region, lambda: busyness(behind, box, size_px))

    def _measured(
        self, what: str, box: Box, param: int, region: np.ndarray | None, measure: Callable[[], Any]
    ) -> Any:
        if region is None:  # nothing of the box on the image: measured as ever (it says so)
            return measure()
        key = (what, box, param)
        kept = self._kept.get(key)
        if kept is not None and kept[0].shape == region.shape and np.array_equal(kept[0], region):
            return kept[1]
        value = measure()
        self._kept[key] = (region.copy(), value)
        return value


def _region(behind: np.ndarray, box: Box) -> np.ndarray | None:
    """The pixels of ``behind`` that ``background_range`` and ``busyness`` read for ``box``."""
    on = on_canvas(box, (behind.shape[1], behind.shape[0]))
    return None if on is None else behind[on[1] : on[3], on[0] : on[2]]


def contrast_tile(size_px: int) -> int:
    """Tile for sampling what is behind text of ``size_px``: 1.5 em."""
    return max(8, round(1.5 * size_px))


def worst_contrast(color: RGB, lum_range: tuple[float, float]) -> float:
    lc = luminance(color)
    return min(contrast_ratio(lc, lum_range[0]), contrast_ratio(lc, lum_range[1]))


@dataclass(frozen=True)
class Element:
    """Something drawn on the poster that must stay legible, clear and in bounds.

    ``box`` is what it covers (for text: its ink bbox). Text elements carry their
    colour, size and weight; ``sample`` is the box whose background is sampled when it
    differs from ``box`` (a label set diagonally along a corner ribbon).
    """

    name: str
    kind: str  # text | badge | logo | ribbon | cta | eyebrow | plate | rule | price_plate
    box: Box
    color: RGB | None = None
    size: int = 0
    weight: int = 400
    sample: Box | None = None


@dataclass(frozen=True)
class TextContrast:
    name: str
    ratio: float
    required: float
    large: bool
    background: tuple[float, float]  # 10th / 90th percentile luminance behind the text

    @property
    def passed(self) -> bool:
        return self.ratio >= self.required

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ratio": round(self.ratio, 2),
            "required": self.required,
            "large": self.large,
            "background_luminance": [round(v, 4) for v in self.background],
            "passed": self.passed,
        }


@dataclass(frozen=True)
class PosterChecks:
    contrast: list[TextContrast]
    overlaps: list[str]  # elements touching the product matte
    out_of_bounds: list[str]  # elements outside the canvas or inside a safe zone
    fidelity: Fidelity
    fixes: list[str] = field(default_factory=list)  # what the renderer changed to pass
    small_text: list[tuple[str, int]] = field(default_factory=list)  # (name, px) under min_text_px
    min_text_px: int = 0  # the canvas's minimum legible text size
    busy_text: list[tuple[str, float]] = field(default_factory=list)  # (name, busyness) over BUSY_LIMIT

    @property
    def problems(self) -> list[str]:
        out = [
            f"{c.name}: contrast {c.ratio:.2f} below {c.required:g}" for c in self.contrast if not c.passed
        ]
        out += [
            f"{name}: text {px} px is below the {self.min_text_px} px minimum for this canvas"
            for name, px in self.small_text
        ]
        out += [
            f"{name}: text over a busy background ({busy:.3f} over {BUSY_LIMIT:g}) with no calm area"
            for name, busy in self.busy_text
        ]
        out += [f"{name} overlaps the product" for name in self.overlaps]
        out += [f"{name} is outside the canvas or in a safe zone" for name in self.out_of_bounds]
        if not self.fidelity.identical:
            out.append(
                f"product pixels changed (max_abs_diff {self.fidelity.max_abs_diff}, "
                f"{self.fidelity.opaque_pixels} opaque pixels)"
            )
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "contrast": [c.to_dict() for c in self.contrast],
            "overlaps": list(self.overlaps),
            "out_of_bounds": list(self.out_of_bounds),
            "fidelity": self.fidelity.to_dict(),
            "fixes": list(self.fixes),
            "small_text": [{"name": name, "size": px} for name, px in self.small_text],
            "min_text_px": self.min_text_px,
            "busy_text": [{"name": name, "busyness": round(busy, 4)} for name, busy in self.busy_text],
        }


def text_contrast(
    behind: np.ndarray, element: Element, short_side: int, samples: Samples | None = None
) -> TextContrast:
    assert element.color is not None
    box, tile = element.sample or element.box, contrast_tile(element.size)
    rng = (
        background_range(behind, box, tile)
        if samples is None
        else samples.background_range(behind, box, tile)
    )
    large = is_large_text(element.size, element.weight, short_side)
    return TextContrast(
        name=element.name,
        ratio=worst_contrast(element.color, rng),
        required=LARGE_RATIO if large else BODY_RATIO,
        large=large,
        background=rng,
    )


def inside(box: Box, area: Box) -> bool:
    x, y, w, h = box
    ax, ay, aw, ah = area
    return x >= ax and y >= ay and x + w <= ax + aw and y + h <= ay + ah


def check_poster(
    image: Image.Image,
    behind: Image.Image | np.ndarray,
    elements: list[Element],
    placed: PlacedProduct,
    size: SizePreset,
    *,
    fixes: list[str] | None = None,
    keepout: np.ndarray | Keepout | None = None,
    samples: Samples | None = None,
) -> PosterChecks:
    """Check a finished poster from its pixels.

    ``behind`` is the poster as it was just before the text was drawn (background,
    shapes, plates, buttons), as an image or as its H x W x 3 uint8 pixels (the renderer
    has them: no copy out of the image); ``elements`` what was drawn on top; ``placed``
    the product as pasted back. ``keepout`` is ``product_keepout`` of ``placed`` when the caller
    already has it (computed here otherwise); ``samples`` what the caller measured of
    the background while drawing (``Samples``), reused where the pixels are the same.
    """
    canvas = (image.width, image.height)
    short = min(canvas)
    if isinstance(behind, np.ndarray):
        behind_arr = behind
    else:
        behind_arr = np.asarray(behind if behind.mode == "RGB" else behind.convert("RGB"))
    if keepout is None:
        keepout = product_keepout(placed.layer.getchannel("A"), placed.box, canvas, keepout_margin(short))
    safe = size.safe_box
    texts = [el for el in elements if el.kind == "text" and el.color]
    contrast = [text_contrast(behind_arr, el, short, samples) for el in texts]
    smallest = min_text_px(size)
    small = [(el.name, el.size) for el in texts if el.size < smallest]
    measure = busyness if samples is None else samples.busyness
    busy = [(el.name, measure(behind_arr, el.sample or el.box, el.size)) for el in texts]
    overlaps = [el.name for el in elements if box_hits(keepout, el.box)]
    out = [el.name for el in elements if not inside(el.box, safe)]
    return PosterChecks(
        contrast=contrast,
        overlaps=overlaps,
        out_of_bounds=out,
        fidelity=compose.measure_fidelity(image, placed),
        fixes=list(fixes or []),
        small_text=small,
        min_text_px=smallest,
        busy_text=[(name, b) for name, b in busy if b > BUSY_LIMIT],
    )
