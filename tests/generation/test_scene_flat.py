"""Flat-lay scenes: a product photographed lying on a surface from above is set from above."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation import compose
from generation.clips.worlds import scene_world
from generation.config import GenerationConfig
from generation.engines.studio import StudioEngine
from generation.errors import InvalidSpec
from generation.request import Capabilities, budget_from, parse_request
from generation.scenes_metrics import canvas_alpha, shadow_side, variant_diversity
from generation.segment.classical import decontaminate
from generation.sets import Variant, estimate_flat_lay, flat_box, plan_variant, render_flat_set
from generation.specs import SceneSpec
from generation.types import PlacedProduct, Segmentation
from tests.photoset import CASES, make_case
from tests.photoset_unseen import UNSEEN, make_unseen_case


def _case(name: str):
    return make_case(name) if name in CASES else make_unseen_case(name)


def _segmentation(name: str) -> Segmentation:
    case = _case(name)
    matte = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    fg = decontaminate(np.asarray(case.photo.convert("RGB")), np.asarray(matte))
    return Segmentation(
        image=case.photo, matte=matte, box=case.box, segmenter="alpha", foreground=Image.fromarray(fg, "RGB")
    )


@pytest.fixture(scope="module")
def tshirt() -> Segmentation:
    return _segmentation("flatlay_tshirt_linen")


@pytest.fixture(scope="module")
def engine() -> StudioEngine:
    return StudioEngine(GenerationConfig())


def test_only_the_flat_lay_photo_reads_as_lying_down():
    # given: every photo of both photosets (20 standing products, one folded T-shirt from above)
    found = {}
    for name in CASES + UNSEEN:
        case = _case(name)
        matte = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
        # when
        found[name] = estimate_flat_lay(case.photo, matte)
    # then
    assert [n for n, flat in found.items() if flat] == ["flatlay_tshirt_linen"]


@pytest.mark.parametrize("backdrop", [0, 255])
def test_a_cutout_upload_with_nothing_behind_it_reads_as_standing(backdrop):
    # given: the mug as an RGBA upload whose transparent pixels are black or white
    # (a black one read as a flat-lay: its edge band and the backdrop both luma 0)
    case = make_case("mug_with_handle")
    matte = Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L")
    photo = Image.new("RGB", case.photo.size, (backdrop,) * 3)
    photo.paste(case.photo, mask=matte)
    # then
    assert not estimate_flat_lay(photo, matte)


def test_a_flat_lay_is_set_from_above_with_a_shadow_round_it(engine, tshirt):
    # when: four scenes of the T-shirt on a marble counter, nothing said about the view
    results = engine.render(tshirt, SceneSpec(theme="marble_counter", width=640, height=640, seed=1, count=4))
    for r in results:
        # then: recorded as a flat-lay with no wall (no horizon) and no props standing up
        assert r.meta["variant"]["view"] == "flat"
        assert r.meta["layout"]["horizon"] == 0.0 and r.meta["layout"]["props"] == []
        # the shirt's own pixels, untouched
        assert r.fidelity.max_abs_diff == 0, r.fidelity
    # and the four differ as much as standing variants must
    d = variant_diversity([r.image for r in results], [r.product_box for r in results])
    assert d.min_pair_diff >= 15.0 and d.mean_pair_diff >= 25.0, d


def _density(shot: np.ndarray, empty: np.ndarray, rows: slice, cols: slice) -> float:
    """How much the product's shadows darken the set over ``rows`` x ``cols`` (0..1)."""
    luma = np.array([0.299, 0.587, 0.114])
    return float(1.0 - ((shot[rows, cols] @ luma) / (empty[rows, cols] @ luma)).mean())


@pytest.mark.parametrize("lit", [1.0, -1.0])
def test_a_flat_lay_shadow_hugs_it_all_round_and_falls_away_from_the_light(tshirt, lit):
    # given: the shirt placed as each of four variants, its light from one side
    cutout = tshirt.cutout
    for seed in range(4):
        variant = plan_variant("studio_sweep", seed, light_side=lit)
        box = flat_box(cutout.size, (512, 512), fill=0.5, variant=variant)
        placed = compose.place_product(cutout, (512, 512), box)
        nothing = PlacedProduct(
            layer=Image.new("RGBA", placed.layer.size, (0, 0, 0, 0)), box=placed.box, canvas_size=(512, 512)
        )
        # when: the set from above with the shirt's shadows and without them
        shot = render_flat_set("studio_sweep", placed, seed=seed, variant=variant)
        empty = render_flat_set("studio_sweep", nothing, seed=seed, variant=variant)
        alpha = canvas_alpha(placed.layer.getchannel("A"), placed.box, (512, 512))
        # then: the surface just above the shirt is shadowed too (a standing product never
        # shadows the wall above it), and its right and left sides
        x, y, w, h = box
        band = max(3, round(0.03 * max(w, h)))
        middle_x, middle_y = slice(x + w // 4, x + 3 * w // 4), slice(y + h // 4, y + 3 * h // 4)
        assert _density(shot, empty, slice(y - band, y - 1), middle_x) > 0.02, seed
        rows = range(middle_y.start, middle_y.stop)
        edges = [np.nonzero(alpha[r] > 127)[0][[0, -1]] for r in rows]
        left = float(
            np.mean(
                [
                    _density(shot, empty, slice(r, r + 1), slice(a - band, a - 1))
                    for r, (a, _) in zip(rows, edges, strict=True)
                ]
            )
        )
        right = float(
            np.mean(
                [
                    _density(shot, empty, slice(r, r + 1), slice(b + 2, b + band + 1))
                    for r, (_, b) in zip(rows, edges, strict=True)
                ]
            )
        )
        assert min(left, right) > 0.04, (seed, left, right)
        # and light from the left (+1) throws the shadow right (> 0), and the other way
        leaning = shadow_side(np.clip(shot, 0, 255), alpha, empty=np.clip(empty, 0, 255))
        # (the shadow lies 2-3 times darker on the far side; shadow_side, which looks as far
        # out as half the foot's width, agrees in sign)
        assert (right - left) * lit > 0.05, (seed, left, right)
        assert leaning * lit > 0.0, (seed, leaning)


def test_the_view_can_be_asked_for(engine, tshirt):
    spec = {"theme": "studio_sweep", "width": 320, "height": 320}
    # standing when asked, whatever the photo shows
    [standing] = engine.render(tshirt, SceneSpec(**spec, view="standing"))
    assert "view" not in standing.meta["variant"] and standing.meta["layout"]["horizon"] > 0
    # flat when asked: a bottle photographed standing, laid on the surface from above
    bottle = _segmentation("mug_with_handle")
    [auto] = engine.render(bottle, SceneSpec(**spec))
    [flat] = engine.render(bottle, SceneSpec(**spec, view="flat"))
    assert "view" not in auto.meta["variant"]
    assert flat.meta["variant"]["view"] == "flat"
    with pytest.raises(InvalidSpec, match="view"):
        SceneSpec(view="sideways")
    # and a job request carries it
    request = parse_request(
        {"outputs": ["scene"], "scene": {"view": "flat"}},
        capabilities=Capabilities(),
        budget=budget_from(GenerationConfig()),
    )
    assert request.scene_spec().view == "flat"


@pytest.mark.parametrize("theme", ["marble_counter", "wooden_table"])
def test_a_clip_of_a_flat_lay_scene_shows_the_surface_where_the_product_lay(engine, tshirt, theme):
    # given: a flat-lay scene of the shirt, and its surface built again without it
    scene = engine.render(tshirt, SceneSpec(theme=theme, width=400, height=720))[0]
    v = scene.meta["variant"]
    variant = Variant(
        anchor_x=v["anchor_x"],
        scale=v["scale"],
        camera=v["camera"],
        azimuth=v["light_azimuth"],
        palette=v["palette"],
        view="flat",
        tone=v.get("tone", 1.0),
    )
    empty = PlacedProduct(
        layer=Image.new("RGBA", scene.product_box[2:], (0, 0, 0, 0)),
        box=scene.product_box,
        canvas_size=scene.image.size,
    )
    surface = np.clip(render_flat_set(theme, empty, seed=scene.meta["seed"], variant=variant), 0, 255)
    # when: a clip's world is made from the scene (the product filled out of the picture)
    plate = scene_world(tshirt, scene).plate[..., :3].astype(np.float64)
    # then: where the shirt lay, and round it where its shadow fell, the world is the
    # surface itself (marble veins, wood grain), not a smooth light patch with the shadow's
    # outline round it where the clip moves the shirt away (19-20 and 6-8 of 255 off)
    alpha = canvas_alpha(
        compose.place_product(tshirt.cutout, scene.image.size, scene.product_box).layer.getchannel("A"),
        scene.product_box,
        scene.image.size,
    )
    lay = alpha > 0
    x, y, w, h = scene.product_box
    pad = round(0.08 * max(w, h))
    round_it = np.zeros_like(lay)
    round_it[max(y - pad, 0) : y + h + pad, max(x - pad, 0) : x + w + pad] = True
    round_it &= ~lay
    assert np.abs(plate[lay] - surface[lay]).mean() < 1.5
    assert np.abs(plate[round_it] - surface[round_it]).mean() < 1.5
