"""Where a clip's product and text stand: clear of the platform's UI, and balanced.

The part of the frame a platform's UI leaves clear is the posters' rule
(``generation.safe_zones.content_box``: the preset's zone, 9:16 stories, reels, TikTok
and Douyin, plus a margin), cut to the clip's framing margin on every side. In it:

- ``clip_layout``: the scene text's band and the product at its closest in the move, one
  above the other and centred together in the clear area, so neither a wall nor a gap is
  left empty between them; the product at rest is that box shrunk about its centre by the
  style's zoom, so the move ends framed on the product, still clear of the UI and the text.
  The product's size is also a share of the safe area's (``fitted_size``: by area), so a
  wide box reads on a tall frame as a tall bottle does. A finished scene's product keeps
  its size and place in the scene, moved (and made smaller) only as far as the frame needs.
- ``end_card_layout``: the title, the product and the price, compare-at price and call to
  action stacked and centred together in the clear area (landscape: the product on the
  left, the words in a column on the right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from generation.clips.spec import presets_data
from generation.errors import InvalidSpec
from generation.safe_zones import Insets, content_box, safe_box

Rect = tuple[float, float, float, float]  # x, y, w, h

# scene text heights (share of the frame's height), in the order they stack
SCENE_TEXT_SHARES = {"headline": 0.11, "price": 0.07, "cta": 0.05}
TEXT_GAP = 0.015  # between stacked scene texts, share of the frame's height
# on a frame wider than tall, the scene texts' heights are shares of this share of its
# width (``scene_type_unit``); a square's, a portrait's and a story's of their height
WIDE_TYPE_UNIT = 0.72
PRODUCT_GAP = 0.02  # between the text and the product's whole path, share of the frame's height
# end card rows below the product (share of the frame's height) and the gaps
END_ROW_SHARES = {"price": 0.075, "compare_at": 0.04}
# the end card's button: a share of the frame's shorter side, larger on a 9:16 frame as the
# title is (``end_card.title.tall_scale``); at 0.05 of the height it was 54 px tall on a
# square under a 107 px title, a tag rather than a button
END_CTA_SHARE = 0.09
END_ROW_GAP = 0.02
END_PRODUCT_GAP = 0.035
# between the price and the compare-at price on one row, share of the shorter side
END_PAIR_GAP = 0.015
# the end card's product is at most this share of the frame's width
END_PRODUCT_WIDTH = 0.75
# a landscape end card's product (beside its words) is at most this share of the clear
# area's height: as tall as that area, a vase took 0.93 of a 16:9 frame's height with the
# card's slow zoom, its foot and its shadow against the frame's edge and no room round it
END_LANDSCAPE_HEIGHT = 0.75
# the product at rest never takes more than this share of the clear area's width or height
MAX_PRODUCT_SHARE = 0.86


def clear_area(canvas: tuple[int, int], insets: Insets) -> Rect:
    """The area clear of the platform's UI (``insets``) by the posters' rule, and at least
    the framing margin (``presets.json`` ``framing.margin``, a share of each side) inside
    every edge."""
    cw, ch = canvas
    share = float(presets_data()["framing"]["margin"])
    x, y, w, h = content_box(canvas, insets, share * min(cw, ch))
    x0, y0 = max(float(x), share * cw), max(float(y), share * ch)
    x1, y1 = min(float(x + w), (1 - share) * cw), min(float(y + h), (1 - share) * ch)
    return (x0, y0, x1 - x0, y1 - y0)


def centred_columns(canvas: tuple[int, int], clear: Rect) -> tuple[float, float]:
    """(x, width) of the widest band of columns inside ``clear`` centred on the frame (words
    line up with the product, which stands in the middle)."""
    ax, _, aw, _ = clear
    half = max(min(canvas[0] / 2 - ax, ax + aw - canvas[0] / 2), 1.0)
    return (canvas[0] / 2 - half, 2 * half)


def scene_type_unit(canvas: tuple[int, int]) -> float:
    """Px the scene texts' heights are shares of (``SCENE_TEXT_SHARES``): the frame's
    height, and on a frame wider than tall ``WIDE_TYPE_UNIT`` of its width. A poster's
    type grows with the width its image is seen at (``posters.sizes`` ``type_scale``); by
    the height alone a 16:9 clip seen as wide as a story set its headline at 53 px of 1920
    (1.8 times the 29 px a poster that wide may carry at the least, a story's 5.9 times)
    and its button's label at 24 px, under it. ``WIDE_TYPE_UNIT`` is the most that leaves a
    tall (1:2.5) product under a headline a tenth of a 16:9 safe area."""
    cw, ch = canvas
    return max(float(ch), WIDE_TYPE_UNIT * cw)


def scene_text_height(keys: tuple[str, ...], canvas: tuple[int, int]) -> float:
    """Px the scene texts ``keys`` take stacked (headline, price, CTA; others ignored)."""
    shares = [SCENE_TEXT_SHARES[k] for k in SCENE_TEXT_SHARES if k in keys]
    if not shares:
        return 0.0
    return sum(shares) * scene_type_unit(canvas) + TEXT_GAP * (len(shares) - 1) * canvas[1]


def fitted_size(
    product_size: tuple[int, int], canvas: tuple[int, int], insets: Insets, fill: float
) -> tuple[float, float]:
    """The product's size (w, h px) before the move's room is taken into account: its
    longer side ``fill`` of the frame's matching side, or, when that is larger, its area
    ``fill`` squared of the safe area's (``sqrt(w * h) = fill * sqrt(safe_w * safe_h)``), and
    at most ``MAX_PRODUCT_SHARE`` of the clear area's width and height.

    By the longer side alone a wide product (a box, a pair of headphones lying down) was
    half a 9:16 frame wide and a tall one a fifth of a landscape frame; by area a 2:1
    product is about 0.85 of a story's clear width, and no product is smaller than before.
    """
    pw, ph = product_size
    if pw <= 0 or ph <= 0:
        raise InvalidSpec("the product has no pixels")
    cw, ch = canvas
    _, _, sw, sh = safe_box(canvas, insets)
    _, _, aw, ah = clear_area(canvas, insets)
    scale = max(fill * min(cw / pw, ch / ph), fill * math.sqrt(sw * sh / (pw * ph)))
    scale = min(scale, MAX_PRODUCT_SHARE * aw / pw, MAX_PRODUCT_SHARE * ah / ph)
    return (pw * scale, ph * scale)


@dataclass(frozen=True)
class ClipLayout:
    canvas: tuple[int, int]
    clear: Rect  # the area clear of the platform's UI and the margins
    text: Rect | None  # the scene text's band, just above the product's whole path
    frame: Rect  # where the product may go in the move: the clear area below the text
    rest_box: Rect  # the product at rest
    below: float = 0.0  # the set under the product's foot kept in frame, a share of its height


def clip_layout(
    canvas: tuple[int, int],
    insets: Insets,
    product_size: tuple[int, int],
    *,
    fill: float,
    text_height: float,
    zoom: float,
    scene_box: Rect | None = None,
    below: float = 0.0,
) -> ClipLayout:
    """The product at rest and the band its scene text takes (``text_height`` px), for a
    move that shows the product up to ``zoom`` times its rest size about its centre.

    The product is as large as ``fill`` asks (``fitted_size``), smaller when it would not
    fit the clear area below the text at its closest. ``scene_box`` (canvas px) is where a
    finished scene has the product when it covers the frame: the product keeps that size and
    place, made smaller and moved only as far as it must to stand below the text at its
    closest, clear of the UI (the scene is then framed round it, ``worlds.overscan``).
    ``below`` (a share of the product's height) is what the set shows under the product's
    foot that the frame keeps whole, a podium's front (``sets.podium_reach``): it stands
    under the product inside the framing margin (in a platform's UI band if need be: it is
    the set, not the product or a word), the product made smaller and standing higher for
    it where the frame has no room for it below the clear area.
    """
    cw, ch = canvas
    clear = clear_area(canvas, insets)
    ax, ay, aw, ah = clear
    gap = PRODUCT_GAP * ch if text_height > 0 else 0.0
    if scene_box is not None:
        fw, fh = scene_box[2], scene_box[3]
    else:
        fw, fh = fitted_size(product_size, canvas, insets, fill)
    zoom = max(zoom, 1.0)
    below = max(below, 0.0) if scene_box is None else 0.0
    lowest_row = (1 - float(presets_data()["framing"]["margin"])) * ch  # the framing margin's
    room = ah - text_height - gap
    k = min(
        1.0, room / (fh * zoom), (room + lowest_row - ay - ah) / (fh * zoom * (1.0 + below)), aw / (fw * zoom)
    )
    w, h = fw * k, fh * k
    closest = h * zoom
    under = below * closest  # the podium's front under the product at its closest
    half = w * zoom / 2
    if scene_box is None:  # the text and the product, centred together, its podium in frame
        cy = ay + (ah - text_height - gap - closest) / 2 + text_height + gap + closest / 2
        cy -= max(cy + closest / 2 + under - lowest_row, 0.0)
        cx = min(max(cw / 2, ax + half), ax + aw - half)
    else:  # where the scene has it, as near as the frame allows
        sx, sy, sw, sh = scene_box
        lowest = ay + ah - closest / 2
        cy = min(max(sy + sh / 2, lowest - (ah - text_height - gap - closest)), lowest)
        cx = min(max(sx + sw / 2, ax + half), ax + aw - half)
    top = cy - closest / 2 - gap - text_height
    text = (ax, top, aw, text_height) if text_height > 0 else None
    frame_top = top + text_height + gap if text is not None else ay
    return ClipLayout(
        canvas=canvas,
        clear=clear,
        text=text,
        frame=(ax, frame_top, aw, min(ay + ah, lowest_row - under) - frame_top),
        rest_box=(cx - w / 2, cy - h / 2, w, h),
        below=below,
    )


def end_row_height(key: str, canvas: tuple[int, int]) -> float:
    """Px the end card's row ``key`` (price, compare_at, cta) takes: a share of the frame's
    shorter side, larger on a 9:16 frame, as the title's type is (by the height, a story's
    price row was 144 px, its type larger than the title's, and the product had a quarter
    of the height)."""
    cw, ch = canvas
    tall = float(presets_data()["end_card"]["title"]["tall_scale"]) if ch / cw > 1.6 else 1.0
    share = END_CTA_SHARE if key == "cta" else END_ROW_SHARES[key]
    return share * min(cw, ch) * tall


@dataclass(frozen=True)
class EndCardLayout:
    product_box: Rect
    rects: dict[str, Rect]  # each text's box: title or logo, price, compare_at, cta


def end_card_layout(
    canvas: tuple[int, int],
    insets: Insets,
    aspect: float,
    *,
    top: tuple[str, float] | None,
    below: tuple[str, ...],
    top_room: float = 0.0,
    bottom_room: float = 0.0,
    beside: tuple[float, float] | None = None,
) -> EndCardLayout:
    """The product (``aspect`` = width / height) and the card's words, clear of the UI.

    ``top`` is the title or logo over the product with its height in px (the title as
    tall as its lines fitted to the card's column); ``below`` the rows under it (price,
    compare_at, cta: ``end_row_height``). ``top_room`` and ``bottom_room``: px kept
    free at the top and the foot of the clear area (for the title's slide down into place
    and the button's rise). ``beside`` (px: the price's and the compare-at price's widths
    as set) stands the compare-at price on the price's row, right of it, the pair centred,
    on a frame taller than wide: a row less, the product's room.
    """
    cw, ch = canvas
    ax, ay, aw, ah = clear_area(canvas, insets)
    ay, ah = ay + top_room, ah - top_room - bottom_room
    rows = [(k, end_row_height(k, canvas)) for k in below]
    if cw > ch * 1.2:  # landscape: the product on the left, one column of words on the right
        col_x, col_w = 0.54 * cw, min(0.4 * cw, ax + aw - 0.54 * cw)
        stack = ([top] if top else []) + [(k, v if k == "cta" else 1.3 * v) for k, v in rows]
        gap = 0.03 * ch
        total = sum(v for _, v in stack) + gap * max(len(stack) - 1, 0)
        y = ay + (ah - total) / 2
        rects: dict[str, Rect] = {}
        for key, height in stack:
            rects[key] = (col_x, y, col_w, height)
            y += height + gap
        rx, ry, rw, rh = (max(ax, 0.06 * cw), ay, 0.42 * cw, ah)
        ph = min(END_LANDSCAPE_HEIGHT * rh, rw / aspect)
        pw = ph * aspect
        return EndCardLayout((rx + (rw - pw) / 2, ry + (rh - ph) / 2, pw, ph), rects)
    pair = beside is not None and "price" in below and "compare_at" in below
    if pair:
        rows = [(k, v) for k, v in rows if k != "compare_at"]
    title_h = top[1] if top else 0.0
    # the gaps by the shorter side, as the type is: by the height, a 9:16 card gave 200 px
    # of its 1920 to gaps and its product a fifth of the height
    unit = min(cw, ch)
    title_gap = 0.03 * unit if top else 0.0
    rows_h = sum(v for _, v in rows) + END_ROW_GAP * unit * max(len(rows) - 1, 0)
    rows_gap = END_PRODUCT_GAP * unit if rows else 0.0
    # the product as large as the room between the words allows, within the words' column
    # and END_PRODUCT_WIDTH of the frame's width (at 0.64 of it a wide mug had 0.28 of a
    # story's height)
    room = ah - title_h - title_gap - rows_h - rows_gap
    x, width = centred_columns(canvas, (ax, ay, aw, ah))
    ph = max(min(room, min(width, END_PRODUCT_WIDTH * cw) / aspect), 0.1 * ch)
    pw = ph * aspect
    y = ay + max((ah - (title_h + title_gap + ph + rows_gap + rows_h)) / 2, 0.0)
    rects = {}
    if top:
        rects[top[0]] = (x, y, width, title_h)
        y += title_h + title_gap
    product = (cw / 2 - pw / 2, y, pw, ph)
    y += ph + rows_gap
    for key, height in rows:
        rects[key] = (x, y, width, height)
        if key == "price" and pair and beside is not None:
            # the struck price right of the price, its foot near the price's (each type is
            # set in the middle of its box)
            wp, wc = beside
            gap = END_PAIR_GAP * unit
            left = cw / 2 - (wp + gap + wc) / 2
            low = end_row_height("compare_at", canvas)
            rects["price"] = (left, y, wp, height)
            rects["compare_at"] = (left + wp + gap, y + 0.9 * (height - low), wc, low)
        y += height + END_ROW_GAP * unit
    return EndCardLayout(product, rects)
