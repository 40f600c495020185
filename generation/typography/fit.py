"""Fitting a text into a box: the largest size whose lines fit, then even breaks.

- Fitting tries ``max_size``, then about 4 % smaller each step down to ``min_size``,
  and takes the first size whose lines all fit the box width, number at most
  ``max_lines`` and whose ink fits the box height. Only when nothing fits and a word
  is wider than the box even at ``min_size`` is that word broken between characters,
  at ``min_size``. Otherwise TextDoesNotFit.
- The fitted lines are then re-broken evenly (``style.balance``): same number of
  lines, first fewest lone CJK characters (a one-character line such as an orphan
  "邮", or one character of a merchant's space-separated phrase cut off from the
  rest: "保冷 随 / 身好水杯"), then least raggedness, with those phrases kept whole
  where that stays even. If even lines come out taller (a descender moved down), or
  a lone character is unavoidable at the fitted size, up to two more shrink steps are
  tried before keeping what the fitted size gives. Where the words allow no even break
  (a paragraph's shortest line under ``EVEN_LINES`` of its longest: "双层真空 /
  不锈钢，750毫升"), fewer lines down to ``_EVEN_SHRINK`` of the fitted size are taken.
- Where the merchant separated CJK phrases with spaces and the fitted lines still break
  inside one ("夜间修护 / 面霜 / 一夜焕亮"), the largest size down to ``PHRASE_SHRINK`` of
  the fitted one whose lines break only at the spaces is taken instead ("夜间修护面霜 /
  一夜焕亮"); a phrase too long for that is still cut between words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

from generation.errors import InvalidSpec
from generation.typography import fonts
from generation.typography.block import TextBlock, TextDoesNotFit, TextLine, TextStyle
from generation.typography.breaks import Context, assign_faces, split_paragraphs, unbreakable_segments
from generation.typography.shaping import SetLine, face_font, piece_ink, shaping_for, span_advance, span_ink
from generation.typography.wrap import fill_by_advance, wrap_paragraph

SHRINK_STEP = 0.96  # each fitting step is about 4 % smaller
# Sizes whose width estimate (scaled from max_size), or whose height (scaled from a try
# that was too tall on the fewest lines, or the least any lines could take, from the
# words' ink at max_size) overshoots the box by more than this are skipped without
# wrapping; the scaled estimate never overshoots the truth by this much, so skipping
# changes no result, only the time taken.
_ESTIMATE_SLACK = 1.10
_FINISH_SHRINK = 0.92  # even line breaks may cost up to two shrink steps
# Where the merchant separated CJK phrases with spaces ("夜间修护面霜 一夜焕亮"), a line
# break inside a phrase ("夜间修护 / 面霜 / 一夜焕亮") is worth this much size to avoid:
# the largest size down to this share of the fitted one that breaks only at the spaces.
PHRASE_SHRINK = 0.55
# Letter-spaced text: sizes at which two characters of one word already span more ink
# height than the box are skipped without wrapping (``_tall_pair``); exact, so skipping
# changes no result either.
_SKIP_TALL_PAIRS = True
# Letter-spaced text: sizes whose lines, filled by advances alone, are already too many
# or too tall for the box are skipped before setting them (``_Prepared.least_height``);
# exact as well.
_SKIP_LEAST_LINES = True


@dataclass
class _Attempt:
    lines: list[SetLine | None]  # None stands for an empty paragraph
    height: int
    first_baseline: int
    reason: str  # why it does not fit, "" when it fits
    lone: int = 0  # lone characters balancing could not avoid (see balanced)
    counts: tuple[int, ...] = ()  # lines per paragraph


def _attempt(
    ctx: Context,
    size: int,
    box: tuple[int, int],
    *,
    break_words: bool = False,
    final: bool = False,
) -> _Attempt:
    limit, box_h = box
    key = (size, limit, break_words, final)
    wrapped = ctx.wrapped.get(key)
    if wrapped is None:  # the lines depend on the width only: kept for tries in other heights
        wrapped = ctx.wrapped[key] = _wrap(ctx, size, limit, break_words=break_words, final=final)
    if wrapped.reason or wrapped.height <= box_h:
        return wrapped
    return replace(wrapped, reason=f"it is {wrapped.height} px tall")


def _wrap(ctx: Context, size: int, limit: int, *, break_words: bool, final: bool) -> _Attempt:
    """``ctx``'s lines at ``size`` no wider than ``limit``, their height and first baseline
    (reason "" however tall they are), or why there are none. Shared: never modified."""
    style = ctx.style
    track = style.tracking * size
    lh = round(size * style.line_height)
    lines: list[SetLine | None] = []
    counts: list[int] = []
    lone = 0
    for p, paragraph in enumerate(ctx.paragraphs):
        if not paragraph:
            lines.append(None)
            counts.append(1)
            continue
        wrapped, awkward = wrap_paragraph(ctx, p, size, track, limit, break_words=break_words, final=final)
        lone += awkward
        if wrapped is None:
            return _Attempt([], 0, 0, f"a word is wider than {limit} px")
        lines.extend(wrapped)
        counts.append(len(wrapped))
        if len(lines) > style.max_lines:
            return _Attempt([], 0, 0, f"it needs more than {style.max_lines} lines")
    tops = [i * lh + line.top for i, line in enumerate(lines) if line is not None]
    bottoms = [i * lh + line.bottom for i, line in enumerate(lines) if line is not None]
    first_baseline = -min(tops)
    height = max(bottoms) + first_baseline
    return _Attempt(lines, height, first_baseline, "", lone, tuple(counts))


def _sizes(style: TextStyle) -> list[int]:
    sizes = [style.max_size]
    while sizes[-1] > style.min_size:
        sizes.append(max(style.min_size, min(sizes[-1] - 1, math.floor(sizes[-1] * SHRINK_STEP))))
    return sizes


def _shorten(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- 4. the public calls ----------------------------------------------------------


def layout_text(
    text: str, box: tuple[int, int], style: TextStyle, *, lang: str | None = None, ellipsis: bool = False
) -> TextBlock:
    """Fit ``text`` into a ``box`` of (width, height) px.

    ``lang`` is a BCP 47 tag ("en", "de", "zh-Hans", "zh-Hant", "ja", ...); without it
    Latin runs are shaped as English and CJK runs as Simplified Chinese unless the text
    holds kana, hangul or mostly Traditional-only characters.

    With ``ellipsis``, text that does not fit even at the minimum size is shortened
    at a break opportunity and ends with "…" (``TextBlock.truncated``) instead of
    raising TextDoesNotFit, as long as its first word (or, failing that, one
    character and the ellipsis) fits.

    Raises InvalidSpec (empty text, bad box), MissingGlyph (characters no face has,
    e.g. emoji; variation selectors are dropped silently) and TextDoesNotFit.

    Results are kept per process (``clear_fitted``): a poster's layout tries fit the same
    words in the same box many times over, and a set repeats them.
    """
    fitted = _fitted(text, (box[0], box[1]), style, lang, ellipsis)
    if isinstance(fitted, TextDoesNotFit):
        raise TextDoesNotFit(str(fitted), text=fitted.text, box=fitted.box, min_size=fitted.min_size)
    return fitted


def clear_fitted() -> None:
    """Forget the kept ``layout_text`` results and the measurements behind them."""
    _fitted.cache_clear()
    _prepared.cache_clear()
    _parsed.cache_clear()


# A TextBlock and its style are frozen, so one result can be handed out many times.
@lru_cache(maxsize=4096)
def _fitted(
    text: str, box: tuple[int, int], style: TextStyle, lang: str | None, ellipsis: bool
) -> TextBlock | TextDoesNotFit:
    """``layout_text``'s block, or the TextDoesNotFit it raises (kept without its traceback)."""
    try:
        return _layout_text(text, box, style, lang, ellipsis)
    except TextDoesNotFit as exc:
        return TextDoesNotFit(str(exc), text=exc.text, box=exc.box, min_size=exc.min_size)


def _layout_text(
    text: str, box: tuple[int, int], style: TextStyle, lang: str | None, ellipsis: bool
) -> TextBlock:
    if not ellipsis:
        return _layout(text, box, style, lang, break_words=True)
    try:
        return _layout(text, box, style, lang, break_words=False)
    except TextDoesNotFit:
        pass
    # shortened at a word rather than broken inside one; broken only if not even the
    # first word fits with the ellipsis, and then shortened between characters
    shortened = _shortened(text, box, style, lang, break_words=False)
    if shortened is not None:
        return shortened
    try:
        return _layout(text, box, style, lang, break_words=True)
    except TextDoesNotFit:
        shortened = _shortened(text, box, style, lang, break_words=True)
        if shortened is None:
            raise
        return shortened


def _shortened(
    text: str, box: tuple[int, int], style: TextStyle, lang: str | None, *, break_words: bool
) -> TextBlock | None:
    """The longest start of ``text`` that fits with "…": cut at a break opportunity, or
    with ``break_words`` after any character (and its lines broken inside words)."""
    flat = " ".join(split_paragraphs(text, replace(style, uppercase=False)))
    cjk_lang = fonts.cjk_lang_for(flat, fonts.normalize_lang(lang))
    if break_words:
        cuts = list(range(1, len(flat)))
    else:
        cuts = [end for _, end in unbreakable_segments(flat, cjk_lang)][:-1]
    best: TextBlock | None = None
    lo, hi = 0, len(cuts) - 1
    while lo <= hi:  # longer starts fit less well: binary search for the longest that fits
        mid = (lo + hi) // 2
        candidate = flat[: cuts[mid]].rstrip(" ,.;:、，。；：-–—") + "…"
        try:
            best = replace(_layout(candidate, box, style, lang, break_words=break_words), truncated=True)
            lo = mid + 1
        except TextDoesNotFit:
            hi = mid - 1
    return best


def _layout(
    text: str, box: tuple[int, int], style: TextStyle, lang: str | None, *, break_words: bool
) -> TextBlock:
    # 1. check inputs
    width, height = box
    if width < 1 or height < 1:
        raise InvalidSpec(f"Text box {width}x{height} px must be at least 1x1 px.")

    # 2. faces per character (fails on emoji before any fitting work), segments and
    # estimates: the same for every box, made once per text, style and language
    prep = _prepared(text, style, lang)
    ctx, paragraphs, sizes = prep.ctx, prep.ctx.paragraphs, prep.sizes
    style = ctx.style  # with the leading its text needs (``with_leading``)

    # 3. shrink until it fits, without breaking words
    tall: tuple[int, int] | None = None  # (size, height) of a try too tall in the fewest lines
    for n, size in enumerate(sizes):
        if _hopeless(prep, size, box, tall):
            continue
        attempt = _attempt(ctx, size, box)
        if not attempt.reason:
            block = _finish(ctx, attempt, sizes[n:], box, broken_words=False)
            if prep.phrased and not _phrases_whole(paragraphs, block):
                return _phrases_kept(prep.phrases(), sizes[n:], box) or replace(block, broken_phrases=True)
            return block
        if attempt.height > height and len(attempt.lines) == len(paragraphs):
            # Each paragraph on one line already: smaller sizes set the same lines, whose
            # ink height scales with the size (hinting moves it a pixel or two), so sizes
            # whose scaled height overshoots the box by the slack are skipped unwrapped.
            tall = (size, attempt.height)

    # 4. last resort at the minimum size: CJK words broken between characters (kinsoku
    # kept), then words wider than the box cut
    attempt = _attempt(ctx, style.min_size, box)
    loose = prep.loose() if break_words else ctx
    for trial, split in ((loose, False), (loose, True)) if break_words else ():
        if trial.segments == ctx.segments and not split:
            continue
        broken = _attempt(trial, style.min_size, box, break_words=split)
        if not broken.reason:
            return _finish(trial, broken, [style.min_size], box, broken_words=True)
        attempt = broken
    raise TextDoesNotFit(
        f"The text {_shorten(text)!r} does not fit a {width}x{height} px box in at most "
        f"{style.max_lines} line(s) even at the minimum size of {style.min_size} px "
        f"({attempt.reason}). Shorten the text, allow more lines or use a larger box.",
        text=text,
        box=(width, height),
        min_size=style.min_size,
    )


def _hopeless(prep: _Prepared, size: int, box: tuple[int, int], tall: tuple[int, int] | None = None) -> bool:
    """Whether fitting skips ``size`` in ``box`` without setting lines: its estimates say
    the lines could not fit (``tall``: the size and height of a try too tall in the
    fewest lines). Every test but ``tall``'s skips a size in a lower box of the same
    width too."""
    width, height = box
    style = prep.ctx.style
    room = width * _ESTIMATE_SLACK * style.max_size / size  # box width at max_size scale
    needed_lines = sum(max(1, math.ceil(total / room)) for total in prep.totals)
    if prep.longest > room or needed_lines > style.max_lines:
        return True
    if tall is not None and tall[1] * size / tall[0] > height * _ESTIMATE_SLACK + 2:
        return True
    # Any setting is at least as tall as its tallest word, and as its fewest lines
    # apart with the lowest-reaching and the highest-reaching word on the last and
    # first of them; ink heights scale with the size like the widths above.
    scale = size / style.max_size
    least = max(
        prep.tallest * scale, (needed_lines - 1) * round(size * style.line_height) + prep.spread * scale
    )
    if least > height * _ESTIMATE_SLACK + 2:
        return True
    if prep.pair is not None and _pair_height(prep.ctx, prep.pair, size) > height:
        return True
    return bool(style.tracking and _SKIP_LEAST_LINES and prep.least_height(size, width) > height)


def may_reach(
    text: str, box: tuple[int, int], style: TextStyle, size: int, *, lang: str | None = None
) -> bool:
    """Whether ``layout_text`` (without ``ellipsis``) may set ``text`` at ``size`` px or
    larger in ``box``, or in any box as wide and no taller. False only where it sets it
    smaller (or raises TextDoesNotFit): fitting never comes out larger than the first
    size it does not skip (``_hopeless``), and its last resort is the minimum size. Told
    from the estimates of the sizes from ``size`` up, without setting lines."""
    if style.min_size >= size:
        return True
    prep = _prepared(text, style, lang)
    return any(not _hopeless(prep, s, box) for s in prep.sizes if s >= size)


@dataclass
class _Prepared:
    """What fitting one text needs whatever the box: its Context (with the measurements
    every try adds to it), the sizes to try and the estimates that skip hopeless ones."""

    ctx: Context
    sizes: list[int]
    longest: float  # widest segment at max_size (``_estimates``)
    totals: list[float]  # each paragraph's segment widths at max_size
    tallest: int  # (``_ink_estimates``)
    spread: int
    pair: tuple[int, int, int] | None  # (``_tall_pair``), letter-spaced text only
    _loose: Context | None = None
    _phrases: Context | None = None
    _least: dict[tuple[int, int], float] = field(default_factory=dict)

    def least_height(self, size: int, limit: int) -> float:
        """For letter-spaced text: a height no greedy setting at ``size`` in ``limit`` px
        is lower than, measured without the pair advances that place each character
        (most of what a try costs). Greedy lines may only give words back to the next
        line (ink overhang), never take more than the advances allow, and a line that
        starts later reaches at least as far (dropping words from a line's start never
        widens it), so there are at least as many lines as filling by advances alone
        gives. The first line holds the first segment and the last line the last one;
        each character is drawn on its own, so a line's ink reaches at least as high
        (low) as those segments' characters. Fewer lines than that, or more than
        ``max_lines``, never fit: such sizes are skipped without setting lines, which
        changes no result. -inf where a bound is not known (an end segment without ink)."""
        key = (size, limit)
        if key not in self._least:
            self._least[key] = _least_height(self.ctx, size, limit)
        return self._least[key]

    @property
    def phrased(self) -> bool:
        """Whether the merchant separated CJK phrases with spaces ("夜间修护面霜 一夜焕亮")."""
        return any(" " in p and any(fonts.is_cjk_char(ch) for ch in p) for p in self.ctx.paragraphs)

    def phrases(self) -> Context:
        """The Context whose only breaks are the merchant's spaces: each space-separated
        phrase one unbreakable segment. Its own wrapped lines, the same measurements."""
        if self._phrases is None:
            ctx = self.ctx
            segments = []
            for paragraph_segments in ctx.segments:
                glued: list[tuple[int, int]] = []
                for start, end in paragraph_segments:
                    if glued and glued[-1][1] == start:  # no space between them: one phrase
                        glued[-1] = (glued[-1][0], end)
                    else:
                        glued.append((start, end))
                segments.append(glued)
            self._phrases = replace(ctx, segments=segments, wrapped={})
        return self._phrases

    def loose(self) -> Context:
        """The Context with CJK words breakable between any two characters (kinsoku
        kept): the last resort's. Its own wrapped lines (they depend on the segments),
        the same measurements."""
        if self._loose is None:
            ctx = self.ctx
            segments = [unbreakable_segments(p, ctx.cjk_lang, words=False) for p in ctx.paragraphs]
            self._loose = replace(ctx, segments=segments, wrapped={})
        return self._loose


@lru_cache(maxsize=256)
def _prepared(text: str, style: TextStyle, lang: str | None) -> _Prepared:
    """``_Prepared`` for ``text``; raises InvalidSpec (empty text) and MissingGlyph. Kept per
    process (``clear_fitted``): a layout's tries fit the same words in many boxes."""
    # the layout's tries set the same words in styles that differ only in their sizes
    # (a smaller product, compact spacing, larger type): those share one parsing and
    # its measurements
    base = _parsed(text, _measuring(style), lang)
    style = with_leading(style, base.paragraphs)
    ctx = replace(base, style=style, wrapped={})
    longest, totals = _estimates(ctx, style.max_size)
    tallest, spread = _ink_estimates(ctx, style.max_size)
    pair = _tall_pair(ctx, style.max_size) if style.tracking and _SKIP_TALL_PAIRS else None
    return _Prepared(ctx, _sizes(style), longest, totals, tallest, spread, pair)


def _measuring(style: TextStyle) -> TextStyle:
    """``style`` reduced to what parsing and measuring a text read: its family, weight,
    case and tracking (the rest at their defaults)."""
    return TextStyle(
        family=style.family, weight=style.weight, uppercase=style.uppercase, tracking=style.tracking
    )


@lru_cache(maxsize=256)
def _parsed(text: str, style: TextStyle, lang: str | None) -> Context:
    """The Context of ``text`` in a ``_measuring`` style: paragraphs, faces, segments and
    the measurements every style that reduces to it shares (``Context``); raises
    InvalidSpec (empty text) and MissingGlyph. Kept with ``_prepared``."""
    canonical = fonts.normalize_lang(lang)
    paragraphs = split_paragraphs(text, style)
    if not paragraphs:
        raise InvalidSpec("Poster text is empty.")
    cjk_lang = fonts.cjk_lang_for(text, canonical)
    latin_lang = canonical if canonical and canonical not in fonts.CJK_LANGS else "en"
    faces = [assign_faces(p, style.family, style.weight, cjk_lang) for p in paragraphs]
    return Context(
        style=style,
        lang=canonical,
        latin_lang=latin_lang,
        cjk_lang=cjk_lang,
        paragraphs=paragraphs,
        faces=faces,
        segments=[unbreakable_segments(p, cjk_lang) for p in paragraphs],
    )


def _least_height(ctx: Context, size: int, limit: int) -> float:
    """``_Prepared.least_height``: inf when filling by advances already needs more than
    ``max_lines`` lines."""
    style = ctx.style
    track = style.tracking * size
    count = 0
    for p, paragraph in enumerate(ctx.paragraphs):
        segments = ctx.segments[p]
        if not paragraph or not segments:
            count += 1
            continue
        i = 0
        while i < len(segments):  # ``wrap_greedy``'s filling, without setting the lines
            i = fill_by_advance(ctx, p, segments, i, size, track, limit)
            count += 1
        if count > style.max_lines:
            return math.inf
    last = len(ctx.paragraphs) - 1
    if not ctx.segments[0] or not ctx.segments[last]:
        return -math.inf
    first_top, first_bottom = span_ink(ctx, 0, *ctx.segments[0][0], size, track)
    last_top, last_bottom = span_ink(ctx, last, *ctx.segments[last][-1], size, track)
    if (first_top, first_bottom) == (0, 0) or (last_top, last_bottom) == (0, 0):
        return -math.inf  # no ink: no bound
    return (count - 1) * round(size * style.line_height) + last_bottom - first_top


CJK_LINE_HEIGHT = 1.3  # the least baseline-to-baseline distance (em) of lines mostly CJK


def with_leading(style: TextStyle, paragraphs: list[str]) -> TextStyle:
    """``style`` with the leading its text needs: Chinese, Japanese and Korean characters
    fill their whole em square, where Latin lower case fills about half of it, so a
    display line height of 0.92-1.06 em that reads well in English packs CJK lines
    edge to edge; text whose characters are at least half CJK gets ``CJK_LINE_HEIGHT``
    at least (a template's larger line height is kept)."""
    chars = [ch for paragraph in paragraphs for ch in paragraph if not ch.isspace()]
    cjk = sum(1 for ch in chars if fonts.is_cjk_char(ch))
    if style.line_height >= CJK_LINE_HEIGHT or 2 * cjk < len(chars):
        return style
    return replace(style, line_height=CJK_LINE_HEIGHT)


def _estimates(ctx: Context, size: int) -> tuple[float, list[float]]:
    """Widest segment and each paragraph's summed segment widths at ``size`` (spaces
    left out). Advances scale about linearly with size, so these give a lower bound on
    what smaller sizes need; used only to skip hopeless sizes."""
    track = ctx.style.tracking * size
    longest = 0.0
    totals: list[float] = []
    for p in range(len(ctx.paragraphs)):
        widths = [span_advance(ctx, p, a, b, size, track) for a, b in ctx.segments[p]]
        longest = max([longest, *widths])
        totals.append(sum(widths))
    return longest, totals


def _ink_estimates(ctx: Context, size: int) -> tuple[int, int]:
    """At ``size``: the tallest segment's ink height, and the lowest bottom of any
    segment less the highest top of any (a line holds at least one segment, so no
    last line reaches less far down and no first line less far up). Used, scaled, like
    ``_estimates`` to skip sizes whose lines could never fit the box's height."""
    track = ctx.style.tracking * size
    tallest, low, high = 0, math.inf, -math.inf
    for p in range(len(ctx.paragraphs)):
        for a, b in ctx.segments[p]:
            top, bottom = span_ink(ctx, p, a, b, size, track)
            tallest, low, high = max(tallest, bottom - top), min(low, bottom), max(high, top)
    return tallest, int(low - high) if math.isfinite(low) else 0


def _char_ink(ctx: Context, p: int, k: int, size: int) -> tuple[int, int, int, int] | None:
    """Ink box of character ``k`` of paragraph ``p`` drawn on its own at ``size``."""
    face = ctx.faces[p][k]
    font, _, _ = face_font(ctx, face, size)
    language, features = shaping_for(ctx, face)
    return piece_ink(font, face, ctx.paragraphs[p][k], language, features)


def _tall_pair(ctx: Context, size: int) -> tuple[int, int, int] | None:
    """For letter-spaced text (every character is a piece of its own, drawn and measured
    alone): (paragraph, the character reaching highest, the one reaching lowest) of the
    segment whose ink is tallest at ``size``. The two always share a line, so at any size
    no setting is lower than their ink spans: ``_pair_height`` tells a try that would be
    too tall from two ink boxes, where the try costs every character's pair advances."""
    best: tuple[int, int, int] | None = None
    tallest = 0
    for p, paragraph in enumerate(ctx.paragraphs):
        inks = {k: _char_ink(ctx, p, k, size) for k in range(len(paragraph)) if paragraph[k].strip()}
        for a, b in ctx.segments[p]:
            inked = [k for k in range(a, b) if inks.get(k) is not None]
            if not inked:
                continue
            top = min(inked, key=lambda k: inks[k][1])  # type: ignore[index]
            bottom = max(inked, key=lambda k: inks[k][3])  # type: ignore[index]
            span = inks[bottom][3] - inks[top][1]  # type: ignore[index]
            if span > tallest:
                best, tallest = (p, top, bottom), span
    return best


def _pair_height(ctx: Context, pair: tuple[int, int, int], size: int) -> int:
    """The ink height the two characters of ``_tall_pair`` span at ``size`` (0 if either
    has no ink there)."""
    p, top, bottom = pair
    high, low = _char_ink(ctx, p, top, size), _char_ink(ctx, p, bottom, size)
    return 0 if high is None or low is None else low[3] - high[1]


def _phrases_whole(paragraphs: list[str], block: TextBlock) -> bool:
    """True when ``block`` breaks its lines only at the spaces of ``paragraphs`` (the
    lines drop the space they break at) or at a paragraph's end."""
    lines = iter(block.lines)
    for paragraph in paragraphs:
        pos = 0
        while pos < len(paragraph):
            line = next(lines, None)
            if line is None or not paragraph.startswith(line.text, pos):
                return True  # not lines of these paragraphs (cannot happen): leave them be
            pos += len(line.text)
            if pos < len(paragraph):
                if paragraph[pos] != " ":
                    return False
                pos += 1
        if not paragraph:
            next(lines, None)
    return True


def _phrases_kept(phrases: Context, sizes: list[int], box: tuple[int, int]) -> TextBlock | None:
    """The largest setting, down to ``PHRASE_SHRINK`` of ``sizes[0]`` (the size the words
    fit at), whose lines break only at the merchant's spaces; None if none."""
    for size in sizes:
        if size < sizes[0] * PHRASE_SHRINK:
            break
        attempt = _attempt(phrases, size, box)
        if not attempt.reason:
            return _finish(phrases, attempt, [s for s in sizes if s <= size], box, broken_words=False)
    return None


def _finish(
    ctx: Context, greedy: _Attempt, sizes: list[int], box: tuple[int, int], *, broken_words: bool
) -> TextBlock:
    """Re-break the fitted lines evenly. ``sizes[0]`` is the size greedy filling fits
    at; even lines can be a little taller (a descender moved to the last line), and
    then one or two steps smaller (at most ``_FINISH_SHRINK``) beat a lone last word.
    Likewise for lone CJK characters (see ``balanced``) that no break at the fitted
    size avoids: where the box is tight, "24小时 / 保冷 随 / 身好水杯" becomes
    "24小时 / 保冷 随身 / 好水杯" a step smaller; if no size in reach is rid of them,
    the first size that fits is kept as it is. Lines the words allow no even break for
    give way to fewer lines a little smaller (``_evener``)."""
    kept: tuple[_Attempt, int] | None = None
    for size in sizes:
        if size < sizes[0] * _FINISH_SHRINK:
            break
        if size == sizes[0] and not broken_words and len(greedy.lines) == len(ctx.paragraphs):
            final = greedy  # one line per paragraph: nothing to re-break, the same lines again
        else:
            final = _attempt(ctx, size, box, break_words=broken_words, final=True)
        if final.reason:
            continue
        if not final.lone:
            smaller = [s for s in sizes if s < size and s >= sizes[0] * _EVEN_SHRINK]
            final, size = _evener(ctx, final, size, smaller, box, broken_words=broken_words)
            return _block(ctx, final, size, broken_words=broken_words)
        kept = kept or (final, size)
    if kept is not None:
        return _block(ctx, kept[0], kept[1], broken_words=broken_words)
    return _block(ctx, greedy, sizes[0], broken_words=broken_words)


# Lines of a paragraph whose shortest is under this share of its longest read as lopsided
# ("双层真空 / 不锈钢，750毫升", 128 and 247 px): where no break into as many lines is
# even (the words allow no other), fewer lines a step or two smaller are taken.
EVEN_LINES = 0.6
_EVEN_SHRINK = 0.9  # of the size the words fit at: the smallest such fewer lines may be set at


def _evenness(attempt: _Attempt) -> float:
    """The least share of its longest line that a paragraph's shortest takes (1.0 where
    every paragraph is on one line)."""
    worst, at = 1.0, 0
    for count in attempt.counts:
        widths = [line.width for line in attempt.lines[at : at + count] if line is not None]
        if len(widths) > 1 and max(widths) > 0:
            worst = min(worst, min(widths) / max(widths))
        at += count
    return worst


def _evener(
    ctx: Context, final: _Attempt, size: int, smaller: list[int], box: tuple[int, int], *, broken_words: bool
) -> tuple[_Attempt, int]:
    """``final`` (at ``size``), or where its lines are lopsided (``EVEN_LINES``), the
    largest of the ``smaller`` sizes that sets the text in fewer lines, no lone character
    and lines no more lopsided."""
    evenness = _evenness(final)
    if evenness >= EVEN_LINES:
        return final, size
    for smaller_size in smaller:
        attempt = _attempt(ctx, smaller_size, box, break_words=broken_words, final=True)
        if attempt.reason or attempt.lone or len(attempt.lines) >= len(final.lines):
            continue
        if _evenness(attempt) >= evenness:
            return attempt, smaller_size
    return final, size


def _block(ctx: Context, attempt: _Attempt, size: int, *, broken_words: bool) -> TextBlock:
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
