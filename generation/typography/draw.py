"""Drawing a laid-out block: each run at its baseline, clipped to its box."""

from __future__ import annotations

from PIL import Image, ImageDraw

from generation.errors import InvalidSpec
from generation.typography import fonts
from generation.typography.block import VALIGNS, TextBlock
from generation.typography.shaping import draw_piece, tracked_pieces


def draw_text(
    image: Image.Image,
    block: TextBlock,
    box: tuple[int, int, int, int],
    color: tuple[int, ...],
    *,
    valign: str = "top",
) -> tuple[int, int, int, int]:
    """Draw ``block`` inside ``box`` = (x, y, w, h) of ``image`` (RGB, RGBA or L).

    Lines are aligned inside the box by ``block.style.align``, the block by ``valign``.
    Nothing is drawn outside the box. ``color`` may carry alpha (RGBA colour on an RGB
    image blends; on an RGBA image it is composited over). Returns the bbox
    (x0, y0, x1, y1), x1/y1 exclusive, of the pixels actually inked, clipped to the
    image; (x, y, x, y) if nothing was inked.
    """
    # 1. check inputs
    x, y, w, h = box
    if w < 1 or h < 1:
        raise InvalidSpec(f"Draw box {w}x{h} px must be at least 1x1 px.")

    # 2. render coverage into a box-sized mask (the box clips everything), then paint it
    return paint_mask(image, text_mask(block, (w, h), valign=valign), (x, y), color)


def text_mask(block: TextBlock, size: tuple[int, int], *, valign: str = "top") -> Image.Image:
    """The coverage (mode L) of ``block`` aligned inside a box of ``size`` (w, h) px,
    exactly what ``draw_text`` paints; nothing outside the box."""
    w, h = size
    if valign not in VALIGNS:
        raise InvalidSpec(f"valign {valign!r} must be one of {', '.join(VALIGNS)}.")
    mask = Image.new("L", (max(1, w), max(1, h)), 0)
    draw = ImageDraw.Draw(mask)
    top = {"top": 0, "middle": (h - block.height) // 2, "bottom": h - block.height}[valign]
    for line in block.lines:
        left = {
            "left": 0,
            "center": (w - line.width) // 2,
            "right": w - line.width,
        }[block.style.align]
        for run in line.runs:
            font = fonts.load_font(run.font_path, run.font_index, block.size, run.weight)
            origin = left + round(run.x)
            face = run.face
            chunks = tracked_pieces(font, face, run.text, run.language, run.features, block.tracking_px)
            for dx, piece in chunks:
                xy = (origin + dx, top + line.baseline)
                draw_piece(draw, xy, font, face, piece, run.language, run.features)
    return mask


def paint_mask(
    image: Image.Image, mask: Image.Image, origin: tuple[int, int], color: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """Paint ``color`` through a coverage ``mask`` (from ``text_mask``) whose top-left
    corner sits at ``origin`` of ``image``; the inked bbox as ``draw_text`` returns it."""
    x, y = origin
    w, h = mask.size
    channels = {"L": 1, "RGB": 3, "RGBA": 4}.get(image.mode)
    if channels is None:
        raise InvalidSpec(f"draw_text draws on L, RGB or RGBA images, not {image.mode}.")
    color_channels = 1 if channels == 1 else 3
    if len(color) not in (color_channels, color_channels + 1):
        raise InvalidSpec(f"Colour {color!r} does not suit a {image.mode} image.")
    alpha = color[color_channels] if len(color) > color_channels else 255
    if alpha < 255:
        mask = mask.point(lambda v: v * alpha // 255)
    cx0, cy0 = max(x, 0), max(y, 0)
    cx1, cy1 = min(x + w, image.width), min(y + h, image.height)
    if cx0 >= cx1 or cy0 >= cy1:
        return (x, y, x, y)
    clipped = mask.crop((cx0 - x, cy0 - y, cx1 - x, cy1 - y))
    if image.mode == "RGBA":
        layer = Image.new("RGBA", clipped.size, tuple(color[:3]) + (0,))
        layer.putalpha(clipped)
        image.alpha_composite(layer, dest=(cx0, cy0))
    else:
        solid = color[0] if color_channels == 1 else tuple(color[:3])
        image.paste(solid, (cx0, cy0, cx1, cy1), clipped)

    # 4. report the pixels actually inked
    ink = clipped.getbbox()
    if ink is None:
        return (x, y, x, y)
    return (cx0 + ink[0], cy0 + ink[1], cx0 + ink[2], cy0 + ink[3])
