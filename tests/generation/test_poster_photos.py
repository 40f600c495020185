"""Posters of realistic product photos (``tests.photoset``, cut by the classical segmenter):
a mug with a handle and a gabled carton.

A long English headline beside the mug on bold_sale's feed post is set in a few lines
with the mug large; with compact spacing the subline still stands its share of the
headline's line pitch under it; the discount badge sits on the product's visible corner,
not in the air at its box's corner.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from generation.posters import layout as layout_module
from generation.posters.content import build_content
from generation.posters.items import COMPACT_TEXT_GAP, TEXT_GAP
from generation.posters.layout import PosterLayout
from generation.posters.sizes import resolve_size
from generation.posters.slots import Slot
from generation.posters.spec import PosterSpec
from generation.posters.template import get_template
from generation.segment import segment
from generation.types import Segmentation
from tests.generation.test_posters import WORDS
from tests.photoset import make_case

LONG_EN = dict(
    headline="The everyday insulated steel bottle that keeps your drinks ice cold for a full day and hot until night!",
    subline="Double-wall vacuum insulation, a leak-proof lid, fits every cup holder and is dishwasher safe.",
    price="1299.99", compare_at_price="1899", currency="USD", locale="en_US",
    cta="Get yours today", ribbon="Limited edition",
)  # fmt: skip


@pytest.fixture(scope="module")
def cut() -> dict[str, Segmentation]:
    return {
        name: segment(make_case(name).photo, "classical")
        for name in ("mug_with_handle", "carton_on_tabletop")
    }


def _laid_out(seg: Segmentation, template: str, size: str, words: dict[str, str] = LONG_EN) -> PosterLayout:
    """The layout ``render_poster`` would draw, without drawing it."""
    spec = PosterSpec(template=template, size=size, **words)
    tpl = get_template(template)
    content = build_content(spec, tpl)
    return layout_module.solve_layout(
        tpl, resolve_size(size), seg.cutout, content, dict(tpl.families), logo_size=None, has_badge=True
    )


def _slot(layout: PosterLayout, name: str) -> Slot:
    return next(s for s in layout.slots if s.name == name)


def test_a_long_headline_beside_the_mug_takes_few_lines_and_leaves_the_mug_large(cut):
    # given the mug (wider than tall, with a handle) on bold_sale's feed post with the
    # 103-character English headline
    layout = _laid_out(cut["mug_with_handle"], "bold_sale", "feed")

    # then the headline reads in at most five lines at 40 px or more (it was eight
    # lines at 68 px over a mug 375 x 290 px, 9.3 % of the canvas), every word shown
    head = _slot(layout, "headline").block
    assert len(head.lines) <= 5 and head.size >= 40, (len(head.lines), head.size)
    assert not head.truncated
    # and the mug takes at least 12 % of the canvas (436 x 338 px: 12.6 %)
    x, y, w, h = layout.product_box
    assert w * h >= 0.12 * 1080 * 1080, layout.product_box
    assert _slot(layout, "subline").block is not None


def test_with_compact_spacing_the_subline_stands_its_share_of_the_headlines_pitch_under_it(cut):
    # given hero_left's pin with the long English words, set with compact spacing
    layout = _laid_out(cut["carton_on_tabletop"], "hero_left", "pinterest")
    assert any("compact spacing" in f for f in layout.fallbacks), layout.fallbacks
    head, sub = _slot(layout, "headline"), _slot(layout, "subline")

    # then the subline stands COMPACT_TEXT_GAP x TEXT_GAP of the larger line pitch under
    # the headline's ink (it kept the template's 16 px, where its 57 px headline asks 18)
    gap = sub.box[1] - (head.box[1] + head.box[3])
    pitch = max(head.block.line_height_px, sub.block.line_height_px)
    assert gap >= round(COMPACT_TEXT_GAP * TEXT_GAP * pitch), (gap, pitch)


@pytest.mark.parametrize(
    ("name", "template", "size"),
    [
        ("mug_with_handle", "bold_sale", "feed"),
        ("carton_on_tabletop", "price_tag", "link"),
        ("mug_with_handle", "price_tag", "link"),
        ("carton_on_tabletop", "bold_sale", "feed"),
    ],
)
def test_a_discount_badge_sits_on_the_products_visible_corner(cut, name, template, size):
    # given a product whose box corner is empty air: the mug's over its handle, the
    # carton's beside its gable (its side panel's top lower); a round badge placed beside
    # the box's corner stood off the matte by 33 px (mug, bold_sale's feed: 0.19 of its
    # 176 px), 20 (carton, price_tag's link: 0.27 of 74), 38 (mug, link: 0.38 of 100) and
    # 27 (carton, feed: 0.13 of 205)
    layout = _laid_out(cut[name], template, size, WORDS["short-en"])
    badge = _slot(layout, "badge")
    x, y, w, h = badge.box
    assert badge.extra["shape"] in ("circle", "burst")
    # then its disc comes within the keep-out's reach plus 0.08 of its size of the
    # nearest product pixel (23, 10, 12 and 15 px)
    matte, mx, my = layout.keepout.matte()
    ys, xs = np.nonzero(matte)
    apart = np.hypot(xs + mx + 0.5 - (x + w / 2), ys + my + 0.5 - (y + h / 2)).min() - w / 2
    assert apart <= layout.keepout.reach + 0.08 * w, (apart, badge.box, layout.product_box)
    # still off the dilated matte, inside the content box, within one badge size of a
    # top corner of the product's box
    assert not layout.keepout.hits(badge.box)
    cx, cy, cw, ch = layout.content
    assert cx <= x and cy <= y and x + w <= cx + cw and y + h <= cy + ch
    px, py, pw, _ = layout.product_box
    assert min(math.dist((x + w / 2, y + h / 2), (c, py)) for c in (px, px + pw)) <= max(w, h)
    # and half the layout's gap clear of every other element
    pad = max(4, round(0.022 * layout.short)) // 2
    for slot in layout.slots:
        if slot.kind == "badge" or slot.parent == "badge":
            continue
        ox, oy, ow, oh = slot.box
        assert x >= ox + ow + pad or ox >= x + w + pad or y >= oy + oh + pad or oy >= y + h + pad, slot.name
