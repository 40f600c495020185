"""Marks placed around the product and the text: ribbons, discount badges, timers.

A badge sits on its product's corner: the free spot nearest the corner the template
names, inside the content box, off the dilated product matte and clear of every element
placed before it, no farther from the corner than ``CORNER_REACH`` of its size. Where the
corner has no such spot, the other top (or bottom) corner is tried, then the badge at a
smaller size at each. A badge that fits at neither corner is never put elsewhere (among
the words): the layout gives it its corner and sets the words again clear of it, else
makes the product smaller, and as its last resort leaves the badge out. Once the
layout is done, the badge slides onto the product's visible corner where that is free
(``on_visible_corner``): the box's corner can be empty air (over a mug's handle).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import TypeVar

import cv2
import numpy as np

from generation.posters.geometry import Keepout
from generation.posters.slots import Content, Slot, TypeScale, font_style, overflow
from generation.posters.template import Template, Variant
from generation.types import Box
from generation.typography import TextBlock, TextDoesNotFit, TextStyle, layout_text

T = TypeVar("T")

# How far a badge's centre may lie from its product corner, in badge sizes (its longer
# side), past the keep-out's margin: beside a corner the product fills (a box, a mug) the
# badge clears the matte with its centre about half its size out; farther than this it
# reads as a mark of the words next to it, not of the product.
CORNER_REACH = 0.75
BADGE_SCALES = (1.0, 0.86, 0.74)  # a smaller badge, at either corner, before a smaller product
# How far a placed badge may slide toward its product's visible corner, in badge sizes,
# and the least it must come nearer the matte (px) for that
SLIDE = 0.5
SLIDE_GAIN = 2


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
    corners: tuple[str, ...] | None = None, scales: tuple[float, ...] = BADGE_SCALES,
) -> list[Slot] | None:  # fmt: skip
    """The badge's slots on the product's corner (``_corner_spot``), clear of
    ``obstacles``; None when neither corner has room for it at any of ``BADGE_SCALES``,
    [] when its words do not fit in it at the layout's last resort. ``corners`` names
    the corners tried (``badge_corners``), all of them by default."""
    shape = template.badge.shape
    lang = words.langs.get("badge", words.lang)
    d = round(variant.badge.size * short)
    if shape == "timer":
        return _timer_slots(
            template, variant, words, families, unit, short, content, product, keepout, obstacles, gap,
            corners or badge_corners(variant), scales,
        )  # fmt: skip
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
    full = block
    made: dict[float, tuple[TextBlock, int, int] | None] = {}

    def at(k: float) -> tuple[TextBlock, int, int] | None:
        """The badge's words and size at ``k`` of its size (None: the words do not fit)."""
        if k not in made:
            blk = full if k == 1.0 else _scaled_block(words.badge, full, k, st, lang)
            if blk is None:
                made[k] = None
            elif shape == "rounded":
                made[k] = (
                    blk,
                    max(round(d * k), blk.width + round(blk.size * 1.2)),
                    blk.height + round(blk.size * 0.9),
                )
            else:
                made[k] = blk, round(d * k), round(d * k)
        return made[k]

    tried = corners or badge_corners(variant)
    found = _first_spot(
        lambda k: None if (got := at(k)) is None else (got[0], (got[1], got[2])),
        lambda size, pushed: _corner_spot(size, tried, product, content, keepout, obstacles, gap, pushed),
        scales,
    )
    if found is None:
        return None
    block, (bw, bh), (bx, by) = found
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
    corners: tuple[str, ...], scales: tuple[float, ...] = BADGE_SCALES,
) -> list[Slot] | None:  # fmt: skip
    """A countdown-style badge: a small caption over the value in a dark rounded box."""
    lang = words.langs.get("badge", words.lang)
    # the caption reads beside its value: CAPTION_LEGIBLE x the legible minimum or more
    # (a link ad's 18 px minimum would set its 21 px x 0.87 caption at the minimum itself)
    cap_floor = math.ceil(CAPTION_LEGIBLE * unit.legible) / (template.text["badge_caption"].size * unit)
    caption = words.badge_caption
    max_w = round(0.5 * content[2])
    made: dict[float, tuple[TextBlock, TextBlock | None] | None] = {}

    def at(k: float) -> tuple[TextBlock, TextBlock | None] | None:
        """The value's and the caption's blocks at ``k`` of their sizes (None: the
        smaller sizes are at the legible minimum already)."""
        if k not in made:
            st = font_style(
                template.text["badge"], template, families, unit, align="center", max_lines=1, scale=k
            )
            cap_st = font_style(
                template.text["badge_caption"], template, families, unit, align="center", max_lines=1,
                scale=max(k, cap_floor),
            )  # fmt: skip
            try:
                value = layout_text(
                    words.badge, (max_w, round(200 * unit)), st, lang=lang, ellipsis=unit.shorten
                )
                made[k] = (
                    value,
                    (
                        layout_text(
                            caption,
                            (max_w, round(100 * unit)),
                            cap_st,
                            lang=words.langs.get("badge_caption", lang),
                        )
                        if caption
                        else None
                    ),
                )
            except TextDoesNotFit:
                if k == 1.0:
                    raise
                made[k] = None
        return made[k]

    def sized(k: float) -> tuple[tuple[TextBlock, TextBlock | None], tuple[int, int]] | None:
        """The value's and caption's blocks at ``k`` and the box around them."""
        if (got := at(k)) is None:
            return None
        block, cap = got
        pad_x, pad_y = round(block.size * 0.55), round(block.size * 0.42)
        inner_gap = round(block.size * 0.22) if cap else 0
        bw = max(block.width, cap.width if cap else 0) + 2 * pad_x
        return got, (bw, block.height + (cap.height + inner_gap if cap else 0) + 2 * pad_y)

    found = _first_spot(
        sized,
        lambda size, pushed: _corner_spot(size, corners, product, content, keepout, obstacles, gap, pushed),
        scales,
    )
    if found is None:
        return None
    (block, cap), (bw, bh), (bx, by) = found
    pad_y, inner_gap = round(block.size * 0.42), round(block.size * 0.22) if cap else 0
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


def badge_corners(variant: Variant) -> tuple[str, ...]:
    """The product corners a badge may take, in order: the variant's, then the mirrored
    one (top right for top left)."""
    attach = variant.badge.attach
    return tuple(dict.fromkeys((attach, _MIRRORED.get(attach, attach))))


def _first_spot(
    sized: Callable[[float], tuple[T, tuple[int, int]] | None],
    place: Callable[[tuple[int, int], bool], tuple[int, int] | None],
    scales: tuple[float, ...] = BADGE_SCALES,
) -> tuple[T, tuple[int, int], tuple[int, int]] | None:
    """The first badge that ``place`` finds room for, with its size and top-left corner:
    every one of ``BADGE_SCALES`` (``sized`` gives what is drawn at that scale and its
    size; None ends the scales) on the corner's usual ring first, then each pushed inside
    the content box (``_corner_spot``'s ``pushed``); None when none has room."""
    for pushed in (False, True):
        for k in scales:
            got = sized(k)
            if got is None:
                break
            spot = place(got[1], pushed)
            if spot is not None:
                return got[0], got[1], spot
    return None


def _corner_spot(
    size: tuple[int, int], corners: tuple[str, ...], product: Box, content: Box, keepout: Keepout,
    obstacles: list[Box], gap: int, pushed: bool = False,
) -> tuple[int, int] | None:  # fmt: skip
    """Top-left corner for a ``size`` box on the first of the product's ``corners`` that
    has room, within ``CORNER_REACH`` of the badge's size (past the keep-out's margin) of
    that corner; None when none has room. With ``pushed``, ``_free_spot``'s candidates
    pushed into the content box: the badge's callers try them only once no scale found a
    place among the others."""
    reach = CORNER_REACH * max(size) + keepout.reach
    for corner in corners:
        spot = _free_spot(size, corner, product, content, keepout, obstacles, gap, reach, pushed)
        if spot is not None:
            return spot
    return None


_MIRRORED = {
    "top_left": "top_right", "top_right": "top_left", "bottom_left": "bottom_right",
    "bottom_right": "bottom_left", "left": "right", "right": "left",
}  # fmt: skip


def _free_spot(
    size: tuple[int, int], attach: str, product: Box, content: Box, keepout: Keepout,
    obstacles: list[Box], gap: int, reach: float = math.inf, pushed: bool = False,
) -> tuple[int, int] | None:  # fmt: skip
    """Top-left corner for a ``size`` box nearest to the product's ``attach`` point that
    stays inside the content box, off the dilated matte and clear of other elements,
    with its centre no farther than ``reach`` px from the point. With ``pushed``, the
    candidates are moved into the content box first and tried nearest first: a product
    as wide as the content box (a wide one on a story) leaves its corner's badge room
    only over it, against the content's edge, where no ring's candidate need fall (a
    238 px badge clears the matte 179 px from the corner, within its 193 px reach, where
    the rings lie 174 and 203 px from it).

    Candidates lie on rings of centres around the attach point, nearest ring first and
    in angle order within a ring; the first that is free wins. All of them are tested at
    once (the matte through its summed-area table), with the same arithmetic as one by
    one."""
    bw, bh = size
    ax, ay = _attach_point(attach, product)
    cx0, cy0, cw, chh = content
    step = max(4, round(min(bw, bh) * 0.12))
    r, cos, sin = _rings(step)
    x = np.rint(ax + r * cos - bw / 2).astype(np.int64)
    y = np.rint(ay - r * sin - bh / 2).astype(np.int64)
    pad = gap // 2

    def clear(x: np.ndarray, y: np.ndarray, ok: np.ndarray) -> int | None:
        for ox, oy, ow, oh in obstacles:  # ``intersects(box, ob, pad)``, for every box at once
            ok &= ~((x < ox + ow + pad) & (ox < x + bw + pad) & (y < oy + oh + pad) & (oy < y + bh + pad))
        return keepout.first_clear(x, y, bw, bh, ok)

    if not pushed:
        inside = (x >= cx0) & (y >= cy0) & (x + bw <= cx0 + cw) & (y + bh <= cy0 + chh)
        first = clear(x, y, inside & (r <= reach))
        return None if first is None else (int(x[first]), int(y[first]))
    x = np.clip(x, cx0, cx0 + cw - bw)
    y = np.clip(y, cy0, cy0 + chh - bh)
    dist = np.hypot(x + bw / 2 - ax, y + bh / 2 - ay)
    order = np.argsort(dist, kind="stable")
    x, y, dist = x[order], y[order], dist[order]
    first = clear(x, y, (dist <= reach) & (x >= cx0) & (y >= cy0))
    return None if first is None else (int(x[first]), int(y[first]))


def _attach_point(attach: str, product: Box) -> tuple[float, float]:
    """The point of the product's box a badge at ``attach`` is placed around."""
    px, py, pw, ph = product
    ax = {"left": px, "right": px + pw}.get(attach.split("_")[-1], px + pw / 2)
    ay = py if attach.startswith("top") else py + ph if attach.startswith("bottom") else py + ph * 0.25
    if attach == "top":
        ax = px + pw / 2
    return ax, ay


def on_visible_corner(
    slots: list[Slot], corners: tuple[str, ...], product: Box, content: Box, keepout: Keepout,
    obstacles: list[Box], gap: int,
) -> list[Slot]:  # fmt: skip
    """``slots`` with the badge's (the badge and the slots inside it) slid onto the
    product's visible corner: the product's box corner it was placed around can be empty
    air (above a mug's handle, beside a carton's gable), so the badge moves, by at most
    ``SLIDE`` of its size, to the spot nearest the matte's pixels in that corner's part
    of the box (its drawn disc for a round badge, its box for the others), nearest
    where it was among spots as near. It stays inside the content box, off the dilated
    matte and half the layout's ``gap`` clear of ``obstacles``, as where it was placed;
    it stays put where that gains under ``SLIDE_GAIN`` px, or where it was not clear by
    that test itself. The other elements are not moved: no word is set again for it."""
    badge = next((s for s in slots if s.kind == "badge"), None)
    if badge is None:
        return slots
    x0, y0, bw, bh = badge.box
    reach = round(SLIDE * max(bw, bh))
    # the corner it took: the attach point nearest its centre
    centre = (x0 + bw / 2, y0 + bh / 2)
    corner = min(corners, key=lambda c: math.dist(_attach_point(c, product), centre))
    px, py, pw, ph = product
    side = corner.split("_")
    qx0 = px + pw // 2 if "right" in side else px
    qx1 = px + pw // 2 if "left" in side else px + pw
    qy0 = py + ph // 2 if "bottom" in side else py
    qy1 = py + ph // 2 if "top" in side else py + ph
    # the window: every box the badge may slide to, and that corner's part of the box
    W, H = keepout.canvas
    wx0, wy0 = max(min(x0 - reach, qx0), 0), max(min(y0 - reach, qy0), 0)
    wx1, wy1 = min(max(x0 + bw + reach, qx1), W), min(max(y0 + bh + reach, qy1), H)
    matte, mx, my = keepout.matte()
    near = np.zeros((wy1 - wy0, wx1 - wx0), dtype=bool)
    ix0, iy0 = max(qx0, mx, wx0), max(qy0, my, wy0)
    ix1, iy1 = min(qx1, mx + matte.shape[1], wx1), min(qy1, my + matte.shape[0], wy1)
    if ix1 <= ix0 or iy1 <= iy0:
        return slots
    near[iy0 - wy0 : iy1 - wy0, ix0 - wx0 : ix1 - wx0] = matte[iy0 - my : iy1 - my, ix0 - mx : ix1 - mx]
    if not near.any():
        return slots
    # each pixel's distance to the nearest of those matte pixels
    far = cv2.distanceTransform((~near).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    dx, dy = dx.ravel(), dy.ravel()
    x, y = x0 + dx, y0 + dy
    cx0, cy0, cw, ch = content  # inside it, so inside the window too
    inside = (x >= cx0) & (y >= cy0) & (x + bw <= cx0 + cw) & (y + bh <= cy0 + ch)
    inside &= np.hypot(dx, dy) <= reach
    x, y, dx, dy = x[inside], y[inside], dx[inside], dy[inside]
    if badge.extra.get("shape") in ("circle", "burst"):
        # a round badge: its disc's distance, from its centre
        score = far[y + bh // 2 - wy0, x + bw // 2 - wx0] - min(bw, bh) / 2
    else:
        # the box's distance: the least over it (the eroded field at its top-left)
        least = cv2.erode(
            far, np.ones((bh, bw), np.uint8), anchor=(0, 0),
            borderType=cv2.BORDER_CONSTANT, borderValue=float(far.max()),
        )  # fmt: skip
        score = least[y - wy0, x - wx0]
    pad = gap // 2
    ok = np.ones(x.shape, dtype=bool)
    for ox, oy, ow, oh in obstacles:  # ``_free_spot``'s test, for every box at once
        ok &= ~((x < ox + ow + pad) & (ox < x + bw + pad) & (y < oy + oh + pad) & (oy < y + bh + pad))
    here = np.flatnonzero((dx == 0) & (dy == 0))
    if len(here) == 0 or not ok[here[0]] or keepout.hits(badge.box):
        return slots
    # nearest the matte to the whole px, then the shortest slide
    order = np.lexsort((np.hypot(dx, dy), np.round(score)))
    first = keepout.first_clear(x[order], y[order], bw, bh, ok[order])
    if first is None:
        return slots
    best = order[first]
    if score[best] > score[here[0]] - SLIDE_GAIN:
        return slots
    by, bx = int(dy[best]), int(dx[best])
    return [
        replace(s, box=(s.box[0] + bx, s.box[1] + by, s.box[2], s.box[3]))
        if s is badge or s.parent == "badge"
        else s
        for s in slots
    ]


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
