"""Measures for scene sets: how different the variants are, and whether products stand.

Used by the tests and by ``bench/bench_scenes.py`` (the before/after numbers in the
README). Everything works on ``RenderedImage`` results of a scene engine (their
``product_box``) plus the placed product's matte on the canvas.

- ``variant_diversity``: mean absolute pixel difference (0..255) between every pair of
  variants, the spread of the product's placement (centre x and height, canvas
  fractions) and the distance between the backgrounds' mean colours.
- ``grounding``: how much darker the floor is in a thin band right under the product's
  base than the same floor further away (a product that floats has a ratio near 1).
- ``shadow_side``: on which side of the product's foot the floor is darker (-1 left,
  +1 right), to compare with the side the key light comes from.
- ``foot_shadow``: the shadow profile under something standing on the floor (how dark
  at its foot, and how much darker it gets again further away: a detached, floating shadow).
- ``backdrop_carried`` and ``carried_gap``: how much of a product's opaque matte is its
  photo's own backdrop colour (clear glass the segmenters call opaque shows the sweep
  behind it), and on a scene how much lighter that part is than the set round it (the
  "milky glass" of a light photo's glass pasted onto a dark set).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from generation.types import Box

_LUMA = np.array([0.299, 0.587, 0.114])


def _luma(img: Image.Image | np.ndarray) -> np.ndarray:
    arr = np.asarray(img, dtype=np.float64)
    return arr[..., :3] @ _LUMA


@dataclass(frozen=True)
class Diversity:
    min_pair_diff: float  # smallest mean |a - b| over all pairs of variants, 0..255
    mean_pair_diff: float
    x_spread: float  # max - min of the product's centre x, canvas fractions
    height_spread: float  # max - min of the product's height, canvas fractions
    min_palette_distance: float  # smallest distance between background mean colours (RGB)


def variant_diversity(images: list[Image.Image], boxes: list[Box]) -> Diversity:
    """How far apart a set of variants (same size, at least two) are from each other."""
    if len(images) < 2 or len(images) != len(boxes):
        raise ValueError("variant_diversity needs at least two images, each with its product box")
    sizes = {im.size for im in images}
    if len(sizes) != 1:
        raise ValueError(f"variants must share one size, got {sorted(sizes)}")
    cw, ch = images[0].size
    arrays = [np.asarray(im.convert("RGB"), dtype=np.int16) for im in images]
    diffs = [float(np.abs(a - b).mean()) for a, b in itertools.combinations(arrays, 2)]
    means = []
    for arr, (x, y, w, h) in zip(arrays, boxes, strict=True):
        keep = np.ones(arr.shape[:2], dtype=bool)
        keep[y : y + h, x : x + w] = False
        means.append(arr[keep].mean(axis=0) if keep.any() else arr.reshape(-1, 3).mean(axis=0))
    palette = [float(np.linalg.norm(a - b)) for a, b in itertools.combinations(means, 2)]
    cx = [(x + w / 2.0) / cw for x, _, w, _ in boxes]
    hs = [h / ch for _, _, _, h in boxes]
    return Diversity(
        min_pair_diff=min(diffs),
        mean_pair_diff=float(np.mean(diffs)),
        x_spread=max(cx) - min(cx),
        height_spread=max(hs) - min(hs),
        min_palette_distance=min(palette),
    )


def canvas_alpha(layer_alpha: Image.Image | np.ndarray, box: Box, size: tuple[int, int]) -> np.ndarray:
    """The placed product's alpha (uint8, its box at ``box``) on a canvas of ``size``."""
    cw, ch = size
    x, y, w, h = box
    a = np.asarray(layer_alpha, dtype=np.uint8)
    out = np.zeros((ch, cw), dtype=np.uint8)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, cw), min(y + h, ch)
    out[y0:y1, x0:x1] = a[y0 - y : y1 - y, x0 - x : x1 - x]
    return out


def _foot(alpha: np.ndarray) -> tuple[int, int, int]:
    """(lowest product row, left and right column of the product's foot)."""
    rows = np.nonzero((alpha > 127).any(axis=1))[0]
    if rows.size == 0:
        raise ValueError("the product's matte is empty")
    base = int(rows[-1])
    h = base - int(rows[0]) + 1
    cols = np.nonzero((alpha[max(0, base - max(2, h // 20)) : base + 1] > 127).any(axis=0))[0]
    return base, int(cols[0]), int(cols[-1])


def grounding(image: Image.Image, alpha: np.ndarray, *, band: int = 6, away: int = 40) -> float:
    """Luma of the floor in a ``band`` px strip right under the product's foot, divided by
    the luma of the same columns ``away`` px further down (below 1: darker at contact)."""
    y = _luma(image)
    ch = y.shape[0]
    base, x0, x1 = _foot(alpha)
    x0, x1 = x0 + (x1 - x0) // 5, x1 - (x1 - x0) // 5  # the middle of the foot
    floor = alpha < 8
    near_rows = slice(base + 1, min(ch, base + 1 + band))
    far_rows = slice(min(ch - 1, base + away), min(ch, base + away + band))
    near = y[near_rows, x0 : x1 + 1][floor[near_rows, x0 : x1 + 1]]
    far = y[far_rows, x0 : x1 + 1][floor[far_rows, x0 : x1 + 1]]
    if near.size == 0 or far.size == 0:
        raise ValueError("no floor under the product to measure (it touches the canvas bottom)")
    return float(near.mean() / max(far.mean(), 1e-6))


def shadow_side(
    image: Image.Image,
    alpha: np.ndarray,
    *,
    reach: float = 0.5,
    empty: Image.Image | np.ndarray | None = None,
) -> float:
    """Which side of the product the floor near its base is darker on: the mean luma
    beside the foot on the left minus on the right, over their mean (> 0: the shadow
    falls right). ``reach`` is how far out to look, as a share of the foot's width.
    With ``empty`` (the same set without the product) the shadow alone is compared
    (``image / empty``), so the set's own light falloff and vignette do not count."""
    y = _luma(image)
    if empty is not None:
        y = y / np.maximum(_luma(empty), 1e-3)
    cw = y.shape[1]
    base, x0, x1 = _foot(alpha)
    h = int(np.ptp(np.nonzero((alpha > 127).any(axis=1))[0])) + 1
    width = max(8, int(reach * (x1 - x0)))
    rows = slice(max(0, base - h // 6), base + 1)
    floor = alpha[rows] < 8
    left = y[rows, max(0, x0 - width) : x0][floor[:, max(0, x0 - width) : x0]]
    right = y[rows, x1 + 1 : min(cw, x1 + 1 + width)][floor[:, x1 + 1 : min(cw, x1 + 1 + width)]]
    if left.size == 0 or right.size == 0:
        raise ValueError("the product touches a canvas side: no floor on both sides to compare")
    return float((left.mean() - right.mean()) / max((left.mean() + right.mean()) / 2.0, 1e-6))


@dataclass(frozen=True)
class FootShadow:
    at_foot: float  # shadow density (0..1) in the 3 rows under the foot
    rebound: float  # how much darker a row gets again after a lighter one nearer the foot


def foot_shadow(
    image: np.ndarray | Image.Image,
    empty: np.ndarray | Image.Image,
    cx: float,
    base: float,
    width: float,
    height: float,
) -> FootShadow:
    """The shadow under a thing standing at (``cx``, ``base``), ``width`` x ``height`` px:
    ``image`` over ``empty`` (the same set without it), in the middle 40 % of its width,
    from the row under the foot down 30 % of its height. A grounded shadow is darkest at the foot and
    lightens steadily away from it (``rebound`` near 0); one that starts below the foot
    shows a lighter gap, then a dark band."""
    shade = _luma(image) / np.maximum(_luma(empty), 1e-3)
    x0, x1 = max(0, round(cx - 0.2 * width)), round(cx + 0.2 * width) + 1
    b = int(np.floor(base)) + 1  # the first row wholly below the foot (none of its edge)
    density = 1.0 - shade[b : b + round(0.3 * height) + 2, x0:x1].mean(axis=1)
    if density.size < 2:
        raise ValueError("no floor under it to measure (it touches the canvas bottom)")
    rebound = max(float(density[k] - density[:k].min()) for k in range(1, len(density)))
    return FootShadow(at_foot=float(density[:3].mean()), rebound=rebound)


# a product pixel is its photo's backdrop colour when it is neutral (its channels within
# CARRIED_TINT of each other relative to the backdrop's) and within CARRIED_TONE of the
# backdrop's brightness, the backdrop being the median colour of a ring round the matte
# (CARRIED_RING of the product's larger side wide)
CARRIED_TINT = 0.06
CARRIED_TONE = 0.1
CARRIED_RING = 0.03


@dataclass(frozen=True)
class Carried:
    share: float  # of the product's opaque pixels that are its photo's backdrop colour, 0..1
    backdrop: tuple[float, float, float]  # the photo's backdrop colour round the product (RGB)
    inside: np.ndarray  # (h, w) bool over the photo: those pixels


def backdrop_carried(photo: Image.Image, alpha: np.ndarray) -> Carried:
    """How much of the product (``alpha`` 0..1 or 0..255 over ``photo``, opaque where
    above 0.98) is its photo's backdrop colour: clear glass seen against a sweep is. From
    the pixels alone so is an opaque white label, jar or box on white (README: the limit)."""
    rgb = np.asarray(photo.convert("RGB"), dtype=np.float32)
    a = np.asarray(alpha, dtype=np.float32)
    a = a / 255.0 if a.max() > 1.0 else a
    opaque = a > 0.98
    ys, xs = np.nonzero(a > 0.02)
    if ys.size == 0 or not opaque.any():
        return Carried(0.0, (0.0, 0.0, 0.0), np.zeros(a.shape, dtype=bool))
    r = max(3, round(CARRIED_RING * max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    ring = cv2.dilate((a > 0.02).astype(np.uint8), disk).astype(bool) & (a < 0.02)
    backdrop = np.median(rgb[ring], axis=0) if ring.any() else np.median(rgb[a < 0.02], axis=0)
    ratio = rgb / np.maximum(backdrop, 1.0)
    level = ratio.mean(axis=2)
    neutral = np.abs(ratio - level[..., None]).max(axis=2) < CARRIED_TINT
    inside = opaque & neutral & (np.abs(level - 1.0) < CARRIED_TONE)
    return Carried(
        float(inside.sum() / opaque.sum()),
        (float(backdrop[0]), float(backdrop[1]), float(backdrop[2])),
        inside,
    )


def carried_gap(image: Image.Image, inside: np.ndarray, alpha: np.ndarray, *, ring: int = 12) -> float:
    """On a scene: the median luma (0..255) of the product's pixels that carry its photo's
    backdrop (``inside``, on the canvas) less that of the set in a ``ring`` px band round
    the product (``alpha`` on the canvas, 0..1 or 0..255). Near 0: the glass shows what the set
    would; 150 or more: a light photo's backdrop glowing on a dark set, milky glass."""
    luma = _luma(image)
    solid = (alpha > 0.02).astype(np.uint8)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1))
    around = cv2.dilate(solid, disk).astype(bool) & ~solid.astype(bool)
    if not inside.any() or not around.any():
        return 0.0
    return float(np.median(luma[inside]) - np.median(luma[around]))
