"""Marks placed around the product and the text: ribbons, discount badges, timers.

A badge goes to the free spot nearest its product corner: inside the content box, off
the dilated product matte and clear of every element placed before it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache

import numpy as np

from generation.posters.geometry import Keepout
from generation.posters.slots import Content, Slot, TypeScale, font_style, overflow
from generation.posters.template import Template, Variant
from generation.types import Box
from generation.typography import TextBlock, TextDoesNotFit, TextStyle, layout_text


def ribbon_slots(
    template: Template, variant: Variant, style: str, words: Content, families: dict[str, str],
    unit: TypeScale, content: Box, canvas: tuple[int, int], short: int, safe_corner: bool,
) -> tuple[Slot, Slot]:  # fmt: skip
    cx, cy, cwid, chei = content
    lang = words.langs.get("ribbon", words.lang)
    if style == "corner":
        # a band across the canvas corner at 45 degrees; its label is set along the band
        band = round(0.064 * short)
        dist = round(0.14 * short)  # corner to the band's centre line, perpendicular
        room = round((2 * dist - band) * 0.8)  # the band's inner edge, less some air
        st = font_style(template.text["ribbon"], template, families, unit, align="center", max_lines=1)
        block = layout_text(words.ribbon, (room, round(band * 0.66)), st, lang=lang, ellipsis=unit.shorten)
        right = variant.ribbon.corner.endswith("right")
        reach = min(math.ceil(dist * math.sqrt(2) + band / math.sqrt(2)) + 1, canvas[0], canvas[1])
        box = (canvas[0] - reach, 0, reach, reach) if right else (0, 0, reach, reach)
        slot = Slot(
            "ribbon",
            "ribbon",
            box,
            role="ribbon_fill",
            extra={"style": "corner", "band": band, "dist": dist, "right": right},
        )
        c = dist * math.sqrt(2) / 2  # the centre line's midpoint, on both axes
        center = (canvas[0] - c if right else c, c)
        side = max(2, round(band * 0.6))  # an upright square that stays on the band
        sample = (round(center[0] - side / 2), round(center[1] - side / 2), side, side)
        label = Slot(
            "ribbon_label",
            "text",
            box,
            role="ribbon_text",
            text=words.ribbon,
            block=block,
            parent="ribbon",
            extra={"rotated": True, "center": center, "sample": sample, "right": right},
        )
        return slot, label
    st = font_style(template.text["ribbon"], template, families, unit, align="center", max_lines=1)
    if style == "band":
        block = layout_text(words.ribbon, (cwid, round(120 * unit)), st, lang=lang, ellipsis=unit.shorten)
        pad_y = round(block.size * 0.55)
        height = block.height + 2 * pad_y
        if safe_corner:
            box = (0, 0, canvas[0], height)  # full-bleed strip across the top
            keep = (0, 0, canvas[0], height + round(0.01 * short))
        else:
            box = (cx, cy, cwid, height)  # inside the safe area, as a rounded bar
            keep = box
        slot = Slot(
            "ribbon",
            "ribbon",
            box,
            role="ribbon_fill",
            extra={"style": "band", "radius": 0 if safe_corner else height // 4, "keepout": keep},
        )
        label = Slot(
            "ribbon_label",
            "text",
            box,
            role="ribbon_text",
            text=words.ribbon,
            block=block,
            valign="middle",
            parent="ribbon",
        )
        return slot, label
    # tag: a flag from the left edge with a notched end, at the top of the content box
    block = layout_text(
        words.ribbon, (round(cwid * 0.6), round(120 * unit)), st, lang=lang, ellipsis=unit.shorten
    )
    pad_x, pad_y = round(block.size * 0.9), round(block.size * 0.5)
    height = block.height + 2 * pad_y
    notch = round(height * 0.35)
    x0 = 0 if safe_corner else cx
    lead = cx - x0  # the bleed from the canvas edge to the content box
    width = lead + block.width + 2 * pad_x + notch
    right = variant.ribbon.corner.endswith("right")
    if right:
        x0 = canvas[0] - width if safe_corner else cx + cwid - width
    box = (x0, cy, width, height)
    label_x = x0 + (notch if right else lead) + pad_x
    label_box = (label_x, cy + pad_y, block.width, block.height)
    slot = Slot(
        "ribbon", "ribbon", box, role="ribbon_fill", extra={"style": "tag", "notch": notch, "right": right}
    )
    label = Slot(
        "ribbon_label", "text", label_box, role="ribbon_text", text=words.ribbon, block=block, parent="ribbon"
    )
    return slot, label


def badge_slots(
    template: Template, variant: Variant, words: Content, families: dict[str, str], unit: TypeScale,
    short: int, content: Box, product: Box, keepout: Keepout, obstacles: list[Box], gap: int,
) -> list[Slot]:  # fmt: skip
    shape = template.badge.shape
    lang = words.langs.get("badge", words.lang)
    d = round(variant.badge.size * short)
    if shape == "timer":
        return _timer_slots(
            template, variant, words, families, unit, short, content, product, keepout, obstacles, gap
        )
    st = font_style(template.text["badge"], template, families, unit, align="center")
    inner = round(d * (0.62 if shape != "rounded" else 0.8))
    block = None
    for _ in range(4):
        try:
            block = _badge_block(words.badge, (inner, round(inner * 0.8)), st, lang)
            break
        except TextDoesNotFit:
            d = round(d * 1.15)  # long badge text: a bigger badge before giving up
            inner = round(d * (0.62 if shape != "rounded" else 0.8))
    if block is None:
        if unit.shorten:
            return []  # the layout's last resort: no badge rather than no poster
        raise overflow(f"the badge text {words.badge!r} does not fit in its badge")
    spot = None
    for k in (1.0, 0.86, 0.74):  # a smaller badge before a smaller product
        blk = block if k == 1.0 else _scaled_block(words.badge, block, k, st, lang)
        if blk is None:
            break
        if shape == "rounded":
            bw, bh = max(round(d * k), blk.width + round(blk.size * 1.2)), blk.height + round(blk.size * 0.9)
        else:
            bw = bh = round(d * k)
        spot = _free_spot((bw, bh), variant.badge.attach, product, content, keepout, obstacles, gap)
        if spot is not None:
            block = blk
            break
    if spot is None:
        if unit.shorten:
            return []
        raise overflow(f"no free place for the badge {words.badge!r} in {template.id}")
    bx, by = spot
    box = (bx, by, bw, bh)
    label = (bx + (bw - block.width) // 2, by + (bh - block.height) // 2, block.width, block.height)
    return [
        Slot("badge", "badge", box, role="badge_fill", extra={"shape": shape}),
        Slot("badge_label", "text", label, role="badge_text", text=words.badge, block=block, parent="badge"),
    ]


def _badge_block(text: str, box: tuple[int, int], style: TextStyle, lang: str) -> TextBlock:
    """One line at nearly full size reads better on a badge than two ("6.7折", not "6.7/折")."""
    one_line = replace(style, max_lines=1, min_size=max(style.min_size, round(style.max_size * 0.78)))
    try:
        return layout_text(text, box, one_line, lang=lang)
    except TextDoesNotFit:
        return layout_text(text, box, style, lang=lang)


def _scaled_block(text: str, block: TextBlock, k: float, style: TextStyle, lang: str) -> TextBlock | None:
    size = max(style.min_size, round(block.size * k))
    try:
        return layout_text(
            text,
            (round(block.width * k) + 2, round(block.height * k) + 2),
            replace(style, max_size=size),
            lang=lang,
        )
    except TextDoesNotFit:
        return None


CAPTION_LEGIBLE = 1.3  # a countdown badge's caption at least this x the legible minimum


def _timer_slots(
    template: Template, variant: Variant, words: Content, families: dict[str, str], unit: TypeScale,
    short: int, content: Box, product: Box, keepout: Keepout, obstacles: list[Box], gap: int,
) -> list[Slot]:  # fmt: skip
    """A countdown-style badge: a small caption over the value in a dark rounded box."""
    lang = words.langs.get("badge", words.lang)
    st = font_style(template.text["badge"], template, families, unit, align="center", max_lines=1)
    # the caption reads beside its value: CAPTION_LEGIBLE x the legible minimum or more
    # (a link ad's 18 px minimum would set its 21 px x 0.87 caption at the minimum itself)
    cap_scale = max(
        1.0, math.ceil(CAPTION_LEGIBLE * unit.legible) / (template.text["badge_caption"].size * unit)
    )
    cap_st = font_style(
        template.text["badge_caption"], template, families, unit, align="center", max_lines=1, scale=cap_scale
    )
    max_w = round(0.5 * content[2])
    block = layout_text(words.badge, (max_w, round(200 * unit)), st, lang=lang, ellipsis=unit.shorten)
    caption = words.badge_caption
    cap = (
        layout_text(caption, (max_w, round(100 * unit)), cap_st, lang=words.langs.get("badge_caption", lang))
        if caption
        else None
    )
    pad_x, pad_y = round(block.size * 0.55), round(block.size * 0.42)
    inner_gap = round(block.size * 0.22) if cap else 0
    bw = max(block.width, cap.width if cap else 0) + 2 * pad_x
    bh = block.height + (cap.height + inner_gap if cap else 0) + 2 * pad_y
    spot = _free_spot((bw, bh), variant.badge.attach, product, content, keepout, obstacles, gap)
    if spot is None:
        if unit.shorten:
            return []
        raise overflow(f"no free place for the badge {words.badge!r} in {template.id}")
    bx, by = spot
    slots = [
        Slot(
            "badge",
            "badge",
            (bx, by, bw, bh),
            role="badge_fill",
            extra={"shape": "timer", "radius": round(block.size * 0.3)},
        )
    ]
    y = by + pad_y
    if cap is not None:
        slots.append(
            Slot(
                "badge_caption",
                "text",
                (bx + (bw - cap.width) // 2, y, cap.width, cap.height),
                role="badge_caption",
                text=caption,
                block=cap,
                parent="badge",
            )
        )
        y += cap.height + inner_gap
    slots.append(
        Slot(
            "badge_label",
            "text",
            (bx + (bw - block.width) // 2, y, block.width, block.height),
            role="badge_text",
            text=words.badge,
            block=block,
            parent="badge",
        )
    )
    return slots


def _free_spot(
    size: tuple[int, int], attach: str, product: Box, content: Box, keepout: Keepout,
    obstacles: list[Box], gap: int,
) -> tuple[int, int] | None:  # fmt: skip
    """Top-left corner for a ``size`` box nearest to the product's ``attach`` point that
    stays inside the content box, off the dilated matte and clear of other elements.

    Candidates lie on rings of centres around the attach point, nearest ring first and
    in angle order within a ring; the first that is free wins. All of them are tested at
    once (the matte through its summed-area table), with the same arithmetic as one by
    one."""
    bw, bh = size
    px, py, pw, ph = product
    ax = {"left": px, "right": px + pw}.get(attach.split("_")[-1], px + pw / 2)
    ay = py if attach.startswith("top") else py + ph if attach.startswith("bottom") else py + ph * 0.25
    if attach == "top":
        ax = px + pw / 2
    cx0, cy0, cw, chh = content
    step = max(4, round(min(bw, bh) * 0.12))
    r, cos, sin = _rings(step)
    x = np.rint(ax + r * cos - bw / 2).astype(np.int64)
    y = np.rint(ay - r * sin - bh / 2).astype(np.int64)
    ok = (x >= cx0) & (y >= cy0) & (x + bw <= cx0 + cw) & (y + bh <= cy0 + chh)
    pad = gap // 2
    for ox, oy, ow, oh in obstacles:  # ``intersects(box, ob, pad)``, for every box at once
        ok &= ~((x < ox + ow + pad) & (ox < x + bw + pad) & (y < oy + oh + pad) & (oy < y + bh + pad))
    first = keepout.first_clear(x, y, bw, bh, ok)
    return None if first is None else (int(x[first]), int(y[first]))


def _ring_angles() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ring, cos, sin) of ``_free_spot``'s candidate centres, in its order: 40 rings, at
    least 8 angles on each but the first. The ring ``ring`` lies ``ring * step`` from the
    attach point and holds ``int(2 pi ring)`` angles whatever the step, so the angles are
    the same for every badge: worked out once."""
    rings: list[int] = []
    angles: list[float] = []
    for ring in range(0, 40):
        n = 1 if ring == 0 else max(8, int(2 * math.pi * ring))
        rings += [ring] * n
        angles += [2 * math.pi * k / n for k in range(n)]
    out = (
        np.array(rings, dtype=np.int64),
        np.array([math.cos(a) for a in angles]),
        np.array([math.sin(a) for a in angles]),
    )
    for a in out:
        a.setflags(write=False)
    return out


_RING, _RING_COS, _RING_SIN = _ring_angles()


@lru_cache(maxsize=64)
def _rings(step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(radius, cos, sin) of ``_free_spot``'s candidate centres at ``step``, in its order:
    40 rings ``step`` apart (``_ring_angles``)."""
    radius = (_RING * step).astype(np.float64)
    radius.setflags(write=False)
    return radius, _RING_COS, _RING_SIN
