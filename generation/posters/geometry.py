"""Box arithmetic for layouts and checks: edges, regions, obstacles, the product keep-out."""

from __future__ import annotations

from collections.abc import Callable

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


class Keepout:
    """``product_keepout`` of the product at ``box``, made only as far as it is asked.

    Whether a box touches the keep-out (``hits``, what a layout's tries and the checks
    ask) is answered from the matte: a box touches it exactly when a matte pixel lies
    within the grown distance of one of its pixels, which only the matte near the box
    decides. The canvas-sized mask (``mask``, the same array ``product_keepout`` gives)
    is made on first use, for a badge's search over many places at once."""

    def __init__(
        self,
        alpha: Image.Image | Callable[[], Image.Image],
        box: Box,
        canvas: tuple[int, int],
        margin: int,
    ) -> None:
        # ``alpha`` may be a function giving it: made (resized) only when a box comes near
        self._alpha = alpha
        self.box, self.canvas, self.margin = box, canvas, margin
        self.reach = margin + 1 if margin > 0 else 0
        self._mask: np.ndarray | None = None
        self._matte: tuple[np.ndarray, int, int] | None = None
        # matte pixels ``hits`` may look at before it makes the mask instead (then
        # answered by slicing): about what the mask costs, so asking many boxes never
        # costs much more than making it
        x, y, w, h = box
        self._budget = (w + 2 * self.reach) * (h + 2 * self.reach)

    @property
    def alpha(self) -> Image.Image:
        if not isinstance(self._alpha, Image.Image):
            self._alpha = self._alpha()
        return self._alpha

    @property
    def shape(self) -> tuple[int, int]:
        return (self.canvas[1], self.canvas[0])

    def mask(self) -> np.ndarray:
        """The canvas-sized bool mask (``product_keepout``); made once, never modified."""
        if self._mask is None:
            self._mask = product_keepout(self.alpha, self.box, self.canvas, self.margin)
        return self._mask

    def matte(self) -> tuple[np.ndarray, int, int]:
        """The matte (alpha > 0) of the product box's part on the canvas, and its top-left."""
        return self._matte_on_canvas()

    def _matte_on_canvas(self) -> tuple[np.ndarray, int, int]:
        """The matte (alpha > 0) of the product box's part on the canvas, and its top-left."""
        if self._matte is None:
            x, y, w, h = self.box
            alpha = self.alpha
            a = np.asarray(alpha.resize((w, h), Image.Resampling.BILINEAR) if alpha.size != (w, h) else alpha)
            on = on_canvas(self.box, self.canvas)
            if on is None:
                self._matte = (np.zeros((0, 0), bool), max(x, 0), max(y, 0))
            else:
                x0, y0, x1, y1 = on
                self._matte = (a[y0 - y : y1 - y, x0 - x : x1 - x] > 0, x0, y0)
        return self._matte

    def hits(self, box: Box) -> bool:
        """``box_hits(self.mask(), box)``, from the matte near ``box``: a pixel is in the
        mask when the exact Euclidean distance to the nearest matte pixel is at most
        ``reach``, i.e. (whole pixels) when its squared distance is at most ``reach ** 2``;
        the nearest pixel of a box to a matte pixel is the matte pixel clamped into it."""
        if self._mask is not None:
            return box_hits(self._mask, box)
        on = on_canvas(box, self.canvas)
        if on is None:
            return False
        bx0, by0, bx1, by1 = on
        W, H = self.canvas
        r = self.reach
        # the product box's pixels on the canvas within reach of the box's rectangle: the
        # only matte pixels that can decide (none: no need for the matte at all)
        px, py, pw, ph = self.box
        qx0, qy0 = max(bx0 - r, px, 0), max(by0 - r, py, 0)
        qx1, qy1 = min(bx1 + r, px + pw, W), min(by1 + r, py + ph, H)
        if qx1 <= qx0 or qy1 <= qy0:
            return False
        self._budget -= (qx1 - qx0) * (qy1 - qy0)
        if self._budget < 0:
            return box_hits(self.mask(), box)
        return self._touches(on, (qx0, qy0, qx1, qy1))

    def _touches(self, on: tuple[int, int, int, int], near_box: tuple[int, int, int, int]) -> bool:
        """``hits`` for the box whose part on the canvas is ``on`` (x0, y0, x1, y1), from
        the matte pixels in ``near_box`` (the product box's part within reach of it)."""
        bx0, by0, bx1, by1 = on
        qx0, qy0, qx1, qy1 = near_box
        r = self.reach
        matte, mx, my = self._matte_on_canvas()
        near = matte[qy0 - my : qy1 - my, qx0 - mx : qx1 - mx]
        if not near.any():
            return False
        ix0, iy0, ix1, iy1 = max(bx0, qx0), max(by0, qy0), min(bx1, qx1), min(by1, qy1)
        if ix1 > ix0 and iy1 > iy0 and near[iy0 - qy0 : iy1 - qy0, ix0 - qx0 : ix1 - qx0].any():
            return True  # the matte itself inside the box
        qx, qy = np.arange(qx0, qx1), np.arange(qy0, qy1)
        dx = np.maximum(np.maximum(bx0 - qx, qx - (bx1 - 1)), 0)
        dy = np.maximum(np.maximum(by0 - qy, qy - (by1 - 1)), 0)
        return bool((near & (dy[:, None] ** 2 + dx[None, :] ** 2 <= r * r)).any())

    def first_clear(self, x: np.ndarray, y: np.ndarray, w: int, h: int, ok: np.ndarray) -> int | None:
        """Index of the first box (``x[i]``, ``y[i]``, ``w``, ``h``) with ``ok[i]`` that
        does not touch the keep-out (``hits``), None if every one does.

        Once the mask is made it is asked (``boxes_hit``). Before, the matte is: a matte
        pixel within ``reach`` of a box lies level with it (in the box grown by ``reach``
        sideways), above or below it (grown up and down), or off one of its corners. The
        first two are counted for every box at once in a summed-area table of the matte;
        only the boxes neither touches are tested one by one, in order, each exactly as
        ``hits`` tests it, until one is clear: the same answer as the mask gives, without
        the distance transform over the whole product box that makes it."""
        if self._mask is not None:
            free = ok & ~boxes_hit(self._mask, x, y, w, h)
        else:
            W, H = self.canvas
            r = self.reach
            bx0, bx1 = np.clip(x, 0, W), np.clip(x + w, 0, W)
            by0, by1 = np.clip(y, 0, H), np.clip(y + h, 0, H)
            on = (bx1 > bx0) & (by1 > by0)
            matte, mx, my = self._matte_on_canvas()
            mh, mw = matte.shape
            if mh == 0 or mw == 0 or not matte.any():
                free = ok
            else:
                sums = cv2.integral(matte.view(np.uint8), sdepth=cv2.CV_32S)

                def count(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
                    # matte pixels in [x0, x1) x [y0, y1), canvas coordinates
                    x0, x1 = np.clip(x0 - mx, 0, mw), np.clip(x1 - mx, 0, mw)
                    y0, y1 = np.clip(y0 - my, 0, mh), np.clip(y1 - my, 0, mh)
                    return sums[y1, x1] - sums[y0, x1] - sums[y1, x0] + sums[y0, x0]

                level = count(bx0 - r, by0, bx1 + r, by1) > 0
                over = count(bx0, by0 - r, bx1, by1 + r) > 0
                maybe = np.flatnonzero(ok & (~on | ~(level | over)))
                px, py, pw, ph = self.box
                for i in maybe:
                    if not on[i]:
                        return int(i)
                    box_on = (int(bx0[i]), int(by0[i]), int(bx1[i]), int(by1[i]))
                    near = (
                        max(box_on[0] - r, px, 0), max(box_on[1] - r, py, 0),
                        min(box_on[2] + r, px + pw, W), min(box_on[3] + r, py + ph, H),
                    )  # fmt: skip
                    if near[2] <= near[0] or near[3] <= near[1] or not self._touches(box_on, near):
                        return int(i)
                return None
        first = int(np.argmax(free))
        return first if free[first] else None


def as_mask(keepout: np.ndarray | Keepout) -> np.ndarray:
    """The canvas-sized bool mask of a keep-out given either way."""
    return keepout.mask() if isinstance(keepout, Keepout) else keepout


def box_hits(mask: np.ndarray | Keepout, box: Box) -> bool:
    if isinstance(mask, Keepout):
        return mask.hits(box)
    on = on_canvas(box, (mask.shape[1], mask.shape[0]))
    return on is not None and bool(mask[on[1] : on[3], on[0] : on[2]].any())


def on_canvas(box: Box, canvas: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The part of ``box`` (x, y, w, h) on a ``canvas`` (w, h) as (x0, y0, x1, y1), or
    None when nothing of it is."""
    x, y, w, h = box
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, canvas[0]), min(y + h, canvas[1])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


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
