"""Text and logo on a clip: sprites laid out once, revealed with a fade and a slide.

Type is set by the shared typography module (``generation.typography``: line breaking,
CJK fallback, fitting, price formatting) through ``text_sprite``, the one function to
swap for another typesetter. Sprites are premultiplied RGBA drawn under the product
(the product is always pasted last), placed where the product never goes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from generation.clips.layout import (
    PRODUCT_GAP,
    SCENE_TEXT_SHARES,
    TEXT_GAP,
    EndCardLayout,
    centred_columns,
    scene_type_unit,
)
from generation.clips.product import premultiply
from generation.clips.spec import presets_data
from generation.errors import InvalidSpec
from generation.typography import TextDoesNotFit, TextStyle, draw_text, layout_text

F32 = np.float32
INK_DARK = (24, 24, 27)
INK_LIGHT = (255, 255, 255)
# a scene headline stays on one line down to this share of its largest size (a narrow 9:16
# column broke "Stays cold / for 24 hours" at the largest size); one that does not fit so
# takes two lines evened out, down to the minimum size
HEADLINE_ONE_LINE = 0.62
# the end card title takes fewer lines when that keeps at least this share of the size more
# lines would reach (``title_height``)
TITLE_FEWER_LINES = 0.8

# a button is at least this many times as wide as it is tall (a short "Buy" read as a tag)
BUTTON_MIN_ASPECT = 4.0

Rect = tuple[float, float, float, float]  # x, y, w, h


@dataclass(frozen=True)
class Sprite:
    key: str  # scene: headline (price, cta without an end card); end card: logo | title, price, cta
    pixels: np.ndarray  # (h, w, 4) uint8 premultiplied
    origin: tuple[int, int]  # canvas position of pixels[0, 0] once revealed
    # text only: what the per-frame checks measure (see ``generation.clips.checks``)
    ink: tuple[int, int, int] | None = None  # the type's colour (None: logo, button)
    size_px: int = 0  # font size
    weight: int = 700
    ink_box: tuple[int, int, int, int] | None = None  # the type's box inside ``pixels``
    backing: np.ndarray | None = None  # premultiplied plate drawn under the type, if any
    rect: tuple[float, float, float, float] | None = None  # the layout box it was set in

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.origin[0], self.origin[1], self.pixels.shape[1], self.pixels.shape[0])


# ---------------------------------------------------------------------------
# Setting type (the swappable part)


def _style(max_size: int, min_size: int, weight: int, max_lines: int) -> TextStyle:
    return TextStyle(
        family="inter",
        weight=weight,
        max_size=max(1, max_size),
        min_size=max(1, min(min_size, max_size)),
        align="center",
        max_lines=max_lines,
        line_height=1.12,
    )


def text_sprite(*args: object, **kwargs: object) -> np.ndarray:
    """``set_text`` without the font size."""
    return set_text(*args, **kwargs)[0]  # type: ignore[arg-type]


def set_text(
    text: str,
    box: tuple[int, int],
    *,
    color: tuple[int, int, int],
    max_size: int,
    min_size: int,
    weight: int = 700,
    max_lines: int = 2,
    lang: str | None = None,
    one_line_from: int | None = None,
) -> tuple[np.ndarray, int]:
    """``text`` set centred to fit ``box`` (w, h) px, as straight RGBA cropped to its ink,
    and the font size it was set at.

    ``one_line_from``: one line at the largest size from ``max_size`` down to this one if
    the text fits so; else up to ``max_lines`` (evened out) at the largest size that fits.
    Raises InvalidSpec when the text cannot fit at ``min_size``.
    """
    w, h = max(1, int(box[0])), max(1, int(box[1]))
    block = None
    if one_line_from is not None and max_lines > 1:
        try:
            one = _style(max_size, max(min_size, one_line_from), weight, 1)
            block = layout_text(text, (w, h), one, lang=lang)
        except TextDoesNotFit:
            block = None
    if block is None:
        style = _style(max_size, min_size, weight, max_lines)
        try:
            block = layout_text(text, (w, h), style, lang=lang)
        except TextDoesNotFit as exc:
            raise InvalidSpec(
                f"{text!r} does not fit a {w}x{h} px text box on this clip size: {exc}"
            ) from exc
    canvas = Image.new("RGBA", (w, h), (*color, 0))
    x0, y0, x1, y1 = draw_text(canvas, block, (0, 0, w, h), (*color, 255), valign="middle")
    if x1 <= x0 or y1 <= y0:
        return np.zeros((1, 1, 4), dtype=np.uint8), block.size
    return np.asarray(canvas.crop((x0, y0, x1, y1))), block.size


def shadow_radius(box_height: float) -> float:
    """The blur radius (px) of the soft shadow under type set in a box ``box_height`` px tall."""
    return max(1.5, box_height * 0.05)


def shadow_pad(radius: float) -> int:
    """Px the soft shadow of ``radius`` may reach past the type's ink on every side."""
    return int(math.ceil(radius * 2.5)) + 2


def _with_shadow(rgba: np.ndarray, *, radius: float, strength: float, dark: bool) -> tuple[np.ndarray, int]:
    """Straight RGBA with a soft shadow (or glow) under it, padded to hold the blur, and the padding."""
    pad = shadow_pad(radius)
    h, w = rgba.shape[:2]
    base = Image.new("RGBA", (w + 2 * pad, h + 2 * pad), (0, 0, 0, 0))
    alpha = Image.new("L", base.size, 0)
    alpha.paste(Image.fromarray(rgba[..., 3]), (pad, pad + max(1, round(radius * 0.4))))
    alpha = alpha.filter(ImageFilter.GaussianBlur(radius)).point(lambda v: int(v * strength))
    shade = (0, 0, 0) if dark else (255, 255, 255)
    base.paste(Image.new("RGBA", base.size, (*shade, 255)), (0, 0), alpha)
    base.alpha_composite(Image.fromarray(rgba, "RGBA"), dest=(pad, pad))
    return np.asarray(base), pad


def pill_sprite(
    text: str,
    box: tuple[int, int],
    *,
    fill: tuple[int, int, int],
    ink: tuple[int, int, int],
    lang: str | None,
) -> np.ndarray:
    """A rounded button with ``text`` centred in it, as straight RGBA."""
    w, h = int(box[0]), int(box[1])
    pad_x = int(h * 0.55)
    label = text_sprite(
        text,
        (max(1, w - 2 * pad_x), int(h * 0.62)),
        color=ink,
        max_size=int(h * 0.46),
        min_size=max(8, int(h * 0.26)),
        max_lines=1,
        lang=lang,
    )
    lw = label.shape[1]
    width = min(w, max(lw + 2 * pad_x, round(BUTTON_MIN_ASPECT * h)))
    # drawn at 3x and reduced: Pillow's rounded rectangles have no anti-aliasing
    big = Image.new("RGBA", (width * 3, h * 3), (*fill, 0))
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, width * 3 - 1, h * 3 - 1), radius=h * 3 // 2, fill=(*fill, 255)
    )
    pill = big.resize((width, h), Image.Resampling.LANCZOS)
    lh = label.shape[0]
    pill.alpha_composite(Image.fromarray(label, "RGBA"), dest=((width - lw) // 2, (h - lh) // 2))
    return np.asarray(pill)


def logo_sprite(logo: Image.Image, box: tuple[int, int]) -> np.ndarray:
    """The merchant's logo scaled (down only) to fit ``box``, as straight RGBA."""
    rgba = logo.convert("RGBA")
    scale = min(box[0] / rgba.width, box[1] / rgba.height, 1.0)
    size = (max(1, round(rgba.width * scale)), max(1, round(rgba.height * scale)))
    return np.asarray(rgba.resize(size, Image.Resampling.LANCZOS) if size != rgba.size else rgba)


# ---------------------------------------------------------------------------
# Layout


def ink_for(luma: float) -> tuple[int, int, int]:
    """Dark ink on light backgrounds, white on dark ones."""
    return INK_DARK if luma >= 150 else INK_LIGHT


def contrast_ink(fill: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = fill
    return INK_DARK if 0.299 * r + 0.587 * g + 0.114 * b >= 160 else INK_LIGHT


def title_size(canvas: tuple[int, int]) -> tuple[int, int, int]:
    """The end card title's largest and smallest font px and most lines (``presets.json``
    ``end_card.title``: px at a 1080 px shorter side, larger on a 9:16 frame as the poster
    templates' tall variants are)."""
    cfg = presets_data()["end_card"]["title"]
    cw, ch = canvas
    scale = min(cw, ch) / 1080.0 * (float(cfg["tall_scale"]) if ch / cw > 1.6 else 1.0)
    return round(float(cfg["size_px"]) * scale), round(float(cfg["min_px"]) * scale), int(cfg["max_lines"])


def title_box(width: float, clear_height: float) -> tuple[int, int]:
    """The (w, h) px box the end card title is fitted to: its column's ``width``, and at
    most ``end_card.title.max_height`` of the clear area's height, so the product keeps
    its room."""
    share = float(presets_data()["end_card"]["title"]["max_height"])
    return max(1, int(width)), max(1, int(share * clear_height))


def title_height(
    text: str, width: float, clear_height: float, canvas: tuple[int, int], lang: str | None
) -> float:
    """Px the end card title takes fitted to its column (``title_box``): as large as its
    widest line fits the width, up to ``title_size``'s largest size, in the fewest lines
    that keep ``TITLE_FEWER_LINES`` of the largest size any number of lines reaches (on a
    square "Good morning mug" is one line at 111 px, not two at 117 that take the
    product's room), as ``set_text`` will set it in a box of that height."""
    size, low, most = title_size(canvas)
    box = title_box(width, clear_height)
    blocks = []
    for lines in range(1, most + 1):
        try:
            blocks.append(layout_text(text, box, _style(size, low, 700, lines), lang=lang))
        except TextDoesNotFit as exc:
            if lines == most and not blocks:
                raise InvalidSpec(f"{text!r} does not fit the end card: {exc}") from exc
    largest = max(b.size for b in blocks)
    block = next(b for b in blocks if b.size >= TITLE_FEWER_LINES * largest)
    return float(len(block.lines) * block.line_height_px)


@dataclass(frozen=True)
class OverlayText:
    headline: str
    price: str | None  # formatted
    cta: str
    lang: str | None
    brand: tuple[int, int, int] | None
    compare_at: str | None = None  # formatted; only when it is above the price


def scene_sprites(
    texts: OverlayText,
    canvas: tuple[int, int],
    product_area: Rect,
    luma_at: Callable[[Rect], float],  # mean luminance of the background in a rect
    *,
    include_price_cta: bool,
    clear: Rect,
    safe: Rect | None = None,
) -> list[Sprite]:
    """Headline (and, without an end card, price and CTA) stacked next to the product's
    whole path inside the area clear of the platform's UI (``clear``): just above it, or
    just below it when there is more room there; their shadows inside ``safe`` (the safe
    area)."""
    cw, ch = canvas
    items: list[tuple[str, float]] = []
    if texts.headline:
        items.append(("headline", SCENE_TEXT_SHARES["headline"]))
    if include_price_cta and texts.price:
        items.append(("price", SCENE_TEXT_SHARES["price"]))
    if include_price_cta and texts.cta:
        items.append(("cta", SCENE_TEXT_SHARES["cta"]))
    if not items:
        return []
    # the larger clear band: above the product's whole path, or below it
    gap = TEXT_GAP * ch
    unit = scene_type_unit(canvas)
    ax, ay, aw, ah = clear
    above = (ay, product_area[1] - PRODUCT_GAP * ch)
    below = (product_area[1] + product_area[3] + PRODUCT_GAP * ch, ay + ah)
    band = max((above, below), key=lambda b: b[1] - b[0])
    top, bottom = band
    room = max(bottom - top, 0.0)
    floor = 0.6
    while True:
        need = sum(h for _, h in items) * unit + gap * (len(items) - 1)
        if room >= need * floor or len(items) == 1:
            break
        items.pop()  # the CTA, then the price, rather than text over the product
    shrink = min(1.0, room / need) if need > 0 else 1.0
    # next to the product: the stack ends where the band above it ends
    y = max(top, bottom - need * shrink) if band is above else top
    x, width = centred_columns(canvas, clear)
    x, width = max(x, 0.08 * cw), min(width, 0.84 * cw)
    sprites = []
    for key, share in items:
        bh = share * unit * shrink
        sprites.append(_sprite(key, texts, (cw / 2 - width / 2, y, width, bh), canvas, luma_at, within=safe))
        y += bh + gap * shrink
    if band is above:  # the type set centred in its box: close the room left under the last
        last = sprites[-1]
        ink = last.ink_box[1] + last.ink_box[3] if last.ink_box is not None else last.pixels.shape[0]
        down = math.floor(bottom - (last.origin[1] + ink))
        if down > 0:
            sprites = [_moved(s, down) for s in sprites]
    return sprites


def clear_of_product(
    sprites: list[Sprite], product_area: Rect, canvas: tuple[int, int], clear: Rect
) -> list[Sprite]:
    """``scene_sprites``' stack moved away from the product's whole path (``product_area``)
    so that what each element shows (its plate, else its type) stays ``PRODUCT_GAP`` clear
    of it, as far as the area clear of the platform's UI (``clear``) has room.
    ``scene_sprites`` closes the room to the type; a plate set under it later for contrast
    (``plan._legible``) reaches ``plate_pad`` past the type, across that gap and over the
    product. A stack that keeps the gap is returned as it is."""
    if not sprites:
        return sprites
    gap = PRODUCT_GAP * canvas[1]
    shown = [_shown(s) for s in sprites]
    top, bottom = min(b[1] for b in shown), max(b[3] for b in shown)
    _, py, _, ph = product_area
    _, ay, _, ah = clear
    if top + bottom < 2 * py + ph:  # above the product: up, no higher than the clear area
        move = -min(math.ceil(bottom - (py - gap)), math.floor(top - ay))
    else:  # below it: down, no lower than the clear area
        move = min(math.ceil(py + ph + gap - top), math.floor(ay + ah - bottom))
    if move == 0 or (move < 0) != (top + bottom < 2 * py + ph):
        return sprites
    return [_moved(s, move) for s in sprites]


def _shown(sprite: Sprite) -> tuple[int, int, int, int]:
    """What ``sprite`` shows on the canvas (x0, y0, x1, y1): its plate, else its type."""
    x, y = sprite.origin
    h, w = sprite.pixels.shape[:2]
    if sprite.backing is None and sprite.ink_box is not None:
        bx, by, bw, bh = sprite.ink_box
        return (x + bx, y + by, x + bx + bw, y + by + bh)
    return (x, y, x + w, y + h)


def _moved(sprite: Sprite, dy: int) -> Sprite:
    """``sprite`` and the box it was set in, ``dy`` px lower."""
    rect = sprite.rect
    return dataclasses.replace(
        sprite,
        origin=(sprite.origin[0], sprite.origin[1] + dy),
        rect=None if rect is None else (rect[0], rect[1] + dy, rect[2], rect[3]),
    )


def end_card_sprites(
    texts: OverlayText,
    canvas: tuple[int, int],
    layout: EndCardLayout,
    luma_at: Callable[[Rect], float],
    logo: Image.Image | None,
    safe: Rect | None = None,
) -> list[Sprite]:
    """Logo (or the headline as the title), price, compare-at price and CTA at their
    places on the card (``end_card_layout``), their shadows inside ``safe``."""
    return [
        _sprite(key, texts, rect, canvas, luma_at, logo, within=safe) for key, rect in layout.rects.items()
    ]


Plate = tuple[tuple[int, int, int], float]  # fill colour, opacity


def _sprite(
    key: str,
    texts: OverlayText,
    rect: Rect,
    canvas: tuple[int, int],
    luma_at: Callable[[Rect], float],
    logo: Image.Image | None = None,
    *,
    ink: tuple[int, int, int] | None = None,
    plate: Plate | None = None,
    within: Rect | None = None,
) -> Sprite:
    """One element set to fit ``rect``. For text, ``ink`` overrides the colour chosen
    from the background's luminance and ``plate`` puts a rounded backing plate under it.
    ``within`` (the safe area): text is set narrower where its shadow or plate, centred on
    ``rect``, would reach past its sides (type fitted to a column that ends at the clear
    margin cast a shadow 1 level into a 9:16 story's right-hand UI band)."""
    x, y, w, h = rect
    cw = canvas[0]
    size = (max(1, int(w)), max(1, int(h)))
    # the widest sprite that, centred on the rect, stays inside ``within`` (1 px for rounding)
    widest = math.inf
    if within is not None:
        centre = x + w / 2
        widest = math.floor(2 * min(centre - within[0], within[0] + within[2] - centre)) - 1
    extra: dict[str, object] = {}
    if key == "logo":
        assert logo is not None
        rgba = logo_sprite(logo, size)
    elif key == "cta":
        fill = texts.brand or INK_DARK
        rgba = pill_sprite(texts.cta, size, fill=fill, ink=contrast_ink(fill), lang=texts.lang)
    else:
        ink = ink or ink_for(luma_at(rect))
        headline = key in ("headline", "title")
        text = {"compare_at": texts.compare_at or ""}.get(key) or (
            texts.headline if headline else (texts.price or "")
        )
        max_size = int(h * (0.45 if headline else 0.8))
        min_size, max_lines = max(8, int(0.03 * cw)), 2 if headline else 1
        if key == "title":  # the card's title fitted to its column (its box fits it: title_height)
            max_size, min_size, max_lines = title_size(canvas)
        weight = {"price": 800, "compare_at": 500}.get(key, 700)
        radius = shadow_radius(h)

        def setting(width: int) -> tuple[np.ndarray, int]:
            return set_text(
                text,
                (max(1, width), size[1]),
                color=ink,
                max_size=max_size,
                min_size=min_size,
                weight=weight,
                max_lines=max_lines,
                lang=texts.lang,
                one_line_from=math.ceil(HEADLINE_ONE_LINE * max_size) if key == "headline" else None,
            )

        # the shadow's reach is known before the type is set, a plate's (a share of the
        # font size) after: set again narrower when the plate would reach past ``within``
        reach = shadow_pad(radius) if plate is None else 0
        rgba, font_px = setting(int(min(size[0], widest - 2 * reach)))
        if plate is not None and rgba.shape[1] + 2 * plate_pad(font_px) > widest:
            rgba, font_px = setting(int(widest - 2 * plate_pad(font_px)))
        if key == "compare_at":  # the price before the discount, struck through
            rgba = _struck(rgba, ink, font_px)
        th, tw = rgba.shape[:2]
        if plate is None:
            # white type over a photo needs a soft shadow; dark type a faint glow
            rgba, pad = _with_shadow(
                rgba,
                radius=radius,
                strength=0.45 if ink == INK_LIGHT else 0.35,
                dark=ink == INK_LIGHT,
            )
            backing = None
        else:
            rgba, pad, backing = _on_plate(rgba, font_px, plate)
        extra = {
            "ink": ink,
            "size_px": font_px,
            "weight": weight,
            "ink_box": (pad, pad, tw, th),
            "rect": rect,
        }
        if backing is not None:
            extra["backing"] = backing
    sh, sw = rgba.shape[:2]
    origin = (round(x + (w - sw) / 2), round(y + (h - sh) / 2))
    return Sprite(key=key, pixels=premultiply(np.ascontiguousarray(rgba)), origin=origin, **extra)  # type: ignore[arg-type]


def _struck(rgba: np.ndarray, ink: tuple[int, int, int], font_px: int) -> np.ndarray:
    """Straight RGBA type with a line through its middle."""
    image = Image.fromarray(rgba, "RGBA")
    h = image.height
    thick = max(1, round(font_px * 0.08))
    ImageDraw.Draw(image).rectangle(
        (0, h // 2 - thick // 2, image.width - 1, h // 2 - thick // 2 + thick - 1), fill=(*ink, 255)
    )
    return np.asarray(image)


def plate_for(ink: tuple[int, int, int]) -> tuple[int, int, int]:
    """The backing plate under ``ink``: near-black under white type, near-white under dark."""
    return (20, 20, 24) if ink == INK_LIGHT else (250, 250, 248)


def plate_pad(font_px: int) -> int:
    """Px a backing plate reaches past the ink of type set at ``font_px``."""
    return max(4, round(0.45 * font_px))


def _on_plate(rgba: np.ndarray, font_px: int, plate: Plate) -> tuple[np.ndarray, int, np.ndarray]:
    """Straight RGBA type over a rounded plate, the padding, and the plate alone (premultiplied)."""
    fill, opacity = plate
    pad = plate_pad(font_px)
    h, w = rgba.shape[:2]
    size = (w + 2 * pad, h + 2 * pad)
    # drawn at 3x and reduced: Pillow's rounded rectangles have no anti-aliasing
    big = Image.new("RGBA", (size[0] * 3, size[1] * 3), (*fill, 0))
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, size[0] * 3 - 1, size[1] * 3 - 1), radius=pad * 3, fill=(*fill, round(255 * opacity))
    )
    base = big.resize(size, Image.Resampling.LANCZOS)
    backing = premultiply(np.ascontiguousarray(np.asarray(base)))
    base.alpha_composite(Image.fromarray(rgba, "RGBA"), dest=(pad, pad))
    return np.asarray(base), pad, backing


# ---------------------------------------------------------------------------
# Drawing


def draw_sprite(frame: np.ndarray, sprite: Sprite, opacity: float, dy: float) -> None:
    """Blend ``sprite`` into ``frame`` (RGB or RGBA) at its origin moved down by ``dy`` px."""
    if opacity <= 0:
        return
    if opacity >= 1.0 and abs(dy) < 1e-3:
        _draw_opaque(frame, sprite)
        return
    pixels = sprite.pixels
    oy = sprite.origin[1] + dy
    iy = math.floor(oy)
    frac = oy - iy
    if frac > 1e-3:  # sub-pixel: shift into one more row
        m = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, frac]])
        pixels = cv2.warpAffine(
            pixels,
            m,
            (pixels.shape[1], pixels.shape[0] + 1),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0, 0),
        )
    ch, cw = frame.shape[:2]
    x0, y0 = sprite.origin[0], iy
    sx0, sy0 = max(0, -x0), max(0, -y0)
    x1, y1 = min(cw, x0 + pixels.shape[1]), min(ch, y0 + pixels.shape[0])
    if x1 <= max(x0, 0) or y1 <= max(y0, 0):
        return
    src = pixels[sy0 : sy0 + (y1 - max(y0, 0)), sx0 : sx0 + (x1 - max(x0, 0))].astype(F32)
    region = frame[max(y0, 0) : y1, max(x0, 0) : x1]
    a = src[..., 3:4] * (opacity / 255.0)
    # an RGBA frame keeps alpha 255: 255 (1 - a) + 255 a
    out = region.astype(F32) * (1.0 - a) + src[..., : region.shape[2]] * opacity
    region[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _draw_opaque(frame: np.ndarray, sprite: Sprite) -> None:
    """A fully revealed sprite at its place: premultiplied "over" in 8-bit (most frames)."""
    ch, cw = frame.shape[:2]
    x0, y0 = sprite.origin
    h, w = sprite.pixels.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + w, cw), min(y0 + h, ch)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    src = sprite.pixels[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    region = frame[cy0:cy1, cx0:cx1]
    inv = cv2.bitwise_not(cv2.extractChannel(src, 3))
    channels = frame.shape[2]
    under = cv2.multiply(region, cv2.merge([inv] * channels), scale=1.0 / 255.0)
    cv2.add(src if channels == 4 else cv2.cvtColor(src, cv2.COLOR_RGBA2RGB), under, dst=region)
