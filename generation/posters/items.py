"""Text groups: the items of a column or row (eyebrow, headline, subline, price, CTA,
rule) measured and set inside the group's region."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from generation.errors import InvalidSpec
from generation.posters.slots import Content, Slot, TypeScale, font_style, overflow
from generation.posters.template import GroupSpec, Template
from generation.types import Box
from generation.typography import MissingGlyph, TextDoesNotFit, TextStyle, fonts, layout_text
from generation.typography.fit import may_reach

OFFER = ("price", "cta")  # the items a spread column sets at the bottom of its region
# A headline at least this much larger than its subline still reads as the headline; where
# both would come out closer (long words at the legible minimum), the subline is set
# smaller, then shortened to one line, then left out.
HIERARCHY = 1.25
# The hierarchy a subline is set smaller for, where it can be without going under the
# canvas's legible minimum: at 1.25-1.35x (long words on a story or pin: 46 px over
# 36 px) the two read as one block of similar type.
CLEAR_HIERARCHY = 1.5
# The most lines a Latin headline across most of the content's width (``WIDE``) takes where
# relaxed sizes (twice the template's lines) would allow more, as long as it fits them at
# the template's own sizes: a long headline set in eight wide lines at a larger size reads
# as a wall of type and takes the product's room (in a narrow column beside a tall product
# eight short lines are the column's shape).
FEW_LINES = 5
WIDE = 0.6


def layout_group(
    template: Template, group: GroupSpec, gi: int, items: list[str], region: Box, words: Content,
    families: dict[str, str], unit: TypeScale, short: int, compact: bool, headline: int | None = None,
    wide: bool = False,
) -> list[Slot]:  # fmt: skip
    """The group's items set in ``region`` (``wide``: across most of the content's width,
    where a headline takes at most ``FEW_LINES`` lines wherever it fits them at the
    template's own sizes). The subline is set at most the headline's
    size / ``CLEAR_HIERARCHY`` where the legible minimum allows, and at most its size /
    ``HIERARCHY`` always: the headline in this group, or ``headline`` (px) set by an
    earlier group; a subline that cannot be is left out."""
    if group.direction == "row":
        placed = _layout_row(template, group, gi, items, region, words, families, unit, short, compact)
        if placed is not None:
            return placed
    return _layout_column(
        template, group, gi, items, region, words, families, unit, short, compact, headline, wide
    )


def headline_reaches(
    template: Template, group: GroupSpec, items: list[str], region: Box, words: Content,
    families: dict[str, str], unit: TypeScale, short: int, compact: bool, size: int,
) -> bool:  # fmt: skip
    """Whether ``layout_group`` may set the group's headline at ``size`` px or larger in
    ``region``. False only where it sets it smaller or raises TextDoesNotFit, told
    without setting its lines (``may_reach``): a row sets the headline in the whole
    region, a column as wide and no taller than the height its items of fixed height
    (``_layout_column`` sets them first, in the whole region) and their gaps leave it
    without the subline; both at their style or a smaller one (``cap``), or at the few
    lines' style, which comes out no larger than that style or its minimum. Type that
    may end with an ellipsis (``unit.shorten``) may be set larger, shortened: True."""
    if unit.shorten:
        return True
    rw, rh = region[2], region[3]
    scale = 0.82 if compact else 1.0  # as _layout_row and _layout_column set it
    spec = template.text["headline"]
    align = "left" if group.direction == "row" else group.align
    style = font_style(spec, template, families, unit, align=align, scale=scale)
    few = min(style.max_size, max(style.min_size, round(spec.min * unit * scale)))
    if few >= size:
        return True
    try:
        height = rh
        if group.direction != "row":
            # the same calls as the column's: their blocks are kept for it (``layout_text``)
            fixed = [
                _measure_item(template, it, rw, rh, words, families, unit, group.align, scale)
                for it in items
                if it not in ("headline", "subline")
            ]
            names = [it for it in items if it != "subline"]
            height -= sum(m.height for m in fixed) + sum(
                _base_gaps(names, _column_gap(group, short, compact))
            )
        lang = words.langs.get("headline", words.lang)
        return may_reach(words.headline, (rw, height), style, size, lang=lang)
    except (TextDoesNotFit, InvalidSpec, MissingGlyph):
        return True  # told where the group sets them, in its own order


def _column_gap(group: GroupSpec, short: int, compact: bool) -> int:
    """The template's gap (px) between two items of a column."""
    return round(group.gap * short * (0.6 if compact else 1.0))


@dataclass
class _Item:
    name: str
    width: int
    height: int
    slots: list[Slot]  # positioned relative to the item's top-left corner


def _measure_item(
    template: Template, item: str, width: int, height: int, words: Content, families: dict[str, str],
    unit: TypeScale, align: str, scale: float, cap: int | None = None, one_line: bool = False,
    few: bool = False,
) -> _Item:  # fmt: skip
    """One item set inside ``width`` x ``height``; its slots relative to (0, 0); a headline
    or subline at most ``cap`` px (``one_line``: on one line, ending with an ellipsis if
    it must)."""
    if width < 8 or height < 8:
        raise overflow(f"no room left for the {item} in {template.id}")
    styles = template.text

    def style(role: str, **kw: Any) -> TextStyle:
        return font_style(styles[role], template, families, unit, align=align, scale=scale, **kw)

    def lang(role: str) -> str:
        return words.langs.get(role, words.lang)

    if item in ("headline", "subline"):
        text_style = style(item, cap=cap, max_lines=1) if one_line else style(item, cap=cap)
        block = None
        if few and item == "headline" and text_style.max_lines > FEW_LINES and not mostly_cjk(words.headline):
            # relaxed sizes allow twice the lines: a Latin headline across the width first
            # tries few lines at the template's own sizes (smaller type across the width
            # reads better than a wall of eight lines), and takes the extra lines only
            # where those fail; a narrow column beside a tall product keeps them
            few_style = replace(
                text_style,
                max_lines=FEW_LINES,
                min_size=min(
                    text_style.max_size, max(text_style.min_size, round(styles[item].min * unit * scale))
                ),
            )
            try:
                block = layout_text(words.headline, (width, height), few_style, lang=lang(item))
            except TextDoesNotFit:
                block = None
        if block is None:
            block = layout_text(
                getattr(words, item),
                (width, height),
                text_style,
                lang=lang(item),
                ellipsis=unit.shorten or one_line,
            )
        return _Item(
            item,
            block.width,
            block.height,
            [
                Slot(
                    item,
                    "text",
                    (0, 0, block.width, block.height),
                    role=item,
                    text=getattr(words, item),
                    block=block,
                )
            ],
        )
    if item == "eyebrow":
        block = layout_text(
            words.eyebrow,
            (width, height),
            style("eyebrow", max_lines=1),
            lang=lang("eyebrow"),
            ellipsis=unit.shorten,
        )
        if not template.eyebrow_pill:
            return _Item("eyebrow", block.width, block.height, [
                Slot("eyebrow", "text", (0, 0, block.width, block.height), role="eyebrow", text=words.eyebrow, block=block),
            ])  # fmt: skip
        pad_x, pad_y = round(block.size * 0.75), round(block.size * 0.42)
        w, h = block.width + 2 * pad_x, block.height + 2 * pad_y
        if w > width:
            raise overflow(f"the ribbon text {words.eyebrow!r} does not fit")
        return _Item("eyebrow", w, h, [
            Slot("eyebrow", "pill", (0, 0, w, h), role="ribbon_fill", extra={"radius": h // 2}),
            Slot("eyebrow_label", "text", (pad_x, pad_y, block.width, block.height), role="ribbon_text", text=words.eyebrow, block=block, parent="eyebrow"),
        ])  # fmt: skip
    if item == "rule":
        w, h = max(8, round(72 * unit)), max(2, round(3 * unit))
        return _Item("rule", w, h, [Slot("rule", "rule", (0, 0, w, h), role="rule")])
    if item == "cta":
        cta = template.cta
        st = style("cta", max_lines=1)
        pad_x = round(st.max_size * cta.pad_x) if cta.style != "link" else 0
        pad_y = round(st.max_size * cta.pad_y) if cta.style != "link" else round(st.max_size * 0.15)
        arrow = round(st.max_size * 1.1) if (cta.arrow or cta.style == "link") else 0
        block = layout_text(
            words.cta,
            (max(8, width - 2 * pad_x - arrow), height),
            st,
            lang=lang("cta"),
            ellipsis=unit.shorten,
        )
        w, h = block.width + 2 * pad_x + arrow, block.height + 2 * pad_y
        if cta.style != "link":
            w = max(w, round(h * 2.6))  # short labels still get a button, not a dot
        inner_x = (w - arrow - block.width) // 2 if cta.style != "link" else 0
        return _Item("cta", w, h, [
            Slot("cta", "pill", (0, 0, w, h), role="cta_fill", extra={"radius": round(h * cta.radius), "style": cta.style, "arrow": arrow, "border": max(1, round(st.max_size * cta.border))}),
            Slot("cta_label", "text", (inner_x, pad_y, block.width, block.height), role="cta_text", text=words.cta, block=block, parent="cta" if cta.style == "filled" else "", extra={"arrow": arrow}),
        ])  # fmt: skip
    if item == "price":
        return _measure_price(template, width, height, words, style, lang, align)
    raise AssertionError(item)


def _measure_price(
    template: Template, width: int, height: int, words: Content, style: Any, lang: Any, align: str
) -> _Item:
    price_style = style("price", max_lines=1)
    # a price tag plate adds padding and a punched hole: about 1.4 em beside the price
    room = width - (round(1.4 * price_style.max_size) if template.price_plate else 0)
    if room < 8:
        raise overflow(f"the price {words.price!r} does not fit")
    block = layout_text(words.price, (room, height), price_style, lang=lang("price"))
    slots = []
    if template.price_plate:
        pad_x, pad_y = round(block.size * 0.45), round(block.size * 0.22)
        hole = round(block.size * 0.5)
        pw, ph = block.width + 2 * pad_x + hole, block.height + 2 * pad_y
        if pw > width:
            raise overflow(f"the price {words.price!r} does not fit")
        slots.append(
            Slot("price_plate", "price_plate", (0, 0, pw, ph), role="price_plate", extra={"hole": hole})
        )
        slots.append(
            Slot(
                "price",
                "text",
                (hole + pad_x, pad_y, block.width, block.height),
                role="price_plate_text",
                text=words.price,
                block=block,
                parent="price_plate",
            )
        )
        main_w, main_h = pw, ph
    else:
        slots.append(
            Slot(
                "price",
                "text",
                (0, 0, block.width, block.height),
                role="price",
                text=words.price,
                block=block,
            )
        )
        main_w, main_h = block.width, block.height
    if not words.compare_at:
        return _Item("price", main_w, main_h, slots)
    cmp_block = layout_text(
        words.compare_at, (width, height), style("compare_at", max_lines=1), lang=lang("compare_at")
    )
    gap = round(block.size * 0.35)
    if template.price_plate:
        # on a tag the old price sits right under the new one, where a shopper reads on:
        # from the price's first figure (centred or right-aligned with it in such columns)
        x = {
            "left": slots[-1].box[0],
            "center": (main_w - cmp_block.width) // 2,
            "right": main_w - (main_w - slots[-1].box[0] - slots[-1].box[2]) - cmp_block.width,
        }[align]
        x = max(0, min(x, width - cmp_block.width))
        y = main_h + round(block.size * 0.12)
        slots.append(
            Slot(
                "compare_at",
                "text",
                (x, y, cmp_block.width, cmp_block.height),
                role="compare_at",
                text=words.compare_at,
                block=cmp_block,
                strike=True,
            )
        )
        return _Item("price", max(main_w, x + cmp_block.width), y + cmp_block.height, slots)
    if main_w + gap + cmp_block.width <= width:
        # side by side, baselines roughly aligned (descents scale with the size)
        cy = (
            main_h
            - cmp_block.height
            - round(0.12 * (block.size - cmp_block.size))
            - (round(block.size * 0.22) if template.price_plate else 0)
        )
        slots.append(
            Slot(
                "compare_at",
                "text",
                (main_w + gap, max(0, cy), cmp_block.width, cmp_block.height),
                role="compare_at",
                text=words.compare_at,
                block=cmp_block,
                strike=True,
            )
        )
        return _Item("price", main_w + gap + cmp_block.width, main_h, slots)
    # stacked: the old price above the new one
    shift = cmp_block.height + round(gap * 0.4)
    for s in slots:
        x, y, w, h = s.box
        s.box = (x, y + shift, w, h)
    slots.insert(
        0,
        Slot(
            "compare_at",
            "text",
            (0, 0, cmp_block.width, cmp_block.height),
            role="compare_at",
            text=words.compare_at,
            block=cmp_block,
            strike=True,
        ),
    )
    return _Item("price", max(main_w, cmp_block.width), main_h + shift, slots)


def mostly_cjk(text: str) -> bool:
    """Whether at least half of ``text``'s characters are Chinese, Japanese or Korean
    (their lines are bound by height, not width: they keep the relaxed lines)."""
    chars = [ch for ch in text if not ch.isspace()]
    return 2 * sum(1 for ch in chars if fonts.is_cjk_char(ch)) >= len(chars) > 0


def _size(item: _Item) -> int:
    """The font size (px) of a headline or subline item."""
    block = item.slots[0].block
    assert block is not None
    return block.size


def _layout_column(
    template: Template, group: GroupSpec, gi: int, items: list[str], region: Box, words: Content,
    families: dict[str, str], unit: TypeScale, short: int, compact: bool, headline: int | None,
    wide: bool = False,
) -> list[Slot]:  # fmt: skip
    rx, ry, rw, rh = region
    measure = partial(_measure_item, few=wide)  # a headline across the width takes few lines
    if rw < 16 or rh < 16:
        raise overflow(f"no room for the text in {template.id}")
    gap = _column_gap(group, short, compact)
    scale = 0.82 if compact else 1.0

    def gaps_for(names: list[str]) -> int:
        return sum(_base_gaps(names, gap))

    fixed_names = [it for it in items if it not in ("headline", "subline")]
    measured: dict[str, _Item] = {}
    for it in fixed_names:
        measured[it] = measure(template, it, rw, rh, words, families, unit, group.align, scale)

    def room(names: list[str]) -> int:
        """The height ``names``' headline and subline share."""
        return rh - sum(measured[it].height for it in fixed_names) - gaps_for(names)

    left = room(items)
    if left < 0:
        raise overflow(f"the price and button do not fit in {template.id}")
    # the subline takes its natural height first; the headline then shrinks to what is left
    if "subline" in items:
        below = None if headline is None else int(headline / CLEAR_HIERARCHY)
        sub = measure(template, "subline", rw, left, words, families, unit, group.align, scale, below)
        if "headline" not in items and headline is not None and _size(sub) > int(headline / HIERARCHY):
            # the headline of an earlier group is at the legible minimum: no smaller subline
            items = [it for it in items if it != "subline"]
        elif "headline" in items:
            try:
                head = measure(
                    template, "headline", rw, left - sub.height, words, families, unit, group.align, scale
                )
            except TextDoesNotFit:
                # squeeze the subline to its smallest size and give the headline the rest
                sub = measure(template, "subline", rw, left, words, families, unit, group.align, scale * 0.6)
                head = measure(
                    template, "headline", rw, left - sub.height, words, families, unit, group.align, scale
                )
            for _ in range(4):
                if _size(head) >= CLEAR_HIERARCHY * _size(sub) or _size(sub) <= unit.legible:
                    break
                # a long headline shrunk to near its subline's size: the subline is set
                # smaller (never under the legible minimum), which also leaves the
                # headline more room
                sub = measure(
                    template, "subline", rw, left, words, families, unit, group.align, scale,
                    int(_size(head) / CLEAR_HIERARCHY),
                )  # fmt: skip
                head = measure(
                    template, "headline", rw, left - sub.height, words, families, unit, group.align, scale
                )
            if _size(head) < HIERARCHY * _size(sub):
                # the subline is at the legible minimum already: on one line it leaves the
                # headline room to grow; where even that keeps them close, it is left out
                try:
                    one = measure(
                        template, "subline", rw, left, words, families, unit, group.align, scale,
                        int(_size(head) / CLEAR_HIERARCHY), one_line=True,
                    )  # fmt: skip
                    larger = measure(
                        template,
                        "headline",
                        rw,
                        left - one.height,
                        words,
                        families,
                        unit,
                        group.align,
                        scale,
                    )
                    if _size(larger) >= HIERARCHY * _size(one):
                        sub, head = one, larger
                except TextDoesNotFit:
                    pass
            if _size(head) < HIERARCHY * _size(sub):
                items = [it for it in items if it != "subline"]
                head = measure(
                    template, "headline", rw, room(items), words, families, unit, group.align, scale
                )
            measured["headline"] = head
        if "subline" in items:
            measured["subline"] = sub
    elif "headline" in items:
        measured["headline"] = measure(
            template, "headline", rw, left, words, families, unit, group.align, scale
        )

    gaps = _text_gaps(items, measured, gap, compact)
    floor = math.ceil(GAP_HEADLINE * _size(measured["headline"])) if "headline" in items else 0
    for _ in range(3):
        spare = rh - sum(measured[it].height for it in items) - sum(gaps)
        if spare >= 0 or "headline" not in items or unit.relax:
            # words that already need smaller type keep their size; with compact spacing
            # the headline still gives way for COMPACT_TEXT_GAP of the gaps (else the
            # subline stood the template's bare gap under it, 12-16 px under a 57 px one)
            break
        # the headline gives up the height that the gaps its size asks for take: set in
        # the rest, it is smaller, and so are they; never under CLEAR_HIERARCHY x its
        # subline, down to GAP_HEADLINE of its size (a headline on one line gives a step
        # of its size for every 4 % of its height), the gaps then getting what room that
        # leaves (``_fitted_gaps``)
        was = measured["headline"]
        try:
            head = measure(
                template, "headline", rw, was.height + spare, words, families, unit, group.align, scale
            )
            if _size(head) < floor:
                head = measure(
                    template, "headline", rw, was.height, words, families, unit, group.align, scale, floor
                )
        except TextDoesNotFit:
            break
        if (
            _size(head) >= _size(was)
            or _worse(head, was)
            or ("subline" in items and _size(head) < CLEAR_HIERARCHY * _size(measured["subline"]))
        ):
            break
        measured["headline"] = head
        gaps = _text_gaps(items, measured, gap, compact)
    total = sum(measured[it].height for it in items)
    gaps = _fitted_gaps(_base_gaps(items, gap), gaps, rh - total)
    total += sum(gaps)
    # spread: the offer (price, CTA) ends at the region's bottom and the message (eyebrow
    # to subline) stands SPREAD_SHARE of the free height above it, the rest over it, so a
    # column beside a tall product runs most of its height (all of the free height
    # between them left one empty block of half the column)
    offer = next((i for i, it in enumerate(items) if it in OFFER), 0)
    valign = group.valign if group.valign not in ("spread", "justify") or offer else "middle"
    free = rh - total
    inner = free if valign == "justify" else round(free * SPREAD_SHARE)
    y = ry + {"top": 0, "middle": free // 2, "bottom": free, "spread": free - inner, "justify": 0}[valign]
    out: list[Slot] = []
    prev = None
    for i, it in enumerate(items):
        if prev is not None:
            y += gaps[i - 1]
        if valign in ("spread", "justify") and i == offer:
            y += inner
        m = measured[it]
        x = rx + {"left": 0, "center": (rw - m.width) // 2, "right": rw - m.width}[group.align]
        for s in m.slots:
            sx, sy, sw, sh = s.box
            s.box = (x + sx, y + sy, sw, sh)
            s.group = gi
            if s.kind == "text" and s.block is not None and s.name in ("headline", "subline"):
                # a multi-line block aligns its lines inside the whole column width
                s.box = (rx, y + sy, rw, sh)
                s.extra["ink_width"] = m.width
            out.append(s)
        y += m.height
        prev = it
    return out


SPREAD_SHARE = 0.5  # of a spread column's free height, the part between its message and its offer
# Two texts one under the other stand at least this share of the larger one's line pitch
# (px x line height) apart, ink to ink: the template's gap, a share of the canvas, left a
# subline 14-24 px under a 100-120 px headline, closer than the headline's own lines stand
# to each other, so the two read as one block (and a large price as close under it).
TEXT_GAP = 0.4
COMPACT_TEXT_GAP = 0.75  # of that, with compact spacing
GAP_HEADLINE = 0.9  # the least share of its size a headline is set at to make room for them


def _base_gaps(names: list[str], gap: int) -> list[int]:
    """The template's gaps between ``names`` one under the other: a CTA gets a little more
    air above it; a rule sits close to what it divides."""
    return [
        round(gap * (1.5 if b == "cta" else 0.7 if "rule" in (a, b) else 1.0))
        for a, b in zip(names, names[1:], strict=False)
    ]


def _pitch(item: _Item) -> int:
    """The largest line pitch (px) of the texts of ``item``; 0 for one without text."""
    return max((s.block.line_height_px for s in item.slots if s.block is not None), default=0)


def _text_gaps(names: list[str], measured: dict[str, _Item], gap: int, compact: bool) -> list[int]:
    """The gaps between ``names`` one under the other that their type asks for: the
    template's (``_base_gaps``), or ``TEXT_GAP`` of the larger line pitch of the two where
    that is more. An eyebrow (a kicker) stays as close over the headline as its own type
    asks; a rule takes the pitch of the text above it, and keeps its closer 0.7."""
    pitches = [_pitch(measured[it]) for it in names]
    for k in range(1, len(names)):
        if names[k] == "rule":
            pitches[k] = pitches[k - 1]
    share = TEXT_GAP * (COMPACT_TEXT_GAP if compact else 1.0)
    gaps = []
    for k, base in enumerate(_base_gaps(names, gap)):
        pitch = pitches[k] if names[k] == "eyebrow" else max(pitches[k], pitches[k + 1])
        gaps.append(max(base, round(share * pitch * (0.7 if "rule" in names[k : k + 2] else 1.0))))
    return gaps


def _worse(item: _Item, before: _Item) -> bool:
    """Whether ``item``'s text is shortened or has a word broken where ``before``'s was not."""
    new, old = item.slots[0].block, before.slots[0].block
    assert new is not None and old is not None
    return (new.truncated and not old.truncated) or (new.broken_words and not old.broken_words)


def _fitted_gaps(base: list[int], wanted: list[int], room: int) -> list[int]:
    """``wanted`` where the ``room`` (px) the column has for its gaps holds them; else
    each gap's part over ``base`` cut by the same share, so that they fill the room."""
    if sum(wanted) <= room:
        return wanted
    extra = sum(wanted) - sum(base)
    share = max(0, room - sum(base)) / extra if extra else 0.0
    return [b + int((w - b) * share) for b, w in zip(base, wanted, strict=True)]


def _layout_row(
    template: Template, group: GroupSpec, gi: int, items: list[str], region: Box, words: Content,
    families: dict[str, str], unit: TypeScale, short: int, compact: bool,
) -> list[Slot] | None:  # fmt: skip
    """Items side by side (price beside the button); None when they do not fit in one row."""
    rx, ry, rw, rh = region
    if rw < 16 or rh < 16:
        return None
    gap = round(group.gap * short * (0.6 if compact else 1.0) * 1.5)
    scale = 0.82 if compact else 1.0
    try:
        measured = [_measure_item(template, it, rw, rh, words, families, unit, "left", scale) for it in items]
    except TextDoesNotFit:
        return None
    total_w = sum(m.width for m in measured) + gap * (len(measured) - 1)
    if total_w > rw or max(m.height for m in measured) > rh:
        return None
    row_h = max(m.height for m in measured)
    valign = "middle" if group.valign in ("spread", "justify") else group.valign
    y = ry + {"top": 0, "middle": (rh - row_h) // 2, "bottom": rh - row_h}[valign]
    if group.justify == "space_between" and len(measured) > 1:
        spacing = (rw - sum(m.width for m in measured)) / (len(measured) - 1)
        x = float(rx)
    else:
        spacing = gap
        x = rx + {"start": 0, "center": (rw - total_w) / 2, "space_between": 0}[group.justify]
        if group.justify == "start" and group.align == "right":
            x = rx + rw - total_w
        elif group.justify == "start" and group.align == "center":
            x = rx + (rw - total_w) / 2
    out = []
    for m in measured:
        oy = y + (row_h - m.height) // 2
        for s in m.slots:
            sx, sy, sw, sh = s.box
            s.box = (round(x) + sx, oy + sy, sw, sh)
            s.group = gi
            out.append(s)
        x += m.width + spacing
    return out
