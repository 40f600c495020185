"""Typography shared by posters and clips: fonts, line breaking, fitting, money.

    block = layout_text("24小时保冷 随身好水杯", (600, 300), TextStyle(max_size=96), lang="zh-Hans")
    draw_text(image, block, (x, y, 600, 300), (20, 20, 24))

- ``fonts``: which face sets which character (Latin families from PyPI font wheels,
  Noto Sans CJK for Chinese, Japanese and Korean), loaded once per process.
- ``breaks``: paragraphs, faces and where a line may break (kinsoku, words, phrases).
- ``shaping``: runs of one face, their advances and ink, shaped with raqm.
- ``wrap``: greedy and balanced line breaking at one size.
- ``fit``: ``layout_text``, the largest size whose lines fit a box.
- ``draw``: ``draw_text``.
- ``money``: prices and discounts written per currency and locale (Babel).

Posters and clips both set type through this package; neither reaches into the other.
"""

from generation.typography.block import TextBlock, TextDoesNotFit, TextLine, TextRun, TextStyle, measure
from generation.typography.draw import draw_text, paint_mask, text_mask
from generation.typography.fit import layout_text
from generation.typography.fonts import (
    FAMILIES,
    MissingGlyph,
    available_families,
    font_for_char,
    get_font,
    missing_glyphs,
)
from generation.typography.money import discount_percent, format_discount, format_price

__all__ = [
    "FAMILIES",
    "MissingGlyph",
    "TextBlock",
    "TextDoesNotFit",
    "TextLine",
    "TextRun",
    "TextStyle",
    "available_families",
    "discount_percent",
    "draw_text",
    "font_for_char",
    "format_discount",
    "format_price",
    "get_font",
    "layout_text",
    "measure",
    "missing_glyphs",
    "paint_mask",
    "text_mask",
]
