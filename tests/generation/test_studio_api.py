"""The studio engine's public set API, shared by the engine and the posters."""

from __future__ import annotations

import numpy as np
import pytest

from generation.compose import place_product
from generation.engines.studio import render_set, stage_at_box, stage_for_product
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
