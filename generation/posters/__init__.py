"""Poster typography: fonts, line breaking and fitting, prices.

The layout engine builds on ``layout_text`` / ``draw_text`` (text.py), the font
helpers (fonts.py) and ``format_price`` (money.py).
"""

from generation.posters.fonts import (
    FAMILIES,
    MissingGlyph,
    available_families,
    font_for_char,
    get_font,
    missing_glyphs,
)
from generation.posters.money import discount_percent, format_discount, format_price
from generation.posters.text import (
    TextBlock,
    TextDoesNotFit,
    TextLine,
    TextRun,
    TextStyle,
    draw_text,
    layout_text,
    measure,
)

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
]
