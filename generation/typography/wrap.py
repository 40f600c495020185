"""Breaking a paragraph into lines at one size: greedy, balanced, or words split.

Greedy filling gives the fewest lines; the chosen size's lines are then re-broken
evenly (``style.balance``, like CSS ``text-wrap: balance``) with the same count.
"""

from __future__ import annotations

import math

from generation.typography import fonts
from generation.typography.breaks import Context, break_allowed
from generation.typography.shaping import SetLine, set_line, span_advance

# --- 3. breaking lines ------------------------------------------------------------


def split_wide(
    ctx: Context, p: int, segments: list[tuple[int, int]], size: int, track: float, limit: int
) -> list[tuple[int, int]]:
    """Last resort: cut each segment wider than ``limit`` between characters, at the
    last place kinsoku allows that keeps the piece within ``limit`` (anywhere if none)."""
    paragraph = ctx.paragraphs[p]
    out: list[tuple[int, int]] = []
    for start, end in segments:
        while start < end and span_advance(ctx, p, start, end, size, track) > limit:
            cut = start + 1
            while cut + 1 < end and span_advance(ctx, p, start, cut + 1, size, track) <= limit:
                cut += 1
            allowed = [
                k
                for k in range(cut, start, -1)
                if paragraph[k - 1] != " " and break_allowed(paragraph[k - 1], paragraph[k])
            ]
            cut = allowed[0] if allowed else cut
            out.append((start, cut))
            start = cut
        if start < end:
            out.append((start, end))
    return out


def fill_by_advance(
    ctx: Context, p: int, segments: list[tuple[int, int]], i: int, size: int, track: float, limit: int
) -> int:
    """The end (exclusive) of the segments a greedy line of paragraph ``p`` starting at
    segment ``i`` takes by advances alone: as many as fit ``limit``, and always one."""
    j = i + 1
    while j < len(segments) and span_advance(ctx, p, segments[i][0], segments[j][1], size, track) <= limit:
        j += 1
    return j


def wrap_greedy(
    ctx: Context, p: int, segments: list[tuple[int, int]], size: int, track: float, limit: int
) -> list[SetLine] | None:
    """Greedy lines (fewest lines) of paragraph ``p`` no wider than ``limit``; None if a
    segment alone is wider."""
    lines: list[SetLine] = []
    i = 0
    while i < len(segments):
        j = fill_by_advance(ctx, p, segments, i, size, track, limit)
        line = set_line(ctx, p, segments[i][0], segments[j - 1][1], size, track)
        # Ink overhang can push an advance-fitting line past the box: give back words.
        while line.width > limit and j - i > 1:
            j -= 1
            line = set_line(ctx, p, segments[i][0], segments[j - 1][1], size, track)
        if line.width > limit:
            return None
        lines.append(line)
        i = j
    return lines


def lone_char(text: str) -> bool:
    """True when ``text`` reads as one CJK character: a single letter or digit, and
    CJK, with at most the punctuation kinsoku glued to it ("随", "邮！", "「新")."""
    letters = [ch for ch in text if ch.isalnum()]
    return len(letters) == 1 and fonts.is_cjk_char(letters[0])


def balanced(
    ctx: Context,
    p: int,
    segments: list[tuple[int, int]],
    count: int,
    size: int,
    track: float,
    limit: int,
) -> tuple[list[SetLine], int] | None:
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
        return lone_char(paragraph[segments[i][0] : segments[j - 1][1]])

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
                width = span_advance(ctx, p, segments[i][0], segments[j - 1][1], size, track)
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
    lines = [set_line(ctx, p, segments[i][0], segments[j - 1][1], size, track) for i, j in reversed(bounds)]
    if any(line.width > limit for line in lines):
        return None
    return lines, int(best[count][n][0])


def merchant_phrases(paragraph: str, segments: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Segments merged wherever no space separates them: the merchant's own phrases
    ("全新 iPhone 15 保护壳" -> 全新 | iPhone | 15 | 保护壳)."""
    merged: list[tuple[int, int]] = []
    for start, end in segments:
        if merged and paragraph[merged[-1][1]] != " ":
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def wrap_paragraph(
    ctx: Context, p: int, size: int, track: float, limit: int, *, break_words: bool, final: bool
) -> tuple[list[SetLine] | None, int]:
    """Lines of paragraph ``p`` and the lone characters left in them (counted only
    when balancing). While fitting, greedy filling (it gives the fewest lines). For
    the chosen size (``final``), the same number of lines re-broken: evenly
    (style.balance) or else greedily at spaces when that costs no line."""
    segments = ctx.segments[p]
    if break_words:
        segments = split_wide(ctx, p, segments, size, track, limit)
    lines = wrap_greedy(ctx, p, segments, size, track, limit)
    if lines is None or not final or len(lines) < 2:
        return lines, 0
    if ctx.style.balance:
        return balanced(ctx, p, segments, len(lines), size, track, limit) or (lines, 0)
    phrases = merchant_phrases(ctx.paragraphs[p], segments)
    by_phrase = wrap_greedy(ctx, p, phrases, size, track, limit)
    if by_phrase is not None and len(by_phrase) == len(lines):
        return by_phrase, 0
    return lines, 0
