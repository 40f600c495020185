"""Motion that reads as a produced ad: depth layers at their own rates, the product's drop
onto its set, a light sweep and text on the beats, with the product pixel-locked."""

from __future__ import annotations

import copy
import dataclasses
import math

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

import generation.clips.plan as plan_module
from generation.clips import plan_clip, write_clip
from generation.clips.checks import ink_box
from generation.clips.frames import Compositor
from generation.clips.motion import Similarity
from generation.clips.product import reference_product
from generation.clips.spec import presets_data
from generation.clips.worlds import PODIUM_RATIO, StudioStage
from generation.config import GenerationConfig
from generation.engines.studio import StudioEngine
from generation.safe_zones import safe_box
from generation.specs import SceneSpec
from generation.types import Segmentation
from tests.generation.test_clips import _segmentation, small

MID = (540, 960)


@pytest.fixture(scope="module")
def bottle():
    return _segmentation()


@pytest.fixture(scope="module")
def parallax(bottle):
    return plan_clip(bottle, small(style="parallax", size=MID, duration=8, direction="right"))


@pytest.fixture
def stages(monkeypatch) -> list[StudioStage]:
    """Every ``studio_stage`` the clips planned in a test find, in order: each set as first
    found, then as stood again in the room the camera's move leaves its props."""
    find = plan_module.studio_stage
    found: list[StudioStage] = []
    monkeypatch.setattr(plan_module, "studio_stage", lambda *a, **k: found.append(find(*a, **k)) or found[-1])
    return found


def _moved(plan, transform_at, point, a: int, b: int) -> float:
    """Canvas px a point of a layer moves along x between frames ``a`` and ``b``."""
    world = transform_at(a).inverse().point(*point)
    return transform_at(b).point(*world)[0] - point[0]


def test_parallax_layers_move_at_their_own_rates_around_a_product_that_stays_put(parallax):
    # given a parallax clip of a set with a prop, from the frame the product has landed
    plan = parallax
    world = plan.worlds[0]
    assert world.props and world.bare is not None
    a = math.ceil(plan.timeline.reveal_end * plan.spec.fps)
    b = plan.frame_count - 1
    cw, ch = plan.canvas

    def depth(ratio):
        return lambda i: plan.state(i).layers[0].depth.at_ratio(ratio)

    # when each layer's point at the product's height is followed through the camera move
    y = plan.timeline.pivot[1]
    wall = _moved(plan, depth(float(world.depth_ratio[0])), (cw / 2, 0.1 * ch), a, b)
    floor = _moved(plan, depth(float(world.depth_ratio[-1])), (cw / 2, 0.97 * ch), a, b)
    prop = _moved(plan, depth(world.props[0].ratio), (cw / 2, y), a, b)
    product = _moved(plan, plan.product_transform, (cw / 2, y), a, b)

    # then the camera arcs around the product (it goes right, turning to keep the product
    # in view): the far wall drifts right, the nearest floor left, the product hardly at
    # all, and each layer at its own rate, the wall clearly apart from the product
    assert wall > 0.02 * cw
    assert floor < -0.02 * cw
    assert abs(product) < 0.03 * cw
    assert wall - product > 0.06 * cw
    assert floor < product < wall
    assert product <= prop < wall


# each preset's size scaled down (even sides), for the framing checks
def _scaled(preset: str) -> tuple[int, int]:
    p = presets_data()["presets"][preset]
    return (2 * round(p["width"] / 8), 2 * round(p["height"] / 8))


def _product_bounds(frame, canvas) -> tuple[float, float, float, float, float]:
    """(left, top, right, bottom) margins of the product's opaque pixels as shares of the
    canvas's sides, and the share of those pixels that is on the canvas."""
    layer = frame.product
    x0, y0, _, _ = layer.box
    ys, xs = np.nonzero(layer.pixels[..., 3] >= 128)
    xs, ys = xs + x0, ys + y0
    cw, ch = canvas
    inside = ((xs >= 0) & (xs < cw) & (ys >= 0) & (ys < ch)).mean()
    return (xs.min() / cw, ys.min() / ch, 1 - (xs.max() + 1) / cw, 1 - (ys.max() + 1) / ch, float(inside))


@pytest.mark.parametrize("style", ["push_in", "pull_out", "pan", "parallax", "sequence"])
def test_the_product_stays_well_placed_through_the_whole_move(bottle, style):
    # given a clip of each style at every preset's aspect, without an end card (the move
    # runs to the last frame)
    framing = presets_data()["framing"]
    themes = ("marble_counter", "podium", "soft_window_light") if style == "sequence" else ("marble_counter",)
    fill = 0.5
    plans = {}
    for preset in presets_data()["presets"]:
        size = _scaled(preset)
        if size not in plans:
            spec = small(style=style, preset=preset, size=size, duration=8, themes=themes, fill=fill)
            plans[size] = plan_clip(bottle, spec)
        plan = plans[size]
        compositor = Compositor(plan)
        n = plan.frame_count

        # when the first, middle and last frames are drawn and the product measured in them
        for index in (0, n // 2, n - 1):
            left, top, right, bottom, inside = _product_bounds(compositor.draw(index), plan.canvas)
            where = f"{preset} frame {index}"

            # then all of it is on the canvas, its centre near the middle, clear of every
            # edge by the margin, and it is the size asked for (by area, a share of the
            # safe area's) within the camera's zoom, or as tall as the move leaves room for
            assert inside == 1.0, where
            assert abs((left - right) / 2) <= float(framing["max_offset"]) + 0.01, where
            assert min(left, top, right, bottom) >= float(framing["margin"]) - 0.005, where
            cw, ch = plan.canvas
            _, _, sw, sh = safe_box(plan.canvas, plan.spec.safe_insets)
            size = math.sqrt((1 - left - right) * cw * (1 - top - bottom) * ch / (sw * sh))
            assert 0.9 * fill <= size <= 1.35 * fill or (size <= fill and 1 - top - bottom >= 0.65), where


def test_props_are_drawn_whole_at_their_own_depth_not_sheared(parallax):
    # given a parallax frame late in the move (without the product's shadow, which may
    # fall on the prop)
    plan = copy.copy(parallax)
    plan.worlds = [dataclasses.replace(parallax.worlds[0], effect=None)]
    prop = plan.worlds[0].props[0]
    index = plan.frame_count - 1
    frame = Compositor(plan).background(index)

    # when the prop layer alone is placed by its own depth's transform
    place = Similarity(1.0, *map(float, prop.origin)).then(
        plan.state(index).layers[0].depth.at_ratio(prop.ratio)
    )
    x, y, w, h = (round(v) for v in place.box((0.0, 0.0, prop.pixels.shape[1], prop.pixels.shape[0])))
    alone = cv2.warpAffine(
        prop.pixels, place.matrix(origin=(x, y)), (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0)
    )
    solid = alone[..., 3] == 255
    x0, y0 = max(x, 0), max(y, 0)
    solid = solid[y0 - y : min(h, plan.canvas[1] - y), x0 - x : min(w, plan.canvas[0] - x)]
    region = frame[y0 : y0 + solid.shape[0], x0 : x0 + solid.shape[1]]

    # then the bare set is the set itself wherever no prop layer reaches
    world = plan.worlds[0]
    reached = np.zeros(world.plate.shape[:2], dtype=bool)
    for layer in world.props:
        lx, ly = layer.origin
        reached[ly : ly + layer.pixels.shape[0], lx : lx + layer.pixels.shape[1]] = True
    assert np.array_equal(world.bare[~reached], world.plate[~reached])
    # and the frame shows exactly the prop layer where it is solid (one rigid layer)
    assert solid.sum() > 500
    want = alone[y0 - y : y0 - y + solid.shape[0], x0 - x : x0 - x + solid.shape[1], :3]
    assert np.abs(region[solid].astype(int) - want[solid].astype(int)).max() <= 1


def _podium_centre(background: np.ndarray, row: int, foot_x: float, half: float) -> float:
    """The canvas x of a podium's middle at ``row`` of a background frame: halfway between
    its sides, the strongest steps in brightness either side of the product's foot."""
    grey = cv2.cvtColor(background, cv2.COLOR_RGB2GRAY).astype(np.float32)
    step = np.abs(np.diff(cv2.GaussianBlur(grey[row - 1 : row + 2], (0, 0), 1.0).mean(axis=0)))
    lo, mid, hi = int(max(foot_x - 1.4 * half, 1)), int(foot_x), int(min(foot_x + 1.4 * half, step.size))
    inner = int(0.5 * half)
    left = lo + int(np.argmax(step[lo : mid - inner]))
    right = mid + inner + int(np.argmax(step[mid + inner : hi]))
    return (left + right + 1) / 2


def _podium_offsets(plan, pod, box) -> list[float]:
    """Canvas px from the product's foot to the middle of the podium's top face just in
    front of it (``pod`` and the product's ``box`` in world px), every 10th frame of the
    camera's move, drawn without the product."""
    background = Compositor(plan).background
    rx, ry, rw, rh = plan.timeline.rest_box
    fps = plan.spec.fps
    first, last = math.ceil(plan.timeline.reveal_end * fps), math.floor(plan.timeline.move_start * fps)
    offsets = []
    for i in range(first, last + 1, 10):
        product = plan.state(i).product
        foot_x, foot_y = product.point(rx + rw / 2, ry + rh)
        s = product.scale * rw / box[2]  # canvas px per world px, at the product
        centre = _podium_centre(background(i), round(foot_y + 0.3 * pod.ry * s), foot_x, pod.rx * s)
        offsets.append(centre - foot_x)
    return offsets


@pytest.mark.parametrize("size", [MID, (960, 540)])
def test_the_podium_moves_with_the_product_standing_on_it(bottle, size, stages):
    # given parallax clips of the plinth set (a box podium, its sides sharp against the
    # wall), drawn without the product, and where the product's foot is in each frame
    spec = small(style="parallax", size=size, duration=8, themes=("gallery_plinth",), direction="right")
    plan = plan_clip(bottle, spec)

    # when the middle of the plinth's top face, just in front of the product's foot, is
    # found in the frames of the camera's move
    offsets = _podium_offsets(plan, stages[-1].stage.podium, stages[-1].geometry.product_box)

    # then the product stays where it stands on it: the plinth under its foot slides
    # by no more than a pixel or two (its rows each moved at their floor row's depth
    # slid it 47 px under a 540 px wide story's product, and leaned it)
    assert len(offsets) >= 15
    assert abs(offsets[0]) <= 1.5
    assert max(offsets) - min(offsets) <= 2.0


@pytest.mark.parametrize("size", [MID, (960, 540)])
def test_a_clip_from_a_podium_scene_moves_the_podium_painted_in_it_with_the_product(bottle, size):
    # given a studio scene of the plinth set (its podium painted into the picture, its
    # place in the scene's layout) and where the engine stood that podium
    from generation import compose
    from generation.sets import estimate_foot_ratio, estimate_light_side, plan_variant, stage_for_product

    spec = SceneSpec(theme="gallery_plinth", width=size[0], height=size[1], seed=0, count=1)
    scene = StudioEngine(GenerationConfig()).render(bottle, spec)[0]
    cut = bottle.cutout
    variant = plan_variant(
        "gallery_plinth", 0, light_side=estimate_light_side(cut), foot_ratio=estimate_foot_ratio(cut)
    )
    stage = stage_for_product("gallery_plinth", cut.size, size, fill=spec.fill, seed=0, variant=variant)
    assert compose.place_product(cut, size, stage.box).box == scene.product_box
    assert scene.meta["layout"]["podium"] == stage.podium.to_dict()

    # when a parallax clip is made from the scene image, and the middle of the plinth's
    # top face just in front of the product's foot is found in the frames of its move
    plan = plan_clip(
        bottle, small(style="parallax", size=size, duration=8, direction="right"), scenes=[scene]
    )
    world = plan.worlds[0]
    offsets = _podium_offsets(plan, stage.podium, world.geometry.product_box)

    # then the painted plinth moves with the product standing on it, as a theme's does
    # (each of its rows moved at the depth of the floor row it covers: it slid 54 px
    # under a story's product and 72 px under a landscape's, and leaned)
    assert world.podium is not None and world.podium.ratio == PODIUM_RATIO
    assert len(offsets) >= 15
    assert abs(offsets[0]) <= 1.5
    assert max(offsets) - min(offsets) <= 2.0


def _podium_side_offsets(plan) -> tuple[list[float], list[float]]:
    """Canvas px from the product's foot to the left and to the right side of the podium's
    own pixels on the row just in front of the foot (its top face), at the product's size
    in the first frame measured (the camera zooms in), every 3rd frame of the camera's
    move, drawn without the product: where the podium shows is found by drawing
    the frames again with the podium layer's pixels painted magenta. A side the frame's
    edge cuts is not counted in that frame."""
    world = plan.worlds[0]
    pod = world.podium
    marked = pod.pixels.copy()
    marked[..., :3] = (pod.pixels[..., 3:4].astype(np.int32) * np.array([255, 0, 255]) // 255).astype(
        np.uint8
    )
    painted = dataclasses.replace(world, podium=dataclasses.replace(pod, pixels=marked))
    plain = Compositor(plan).background
    magenta = Compositor(dataclasses.replace(plan, worlds=[painted, *plan.worlds[1:]])).background
    rx, ry, rw, rh = plan.timeline.rest_box
    fps, cw = plan.spec.fps, plan.canvas[0]
    first, last = math.ceil(plan.timeline.reveal_end * fps), math.floor(plan.timeline.move_start * fps)
    lefts, rights = [], []
    scale = plan.state(first).product.scale
    for i in range(first, last + 1, 3):
        product = plan.state(i).product
        foot_x, foot_y = product.point(rx + rw / 2, ry + rh)
        at = scale / product.scale
        row = round(foot_y) + 3
        shown = np.abs(plain(i)[row, :, :3].astype(int) - magenta(i)[row, :, :3].astype(int)).sum(axis=1) > 60
        columns = np.nonzero(shown)[0]
        if columns[0] > 1:
            lefts.append((float(columns[0]) - foot_x) * at)
        if columns[-1] < cw - 2:
            rights.append((float(columns[-1] + 1) - foot_x) * at)
    return lefts, rights


@pytest.mark.parametrize("size", [MID, (960, 540)])
def test_a_round_podium_moves_with_the_product_standing_on_it(bottle, size):
    # given parallax clips of the podium set (a round podium, its sides low in contrast
    # against the floor, wider than a story's frame)
    spec = small(style="parallax", size=size, duration=8, themes=("podium",), direction="right")
    plan = plan_clip(bottle, spec)
    assert plan.worlds[0].podium is not None and plan.worlds[0].podium.ratio == PODIUM_RATIO

    # when the sides of its top face, just in front of the product's foot, are found in
    # the frames of the camera's move
    lefts, rights = _podium_side_offsets(plan)

    # then each side keeps its place beside the foot: the podium does not slide under it
    assert len(lefts) + len(rights) >= 15
    for sides in (lefts, rights):
        if sides:
            assert max(sides) - min(sides) <= 2.0, sides


@pytest.mark.parametrize("size", [MID, (960, 540)])
def test_a_clip_from_a_round_podium_scene_moves_the_podium_painted_in_it_with_the_product(bottle, size):
    # given a studio scene of the podium set (its round podium painted into the picture)
    spec = SceneSpec(theme="podium", width=size[0], height=size[1], seed=0, count=1)
    scene = StudioEngine(GenerationConfig()).render(bottle, spec)[0]
    assert scene.meta["layout"]["podium"]["shape"] == "cylinder"

    # when a parallax clip is made from the scene image, and the sides of the podium's top
    # face just in front of the product's foot are found in the frames of its move
    plan = plan_clip(
        bottle, small(style="parallax", size=size, duration=8, direction="right"), scenes=[scene]
    )
    assert plan.worlds[0].podium is not None and plan.worlds[0].podium.ratio == PODIUM_RATIO
    lefts, rights = _podium_side_offsets(plan)

    # then the painted podium moves with the product standing on it
    assert len(lefts) + len(rights) >= 15
    for sides in (lefts, rights):
        if sides:
            assert max(sides) - min(sides) <= 2.0, sides


def _podium_past_bottom(plan, pod) -> float:
    """The largest share of a podium's height (the back of its top face to the bottom of
    its front) below the frame's bottom edge in any frame from the end of the reveal to
    the end card's move (``pod`` in world px)."""
    ch, fps = plan.canvas[1], plan.spec.fps
    worst = 0.0
    for i in range(math.ceil(plan.timeline.reveal_end * fps), math.floor(plan.timeline.move_start * fps) + 1):
        layer = plan.state(i).layers[0]
        moved = layer.depth.at_ratio(PODIUM_RATIO) if layer.depth is not None else layer.transform
        top, bottom = moved.point(pod.cx, pod.top - pod.ry)[1], moved.point(pod.cx, pod.bottom + pod.ry)[1]
        worst = max(worst, (bottom - ch) / (bottom - top))
    return worst


@pytest.mark.parametrize("preset", ["square", "portrait", "landscape"])
def test_a_podium_set_keeps_its_podium_whole_in_the_frame(bottle, stages, preset):
    # given clips of a tall bottle on the podium sets (a round podium, a tall plinth)
    for theme in ("podium", "gallery_plinth"):
        for style in ("parallax", "push_in"):
            stages.clear()
            spec = small(style=style, preset=preset, size=_scaled(preset), duration=6, themes=(theme,))

            # when the clip is planned
            plan = plan_clip(bottle, dataclasses.replace(spec, headline="Good morning mug"))

            # then the podium under the bottle is in the frame, whole, in every frame of
            # the move: the product is made smaller and stands higher to leave it room (the
            # product at the fill asked stood its foot at the clear area's bottom, and 0.60
            # to 0.74 of the podium's height was below the frame's edge, only its top face
            # in sight)
            assert _podium_past_bottom(plan, stages[-1].stage.podium) <= 0.0, (theme, style)
            # and the headline stands above the bottle, not over the podium in front of it
            _, hy, _, hh = ink_box(plan.sprites["headline"])
            assert hy + hh <= plan.timeline.rest_box[1], (theme, style)


def test_a_story_podium_set_keeps_the_product_s_size(bottle):
    # given a story of a tall bottle on the podium set and on the marble set (no podium)
    sized = []
    for theme in ("podium", "marble_counter"):
        spec = small(style="parallax", size=MID, duration=6, themes=(theme,), headline="Good morning mug")
        sized.append(plan_clip(bottle, spec).timeline.rest_box[3])

    # then the podium stands in the frame below the clear area (in the UI's band: it is the
    # set, not the product or a word), and the bottle is as large as on a set without one
    assert sized[0] == pytest.approx(sized[1], abs=0.5)


def _on_world(layer_pixels: np.ndarray, origin: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """A layer's (h, w) array placed on a ``size`` (w, h) world of zeros, as float32."""
    out = np.zeros((size[1], size[0]), dtype=np.float32)
    x, y = origin
    h, w = layer_pixels.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, size[0]), min(y + h, size[1])
    out[y0:y1, x0:x1] = layer_pixels[y0 - y : y1 - y, x0 - x : x1 - x]
    return out


def _steepest(values: np.ndarray, skip: np.ndarray) -> float:
    """The largest difference between two side-by-side pixels of ``values`` (either way)
    where neither is in ``skip``."""
    across = np.abs(np.diff(values, axis=1))[~(skip[:, 1:] | skip[:, :-1])]
    down = np.abs(np.diff(values, axis=0))[~(skip[1:] | skip[:-1])]
    return max(float(across.max(initial=0.0)), float(down.max(initial=0.0)))


@pytest.mark.parametrize(
    ("preset", "theme", "seed"),
    [("landscape", "podium", 0), ("square", "podium", 1), ("story", "marble_counter", 0)],
)
def test_a_piece_s_shadow_moves_whole_with_it_and_overlapping_shadows_multiply(
    bottle, stages, preset, theme, seed
):
    # given a parallax clip of a set whose props (and podium) throw shadows that meet on the
    # floor, each piece a layer of its own moving at its own depth
    from generation.clips.frames import _far_to_near
    from generation.sets.shapes import podium_cover

    plan = plan_clip(
        bottle,
        small(style="parallax", preset=preset, size=_scaled(preset), duration=6, themes=(theme,), seed=seed),
    )
    world, staged = plan.worlds[0], stages[-1]
    assert world.props
    size = world.size
    bodies = np.zeros((size[1], size[0]), dtype=np.float32)
    for placed in staged.standing:
        np.maximum(bodies, _on_world(placed.cover, placed.origin, size), out=bodies)
    if (pod := staged.stage.podium) is not None:
        yy, xx = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32) + 0.5
        np.maximum(bodies, np.clip(sum(podium_cover(pod, xx, yy)), 0.0, 1.0), out=bodies)
    # off the pieces (3 px round their anti-aliased edges), where only shadows are
    skip = cv2.dilate((bodies > 0.001).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0

    # when each layer's opacity is compared with the set's own shadows (how much the set
    # with its pieces is darker than the bare set, in alpha levels), and the layers are
    # laid over the bare set where they stand
    layers = _far_to_near(world)
    plate, bare = world.plate[..., :3].astype(np.float32), world.bare[..., :3].astype(np.float32)
    shadows = 255.0 * (1.0 - (plate / np.maximum(bare, 1.0)).min(axis=2))
    alphas = [_on_world(layer.pixels[..., 3], layer.origin, size) for layer in layers]
    rest = bare.copy()
    for layer in layers:
        x, y = layer.origin
        h, w = layer.pixels.shape[:2]
        region = rest[y : y + h, x : x + w]
        px = layer.pixels.astype(np.float32)
        region[:] = px[..., :3] + region * (1.0 - px[..., 3:] / 255.0)

    # then no layer has an edge of its own off the pieces: its shadows fade as smoothly as
    # the set's do (each changed pixel given whole to the nearest piece's layer cut the
    # shadows where two met: a 170-255 level step in a layer's alpha, a line on the floor
    # once the layers moved apart), so wherever the move takes each layer its shadows go
    # whole with it and darken the others' by their own share
    assert max(_steepest(a, skip) for a in alphas) <= _steepest(shadows, skip) + 2.0
    # and laid where they stand, they give the set as drawn (shadows multiplied)
    assert float(np.abs(rest - plate).max()) <= 5.0


def test_the_product_drops_onto_its_set_over_the_first_beat_as_its_shadow_forms(parallax):
    # given the timeline of a clip
    tl = parallax.timeline
    rh = tl.rest_box[3]
    drop = float(presets_data()["reveal"]["drop"])
    fps = parallax.spec.fps
    landed = math.ceil(tl.reveal_end * fps)

    # when the product is compared with where the camera has it
    lift = [tl._camera_product(i / fps).ty - tl.product_at(i / fps).ty for i in range(landed + 3)]
    shadows = [parallax.state(i).layers[0].shadow for i in range(landed + 3)]

    # then it starts higher by the preset's share of its height, only ever comes down,
    # and has landed on the beat; its shadow is there from the first frame, at the
    # preset's strength, and darkens to full meanwhile
    assert tl.reveal_end == tl.beats[1]
    assert lift[0] == pytest.approx(drop * rh * tl._camera_product(0).scale)
    assert all(x >= y for x, y in zip(lift, lift[1:], strict=False))
    assert lift[landed:] == [0.0] * len(lift[landed:]) and lift[landed - 1] > 0
    assert shadows[0] == float(presets_data()["reveal"]["shadow_from"]) > 0.0
    assert shadows[landed:] == [1.0] * len(shadows[landed:])
    assert all(x < y for x, y in zip(shadows[:landed], shadows[1 : landed + 1], strict=False))


@pytest.mark.parametrize("style", ["push_in", "pull_out", "pan", "parallax", "sequence"])
def test_the_first_frame_of_a_drop_in_shows_the_products_shadow_on_the_floor(bottle, style):
    # given the first frame of a drop-in, drawn with the product's shadow and without it
    plan = plan_clip(bottle, small(style=style, size=MID, reveal="drop_in"))
    bare = copy.copy(plan)
    bare.worlds = [dataclasses.replace(w, effect=None) for w in plan.worlds]
    with_shadow = Compositor(plan).background(0).astype(int)
    without = Compositor(bare).background(0).astype(int)

    # when the floor just under where the product lands is measured
    x, y, w, h = (
        round(v) for v in plan.timeline.product_at(plan.timeline.reveal_end).box(plan.timeline.rest_box)
    )
    floor = (slice(y + h - round(0.02 * h), y + h + round(0.04 * h)), slice(x + w // 4, x + 3 * w // 4))

    # then the shadow darkens it already, though the product is still in the air
    assert plan.state(0).product.ty < plan.timeline.product_at(plan.timeline.reveal_end).ty
    darker = (without[floor] - with_shadow[floor]).mean()
    assert darker > 4.0, darker


def test_text_enters_on_its_beat_and_leaves_on_the_beat_of_the_end_card_move(bottle):
    # given a clip with a headline and an end card
    plan = plan_clip(bottle, small(style="push_in", duration=8, headline="Fresh hand wash", price="9.90"))
    tl, fps = plan.timeline, plan.spec.fps
    shown = [i for i in range(plan.frame_count) if any(t.key == "headline" for t in plan.state(i).texts)]

    # then the headline's first frame is the first after its beat, its last the one
    # before the end-card move, and both are beats of the grid
    beat = int(presets_data()["text"]["headline_beat"])
    assert tl.text_enters("headline") == tl.beats[beat]
    assert shown[0] == math.floor(tl.beats[beat] * fps) + 1
    assert tl.text_leaves("headline") == tl.beats[-1] == tl.move_start
    assert shown[-1] == math.ceil(tl.move_start * fps) - 1


def test_a_sequence_cuts_on_beats(bottle):
    # given a sequence of two scenes
    plan = plan_clip(bottle, small(style="sequence", duration=6, themes=("marble_counter", "podium")))

    # then the cut is a beat, and beats are evenly spaced within each shot
    tl = plan.timeline
    assert tl.boundaries[0] in tl.beats
    steps = np.diff(tl.beats)
    assert steps.min() > 0.4 and steps.max() < 0.8


def test_the_light_sweep_brightens_the_set_and_never_the_product(bottle, tmp_path):
    # given a clip whose sweep passes on the second beat
    plan = plan_clip(bottle, small(style="push_in", duration=6))
    tl, fps = plan.timeline, plan.spec.fps
    index = round((tl.sweeps[0] + tl.sweep_s / 2) * fps)
    assert plan.state(index).sweep is not None and plan.state(0).sweep is None
    frames: dict[int, np.ndarray] = {}

    def keep(frame):
        # every frame's product pixels are the reference's own (independently recomputed)
        ref = reference_product(plan.master, plan.product_transform(frame.index), plan.canvas)
        x, y, w, h = ref.box
        opaque = ref.pixels[..., 3] == 255
        assert opaque.sum() > 0
        assert np.array_equal(frame.image[y : y + h, x : x + w][opaque], ref.pixels[..., :3][opaque])
        if frame.index == index:
            frames[index] = frame.image.copy()

    # when the clip is rendered, and that frame is drawn again without the sweep
    result = write_clip(plan, tmp_path / "sweep.mp4", frame_hook=keep, verify_encoding=False)
    state = plan.state(index)
    compositor = Compositor(plan)
    compositor._worlds(state)
    unlit = compositor.frame[..., :3].astype(int)

    # then the sweep added light to a band of the set: more than 20 levels at its peak
    added = frames[index].astype(int) - unlit
    ref = reference_product(plan.master, plan.product_transform(index), plan.canvas)
    x, y, w, h = ref.box
    off_product = np.ones(plan.canvas[::-1], dtype=bool)
    off_product[y : y + h, x : x + w] &= ref.pixels[..., 3] == 0
    assert added[off_product].max() > 20
    assert 0.03 < (added[off_product].max(axis=-1) > 5).mean() < 0.6
    assert result.fidelity.identical


def test_the_fade_reveal_fades_the_set_in_around_a_product_that_never_moves(bottle):
    # given a clip that opens with the fade
    plan = plan_clip(bottle, small(style="push_in", duration=6, reveal="fade"))
    tl, fps = plan.timeline, plan.spec.fps
    landed = math.ceil(tl.reveal_end * fps)
    compositor = Compositor(plan)

    # when its first frames are drawn (the product's pixels are checked in each)
    firsts = [compositor.draw(i).image.copy() for i in (0, landed // 2, landed)]
    field = np.asarray(plan.worlds[0].plate[..., :3], dtype=float).reshape(-1, 3).mean(axis=0)
    off = compositor.draw(landed).product.pixels[..., 3] == 0

    # then the product is where the camera has it from the first frame (no drop), the set
    # starts as a plain field of its own colour and is all there on the first beat
    assert all(tl.product_at(i / fps) == tl._camera_product(i / fps) for i in range(landed + 1))
    assert [plan.state(i).veil for i in (0, landed)] == [1.0, 0.0]
    veils = [plan.state(i).veil for i in range(landed + 1)]
    assert all(a >= b for a, b in zip(veils, veils[1:], strict=False))
    spread = [float(np.abs(img.astype(float) - field).max(axis=-1)[:40].mean()) for img in firsts]
    assert spread[0] <= 1.0 < spread[1] < spread[2]
    assert off.any()


def test_no_reveal_opens_on_the_finished_shot(bottle):
    # given a clip asked to open without an effect, and the same with the drop-in
    plain = plan_clip(bottle, small(style="push_in", duration=6, reveal="none"))
    dropped = plan_clip(bottle, small(style="push_in", duration=6))

    # then from its first frame the product stands where the camera has it, with its whole
    # shadow, and the set is not veiled; the beats (text, sweep) are the drop-in's
    tl = plain.timeline
    assert tl.product_at(0.0) == tl._camera_product(0.0)
    assert plain.state(0).layers[0].shadow == 1.0 and plain.state(0).veil == 0.0
    assert dropped.timeline.product_at(0.0) != dropped.timeline._camera_product(0.0)
    assert tl.beats == dropped.timeline.beats and tl.sweeps == dropped.timeline.sweeps
    assert tl.text_enters("headline") == dropped.timeline.text_enters("headline")


def test_a_plain_sweep_has_light_on_its_wall_and_floor_that_moves_apart_in_parallax(bottle, monkeypatch):
    # given the same parallax clip of the plain studio sweep with its light pools and without
    build = plan_module.studio_world
    spec = small(style="parallax", size=MID, duration=8, themes=("studio_sweep",), end_card=False)
    shots = {}
    for cues in (True, False):
        monkeypatch.setattr(
            plan_module, "studio_world", lambda *a, cues=cues, **k: build(*a, **{**k, "depth_cues": cues})
        )
        plan = plan_clip(bottle, spec)
        comp = Compositor(plan)
        a, b = math.ceil(plan.timeline.reveal_end * plan.spec.fps), plan.frame_count - 1
        shots[cues] = (plan, comp, [comp.background(i).astype(np.float64) for i in (a, b)], (a, b))
    plan, comp, lit, (a, b) = shots[True]
    plain = shots[False][2]
    cw, ch = plan.canvas

    # when the light the pools add is followed from the landed frame to the last, in a band
    # of the wall beside the product and one of the floor in front of it
    def centre(rows: tuple[float, float], k: int) -> float:
        gain = np.clip((lit[k] + 0.5) / (plain[k] + 0.5) - 1.0, 0.0, None).mean(axis=2)
        column = gain[int(rows[0] * ch) : int(rows[1] * ch)].sum(axis=0)
        assert column.max() > 1.0  # the pool is there to see
        return float((column * np.arange(cw)).sum() / column.sum())

    _, y, _, h = plan.timeline.rest_box  # the bands beside the product and in front of its foot
    beside, front = ((y + 0.2 * h) / ch, (y + 0.6 * h) / ch), ((y + h) / ch, (y + 1.35 * h) / ch)
    wall = centre(beside, 1) - centre(beside, 0)
    floor = centre(front, 1) - centre(front, 0)
    product = _moved(plan, plan.product_transform, (cw / 2, plan.timeline.pivot[1]), a, b)

    # then the wall's light drifts with the camera's arc and the floor's against it, clearly
    # apart, while the product hardly moves and its pixels stay the reference's own
    assert wall > 0.02 * cw
    assert floor < -0.02 * cw
    assert wall - floor > 0.06 * cw
    assert abs(product) < 0.03 * cw
    for i in (a, b):
        assert comp.draw(i).max_abs_diff == 0


@pytest.mark.parametrize(
    ("style", "themes"),
    [
        ("push_in", ("studio_sweep",)),
        ("pull_out", ("studio_sweep",)),
        ("pan", ("studio_sweep",)),
        ("sequence", ("studio_sweep", "marble_counter")),
    ],
)
def test_every_style_lights_a_plain_set_with_its_pools(bottle, monkeypatch, style, themes):
    # given a clip of the plain studio sweep (a sequence: then a marble counter) in a style
    # that moves the set as one piece, and the same clip with the pools forced off
    spec = small(style=style, size=MID, duration=6, themes=themes, end_card=False, direction="right")
    plan = plan_clip(bottle, spec)
    build = plan_module.studio_world
    monkeypatch.setattr(plan_module, "studio_world", lambda *a, **k: build(*a, **{**k, "depth_cues": False}))
    dark = plan_clip(bottle, spec)
    cw, ch = plan.canvas
    comp, flat = Compositor(plan), Compositor(dark)
    fps = plan.spec.fps
    landed = math.ceil(plan.timeline.reveal_end * fps)
    first_cut = plan.timeline.boundaries[0] if plan.timeline.boundaries else plan.timeline.scenes_end
    frames = (landed, math.floor(first_cut * fps) - 1)

    # when the light the pools add to the wall, beside the product and above its foot, is
    # measured where the plain sweep is on screen (from the landed frame to the last before a cut)
    def wall_light(i: int) -> tuple[float, float]:
        lit = comp.background(i).astype(np.float64)
        plain = flat.background(i).astype(np.float64)
        gain = np.clip((lit + 0.5) / (plain + 0.5) - 1.0, 0.0, None).mean(axis=2)
        _, y, _, h = plan.product_transform(i).box((0.0, 0.0, *map(float, plan.master.size)))
        column = gain[int(y + 0.2 * h) : int(y + 0.6 * h)].sum(axis=0)
        return float(column.max() / int(0.4 * h)), float((column * np.arange(cw)).sum() / column.sum())

    (peak_a, at_a), (peak_b, at_b) = (wall_light(i) for i in frames)

    # then the sweep's wall has a pool of light (adding over 4 % to its brightest column),
    # in every frame it is seen; a pan carries it across the frame with the set; the
    # product's pixels stay the reference's own
    assert peak_a > 0.04 and peak_b > 0.04, (peak_a, peak_b)
    if style == "pan":
        assert abs(at_b - at_a) > 0.02 * cw, (at_a, at_b)
    for i in frames:
        assert comp.draw(i).max_abs_diff == 0
    # and a set with a material of its own (the marble counter) is left as it is
    if len(plan.worlds) > 1:
        assert np.array_equal(plan.worlds[1].plate, dark.worlds[1].plate)


@pytest.mark.parametrize("reveal", ["fade", "none"])
def test_the_clip_records_how_it_opens_beside_its_beats(bottle, tmp_path, reveal):
    # given a clip that opens with the fade, or with no effect
    plan = plan_clip(bottle, small(style="push_in", reveal=reveal, poster=False))

    # when it is written
    result = write_clip(plan, tmp_path / "clip.mp4")

    # then its metadata says which opening it has, beside what it is cut to
    assert result.meta["reveal"] == reveal
    assert result.meta["beats"] == {"source": "preset", "step_s": 0.6, "why": "no audio"}


def _prop_extents(plan, prop) -> list[tuple[float, float, float, float]]:
    """(left, right, top, bottom) canvas px of a prop's body in every frame of the camera's move."""
    x0, y0, x1, y1 = prop.body
    out = []
    for i in range(math.ceil(plan.timeline.scenes_end * plan.spec.fps)):
        depth = plan.state(i).layers[0].depth
        bx, by, bw, bh = depth.at_ratio(prop.ratio).box((x0, y0, x1 - x0, y1 - y0))
        out.append((bx, bx + bw, by, by + bh))
    return out


def _whole(plan, prop) -> bool:
    """Whether a prop's body stays 2 % inside every edge of the frame, the bottom too, in
    every frame of the camera's move."""
    cw, ch = plan.canvas
    return all(
        left >= 0.02 * cw and right <= 0.98 * cw and top >= 0.02 * ch and bottom <= 0.98 * ch
        for left, right, top, bottom in _prop_extents(plan, prop)
    )


@pytest.mark.parametrize("fill", [0.5, 0.4])
def test_a_prop_stands_where_the_whole_move_sees_it_or_is_left_out(bottle, monkeypatch, fill):
    # given a 9:16 parallax clip of the marble set, and the same set with its props stood
    # as a scene stands them (the frame's margins only) and none left out
    spec = small(style="parallax", size=MID, duration=8, direction="right", fill=fill)
    plan = plan_clip(bottle, spec)
    monkeypatch.setattr(plan_module, "_prop_room", lambda *_: (-math.inf, math.inf, -math.inf, math.inf))
    monkeypatch.setattr(plan_module, "_props_in_frame", lambda world, *_: world)
    as_scene = plan_clip(bottle, spec)
    cw, ch = plan.canvas

    # when each prop's body is followed through the move
    def inside(p, prop) -> bool:
        return all(
            left >= 0.02 * cw and right <= 0.98 * cw and top >= 0.02 * ch
            for left, right, top, _ in _prop_extents(p, prop)
        )

    # then the clip's set stands its props (shrunk if need be) where every frame sees them
    # whole, and keeps at least as many as the scene's places would leave whole; with the
    # larger product (fill 0.5) the scene's place has the frame's edge cut the cylinder
    kept = plan.worlds[0].props
    assert kept and all(inside(plan, prop) for prop in kept)
    assert len(kept) >= sum(inside(as_scene, prop) for prop in as_scene.worlds[0].props)
    if fill == 0.5:
        assert as_scene.worlds[0].props
        assert not all(inside(as_scene, prop) for prop in as_scene.worlds[0].props)


def test_a_story_parallax_set_keeps_the_props_its_scene_asked_for(bottle, stages):
    # given 9:16 parallax clips of sets with props beside the product, whose camera shows
    # less beside it than the scene has (each set as first found asks for its props)
    from generation.sets.props import CLEAR_GAP

    asked = stood = 0
    for theme in ("concrete", "marble_counter", "pastel_gradient", "wooden_table"):
        for seed in (0, 1):
            stages.clear()

            # when the clip is planned
            plan = plan_clip(bottle, small(style="parallax", duration=6, themes=(theme,), seed=seed))
            world = plan.worlds[0]
            cw, ch = plan.canvas
            asked += len(stages[0].variant.props)
            stood += len(world.props)

            # then every prop that stands is whole in every frame of the move, and clear of
            # the product by the gap a scene keeps
            x, _, w, _ = world.geometry.product_box
            gap = CLEAR_GAP * min(world.geometry.size)
            for prop in world.props:
                assert all(
                    left >= 0.02 * cw and right <= 0.98 * cw and top >= 0.02 * ch
                    for left, right, top, _ in _prop_extents(plan, prop)
                )
                x0, _, x1, _ = prop.body
                assert x1 <= x - gap + 1 or x0 >= x + w + gap - 1

    # and the sets keep every prop they asked for (shrunk, a little, where need be)
    assert asked >= 10 and stood == asked


def test_a_square_podium_set_narrows_its_podium_to_keep_the_props_its_scene_asked_for(bottle, stages):
    # given 1:1 parallax clips of the podium set, whose podium as the scene builds it is as
    # wide as what the camera shows: no floor beside it for the props its scene asked for
    from generation.sets.props import CLEAR_GAP

    asked = stood = 0
    for seed in (0, 1):
        stages.clear()

        # when the clip is planned
        plan = plan_clip(
            bottle,
            small(
                style="parallax", preset="square", size=(320, 320), duration=6, themes=("podium",), seed=seed
            ),
        )
        world = plan.worlds[0]
        cw, ch = plan.canvas
        asked += len(stages[0].variant.props)
        stood += len(world.props)

        # then the podium still holds the product (at least the theme's 1.3x its width),
        # its front on the floor row the move was planned on
        first, last = stages[0].stage, stages[-1].stage
        x, _, w, _ = world.geometry.product_box
        assert first.podium is not None and last.podium is not None
        assert 2 * last.podium.rx >= 1.3 * w - 1e-6
        assert last.contact == pytest.approx(first.contact)
        assert world.geometry.horizon == pytest.approx(stages[0].geometry.horizon)
        # and every prop that stands is whole in every frame, clear of the podium
        pod, gap = last.podium, CLEAR_GAP * min(world.geometry.size)
        for prop in world.props:
            assert all(
                left >= 0.02 * cw and right <= 0.98 * cw and top >= 0.02 * ch
                for left, right, top, _ in _prop_extents(plan, prop)
            )
            x0, _, x1, _ = prop.body
            assert x1 <= pod.cx - pod.rx - gap + 1 or x0 >= pod.cx + pod.rx + gap - 1

    # and the sets keep every prop they asked for
    assert asked >= 3 and stood == asked


def test_a_podium_narrows_only_as_far_as_the_least_size_its_props_are_stood_at(stages, monkeypatch):
    # given a 1:1 parallax clip of the podium set with a thin product (its sphere's size is
    # capped by the product's width, below the theme's least share of its height), whose
    # podium must narrow for the sphere to stand beside it (the product framed as large as
    # with no podium under it: kept whole in the frame, the podium leaves it smaller and
    # the sphere room at its own size)
    monkeypatch.setattr(plan_module, "podium_reach", lambda *_a, **_k: 0.0)
    from generation.sets import get_theme
    from generation.sets.props import CLEAR_GAP, CLIP_MIN_SHARE, CLIP_READABLE, prop_height

    photo, matte = Image.new("RGB", (140, 680), (240, 240, 240)), Image.new("L", (140, 680), 0)
    photo.paste((40, 120, 90), (20, 20, 120, 660))
    matte.paste(255, (20, 20, 120, 660))
    thin = Segmentation(image=photo, matte=matte, box=(20, 20, 100, 640), segmenter="exact")

    # when the clip is planned
    plan = plan_clip(
        thin,
        small(style="parallax", preset="square", size=(270, 270), duration=6, themes=("podium",), seed=0),
    )

    # then the podium leaves the widest prop the room place_props stands it in at its
    # least clip size (min_size of the product's height, or its own height where the
    # product's width caps it lower, shrunk to CLIP_MIN_SHARE while readable), no less
    first, last = stages[0], stages[-1]
    size = plan.worlds[0].size
    lo, hi = max(0.02 * size[0], last.variant.room[0]), min(0.98 * size[0], last.variant.room[1])
    half = min(first.stage.podium.cx - lo, hi - first.stage.podium.cx) - 4.0
    _, _, w, h = last.stage.box
    need = 0.0
    for k in last.variant.props:
        prop = get_theme("podium").props[k]
        ph = prop_height(prop.size, prop.max_widths, w, h, size)
        smallest = min(prop.min_size * h, ph)
        least = min(max(CLIP_MIN_SHARE * smallest, CLIP_READABLE * min(size)), smallest)
        need = max(need, max(prop.gap * w, CLEAR_GAP * min(size)) + 1.08 * least * prop.aspect)
    assert first.stage.podium.rx > last.stage.podium.rx > 0.65 * w
    assert last.stage.podium.rx == pytest.approx(half - need, abs=0.5)
    # and the props stand
    assert len(plan.worlds[0].props) == len(first.variant.props) == 2


@pytest.mark.parametrize("style", ["parallax", "push_in"])
def test_a_story_podium_set_stands_its_props_on_the_podium_beside_the_product(bottle, style, stages):
    # given 9:16 clips of the podium set, whose podium is wider than what the story's camera
    # shows, and which cannot narrow below the theme's 1.3x the product's width and still
    # leave a readable prop floor beside it
    from generation.sets.props import CLEAR_GAP

    asked = stood = 0
    for seed in (0, 1):
        stages.clear()

        # when the clip is planned
        plan = plan_clip(bottle, small(style=style, duration=6, themes=("podium",), seed=seed))
        world = plan.worlds[0]
        first, last = stages[0], stages[-1]
        asked += len(first.variant.props)
        bodies = [(r, body) for _, r, body in world.prop_bodies]
        stood += len(bodies)

        # then the podium is the scene's (the product still stands at its place on it)
        assert last.stage.podium == first.stage.podium
        assert world.geometry.product_box == first.geometry.product_box
        pod, gap = last.stage.podium, CLEAR_GAP * min(world.geometry.size)
        x, _, w, _ = world.geometry.product_box
        for (ratio, body), placed in zip(bodies, last.standing, strict=True):
            # and each prop stands on its top face, clear of the product by a scene's gap
            x0, _, x1, y1 = body
            assert pod.top - pod.ry < placed.base < pod.top + pod.ry
            assert ((placed.cx - pod.cx) / pod.rx) ** 2 + ((placed.base - pod.top) / pod.ry) ** 2 < 1.0
            assert x1 <= x - gap + 1 or x0 >= x + w + gap - 1
            # and moves with the podium it stands on, as the product on it does (the depth
            # of the floor row its foot covers would slide it across the top face)
            assert ratio == PODIUM_RATIO == 1.0
            if style == "parallax":
                assert world.podium is not None and world.podium.ratio == ratio
            # and is whole in every frame of the move, the bottom edge too
            if style == "parallax":
                layer = next(p for p in world.props if p.body == body)
                assert _whole(plan, layer)
        if style == "push_in":
            assert not plan_module._cut_props(world.prop_bodies, 0, plan.timeline, plan.spec.fps)

    # and the sets keep every prop they asked for (the podium set had none in a story)
    assert asked >= 3 and stood == asked


@pytest.mark.parametrize(("style", "preset"), [("parallax", "landscape"), ("push_in", "square")])
def test_a_prop_in_front_stands_above_the_frame_s_bottom_edge(bottle, style, preset, stages):
    # given clips of the podium set whose props stand in front, on the floor beside the
    # podium: low in the world, where the camera's push-in crops the bottom
    asked = 0
    for seed in (0, 1):
        stages.clear()

        # when the clip is planned
        plan = plan_clip(
            bottle,
            small(
                style=style, preset=preset, size=_scaled(preset), duration=6, themes=("podium",), seed=seed
            ),
        )
        asked += len(stages[0].variant.props)
        world = plan.worlds[0]
        cw, ch = plan.canvas

        # then every prop asked for stands, and is whole in every frame: the frame's bottom
        # edge cuts none (a prop stands further back up the floor where it would)
        assert len(world.prop_bodies) == len(stages[0].variant.props)
        if style == "parallax":
            assert len(world.props) == len(world.prop_bodies)
            assert all(_whole(plan, prop) for prop in world.props)
        else:
            for _, _, (x0, y0, x1, y1) in world.prop_bodies:
                for i in range(math.ceil(plan.timeline.scenes_end * plan.spec.fps)):
                    _, by, _, bh = plan.state(i).layers[0].transform.box((x0, y0, x1 - x0, y1 - y0))
                    assert by >= 0.02 * ch and by + bh <= 0.98 * ch
    assert asked >= 3


@pytest.fixture(scope="module")
def mug() -> Segmentation:
    """A wide mug, its handle out to the right: a clip stands it at the width cap, with no
    floor beside it for a prop."""
    photo, matte = Image.new("RGB", (1000, 760), (235, 235, 235)), Image.new("L", (1000, 760), 0)
    for im, fill, hole in ((photo, (40, 90, 140), (235, 235, 235)), (matte, 255, 0)):
        draw = ImageDraw.Draw(im)
        draw.rounded_rectangle((60, 40, 760, 720), 40, fill=fill)
        draw.ellipse((700, 180, 960, 560), fill=fill)
        draw.ellipse((760, 260, 890, 480), fill=hole)
    return Segmentation(image=photo, matte=matte, box=(60, 40, 900, 680), segmenter="exact")


@pytest.mark.parametrize("preset", ["story", "square"])
def test_a_product_as_wide_as_the_room_keeps_props_standing_behind_it(mug, stages, preset):
    # given parallax clips of a wide mug on every set with props: the move's room has no
    # floor beside the mug (nor on a podium's top face) for a prop of a readable size
    asked = stood = 0
    for theme in ("concrete", "marble_counter", "pastel_gradient", "wooden_table", "podium"):
        for seed in (0, 1):
            stages.clear()

            # when the clip is planned
            spec = small(style="parallax", preset=preset, size=_scaled(preset), duration=6, themes=(theme,))
            plan = plan_clip(mug, dataclasses.replace(spec, seed=seed))
            world, last = plan.worlds[0], stages[-1]
            x, y, w, h = world.geometry.product_box
            assert w >= 0.55 * world.size[0]
            asked += len(stages[0].variant.props)
            stood += len(world.props)

            # then the set keeps props: on a podium's top face beside the mug where there is
            # room, else on the floor behind the mug (and its podium) at the depth of their
            # foot with at least half of each in sight round the mug's box; whole in every
            # frame of the move, drawn before the mug (its pixels exact)
            assert world.props, (preset, theme, seed)
            pod = last.stage.podium
            for layer in world.props:
                placed = next(p for p in last.standing if p.body == layer.body)
                assert _whole(plan, layer)
                if layer.ratio == PODIUM_RATIO:  # on its top face, clear of the mug
                    assert pod is not None and pod.top - pod.ry < placed.base < pod.top + pod.ry
                    assert layer.body[2] <= x or layer.body[0] >= x + w
                    continue
                assert placed.base < y + h and layer.ratio < 1.0
                if pod is not None:
                    assert placed.base < pod.bottom - pod.ry
                ys, xs = np.nonzero(placed.cover > 0.01)
                px, py = xs + placed.origin[0], ys + placed.origin[1]
                hidden = (px >= x) & (px < x + w) & (py >= y)
                assert hidden.mean() <= 0.55
            assert (
                Compositor(plan).draw(math.ceil(plan.timeline.scenes_end * plan.spec.fps) - 1).max_abs_diff
                == 0
            )

    # and every prop asked for stands (none did: each was left out for want of room
    # beside; then the leaf, leaning, found no row behind at its depth's size: story 14 and
    # square 12 of 15)
    assert stood == asked


def _hidden_behind(plan, placed, ratio: float, box) -> tuple[float, float]:
    """The largest shares of a prop (a ``PropPlacement`` moving at depth ``ratio``) and of
    its foot (its lowest 15 %) that the product's box (world px, moving at depth 1) hides
    in any frame of the camera's move; a foot counts as hidden in the box's columns from a
    twentieth of its height above its top (standing on the product's top edge)."""
    ys, xs = np.nonzero(placed.cover > 0.01)
    weights = placed.cover[ys, xs]
    px, py = xs + placed.origin[0] + 0.5, ys + placed.origin[1] + 0.5
    foot = py >= placed.base - 0.15 * placed.height
    worst_all = worst_foot = 0.0
    for i in range(math.ceil(plan.timeline.scenes_end * plan.spec.fps)):
        depth = plan.state(i).layers[0].depth
        t = depth.at_ratio(ratio)
        qx, qy = t.scale * px + t.tx, t.scale * py + t.ty
        bx, by, bw, bh = depth.at_ratio(1.0).box(box)
        columns = (qx >= bx) & (qx < bx + bw)
        worst_all = max(worst_all, float(weights[columns & (qy >= by)].sum() / weights.sum()))
        on_top = columns & foot & (qy >= by - 0.05 * bh)
        worst_foot = max(worst_foot, float(weights[on_top].sum() / weights[foot].sum()))
    return worst_all, worst_foot


@pytest.mark.parametrize("preset", ["story", "square"])
def test_a_prop_behind_a_wide_product_stands_in_sight_beside_it_through_the_move(mug, stages, preset):
    # given parallax clips of a wide mug on every set with props (no floor beside the mug:
    # props stand on the floor behind it, and the camera's arc carries them sideways
    # against it, the further back the further)
    behind = 0
    for theme in ("concrete", "marble_counter", "pastel_gradient", "wooden_table", "podium"):
        stages.clear()
        spec = small(style="parallax", preset=preset, size=_scaled(preset), duration=6, themes=(theme,))
        plan = plan_clip(mug, spec)
        world, last = plan.worlds[0], stages[-1]
        assert len(world.props) == len(stages[0].variant.props)

        # when each prop standing behind it is followed through every frame of the move
        for layer in world.props:
            if layer.ratio == PODIUM_RATIO:
                continue
            placed = next(p for p in last.standing if p.body == layer.body)
            hidden, foot = _hidden_behind(plan, placed, layer.ratio, world.geometry.product_box)
            behind += 1

            # then in every frame at least half of it is in sight round the mug, and its
            # foot beside it: a leaf whose foot the mug hid, its leaves over the mug's top,
            # read as growing out of the mug (a story's marble and wooden sets: its foot
            # all hidden by the end of the move; a square's podium set: its sphere 0.71
            # hidden, its foot 0.83)
            assert hidden <= 0.52, (preset, theme, placed.shape, hidden)
            assert foot <= 0.52, (preset, theme, placed.shape, foot)
    assert behind >= 8


@pytest.mark.parametrize("style", ["pan", "push_in"])
def test_a_set_drawn_with_its_props_leaves_out_those_the_move_would_cut(bottle, monkeypatch, style):
    # given a 9:16 clip of the marble set whose props are drawn into it, and the same set
    # with every prop it stands
    spec = small(style=style, size=MID, duration=8, direction="right")
    plan = plan_clip(bottle, spec)
    monkeypatch.setattr(plan_module, "_cut_props", lambda *_: ())
    find = plan_module.studio_stage  # the scene's places: no room, whatever the plan asks
    monkeypatch.setattr(plan_module, "studio_stage", lambda *a, **k: find(*a, **{**k, "prop_room": None}))
    every = plan_clip(bottle, spec)
    cw, ch = plan.canvas

    # when each prop's body is followed through the move (the set's own transform)
    def inside(p, body) -> bool:
        x0, y0, x1, y1 = body
        for i in range(math.ceil(p.timeline.scenes_end * p.spec.fps)):
            bx, by, bw, _ = p.state(i).layers[0].transform.box((x0, y0, x1 - x0, y1 - y0))
            if bx < 0.02 * cw or bx + bw > 0.98 * cw or by < 0.02 * ch:
                return False
        return True

    # then the set is drawn with its props where the whole move sees them (moved in, or
    # shrunk, from where the frame's edge would cut them), none lost that stood whole
    kept = [k for k, _, body in plan.worlds[0].prop_bodies]
    assert all(inside(plan, body) for _, _, body in plan.worlds[0].prop_bodies)
    assert set(k for k, _, body in every.worlds[0].prop_bodies if inside(every, body)) <= set(kept)
    # the camera travels far enough to cut the cylinder where a scene stands it
    assert not all(inside(every, body) for _, _, body in every.worlds[0].prop_bodies)
    assert not np.array_equal(plan.worlds[0].plate, every.worlds[0].plate)


@pytest.mark.parametrize(("style", "fill"), [("parallax", 0.5), ("pan", None)])
def test_a_clip_s_set_is_drawn_once_with_its_props_where_the_move_sees_them(
    bottle, monkeypatch, style, fill, stages
):
    # given a 9:16 clip of the marble set whose move would cut a prop where a scene stands it
    # (parallax keeps props as layers, a pan draws them into the set)
    extra = {} if fill is None else {"fill": fill}
    spec = small(style=style, size=MID, duration=8, direction="right", **extra)
    draw = plan_module.studio_world
    drawn = []
    monkeypatch.setattr(plan_module, "studio_world", lambda *a, **k: drawn.append(k) or draw(*a, **k))

    # when the clip is planned
    plan = plan_clip(bottle, spec)

    # then where the set first stands its props the move cuts one, and the set is drawn
    # once, as found last: its props in the room the move leaves them
    first, last = stages[0], stages[-1]
    assert first.variant.room is None
    assert plan_module._cut_props(first.prop_bodies, 0, plan.timeline, plan.spec.fps)
    assert len(drawn) == 1 and drawn[0]["staged"] is last
    assert last.variant.room is not None
    assert plan.worlds[0].prop_bodies == last.prop_bodies
    if style == "pan":  # drawn into the set: none left that the move cuts
        assert not plan_module._cut_props(last.prop_bodies, 0, plan.timeline, plan.spec.fps)


@pytest.fixture(scope="module")
def marble_scene(bottle):
    """A studio scene of the marble set at 9:16 with a cylinder right of the product."""
    spec = SceneSpec(theme="marble_counter", width=MID[0], height=MID[1], seed=0, count=1)
    return StudioEngine(GenerationConfig()).render(bottle, spec)[0]


@pytest.fixture(scope="module")
def marble_scene_in_view(bottle):
    """The marble set at 9:16 (seed 1) with a cylinder that a parallax move keeps in view."""
    spec = SceneSpec(theme="marble_counter", width=MID[0], height=MID[1], seed=1, count=1)
    return StudioEngine(GenerationConfig()).render(bottle, spec)[0]


@pytest.mark.parametrize("style", ["pan", "parallax"])
def test_a_clip_from_a_studio_scene_knows_its_props_from_the_scenes_layout(
    bottle, marble_scene, marble_scene_in_view, style
):
    # given a studio scene, which carries its set's lines and props as data
    scene = marble_scene if style == "pan" else marble_scene_in_view
    layout = scene.meta["layout"]
    assert [p["index"] for p in layout["props"]] == [0]
    x0, y0, x1, y1 = (round(v) for v in layout["props"][0]["body"])

    # when a clip is made from the scene image (a pan right, which would cut the cylinder
    # with the frame's side; parallax, which keeps it in view)
    plan = plan_clip(bottle, small(style=style, size=MID, duration=8, direction="right"), scenes=[scene])
    world = plan.worlds[0]
    picture = np.asarray(scene.image.convert("RGB"), dtype=np.float64)
    # the world is the picture run on past its edges (``overscan``), here in the picture's pixels
    left, top = world.meta.get("overscan", (0, 0))[:2]
    plate = world.plate[top : top + MID[1], left : left + MID[0], :3].astype(np.float64)
    changed = float(np.abs(plate[y0:y1, x0:x1] - picture[y0:y1, x0:x1]).mean())

    # then the world stands on the scene's floor, and knows the prop: the pan fills it out
    # of the picture (it is gone: the set's floor, grain and all, where it stood), parallax
    # keeps it as its own layer at the depth of its foot, over the picture without it
    assert world.geometry.horizon == pytest.approx(layout["horizon"] + top)
    if style == "pan":
        assert world.prop_bodies == () and world.props == ()
        assert changed > 20.0
        floor = plate[y1 + 30 : y1 + 60, x0:x1]
        filled = plate[(y0 + y1) // 2 : (y0 + y1) // 2 + 30, x0:x1]
        assert abs(filled.mean() - floor.mean()) < 12.0
        assert (
            0.5
            < (filled - cv2.GaussianBlur(filled, (0, 0), 1.5)).std()
            / (floor - cv2.GaussianBlur(floor, (0, 0), 1.5)).std()
            < 2.0
        )
    else:
        assert [k for k, _, _ in world.prop_bodies] == [0] and len(world.props) == 1
        # the picture itself, but where the product's shadows fall: they are drawn apart
        # from it (they move with the product), the set built again without them there
        shaded = np.zeros(MID[::-1], dtype=bool)
        ex, ey = world.effect.origin
        eh, ew = world.effect.ratio.shape[:2]
        shaded[ey : ey + eh, ex : ex + ew] = np.abs(world.effect.ratio[..., :3] - 1.0).max(axis=2) > 0.0019
        unshaded = ~shaded[y0:y1, x0:x1]
        assert unshaded.mean() > 0.5
        assert np.array_equal(plate[y0:y1, x0:x1][unshaded], picture[y0:y1, x0:x1][unshaded])
        foot = round(layout["props"][0]["base"]) - 1 + top
        assert world.props[0].ratio == pytest.approx(float(world.depth_ratio[foot]))
        bare = world.bare[top : top + MID[1], left : left + MID[0], :3].astype(np.float64)
        assert float(np.abs(bare[y0:y1, x0:x1] - picture[y0:y1, x0:x1]).mean()) > 20.0
        # and the layer is whole through the move
        cw, ch = plan.canvas
        extents = _prop_extents(plan, world.props[0])
        assert all(
            left >= 0.02 * cw and right <= 0.98 * cw and top >= 0.02 * ch for left, right, top, _ in extents
        )


def test_a_prop_filled_out_of_a_studio_scene_leaves_the_set_itself_veins_and_all(bottle, marble_scene):
    # given the marble scene with a cylinder, and the same set drawn without any prop (the
    # engine's own stage, look and grain for that theme, seed and product)
    from generation import compose
    from generation.sets import (
        estimate_foot_ratio,
        estimate_light_side,
        plan_variant,
        render_set,
        stage_for_product,
    )

    cut = bottle.cutout
    variant = plan_variant(
        "marble_counter", 0, light_side=estimate_light_side(cut), foot_ratio=estimate_foot_ratio(cut)
    )
    fill = SceneSpec(theme="marble_counter").fill
    stage = stage_for_product("marble_counter", cut.size, MID, fill=fill, seed=0, variant=variant)
    placed = compose.place_product(cut, MID, stage.box)
    bare = dataclasses.replace(variant, props=())
    truth = render_set("marble_counter", placed, stage=stage, seed=0, variant=bare)
    x0, y0, x1, y1 = (round(v) for v in marble_scene.meta["layout"]["props"][0]["body"])

    # when a pan that would cut the cylinder fills it out of the picture
    plan = plan_clip(
        bottle, small(style="pan", size=MID, duration=8, direction="right"), scenes=[marble_scene]
    )
    left, top = plan.worlds[0].meta.get("overscan", (0, 0))[:2]
    # (with the product's shadows, which are drawn apart from the picture and move with it)
    plate = plan.worlds[0].dressed[top : top + MID[1], left : left + MID[0], :3].astype(np.float64)

    # then where it stood, and on the floor beside it where its shadow fell, the set
    # is what it is without the prop (the marble's veins run on, no smudge is left)
    assert plan.worlds[0].prop_bodies == ()
    body = (slice(y0, y1), slice(x0, x1))
    beside = (slice(y1 - (y1 - y0) // 3, y1 + 4), slice(x1, min(x1 + (x1 - x0) // 2, MID[0])))
    assert np.abs(plate[body] - truth[body]).mean() < 1.0
    assert np.abs(plate[beside] - truth[beside]).mean() < 1.0


def test_a_wall_arch_moves_whole_with_the_wall_its_foot_not_sheared_by_the_floor(bottle, stages):
    # given a story parallax clip of the podium set, whose wall arch reaches a little below
    # the horizon onto the floor (its foot), late in the move (without the product's
    # shadow)
    from generation.sets.look import Look, resolve_brand, resolve_theme
    from generation.sets.pieces import arch_foot, arch_geometry

    plan = plan_clip(
        bottle, small(style="parallax", size=MID, duration=8, direction="left", themes=("podium",), seed=1)
    )
    plan = copy.copy(plan)
    world = plan.worlds[0] = dataclasses.replace(plan.worlds[0], effect=None)
    staged = stages[-1]
    theme = resolve_theme("podium")
    look = Look.make(theme, resolve_brand(None, theme), 1, staged.variant)
    cx, r, _, bottom = arch_geometry(look, staged.stage, world.size)
    assert bottom == arch_foot(staged.stage.horizon, staged.stage.contact) > staged.stage.horizon + 20
    index = plan.frame_count - 1
    frame = Compositor(plan).background(index)

    # when the set (without its props) is placed whole by the wall's transform
    depth = plan.state(index).layers[0].depth
    wall = depth.at_ratio(float(world.depth_ratio[0]))
    cw, ch = plan.canvas
    rigid = cv2.warpAffine(
        world.bare, wall.matrix(), (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )

    # then round each of the arch's sides that is in the picture, from above the horizon
    # down to its foot, the frame shows exactly that (the arch's edge does not step at the
    # horizon, its foot shows no notch)
    _, top_row = wall.point(cx, staged.stage.horizon - 30)
    _, foot_row = wall.point(cx, bottom + 1)
    sides = 0
    for edge in (cx - r, cx + r):
        x, _ = wall.point(edge, bottom)
        if not 2 <= x < cw - 2:
            continue
        sides += 1
        window = (
            slice(math.floor(top_row), math.ceil(foot_row) + 1),
            slice(max(round(x) - 10, 0), round(x) + 10),
        )
        got, want = frame[window][..., :3].astype(int), rigid[window][..., :3].astype(int)
        assert np.abs(got - want).max() <= 2
    assert sides >= 1


def test_a_clip_from_a_podium_scene_moves_its_wall_arch_whole_with_the_wall(bottle):
    # given a studio scene of the podium set (its wall arch painted into the picture, its
    # foot a little below the floor's horizon in the scene's layout)
    from generation.sets.pieces import arch_foot

    spec = SceneSpec(theme="podium", width=MID[0], height=MID[1], seed=1, count=1)
    scene = StudioEngine(GenerationConfig()).render(bottle, spec)[0]
    horizon, contact = scene.meta["layout"]["horizon"], scene.meta["layout"]["contact"]
    foot = arch_foot(horizon, contact)

    # when a parallax clip is made from the scene image
    plan = plan_clip(bottle, small(style="parallax", size=MID, duration=8, direction="left"), scenes=[scene])
    world = plan.worlds[0]

    # then every world row down to the arch's foot moves at the wall's rate (the foot's
    # rows moved at the floor's, 0.31 against the wall's 0.22: its sides stepped 4.5 px
    # at the horizon in the last frame), and the floor comes forward from there
    rows = np.arange(world.depth_ratio.shape[0]) + 0.5
    wall = float(world.depth_ratio[0])
    assert foot > horizon + 20
    assert np.all(world.depth_ratio[rows <= foot + 1.0] == wall)
    assert world.depth_ratio[int(foot) + 4] > wall
    assert world.depth_ratio[int(contact)] == pytest.approx(1.0, abs=0.01)
