"""Drawing a laid-out poster: decorative shapes, buttons, badges, ribbons, plates and text."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from PIL import Image

from generation.posters import decor
from generation.posters.checks import (
    contrast_ratio,
    luminance,
)
from generation.posters.contrast import as_pixels, pad_box
from generation.posters.geometry import Keepout, box_hits
from generation.posters.palette import PAPER, Palette, deep
from generation.posters.slots import Slot
from generation.posters.spec import RGB
from generation.posters.template import Template
from generation.types import Box
from generation.typography import draw_text
from generation.typography.draw import paint_mask


def draw_shape(canvas: np.ndarray, shape: dict[str, Any], palette: Palette) -> None:
    color = palette.resolve(shape["fill"])
    if shape["kind"] == "panel":
        x, y, w, h = shape["box"]
        if w <= 0 or h <= 0:
            return
        if shape["radius"]:
            decor.fill(canvas, decor.rounded_rect(w, h, shape["radius"]), (x, y), color, shape["opacity"])
        else:
            decor.fill_rect(canvas, (x, y, w, h), color, shape["opacity"])
    else:
        cx, cy = shape["center"]
        r = shape["r"]
        decor.fill(canvas, decor.circle(2 * r), (cx - r, cy - r), color, shape["opacity"])


def draw_decoration(
    canvas: np.ndarray,
    slot: Slot,
    template: Template,
    palette: Palette,
    plans: dict[str, dict[str, Any]],
    short: int,
) -> None:
    x, y, w, h = slot.box
    color = palette.resolve(template.colors[slot.role]) if slot.role in template.colors else palette.brand
    # buttons and badges lift off the page on a soft shadow
    lift = functools.partial(
        decor.drop_shadow,
        offset=(0, max(1, round(0.006 * short))),
        blur=max(1.0, 0.012 * short),
        opacity=0.22,
    )
    if slot.kind == "pill":
        radius = slot.extra.get("radius", h // 2)
        style = slot.extra.get("style", "filled")
        if style == "link":
            return
        if style == "outline":
            label = plans.get(f"{slot.name}_label")
            stroke = slot.extra.get("border", 2)
            outer = decor.rounded_rect(w, h, radius)
            inner = np.zeros_like(outer)
            inner[stroke : h - stroke, stroke : w - stroke] = decor.rounded_rect(
                w - 2 * stroke, h - 2 * stroke, max(0, radius - stroke)
            )
            decor.fill(canvas, np.clip(outer - inner, 0, 1), (x, y), label["color"] if label else color)
            return
        mask = decor.rounded_rect(w, h, radius)
        if slot.name == "cta":
            lift(canvas, mask, (x, y))
        decor.fill(canvas, mask, (x, y), color)
    elif slot.kind == "badge":
        shape = slot.extra.get("shape", "circle")
        if shape == "burst":
            mask = decor.burst(w)
        elif shape == "circle":
            mask = decor.circle(w)
        else:
            mask = decor.rounded_rect(w, h, slot.extra.get("radius", round(0.22 * h)))
        lift(canvas, mask, (x, y))
        decor.fill(canvas, mask, (x, y), color)
        if shape == "circle":  # a fine inner ring, like a printed sticker
            ring = decor.ring(w - 2 * max(2, round(0.045 * w)), max(1.0, 0.012 * w))
            off = max(2, round(0.045 * w))
            decor.fill(canvas, ring, (x + off, y + off), palette.on(color), 0.55)
    elif slot.kind == "ribbon":
        style = slot.extra["style"]
        if style == "corner":
            mask, box = decor.corner_band(
                (canvas.shape[1], canvas.shape[0]),
                slot.extra["band"],
                slot.extra["dist"],
                right=slot.extra["right"],
            )
            lift(canvas, mask, box[:2], opacity=0.18)
            decor.fill(canvas, mask, box[:2], color)
        elif style == "band":
            mask = (
                decor.rounded_rect(w, h, slot.extra.get("radius", 0))
                if slot.extra.get("radius")
                else np.ones((h, w), np.float32)
            )
            decor.fill(canvas, mask, (x, y), color)
        else:
            mask = decor.tag(w, h, slot.extra["notch"], right=slot.extra["right"])
            decor.fill(canvas, mask, (x, y), color)
    elif slot.kind == "price_plate":
        mask = decor.price_tag(w, h, slot.extra["hole"])
        # the old price sits right under the tag, in its shadow: a lighter one leaves the
        # background under it calm (0.22 put 0.042 of busyness under a feed post's "$45")
        lift(canvas, mask, (x, y), opacity=0.14)
        decor.fill(canvas, mask, (x, y), color)
    elif slot.kind == "rule":
        decor.fill(canvas, decor.rounded_rect(w, h, h / 2), (x, y), color)


def logo_plate(
    canvas: np.ndarray,
    box: Box,
    logo: Image.Image,
    palette: Palette,
    short: int,
    keepout: np.ndarray | Keepout,
) -> Box | None:
    """A plate behind the logo when the logo would vanish into the background."""
    rgba = np.asarray(logo.convert("RGBA").resize(box[2:], Image.Resampling.BILINEAR), dtype=np.float32)
    opaque = rgba[..., 3] > 128
    if not opaque.any():
        return None
    logo_lum = float(np.median(luminance(rgba[..., :3][opaque])))
    x, y, w, h = box
    patch, _ = as_pixels(canvas, box)
    under = patch[opaque[: patch.shape[0], : patch.shape[1]]]
    bg_lum = float(np.median(luminance(under))) if len(under) else 1.0
    if contrast_ratio(logo_lum, bg_lum) >= 1.8:
        return None
    pad = max(4, round(0.18 * h))
    plate = pad_box(box, pad, canvas.shape)
    if box_hits(keepout, plate):
        return None
    color = PAPER if logo_lum < 0.4 else deep(palette.brand)
    px, py, pw, ph = plate
    decor.fill(canvas, decor.rounded_rect(pw, ph, min(pad, ph / 2)), (px, py), color, 0.92)
    return plate


def draw_text_slot(image: Image.Image, slot: Slot, plan: dict[str, Any], short: int) -> None:
    assert slot.block is not None
    color = plan["color"]
    if slot.extra.get("rotated"):
        _draw_rotated(image, slot, color)
        return
    x0, y0, x1, y1 = paint_mask(image, plan["mask"], slot.box[:2], color)
    if slot.strike and x1 > x0:
        thick = max(2, round(slot.block.size * 0.075))
        mid = y0 + (y1 - y0) * 0.52
        line = decor.rounded_rect(x1 - x0 + 2 * thick, thick, thick / 2)
        _fill_image(image, line, (x0 - thick, round(mid - thick / 2)), color)
    arrow = slot.extra.get("arrow", 0)
    if arrow and x1 > x0:
        size = round(slot.block.size * 0.8)
        mask = decor.arrow(size, max(1.5, slot.block.size * 0.09))
        ax = slot.box[0] + slot.block.width + round(slot.block.size * 0.35)
        ay = round((y0 + y1) / 2 - size / 2)
        _fill_image(image, mask, (ax, ay), color)


def _fill_image(image: Image.Image, mask: np.ndarray, origin: tuple[int, int], color: RGB) -> None:
    """``decor.fill`` on a PIL image, touching only the mask's own rectangle."""
    h, w = mask.shape
    x, y = origin
    box = (max(x, 0), max(y, 0), min(x + w, image.width), min(y + h, image.height))
    if box[2] <= box[0] or box[3] <= box[1]:
        return
    region = np.asarray(image.crop(box), dtype=np.float32).copy()
    decor.fill(region, mask, (x - box[0], y - box[1]), color)
    image.paste(Image.fromarray(np.clip(region + 0.5, 0, 255).astype(np.uint8), "RGB"), box[:2])


def _draw_rotated(image: Image.Image, slot: Slot, color: RGB) -> None:
    """A corner ribbon's label, set along the 45-degree band."""
    assert slot.block is not None
    block = slot.block
    pad = 4
    layer = Image.new("RGBA", (block.width + 2 * pad, block.height + 2 * pad), (0, 0, 0, 0))
    draw_text(layer, block, (pad, pad, block.width, block.height), (*color, 255))
    right = slot.extra.get("right", False)
    rotated = layer.rotate(-45 if right else 45, resample=Image.Resampling.BICUBIC, expand=True)
    cx, cy = slot.extra["center"]
    image.paste(rotated, (round(cx - rotated.width / 2), round(cy - rotated.height / 2)), rotated)
