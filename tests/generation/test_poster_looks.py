"""Template looks seen at full size: a web banner uses its width (centered_stack's words and
product reach across it), and the price tag's point is one smooth, anti-aliased edge."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation.posters import decor
from generation.posters.render import render_poster
from generation.posters.spec import PosterSpec
from generation.types import Segmentation
from tests.photoset import make_case
from tests.synthetic import product_photo

WORDS = {
    "short-en": dict(
        headline="Stays cold for 24 hours", subline="Double-wall steel, 750 ml.", price="29.99",
        compare_at_price="45", currency="USD", locale="en_US", cta="Shop now", ribbon="New",
    ),
    "short-zh": dict(
        headline="24小时保冷 随身好水杯", subline="双层真空不锈钢，750毫升", price="199",
        compare_at_price="299", currency="CNY", locale="zh_CN", cta="立即购买", ribbon="新品",
    ),
}  # fmt: skip


def _exact(photo: Image.Image, matte: Image.Image) -> Segmentation:
    x0, y0, x1, y1 = matte.getbbox()
    return Segmentation(image=photo, matte=matte, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")


@pytest.fixture(scope="module")
def products() -> dict[str, Segmentation]:
    """A tall narrow bottle and a wide white jar (the photo set's, with its exact matte)."""
    jar = make_case("white_jar_on_white")
    return {
        "bottle": _exact(*product_photo((480, 600), "plain")),
        "jar": _exact(jar.photo, Image.fromarray(np.rint(jar.alpha * 255).astype(np.uint8), "L")),
    }


def _empty_ends(layout: dict, width: int) -> tuple[int, int]:
    """The columns left of the first and right of the last element (the product box and
    every slot's ink or box)."""
    boxes = [layout["product_box"], *(s.get("ink", s["box"]) for s in layout["slots"])]
    return min(b[0] for b in boxes), width - max(b[0] + b[2] for b in boxes)


@pytest.mark.parametrize("product", ["bottle", "jar"])
@pytest.mark.parametrize("words", ["short-en", "short-zh"])
def test_a_centered_stack_banner_reaches_across_its_width(products, product, words):
    # given centered_stack's web banner (1920 x 600), whose spreading gave the two ends as
    # much room as each gap between headline, product and price: 213-250 px empty at each
    # end, 0.22-0.26 of the width together
    poster = render_poster(
        products[product], PosterSpec(template="centered_stack", size="banner", **WORDS[words])
    )
    width = poster.image.width
    # when the empty columns at its two ends are measured
    left, right = _empty_ends(poster.layout, width)
    # then they are at most 0.17 of the width together, about even, each at least the
    # content margin (48 px): the words start and the offer ends near the banner's edges
    assert (left + right) / width <= 0.17, (left, right)
    assert abs(left - right) <= 0.02 * width, (left, right)
    assert min(left, right) >= 48
    assert poster.checks.ok, poster.checks


def _point_residuals(cover: np.ndarray, point: int) -> np.ndarray:
    """Per row (the hole's rows left out), how far (px) the price tag's pointed end,
    measured as the row's empty coverage up to the body, lies from the straight lines
    from its tip (mid-height, x 0) to the body's corners (x ``point``)."""
    h = cover.shape[0]
    ys = np.arange(h) + 0.5
    line = point * np.abs(ys - h / 2) / (h / 2)
    hole = max(4, round(h * 0.16))
    top = round(h / 2 - hole / 2)
    rows = np.r_[0:top, top + hole : h]
    return ((1.0 - cover[:, : point + 4]).sum(axis=1) - line)[rows]


@pytest.mark.parametrize("height", [41, 58, 84, 144, 190])
def test_the_price_tags_point_is_two_straight_anti_aliased_edges(height):
    # given price tags from a marketplace image's to a banner's (the hole, and so the
    # point, half the price's type size)
    point = round(height * 0.3)
    # when its coverage is drawn
    cover = decor.price_tag(4 * height, height, point)
    # then each row's end lies within 0.1 px of the straight line from the tip to the
    # body's corner (a triangle to 2 px past the corners left the body's square corner
    # standing out of the edge: 1.6-2.0 px off, a step by the corner)
    residuals = _point_residuals(cover, point)
    assert np.abs(residuals).max() <= 0.1, np.round(residuals, 2)
    # and the edge is anti-aliased: in every row but the tip's own a pixel of the point's
    # edge is partly covered (a step edge has only 0 and 1)
    tip = cover[:, :point]
    partial = ((tip > 0.02) & (tip < 0.98)).any(axis=1)
    assert partial[2:-2].mean() >= 0.9, partial.astype(int)
