"""Where a line may break: paragraphs, a face per character, unbreakable segments.

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
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import budoux
import jieba
import opencc

from generation.typography import fonts
from generation.typography.block import TextStyle
from generation.typography.fonts import MissingGlyph

# Kinsoku shori. Closing punctuation, small kana and marks that belong to what
# precedes them never start a line ...
NO_BEGIN = frozenset(
    "。，、！？）」』】》〉；：”’…·%,.!?;:)"
    "］｝〕〗〙〛｠»›｡､・ー々〻ゝゞヽヾぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ゛゜"
    "〜～％℃‰′″°—–"
)
# ... and opening brackets, quotes and currency signs never end one.
NO_END = frozenset("（「『【《〈“‘(［｛〔〖〘〚｟«‹￥＄＃")
NO_SPLIT_PAIRS = frozenset("—")  # "——" is one dash in Chinese

# jieba logs its dictionary loading at DEBUG on a handler of its own.
jieba.setLogLevel(logging.WARNING)


# --- 1. preparing the text --------------------------------------------------------

SPACES = re.compile(r"[ \t\u3000]+")


def split_paragraphs(text: str, style: TextStyle) -> list[str]:
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if ch not in fonts.IGNORED_CHARS)
    if style.uppercase:
        text = text.upper()
    paragraphs = [SPACES.sub(" ", p).strip(" ") for p in text.replace("\r\n", "\n").split("\n")]
    while paragraphs and not paragraphs[0]:
        paragraphs.pop(0)
    while paragraphs and not paragraphs[-1]:
        paragraphs.pop()
    return paragraphs


@dataclass
class Context:
    """Everything a layout pass needs that does not depend on the size."""

    style: TextStyle
    lang: str | None  # normalised language given by the caller
    latin_lang: str | None  # language for Latin runs
    cjk_lang: str  # language for CJK runs (picks glyph forms)
    paragraphs: list[str]
    faces: list[list[str]]  # face per character, per paragraph
    segments: list[list[tuple[int, int]]]  # unbreakable (start, end), per paragraph
    # Measurements kept for every fitting try of this text (``fit`` keeps one Context per
    # text, style and language): fonts by (face, size), run advances by (face, text,
    # size), spans' advances and set lines by (paragraph, start, end, size, tracking),
    # and each try's wrapped lines by (size, width, break_words, final). All are exact.
    # The first four depend only on the paragraphs, their faces, the weight, the
    # tracking and the languages, so Contexts that differ in nothing else (a style's
    # other sizes, lines or leading) share them; the last depends on ``segments`` and
    # the rest of the style, so a Context with other segments or style starts its own.
    fonts: dict[tuple[str, int], Any] = field(default_factory=dict)
    widths: dict[tuple[Any, ...], float] = field(default_factory=dict)
    spans: dict[tuple[Any, ...], float] = field(default_factory=dict)
    lines: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    wrapped: dict[tuple[Any, ...], Any] = field(default_factory=dict)


def assign_faces(paragraph: str, ctx_family: str, weight: int, cjk_lang: str) -> list[str]:
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
        prev = faces[k - 1] if k > 0 else None
        if unicodedata.combining(ch) and prev and covers(prev, ch):
            faces[k] = prev
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


def break_allowed(before: str, after: str) -> bool:
    """May a line end with ``before`` and the next begin with ``after``?"""
    if after in NO_BEGIN or before in NO_END:
        return False
    return not (before == after and before in NO_SPLIT_PAIRS)


def unbreakable_segments(
    paragraph: str, cjk_lang: str = "zh-Hans", *, words: bool = True
) -> list[tuple[int, int]]:
    """Unbreakable stretches (start, end) of ``paragraph``; between two consecutive
    segments there is either one space (dropped when the line breaks there) or
    nothing. A segment may hold a space the line must not break at ("Vitamin E:",
    "750 ml"). CJK text breaks between words (``word_starts``), or with ``words=False``
    between any two characters kinsoku allows."""
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
    has_cjk = any(fonts.is_cjk_char(ch) for ch in paragraph)
    starts = set(range(n)) if not words else word_starts(paragraph, cjk_lang) if has_cjk else set()
    # Glue atoms wherever a line must not break between them.
    segments: list[tuple[int, int]] = []
    for start, end in atoms:
        if segments and not _may_break(paragraph, segments[-1], (start, end), starts):
            segments[-1] = (segments[-1][0], end)
        else:
            segments.append((start, end))
    return segments


def _may_break(paragraph: str, before: tuple[int, int], after: tuple[int, int], starts: set[int]) -> bool:
    """May a line end with the segment ``before`` and the next begin with the atom ``after``?"""
    left, right = paragraph[before[0] : before[1]], paragraph[after[0] : after[1]]
    if not break_allowed(left[-1], right[0]):
        return False
    if before[1] < after[0]:  # a space between them: Latin phrases
        token = left.rsplit(" ", 1)[-1]
        unit = right.rstrip(".,;:!?)").lower()
        return not (_SHORT_TOKEN.match(right) or (_NUMBER.match(token) and unit in UNITS))
    if left[-1].isdigit() and fonts.is_cjk_char(right[0]):
        return False  # number + unit: "24小时", "6.7折", "99元"
    if fonts.is_cjk_char(left[-1]) or fonts.is_cjk_char(right[0]):
        return after[0] in starts  # between two words, never inside one
    return True


# A token that must not begin a line: one capital letter with its trailing marks
# ("Vitamin E:", "Type C").
_SHORT_TOKEN = re.compile(r"^[A-Z][^\w\s]*$")
_NUMBER = re.compile(r"^[^\w\s]?[+-]?\d[\d.,]*$")
# Units that stay on their number's line ("750 ml", "24 hours", "1.5 L").
UNITS = frozenset(
    "% ‰ ° °c °f mm cm m km in inch inches ft ml cl dl l ltr oz fl g kg mg lb lbs "
    "h hr hrs hour hours min mins minute minutes s sec secs day days week weeks month months "
    "year years w kw v mah wh kwh gb tb mb kb mp hz khz mhz ghz x pcs pc pack packs piece pieces "
    "cups cup servings caps tabs".split()
)


def word_starts(paragraph: str, cjk_lang: str) -> set[int]:
    """Indices of ``paragraph`` where a word begins, from a segmenter for the language:
    jieba's dictionary words plus the merchant set phrases (``set_phrases.txt``:
    "限时特价", "第二件半价") for Chinese, read in Simplified characters
    (``simplified_for_words``), BudouX phrases for Japanese; Korean breaks
    only at spaces. One-character words stick to a neighbour: a unit to its number
    ("99元"), a Latin letter or a suffix (``SUFFIXES``) to what precedes it ("维生素E",
    "抢购中"), any other to the word after it ("好水杯", "满99元"), or before it at the
    end of a run. A number in Chinese numerals keeps its unit ("二十四小时", "三天")."""
    if cjk_lang == "ko":
        return set()
    if cjk_lang == "ja":
        words, at = [], 0
        for chunk in _budoux_ja().parse(paragraph):
            words.append((at, at + len(chunk)))
            at += len(chunk)
    else:
        # the rules below read the Simplified text too ("搶購中" glues as "抢购中" does)
        paragraph = simplified_for_words(paragraph, cjk_lang)
        words = [(start, end) for _, start, end in _jieba().tokenize(paragraph)]
    found = {start for start, _ in words}
    starts = set(found)
    for i, (start, end) in enumerate(words):
        if end - start != 1 or not paragraph[start].isalnum():
            continue
        ch = paragraph[start]
        prev_ch = paragraph[start - 1] if start else " "
        next_ch = paragraph[end] if end < len(paragraph) else " "
        if not fonts.is_cjk_char(ch) or prev_ch.isdigit() or (ch in SUFFIXES and prev_ch.isalnum()):
            starts.discard(start)  # "维生素E", "99元", "抢购中": with what precedes
        elif next_ch.isalnum():
            starts.discard(end)  # "好水杯", "满99": with what follows
        elif i and prev_ch.isalnum():
            starts.discard(start)  # at the end of a run, with what precedes
    for (start, end), nxt in zip(words, words[1:], strict=False):
        if all(ch in NUMERALS for ch in paragraph[start:end]) and nxt[1] - nxt[0] <= 2:
            starts.discard(end)  # a number in Chinese numerals with its unit: "二十四小时", "三天"
    # Gluing never chains into a run longer than any real word: such runs (strings of
    # one-character words) keep the segmenter's own boundaries.
    bounds = sorted(starts | {len(paragraph)})
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b - a > _LONGEST_GLUED:
            starts |= {k for k in found if a < k < b}
    return starts


_LONGEST_GLUED = 5
NUMERALS = frozenset("零〇一二三四五六七八九十百千万亿两半几")
# One-character words that belong to the word before them: locatives, particles,
# modal endings and measure words ("抢购中", "好喝的", "上市啦", "两件").
SUFFIXES = frozenset(
    "中上下里内外的地得了着过吗呢吧啦呀哦嘛们元折件个只支瓶盒袋套款天年次倍份箱罐片粒颗台部张双对条"
)


def simplified_for_words(paragraph: str, cjk_lang: str) -> str:
    """``paragraph`` in Simplified characters, one for one, for jieba's dictionary, which
    is Simplified: Traditional words it lacks ("搶購", "時長", "製造") would be cut
    inside. Only the word boundaries are taken from it; the lines keep the merchant's
    characters. OpenCC converts by phrases; should a phrase map to one of another
    length, each character is converted alone and one that does not map to a single
    character stays as it is, so every index still points at the same character."""
    converter = _to_simplified(cjk_lang)
    simplified = converter.convert(paragraph)
    if len(simplified) == len(paragraph):
        return simplified
    return "".join(s if len(s := converter.convert(ch)) == 1 else ch for ch in paragraph)


# OpenCC's conversion per Chinese convention: Taiwan's and Hong Kong's variant forms
# first, then Traditional to Simplified; Simplified text passes through unchanged.
_TO_SIMPLIFIED = {"zh-Hant": "tw2s", "zh-HK": "hk2s"}


@cache
def _to_simplified(cjk_lang: str) -> opencc.OpenCC:
    return opencc.OpenCC(_TO_SIMPLIFIED.get(cjk_lang, "t2s"))


SET_PHRASES_FILE = Path(__file__).with_name("set_phrases.txt")


def set_phrases() -> list[str]:
    """The merchant set phrases (``set_phrases.txt``) Chinese lines keep whole when they fit."""
    lines = SET_PHRASES_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@cache
def _jieba() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()  # loads the dictionary once per process
    # Traditional phrases as the segmenter reads them ("全館免運" as "全馆免运")
    phrases = {simplified_for_words(phrase, "zh-Hant") for phrase in set_phrases()}
    for phrase in sorted(phrases):
        # jieba's suggested frequency only just beats the phrase's own pieces, so a word
        # across the phrase's edge can still win ("满减价" -> "满/减价"); a set phrase counts
        # as a common word instead.
        tokenizer.add_word(phrase, max(tokenizer.suggest_freq(phrase), _PHRASE_FREQ))
    return tokenizer


_PHRASE_FREQ = 5_000


@cache
def _budoux_ja() -> budoux.Parser:
    return budoux.load_default_japanese_parser()
