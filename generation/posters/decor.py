"""Anti-aliased poster shapes: pills, plates, badges, ribbons, scrims and their shadows.

Shapes are coverage masks (float32 0..1) built on small tiles, from exact signed
distances (rounded rectangles, circles, and the straight-edged pieces of tags, price
tags and corner bands: ``convex``) or from a polygon filled with OpenCV's
anti-aliasing (bursts). ``fill`` composites a
colour through a mask onto a float32 canvas in place. Nothing here knows the product:
the layout keeps every shape off it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from generation.sets.textures import channels
from generation.types import Box

F32 = np.float32
RGB = tuple[int, int, int]
_SHIFT = 4  # fractional bits for cv2 polygon vertices


def rounded_rect(w: int, h: int, radius: float) -> np.ndarray:
    """Coverage of a ``w`` x ``h`` rectangle with corner ``radius`` (px)."""
    r = float(min(max(radius, 0.0), w / 2.0, h / 2.0))
    ys = np.arange(h, dtype=F32)[:, None] + 0.5
    xs = np.arange(w, dtype=F32)[None, :] + 0.5
    qx = np.abs(xs - w / 2.0) - (w / 2.0 - r)
    qy = np.abs(ys - h / 2.0) - (h / 2.0 - r)
    outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
    d = outside + np.minimum(np.maximum(qx, qy), 0) - r
    return np.clip(0.5 - d, 0.0, 1.0).astype(F32)


def circle(d: int) -> np.ndarray:
    return rounded_rect(d, d, d / 2.0)


def ring(d: int, width: float) -> np.ndarray:
    outer = circle(d)
    inner_d = d - 2 * width
    if inner_d <= 0:
        return outer
    ys = np.arange(d, dtype=F32)[:, None] + 0.5 - d / 2.0
    xs = np.arange(d, dtype=F32)[None, :] + 0.5 - d / 2.0
    inner = np.clip(inner_d / 2.0 + 0.5 - np.sqrt(xs * xs + ys * ys), 0, 1)
    return np.clip(outer - inner, 0, 1).astype(F32)


def polygon(w: int, h: int, points: list[tuple[float, float]]) -> np.ndarray:
    mask = np.zeros((h, w), dtype=np.uint8)
    pts = np.array([[round(x * (1 << _SHIFT)), round(y * (1 << _SHIFT))] for x, y in points], dtype=np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=_SHIFT)
    return mask.astype(F32) / 255.0


def convex(w: int, h: int, points: list[tuple[float, float]]) -> np.ndarray:
    """Coverage of a convex polygon (vertices in px, either winding) on a ``w`` x ``h``
    tile, from each pixel centre's signed distance to the nearest edge line, as
    ``rounded_rect`` does: a straight edge at any angle or sub-pixel place is drawn at
    its exact place with the same ramp in every row. (OpenCV's anti-aliased fill, used
    before, put a tag's notched end 1.3 px outside its line on average, by up to 1.9 px,
    and wobbled 0.09 px from row to row: a ragged edge.)"""
    ys = np.arange(h, dtype=F32)[:, None] + 0.5
    xs = np.arange(w, dtype=F32)[None, :] + 0.5
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))
    turn = 1.0 if area2 > 0 else -1.0  # outward normals for either winding
    d = np.full((h, w), -np.inf, dtype=F32)
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        nx, ny = turn * (y1 - y0) / length, -turn * (x1 - x0) / length
        d = np.maximum(d, (xs - x0) * F32(nx) + (ys - y0) * F32(ny))
    return np.clip(0.5 - d, 0.0, 1.0).astype(F32)


def burst(d: int, points: int = 18, depth: float = 0.1) -> np.ndarray:
    """A sales starburst: ``points`` spikes, inner radius ``1 - depth`` of the outer."""
    c = d / 2.0
    outer, inner = c - 0.5, (c - 0.5) * (1 - depth)
    pts = []
    for k in range(points * 2):
        a = math.pi * k / points - math.pi / 2
        r = outer if k % 2 == 0 else inner
        pts.append((c + r * math.cos(a), c + r * math.sin(a)))
    return polygon(d, d, pts)


def tag(w: int, h: int, notch: int, *, right: bool = False) -> np.ndarray:
    """A flag: a bar whose far end has a swallowtail notch (towards the content)."""
    if right:  # bleeding from the right edge: the notch is on the left
        cut = convex(w, h, [(0, 0), (notch, h / 2), (0, h)])
    else:
        cut = convex(w, h, [(w, 0), (w, h), (w - notch, h / 2)])
    return np.clip(1.0 - cut, 0.0, 1.0).astype(F32)


def price_tag(w: int, h: int, hole: int) -> np.ndarray:
    """A shop price tag: pointed on the left, rounded on the right, with a punched hole."""
    r = h * 0.16
    point = hole
    body = rounded_rect(w - point + round(r), h, r)[:, round(r) :]
    mask = np.zeros((h, w), dtype=F32)
    mask[:, point:] = body[:, : w - point]
    # the point's two edges run from its tip straight to the body's corners, and the piece
    # reaches 2 px into the body: no step where they meet (a triangle to 2 px past the
    # corners left the body's square corner standing out of its edge, 2.6 px tall)
    tip = convex(point + 2, h, [(0, h / 2), (point, 0), (point + 2, 0), (point + 2, h), (point, h)])
    mask[:, : point + 2] = np.maximum(mask[:, : point + 2], tip)
    hd = max(4, round(h * 0.16))
    hx, hy = round(point * 0.75), round(h / 2 - hd / 2)
    mask[hy : hy + hd, hx : hx + hd] *= 1.0 - circle(hd)
    return mask


def corner_band(size: tuple[int, int], band: float, dist: float, *, right: bool) -> tuple[np.ndarray, Box]:
    """A diagonal band across the top corner: (mask, its box on the canvas).

    Its centre line is ``dist`` px from the corner, measured perpendicular to it.
    """
    c_mid = dist * math.sqrt(2)
    c0, c1 = c_mid - band / math.sqrt(2), c_mid + band / math.sqrt(2)
    reach = min(int(math.ceil(c1)) + 1, size[0], size[1])
    pts = [(c0, 0), (c1, 0), (0, c1), (0, c0)]
    if right:
        pts = [(reach - x, y) for x, y in pts]
    mask = convex(reach, reach, pts)
    box = (size[0] - reach, 0, reach, reach) if right else (0, 0, reach, reach)
    return mask, box


def fill(
    canvas: np.ndarray, mask: np.ndarray, origin: tuple[int, int], color: RGB, opacity: float = 1.0
) -> None:
    """Composite ``color`` through ``mask`` (placed at ``origin``) onto ``canvas`` in place."""
    ox, oy = origin
    h, w = mask.shape
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + w, W), min(oy + h, H)
    if x1 <= x0 or y1 <= y0:
        return
    # mask and colour spread over the three channels: numpy then runs along whole rows
    m = channels(mask[y0 - oy : y1 - oy, x0 - ox : x1 - ox] * opacity)
    region = canvas[y0:y1, x0:x1]
    region += (np.tile(np.array(color, dtype=F32), (x1 - x0, 1)) - region) * m


def fill_rect(canvas: np.ndarray, box: Box, color: RGB, opacity: float = 1.0) -> None:
    """``fill`` of a plain rectangle, without building a mask for it."""
    x, y, w, h = box
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        return
    region = canvas[y0:y1, x0:x1]
    # the colour as one whole row: numpy then runs along rows, not over three channels
    row = np.tile(np.array(color, dtype=F32), (x1 - x0, 1))
    if opacity >= 1.0:
        region[:] = row
    else:
        region += (row - region) * F32(opacity)


def drop_shadow(
    canvas: np.ndarray,
    mask: np.ndarray,
    origin: tuple[int, int],
    *,
    offset: tuple[int, int],
    blur: float,
    opacity: float,
) -> None:
    """A soft shadow of ``mask`` under a shape (buttons and badges lift off the page)."""
    if opacity <= 0:
        return
    pad = int(math.ceil(3 * blur)) + max(abs(offset[0]), abs(offset[1]))
    h, w = mask.shape
    big = np.zeros((h + 2 * pad, w + 2 * pad), dtype=F32)
    big[pad : pad + h, pad : pad + w] = mask
    if blur > 0.3:
        big = flat_blur(big, blur)
    fill(canvas, big, (origin[0] - pad + offset[0], origin[1] - pad + offset[1]), (10, 12, 20), opacity)


def flat_blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    """``cv2.GaussianBlur(mask, (0, 0), sigma)`` of a float32 mask, the same values, cheaper
    where the mask has a long run of identical columns (rows) such as a button's straight
    part. As in ``scrim_mask``: OpenCV's kernel reaches ``reach`` px, so every output column
    of the run further than that from its ends is the same; the run is shortened by whole
    multiples of 64 px (OpenCV's vector loops then end the same way), the copy blurred and
    its first such column repeated back."""
    reach = (int(round(sigma * 8 + 1)) | 1) // 2  # OpenCV's float Gaussian: 4 sigma a side
    keep = 2 * reach + 2
    cuts: list[tuple[int, int, int]] = []
    for axis in (1, 0):
        n, mid, probe = mask.shape[axis], mask.shape[axis] // 2, (keep + 64) // 2 + 1
        ends = (
            np.take(mask, [mid - probe, mid + probe], axis=axis) if mid + probe < n and mid >= probe else None
        )
        if ends is None or not (ends == np.take(mask, [mid], axis=axis)).all():
            continue  # the middle is no long run of identical lines: nothing worth shortening
        if axis == 1:  # column k equals column k + 1
            same = (mask[:, 1:] == mask[:, :-1]).all(axis=0)
        else:  # row k equals row k + 1
            same = (mask[1:] == mask[:-1]).all(axis=1)
        start, count = _longest_run(same)  # lines (columns or rows) start .. start + count identical
        count += 1
        if not same.any() or count <= keep + 64:
            continue
        remove = (count - keep) // 64 * 64
        cut = start + reach + 1  # reach + 1 identical lines stay before the cut, more after it
        mask = np.delete(mask, np.s_[cut : cut + remove], axis=axis)
        cuts.append((axis, cut, remove))
    out = cv2.GaussianBlur(mask, (0, 0), sigma)
    for axis, cut, remove in reversed(cuts):
        before, after = np.split(out, [cut], axis=axis)
        out = np.concatenate(
            [before, np.repeat(after[:1] if axis == 0 else after[:, :1], remove, axis=axis), after], axis=axis
        )
    return out


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True in ``flags`` (the first such; (0, 0) if none)."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) == 0:
        return 0, 0
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k] - starts[k])


def scrim_pad(feather: float) -> int:
    """How far a scrim's soft edge reaches outside its box, px."""
    return int(math.ceil(2 * feather))


def scrim_mask(w: int, h: int, feather: float) -> np.ndarray:
    """A scrim's coverage for a ``w`` x ``h`` box, ``scrim_pad`` larger on every side."""
    pad = scrim_pad(feather)
    if feather <= 0.3:
        mask = np.zeros((h + 2 * pad, w + 2 * pad), dtype=F32)
        mask[pad : pad + h, pad : pad + w] = 1.0
        return mask
    # The box blurred: OpenCV's kernel reaches ``reach`` px, so every row (column) of the
    # blur further than that from both ends of a long box is the same. A box shortened
    # by whole multiples of 64 px (OpenCV's vector loops then end the same way) is
    # blurred and its middle row (column) repeated: the same values as blurring the
    # whole box, at a fraction of the cost for the wide groups a scrim goes behind.
    reach = (int(round(feather * 8 + 1)) | 1) // 2  # OpenCV's float Gaussian: 4 sigma a side
    bw, bh = _blurred_span(w, reach), _blurred_span(h, reach)
    mask = np.zeros((bh + 2 * pad, bw + 2 * pad), dtype=F32)
    mask[pad : pad + bh, pad : pad + bw] = 1.0
    mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), feather), dtype=F32)
    mid = pad + reach  # the first row (column) whose kernel lies inside the box
    if bw < w:
        mask = np.concatenate(
            [mask[:, :mid], np.repeat(mask[:, mid : mid + 1], w - bw + 1, axis=1), mask[:, mid + 1 :]], axis=1
        )
    if bh < h:
        mask = np.concatenate(
            [mask[:mid], np.repeat(mask[mid : mid + 1], h - bh + 1, axis=0), mask[mid + 1 :]], axis=0
        )
    # keep the box itself at full strength: the text needs it there
    mask[pad : pad + h, pad : pad + w] = 1.0
    return mask


def _blurred_span(n: int, reach: int) -> int:
    """The length of a box side to blur for a side of ``n`` px: ``n`` less whole multiples
    of 64 px, keeping more than twice ``reach`` so its middle has flat rows."""
    keep = 2 * reach + 2
    return n if n <= keep + 64 else n - (n - keep) // 64 * 64


def block_scrim_mask(w: int, h: int, cores: list[Box], reach: int) -> np.ndarray:
    """A scrim's coverage shaped to a text block: full over ``cores`` (boxes relative to
    the ``w`` x ``h`` box, e.g. each line's padded ink and the gaps between them), falling
    off outside them as a smoothstep of the distance to the nearest one, to nothing
    ``reach`` px out. The tile is ``reach`` larger than the box on every side. No step
    anywhere: a blurred box kept at full strength inside dropped from 1 to 0.5 at its edge,
    a slab with a halo."""
    ys = np.arange(h + 2 * reach, dtype=F32)[:, None] + 0.5 - reach
    xs = np.arange(w + 2 * reach, dtype=F32)[None, :] + 0.5 - reach
    d2 = np.full((h + 2 * reach, w + 2 * reach), np.inf, dtype=F32)
    for cx, cy, cw, ch in cores:
        qx = np.maximum(np.abs(xs - (cx + cw / 2.0)) - cw / 2.0, 0)
        qy = np.maximum(np.abs(ys - (cy + ch / 2.0)) - ch / 2.0, 0)
        d2 = np.minimum(d2, qx * qx + qy * qy)
    s = np.clip(1.0 - np.sqrt(d2) / max(reach - 0.5, 0.5), 0.0, 1.0)  # nothing at the tile's edge
    return (s * s * (3.0 - 2.0 * s)).astype(F32)


def scrim(
    canvas: np.ndarray, box: Box, color: RGB, opacity: float, feather: float, mask: np.ndarray | None = None
) -> None:
    """Darken (or lighten) a box towards ``color`` with soft edges, behind a text group,
    dithered (``dither``). ``mask``: its ``scrim_mask``, when made already."""
    x, y, w, h = box
    pad = scrim_pad(feather)
    mask = scrim_mask(w, h, feather) if mask is None else mask
    wash(canvas, mask, (x - pad, y - pad), color, opacity)


def wash(canvas: np.ndarray, mask: np.ndarray, origin: tuple[int, int], color: RGB, opacity: float) -> None:
    """A gradient towards ``color`` through ``mask`` placed at ``origin``, dithered as a
    scrim is (``dither``): its long soft ramp stays a ramp in 8 bits."""
    region = _clipped(canvas, mask, origin)
    if region is None:
        return
    before = canvas[region].copy()
    fill(canvas, mask, origin, color, opacity)
    dither(canvas, region, before)


DITHER_SEED = 0x5C41  # one fixed pattern: a poster drawn twice is the same, byte for byte


def _clipped(canvas: np.ndarray, mask: np.ndarray, origin: tuple[int, int]) -> tuple[slice, slice] | None:
    """The part of ``canvas`` that ``mask`` placed at ``origin`` covers, or None."""
    ox, oy = origin
    h, w = mask.shape
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + w, W), min(oy + h, H)
    return (slice(y0, y1), slice(x0, x1)) if x1 > x0 and y1 > y0 else None


def dither(canvas: np.ndarray, region: tuple[slice, slice], before: np.ndarray) -> None:
    """Add a triangular dither of +-1 level to ``region`` of the canvas where a shape
    changed it from ``before``, ahead of the renderer's rounding to 8 bits. A scrim's soft
    edge over a smooth set climbs a few levels over tens of pixels; rounded as it was, it
    showed as bands (flat runs, then a 1-level step; the edge, averaged along it, up to 0.5
    level off its ramp). Dithered, each pixel stays within 1.5 levels of its exact value and
    the edge averages to it. The same noise in the three channels (a grey veil stays grey),
    at full strength where the shape moved the set by half a level or more, fading to none
    where it left it alone: the set round a veil is untouched."""
    after = canvas[region]
    moved = np.abs(after - before).max(axis=2)
    h, w = moved.shape
    rng = np.random.default_rng(DITHER_SEED)
    # the sum of two uniform [-0.5, 0.5) draws: triangular over (-1, 1), no pattern
    noise = rng.random((h, w), dtype=F32) + rng.random((h, w), dtype=F32) - F32(1.0)
    noise *= np.minimum(moved * F32(2.0), F32(1.0))
    after += channels(noise)


def arrow(size: int, stroke: float) -> np.ndarray:
    """A right-pointing arrow (shaft and head) as a ``size`` x ``size`` mask."""
    ss = 4
    big = np.zeros((size * ss, size * ss), dtype=np.uint8)
    t = max(1, round(stroke * ss))
    m = size * ss
    cy = m // 2
    x0, x1 = round(m * 0.08), round(m * 0.9)
    head = round(m * 0.32)
    cv2.line(big, (x0, cy), (x1, cy), 255, t, cv2.LINE_AA)
    cv2.line(big, (x1 - head, cy - head), (x1, cy), 255, t, cv2.LINE_AA)
    cv2.line(big, (x1 - head, cy + head), (x1, cy), 255, t, cv2.LINE_AA)
    small = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    return small.astype(F32) / 255.0
