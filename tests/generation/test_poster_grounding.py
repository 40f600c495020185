"""A product on a poster's brand colour or white is grounded on it, as in its scenes.

Standing, it had a soft blob under its foot and floated: the colour just under the contact
line lost 0.13-0.23 of its light. Now its contact shadow (``sets.neutral_standing_shadow``:
the scenes' grounding shadow under the neutral light) is tight and dark at the contact
line (0.28-0.41), and the product's own pixels are untouched. Lying flat, its shadow is
cut by the canvas's edge, never mirrored back at it.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation.config import GenerationConfig
from generation.posters import backgrounds
from generation.posters.output import RenderedPoster
from generation.posters.render import render_poster
from generation.posters.spec import PosterSpec
from generation.samples import product_photo
from generation.segment import segment
from generation.types import PlacedProduct, Segmentation

LUMA = np.array([0.299, 0.587, 0.114])


@pytest.fixture(scope="module")
def bottle() -> Segmentation:
    photo, mask = product_photo((240, 300), "gradient")
    return segment(photo, "alpha", GenerationConfig(), mask=mask)


def _alpha(poster: RenderedPoster) -> np.ndarray:
    """The product's alpha on the poster's canvas."""
    x, y, w, h = poster.placed.box
    alpha = np.zeros(poster.behind.size[::-1], np.uint8)
    alpha[y : y + h, x : x + w] = np.asarray(poster.placed.layer.getchannel("A"))
    return alpha


def under_foot(alpha: np.ndarray, rows: tuple[float, float]) -> tuple[slice, slice]:
    """The band ``rows`` (shares of the product's height below its lowest row) across the
    middle 60 % of its foot."""
    ys, _ = np.nonzero(alpha > 127)
    h, bottom = int(ys.max() - ys.min() + 1), int(ys.max()) + 1
    foot = np.nonzero(alpha[bottom - 3 : bottom].max(axis=0) > 127)[0]
    fw = int(foot[-1] - foot[0] + 1)
    cols = slice(int(foot[0]) + round(0.2 * fw), int(foot[-1]) - round(0.2 * fw) + 1)
    band = slice(bottom + round(rows[0] * h), bottom + max(round(rows[1] * h), round(rows[0] * h) + 2))
    return band, cols


def _darkness(shot: np.ndarray, bare: np.ndarray, alpha: np.ndarray, rows: tuple[float, float]) -> float:
    """How much darker ``shot`` is than ``bare`` (the same poster without the product's
    shadows) in the band ``under_foot(alpha, rows)``."""
    area = under_foot(alpha, rows)
    lit, dark = bare[area].astype(np.float64) @ LUMA, shot[area].astype(np.float64) @ LUMA
    return 1.0 - float(dark.mean() / lit.mean())


@pytest.mark.parametrize("template", ["hero_left", "marketplace_clean"])
def test_a_standing_product_on_brand_or_white_has_a_dark_contact_line(bottle, template, monkeypatch):
    # given: a bottle standing on the brand colour (hero_left) or white (marketplace_clean)
    spec = PosterSpec(template=template, size=(320, 400), headline="Gin", price="29", currency="USD")
    # when: the poster is made, and the same poster without the product's shadows
    poster = render_poster(bottle, spec)
    mode = poster.layout["background"]["mode"]
    monkeypatch.setitem(backgrounds.SHADOW_STRENGTH, mode, 0.0)
    bare = np.asarray(render_poster(bottle, spec).behind)
    shot, alpha = np.asarray(poster.behind), _alpha(poster)
    # then: just under its foot the colour is much darker (the soft blob took 0.175 of its
    # light on white, 0.219 on the brand colour; the contact shadow 0.26 and 0.33), and
    # tight: a little further down (6-10 % of its height) at most a quarter as dark (0.02)
    near = _darkness(shot, bare, alpha, (0.0, 0.02))
    assert near > 0.24
    assert _darkness(shot, bare, alpha, (0.06, 0.10)) < 0.25 * near
    if mode == "white":
        assert np.all(bare == 255)  # nothing but white where no shadow falls
    assert "view" not in poster.layout["background"]
    # and the product's own pixels are the cutout's, untouched by its shadow
    assert poster.checks.fidelity.max_abs_diff == 0
    inside = alpha == 255
    x, y, w, h = poster.placed.box
    own = np.zeros((*alpha.shape, 3), np.uint8)
    own[y : y + h, x : x + w] = np.asarray(poster.placed.layer.convert("RGB"))
    assert np.array_equal(np.asarray(poster.image.convert("RGB"))[inside], own[inside])


def test_a_flat_lay_throws_the_same_shadow_at_the_canvas_edge_as_away_from_it():
    # given: a flat-lay 2 px from the right edge of a small canvas, and at the same place
    # on a canvas 100 px wider
    alpha = np.zeros((40, 60), np.uint8)
    alpha[4:36, 4:58] = 255
    layer = Image.merge("RGBA", (*Image.new("RGB", (60, 40), (90, 60, 40)).split(), Image.fromarray(alpha)))
    near = PlacedProduct(layer=layer, box=(40, 20, 60, 40), canvas_size=(100, 80))
    away = PlacedProduct(layer=layer, box=(40, 20, 60, 40), canvas_size=(200, 80))
    # when: its shadow darkens white on both
    shaded_near = backgrounds.with_lying_shadow(
        backgrounds.white_background((100, 80)), near, strength=0.5, light_side=1.0
    )
    shaded_away = backgrounds.with_lying_shadow(
        backgrounds.white_background((200, 80)), away, strength=0.5, light_side=1.0
    )
    # then: the canvas's edge cuts the same shadow off (mirrored back at the edge, it was
    # up to 26 of 255 darker there)
    assert shaded_near.min() < 250  # there is a shadow
    assert np.array_equal(shaded_near, shaded_away[:, :100])
