"""Shadows and reflections derived from a product silhouette, on exact rectangles."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from generation.shadows import (
    apply_shadow,
    cast_shadow,
    contact_shadow,
    foot_ellipse,
    grounding_shadow,
    reflection,
)
from generation.types import PlacedProduct
from tests.photoset import make_case

CANVAS = (300, 300)
BOX = (100, 50, 40, 100)  # x, y, w, h: the base is row 150
BASE = 150


def _placed(
    top: tuple[int, int, int] = (200, 30, 30), bottom: tuple[int, int, int] = (30, 30, 200)
) -> PlacedProduct:
    """An opaque 40x100 block: ``top`` colour above its middle, ``bottom`` below."""
    x, y, w, h = BOX
    layer = np.zeros((h, w, 4), dtype=np.uint8)
    layer[: h // 2, :, :3] = top
    layer[h // 2 :, :, :3] = bottom
    layer[..., 3] = 255
    return PlacedProduct(layer=Image.fromarray(layer, "RGBA"), box=BOX, canvas_size=CANVAS)


def _density(img: Image.Image) -> np.ndarray:
    assert img.mode == "L" and img.size == CANVAS
    return np.asarray(img, dtype=np.float64)


def _centroid(d: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(d.shape)
    return float((xs * d).sum() / d.sum()), float((ys * d).sum() / d.sum())


# -- contact_shadow / apply_shadow keep working ---------------------------------------


def test_contact_shadow_sits_at_the_base_and_apply_shadow_darkens_only_there():
    # given
    placed = _placed()
    background = Image.new("RGB", CANVAS, (200, 200, 200))
    # when
    density = _density(contact_shadow(placed, strength=0.5))
    shaded = np.asarray(apply_shadow(background, Image.fromarray(density.astype(np.uint8), "L")))
    # then: the density peaks on the base row, under the product, and is gone far away
    peak_y, peak_x = np.unravel_index(np.argmax(density), density.shape)
    assert abs(peak_y - BASE) <= 2 and 100 <= peak_x < 140
    assert density[:100].max() == 0 and density[200:].max() == 0
    assert shaded[BASE, 120].max() < 200
    assert (shaded[:100] == 200).all()


# -- cast_shadow ---------------------------------------------------------------------


def test_cast_shadow_falls_back_and_sideways_away_from_the_light():
    # given: light from the front left, so the shadow goes right and back (up the image)
    placed = _placed()
    # when
    d = _density(cast_shadow(placed, direction=(0.5, -0.2), strength=0.5, blur=0.01, blur_growth=0.05))
    # then: its mass is right of the product and above the base
    cx, cy = _centroid(d)
    assert cx > 120 + 10
    assert cy < BASE
    # the tip (the product's top, t = 100) lands near (x + 50, base - 20)
    assert d[131, 170] > 0 and d[131, 170] > d[100, 170]
    # nothing is thrown towards the viewer, and nothing exceeds the strength
    assert d[BASE + 8 :].max() == 0
    assert d.max() <= 0.5 * 255 + 1


def test_cast_shadow_towards_the_viewer_is_mirrored_below_the_base():
    # given: back light
    placed = _placed()
    # when
    d = _density(cast_shadow(placed, direction=(0.2, 0.3), strength=0.6))
    # then: everything lies below the base; above it (beyond the blur) there is none
    cx, cy = _centroid(d)
    assert cy > BASE + 5
    assert d[: BASE - 8].max() == 0
    assert d[BASE + 10, 120 + 3] > 0


def test_cast_shadow_penumbra_widens_and_fades_with_distance():
    # given: a long shadow straight back
    placed = _placed()
    # when
    d = _density(
        cast_shadow(placed, direction=(0.0, -0.5), strength=0.8, blur=0.01, blur_growth=0.15, fade=0.6)
    )

    # then: across a row near the base the edge is sharper than across a row near the tip
    def soft_edge_width(row: np.ndarray) -> int:
        peak = row.max()
        return int(((row > 0.1 * peak) & (row < 0.9 * peak)).sum())

    near, far = d[BASE - 4], d[BASE - 45]  # t = 8 and t = 90
    assert soft_edge_width(near) < soft_edge_width(far)
    # and the tip is lighter than the base
    assert far.max() < near.max()


def test_cast_shadow_with_no_strength_or_no_silhouette_is_empty():
    placed = _placed()
    assert _density(cast_shadow(placed, strength=0.0)).max() == 0
    empty = PlacedProduct(layer=Image.new("RGBA", (40, 100), (0, 0, 0, 0)), box=BOX, canvas_size=CANVAS)
    assert _density(cast_shadow(empty)).max() == 0


def test_cast_shadow_is_deterministic():
    placed = _placed()
    a = cast_shadow(placed, direction=(0.4, -0.15))
    b = cast_shadow(placed, direction=(0.4, -0.15))
    assert a.tobytes() == b.tobytes()


# -- reflection ----------------------------------------------------------------------


def test_reflection_mirrors_the_product_below_its_base_and_fades_out():
    # given: red top half, blue bottom half
    placed = _placed()
    # when
    layer = reflection(placed, strength=0.4, length=0.3, blur=0.0)
    rgba = np.asarray(layer)
    # then: an RGBA canvas, empty above the base
    assert layer.mode == "RGBA" and layer.size == CANVAS
    assert rgba[:BASE, :, 3].max() == 0
    # the first row below the base mirrors the product's bottom row (blue) at the strength
    first = rgba[BASE, 105:135]
    assert (first[:, 2] > 150).all() and (first[:, 0] < 60).all()
    assert abs(int(first[:, 3].mean()) - round(0.4 * 255)) <= 3
    # the opacity falls with distance and is gone after length * height (30 rows)
    alphas = rgba[BASE : BASE + 30, 120, 3].astype(int)
    assert (np.diff(alphas) <= 0).all() and alphas[0] > alphas[-1]
    assert rgba[BASE + 31 :, :, 3].max() == 0
    # and nothing spills sideways without blur
    assert rgba[:, :99, 3].max() == 0 and rgba[:, 141:, 3].max() == 0


def test_reflection_is_clipped_at_the_canvas_bottom():
    # given: a product standing on the canvas's bottom edge
    layer = np.full((100, 40, 4), 255, dtype=np.uint8)
    placed = PlacedProduct(layer=Image.fromarray(layer, "RGBA"), box=(100, 200, 40, 100), canvas_size=CANVAS)
    # when
    out = reflection(placed, strength=0.5)
    # then: nothing to draw, no error
    assert np.asarray(out)[..., 3].max() == 0


def test_reflection_with_no_strength_is_empty():
    assert np.asarray(reflection(_placed(), strength=0.0))[..., 3].max() == 0


def test_grounding_shadow_is_tight_at_the_foot_and_leans_away_from_the_light():
    from generation.shadows import grounding_shadow

    # given: a 60x120 product whose handle (rows 20-60) sticks out to the right, above the floor
    alpha = np.zeros((120, 90), dtype=np.uint8)
    alpha[:, :60] = 255
    alpha[20:60, 60:] = 255
    layer = Image.new("RGBA", (90, 120), (0, 0, 0, 0))
    layer.putalpha(Image.fromarray(alpha, "L"))
    placed = PlacedProduct(layer=layer, box=(100, 100, 90, 120), canvas_size=(300, 300))
    base = 220
    # when
    left = np.asarray(grounding_shadow(placed, strength=0.6, side=1.0), dtype=float)
    right = np.asarray(grounding_shadow(placed, strength=0.6, side=-1.0), dtype=float)
    # then: darkest right at the contour, fading within a few pixels
    col = left[:, 130]
    assert col[base : base + 2].max() > 0.5 * 255 * 0.6  # over half of 1.5x strength
    assert col[base + 12] < 0.5 * col[base : base + 2].max()
    # the handle above the floor throws no contact shadow: nothing under x 165..190
    assert left[base : base + 20, 170:190].max() < 0.1 * col.max()
    # and it leans away from the light (light from the left: more shadow right of the foot)
    xs = np.arange(300)
    cx_left = (left.sum(axis=0) * xs).sum() / left.sum()
    cx_right = (right.sum(axis=0) * xs).sum() / right.sum()
    assert cx_left > 130 > cx_right


def _photo_product(name: str, width: int, canvas: tuple[int, int] = (800, 600)) -> PlacedProduct:
    """The product of a photoset photo, ``width`` px wide, standing on row 500 of ``canvas``."""
    case = make_case(name)
    x, y, w, h = case.box
    alpha = Image.fromarray(np.rint(case.alpha[y : y + h, x : x + w] * 255).astype(np.uint8), "L")
    alpha = alpha.resize((width, round(h * width / w)), Image.Resampling.LANCZOS)
    layer = Image.new("RGBA", alpha.size, (200, 200, 200, 0))
    layer.putalpha(alpha)
    return PlacedProduct(
        layer=layer, box=(canvas[0] // 2 - width // 2, 500 - alpha.height, *alpha.size), canvas_size=canvas
    )


def _along_the_rim(density: np.ndarray, placed: PlacedProduct, shares: tuple[float, ...]) -> list[float]:
    """The density (0..1) in the 3 rows under the matte's lowest pixel of the columns at
    ``shares`` of its width."""
    x, y, _, _ = placed.box
    a = np.asarray(placed.layer.getchannel("A")) > 127
    cols = np.nonzero(a.any(axis=0))[0]
    low = a.shape[0] - 1 - np.argmax(a[::-1], axis=0)
    out = []
    for share in shares:
        c = int(cols[0] + share * (cols[-1] - cols[0]))
        out.append(float(density[y + low[c] + 1 : y + low[c] + 4, x + c].mean()) / 255.0)
    return out


def test_a_wide_jar_is_held_down_all_along_its_rim_and_a_round_belly_only_at_its_foot():
    from generation.shadows import grounding_shadow

    # given: the white cream jar (wide, a flat base seen from above: its rim an arc) and
    # the glossy vase (a round belly touching the floor at one point), from the photoset
    jar, vase = _photo_product("white_jar_on_white", 400), _photo_product("glossy_vase", 200)

    # when their contact shadows are drawn
    shares = (0.1, 0.2, 0.5, 0.8, 0.9)
    jar_rim = _along_the_rim(np.asarray(grounding_shadow(jar, strength=0.55, spread=0.035)), jar, shares)
    vase_rim = _along_the_rim(np.asarray(grounding_shadow(vase, strength=0.55, spread=0.035)), vase, shares)

    # then under the jar the floor is dark all along the arc of its rim, towards its sides
    # too (the shadow there was a tenth of the middle's: the jar's sides floated), and
    # darkest in the middle; under the vase only where it touches the floor
    middle = jar_rim[2]
    assert middle > 0.6, jar_rim
    assert min(jar_rim) >= 0.6 * middle, jar_rim
    assert vase_rim[2] > 0.5, vase_rim
    assert max(vase_rim[1], vase_rim[3]) < 0.1 * vase_rim[2], vase_rim


def _potted_plant() -> np.ndarray:
    """RGBA of a plant in a pot: a pot 360 px tall, 340 px across at its flat base and 440
    at its rim, seen level, with stems reaching higher and wider than the pot."""
    h, w, bottom, pot_h = 1360, 700, 1350, 360
    alpha = np.zeros((h, w), dtype=np.uint8)
    for r in range(bottom - pot_h, bottom):
        half = 170 + 50 * (bottom - r) / pot_h
        alpha[r, round(350 - half) : round(350 + half)] = 255
    for k, x in enumerate(np.linspace(40, 660, 9)):
        cv2.line(alpha, (350, bottom - pot_h), (int(x), 20 + 40 * (k % 3)), 255, 8)
    rgba = np.full((h, w, 4), 150, dtype=np.uint8)
    rgba[..., 3] = alpha
    return rgba


def test_a_tapered_pots_flat_base_is_seen_level_and_darkens_no_floor_beside_it():
    # given: a tall plant whose pot narrows to a flat base (the bottom 15 % of its height
    # takes in 28 columns of the pot's sloping sides either side of the base)
    rgba = _potted_plant()
    # when
    foot = foot_ellipse(rgba[..., 3])
    placed = PlacedProduct(
        layer=Image.fromarray(rgba, "RGBA"), box=(150, 20, 700, 1360), canvas_size=(1000, 1400)
    )
    density = np.asarray(grounding_shadow(placed, strength=0.55, spread=0.03), dtype=np.float32) / 255.0
    # then: the base is as wide as the pot's foot (340 px) and seen level (its edge is
    # straight); the ellipse fitted to the sloping sides was 396 px wide with ratio 0.10
    assert foot is not None
    assert foot.x1 - foot.x0 + 1 <= 340 + 20 and foot.ratio < 0.02
    # and 15 px above the base the floor 12-30 px beside the pot is not darkened like the
    # contact under it (the ellipse's ends stood out there as dark ears: 0.73 of density)
    row = 20 + 1350 - 15
    cols = np.nonzero(rgba[1350 - 15, :, 3] > 127)[0] + 150
    ears = max(
        density[row, cols[0] - 30 : cols[0] - 12].max(), density[row, cols[-1] + 13 : cols[-1] + 31].max()
    )
    assert ears < 0.25, ears
    assert density[row + 16, 500] > 0.5  # under the base it is dark
