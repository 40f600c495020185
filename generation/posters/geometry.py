"""Box arithmetic for layouts and checks: edges, regions, obstacles, the product keep-out."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from generation.posters.template import Edge, Region
from generation.types import Box


def resolve_edge(
    edge: Edge, axis: str, content: Box, canvas: tuple[int, int], product: Box | None, short: int
) -> float:
    if edge.ref == "content":
        x, y, w, h = content
        return x + edge.value * w if axis == "x" else y + edge.value * h
    if edge.ref == "canvas":
        return edge.value * (canvas[0] if axis == "x" else canvas[1])
    assert product is not None
    px, py, pw, ph = product
    base = {
        "left": px, "right": px + pw, "top": py, "bottom": py + ph, "cx": px + pw / 2, "cy": py + ph / 2,
    }[edge.side]  # fmt: skip
    return base + edge.value * short


def resolve_region(
    region: Region,
    content: Box,
    canvas: tuple[int, int],
    product: Box | None,
    short: int,
    *,
    clamp: Box | None = None,
) -> Box:
    x0 = resolve_edge(region.x0, "x", content, canvas, product, short)
    x1 = resolve_edge(region.x1, "x", content, canvas, product, short)
    y0 = resolve_edge(region.y0, "y", content, canvas, product, short)
    y1 = resolve_edge(region.y1, "y", content, canvas, product, short)
    if clamp is not None:
        cx, cy, cw, ch = clamp
        x0, x1 = max(x0, cx), min(x1, cx + cw)
        y0, y1 = max(y0, cy), min(y1, cy + ch)
    return (round(x0), round(y0), max(0, round(x1 - x0)), max(0, round(y1 - y0)))


def intersects(a: Box, b: Box, pad: float = 0) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw + pad and bx < ax + aw + pad and ay < by + bh + pad and by < ay + ah + pad


def trim(region: Box, obstacle: Box, gap: int) -> Box:
    """The largest part of ``region`` left when cut back from one side to clear ``obstacle``."""
    if not intersects(region, obstacle, gap):
        return region
    x, y, w, h = region
    ox, oy, ow, oh = obstacle
    options = [
        (x, oy + oh + gap, w, y + h - (oy + oh + gap)),  # below it
        (x, y, w, oy - gap - y),  # above it
        (ox + ow + gap, y, x + w - (ox + ow + gap), h),  # right of it
        (x, y, ox - gap - x, h),  # left of it
    ]
    options = [o for o in options if o[2] > 0 and o[3] > 0]
    if not options:
        return (x, y, 0, 0)
    return max(options, key=lambda o: o[2] * o[3])


def clamp_into(box: Box, region: Box) -> Box:
    x, y, w, h = box
    rx, ry, rw, rh = region
    x = min(max(x, rx), rx + rw - w) if w <= rw else x
    y = min(max(y, ry), ry + rh - h) if h <= rh else y
    return (x, y, w, h)


def union_box(boxes: list[Box]) -> Box:
    """The smallest box holding all of ``boxes``."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


def product_keepout(alpha: Image.Image, box: Box, canvas: tuple[int, int], margin: int) -> np.ndarray:
    """Canvas-sized bool mask of the product matte (alpha > 0) grown by ``margin`` px.

    Grown by exact Euclidean distance (every pixel within ``margin`` + 1 px of the
    matte), a superset of a dilation with a ``2 * margin + 1`` elliptical kernel;
    only the product box and its margin are worked on.
    """
    cw, ch = canvas
    keep = np.zeros((ch, cw), dtype=bool)
    x, y, w, h = box
    a = np.asarray(alpha.resize((w, h), Image.Resampling.BILINEAR) if alpha.size != (w, h) else alpha)
    reach = margin + 1 if margin > 0 else 0
    # the work area: the product box grown by the reach, on the canvas
    x0, y0 = max(x - reach, 0), max(y - reach, 0)
    x1, y1 = min(x + w + reach, cw), min(y + h + reach, ch)
    if x1 <= x0 or y1 <= y0:
        return keep
    matte = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    px0, py0, px1, py1 = max(x, x0), max(y, y0), min(x + w, x1), min(y + h, y1)
    if px1 > px0 and py1 > py0:
        matte[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0] = a[py0 - y : py1 - y, px0 - x : px1 - x] > 0
    if reach:
        far = cv2.distanceTransform(1 - matte, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        keep[y0:y1, x0:x1] = far <= reach
    else:
        keep[y0:y1, x0:x1] = matte > 0
    return keep


def box_hits(mask: np.ndarray, box: Box) -> bool:
    x, y, w, h = box
    H, W = mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        return False
    return bool(mask[y0:y1, x0:x1].any())


def boxes_hit(mask: np.ndarray, x: np.ndarray, y: np.ndarray, w: int, h: int) -> np.ndarray:
    """``box_hits`` for many boxes of one size: their top-left corners ``x``, ``y`` (int
    arrays). Counted in a summed-area table of the part of ``mask`` that is set."""
    rx, ry, rw, rh = cv2.boundingRect(mask.view(np.uint8))
    if rw == 0 or rh == 0:
        return np.zeros(x.shape, dtype=bool)
    sums = cv2.integral(mask[ry : ry + rh, rx : rx + rw].view(np.uint8), sdepth=cv2.CV_32S)
    # each box cut to the set part (boxes reaching past the canvas are cut by it too)
    x0, x1 = np.clip(x - rx, 0, rw), np.clip(x + w - rx, 0, rw)
    y0, y1 = np.clip(y - ry, 0, rh), np.clip(y + h - ry, 0, rh)
    inside = sums[y1, x1] - sums[y0, x1] - sums[y1, x0] + sums[y0, x0]
    return (inside > 0) & (x1 > x0) & (y1 > y0)


def keepout_margin(short: int) -> int:
    """Clear space kept around the product matte: 1.2% of the shorter side, at least 6 px."""
    return max(6, round(0.012 * short))
