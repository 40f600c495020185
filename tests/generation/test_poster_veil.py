"""A scrim (the veil behind text, centered_stack's and the other scrim templates') is a smooth
gradient in the 8-bit poster: its edge, rounded to whole levels, showed bands (runs of one
level, then a 1-level step) wherever the set under it is smooth."""

from __future__ import annotations

import numpy as np

from generation.posters import contrast


def _veil(ground: float, color: tuple[int, int, int], opacity: float) -> tuple[np.ndarray, np.ndarray]:
    """A scrim drawn as the renderer draws it (the centered_stack story's: short side 1080,
    its text block's cores) over a smooth ground, and the same scrim's exact values:
    (rounded 8-bit pixels, exact float pixels)."""
    short = 1080
    box, pad = (100, 100, 600, 200), round(contrast.PLATE_PAD * short)
    shape = contrast._fix_shape("scrim", box, pad, short, [(0, 0, 600, 200)])
    canvas = np.full((400, 800, 3), ground, dtype=np.float32)
    contrast._apply_fix(canvas, "scrim", box, color, opacity, pad, short, shape)
    # the renderer's rounding (render._render, step 6)
    pixels = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    reach = contrast._fix_reach(short)
    exact = np.full((400, 800), ground, dtype=np.float64)
    m = shape.astype(np.float64) * opacity
    x, y = box[0] - reach, box[1] - reach
    exact[y : y + m.shape[0], x : x + m.shape[1]] += (color[0] - ground) * m
    return pixels, exact


def test_a_veils_edge_over_a_smooth_set_is_a_gradient_not_bands():
    # given: a dark smooth set (40) and a veil 20 levels lighter at 60 % (12 levels at most)
    pixels, exact = _veil(40.0, (60, 60, 60), 0.6)

    # when: its left edge is read across the middle rows, where every row is the same ramp
    rows = slice(170, 230)
    ramp = slice(100 - contrast._fix_reach(1080), 110)
    seen = pixels[rows, ramp, 0].astype(np.float64).mean(axis=0)
    ideal = exact[rows, ramp].mean(axis=0)

    # then: seen from a step back (60 rows averaged) it follows the exact ramp within 0.2 of a
    # level, with no jump between neighbours more than 0.3 level above the ramp's own (the
    # rounded ramp was off by up to 0.5 and climbed in 1-level steps after flat runs)
    assert np.abs(seen - ideal).max() < 0.2, np.round(seen - ideal, 2).tolist()
    jumps = np.abs(np.diff(seen)) - np.abs(np.diff(ideal))
    assert jumps.max() < 0.3, np.round(jumps, 2).tolist()
    # and any one pixel is within a level and a half of its exact value (a +-1 level
    # dither, then rounding): a fine grain, not noise
    assert np.abs(pixels[..., 0] - exact).max() <= 1.5


def test_a_veil_leaves_the_canvas_outside_its_reach_alone():
    # given: a veil over a smooth light set
    pixels, exact = _veil(230.0, (250, 250, 248), 0.88)

    # then: outside the box and its feathered edge not one pixel changed
    reach = contrast._fix_reach(1080)
    outside = np.ones(exact.shape, dtype=bool)
    outside[100 - reach : 300 + reach, 100 - reach : 700 + reach] = False
    assert (pixels[outside] == 230).all()
    # and the three channels of a grey veil stay grey (the dither is the same in each)
    inside = ~outside
    assert (pixels[inside][:, 0] == pixels[inside][:, 1]).all()


def test_the_veils_dither_is_the_same_every_time():
    first, _ = _veil(40.0, (60, 60, 60), 0.6)
    again, _ = _veil(40.0, (60, 60, 60), 0.6)

    assert np.array_equal(first, again)
