"""The studio engine's public set API, shared by the engine and the posters."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation.compose import place_product
from generation.sets import (
    list_themes,
    plan_variant,
    render_set,
    render_set_pair,
    stage_at_box,
    stage_for_product,
)
from generation.types import PlacedProduct
from tests.synthetic import product_rgba


def test_render_set_builds_the_set_around_a_given_box_without_the_product():
    cutout = product_rgba((200, 300))
    placed = place_product(cutout, (640, 480), (220, 100, 200, 300))

    a = render_set("marble_counter", placed, seed=4)
    b = render_set(
        "marble_counter", placed, stage=stage_at_box("marble_counter", placed.box, (640, 480), seed=4), seed=4
    )

    assert a.shape == (480, 640, 3) and a.dtype == np.float32
    assert np.array_equal(a, b)
    # the product is not drawn: the set under an opaque product pixel is not the product's colour
    ys, xs = np.nonzero(np.asarray(placed.layer)[..., 3] == 255)
    product_px = np.asarray(placed.layer)[ys, xs, :3].astype(np.float32)
    assert np.abs(a[100 + ys, 220 + xs] - product_px).mean() > 20


def test_render_set_refuses_a_stage_for_another_box():
    placed = place_product(product_rgba((100, 150)), (400, 400), (150, 120, 100, 150))
    other = stage_for_product("podium", (100, 150), (400, 400), fill=0.3)
    assert other.box != placed.box
    with pytest.raises(ValueError):
        render_set("podium", placed, stage=other)


@pytest.mark.parametrize("theme", list_themes())
def test_render_set_pair_is_the_set_with_and_without_the_product_value_for_value(theme):
    # given: a product staged as a scene variant (props, podium, reflection as the theme has them)
    cutout = product_rgba((160, 240))
    variant = plan_variant(theme, 3, light_side=1.0)
    stage = stage_for_product(theme, cutout.size, (360, 480), fill=0.5, seed=3, variant=variant)
    placed = place_product(cutout, (360, 480), stage.box)
    nothing = PlacedProduct(
        layer=Image.new("RGBA", placed.layer.size, (0, 0, 0, 0)), box=placed.box, canvas_size=(360, 480)
    )
    # when
    shadowed, empty = render_set_pair(
        theme, placed, stage=stage, seed=3, variant=variant, brand_color=(200, 40, 90)
    )
    # then: exactly the two sets render_set draws, and they differ by the product's shadows
    assert np.array_equal(
        shadowed, render_set(theme, placed, stage=stage, seed=3, variant=variant, brand_color=(200, 40, 90))
    )
    assert np.array_equal(
        empty, render_set(theme, nothing, stage=stage, seed=3, variant=variant, brand_color=(200, 40, 90))
    )
    assert not np.array_equal(shadowed, empty)
