"""Poster layout: template data + size -> a concrete box for every element.

Steps (``_solve``): the content box (canvas less margins and the size's UI safe
zones); the ribbon and logo claim their space; the product region, cut back from them,
gets the product (``compose.fit_box``); decorative shapes; the text groups, each in
its region cut back from what is placed; the badge on its product's corner
(``marks.badge_slots``), or, where the words took the room at both top corners, the
badge on its corner first and the words set again clear of it; no room even so: the
next fallback step (a smaller product). Last, the chosen layout's badge slides onto the
product's visible corner where that is free (``_on_visible_corner``). Text never overlaps the product by construction: group regions are
cut back from the product box by the variant's gaps, and the badge is only put where
the dilated product matte is clear. ``checks.py`` verifies all of it on the pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from PIL import Image

from generation import compose
from generation.errors import InvalidSpec
from generation.posters.checks import min_text_px
from generation.posters.geometry import (
    Keepout,
    box_hits,
    clamp_into,
    intersects,
    keepout_margin,
    resolve_edge,
    resolve_region,
    trim,
    union_box,
)
from generation.posters.items import WIDE, headline_reaches, layout_group, mostly_cjk
from generation.posters.marks import BADGE_SCALES, badge_corners, badge_slots, on_visible_corner, ribbon_slots
from generation.posters.sizes import Insets, SizePreset
from generation.posters.slots import Content, Slot, TypeScale, overflow
from generation.posters.template import LogoPlacement, ShapeSpec, Template, Variant
from generation.safe_zones import content_box
from generation.types import Box, PlacedProduct
from generation.typography import TextDoesNotFit


@dataclass
class PosterLayout:
    template: Template
    variant: Variant
    size: SizePreset
    content: Box
    unit: TypeScale  # font px per template px (shorter side / 1080 * type scale)
    short: int
    product_box: Box
    product_region: Box
    product: _Product  # the cutout, resized to a box when one is asked for
    keepout: Keepout  # the matte grown by keepout_margin (a canvas-sized mask on demand)
    slots: list[Slot]
    shapes: list[dict[str, Any]]  # resolved decorative shapes
    groups: list[Box]  # the boxes the groups' items actually take
    fallbacks: list[str]

    @property
    def placed(self) -> PlacedProduct:
        """The cutout after its one resize, at ``product_box``: resized on first use, as
        a layout's tries need only its matte."""
        return self.product.placed(self.product_box)


def solve_layout(
    template: Template,
    size: SizePreset,
    cutout: Image.Image,
    content: Content,
    families: dict[str, str],
    *,
    logo_size: tuple[int, int] | None,
    has_badge: bool,
) -> PosterLayout:
    """Place everything for ``template`` at ``size`` around ``cutout`` (RGBA, the product).

    When the words do not fit at the template's smallest sizes, the product is made
    smaller, then spacing tighter, and as the last resort long text is shortened with an
    ellipsis and a badge with no free place is left out; ``fallbacks`` says which.
    A variant with a ``long_text`` arrangement (a wider text panel) is solved that way
    too when its own needs text set below the template's sizes, sets the headline under
    ``SMALL_HEADLINE`` of its designed size, or sets a text designed smaller than the
    headline larger than it (``_outranked``); it wins when it sets the headline larger,
    or as large with no text below the template's sizes, and, where only the last
    brought it in, gives a larger headline px x product area (``_balance``), or, where a
    text designed smaller outgrew the headline, a larger headline px x product size
    (``_reach``).
    A size seen at a width that reads its type smaller than its shorter side suggests
    (a link ad at a phone's width) sets it on ``type_basis``: larger type, the fallbacks
    above making room for it; the layout on the shorter side's basis is kept where it
    sets a headline ``PLAIN_LEAD`` x larger (a short headline that ``_larger_type``
    already grew there), where the larger type leaves a wider empty band over
    ``EMPTY_BAND``, or where it set a text designed smaller than the headline larger than
    it (``_outranked``) and the other does not.
    Raises ``TextDoesNotFit`` (code ``text_overflow``) naming the element only when even
    that cannot place it.
    """
    product = _Product(cutout, (size.width, size.height), keepout_margin(min(size.width, size.height)))
    poster = partial(_Poster, template, size, product, content, families, logo_size, has_badge)
    return _on_visible_corner(_chosen(poster, template, size))


def _chosen(poster: Callable[[float], _Poster], template: Template, size: SizePreset) -> PosterLayout:
    """``solve_layout``'s layout, on ``type_basis`` or the shorter side's (``poster``
    gives what is solved at a basis), before its badge slides onto the product's
    visible corner."""

    def solve(basis: float) -> PosterLayout:
        return _solve_layout(poster(basis))

    basis, plain = type_basis(size), min(size.width, size.height) / 1080.0
    if basis <= plain:
        return solve(plain)
    try:
        layout = solve(basis)
    except TextDoesNotFit:
        return solve(plain)
    try:
        other = solve(plain)
    except TextDoesNotFit:
        return layout
    if empty_band(layout) > max(EMPTY_BAND, empty_band(other)):
        # the larger type left a wider empty band than the shorter side's (a headline on
        # one line, its column now shorter than the product beside it)
        return other
    if _outranked(template, layout) and not _outranked(template, other):
        # the larger type grew a text designed smaller than the headline past it (a
        # one-line Chinese headline held by its column's width under a price set larger)
        return other
    # the other texts larger by up to READING_GAIN outweigh a headline a little smaller
    return other if _headline_px(other) > PLAIN_LEAD * _headline_px(layout) else layout


def _on_visible_corner(layout: PosterLayout) -> PosterLayout:
    """``layout`` with its badge slid onto the product's visible corner
    (``marks.on_visible_corner``), clear of every other element as placed: of the
    ribbon and the logo as the badge's placing keeps clear of them (a band across the
    top by the whole gap), of each text group's box (a justified group's message and
    offer apart), of every other mark. Nothing else moves, so no text is set smaller
    for it."""
    if not any(s.kind == "badge" for s in layout.slots):
        return layout
    gap = max(4, round(0.022 * layout.short))
    e = gap - gap // 2
    obstacles: list[Box] = []
    grouped: dict[int, list[Slot]] = {}
    for slot in layout.slots:
        if slot.kind == "badge" or slot.parent == "badge":
            continue
        if slot.group >= 0:
            grouped.setdefault(slot.group, []).append(slot)
            continue
        x, y, w, h = slot.extra.get("keepout", slot.box)
        if slot.kind == "ribbon" and slot.extra.get("style") == "band":
            x, y, w, h = x - e, y - e, w + 2 * e, h + 2 * e
        obstacles.append((x, y, w, h))
    message = ("eyebrow", "headline", "subline")
    for gi, members in grouped.items():
        if layout.variant.groups[gi].valign == "justify":
            parts = [[s.box for s in members if (s.name in message) == m] for m in (True, False)]
            obstacles += [union_box(boxes) for boxes in parts if boxes]
        else:
            obstacles.append(union_box([s.box for s in members]))
    slots = on_visible_corner(
        layout.slots, badge_corners(layout.variant), layout.product_box, layout.content, layout.keepout,
        obstacles, gap,
    )  # fmt: skip
    return layout if slots is layout.slots else replace(layout, slots=slots)


@dataclass(frozen=True)
class _Poster:
    """What every try of one layout is solved for: the template, the canvas, the product,
    the words and their fonts, the logo's size, whether a badge is asked for, and the
    type basis (font px per template px, before the variant's type scale)."""

    template: Template
    size: SizePreset
    product: _Product
    words: Content
    families: dict[str, str]
    logo_size: tuple[int, int] | None
    has_badge: bool
    basis: float


def _solve_layout(poster: _Poster) -> PosterLayout:
    """``solve_layout`` with type set at ``poster.basis``."""
    template, basis = poster.template, poster.basis
    variant = template.variant_for(poster.size.aspect)
    arrange = partial(_arrange, poster)
    try:
        layout = arrange(variant)
    except TextDoesNotFit:
        if variant.long_text is None:
            raise
        layout = _long_text(arrange, variant.long_text, _designed(template, variant.long_text, basis))
        layout.fallbacks.append(LONG_TEXT)
        return layout
    if variant.long_text is None:
        return layout
    below = any(f.startswith(BELOW_SIZES) for f in layout.fallbacks)
    outranked = _outranked(template, layout)
    # a Chinese headline reads as large at CJK_INK of a Latin one's px, unless a text
    # designed smaller (the price) outgrew it: then it is as weak as its px say
    ink = CJK_INK if _cjk_headline(layout) and not outranked else 1.0
    small = _headline_px(layout) < SMALL_HEADLINE * template.text["headline"].size * layout.unit * ink
    if not below and not small and not outranked:
        return layout
    # words set below the template's sizes, a headline under half its designed size, or
    # one that a text designed smaller outgrew, here: the long-text arrangement (more room
    # for the words) may set them larger
    try:
        other = _long_text(arrange, variant.long_text, _designed(template, variant.long_text, basis))
    except TextDoesNotFit:
        return layout
    # it wins with a larger headline, or one as large with every word at the template's
    # sizes where the variant's own set some below them
    as_designed = below and not any(f.startswith(BELOW_SIZES) for f in other.fallbacks)
    if _headline_px(other) < _headline_px(layout) + (0 if as_designed else 1):
        return layout
    # a merchant's phrase that the variant's own cuts and the long-text arrangement keeps
    # whole is worth some of the product (split_panel's story, long Chinese: 41 px cutting
    # "长效保冷 / 保热" over a subline of 21 px on one line, beside a bottle 798 px tall,
    # against 47 px, every phrase whole, a subline of 31 px, beside one 689 px tall)
    mends = _cuts_phrase(layout) and not _cuts_phrase(other)
    if (below or small) and _readable_cjk(layout) and not mends and _reach(other) <= _reach(layout):
        # a Chinese, Japanese or Korean headline the variant's own sets readable: a
        # larger one in the long-text arrangement must not cost the product more than it
        # gains (bold_sale's square with the 105-character Chinese headline would go 34
        # -> 38 px over a bottle 674 -> 524 px tall, x1.12 against x0.78)
        return layout
    if not below and not small and _reach(other) <= _reach(layout):
        # tried only because a text designed smaller outgrew the headline: the larger
        # headline must not cost the product more than it gains, both as lengths
        # (price_tag's Chinese marketplace post would have grown it 24 -> 37 px, x1.54,
        # over a bottle 639 -> 396 px, x0.62; banner_strip's feed post grows it 44 -> 59
        # px, x1.34, over a bottle 459 -> 367 px, x0.80)
        return layout
    other.fallbacks.append(LONG_TEXT)
    return other


LONG_TEXT = "long text: the template's long-text arrangement"
SMALL_HEADLINE = 0.5  # a headline set under this share of its designed size tries the long-text arrangement
BELOW_SIZES = ("text set below the template's sizes", "shortened with an ellipsis", "words broken")
# Graceful fallbacks, in order (product scale, compact spacing, resort): the template as
# designed, then a smaller product (text regions that follow the product box grow), then
# tighter spacing, then text set down to the smallest legible size, then shortened with
# an ellipsis.
STEPS = (
    (1.0, False, 0),
    (0.86, False, 0),
    (0.86, True, 0),
    (0.72, True, 0),
    (0.72, True, 1),
    (0.72, True, 2),
)
RELAXED = 4  # the first step that sets text below the template's sizes
PRODUCT_SCALES = tuple(sorted({shrink for shrink, _, _ in STEPS}, reverse=True))  # 1.0, 0.86, 0.72


def _designed(template: Template, variant: Variant, basis: float) -> float:
    """The headline's designed px on ``variant`` with type set at ``basis``."""
    return template.text["headline"].size * variant.type_scale * basis


# How much larger than its shorter side alone would set it a canvas seen at a phone's
# width may set its type (a 1200 x 628 link ad: its shorter side says 0.58 px per template
# px, its display width 1.11, as large as on a feed post at the same width)
READING_GAIN = 1.5


PLAIN_LEAD = 1.1  # the headline lead at which the shorter side's layout is kept


def type_basis(size: SizePreset) -> float:
    """Font px per template px before the variant's type scale: the shorter side / 1080,
    raised toward ``SizePreset.display_scale`` (type that reads as large, at the width the
    size is seen at, as on a 1080 px feed post) by at most ``READING_GAIN``."""
    short = min(size.width, size.height) / 1080.0
    return max(short, min(size.display_scale, READING_GAIN * short))


def _long_text(arrange: Callable[..., PosterLayout], variant: Variant, designed: float) -> PosterLayout:
    """The long-text arrangement ``variant`` solved; where its first fit sets the headline
    under ``SMALL_HEADLINE`` of its designed size (``designed`` px) at the template's own
    sizes, the relaxed steps (twice the lines, a smaller product) are tried too: a
    headline given more lines can fit at the template's minimum, smaller than twice as
    many lines would set it. They win when the headline grows by a larger factor than
    the product's area shrinks (``_balance``)."""
    # the arrangement gives the words the room over a smaller product by design: its
    # first fit, weighed against the relaxed steps by its headline, is not also given the
    # height the product leaves (split_panel's pinterest pin, long Chinese: 48 -> 54 px
    # there, over SMALL_HEADLINE, kept the relaxed steps' 65 px from being tried)
    layout = arrange(variant, room=False)
    px = _headline_px(layout)
    if px >= SMALL_HEADLINE * designed or any(f.startswith(BELOW_SIZES) for f in layout.fallbacks):
        return layout
    try:
        relaxed = arrange(variant, start=RELAXED, room=False)
    except TextDoesNotFit:
        return layout
    return relaxed if _balance(relaxed) > _balance(layout) else layout


def _headline_slot(slots: list[Slot]) -> Slot | None:
    """The headline's slot among ``slots``, where it is set (None without one)."""
    return next((s for s in slots if s.name == "headline" and s.block is not None), None)


def _headline_of(slots: list[Slot]) -> int:
    """The headline's px among ``slots`` (0 without one)."""
    slot = _headline_slot(slots)
    return slot.block.size if slot is not None and slot.block is not None else 0


def _area(box: Box) -> int:
    return box[2] * box[3]


def _headline_px(layout: PosterLayout) -> int:
    return _headline_of(layout.slots)


def _outranked(template: Template, layout: PosterLayout) -> bool:
    """Whether a text the template designs smaller than the headline (the price, most
    often) is set larger than it: the headline no longer the strongest text. Short
    Chinese words fit one line at over half their designed size where English needs two
    lines and less: split_panel's story set "24小时保冷 随身好水杯" at 56 px under a price
    of 86 px, where its long-text arrangement sets the words at 78 px."""
    head = _headline_px(layout)
    designed = template.text["headline"].size
    return head > 0 and any(
        s.block is not None
        and s.name != "headline"
        and s.name in template.text
        and template.text[s.name].size < designed
        and s.block.size > head
        for s in layout.slots
    )


def _arrange(poster: _Poster, variant: Variant, start: int = 0, room: bool = True) -> PosterLayout:
    """``solve_layout`` for one variant: its fallback steps in order, from ``start``;
    with ``room``, a product held by its region's width leaves the words its spare
    height (``_words_room``)."""
    if variant.headline_lines is not None:
        head = replace(poster.template.text["headline"], max_lines=variant.headline_lines)
        poster = replace(
            poster, template=replace(poster.template, text={**poster.template.text, "headline": head})
        )
    product, content = poster.product, poster.words
    fallbacks: list[str] = []
    last: TextDoesNotFit | None = None
    steps = STEPS
    solve = partial(_solve, poster, variant)
    broken: PosterLayout | None = None  # words set only by breaking one: kept as the last resort
    for attempt, (shrink, compact, resort) in enumerate(steps):
        if attempt < start:
            continue
        try:
            layout = solve(shrink, compact, resort)
        except TextDoesNotFit as exc:
            last = exc
            # text allowed down to the legible minimum that still finds no room beside a
            # smaller product (the badge, attached to its corner, most often): a larger
            # product may leave the room where it is needed
            larger = next(_larger_products(solve, shrink, compact, resort), None) if resort else None
            if larger is None:
                continue
            layout, shrink = larger
        split = [s.name for s in layout.slots if s.block is not None and s.block.broken_words]
        if split and attempt + 1 < len(steps):
            # a smaller product, tighter spacing or smaller type come before a word
            # broken between its characters ("保/温杯")
            broken = broken or layout
            continue
        if split:
            fallbacks.append(f"words broken between characters: {', '.join(split)}")
        if shrink < 1.0:
            layout, shrink = _largest_product(layout, solve, shrink, compact, resort)
        if shrink < 1.0 and resort:
            layout, shrink = _balanced_product(layout, solve, shrink, compact, resort)
        if shrink < 1.0:
            fallbacks.append(f"product scaled to {shrink:.0%}" + (", compact spacing" if compact else ""))
        elif compact:
            fallbacks.append("compact spacing")
        if resort:
            fallbacks.append(f"{BELOW_SIZES[0]}, down to the legible minimum")
        shortened = [s.name for s in layout.slots if s.block is not None and s.block.truncated]
        if shortened:
            fallbacks.append(f"shortened with an ellipsis: {', '.join(shortened)}")
        if content.subline and not any(s.name == "subline" for s in layout.slots):
            fallbacks.append("subline left out: set smaller, it would not read below the headline")
        if poster.has_badge and not any(s.kind == "badge" for s in layout.slots):
            fallbacks.append("badge left out: no free place beside the product")
        layout.fallbacks.extend(fallbacks)
        again = partial(solve, shrink, compact, resort)
        layout = _fill(layout, again, trade=resort > 0)
        if shrink == 1.0 and room:
            # a product made smaller for the words has height to spare by that: the
            # steps and the long-text arrangement weigh it against the headline already
            layout = _words_room(layout, again)
        layout = spread(layout, product)
        return _larger_type(layout, solve, product, room) if not attempt else layout
    if broken is not None:
        split = [s.name for s in broken.slots if s.block is not None and s.block.broken_words]
        broken.fallbacks.append(f"words broken between characters: {', '.join(split)}")
        return spread(broken, product)
    assert last is not None
    raise last


def _larger_products(
    solve: Callable[..., PosterLayout], shrink: float, compact: bool, resort: int
) -> Iterator[tuple[PosterLayout, float]]:
    """The layouts with the product at each step's scale larger than ``shrink``, largest
    first, with that scale; a scale at which the words do not fit is passed over. Lazy:
    a caller that stops at the first it likes solves no more."""
    for larger in PRODUCT_SCALES:
        if larger <= shrink:
            break
        try:
            bigger = solve(larger, compact, resort)
        except TextDoesNotFit:
            continue
        yield bigger, larger


def _largest_product(
    layout: PosterLayout, solve: Callable[..., PosterLayout], shrink: float, compact: bool, resort: int
) -> tuple[PosterLayout, float]:
    """The layout with the largest product that sets its words as well as ``layout`` does.

    A smaller product gives more room only to text regions that follow it; where the
    words needed smaller type or more lines instead (a text column of fixed width beside
    the product), the product is kept larger: the first larger try that sets every text
    as well (``_sets_words_as_well``) wins.
    """
    for bigger, larger in _larger_products(solve, shrink, compact, resort):
        if _sets_words_as_well(layout, bigger):
            return bigger, larger
    return layout, shrink


def _balanced_product(
    layout: PosterLayout, solve: Callable[..., PosterLayout], shrink: float, compact: bool, resort: int
) -> tuple[PosterLayout, float]:
    """Where words are set below the template's sizes, the product scale with the best
    balance of type and product: the largest headline px x product box area.

    The steps reach text below the template's sizes only after the product was made 72 %
    of its size; the words, now allowed down to the legible minimum, may well fit beside
    a larger product at a headline only a little smaller. A larger product is kept where
    the headline loses a smaller factor than the product's area gains (flash_deal's
    feed post: a headline 69 px over a product 385 px tall gives way to one 54 px over
    535 px), the headline stays at ``READABLE_HEADLINE`` or more (or no smaller than it
    was), and every text, the badge and every character the smaller one showed are
    kept, no word broken.
    """
    best, score, scale = layout, _balance(layout), shrink
    for bigger, larger in _larger_products(solve, shrink, compact, resort):
        readable = READABLE_HEADLINE * layout.short * (CJK_INK if _cjk_headline(layout) else 1.0)
        small = _headline_px(bigger) < min(_headline_px(layout), readable)
        if not small and _balance(bigger) > score and _keeps_words(layout, bigger):
            best, score, scale = bigger, _balance(bigger), larger
    return best, scale


READABLE_HEADLINE = 40 / 1080  # px per px of the short side: a headline a larger product may not set it under
# Chinese, Japanese and Korean characters fill about 0.88 em with ink where the Latin
# capitals and ascenders the headline sizes were chosen for reach about 0.72 em: a CJK
# headline reads as large at this share of a Latin one's px
CJK_INK = 0.82


def _readable_cjk(layout: PosterLayout) -> bool:
    """Whether the headline is Chinese, Japanese or Korean, whole, no word broken, and
    set at ``READABLE_HEADLINE`` x ``CJK_INK`` of the short side or more."""
    slot = _headline_slot(layout.slots)
    return (
        slot is not None
        and slot.block is not None
        and not slot.block.truncated
        and not slot.block.broken_words
        and _cjk_headline(layout)
        and _headline_px(layout) >= READABLE_HEADLINE * layout.short * CJK_INK
    )


def _cuts_phrase(layout: PosterLayout) -> bool:
    """Whether the headline breaks inside a phrase the merchant set apart with spaces."""
    slot = _headline_slot(layout.slots)
    return slot is not None and slot.block is not None and slot.block.broken_phrases


def _cjk_headline(layout: PosterLayout) -> bool:
    """Whether the headline's characters are at least half Chinese, Japanese or Korean."""
    slot = _headline_slot(layout.slots)
    return slot is not None and mostly_cjk(slot.text)


def _balance(layout: PosterLayout) -> float:
    """The headline's px x the product box's area."""
    return _headline_px(layout) * _area(layout.product_box)


def _reach(layout: PosterLayout) -> float:
    """The headline's px x the product box's linear size (the square root of its area):
    a length against a length, where ``_balance`` weighs the product's area, its linear
    size twice."""
    return _headline_px(layout) * _area(layout.product_box) ** 0.5


def _keeps_words(layout: PosterLayout, other: PosterLayout) -> bool:
    """Whether ``other`` sets every text of ``layout``, as many of its characters, no word
    broken nor a merchant's phrase that ``layout`` kept whole, and the badge if it had one
    (type sizes may differ)."""

    def shown(laid: PosterLayout) -> dict[str, int]:
        return {
            s.name: len("".join(line.text for line in s.block.lines).replace(" ", "").rstrip("…"))
            for s in laid.slots
            if s.block is not None
        }

    before, after = shown(layout), shown(other)
    if any(after.get(k, 0) < n for k, n in before.items()):
        return False
    if any(s.block is not None and s.block.broken_words for s in other.slots):
        return False
    whole = {s.name for s in layout.slots if s.block is not None and not s.block.broken_phrases}
    if any(s.block is not None and s.block.broken_phrases and s.name in whole for s in other.slots):
        return False
    return any(s.kind == "badge" for s in other.slots) or not any(s.kind == "badge" for s in layout.slots)


def _sets_words_as_well(layout: PosterLayout, other: PosterLayout) -> bool:
    """Whether ``other`` sets every text of ``layout`` at least as large, showing at least
    as many of its characters, with no word broken nor a merchant's phrase that ``layout``
    kept whole, and keeps the badge if it had one."""

    def text(laid: PosterLayout) -> dict[str, tuple[int, int]]:
        return {
            s.name: (
                s.block.size,
                len("".join(line.text for line in s.block.lines).replace(" ", "").rstrip("…")),
            )
            for s in laid.slots
            if s.block is not None
        }

    before, after = text(layout), text(other)
    if after.keys() != before.keys():
        return False
    if any(a < b for name, was in before.items() for a, b in zip(after[name], was, strict=True)):
        return False
    if any(s.block is not None and s.block.broken_words for s in other.slots):
        return False
    whole = {s.name for s in layout.slots if s.block is not None and not s.block.broken_phrases}
    if any(s.block is not None and s.block.broken_phrases and s.name in whole for s in other.slots):
        return False
    return any(s.kind == "badge" for s in layout.slots) == any(s.kind == "badge" for s in other.slots)


@dataclass
class _Product:
    """The cutout for every try of one layout: its matte resized once per product size
    and grown into its keep-out once per box (the tries of a layout place it at a few
    boxes only); the whole RGBA layer resized only for a box a layout keeps. The layers
    and masks handed out are shared between tries and never modified."""

    cutout: Image.Image
    canvas: tuple[int, int]
    margin: int  # keepout_margin of the canvas
    layers: dict[tuple[int, int], Image.Image] = field(default_factory=dict)
    mattes: dict[tuple[int, int], Image.Image] = field(default_factory=dict)
    keepouts: dict[Box, Keepout] = field(default_factory=dict)

    def keepout(self, box: Box) -> Keepout:
        """The keep-out of the product placed at ``box``, as ``product_keepout`` makes it
        from the placed layer's alpha (most tries only ask whether boxes touch it)."""
        if box not in self.keepouts:
            self.keepouts[box] = Keepout(partial(self.matte, box[2], box[3]), box, self.canvas, self.margin)
        return self.keepouts[box]

    def matte(self, w: int, h: int) -> Image.Image:
        """The placed layer's alpha at ``w`` x ``h``: the matte resized alone, which gives
        the same bytes as the alpha of the resized RGBA cutout (Pillow resizes the alpha
        band on its own; premultiplying touches only the colours) in about a quarter
        of the time."""
        if (w, h) in self.layers:
            return self.layers[(w, h)].getchannel("A")
        if (w, h) not in self.mattes:
            alpha = self.cutout.getchannel("A")
            self.mattes[(w, h)] = alpha if alpha.size == (w, h) else alpha.resize((w, h), compose.RESAMPLE)
        return self.mattes[(w, h)]

    def placed(self, box: Box) -> PlacedProduct:
        """The product placed at ``box``, as ``compose.place_product`` makes it."""
        w, h = box[2], box[3]
        if (w, h) not in self.layers:
            self.layers[(w, h)] = compose.place_product(self.cutout, self.canvas, box).layer
        return PlacedProduct(layer=self.layers[(w, h)], box=box, canvas_size=self.canvas)


def _solve(
    poster: _Poster,
    variant: Variant,
    shrink: float,
    compact: bool,
    resort: int,
    grow: int = 0,
    boost: float = 1.0,
    least: _Least | None = None,
    slide: float | None = None,
) -> PosterLayout:
    """One try at the layout. With ``least`` (``_fill``'s tries), a try whose product is
    larger than ``least.area`` raises ``_Smaller`` as soon as its headline is set under
    ``least.headline`` px, instead of placing the rest. With ``slide`` (``_words_room``'s
    tries), the product sits that far down its region (0: at its top, 1: at its foot)."""
    template, size, product, words, families = (
        poster.template, poster.size, poster.product, poster.words, poster.families,
    )  # fmt: skip
    # 1. canvas, content box (margins and UI safe zones), type unit
    cw, ch = size.width, size.height
    canvas = (cw, ch)
    short = min(cw, ch)
    content = content_box(canvas, size.safe_zone, variant.margin * short)
    unit = TypeScale(
        poster.basis * variant.type_scale * boost,
        legible=min_text_px(size),
        relax=resort >= 1,
        shorten=resort >= 2,
    )
    gap_px = max(4, round(0.022 * short))
    slots: list[Slot] = []
    obstacles: list[Box] = []
    band: Box | None = None  # a band across the top: the badge keeps the whole gap from it

    # 2. ribbon (tag / corner / band) and logo claim their space first
    ribbon_style = variant.ribbon.style
    safe_corner = size.safe_zone == Insets()
    if ribbon_style == "corner" and not safe_corner:
        ribbon_style = "tag"  # a corner band would run under the platform's UI
    if words.ribbon and ribbon_style in ("tag", "corner", "band"):
        slot, label = ribbon_slots(
            template, variant, ribbon_style, words, families, unit, content, canvas, short, safe_corner
        )
        slots += [slot, label]
        obstacles.append(slot.extra.get("keepout", slot.box))
        if ribbon_style == "band":
            band = obstacles[-1]
    if poster.logo_size is not None:
        logo = logo_box(variant.logo, poster.logo_size, content, short)
        slots.append(Slot("logo", "logo", logo))
        obstacles.append(logo)

    # 3. product: its region (cut back from the obstacles), then fit_box
    designed = region = resolve_region(variant.product.region, content, canvas, None, short, clamp=content)
    if (
        ch > cw
        and (size.safe_zone.left or size.safe_zone.right)
        and _held_by_width(product, region, obstacles)
    ):
        # a tall canvas whose platform UI already takes its sides (a story's like/share
        # column): the region's own side inset would come on top of it, and a wide
        # product, held by the width, would stand smaller than on the portrait post of
        # the same width (a 2:1 speaker 763 px wide on the story, 826 px on portrait)
        region = (content[0], region[1], content[2], region[3])
    if grow:
        grown = _grown(region, content, grow, vertical=ch >= cw)
        for shape in variant.shapes:
            # a panel the designed region keeps clear of stays clear: the product must not
            # grow across the panel's edge
            if shape.kind == "panel" and shape.region is not None and not shape.region.uses_product:
                panel = resolve_region(shape.region, content, canvas, None, short)
                if not intersects(designed, panel):
                    grown = trim(grown, panel, 0)
        region = grown
    for ob in obstacles:
        region = trim(region, ob, gap_px)
    if region[2] < 8 or region[3] < 8:
        raise InvalidSpec(f"{template.id}: no room left for the product at {cw}x{ch}")
    anchor = (
        _yielding_anchor(variant, vertical=ch >= cw) if shrink < 1.0 and resort else variant.product.anchor
    )
    if slide is not None:
        anchor = (anchor[0], slide)
    product_box = compose.fit_box(
        product.cutout.size, canvas, fill=variant.product.fill * shrink, anchor=anchor, region=region
    )
    product_box = clamp_into(product_box, region)  # an anchor must not push it out of its region
    # the keep-out comes from the very layer that is pasted back, not an approximation
    keepout = product.keepout(product_box)
    # the headline px under which this try is of no use (0: none); one group sets it
    floor = 0
    if least is not None and _area(product_box) > least.area:
        if sum("headline" in group.items for group in variant.groups) == 1:
            floor = least.headline

    # 4. decorative shapes (they may follow the product)
    shapes = [resolve_shape(s, content, canvas, product_box, short) for s in variant.shapes]

    # 5. text groups, each in its region cut back from the obstacles
    place = partial(
        _place_groups, template, variant, words, families, unit, short, compact, ribbon_style,
        content, canvas, product_box, keepout, gap_px, floor,
    )  # fmt: skip
    fixed = list(obstacles)  # placed before the words: the ribbon and the logo
    text, group_boxes, obstacles = place(fixed)

    # 6. badge: on its product's corner
    if poster.has_badge:
        find = partial(
            badge_slots, template, variant, words, families, unit, short, content, product_box, keepout
        )
        # the badge keeps the layout's whole gap from a band across the top, as the words
        # do, and half of it from the other marks and the words
        e = gap_px - gap_px // 2
        marks_clear = [
            (x - e, y - e, w + 2 * e, h + 2 * e) if b == band else b for b in fixed for x, y, w, h in [b]
        ]
        badge = find([*marks_clear, *obstacles[len(fixed) :]], gap_px)
        if badge is None:
            # the words took the room at both corners: the badge claims a corner (it
            # belongs to the product) and the words are set again clear of it, at the
            # corner where they come out largest (the badge at the top left of a product
            # under a full-width headline would cut the headline's width in half), and
            # smaller (``BADGE_SCALES``) only where that sets them larger still (bold_sale's
            # story of a 2:1 box: a headline 105 px beside the whole badge, 115 beside it
            # at 0.74, the size it has on the portrait post); where they fit at neither,
            # the next step (a smaller product) has more room
            claimed = None
            missed: TextDoesNotFit | None = None
            tried: set[Box] = set()
            corners = badge_corners(variant)
            tries = [(c, BADGE_SCALES) for c in corners] + [
                (c, (k,)) for k in BADGE_SCALES[1:] for c in corners
            ]
            for corner, scales in tries:
                mark = find(marks_clear, gap_px, (corner,), scales)
                if mark is None:
                    continue
                own = next(s.box for s in mark if s.kind == "badge")
                if own in tried:
                    continue
                tried.add(own)
                try:
                    again = place([*fixed, own])
                except TextDoesNotFit as exc:
                    missed = missed or exc
                    continue
                if claimed is None or _headline_of(again[0]) > _headline_of(claimed[1][0]):
                    claimed = (mark, again)
            if claimed is not None:
                badge, (text, group_boxes, obstacles) = claimed
            elif missed is not None and not unit.shorten:
                raise missed
        if badge is None:
            if not unit.shorten:
                raise overflow(f"no free place for the badge {words.badge!r} on the product in {template.id}")
            badge = []  # the layout's last resort: no badge rather than no poster
        text += badge
    slots += text

    return PosterLayout(
        template=template,
        variant=variant,
        size=size,
        content=content,
        unit=unit,
        short=short,
        product_box=product_box,
        product_region=region,
        product=product,
        keepout=keepout,
        slots=slots,
        shapes=shapes,
        groups=group_boxes,
        fallbacks=[],
    )


def _place_groups(
    template: Template, variant: Variant, words: Content, families: dict[str, str], unit: TypeScale,
    short: int, compact: bool, ribbon_style: str, content: Box, canvas: tuple[int, int], product_box: Box,
    keepout: Keepout, gap_px: int, floor: int, obstacles: list[Box],
) -> tuple[list[Slot], list[Box], list[Box]]:  # fmt: skip
    """The text groups, each in its region cut back from ``obstacles``: their slots, the
    boxes they take, and ``obstacles`` with the groups added. Raises ``_Smaller`` when the
    headline is set under ``floor`` px."""
    cw, ch = canvas
    obstacles = list(obstacles)
    slots: list[Slot] = []
    group_boxes: list[Box] = []
    headline: int | None = None  # its size, px, once set: a later group's subline stays below it
    for gi, group in enumerate(variant.groups):
        gregion = resolve_region(group.region, content, canvas, product_box, short, clamp=content)
        for ob in obstacles:
            gregion = trim(gregion, ob, gap_px)
        items = [it for it in group.items if has_item(it, words, ribbon_style)]
        if not items:
            continue
        wide = gregion[2] >= WIDE * content[2]
        if (
            floor
            and "headline" in items
            and not headline_reaches(
                template, group, items, gregion, words, families, unit, short, compact, floor
            )
        ):
            raise _Smaller  # as it would once the group set its headline, without setting it
        group_slots = layout_group(
            template, group, gi, items, gregion, words, families, unit, short, compact, headline, wide
        )
        headline = next((s.block.size for s in group_slots if s.name == "headline" and s.block), headline)
        if headline is not None and headline < floor:
            raise _Smaller
        for slot in group_slots:
            if box_hits(keepout, slot.box):
                # a region edge came too close to the matte (a group not tied to the product)
                raise overflow(f"{slot.name} would touch the product in {template.id} at {cw}x{ch}")
        slots += group_slots
        if group_slots:
            gb = union_box([s.box for s in group_slots])
            group_boxes.append(gb)
            if group.valign == "justify":
                # the message at the top, the offer at the bottom: the room between them
                # is free (for the badge), not the group's
                message = [s.box for s in group_slots if s.name in ("eyebrow", "headline", "subline")]
                rest = [s.box for s in group_slots if s.name not in ("eyebrow", "headline", "subline")]
                obstacles += [union_box(boxes) for boxes in (message, rest) if boxes]
            else:
                obstacles.append(gb)
    return slots, group_boxes, obstacles


def _held_by_width(product: _Product, region: Box, obstacles: list[Box]) -> bool:
    """Whether the product, fitted into ``region`` (cut back from ``obstacles``), is held by
    the region's width rather than its height."""
    for ob in obstacles:
        region = trim(region, ob, 0)
    w, h = product.cutout.size
    return w * region[3] > h * region[2]


def _yielding_anchor(variant: Variant, *, vertical: bool) -> tuple[float, float]:
    """Where a product made smaller for words set below the template's sizes sits in its
    region: against the side away from the words that follow one of its edges along the
    long axis (words below it: at the top), so that they get all the room it frees.
    Spreading moves it back into balance afterwards."""
    ax = 1 if vertical else 0
    near, far = ("top", "bottom") if vertical else ("left", "right")
    sides = {
        edge.side
        for group in variant.groups
        for edge in (group.region.x0, group.region.y0, group.region.x1, group.region.y1)
        if edge.ref == "product"
    }
    anchor = list(variant.product.anchor)
    if far in sides and near not in sides:
        anchor[ax] = 0.0
    elif near in sides and far not in sides:
        anchor[ax] = 1.0
    return anchor[0], anchor[1]


def _grown(region: Box, content: Box, grow: int, *, vertical: bool) -> Box:
    """``region`` taller (or wider) by ``grow`` px, half each way, kept inside ``content``."""
    x, y, w, h = region
    cx, cy, cw, ch = content
    if vertical:
        y0, y1 = max(cy, y - grow // 2), min(cy + ch, y + h + grow - grow // 2)
        return (x, y0, w, y1 - y0)
    x0, x1 = max(cx, x - grow // 2), min(cx + cw, x + w + grow - grow // 2)
    return (x0, y, x1 - x0, h)


def free_space(layout: PosterLayout) -> int:
    """Pixels of the content box's long axis that no element covers."""
    vertical = layout.size.height >= layout.size.width
    ax = 1 if vertical else 0
    lo = layout.content[ax]
    covered = np.zeros(layout.content[ax + 2], bool)
    for box in [layout.product_box, *(s.box for s in layout.slots)]:
        covered[max(0, box[ax] - lo) : max(0, box[ax] + box[ax + 2] - lo)] = True
    return int((~covered).sum())


@dataclass(frozen=True)
class _Least:
    """What a try of ``_fill`` must reach to be of use: a headline of ``headline`` px or
    more, where its product is larger than ``area`` (px²)."""

    headline: int
    area: int


class _Smaller(Exception):
    """A try of ``_fill`` stopped: its product is larger and its headline smaller than
    ``_Least`` asks, so it could not set the words as well (``_sets_words_as_well``)."""


def _fill(layout: PosterLayout, again: Callable[..., PosterLayout], *, trade: bool = False) -> PosterLayout:
    """A larger product when the canvas has free space along its long axis.

    The product's region is grown by most of the free space and the layout solved again
    (``again``: at the same fallback step); the first try that sets the words as well
    (``_sets_words_as_well``) is kept. With ``trade`` (words already set below the
    template's sizes) a product under ``HERO`` of a tall or square content box's height
    beside a Chinese, Japanese or Korean headline may also grow at the headline's cost
    (``_traded``): long CJK text is bound by its height (lines 1.3 em apart), where a
    Latin headline of the same length fills its lines' width, so the words that took
    the product's room on the Chinese poster would not on the English one.
    Else the layout as it was.
    """
    free = free_space(layout)
    gap = max(4, round(0.022 * layout.short))
    spare = free - 2 * gap  # some air stays for spreading the blocks
    if spare < 0.03 * layout.content[3 if layout.size.height >= layout.size.width else 2]:
        return layout
    hero = HERO * layout.content[3]
    trade = trade and layout.size.height >= layout.size.width and layout.product_box[3] < hero
    trade = trade and _cjk_headline(layout)
    traded: list[PosterLayout] = []
    # Without ``trade`` a try is kept only when it sets the words as well, so one whose
    # headline comes out smaller is of no use. Where its product is no larger it ends
    # the search (whether or not its words fit): it is solved in full. Where it is
    # larger, it would be passed over whatever it did next, so it stops once the
    # headline is set (``_Smaller``) instead of placing the rest and the badge.
    least = None if trade else _Least(_headline_px(layout), _area(layout.product_box))
    for share in (1.0, 0.75, 0.5, 0.25):
        try:
            bigger = again(round(spare * share), least=least)
        except (TextDoesNotFit, _Smaller):
            continue
        if _area(bigger.product_box) <= _area(layout.product_box):
            break
        if _sets_words_as_well(layout, bigger):
            bigger.fallbacks.extend(layout.fallbacks)
            return bigger
        if trade and _traded(layout, bigger):
            traded.append(bigger)
    if not traded:
        return layout
    # the smallest product that is the hero (no more of the headline given than that
    # takes), else the best balance of headline and product as lengths
    heroes = [t for t in traded if t.product_box[3] >= hero]
    best = min(heroes, key=lambda t: t.product_box[3]) if heroes else max(traded, key=_reach)
    best.fallbacks.extend(layout.fallbacks)
    return best


# the share of a tall or square content box's height a product grown at the headline's cost reaches
HERO = 0.5


def _words_room(layout: PosterLayout, again: Callable[..., PosterLayout]) -> PosterLayout:
    """The words given the height a product held by its region's width leaves spare.

    On a tall canvas a wide product fills its region's width and stands in the middle
    of its height (the variant's anchor): the words that follow its top and its foot
    each get half of the height it does not use, where the headline over it may need
    all of it (flash_deal's story, a 2:1 box: 106 px spare over the box, the headline
    set at 80 px where the template designs 101). The product is tried at the top and
    at the foot of its region (``again``: the same fallback step); the try that sets the
    headline largest, every other text at least as large and the product as large, is
    kept (spreading then shares the free space out again). Else the layout as it was.
    Only at the product's full scale (``_arrange``): the height a product made smaller
    leaves is weighed against the headline by the steps and the long-text arrangement
    (flash_deal's story with the 105-character Chinese headline would keep a bottle cut
    to 72 % for a headline 36 -> 38 px over the long-text arrangement's whole one).
    """
    vertical = layout.size.height > layout.size.width
    spare = layout.product_region[3] - layout.product_box[3]
    if not vertical or spare < max(4, round(0.022 * layout.short)):
        return layout
    best = layout
    for slide in (0.0, 1.0):
        try:
            other = again(slide=slide)
        except TextDoesNotFit:
            continue
        if _area(other.product_box) < _area(layout.product_box) or _headline_px(other) <= _headline_px(best):
            continue
        if _sets_words_as_well(best, other):
            best = other
    if best is not layout:
        best.fallbacks.extend(layout.fallbacks)
    return best


def _traded(layout: PosterLayout, other: PosterLayout) -> bool:
    """Whether ``other``, a larger product, is worth its smaller headline: a better balance
    of headline and product as lengths (``_reach``), every word of ``layout`` kept
    (``_keeps_words``) and the CJK headline at ``READABLE_HEADLINE`` x ``CJK_INK`` of the
    short side or more (or no smaller than it was)."""
    readable = READABLE_HEADLINE * layout.short * CJK_INK
    return (
        _reach(other) > _reach(layout)
        and _headline_px(other) >= min(_headline_px(layout), readable)
        and _keeps_words(layout, other)
    )


EMPTY_BAND = 0.13  # the largest empty band along the long axis a layout leaves as designed
# the most of a tall canvas's content box, along its height, a layout leaves free in all:
# spreading shares the free space out in bands each under EMPTY_BAND, and a story with a
# wide product and short words still reads empty (marketplace_clean's story, a 2:1 box:
# 45 % free, its headline 48 px where the portrait post, whose one band was wider, grows
# it to 80)
EMPTY_SPACE = 0.3
BOOSTS = (1.15, 1.3, 1.5, 1.75, 2.0)  # type scales tried, in order, when it leaves a larger one


def empty_band(layout: PosterLayout) -> float:
    """The longest run of rows (tall and square canvases) or columns (wide ones) of the
    safe area that no element crosses, as a share of the safe area."""
    vertical = layout.size.height >= layout.size.width
    ax = 1 if vertical else 0
    safe = layout.size.safe_box
    lo, n = safe[ax], safe[ax + 2]
    covered = np.zeros(n + 2, bool)
    covered[0] = covered[-1] = True
    for box in [layout.product_box, *(s.box for s in layout.slots)]:
        if box[2] > 0 and box[3] > 0:
            covered[1 + max(0, box[ax] - lo) : 1 + max(0, min(n, box[ax] + box[ax + 2] - lo))] = True
    edges = np.flatnonzero(covered)
    return float((np.diff(edges) - 1).max()) / n


def free_share(layout: PosterLayout) -> float:
    """``free_space`` as a share of the content box's long axis."""
    return free_space(layout) / layout.content[3 if layout.size.height >= layout.size.width else 2]


def _emptiness(layout: PosterLayout) -> tuple[float, float]:
    """What ``_larger_type`` makes smaller: the largest empty band (no less than
    ``EMPTY_BAND``), then, on a tall canvas, the free space in all."""
    tall = layout.size.height > layout.size.width
    return max(EMPTY_BAND, empty_band(layout)), free_share(layout) if tall else 0.0


def _too_empty(emptiness: tuple[float, float]) -> bool:
    """Whether a layout's ``_emptiness`` is over either limit."""
    band, free = emptiness
    return band > EMPTY_BAND or free > EMPTY_SPACE


def _larger_type(
    layout: PosterLayout, solve: Callable[..., PosterLayout], product: _Product, room: bool = True
) -> PosterLayout:
    """Larger type when short words beside a small product leave an empty band.

    A wide canvas with a narrow product and a few words has more room along its long
    axis than spreading can fill: the words are set larger (the whole type scale, so the
    hierarchy stays) until the largest empty band is under ``EMPTY_BAND``, and on a tall
    canvas (a story with a wide product) the free space in all under ``EMPTY_SPACE``. A
    try is kept only when everything is placed as designed (no fallback, nothing
    shortened, no merchant's phrase cut that was whole, the badge kept), the headline no
    smaller than the best try's once only the free space is over its limit, no text designed
    smaller than the headline outgrows it where none did (``_outranked``), and it leaves a
    smaller band, or one as narrow and less free space (``_emptiness``); the first one
    under both limits wins.
    """
    band = _emptiness(layout)
    if not _too_empty(band):
        return layout
    badge = any(s.kind == "badge" for s in layout.slots)
    whole = {s.name for s in layout.slots if s.block is not None and not s.block.broken_phrases}
    best = layout
    for boost in BOOSTS:
        try:
            bigger = solve(1.0, False, 0, boost=boost)
        except TextDoesNotFit:
            break
        if badge != any(s.kind == "badge" for s in bigger.slots):
            break
        if any(s.block is not None and s.block.truncated for s in bigger.slots):
            break
        if any(s.block is not None and s.block.broken_phrases and s.name in whole for s in bigger.slots):
            break  # larger type that cuts a merchant's phrase the words kept whole
        if band[0] <= EMPTY_BAND and _headline_px(bigger) < _headline_px(best):
            # only the free space in all left to fill, and the headline held by its width
            # while the rest grew: not larger type (a band over the limit is worse)
            continue
        if _outranked(layout.template, bigger) and not _outranked(layout.template, layout):
            # the headline's room runs out before the others': it is set under a text
            # designed smaller than it (bold_sale's link post, short Chinese: the headline
            # on one line at 66 px under a 98 px price)
            continue
        again = partial(solve, 1.0, False, 0, boost=boost)
        bigger = _fill(bigger, again)
        bigger = spread(_words_room(bigger, again) if room else bigger, product)
        new_band = _emptiness(bigger)
        if new_band < band:
            best, band = bigger, new_band
        if not _too_empty(band):  # band is always best's emptiness
            break
    return best


BOTTOM_BAND = 0.08  # the share of a tall or square safe area the lowest element ends in
PINNED = ("logo", "ribbon", "ribbon_label")  # corner marks: they stay where they were put


def spread(layout: PosterLayout, product: _Product) -> PosterLayout:
    """Spread the layout's blocks over the whole content box along the canvas's long axis.

    Elements are grouped into blocks: runs of elements whose extents along the long axis
    (vertical on square and tall canvases, horizontal on wide ones) overlap. The logo and
    ribbon stay put and split the axis into segments; in each segment the movable blocks
    keep their order and are moved so that the free space between them and the segment's
    ends is shared equally. A block is only ever translated as a whole, so text keeps its
    size and its place beside the product; the product's keep-out and the shapes that
    follow it are made again at its new place. When a moved element would touch the
    product or leave the content box, the layout is returned as it was.
    """
    cw, ch = layout.size.width, layout.size.height
    vertical = ch >= cw
    ax = 1 if vertical else 0
    cx, cy, cwid, chei = layout.content
    lo, hi = (cy, cy + chei) if vertical else (cx, cx + cwid)
    if not vertical:
        # text boxes are as wide as their group's region; along x a block is as wide as its words
        layout = replace(layout, slots=[_narrow(s) for s in layout.slots])
    panels = [s.region for s in layout.variant.shapes if s.kind == "panel"]
    if any(r is None or not r.uses_product for r in panels):
        return layout  # words and product sit on panels drawn for them where they are: they stay
    # items: the product (with its badge), each text group as a whole, each free mark
    members: dict[object, list[object]] = {"product": ["product"]}
    for slot in layout.slots:
        if slot.kind == "logo" or slot.name in PINNED:
            members[id(slot)] = [slot]
        elif slot.name.startswith("badge") or slot.group < 0:
            members["product"].append(slot)
        else:
            members.setdefault(("group", slot.group), []).append(slot)
    items: list[tuple[int, int, list[object], bool]] = []
    for key, objs in members.items():
        # a mark counts with the room it keeps clear (a top band's strip under it)
        boxes = [o.extra.get("keepout", o.box) if isinstance(o, Slot) else layout.product_box for o in objs]
        boxes = [b for b in boxes if b[2] > 0 and b[3] > 0]
        if not boxes:
            continue
        u = union_box(boxes)
        pinned = key != "product" and not isinstance(key, tuple)
        items.append((u[ax], u[ax] + u[ax + 2], objs, pinned))
    items.sort(key=lambda it: it[0])
    # blocks: [start, end, members, pinned]
    blocks: list[list[Any]] = []
    for a, b, objs, pinned in items:
        if blocks and a < blocks[-1][1]:
            blk = blocks[-1]
            blk[1] = max(blk[1], b)
            blk[2].extend(objs)
            blk[3] = blk[3] or pinned
        else:
            blocks.append([a, b, list(objs), pinned])
    # the margin between the safe area's edge and the content box counts as part of the
    # space at that end, so that the gaps seen on the canvas come out equal
    sx, sy, sw, sh = layout.size.safe_box
    outer = (cy - sy, sy + sh - cy - chei) if vertical else (cx - sx, sx + sw - cx - cwid)
    # a moved block keeps the layout's gap from a mark that stays put, as the solve did
    gap = max(4, round(0.022 * layout.short))
    shift: dict[int, int] = {}  # block index -> offset along the axis
    seg_start, run = lo, []
    ends: list[list[Any] | None] = [*blocks, None]
    for i, end in enumerate(ends):
        if end is not None and not end[3]:
            run.append(i)
            continue
        seg_end = hi if end is None else min(hi, end[0] - gap)
        if run:
            used = sum(blocks[j][1] - blocks[j][0] for j in run)
            free = (seg_end - seg_start) - used
            if free > 0:
                a = outer[0] if seg_start == lo else 0
                b = outer[1] if seg_end == hi else 0
                # tall and square canvases: the lowest block reaches the last BOTTOM_BAND
                # of the safe area, so no empty strip is left under it
                at_most = BOTTOM_BAND * layout.size.safe_box[3] - 1 if vertical and seg_end == hi else None
                if layout.variant.ends == "around" and not vertical:
                    first, inner = _gaps_around(free, len(run), a, b)
                else:
                    first, inner = _gaps(free, len(run), a, b, at_most, layout.size.safe_box[3])
                pos = seg_start + first
                for j in run:
                    shift[j] = round(pos) - blocks[j][0]
                    pos += blocks[j][1] - blocks[j][0] + inner
        run = []
        if end is not None:
            seg_start = max(seg_start, end[1] + gap)
    if not any(shift.values()):
        return layout

    def moved(box: Box, d: int) -> Box:
        b = list(box)
        b[ax] += d
        return (b[0], b[1], b[2], b[3])

    slot_shift: dict[int, int] = {}
    product_shift = 0
    for j, d in shift.items():
        for obj in blocks[j][2]:
            if obj == "product":
                product_shift = d
            else:
                slot_shift[id(obj)] = d
    product_box = moved(layout.product_box, product_shift)
    canvas = (cw, ch)
    keepout = product.keepout(product_box) if product_shift else layout.keepout
    slots = []
    for slot in layout.slots:
        d = slot_shift.get(id(slot), 0)
        if d:
            slot = replace(slot, box=moved(slot.box, d))
            if "keepout" in slot.extra:
                slot.extra = {**slot.extra, "keepout": moved(slot.extra["keepout"], d)}
        slots.append(slot)
    for slot in slots:
        if slot.parent or slot.kind == "logo" or slot.name in PINNED:
            continue  # inner labels sit relative to their parent; marks did not move
        if slot.box[ax] < lo or slot.box[ax] + slot.box[ax + 2] > hi or box_hits(keepout, slot.box):
            return layout
    groups = [moved(g, shift_of_box(g, blocks, shift, ax)) for g in layout.groups]
    shapes = [
        resolve_shape(s, layout.content, canvas, product_box, layout.short) for s in layout.variant.shapes
    ]
    if not _same_panels(layout.slots, layout.shapes, slots, shapes):
        return layout  # a panel that follows the product would no longer carry its words
    return replace(
        layout,
        product_box=product_box,
        product_region=moved(layout.product_region, product_shift),
        keepout=keepout,
        slots=slots,
        shapes=shapes,
        groups=groups,
    )


def _same_panels(
    before: list[Slot],
    shapes_before: list[dict[str, Any]],
    after: list[Slot],
    shapes_after: list[dict[str, Any]],
) -> bool:
    """Whether every element lies on the same panels after the move as before it (words
    set on a panel keep the panel under them; nothing moves onto a panel it was not on)."""

    def on(box: Box, panel: Box) -> bool:
        x, y, w, h = box
        px, py, pw, ph = panel
        return px <= x and py <= y and x + w <= px + pw and y + h <= py + ph

    for b, a in zip(before, after, strict=True):
        for pb, pa in zip(shapes_before, shapes_after, strict=True):
            if pb["kind"] != "panel":
                continue
            was, now = on(b.box, pb["box"]), on(a.box, pa["box"])
            if was != now or (intersects(a.box, pa["box"]) and not intersects(b.box, pb["box"])):
                return False
    return True


def _gaps(
    free: float, n: int, a: float, b: float, end: float | None = None, span: float = 0.0
) -> tuple[float, float]:
    """The space before the first of ``n`` blocks and between two of them, sharing ``free``
    so that every gap, the ends counted with the ``a`` and ``b`` already there, is equal;
    with ``end``, the gap after the last block (``b`` counted) is at most that and the
    rest is shared by the others, unless one of them would then be wider than
    ``EMPTY_BAND`` of ``span`` (the safe area's length)."""
    g = (free + a + b) / (n + 1)
    first, last = max(0.0, g - a), max(0.0, g - b)
    if n > 1:
        # an end whose margin is already wider than the equal gap gets nothing, and the
        # others share what is left: what is handed out is then ``free`` exactly, so two
        # blocks never close up (nor overlap) to give a wide margin more
        first_on, last_on = g > a, g > b
        while True:
            k = n - 1 + first_on + last_on
            g = (free + a * first_on + b * last_on) / k
            if first_on and g < a:
                first_on = False
            elif last_on and g < b:
                last_on = False
            else:
                break
        first, last = (g - a if first_on else 0.0), (g - b if last_on else 0.0)
    if n == 1:
        first = min(free, first) if g >= a else 0.0
        last = free - first
    if end is not None and last > max(0.0, end - b):
        capped = max(0.0, end - b)
        top = max(0.0, (free - capped + a) / n - a) if n > 1 else free - capped
        inner = (free - top - capped) / (n - 1) if n > 1 else 0.0
        # only where the space it frees does not open a band at the top or between the blocks
        if max(top + a, inner) <= EMPTY_BAND * span:
            first, last = top, capped
    if n == 1:
        return first, 0.0
    return first, (free - first - last) / (n - 1)


def _gaps_around(free: float, n: int, a: float, b: float) -> tuple[float, float]:
    """As ``_gaps``, but each end (its margin ``a`` or ``b`` counted) gets half the space
    between two blocks, as CSS's ``space-around``: a wide banner's words and product
    reach across it. An end whose margin is already wider gets nothing."""
    if n == 1:
        return _gaps(free, n, a, b)
    first_on, last_on = True, True
    while True:
        g = (free + a * first_on + b * last_on) / (n - 1 + 0.5 * (first_on + last_on))
        if first_on and g / 2 < a:
            first_on = False
        elif last_on and g / 2 < b:
            last_on = False
        else:
            break
    first, last = (g / 2 - a if first_on else 0.0), (g / 2 - b if last_on else 0.0)
    return first, (free - first - last) / (n - 1)


def _narrow(slot: Slot) -> Slot:
    """``slot`` with a text box cut to its block's width, the words staying where they are."""
    if slot.block is None or slot.parent or slot.block.width >= slot.box[2]:
        return slot
    x, y, w, h = slot.box
    bw = slot.block.width
    off = {"left": 0, "center": (w - bw) // 2, "right": w - bw}.get(slot.block.style.align, 0)
    return replace(slot, box=(x + off, y, bw, h))


def shift_of_box(box: Box, blocks: list[list[Any]], shift: dict[int, int], ax: int) -> int:
    """The offset of the block that holds ``box``'s start (0 when none moved)."""
    for j, blk in enumerate(blocks):
        if blk[0] <= box[ax] < blk[1]:
            return shift.get(j, 0)
    return 0


def has_item(item: str, words: Content, ribbon_style: str) -> bool:
    if item == "eyebrow":
        return bool(words.eyebrow) and ribbon_style == "eyebrow"
    if item == "price":
        return bool(words.price)
    if item == "rule":
        return True
    return bool(getattr(words, item))


def resolve_shape(
    s: ShapeSpec, content: Box, canvas: tuple[int, int], product: Box, short: int
) -> dict[str, Any]:
    if s.kind == "panel":
        assert s.region is not None
        box = resolve_region(s.region, content, canvas, product, short)
        return {
            "kind": "panel",
            "box": box,
            "fill": s.fill,
            "opacity": s.opacity,
            "radius": round(s.radius * short),
            "modes": list(s.modes),
        }
    assert s.cx is not None and s.cy is not None
    cx = resolve_edge(s.cx, "x", content, canvas, product, short)
    cy = resolve_edge(s.cy, "y", content, canvas, product, short)
    r = s.r * (max(product[2], product[3]) if s.r_of == "product" else short)
    return {
        "kind": "circle",
        "center": (round(cx), round(cy)),
        "r": round(r),
        "fill": s.fill,
        "opacity": s.opacity,
        "modes": list(s.modes),
    }


def logo_box(place: LogoPlacement, logo_size: tuple[int, int], content: Box, short: int) -> Box:
    x, y, w, h = content
    lh = max(8, round(place.height * short))
    lw = max(8, round(logo_size[0] * lh / logo_size[1]))
    if lw > 0.4 * w:  # very wide logos: cap the width instead
        lw = round(0.4 * w)
        lh = max(8, round(logo_size[1] * lw / logo_size[0]))
    vert, _, horiz = place.corner.partition("_")
    lx = {"left": x, "right": x + w - lw, "center": x + (w - lw) // 2}[horiz]
    ly = y if vert == "top" else y + h - lh
    return (lx, ly, lw, lh)
