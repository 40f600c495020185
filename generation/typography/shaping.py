"""Measuring and shaping: runs of one face, their advances and their ink.

Geometry is ink-true: a line's width covers both its advance and its glyphs' ink, and
its top and bottom are its ink's, so a box that holds a block holds every pixel drawn
for it. Every run of one face is shaped with raqm and the run's ``language`` so CJK
glyphs take the forms of the text's language.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from generation.typography import fonts
from generation.typography.block import TextRun
from generation.typography.breaks import Context
from generation.typography.fonts import CJK_FACE

# --- 2. measuring -----------------------------------------------------------------

# Latin runs ask for lining figures: Playfair's default old-style figures make prices
# and numbers inside Chinese text look like lowercase letters.
LATIN_FEATURES = ("lnum",)


def runs_of(paragraph: str, faces: list[str], start: int, end: int) -> list[tuple[str, str]]:
    runs: list[tuple[str, str]] = []
    k = start
    while k < end:
        j = k + 1
        while j < end and faces[j] == faces[k]:
            j += 1
        runs.append((faces[k], paragraph[k:j]))
        k = j
    return runs


def face_font(ctx: Context, face: str, size: int) -> tuple[ImageFont.FreeTypeFont, str, int]:
    """(font, path, collection index) of ``face`` at ``size`` in ``ctx``'s weight and
    languages; kept in ``ctx``: every run, piece and span of every try asks again."""
    key = (face, size)
    found = ctx.fonts.get(key)
    if found is None:
        path, index = fonts.face_file(face, ctx.style.weight, lang=ctx.cjk_lang)
        found = ctx.fonts[key] = fonts.load_font(path, index, size, ctx.style.weight), path, index
    return found


def shaping_for(ctx: Context, face: str) -> tuple[str | None, tuple[str, ...]]:
    """(language, OpenType features) a run in ``face`` is shaped with."""
    if face == CJK_FACE:
        return ctx.cjk_lang, ()
    return ctx.latin_lang, LATIN_FEATURES


# raqm gives a string of CJK punctuation with no Han, kana or hangul letter in it (the
# "。" after "iPhone", or any single mark when tracking sets characters one by one) the
# script Common; HarfBuzz then reads the font's DFLT script, which in Noto Sans CJK has
# no language systems, so ``locl`` never fires and the bold file's Traditional forms
# (centred comma and full stop) would show in Simplified text. Such pieces are shaped
# behind a Han character, which is then clipped away.
HAN_CONTEXT = "一"


def needs_context(face: str, text: str) -> bool:
    return face == CJK_FACE and not any(unicodedata.category(ch)[0] == "L" for ch in text)


# Measuring and ink are pure functions of the (cached, never modified) font object and
# the text: kept per process, they serve every line tried while fitting, every letter
# of tracked text, and every poster of a set that repeats words at a size.
@lru_cache(maxsize=16384)
def run_length(
    font: ImageFont.FreeTypeFont,
    face: str,
    text: str,
    language: str | None,
    features: tuple[str, ...],
) -> float:
    """Advance of ``text`` shaped in ``font``, px."""
    if not text:
        return 0.0
    feats = list(features) or None
    if needs_context(face, text):
        with_context = font.getlength(HAN_CONTEXT + text, language=language, features=feats)
        return with_context - font.getlength(HAN_CONTEXT, language=language, features=feats)
    return font.getlength(text, language=language, features=feats)


def _pixel_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """A FreeType box on whole pixels, grown outwards (FreeType's boxes are whole already)."""
    left, top, right, bottom = box
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


@lru_cache(maxsize=1024)
def context_mask(
    font: ImageFont.FreeTypeFont, piece: str, language: str | None, features: tuple[str, ...]
) -> tuple[Image.Image, int, int]:
    """Coverage of ``piece`` shaped behind a Han character: (mask, dx, dy), the mask's
    top-left sitting at (pen x + dx, baseline + dy)."""
    feats = list(features) or None
    text = HAN_CONTEXT + piece
    left, top, right, bottom = _pixel_box(font.getbbox(text, anchor="ls", language=language, features=feats))
    canvas = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(canvas).text(
        (-left, -top), text, font=font, fill=255, anchor="ls", language=language, features=feats
    )
    start = round(font.getlength(HAN_CONTEXT, language=language, features=feats)) - left
    cut = max(0, start)
    return canvas.crop((cut, 0, canvas.width, canvas.height)), cut - start, top


@lru_cache(maxsize=16384)
def piece_ink(
    font: ImageFont.FreeTypeFont,
    face: str,
    piece: str,
    language: str | None,
    features: tuple[str, ...],
) -> tuple[int, int, int, int] | None:
    """Ink box of ``piece`` relative to its pen origin on the baseline; None if blank."""
    if needs_context(face, piece):
        mask, dx, dy = context_mask(font, piece, language, features)
        bbox = mask.getbbox()
        if bbox is None:
            return None
        return bbox[0] + dx, bbox[1] + dy, bbox[2] + dx, bbox[3] + dy
    feats = list(features) or None
    left, top, right, bottom = _pixel_box(font.getbbox(piece, anchor="ls", language=language, features=feats))
    if right <= left or bottom <= top:
        return None
    return left, top, right, bottom


def draw_piece(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    font: ImageFont.FreeTypeFont,
    face: str,
    piece: str,
    language: str | None,
    features: tuple[str, ...],
) -> None:
    if needs_context(face, piece):
        mask, dx, dy = context_mask(font, piece, language, features)
        draw.bitmap((xy[0] + dx, xy[1] + dy), mask, fill=255)
        return
    if draw.mode != "L" or draw.fontmode != "L" or not all(isinstance(v, int) for v in xy):
        draw.text(
            xy, piece, font=font, fill=255, anchor="ls", language=language, features=list(features) or None
        )
        return
    # what ``draw.text`` does for one line at a whole-pixel origin, with the piece's
    # coverage kept: letter-spaced text draws each character on its own, the same
    # letters many times over
    coverage, (dx, dy) = piece_mask(font, piece, language, features)
    draw.draw.draw_bitmap((xy[0] + dx, xy[1] + dy), coverage, draw.draw.draw_ink(255))


@lru_cache(maxsize=4096)
def piece_mask(
    font: ImageFont.FreeTypeFont, piece: str, language: str | None, features: tuple[str, ...]
) -> tuple[Any, tuple[int, int]]:
    """Coverage (a Pillow core image, never modified) of ``piece`` drawn in white on an
    L image at a whole-pixel pen origin on the baseline, and its top-left's offset from
    that origin: ``ImageDraw.text(..., anchor="ls", fill=255)``'s own ``getmask2`` call."""
    return font.getmask2(
        piece, "L", None, list(features) or None, language, 0, "ls", 255, (0.0, 0.0), stroke_filled=True
    )


def tracked_pieces(
    font: ImageFont.FreeTypeFont,
    face: str,
    text: str,
    language: str | None,
    features: tuple[str, ...],
    track: float,
) -> list[tuple[int, str]]:
    """(x offset, text) pieces to draw for one run. Without tracking the run is one
    piece shaped as a whole; with tracking each character is set one by one, advanced
    as in the shaped run (its own advance plus its pair kerning with the character
    before it) plus ``track`` per preceding character."""
    if track == 0:
        return [(0, text)]
    pieces, pen = [], 0.0
    for k, ch in enumerate(text):
        pieces.append((round(pen + k * track), ch))
        if k + 1 < len(text):  # the advance of ch where the next character follows it
            pair = run_length(font, face, text[k : k + 2], language, features)
            pen += pair - run_length(font, face, text[k + 1], language, features)
    return pieces


def advance(ctx: Context, face: str, text: str, size: int, track: float) -> float:
    key = (face, text, size)
    if key not in ctx.widths:
        font, _, _ = face_font(ctx, face, size)
        language, features = shaping_for(ctx, face)
        ctx.widths[key] = run_length(font, face, text, language, features) + len(text) * track
    return ctx.widths[key]


def span_advance(ctx: Context, p: int, start: int, end: int, size: int, track: float) -> float:
    key = (p, start, end, size, track)
    width = ctx.spans.get(key)
    if width is None:
        paragraph, faces = ctx.paragraphs[p], ctx.faces[p]
        total = sum(advance(ctx, f, t, size, track) for f, t in runs_of(paragraph, faces, start, end))
        width = ctx.spans[key] = total - track  # no letter spacing after the last character
    return width


def span_ink(ctx: Context, p: int, start: int, end: int, size: int, track: float) -> tuple[int, int]:
    """Ink top and bottom (relative to the baseline) of paragraph ``p``[start:end] set
    on a line of its own, as ``set_line`` finds them; (0, 0) when it has no ink. Up and
    down do not depend on where a piece stands along the line, so unlike ``set_line``
    this needs no advances: one ink box per piece."""
    paragraph, faces = ctx.paragraphs[p], ctx.faces[p]
    top, bottom = math.inf, -math.inf
    for face, text in runs_of(paragraph, faces, start, end):
        font, _, _ = face_font(ctx, face, size)
        language, features = shaping_for(ctx, face)
        for piece in text if track else (text,):  # tracked text is drawn one character at a time
            if not piece.strip():
                continue
            ink = piece_ink(font, face, piece, language, features)
            if ink is not None:
                top, bottom = min(top, ink[1]), max(bottom, ink[3])
    return (0, 0) if math.isinf(top) else (int(top), int(bottom))


@dataclass
class SetLine:
    text: str
    width: int
    runs: tuple[TextRun, ...]
    top: int  # ink top relative to the baseline (negative is above); 0 if no ink
    bottom: int


def set_line(ctx: Context, p: int, start: int, end: int, size: int, track: float) -> SetLine:
    """Exact runs, positions and ink extents of paragraph ``p``[start:end] (kept in
    ``ctx``: fitting tries at other widths set many of the same lines again; a SetLine
    is never modified)."""
    key = (p, start, end, size, track)
    line = ctx.lines.get(key)
    if line is None:
        line = ctx.lines[key] = _set_line(ctx, p, start, end, size, track)
    return line


def _set_line(ctx: Context, p: int, start: int, end: int, size: int, track: float) -> SetLine:
    paragraph, faces = ctx.paragraphs[p], ctx.faces[p]
    pen = 0.0
    placed = []
    ink_l = ink_t = math.inf
    ink_r = ink_b = -math.inf
    for face, text in runs_of(paragraph, faces, start, end):
        font, path, index = face_font(ctx, face, size)
        language, features = shaping_for(ctx, face)
        # Runs start on whole pixels so what is measured here is what gets drawn.
        x = round(pen)
        width = run_length(font, face, text, language, features) + len(text) * track
        for dx, piece in tracked_pieces(font, face, text, language, features, track):
            if not piece.strip():
                continue
            ink = piece_ink(font, face, piece, language, features)
            if ink is None:  # a character without ink
                continue
            ink_l, ink_r = min(ink_l, x + dx + ink[0]), max(ink_r, x + dx + ink[2])
            ink_t, ink_b = min(ink_t, ink[1]), max(ink_b, ink[3])
        placed.append((text, face, path, index, x, width, language, features))
        pen += width
    line_advance = pen - track
    if math.isinf(ink_l):  # nothing visible, e.g. only no-break spaces
        ink_l, ink_r, ink_t, ink_b = 0, 0, 0, 0
    shift = -min(0, math.floor(ink_l))  # ink left of the pen origin widens the line
    runs = tuple(
        TextRun(
            text=text,
            font_path=path,
            font_index=index,
            weight=ctx.style.weight,
            x=float(x + shift),
            face=face,
            width=width,
            language=language,
            features=features,
        )
        for text, face, path, index, x, width, language, features in placed
    )
    line_width = math.ceil(max(line_advance, ink_r)) + shift
    return SetLine(paragraph[start:end], line_width, runs, int(ink_t), int(ink_b))
