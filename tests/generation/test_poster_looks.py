"""Template looks seen at full size: a web banner uses its width (centered_stack's words and
product reach across it), minimal_luxury's words read on a soft gradient where they need
help (not on boxes), and the price tag's point is one smooth, anti-aliased edge."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation.config import GenerationConfig
from generation.engines.studio import StudioEngine
from generation.posters import contrast, decor
from generation.posters.render import render_poster
from generation.posters.spec import PosterSpec
from generation.specs import SceneSpec
from generation.types import RenderedImage, Segmentation
from tests.generation.test_posters import WORDS
from tests.photoset import make_case
from tests.synthetic import product_photo


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


@pytest.fixture(scope="module")
def marble(products) -> RenderedImage:
    return StudioEngine(GenerationConfig()).render(
        products["jar"], SceneSpec(theme="marble_counter", width=1080, height=1080)
    )[0]


@pytest.mark.parametrize("size", ["feed", "link"])
def test_minimal_luxury_on_a_light_scene_reads_on_a_gradient_not_on_boxes(products, marble, size):
    # given minimal_luxury (light serif words, made for its dark set) on a light marble
    # scene, where its words need help to read: each run of them got a light scrim, a
    # box behind it (feed: eyebrow+headline 45 %, subline 60 %, price 88 %; link: 60 %)
    poster = render_poster(
        products["jar"],
        PosterSpec(template="minimal_luxury", size=size, **WORDS["short-en"]),
        background=marble,
    )
    # when it is made
    layout = poster.layout
    fixes = [f for f in layout["fixes"] if not f.startswith("cta_label")]
    # then one gradient washes in from the canvas's edge behind the whole column of words,
    # no scrim or plate
    assert len(fixes) == 1 and fixes[0].split(": ")[1].startswith("gradient"), layout["fixes"]
    fixed = [s for s in layout["slots"] if s.get("fix") == "gradient"]
    assert {"headline", "price"} <= {s["name"] for s in fixed}
    # and every word reads on it: the contrast checks pass
    assert all(s["contrast"] >= s["required"] for s in fixed), [(s["name"], s["contrast"]) for s in fixed]
    assert poster.checks.ok, poster.checks


@pytest.mark.parametrize(
    ("union", "side"),
    [((81, 140, 410, 800), "left"), ((700, 200, 300, 500), "right"), ((80, 800, 900, 450), "bottom")],
)
def test_a_gradient_is_full_from_the_canvas_edge_and_fades_smoothly(union, side):
    # given the words' box on a 1080 x 1350 canvas
    pad, short, shape = 19, 1080, (1350, 1080, 3)
    # when the gradient behind them is made
    full, tile, mask = contrast._wash(union, pad, short, shape)
    # then its full part runs from the edge on the words' side past them by the padding,
    # across the whole canvas
    x, y, w, h = union
    expected = {
        "left": (0, 0, x + w + pad, 1350), "right": (x - pad, 0, 1080 - x + pad, 1350),
        "bottom": (0, y - pad, 1080, 1350 - y + pad),
    }[side]  # fmt: skip
    assert full == expected
    assert mask.shape == (tile[3], tile[2])
    # and it fades from there to nothing, without a step: never more than 1.5 / reach
    # between neighbouring pixels across it
    across = mask[0] if side in ("left", "right") else mask[:, 0]
    if side in ("right", "bottom"):
        across = across[::-1]
    reach = round(contrast.WASH_REACH * short)
    assert (across[: full[2] if side != "bottom" else full[3]] == 1.0).all()
    assert across[-1] < 0.01 and (np.diff(across) <= 0).all()
    assert np.abs(np.diff(across)).max() <= 1.5 / reach
