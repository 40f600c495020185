"""The product in a clip: one master layer, its reference resampling per frame, exact paste.

The product is never drawn any other way than this:

1. ``make_master``: the merchant's cutout is resized ONCE (``compose.place_product``,
   Lanczos, exactly as stills are made) to the largest size it has anywhere in the clip.
2. ``reference_product``: for a frame, the master is resampled under a similarity
   ``X = s x + t`` (scale ``s <= 1`` and a sub-pixel translation; no rotation, no warp,
   no colour change) by ``cv2.warpAffine`` with bilinear interpolation on premultiplied
   RGBA, into the canvas region it covers. That result is THE reference for the frame.
3. ``paste_product``: where the reference's alpha is 255 its pixels are copied into the
   frame bit for bit; soft edges are composited "over" the background.

Why sub-pixel bilinear rather than resizing to a whole-pixel box each frame: a slow
camera move shifts the product a fraction of a pixel per frame. Snapping it to whole
pixels (and whole-pixel sizes, which also changes its aspect by up to a pixel) makes it
judder against a background that moves smoothly. Bilinear with a scale at most 1 (the
master is the largest size) only ever averages neighbouring product pixels, its weights
are positive and sum to one, so an opaque output pixel is made of opaque product pixels
only, and a still product (scale 1, whole-pixel offset) comes out bit-identical to the
master. Premultiplied alpha keeps the photo's old background out of the soft edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
from PIL import Image

from generation import compose
from generation.clips.motion import Similarity
from generation.errors import InvalidSpec

Box = tuple[int, int, int, int]  # x0, y0, x1, y1


@dataclass(frozen=True)
class ProductMaster:
    """The cutout after its one resize. ``premultiplied`` equals ``rgba`` where alpha is 255."""

    rgba: np.ndarray  # (h, w, 4) uint8, straight alpha
    premultiplied: np.ndarray  # (h, w, 4) uint8

    @property
    def size(self) -> tuple[int, int]:
        return (self.rgba.shape[1], self.rgba.shape[0])

    @cached_property
    def interior(self) -> Box | None:
        """A large box (x0, y0, x1, y1) of master pixels that are all opaque (alpha 255),
        or None: where a frame's reference is its own bytes whatever lies behind it."""
        return opaque_interior(self.rgba[..., 3])


def make_master(cutout: Image.Image, width: int) -> ProductMaster:
    """Resize the RGBA cutout once to ``width`` px wide (height keeps the aspect ratio)."""
    if cutout.mode != "RGBA":
        raise InvalidSpec("the cutout must be RGBA")
    cw, ch = cutout.size
    width = max(1, int(width))
    height = max(1, round(ch * width / cw))
    layer = compose.place_product(cutout, (width, height), (0, 0, width, height)).layer
    rgba = np.ascontiguousarray(np.asarray(layer.convert("RGBA")))
    return ProductMaster(rgba=rgba, premultiplied=premultiply(rgba))


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """uint8 premultiplied RGBA, rounded; pixels with alpha 255 are unchanged."""
    a = rgba[..., 3:4].astype(np.uint16)
    rgb = (rgba[..., :3].astype(np.uint16) * a + 127) // 255
    return np.concatenate([rgb.astype(np.uint8), rgba[..., 3:4]], axis=-1)


@dataclass(frozen=True)
class ProductLayer:
    """The reference product for one frame: premultiplied RGBA over a canvas region.
    ``interior``: a box of ``pixels`` (x0, y0, x1, y1) they should be opaque in all
    through (the master's interior, mapped), or None; ``paste_product`` checks it."""

    origin: tuple[int, int]  # canvas pixel of ``pixels[0, 0]``
    pixels: np.ndarray  # (h, w, 4) uint8 premultiplied
    interior: Box | None = None

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.origin[0], self.origin[1], self.pixels.shape[1], self.pixels.shape[0])

    @property
    def opaque(self) -> np.ndarray:
        return self.pixels[..., 3] == 255


def product_region(
    master_size: tuple[int, int], transform: Similarity, canvas: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Canvas pixels (x0, y0, x1, y1) the transformed master touches, clipped to the canvas."""
    x, y, w, h = transform.box((0.0, 0.0, float(master_size[0]), float(master_size[1])))
    x0, y0 = max(0, math.floor(x)), max(0, math.floor(y))
    x1, y1 = min(canvas[0], math.ceil(x + w)), min(canvas[1], math.ceil(y + h))
    return (x0, y0, max(x0, x1), max(y0, y1))


def reference_product(master: ProductMaster, transform: Similarity, canvas: tuple[int, int]) -> ProductLayer:
    """The product as it must appear in a frame: see the module docstring.

    ``transform`` maps master pixels to canvas pixels and must not enlarge (scale <= 1
    up to rounding), so no product pixel is ever invented by upsampling.
    """
    if transform.scale > 1.0 + 1e-6:
        raise InvalidSpec(f"the product may not be enlarged beyond its master (scale {transform.scale:.4f})")
    x0, y0, x1, y1 = product_region(master.size, transform, canvas)
    if x1 <= x0 or y1 <= y0:
        return ProductLayer(origin=(x0, y0), pixels=np.zeros((0, 0, 4), dtype=np.uint8))
    pixels = cv2.warpAffine(
        master.premultiplied,
        transform.matrix(origin=(x0, y0)),
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    return ProductLayer(
        origin=(x0, y0), pixels=pixels, interior=_mapped_interior(master, transform, (x0, y0))
    )


def _mapped_interior(master: ProductMaster, transform: Similarity, origin: tuple[int, int]) -> Box | None:
    """The layer's pixels (x0, y0, x1, y1 from ``origin``) whose bilinear samples all fall
    inside the master's opaque interior, a pixel to spare on each side (OpenCV rounds
    positions to 1/32 px): opaque, as their weights are positive and sum to one."""
    box = master.interior
    if box is None:
        return None
    s, ox, oy = transform.scale, origin[0], origin[1]
    # output pixel X samples the master at u = (X + 0.5 - t) / s - 0.5; u and u + 1 in
    # [a + 1, b - 2] keeps both taps and the spare pixel inside [a, b)
    x0 = math.ceil(s * (box[0] + 1.5) + transform.tx - 0.5) - ox
    y0 = math.ceil(s * (box[1] + 1.5) + transform.ty - 0.5) - oy
    x1 = math.floor(s * (box[2] - 2.5) + transform.tx - 0.5) + 1 - ox
    y1 = math.floor(s * (box[3] - 2.5) + transform.ty - 0.5) + 1 - oy
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def opaque_interior(alpha: np.ndarray, block: int = 8) -> Box | None:
    """The largest box (x0, y0, x1, y1) of whole ``block`` x ``block`` tiles of ``alpha``
    (H, W uint8) that are all 255, or None (the largest rectangle under a histogram of
    opaque tiles, row by row)."""
    h, w = alpha.shape[0] // block, alpha.shape[1] // block
    if h == 0 or w == 0:
        return None
    tiles = (alpha[: h * block, : w * block] == 255).reshape(h, block, w, block).all(axis=(1, 3))
    heights = [0] * w
    best, found = 0, None
    for row in range(h):
        opaque = tiles[row].tolist()
        heights = [height + 1 if o else 0 for height, o in zip(heights, opaque, strict=True)]
        stack: list[tuple[int, int]] = []  # (start column, height), heights rising
        for col, height in enumerate([*heights, 0]):
            start = col
            while stack and stack[-1][1] >= height:
                start, top = stack.pop()
                if top * (col - start) > best:
                    best, found = top * (col - start), (start, row + 1 - top, col, row + 1)
            stack.append((start, height))
    if found is None:
        return None
    return (found[0] * block, found[1] * block, found[2] * block, found[3] * block)


class Scratch:
    """Work images for ``paste_product`` and ``measure_product``, kept between frames and
    grown as needed: fresh temporaries the size of the product cost more in page faults
    than the arithmetic done in them."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A contiguous uint8 array of ``shape`` (contents undefined), reused by name."""
        n = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.size < n:
            buf = self._buffers[name] = np.empty(n, dtype=np.uint8)
        return buf[:n].reshape(shape)


def paste_product(
    frame: np.ndarray, layer: ProductLayer, scratch: Scratch | None = None
) -> np.ndarray | None:
    """Composite ``layer`` onto ``frame`` (H, W, 3 RGB or H, W, 4 RGBA uint8) in place.

    Soft pixels get ``fg + bg * (255 - a) / 255`` (premultiplied "over", rounded;
    transparent pixels come out as they were; an RGBA frame's alpha stays 255); then
    opaque pixels are copied from the reference, byte for byte. Returns the reference's
    opaque mask (255 where alpha is 255; None for an empty layer), a view into
    ``scratch`` when one is given.

    The layer's ``interior``, once found all opaque, is only copied: blending it first
    gave the bytes the copy overwrites.
    """
    h, w = layer.pixels.shape[:2]
    if h == 0 or w == 0:
        return None
    work = scratch or Scratch()
    x0, y0 = layer.origin
    region = frame[y0 : y0 + h, x0 : x0 + w]
    channels = frame.shape[2]
    fg = (
        layer.pixels
        if channels == 4
        else cv2.cvtColor(layer.pixels, cv2.COLOR_RGBA2RGB, dst=work.get("fg", (h, w, 3)))
    )
    alpha = cv2.extractChannel(layer.pixels, 3, dst=work.get("alpha", (h, w)))
    # cv2 takes a scalar operand; its stubs declare arrays only
    opaque = cv2.compare(alpha, 255, cv2.CMP_EQ, dst=work.get("opaque", (h, w)))  # type: ignore[call-overload]
    for bx0, by0, bx1, by1 in _around(_opaque_box(layer.interior, opaque), (w, h)):
        box = (slice(by0, by1), slice(bx0, bx1))
        bh, bw = by1 - by0, bx1 - bx0
        inv = cv2.bitwise_not(alpha[box], dst=work.get("inv", (bh, bw)))
        inv = cv2.merge([inv] * channels, dst=work.get("inv_c", (bh, bw, channels)))
        under = cv2.multiply(region[box], inv, dst=work.get("under", (bh, bw, channels)), scale=1.0 / 255.0)
        cv2.add(fg[box], under, dst=region[box])
    # the guarantee: opaque pixels are the reference's own bytes, whatever the arithmetic
    cv2.copyTo(fg, opaque, region)
    return opaque


def _opaque_box(box: Box | None, opaque: np.ndarray) -> Box | None:
    """``box`` clipped to the layer if all of it is opaque there, else None."""
    if box is None:
        return None
    h, w = opaque.shape
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
    if x1 <= x0 or y1 <= y0:
        return None
    inside = opaque[y0:y1, x0:x1]
    return (x0, y0, x1, y1) if cv2.countNonZero(inside) == inside.size else None


def _around(hole: Box | None, size: tuple[int, int]) -> list[Box]:
    """A (w, h) layer's box less ``hole``: the rows above and below it, the columns left
    and right of it (the whole box when there is no hole)."""
    w, h = size
    if hole is None:
        return [(0, 0, w, h)]
    x0, y0, x1, y1 = hole
    boxes = [(0, 0, w, y0), (0, y1, w, h), (0, y0, x0, y1), (x1, y0, w, y1)]
    return [b for b in boxes if b[2] > b[0] and b[3] > b[1]]


def measure_product(
    frame: np.ndarray,
    layer: ProductLayer,
    opaque: np.ndarray | None = None,
    scratch: Scratch | None = None,
) -> tuple[int, int]:
    """(max |frame - reference| over the channels where the reference is opaque, opaque
    count). ``opaque``: the reference's opaque mask when already at hand (what
    ``paste_product`` returns); computed from ``layer`` otherwise. An RGBA frame's
    alpha counts as a channel: it is 255 there, as the reference's is."""
    h, w = layer.pixels.shape[:2]
    if h == 0 or w == 0:
        return (0, 0)
    work = scratch or Scratch()
    x0, y0 = layer.origin
    if opaque is None:
        # cv2 takes a scalar operand; its stubs declare arrays only
        opaque = cv2.compare(cv2.extractChannel(layer.pixels, 3), 255, cv2.CMP_EQ)  # type: ignore[call-overload]
    count = cv2.countNonZero(opaque)
    if count == 0:
        return (0, 0)
    region = frame[y0 : y0 + h, x0 : x0 + w]
    c = frame.shape[2]
    if c == 4 and _same_where(region, layer.pixels, opaque, work):
        return (0, count)
    want = layer.pixels if c == 4 else cv2.cvtColor(layer.pixels, cv2.COLOR_RGBA2RGB)
    diff = cv2.absdiff(region, want, dst=work.get("diff", (h, w, c)))
    kept = work.get("kept", (h, w, c))
    kept.fill(0)
    cv2.copyTo(diff, opaque, kept)  # the differences where the reference is opaque, else 0
    return (int(cv2.minMaxLoc(kept.reshape(h, w * c))[1]), count)


def _same_where(a: np.ndarray, b: np.ndarray, mask: np.ndarray, work: Scratch) -> bool:
    """Whether (h, w, 4) uint8 ``a`` and ``b`` are the same bytes wherever ``mask`` is set:
    each pixel compared as one 32-bit word (a third of the work of the channel-wise
    difference, which is only needed to say by how much they differ)."""
    h, w = mask.shape
    differs = cv2.compare(_words(a), _words(b), cv2.CMP_NE, dst=work.get("differs", (h, w)))
    cv2.bitwise_and(differs, mask, dst=differs)
    return cv2.countNonZero(differs) == 0


def _words(pixels: np.ndarray) -> np.ndarray:
    """(h, w) int32 view of (h, w, 4) uint8 pixels whose rows are contiguous."""
    return pixels.view(np.int32)[..., 0]
