"""Scene variants that differ visibly, and the measures that say so (``scenes_metrics``)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import replace

import cv2
import numpy as np
import pytest
from PIL import Image

from generation import compose
from generation.config import GenerationConfig
from generation.engines.studio import StudioEngine
from generation.scenes_metrics import canvas_alpha, foot_shadow, grounding, shadow_side, variant_diversity
from generation.segment.classical import decontaminate
from generation.sets import (
    estimate_light_side,
    estimate_product_tone,
    get_theme,
    list_themes,
    place_props,
    plan_variant,
    render_set,
    stage_for_product,
)
from generation.sets.props import FRAME_MARGIN, LEAF_STEM_WIDTH
from generation.specs import SceneSpec
from generation.types import PlacedProduct, Segmentation
from tests.photoset import make_case
from tests.synthetic import product_rgba


def _segmentation(rgba: Image.Image) -> Segmentation:
    x0, y0, x1, y1 = rgba.getchannel("A").getbbox()
    return Segmentation(
        image=rgba.convert("RGB"),
        matte=rgba.getchannel("A"),
        box=(x0, y0, x1 - x0, y1 - y0),
        segmenter="alpha",
    )


def _lit(side: str) -> Image.Image:
    """A flat grey box product lit from one side (brighter towards ``side``), or evenly."""
    w, h = 200, 300
    ramp = np.linspace(200.0, 90.0, w) if side == "left" else np.linspace(90.0, 200.0, w)
    if side == "even":
        ramp = np.full(w, 150.0)
    rgba = np.zeros((h + 20, w + 20, 4), dtype=np.uint8)
    rgba[10 : 10 + h, 10 : 10 + w, :3] = np.broadcast_to(ramp[None, :, None], (h, w, 3)).astype(np.uint8)
    rgba[10 : 10 + h, 10 : 10 + w, 3] = 255
    return Image.fromarray(rgba, "RGBA")


@pytest.fixture(scope="module")
def bottle() -> Segmentation:
    return _segmentation(product_rgba((320, 400)))


@pytest.fixture(scope="module")
def engine() -> StudioEngine:
    return StudioEngine(GenerationConfig())


@pytest.mark.parametrize("theme", list_themes())
def test_four_variants_differ_visibly_in_every_theme(engine, bottle, theme):
    # when
    results = engine.render(bottle, SceneSpec(theme=theme, width=384, height=384, seed=7, count=4))
    d = variant_diversity([r.image for r in results], [r.product_box for r in results])
    # then: every pair differs clearly, on average a lot, and the product moves and resizes
    assert d.min_pair_diff >= 15.0, d
    assert d.mean_pair_diff >= 25.0, d
    assert d.x_spread >= 0.25, d
    assert d.height_spread >= 0.1, d
    # and the compositions are recorded, all different
    variants = [json.dumps(r.meta["variant"], sort_keys=True) for r in results]
    assert len(set(variants)) == 4
    assert len({r.meta["variant"]["palette"] for r in results}) >= 2


def test_variants_are_deterministic_per_seed(engine, bottle):
    # given: variant 2 of a set made with seed 5 is the scene made alone with seed 6
    spec = SceneSpec(theme="podium", width=320, height=320, seed=5, count=2)
    # when
    _, second = engine.render(bottle, spec)
    [alone] = StudioEngine(GenerationConfig()).render(
        bottle, SceneSpec(theme="podium", width=320, height=320, seed=6)
    )
    # then
    assert second.image.tobytes() == alone.image.tobytes()
    assert second.meta["variant"] == alone.meta["variant"]
    assert plan_variant("podium", 6) == plan_variant("podium", 6)


def test_the_products_own_light_is_found_and_the_set_agrees_with_it(engine):
    # given: the same box product lit from the left, from the right, and evenly
    assert estimate_light_side(_lit("left")) == 1.0
    assert estimate_light_side(_lit("right")) == -1.0
    assert estimate_light_side(_lit("even")) is None
    # when: a set of four scenes of the right-lit product
    seg = _segmentation(_lit("right"))
    results = engine.render(seg, SceneSpec(theme="studio_sweep", width=384, height=384, seed=0, count=4))
    # then: every variant's key light is on the right (azimuth under 90 degrees)...
    assert all(np.cos(np.radians(r.meta["variant"]["light_azimuth"])) > 0.3 for r in results)
    # ...while an evenly lit product gets light from both sides across the set
    even = engine.render(
        _segmentation(_lit("even")), SceneSpec(theme="studio_sweep", width=384, height=384, count=4)
    )
    assert len({np.sign(np.cos(np.radians(r.meta["variant"]["light_azimuth"]))) for r in even}) == 2


def test_variant_diversity_measures_pixels_placement_and_palette():
    # given: two flat canvases 30 levels apart with the product box moved
    a = Image.new("RGB", (100, 100), (100, 100, 100))
    b = Image.new("RGB", (100, 100), (130, 100, 100))
    # when
    d = variant_diversity([a, b], [(10, 20, 20, 40), (60, 30, 20, 30)])
    # then
    assert d.min_pair_diff == pytest.approx(10.0)
    assert d.x_spread == pytest.approx(0.5)
    assert d.height_spread == pytest.approx(0.1)
    assert d.min_palette_distance == pytest.approx(30.0)
    with pytest.raises(ValueError, match="at least two"):
        variant_diversity([a], [(0, 0, 1, 1)])


def test_grounding_and_shadow_side_read_a_drawn_shadow():
    # given: a product standing at row 60 on a grey floor, a dark band under it, darker on its right
    img = np.full((120, 100, 3), 200, dtype=np.uint8)
    alpha = np.zeros((120, 100), dtype=np.uint8)
    alpha[20:60, 40:60] = 255
    img[60:66, 35:65] = 80
    img[50:60, 60:75] = 120
    image = Image.fromarray(img, "RGB")
    # then
    assert grounding(image, alpha) == pytest.approx(80 / 200)
    assert shadow_side(image, alpha) > 0.2  # darker on the right
    assert canvas_alpha(np.full((5, 5), 255, np.uint8), (98, 0, 5, 5), (100, 10))[0].sum() == 2 * 255


def test_foot_shadow_tells_a_grounded_shadow_from_a_detached_one():
    # given: a floor, and a thing 40 px tall standing at row 50 (columns 40..60)
    empty = np.full((120, 100, 3), 200.0)
    grounded, floating = empty.copy(), empty.copy()
    for k in range(12):  # darkest at the foot, lightening away from it
        grounded[50 + k, 30:70] *= 1.0 - 0.4 * (1.0 - k / 12)
    floating[50:54, 30:70] *= 0.8  # a thin contact line, a light gap, then a dark band
    floating[58:64, 30:70] *= 0.7
    # when
    good = foot_shadow(grounded, empty, 50.0, 50.0, 20.0, 40.0)
    bad = foot_shadow(floating, empty, 50.0, 50.0, 20.0, 40.0)
    # then
    assert good.at_foot == pytest.approx(0.4 * (1 - 2 / 12), abs=0.01) and good.rebound == pytest.approx(0.0)
    assert bad.at_foot == pytest.approx(0.2) and bad.rebound == pytest.approx(0.3)


# -- grounding: contact shadow and occlusion from the silhouette, shadow away from the light


def _no_podium_themes() -> list[str]:
    return [t for t in list_themes() if get_theme(t).podium is None]


@pytest.mark.parametrize("theme", list_themes())
def test_the_floor_right_under_the_base_is_darker_than_further_away(engine, bottle, theme):
    # when
    results = engine.render(bottle, SceneSpec(theme=theme, width=512, height=512, seed=0, count=4))
    # then: in every variant the contact is tight: the 3 px under the foot are much darker
    # than the floor a few pixels (4 % of the product's height) further down...
    for r in results:
        placed = compose.place_product(bottle.cutout, r.image.size, r.product_box)
        alpha = canvas_alpha(placed.layer.getchannel("A"), r.product_box, r.image.size)
        tight = grounding(r.image, alpha, band=3, away=max(6, round(0.04 * r.product_box[3])))
        # (on a podium the top face in front of the foot is only a few pixels deep, so
        # "further down" is partly the podium's lip: a little less contrast there)
        limit = 0.75 if theme in _no_podium_themes() else 0.78
        assert tight < limit, (theme, r.meta["variant"], tight)
        # ...and on a floor (not a podium's narrow top) darker than the floor 40 px away
        if theme in _no_podium_themes():
            assert grounding(r.image, alpha, away=40) < 0.9, (theme, r.meta["variant"])


@pytest.mark.parametrize("theme", ["studio_sweep", "marble_counter", "concrete", "wooden_table", "seasonal"])
@pytest.mark.parametrize("lit", ["left", "right"])
def test_the_shadow_falls_away_from_the_light_on_the_product(theme, lit):
    # given: a product lit from one side, placed as each of four variants
    seg = _segmentation(_lit(lit))
    side = estimate_light_side(seg.cutout)
    for seed in range(4):
        variant = plan_variant(theme, seed, light_side=side)
        stage = stage_for_product(theme, seg.cutout.size, (512, 512), fill=0.6, seed=seed, variant=variant)
        placed = compose.place_product(seg.cutout, (512, 512), stage.box)
        nothing = PlacedProduct(
            layer=Image.new("RGBA", placed.layer.size, (0, 0, 0, 0)), box=placed.box, canvas_size=(512, 512)
        )
        # when: the set with and without the product's shadows
        shot = render_set(theme, placed, stage=stage, seed=seed, variant=variant)
        empty = render_set(theme, nothing, stage=stage, seed=seed, variant=variant)
        alpha = canvas_alpha(placed.layer.getchannel("A"), placed.box, (512, 512))
        leaning = shadow_side(np.clip(shot, 0, 255), alpha, empty=np.clip(empty, 0, 255))
        # then: the shadow is on the side away from the light (light left: shadow right)
        assert leaning * side > 0.02, (theme, lit, seed, leaning)


# -- props: defined as data, drawn by the engine, never over the product


def _prop_themes() -> list[str]:
    return [t for t in list_themes() if get_theme(t).props]


def _wide_product() -> Segmentation:
    """A wide, low product (a tray): the props have the least room beside it."""
    rgba = np.zeros((140, 420, 4), dtype=np.uint8)
    rgba[20:130, 10:410] = (180, 90, 60, 255)
    return _segmentation(Image.fromarray(rgba, "RGBA"))


def _props_placed_around(seg: Segmentation, canvas: tuple[int, int], seeds: int = 4) -> Iterator[tuple]:
    """(theme, seed, product box, prop) for every prop that every theme with props stands
    around ``seg`` on ``canvas``, for seeds 0 .. ``seeds`` - 1."""
    for theme in _prop_themes():
        for seed in range(seeds):
            variant = plan_variant(theme, seed)
            stage = stage_for_product(theme, seg.cutout.size, canvas, fill=0.6, seed=seed, variant=variant)
            placed = compose.place_product(seg.cutout, canvas, stage.box)
            for prop in place_props(theme, stage, placed, variant, seed=seed):
                yield theme, seed, placed.box, prop


def test_at_least_three_themes_have_props():
    assert len(_prop_themes()) >= 3


@pytest.mark.parametrize("theme", _prop_themes())
def test_props_stand_beside_the_product_and_never_over_its_matte(theme, bottle):
    drawn = 0
    for seg in (bottle, _wide_product()):
        for seed in range(4):
            variant = plan_variant(theme, seed)
            stage = stage_for_product(
                theme, seg.cutout.size, (512, 512), fill=0.6, seed=seed, variant=variant
            )
            placed = compose.place_product(seg.cutout, (512, 512), stage.box)
            alpha = canvas_alpha(placed.layer.getchannel("A"), placed.box, (512, 512)) > 0
            # when
            props = place_props(theme, stage, placed, variant, seed=seed)
            without = render_set(theme, placed, stage=stage, seed=seed, variant=replace(variant, props=()))
            with_props = render_set(theme, placed, stage=stage, seed=seed, variant=variant)
            for prop in props:
                ox, oy = prop.origin
                h, w = prop.cover.shape
                cover = np.zeros((512, 512), dtype=bool)
                cover[oy : oy + h, ox : ox + w] = prop.cover > 0
                # then: no prop pixel on the product's matte, all inside the canvas
                assert not (cover & alpha).any(), (theme, seed, prop.shape)
                assert 0 <= prop.cx - prop.width / 2 and prop.cx + prop.width / 2 <= 512
                # and it is really drawn there
                solid = np.zeros((512, 512), dtype=bool)
                solid[oy : oy + h, ox : ox + w] = prop.cover > 0.99
                assert np.abs(with_props[solid] - without[solid]).mean() > 3.0, (theme, seed, prop.shape)
                drawn += 1
    assert drawn >= 4


@pytest.mark.parametrize("theme", _prop_themes())
def test_scenes_with_props_keep_the_products_pixels(engine, bottle, theme):
    # when
    results = engine.render(bottle, SceneSpec(theme=theme, width=384, height=384, seed=0, count=4))
    # then: every variant passes the fidelity check, and some show props
    assert all(r.fidelity.max_abs_diff == 0 and r.fidelity.opaque_pixels > 0 for r in results)
    assert any(r.meta["variant"]["props"] for r in results)


@pytest.mark.parametrize("theme", _prop_themes())
def test_props_shadows_start_at_their_foot_so_they_do_not_float(theme, bottle):
    measured = 0
    for seed in range(4):
        variant = plan_variant(theme, seed)
        stage = stage_for_product(theme, bottle.cutout.size, (512, 512), fill=0.6, seed=seed, variant=variant)
        placed = compose.place_product(bottle.cutout, (512, 512), stage.box)
        props = place_props(theme, stage, placed, variant, seed=seed)
        # when: the set with its props over the same set without them (the props' shadows alone)
        with_props = render_set(theme, placed, stage=stage, seed=seed, variant=variant)
        without = render_set(theme, placed, stage=stage, seed=seed, variant=replace(variant, props=()))
        for prop in props:
            # a leaf sprig stands on its stem: its foot is the stem's (measured across the
            # sprig's middle 40 %, the floor beside the stem reads 0.03; under it 0.14-0.16)
            width = LEAF_STEM_WIDTH[0] * prop.height / 0.4 if prop.shape == "leaf" else prop.width
            shadow = foot_shadow(with_props, without, prop.cx, prop.base, width, prop.height)
            # then: the floor is darkest at the foot and lightens steadily away from it
            # (a prop whose shadow starts below its foot shows a lighter gap, then a dark band)
            assert shadow.at_foot > 0.05, (theme, seed, prop.shape, shadow)
            assert shadow.rebound < 0.01, (theme, seed, prop.shape, shadow)
            measured += 1
    assert measured >= 2


def _block(w: int, h: int) -> Segmentation:
    """A plain box product of ``w`` x ``h`` px (a carton, a tall tube)."""
    rgba = np.zeros((h + 20, w + 20, 4), dtype=np.uint8)
    rgba[10 : 10 + h, 10 : 10 + w] = (200, 120, 40, 255)
    return _segmentation(Image.fromarray(rgba, "RGBA"))


@pytest.mark.parametrize("canvas", [(800, 800), (800, 1000), (720, 1280)])
def test_props_stay_clear_of_the_products_box_and_the_frames_edges(canvas, bottle):
    cw, ch = canvas
    placed_props = 0
    for seg in (bottle, _wide_product(), _block(260, 490), _block(120, 520)):
        # when
        for theme, seed, box, prop in _props_placed_around(seg, canvas):
            x, y, w, h = box
            ys, xs = np.nonzero(prop.cover > 0.01)
            x0, x1 = xs.min() + prop.origin[0], xs.max() + 1 + prop.origin[0]
            y0, y1 = ys.min() + prop.origin[1], ys.max() + 1 + prop.origin[1]
            where = (theme, seed, prop.shape, (x0, x1, y0, y1), box)
            # then: what the prop covers never meets the product's box ...
            assert x1 <= x or x0 >= x + w or y1 <= y or y0 >= y + h, where
            # ... nor the frame: a margin of 2 % on the sides and the top
            assert x0 >= 0.02 * cw and x1 <= 0.98 * cw and y0 >= 0.02 * ch, where
            placed_props += 1
    assert placed_props >= 30


@pytest.mark.parametrize("canvas", [(1600, 1600), (800, 1000), (720, 1280)])
def test_a_scenes_props_keep_a_margin_from_the_frames_sides(canvas, bottle):
    # given: a bottle, a tray, a carton and a tall tube, in every theme with props
    cw, ch = canvas
    margin = FRAME_MARGIN * min(cw, ch)
    stood = 0
    for seg in (bottle, _wide_product(), _block(260, 490), _block(120, 520)):
        # when
        for theme, seed, _, prop in _props_placed_around(seg, canvas):
            x0, _, x1, _ = prop.body
            # then: 6 % of the shorter side clear of the left and right edges (squeezed into
            # the room beside the product, a third of the props stood 2 % from the edge,
            # jammed against it)
            assert x0 >= margin - 0.5 and x1 <= cw - margin + 0.5, (theme, seed, prop.shape, (x0, x1))
            stood += 1
    assert stood >= 30


@pytest.mark.parametrize("canvas", [(800, 800), (800, 1000), (720, 1280)])
def test_the_wall_arch_stays_inside_the_frame_and_behind_the_product(canvas, bottle):
    from generation.sets.look import Look
    from generation.sets.pieces import arch_geometry

    cw, _ = canvas
    arch_themes = [t for t in list_themes() if get_theme(t).backdrop.arch is not None]
    assert arch_themes
    for seg in (bottle, _wide_product(), _block(260, 490)):
        for theme in arch_themes:
            for seed in range(4):
                variant = plan_variant(theme, seed)
                stage = stage_for_product(
                    theme, seg.cutout.size, canvas, fill=0.6, seed=seed, variant=variant
                )
                look = Look.make(get_theme(theme), get_theme(theme).brand_default, seed, variant)
                # when
                cx, r, _, _ = arch_geometry(look, stage, canvas)
                x, _, w, _ = stage.box
                where = (theme, seed, cx, r, stage.box)
                # then: the frame never cuts its sides, and it still stands behind the product
                assert cx - r >= 0.02 * cw and cx + r <= 0.98 * cw, where
                assert cx - r <= x + w / 2.0 <= cx + r, where


def _cylinder(ratio: float, *, belly: bool = False) -> Image.Image:
    """A jar seen from above: its base an ellipse of minor/major ``ratio`` (or a round
    belly: a tall ellipse for its lower part)."""
    w, h = 300, 400
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    rx, cx = 140.0, 150.0
    if belly:
        inside = ((xx - cx) / rx) ** 2 + ((yy - 250.0) / 145.0) ** 2 <= 1.0
        inside |= (np.abs(xx - cx) < 40) & (yy < 250)
    else:
        ry = ratio * rx
        base = h - 5 - ry
        inside = (np.abs(xx - cx) <= rx) & (yy >= 20) & (yy <= base)
        inside |= ((xx - cx) / rx) ** 2 + ((yy - base) / max(ry, 1e-3)) ** 2 <= 1.0
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[inside] = (190, 190, 185, 255)
    return Image.fromarray(rgba, "RGBA")


def test_the_foot_ratio_reads_how_a_round_base_is_seen():
    from generation.sets import estimate_foot_ratio

    for ratio in (0.05, 0.12, 0.2):
        assert estimate_foot_ratio(_cylinder(ratio)) == pytest.approx(ratio, abs=0.02)
    # a box seen square on stands on a straight edge; a round belly says nothing
    assert estimate_foot_ratio(_lit("even")) == pytest.approx(0.0, abs=0.01)
    assert estimate_foot_ratio(_cylinder(0.0, belly=True)) is None


@pytest.mark.parametrize("theme", [t for t in list_themes() if get_theme(t).podium is not None])
@pytest.mark.parametrize("foot", [0.05, 0.1, 0.2])
def test_a_podiums_top_face_is_seen_like_the_products_own_base(engine, theme, foot):
    seg = _segmentation(_cylinder(foot))
    # when
    results = engine.render(seg, SceneSpec(theme=theme, width=320, height=400, seed=3, count=4))
    ratios = []
    for r in results:
        variant = plan_variant(theme, r.meta["seed"], foot_ratio=r.meta["variant"]["foot_ratio"])
        stage = stage_for_product(
            theme, seg.cutout.size, (320, 400), fill=0.6, seed=r.meta["seed"], variant=variant
        )
        assert stage.box == r.product_box
        ratios.append(stage.podium.ry / stage.podium.rx)
    # then: the camera the set is seen from is the product's: the podium's top face is
    # as open as the product's base, within a factor 1.5 (and never thinner than 0.08)
    assert r.meta["variant"]["foot_ratio"] == pytest.approx(foot, abs=0.02)
    for ratio in ratios:
        assert foot / 1.5 - 0.01 <= ratio <= max(1.5 * foot, 0.08) + 0.01, (ratios, foot)


@pytest.mark.parametrize("canvas", [(800, 800), (720, 1280)])
def test_a_prop_stays_small_beside_a_tall_thin_a_wide_and_a_square_product(canvas):
    # given: a tall, thin vase, a wide tray and a square box, in every theme with props
    products = {"tall-thin": _block(80, 520), "wide": _block(500, 140), "square": _block(320, 320)}
    for name, seg in products.items():
        placed_props = 0
        # when
        for theme, seed, box, prop in _props_placed_around(seg, canvas):
            _, _, w, h = box
            where = (name, theme, seed, prop.shape, (prop.width, prop.height), box)
            # then: never taller than the product nor than 3 of its widths, and never more
            # than twice its box's area (a sprig by a thin vase was 4.5 of its widths tall)
            assert prop.height <= h and prop.height <= 3 * w, where
            assert prop.width * prop.height <= 2 * w * h, where
            placed_props += 1
        assert placed_props >= 6, (name, placed_props)


def _tube() -> Segmentation:
    """A squeeze tube standing on its cap: tall, thin, narrower at the cap."""
    rgba = np.zeros((560, 160, 4), dtype=np.uint8)
    rgba[20:430, 20:140] = (236, 232, 225, 255)
    rgba[430:540, 40:120] = (40, 90, 150, 255)
    return _segmentation(Image.fromarray(rgba, "RGBA"))


@pytest.mark.parametrize("canvas", [(720, 720), (720, 1280)])
def test_props_scale_with_the_product_and_keep_clear_of_its_silhouette(canvas):
    # given: a tube, a bottle and a square box in every theme with props, four variants each
    cw, ch = canvas
    measured = 0
    for name, seg in {
        "tube": _tube(),
        "bottle": _segmentation(product_rgba((320, 400))),
        "box": _block(320, 320),
    }.items():
        for theme in _prop_themes():
            for seed in range(4):
                variant = plan_variant(theme, seed)
                stage = stage_for_product(
                    theme, seg.cutout.size, canvas, fill=0.6, seed=seed, variant=variant
                )
                placed = compose.place_product(seg.cutout, canvas, stage.box)
                silhouette = canvas_alpha(placed.layer.getchannel("A"), placed.box, canvas) > 0
                # distance of every canvas pixel to the product's silhouette
                away = cv2.distanceTransform((~silhouette).astype(np.uint8), cv2.DIST_L2, 5)
                _, _, w, h = placed.box
                # when
                for prop in place_props(theme, stage, placed, variant, seed=seed):
                    ox, oy = prop.origin
                    ph, pw = prop.cover.shape
                    covered = prop.cover > 0.01
                    gap = float(away[oy : oy + ph, ox : ox + pw][covered].min())
                    where = (name, theme, seed, prop.shape, round(prop.height), round(gap), placed.box)
                    # then: a prop is in proportion to the product (a quarter of its height at
                    # least; a sphere by a tube was a fifth) ...
                    assert prop.height >= 0.25 * h - 1.0, where
                    # ... and a clear gap of 4 % of the frame's shorter side keeps it off the
                    # product's silhouette (an arch stood 12 px from a tube at 720 px)
                    assert gap >= 0.04 * min(cw, ch) - 1.0, where
                    measured += 1
    assert measured >= 30


def test_a_box_prop_shows_its_top_and_the_side_towards_the_frames_centre_lit_by_the_key_light(bottle):
    # given: the concrete set's box beside a bottle, four compositions (light left and right)
    from generation.sets.look import Look
    from generation.sets.props import _box_faces

    theme, canvas, seen = get_theme("concrete"), (800, 800), 0
    for seed in range(4):
        variant = plan_variant(theme, seed)
        stage = stage_for_product(theme, bottle.cutout.size, canvas, fill=0.6, seed=seed, variant=variant)
        placed = compose.place_product(bottle.cutout, canvas, stage.box)
        # when
        shot = render_set(theme, placed, stage=stage, seed=seed, variant=variant)
        for prop in place_props(theme, stage, placed, variant, seed=seed):
            if prop.shape != "box":
                continue
            ox, oy = prop.origin
            h, w = prop.cover.shape
            yy, xx = np.mgrid[oy : oy + h, ox : ox + w].astype(np.float32) + 0.5
            _, front, top, side = _box_faces(xx, yy, prop.cx, prop.base, prop.width, prop.height, canvas[0])
            # then: the far top corner, away from the frame's centre, is not the box's (a flat
            # card covered its whole bounds) ...
            corner_x = prop.cx + side * (prop.width / 2.0 - 1.0)
            corner = (int(prop.base - prop.height + 1.0) - oy, int(corner_x) - ox)
            assert prop.cover[corner] < 0.05, (seed, prop.cover[corner])
            # ... and the side face is lit apart from the front: brighter when the key light
            # comes from its side
            solid = prop.cover > 0.99
            luma = shot[oy : oy + h, ox : ox + w] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
            side_face = float(luma[solid & (front < 0.01) & (top < 0.01)].mean())
            front_face = float(luma[solid & (front > 0.99)].mean())
            light_x = Look.make(theme, theme.brand_default, seed, variant).light_vector[0]
            facing = -side * light_x  # the side face's normal is -side along x
            assert abs(side_face - front_face) > 6.0, (seed, side_face, front_face)
            assert (side_face > front_face) == (facing > 0.2), (seed, side_face, front_face, facing)
            seen += 1
    assert seen >= 2


def test_an_arch_prop_is_a_slab_whose_edge_is_lit_apart_from_its_front(bottle):
    # given: the pastel set's arch beside a bottle and a wide tray, four compositions each
    from generation.sets.props import _arch_faces

    theme, canvas, seen = get_theme("pastel_gradient"), (800, 800), 0
    for seg in (bottle, _wide_product()):
        for seed in range(4):
            variant = plan_variant(theme, seed)
            stage = stage_for_product(theme, seg.cutout.size, canvas, fill=0.6, seed=seed, variant=variant)
            placed = compose.place_product(seg.cutout, canvas, stage.box)
            # when
            shot = render_set(theme, placed, stage=stage, seed=seed, variant=variant)
            for prop in place_props(theme, stage, placed, variant, seed=seed):
                if prop.shape != "arch":
                    continue
                ox, oy = prop.origin
                h, w = prop.cover.shape
                yy, xx = np.mgrid[oy : oy + h, ox : ox + w].astype(np.float32) + 0.5
                cover, front, _ = _arch_faces(xx, yy, prop.cx, prop.base, prop.width, prop.height, canvas[0])
                # its thickness along the legs, below where the dome springs (facing sideways)
                legs = yy > prop.base - prop.height + prop.width / 2.0
                edge = (cover > 0.99) & (front < 0.01) & legs
                # then: its thickness shows beside its front (a flat card showed none) ...
                assert edge.sum() > 0.05 * ((cover > 0.99) & legs).sum(), (seed, int(edge.sum()))
                # ... in a shade of its own, off the front's by more than a few levels
                luma = shot[oy : oy + h, ox : ox + w] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
                edge_luma, front_luma = float(luma[edge].mean()), float(luma[(front > 0.99) & legs].mean())
                assert abs(edge_luma - front_luma) > 6.0, (seed, edge_luma, front_luma)
                seen += 1
    assert seen >= 2


# -- a light product on a light set: deeper sets in every variant but the first


@pytest.fixture(scope="module")
def white_jar() -> Segmentation:
    """The photoset's white jar on white, its exact matte (edges decontaminated)."""
    case = make_case("white_jar_on_white")
    matte = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    fg = decontaminate(np.asarray(case.photo.convert("RGB")), np.asarray(matte))
    return Segmentation(
        image=case.photo, matte=matte, box=case.box, segmenter="alpha", foreground=Image.fromarray(fg, "RGB")
    )


@pytest.mark.parametrize(
    "theme", ["studio_sweep", "pastel_gradient", "soft_window_light", "marble_counter", "gallery_plinth"]
)
def test_a_white_product_on_a_light_set_gets_variants_that_differ_visibly(engine, white_jar, theme):
    # when: four scenes of a white jar on a light theme (smallest pair 12-14 of 255 when
    # every variant kept the set as light as the theme has it)
    results = engine.render(white_jar, SceneSpec(theme=theme, width=400, height=400, seed=1, count=4))
    d = variant_diversity([r.image for r in results], [r.product_box for r in results])
    # then: they differ as much as any product's must
    assert d.min_pair_diff >= 15.0, d
    assert d.mean_pair_diff >= 25.0, d
    # the first of the four compositions keeps the theme's own set, the others deepen it
    # so the jar stands out from it (recorded with the composition)
    tones = {r.meta["seed"] % 4: r.meta["variant"].get("tone", 1.0) for r in results}
    assert tones[0] == 1.0 and all(0.6 < tones[k] < 0.97 for k in (1, 2)), tones
    for r in results:
        # the jar's own pixels untouched
        assert r.fidelity.max_abs_diff == 0, r.fidelity
        # and the set round it is darker than the jar wherever the set was deepened
        if r.meta["variant"].get("tone", 1.0) < 1.0:
            x, y, w, h = r.product_box
            luma = np.asarray(r.image.convert("L"), dtype=np.float64)
            jar = np.median(luma[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4])
            beside = (
                np.median(luma[y : y + h, : max(x - 4, 1)])
                if x > 20
                else np.median(luma[y : y + h, x + w + 4 :])
            )
            assert jar - beside > 25, (jar, beside, r.meta["variant"])


def test_a_darker_product_keeps_the_themes_own_tones(engine, bottle):
    # a grey-brown bottle (luma about 105) on every theme: no variant changes the set's tone
    assert estimate_product_tone(bottle.cutout) < 150
    for theme in list_themes():
        assert {
            plan_variant(theme, s, product_tone=estimate_product_tone(bottle.cutout)).tone for s in range(4)
        } == {1.0}
    [scene] = engine.render(bottle, SceneSpec(theme="pastel_gradient", width=256, height=256))
    assert "tone" not in scene.meta["variant"]


# -- bokeh: lights on the wall behind the surface, never on it


@pytest.mark.parametrize("canvas", [(800, 800), (720, 1280)])
def test_bokeh_lies_on_the_wall_and_no_bokeh_pixel_lies_below_the_floor_line(bottle, canvas):
    # given: the festive set (bokeh over a glossy table), and the same set with no discs
    theme = get_theme("seasonal")
    assert theme.backdrop.bokeh is not None
    unlit = replace(theme, backdrop=replace(theme.backdrop, bokeh=replace(theme.backdrop.bokeh, count=0)))
    for seed in range(4):  # four camera heights: four floor lines
        variant = plan_variant(theme, seed)
        stage = stage_for_product(theme, bottle.cutout.size, canvas, fill=0.6, seed=seed, variant=variant)
        placed = compose.place_product(bottle.cutout, canvas, stage.box)
        # when
        shot = render_set(theme, placed, stage=stage, seed=seed, variant=variant)
        bare = render_set(unlit, placed, stage=stage, seed=seed, variant=variant)
        # then: what the discs add is on the wall, above the floor line ...
        added = np.abs(shot - bare).max(axis=2)
        horizon = int(np.floor(stage.horizon))
        assert added[:horizon].max() > 40.0, (seed, float(added[:horizon].max()))
        # ... and none of it on the table: not drawn over it, not mirrored in it
        assert added[horizon:].max() < 1e-3, (seed, float(added[horizon:].max()))


# -- a leaf sprig with form: shaded across each blade by the key light, a midrib


def _leaf_seen(bottle) -> Iterator[tuple[str, int, float, np.ndarray, object, np.ndarray]]:
    """(theme, seed, light x, the set's luma over the sprig's grid, the sprig, its front
    leaf) for each leaf sprig the leaf themes stand beside the bottle, lit from each side."""
    from generation.sets.look import Look
    from generation.sets.props import leaf_blades

    for theme in ("marble_counter", "wooden_table", "podium"):
        for seed in range(4):
            planned = plan_variant(theme, seed)
            for azimuth in (140.0, 40.0):  # from the left, from the right
                variant = replace(planned, azimuth=azimuth)
                stage = stage_for_product(
                    theme, bottle.cutout.size, (800, 800), fill=0.5, seed=seed, variant=variant
                )
                placed = compose.place_product(bottle.cutout, (800, 800), stage.box)
                leaves = [
                    p for p in place_props(theme, stage, placed, variant, seed=seed) if p.shape == "leaf"
                ]
                if not leaves:
                    continue
                shot = render_set(theme, placed, stage=stage, seed=seed, variant=variant)
                look = Look.make(get_theme(theme), get_theme(theme).brand_default, seed, variant)
                for leaf in leaves:
                    ox, oy = leaf.origin
                    h, w = leaf.cover.shape
                    yy, xx = np.mgrid[oy : oy + h, ox : ox + w].astype(np.float32) + 0.5
                    front = leaf_blades(xx, yy, leaf.cx, leaf.base, leaf.width, leaf.height, leaf.lean)[-1]
                    luma = shot[oy : oy + h, ox : ox + w] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
                    yield theme, seed, float(look.light_vector[0]), luma, leaf, front


def test_a_leaf_is_shaded_across_its_blade_by_the_key_light_and_has_a_midrib(bottle):
    seen = set()
    for theme, seed, light_x, luma, leaf, front in _leaf_seen(bottle):
        blade = (front.cover > 0.99) & (front.t > 0.15) & (front.t < 0.85)
        s = front.s
        # which half of the blade turns to the light: the one whose side points at it
        facing = float(np.sign(front.across[0] * light_x))
        assert facing != 0.0
        # then: the half turned to the light is the lighter one ...
        towards = blade & (s * facing > 0.15)
        away = blade & (s * facing < -0.15)
        assert luma[towards].mean() - luma[away].mean() > 8.0, (theme, seed, light_x)
        # ... and the half turned from it darkens steadily towards its rim, away from the
        # light (a flat-colour sticker, or two flat tones split down the middle, has no
        # slope within a half)
        slope = np.polyfit(s[away] * facing, luma[away], 1)[0]
        assert slope * 0.7 > 5.0, (theme, seed, light_x, float(slope))
        # ... with a lighter midrib down its middle than the blade either side of it
        rib_px = max(0.012 * leaf.height, 0.6) * (1.0 - 0.8 * front.t)
        rib = blade & (np.abs(s * front.half) < 0.4 * rib_px)
        beside = blade & (np.abs(s) > 0.12) & (np.abs(s) < 0.25)
        assert luma[rib].mean() - luma[beside].mean() > 3.0, (theme, seed, light_x)
        seen.add((theme, light_x > 0))
    # leaves in at least two themes, lit from both sides
    assert len({t for t, _ in seen}) >= 2 and {lit for _, lit in seen} == {True, False}, seen


def test_a_leaf_sprig_stands_on_a_stem_lit_by_the_key_light(bottle):
    seen = set()
    for theme, seed, light_x, luma, leaf, _ in _leaf_seen(bottle):
        ox, oy = leaf.origin
        h = leaf.height
        covered = leaf.cover > 0.5
        # then: between 3 % and 12 % of its height above the floor the sprig is one narrow
        # run along its lean, 2-3 % of its height across (a stem; with none, the three
        # leaves met in a point on the floor: 21-49 % across there, off its lean) ...
        runs = []
        for k in range(math.ceil(0.03 * h), math.floor(0.12 * h)):
            y = leaf.base - k * math.cos(leaf.lean)
            row = round(y - 0.5) - oy
            cols = np.flatnonzero(covered[row])
            assert cols.size and cols.size == cols[-1] - cols[0] + 1, (theme, seed, k)  # one run
            axis = leaf.cx + k * math.sin(leaf.lean) - ox
            assert abs((cols[0] + cols[-1] + 1) / 2 - axis) < 1.5, (theme, seed, k)
            assert cols.size <= 0.04 * h + 2, (theme, seed, k, cols.size, h)
            # ... its half turned to the key light the lighter (by 17-42 of 255), as a leaf's is
            opaque = cols[leaf.cover[row, cols] > 0.99]
            if opaque.size >= 4:
                third = max(1, opaque.size // 3)
                runs.append(float(luma[row, opaque[-third:]].mean() - luma[row, opaque[:third]].mean()))
        assert runs, (theme, seed)
        lit_right = float(np.mean(runs))
        assert lit_right * np.sign(light_x) > 2.0, (theme, seed, light_x, lit_right)
        # and it joins the leaves: stem and leaves are one piece
        assert cv2.connectedComponents(covered.astype(np.uint8))[0] == 2, (theme, seed)
        seen.add((theme, light_x > 0))
    assert len({t for t, _ in seen}) >= 2 and {lit for _, lit in seen} == {True, False}, seen


# -- clear glass the matte calls opaque, on a dark set: measured (README: the limit)


def _exact(case) -> Segmentation:
    matte = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    fg = decontaminate(np.asarray(case.photo.convert("RGB")), np.asarray(matte))
    return Segmentation(
        image=case.photo, matte=matte, box=case.box, segmenter="alpha", foreground=Image.fromarray(fg, "RGB")
    )


def test_the_photos_backdrop_carried_in_a_product_is_found_and_a_dark_set_shows_it_milky(engine):
    from generation.scenes_metrics import backdrop_carried, carried_gap
    from tests.photoset_unseen import make_unseen_case

    # given: clear glass on a sweep (its exact matte is its whole silhouette), white on
    # white, and products of their own colours
    glass = make_unseen_case("glass_bottle_on_sweep")
    carried = {
        name: backdrop_carried(case.photo, case.alpha).share
        for name, case in {
            "glass": glass,
            "white jar": make_case("white_jar_on_white"),
            "white box": make_unseen_case("white_box_on_white"),
            "mug": make_case("mug_with_handle"),
            "bag": make_case("bag_on_white_sweep"),
            "coral bottle": make_unseen_case("bottle_on_coloured_paper"),
            "sneaker": make_unseen_case("sneaker_on_wood_corner"),
        }.items()
    }
    # then: most of the glass is its photo's backdrop, as is most of a white jar or box on
    # white (from the pixels alone they are alike: no rule may make the one see-through)
    assert all(carried[k] > 0.6 for k in ("glass", "white jar", "white box")), carried
    assert all(carried[k] < 0.15 for k in ("mug", "bag", "coral bottle", "sneaker")), carried
    # when: the glass on dark sets and on a light one
    seg = _exact(glass)
    inside = backdrop_carried(glass.photo, glass.alpha).inside
    x, y, w, h = glass.box
    inside_img = Image.fromarray(inside[y : y + h, x : x + w].astype(np.uint8) * 255, "L")
    gaps = {}
    for theme in ("dark_luxury", "seasonal", "studio_sweep"):
        r = engine.render(seg, SceneSpec(theme=theme, width=480, height=480, seed=0, count=1))[0]
        assert r.fidelity.max_abs_diff == 0 and r.fidelity.opaque_pixels > 0
        alpha = canvas_alpha(
            seg.cutout.getchannel("A").resize(r.product_box[2:]), r.product_box, r.image.size
        )
        placed = canvas_alpha(
            inside_img.resize(r.product_box[2:], Image.Resampling.NEAREST), r.product_box, r.image.size
        )
        gaps[theme] = carried_gap(r.image, placed > 0, alpha)
    # then: the product's pixels are its own on every set, so on a dark set the sweep seen
    # through the glass glows far above the set round it (milky), on a light one it does not
    assert gaps["dark_luxury"] > 120 and gaps["seasonal"] > 120, gaps
    assert gaps["studio_sweep"] < 60, gaps
