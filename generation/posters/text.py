"""Poster typography: fit a text into a box, break its lines, draw it.

The model, in one place:

- A text is split into paragraphs at ``\\n``; inside a paragraph runs of spaces and
  tabs collapse to one space, and an ideographic space (U+3000) counts as a space.
- Every character gets a face: CJK characters, CJK punctuation and full-width forms
  the CJK face; other characters the style's family, else Noto Sans, else the CJK
  face. Quotes, ellipsis, middle dot and dashes, which both scripts use, follow their
  context (openers look ahead, the rest look back), so "“限时”" gets CJK quotes.
- Break opportunities: at spaces, and between two characters when either is CJK;
  never inside a Latin word. Kinsoku: no line begins with a closing mark
  (``NO_BEGIN``) and none ends with an opening one (``NO_END``): such a break is
  removed, so the greedy filler breaks one character earlier and the offending
  character travels with its neighbour.
- Fitting tries ``max_size``, then about 4 % smaller each step down to ``min_size``,
  and takes the first size whose lines all fit the box width, number at most
  ``max_lines`` and whose ink fits the box height. Only when nothing fits and a word
  is wider than the box even at ``min_size`` is that word broken between characters,
  at ``min_size``. Otherwise TextDoesNotFit.
- The fitted lines are then re-broken evenly (``style.balance``, like CSS
  ``text-wrap: balance``): same number of lines, first fewest lone CJK characters
  (a one-character line such as an orphan "邮", or one character of a merchant's
  space-separated phrase cut off from the rest: "保冷 随 / 身好水杯"), then least
  raggedness, with those phrases kept whole where that stays even. If even lines
  come out taller (a descender moved down), or a lone character is unavoidable at
  the fitted size, up to two more shrink steps are tried before keeping what the
  fitted size gives.
- Geometry is ink-true: a line's width covers both its advance and its glyphs' ink,
  and the block height runs from the highest ink of the first line to the lowest ink
  of the last, so a box that holds a block holds every pixel drawn for it.
- Every run of one face is drawn at one baseline (anchor ``ls``) with raqm and the
  run's ``language`` so mixed Chinese/Latin lines share a baseline and CJK glyphs take
  the forms of the text's language.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from generation.errors import GenerationError, InvalidSpec
from generation.posters import fonts
from generation.posters.fonts import CJK_FACE, FAMILIES, MissingGlyph

# Kinsoku shori. Closing punctuation, small kana and marks that belong to what
# precedes them never start a line ...
NO_BEGIN = frozenset(
    "。，、！？）」』】》〉；：”’…·%,.!?;:)"
    "］｝〕〗〙〛｠»›｡､・ー々〻ゝゞヽヾぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ゛゜"
    "〜～％℃‰′″°—–"
)
# ... and opening brackets, quotes and currency signs never end one.
NO_END = frozenset("（「『【《〈“‘(［｛〔〖〘〚｟«‹￥＄＃")
_NO_SPLIT_PAIRS = frozenset("—")  # "——" is one dash in Chinese

ALIGNS = ("left", "center", "right")
VALIGNS = ("top", "middle", "bottom")
SHRINK_STEP = 0.96  # each fitting step is about 4 % smaller
# Sizes whose width estimate (scaled from max_size) overshoots the box by more than
# this are skipped without wrapping; the scaled estimate never overshoots the truth by
# this much, so skipping changes no result, only the time taken.
_ESTIMATE_SLACK = 1.10
_FINISH_SHRINK = 0.92  # even line breaks may cost up to two shrink steps


class TextDoesNotFit(GenerationError):
    """The text cannot be set inside the box at or above the style's minimum size."""

    code = "text_overflow"

    def __init__(self, message: str, *, text: str, box: tuple[int, int], min_size: int) -> None:
        super().__init__(message)
        self.text = text
        self.box = box
        self.min_size = min_size


@dataclass(frozen=True)
class TextStyle:
    family: str = "inter"
    weight: int = 700
    max_size: int = 96  # px
    min_size: int = 24  # px; below this the text does not fit -> TextDoesNotFit
    line_height: float = 1.15  # baseline-to-baseline distance, in multiples of size
    align: str = "left"  # left | center | right
    max_lines: int = 3
    uppercase: bool = False
    tracking: float = 0.0  # extra letter spacing in em (0.05 = 5 % of the size)
    balance: bool = True  # even out line lengths (same line count as greedy filling)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise InvalidSpec(
                f"Font family {self.family!r} is not one of the poster families: {', '.join(FAMILIES)}."
            )
        if not isinstance(self.weight, int) or not 100 <= self.weight <= 900:
            raise InvalidSpec(f"Font weight {self.weight!r} must be an integer from 100 to 900.")
        if not 1 <= self.min_size <= self.max_size:
            raise InvalidSpec(
                f"Text sizes need 1 <= min_size <= max_size, got min_size={self.min_size}, "
                f"max_size={self.max_size}."
            )
        if not 0.5 <= self.line_height <= 4:
            raise InvalidSpec(f"line_height {self.line_height} must be between 0.5 and 4.")
        if self.align not in ALIGNS:
            raise InvalidSpec(f"align {self.align!r} must be one of {', '.join(ALIGNS)}.")
        if self.max_lines < 1:
            raise InvalidSpec(f"max_lines {self.max_lines} must be at least 1.")
        if not -0.1 <= self.tracking <= 1:
            raise InvalidSpec(f"tracking {self.tracking} em must be between -0.1 and 1.")


@dataclass(frozen=True)
class TextRun:
    """A stretch of one line set in one face."""

    text: str
    font_path: str
    font_index: int
    weight: int
    x: float  # offset of the run's pen origin from the line's left edge, px
    face: str = ""  # family name or "cjk"
    width: float = 0.0  # advance, px (tracking included)
    language: str | None = None  # passed to raqm when shaping and drawing this run
    features: tuple[str, ...] = ()  # OpenType features, likewise

    def to_dict(self) -> dict[str, Any]:
        # The sidecar names the font file, not this machine's path to it.
        return {
            "text": self.text,
            "face": self.face,
            "font_file": self.font_path.replace("\\", "/").rsplit("/", 1)[-1],
            "font_index": self.font_index,
            "weight": self.weight,
            "x": self.x,
            "width": round(self.width, 2),
            "language": self.language,
            "features": list(self.features),
        }


@dataclass(frozen=True)
class TextLine:
    text: str
    width: int  # ink-and-advance extent, px
    runs: tuple[TextRun, ...]
    baseline: int = 0  # y of this line's baseline below the block's top (ink top), px

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "width": self.width,
            "baseline": self.baseline,
            "runs": [run.to_dict() for run in self.runs],
        }


@dataclass(frozen=True)
class TextBlock:
    lines: tuple[TextLine, ...]
    size: int  # chosen font size, px
    line_height_px: int
    width: int  # widest line
    height: int  # ink top of the first line to ink bottom of the last, px
    style: TextStyle
    lang: str | None = None  # the language given (normalised), None if not given
    broken_words: bool = False  # True when a word had to be split (last resort)
    tracking_px: float = field(default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": "\n".join(line.text for line in self.lines),
            "size": self.size,
            "line_height_px": self.line_height_px,
            "width": self.width,
            "height": self.height,
            "lang": self.lang,
            "broken_words": self.broken_words,
            "style": asdict(self.style),
            "lines": [line.to_dict() for line in self.lines],
        }


def measure(block: TextBlock) -> tuple[int, int]:
    return block.width, block.height


# --- 1. preparing the text --------------------------------------------------------

_SPACES = re.compile(r"[ \t\u3000]+")


def _paragraphs(text: str, style: TextStyle) -> list[str]:
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if ch not in fonts.IGNORED_CHARS)
    if style.uppercase:
        text = text.upper()
    paragraphs = [_SPACES.sub(" ", p).strip(" ") for p in text.replace("\r\n", "\n").split("\n")]
    while paragraphs and not paragraphs[0]:
        paragraphs.pop(0)
    while paragraphs and not paragraphs[-1]:
        paragraphs.pop()
    return paragraphs


@dataclass
class _Context:
    """Everything a layout pass needs that does not depend on the size."""

    style: TextStyle
    lang: str | None  # normalised language given by the caller
    latin_lang: str | None  # language for Latin runs
    cjk_lang: str  # language for CJK runs (picks glyph forms)
    paragraphs: list[str]
    faces: list[list[str]]  # face per character, per paragraph
    segments: list[list[tuple[int, int]]]  # unbreakable (start, end), per paragraph
    widths: dict[tuple[Any, ...], float] = field(default_factory=dict)


def _assign_faces(paragraph: str, ctx_family: str, weight: int, cjk_lang: str) -> list[str]:
    """Face per character; raises MissingGlyph naming every uncovered character."""
    n = len(paragraph)
    faces: list[str | None] = [None] * n
    neutral = fonts.NEUTRAL_OPENERS | fonts.NEUTRAL_OTHERS

    def covers(face: str, ch: str) -> bool:
        return fonts.face_covers(face, ch, weight=weight, lang=cjk_lang)

    missing: list[str] = []
    for k, ch in enumerate(paragraph):
        if ch == " " or ch in neutral:
            continue
        if unicodedata.combining(ch) and k > 0 and faces[k - 1] and covers(faces[k - 1], ch):
            faces[k] = faces[k - 1]
            continue
        try:
            faces[k] = fonts.font_for_char(ch, ctx_family, weight=weight, lang=cjk_lang)
        except MissingGlyph:
            missing.append(ch)
    if missing:
        raise MissingGlyph.for_chars(list(dict.fromkeys(missing)))

    def context(k: int, step: int) -> str | None:
        j = k + step
        while 0 <= j < n:
            if faces[j] is not None and paragraph[j] not in neutral and paragraph[j] != " ":
                return faces[j]
            j += step
        return None

    for k, ch in enumerate(paragraph):
        if ch not in neutral:
            continue
        first, second = (1, -1) if ch in fonts.NEUTRAL_OPENERS else (-1, 1)
        wanted = context(k, first) or context(k, second) or ctx_family
        if covers(wanted, ch):
            faces[k] = wanted
        else:
            faces[k] = fonts.font_for_char(ch, ctx_family, weight=weight, lang=cjk_lang)
    for k, ch in enumerate(paragraph):
        if ch == " ":
            faces[k] = faces[k - 1] if k > 0 else (context(k, 1) or ctx_family)
    return [f or ctx_family for f in faces]


def _break_allowed(before: str, after: str) -> bool:
    """May a line end with ``before`` and the next begin with ``after``?"""
    if after in NO_BEGIN or before in NO_END:
        return False
    return not (before == after and before in _NO_SPLIT_PAIRS)


def _segments(paragraph: str) -> list[tuple[int, int]]:
    """Unbreakable stretches (start, end) of ``paragraph``; between two consecutive
    segments there is either one space (dropped when the line breaks there) or
    nothing."""
    # Atoms: a CJK character alone, or a maximal run of other non-space characters.
    atoms: list[tuple[int, int]] = []
    k, n = 0, len(paragraph)
    while k < n:
        if paragraph[k] == " ":
            k += 1
            continue
        if fonts.is_cjk_char(paragraph[k]):
            atoms.append((k, k + 1))
            k += 1
            continue
        start = k
        while k < n and paragraph[k] != " " and not fonts.is_cjk_char(paragraph[k]):
            k += 1
        atoms.append((start, k))
    # Glue atoms where kinsoku forbids the break between them.
    segments: list[tuple[int, int]] = []
    for start, end in atoms:
        if segments and not _break_allowed(paragraph[segments[-1][1] - 1], paragraph[start]):
            segments[-1] = (segments[-1][0], end)
        else:
            segments.append((start, end))
    return segments


# --- 2. measuring -----------------------------------------------------------------

# Latin runs ask for lining figures: Playfair's default old-style figures make prices
# and numbers inside Chinese text look like lowercase letters.
LATIN_FEATURES = ("lnum",)


def _runs_of(paragraph: str, faces: list[str], start: int, end: int) -> list[tuple[str, str]]:
    runs: list[tuple[str, str]] = []
    k = start
    while k < end:
        j = k + 1
        while j < end and faces[j] == faces[k]:
            j += 1
        runs.append((faces[k], paragraph[k:j]))
        k = j
    return runs


def _face_font(ctx: _Context, face: str, size: int) -> tuple[ImageFont.FreeTypeFont, str, int]:
    path, index = fonts.face_file(face, ctx.style.weight, lang=ctx.cjk_lang)
    return fonts.load_font(path, index, size, ctx.style.weight), path, index


def _shaping(ctx: _Context, face: str) -> tuple[str | None, tuple[str, ...]]:
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
_HAN_CONTEXT = "一"


def _needs_context(face: str, text: str) -> bool:
    return face == CJK_FACE and not any(unicodedata.category(ch)[0] == "L" for ch in text)


def _length(
    font: ImageFont.FreeTypeFont,
    face: str,
    text: str,
    language: str | None,
    features: tuple[str, ...],
) -> float:
    if not text:
        return 0.0
    feats = list(features) or None
    if _needs_context(face, text):
        with_context = font.getlength(_HAN_CONTEXT + text, language=language, features=feats)
        return with_context - font.getlength(_HAN_CONTEXT, language=language, features=feats)
    return font.getlength(text, language=language, features=feats)


@lru_cache(maxsize=1024)
def _context_mask(
    font: ImageFont.FreeTypeFont, piece: str, language: str | None, features: tuple[str, ...]
) -> tuple[Image.Image, int, int]:
    """Coverage of ``piece`` shaped behind a Han character: (mask, dx, dy), the mask's
    top-left sitting at (pen x + dx, baseline + dy)."""
    feats = list(features) or None
    text = _HAN_CONTEXT + piece
    left, top, right, bottom = font.getbbox(text, anchor="ls", language=language, features=feats)
    canvas = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(canvas).text(
        (-left, -top), text, font=font, fill=255, anchor="ls", language=language, features=feats
    )
    start = round(font.getlength(_HAN_CONTEXT, language=language, features=feats)) - left
    cut = max(0, start)
    return canvas.crop((cut, 0, canvas.width, canvas.height)), cut - start, top


def _piece_ink(
    font: ImageFont.FreeTypeFont,
    face: str,
    piece: str,
    language: str | None,
    features: tuple[str, ...],
) -> tuple[int, int, int, int] | None:
    """Ink box of ``piece`` relative to its pen origin on the baseline; None if blank."""
    if _needs_context(face, piece):
        mask, dx, dy = _context_mask(font, piece, language, features)
        bbox = mask.getbbox()
        if bbox is None:
            return None
        return bbox[0] + dx, bbox[1] + dy, bbox[2] + dx, bbox[3] + dy
    feats = list(features) or None
    left, top, right, bottom = font.getbbox(piece, anchor="ls", language=language, features=feats)
    if right <= left or bottom <= top:
        return None
    return left, top, right, bottom


def _draw_piece(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    font: ImageFont.FreeTypeFont,
    face: str,
    piece: str,
    language: str | None,
    features: tuple[str, ...],
) -> None:
    if _needs_context(face, piece):
        mask, dx, dy = _context_mask(font, piece, language, features)
        draw.bitmap((xy[0] + dx, xy[1] + dy), mask, fill=255)
        return
    draw.text(
        xy,
        piece,
        font=font,
        fill=255,
        anchor="ls",
        language=language,
        features=list(features) or None,
    )


def _chunks(
    font: ImageFont.FreeTypeFont,
    face: str,
    text: str,
    language: str | None,
    features: tuple[str, ...],
    track: float,
) -> list[tuple[int, str]]:
    """(x offset, text) pieces to draw for one run. Without tracking the run is one
    piece shaped as a whole; with tracking each character sits where the whole shaped
    run put it (kerning kept) plus ``track`` per preceding character."""
    if track == 0:
        return [(0, text)]
    return [
        (round(_length(font, face, text[:k], language, features) + k * track), text[k])
        for k in range(len(text))
    ]


def _advance(ctx: _Context, face: str, text: str, size: int, track: float) -> float:
    key = (face, text, size)
    if key not in ctx.widths:
        font, _, _ = _face_font(ctx, face, size)
        language, features = _shaping(ctx, face)
        ctx.widths[key] = _length(font, face, text, language, features) + len(text) * track
    return ctx.widths[key]


def _span_advance(ctx: _Context, p: int, start: int, end: int, size: int, track: float) -> float:
    paragraph, faces = ctx.paragraphs[p], ctx.faces[p]
    total = sum(_advance(ctx, f, t, size, track) for f, t in _runs_of(paragraph, faces, start, end))
    return total - track  # no letter spacing after the last character


@dataclass
class _SetLine:
    text: str
    width: int
    runs: tuple[TextRun, ...]
    top: int  # ink top relative to the baseline (negative is above); 0 if no ink
    bottom: int


def _set_line(ctx: _Context, p: int, start: int, end: int, size: int, track: float) -> _SetLine:
    """Exact runs, positions and ink extents of paragraph ``p``[start:end]."""
    paragraph, faces = ctx.paragraphs[p], ctx.faces[p]
    pen = 0.0
    placed = []
    ink_l = ink_t = math.inf
    ink_r = ink_b = -math.inf
    for face, text in _runs_of(paragraph, faces, start, end):
        font, path, index = _face_font(ctx, face, size)
        language, features = _shaping(ctx, face)
        # Runs start on whole pixels so what is measured here is what gets drawn.
        x = round(pen)
        width = _length(font, face, text, language, features) + len(text) * track
        for dx, piece in _chunks(font, face, text, language, features, track):
            if not piece.strip():
                continue
            ink = _piece_ink(font, face, piece, language, features)
            if ink is None:  # a character without ink
                continue
            ink_l, ink_r = min(ink_l, x + dx + ink[0]), max(ink_r, x + dx + ink[2])
            ink_t, ink_b = min(ink_t, ink[1]), max(ink_b, ink[3])
        placed.append((text, face, path, index, x, width, language, features))
        pen += width
    advance = pen - track
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
    line_width = math.ceil(max(advance, ink_r)) + shift
    return _SetLine(paragraph[start:end], line_width, runs, int(ink_t), int(ink_b))


# --- 3. breaking lines ------------------------------------------------------------


def _split_wide(
    ctx: _Context, p: int, segments: list[tuple[int, int]], size: int, track: float, limit: int
) -> list[tuple[int, int]]:
    """Last resort: cut each segment wider than ``limit`` between characters."""
    out: list[tuple[int, int]] = []
    for start, end in segments:
        while start < end and _span_advance(ctx, p, start, end, size, track) > limit:
            cut = start + 1
            while cut + 1 < end and _span_advance(ctx, p, start, cut + 1, size, track) <= limit:
                cut += 1
            out.append((start, cut))
            start = cut
        if start < end:
            out.append((start, end))
    return out


def _wrap(
    ctx: _Context, p: int, segments: list[tuple[int, int]], size: int, track: float, limit: int
) -> list[_SetLine] | None:
    """Greedy lines (fewest lines) of paragraph ``p`` no wider than ``limit``; None if a
    segment alone is wider."""
    lines: list[_SetLine] = []
    i = 0
    while i < len(segments):
        j = i + 1
        while (
            j < len(segments) and _span_advance(ctx, p, segments[i][0], segments[j][1], size, track) <= limit
        ):
            j += 1
        line = _set_line(ctx, p, segments[i][0], segments[j - 1][1], size, track)
        # Ink overhang can push an advance-fitting line past the box: give back words.
        while line.width > limit and j - i > 1:
            j -= 1
            line = _set_line(ctx, p, segments[i][0], segments[j - 1][1], size, track)
        if line.width > limit:
            return None
        lines.append(line)
        i = j
    return lines


def _lone_char(text: str) -> bool:
    """True when ``text`` reads as one CJK character: a single letter or digit, and
    CJK, with at most the punctuation kinsoku glued to it ("随", "邮！", "「新")."""
    letters = [ch for ch in text if ch.isalnum()]
    return len(letters) == 1 and fonts.is_cjk_char(letters[0])


def _balanced(
    ctx: _Context,
    p: int,
    segments: list[tuple[int, int]],
    count: int,
    size: int,
    track: float,
    limit: int,
) -> tuple[list[_SetLine], int] | None:
    """The same number of lines as greedy filling, chosen to be as even as possible,
    and how many lone characters (below) they still hold.

    Minimum raggedness by dynamic programming. The cost of a set of lines is a pair,
    compared first by its first part:

    1. Lone CJK characters, counted once each. This outranks evenness: whenever some
       set of this many lines has fewer, it is taken, however ragged.
       - A line that is a single CJK character (with the punctuation glued to it),
         typically an orphan last line ("夏日清凉特惠全场八折包 / 邮").
       - Where the merchant separated phrases with spaces, a one-character piece of
         a phrase cut off at a line end or start: "24小时 / 保冷 随 / 身好水杯"
         leaves "随" hanging away from "身好水杯"; "24小时 / 保冷 随身 / 好水杯"
         and "24小时 / 保冷 / 随身好水杯" do not. A phrase may still be cut (it
         may be wider than the box), but into pieces of two characters or more.
    2. Raggedness: each line's squared slack against the box width, the last line
       included (posters want even lines, not a full paragraph with a short tail).
       Where the merchant separated phrases with spaces, a break inside a phrase
       (between two CJK characters with no space) also costs as much as a line 30 %
       short, so a break at the merchant's space wins whenever the lines stay about
       as even ("24小时保冷 / 随身好水杯").

    Lone characters that no break into this many lines avoids are left to
    ``_finish``, which may set the text a step smaller to be rid of them.
    None if exact ink widths overflow (the caller keeps greedy).
    """
    paragraph = ctx.paragraphs[p]
    n = len(segments)
    phrased = " " in paragraph
    inside_phrase = (0.3 * limit) ** 2

    # Phrases (segments not separated by a space): the first segment of each
    # segment's phrase and the one past its last.
    phrase_start = list(range(n))
    for k in range(1, n):
        if paragraph[segments[k - 1][1]] != " ":
            phrase_start[k] = phrase_start[k - 1]
    phrase_end = [n] * n
    for k in range(n - 2, -1, -1):
        phrase_end[k] = phrase_end[k + 1] if phrase_start[k + 1] == phrase_start[k] else k + 1

    def lone(i: int, j: int) -> bool:  # segments[i:j] read as one CJK character
        return _lone_char(paragraph[segments[i][0] : segments[j - 1][1]])

    def awkward(i: int, j: int) -> int:  # lone characters on the line segments[i:j]
        if lone(i, j):
            return 1
        if not phrased:
            return 0
        cut_before = phrase_start[i] != i  # the line starts inside a phrase
        cut_after = j < n and phrase_end[j - 1] != j  # ... or ends inside one
        head = cut_before and lone(i, min(phrase_end[i], j))
        tail = cut_after and lone(max(phrase_start[j - 1], i), j)
        return head + tail

    def break_cost(j: int) -> float:  # a line break after segments[j - 1]
        if j == n or not phrased or phrase_end[j - 1] == j:
            return 0.0
        return inside_phrase

    unset = (math.inf, math.inf)
    best: list[list[tuple[float, float]]] = [[unset] * (n + 1) for _ in range(count + 1)]
    back = [[0] * (n + 1) for _ in range(count + 1)]
    best[0][0] = (0, 0.0)
    for m in range(1, count + 1):
        for j in range(1, n + 1):
            for i in range(j - 1, -1, -1):
                width = _span_advance(ctx, p, segments[i][0], segments[j - 1][1], size, track)
                if width > limit:
                    break  # wider still for smaller i
                before = best[m - 1][i]
                if before == unset:
                    continue
                cost = (
                    before[0] + awkward(i, j),
                    before[1] + (limit - width) ** 2 + break_cost(j),
                )
                if cost < best[m][j]:
                    best[m][j], back[m][j] = cost, i
    if best[count][n] == unset:
        return None
    bounds = []
    j = n
    for m in range(count, 0, -1):
        i = back[m][j]
        bounds.append((i, j))
        j = i
    lines = [_set_line(ctx, p, segments[i][0], segments[j - 1][1], size, track) for i, j in reversed(bounds)]
    if any(line.width > limit for line in lines):
        return None
    return lines, int(best[count][n][0])


def _phrases(paragraph: str, segments: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Segments merged wherever no space separates them: the merchant's own phrases
    ("全新 iPhone 15 保护壳" -> 全新 | iPhone | 15 | 保护壳)."""
    merged: list[tuple[int, int]] = []
    for start, end in segments:
        if merged and paragraph[merged[-1][1]] != " ":
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _wrap_paragraph(
    ctx: _Context, p: int, size: int, track: float, limit: int, *, break_words: bool, final: bool
) -> tuple[list[_SetLine] | None, int]:
    """Lines of paragraph ``p`` and the lone characters left in them (counted only
    when balancing). While fitting, greedy filling (it gives the fewest lines). For
    the chosen size (``final``), the same number of lines re-broken: evenly
    (style.balance) or else greedily at spaces when that costs no line."""
    segments = ctx.segments[p]
    if break_words:
        segments = _split_wide(ctx, p, segments, size, track, limit)
    lines = _wrap(ctx, p, segments, size, track, limit)
    if lines is None or not final or len(lines) < 2:
        return lines, 0
    if ctx.style.balance:
        return _balanced(ctx, p, segments, len(lines), size, track, limit) or (lines, 0)
    phrases = _phrases(ctx.paragraphs[p], segments)
    by_phrase = _wrap(ctx, p, phrases, size, track, limit)
    if by_phrase is not None and len(by_phrase) == len(lines):
        return by_phrase, 0
    return lines, 0


@dataclass
class _Attempt:
    lines: list[_SetLine | None]  # None stands for an empty paragraph
    height: int
    first_baseline: int
    reason: str  # why it does not fit, "" when it fits
    lone: int = 0  # lone characters balancing could not avoid (see _balanced)


def _attempt(
    ctx: _Context,
    size: int,
    box: tuple[int, int],
    *,
    break_words: bool = False,
    final: bool = False,
) -> _Attempt:
    style = ctx.style
    limit, box_h = box
    track = style.tracking * size
    lh = round(size * style.line_height)
    lines: list[_SetLine | None] = []
    lone = 0
    for p, paragraph in enumerate(ctx.paragraphs):
        if not paragraph:
            lines.append(None)
            continue
        wrapped, awkward = _wrap_paragraph(ctx, p, size, track, limit, break_words=break_words, final=final)
        lone += awkward
        if wrapped is None:
            return _Attempt([], 0, 0, f"a word is wider than {limit} px")
        lines.extend(wrapped)
        if len(lines) > style.max_lines:
            return _Attempt([], 0, 0, f"it needs more than {style.max_lines} lines")
    tops = [i * lh + line.top for i, line in enumerate(lines) if line is not None]
    bottoms = [i * lh + line.bottom for i, line in enumerate(lines) if line is not None]
    first_baseline = -min(tops)
    height = max(bottoms) + first_baseline
    if height > box_h:
        return _Attempt(lines, height, first_baseline, f"it is {height} px tall", lone)
    return _Attempt(lines, height, first_baseline, "", lone)


def _sizes(style: TextStyle) -> list[int]:
    sizes = [style.max_size]
    while sizes[-1] > style.min_size:
        sizes.append(max(style.min_size, min(sizes[-1] - 1, math.floor(sizes[-1] * SHRINK_STEP))))
    return sizes


def _shorten(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- 4. the public calls ----------------------------------------------------------


def layout_text(text: str, box: tuple[int, int], style: TextStyle, *, lang: str | None = None) -> TextBlock:
    """Fit ``text`` into a ``box`` of (width, height) px.

    ``lang`` is a BCP 47 tag ("en", "de", "zh-Hans", "zh-Hant", "ja", ...); without it
    Latin runs are shaped as English and CJK runs as Simplified Chinese unless the text
    holds kana, hangul or mostly Traditional-only characters.

    Raises InvalidSpec (empty text, bad box), MissingGlyph (characters no face has,
    e.g. emoji; variation selectors are dropped silently) and TextDoesNotFit.
    """
    # 1. check inputs
    width, height = box
    if width < 1 or height < 1:
        raise InvalidSpec(f"Text box {width}x{height} px must be at least 1x1 px.")
    canonical = fonts.normalize_lang(lang)
    paragraphs = _paragraphs(text, style)
    if not paragraphs:
        raise InvalidSpec("Poster text is empty.")
    cjk_lang = fonts.cjk_lang_for(text, canonical)
    latin_lang = canonical if canonical and canonical not in fonts.CJK_LANGS else "en"

    # 2. faces per character (fails on emoji before any fitting work) and segments
    faces = [_assign_faces(p, style.family, style.weight, cjk_lang) for p in paragraphs]
    ctx = _Context(
        style=style,
        lang=canonical,
        latin_lang=latin_lang,
        cjk_lang=cjk_lang,
        paragraphs=paragraphs,
        faces=faces,
        segments=[_segments(p) for p in paragraphs],
    )

    # 3. shrink until it fits, without breaking words
    sizes = _sizes(style)
    longest, totals = _estimates(ctx, style.max_size)
    for n, size in enumerate(sizes):
        room = width * _ESTIMATE_SLACK * style.max_size / size  # box width at max_size scale
        needed_lines = sum(max(1, math.ceil(total / room)) for total in totals)
        if longest > room or needed_lines > style.max_lines:
            continue
        attempt = _attempt(ctx, size, box)
        if not attempt.reason:
            return _finish(ctx, attempt, sizes[n:], box, broken_words=False)

    # 4. last resort: break over-long words at the minimum size
    attempt = _attempt(ctx, style.min_size, box)
    if attempt.reason.startswith("a word"):
        broken = _attempt(ctx, style.min_size, box, break_words=True)
        if not broken.reason:
            return _finish(ctx, broken, [style.min_size], box, broken_words=True)
        attempt = broken
    raise TextDoesNotFit(
        f"The text {_shorten(text)!r} does not fit a {width}x{height} px box in at most "
        f"{style.max_lines} line(s) even at the minimum size of {style.min_size} px "
        f"({attempt.reason}). Shorten the text, allow more lines or use a larger box.",
        text=text,
        box=(width, height),
        min_size=style.min_size,
    )


def _estimates(ctx: _Context, size: int) -> tuple[float, list[float]]:
    """Widest segment and each paragraph's summed segment widths at ``size`` (spaces
    left out). Advances scale about linearly with size, so these give a lower bound on
    what smaller sizes need; used only to skip hopeless sizes."""
    track = ctx.style.tracking * size
    longest = 0.0
    totals: list[float] = []
    for p in range(len(ctx.paragraphs)):
        widths = [_span_advance(ctx, p, a, b, size, track) for a, b in ctx.segments[p]]
        longest = max([longest, *widths])
        totals.append(sum(widths))
    return longest, totals


def _finish(
    ctx: _Context, greedy: _Attempt, sizes: list[int], box: tuple[int, int], *, broken_words: bool
) -> TextBlock:
    """Re-break the fitted lines evenly. ``sizes[0]`` is the size greedy filling fits
    at; even lines can be a little taller (a descender moved to the last line), and
    then one or two steps smaller (at most ``_FINISH_SHRINK``) beat a lone last word.
    Likewise for lone CJK characters (see ``_balanced``) that no break at the fitted
    size avoids: where the box is tight, "24小时 / 保冷 随 / 身好水杯" becomes
    "24小时 / 保冷 随身 / 好水杯" a step smaller; if no size in reach is rid of them,
    the first size that fits is kept as it is."""
    kept: tuple[_Attempt, int] | None = None
    for size in sizes:
        if size < sizes[0] * _FINISH_SHRINK:
            break
        final = _attempt(ctx, size, box, break_words=broken_words, final=True)
        if final.reason:
            continue
        if not final.lone:
            return _block(ctx, final, size, broken_words=broken_words)
        kept = kept or (final, size)
    if kept is not None:
        return _block(ctx, kept[0], kept[1], broken_words=broken_words)
    return _block(ctx, greedy, sizes[0], broken_words=broken_words)


def _block(ctx: _Context, attempt: _Attempt, size: int, *, broken_words: bool) -> TextBlock:
    style = ctx.style
    lh = round(size * style.line_height)
    lines = tuple(
        TextLine("", 0, (), attempt.first_baseline + i * lh)
        if line is None
        else TextLine(line.text, line.width, line.runs, attempt.first_baseline + i * lh)
        for i, line in enumerate(attempt.lines)
    )
    return TextBlock(
        lines=lines,
        size=size,
        line_height_px=lh,
        width=max(line.width for line in lines),
        height=attempt.height,
        style=style,
        lang=ctx.lang,
        broken_words=broken_words,
        tracking_px=style.tracking * size,
    )


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
    if valign not in VALIGNS:
        raise InvalidSpec(f"valign {valign!r} must be one of {', '.join(VALIGNS)}.")
    channels = {"L": 1, "RGB": 3, "RGBA": 4}.get(image.mode)
    if channels is None:
        raise InvalidSpec(f"draw_text draws on L, RGB or RGBA images, not {image.mode}.")
    color_channels = 1 if channels == 1 else 3
    if len(color) not in (color_channels, color_channels + 1):
        raise InvalidSpec(f"Colour {color!r} does not suit a {image.mode} image.")

    # 2. render coverage into a box-sized mask: the box clips everything
    mask = Image.new("L", (w, h), 0)
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
            chunks = _chunks(font, face, run.text, run.language, run.features, block.tracking_px)
            for dx, piece in chunks:
                xy = (origin + dx, top + line.baseline)
                _draw_piece(draw, xy, font, face, piece, run.language, run.features)

    # 3. composite the colour through the mask, clipped to the image
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
