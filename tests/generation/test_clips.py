"""Product clips: decoded back with PyAV, product pixels checked on every frame before
encoding and by PSNR after, motion, determinism, memory, the CLI and the diffusion option.

Most clips are 270x480, 5 s at 30 fps (the shortest a preset allows) on a synthetic
bottle saved as JPEG (as merchants upload) with a soft-edged matte.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from generation.clips import ClipSpec, get_preset, plan_clip, preset_names, render_clip, write_clip
from generation.clips.motion import Similarity, covers, ease_in_out_cubic
from generation.clips.product import make_master, paste_product, reference_product
from generation.errors import GenerationError, InvalidSpec, ModelUnavailable
from generation.safe_zones import safe_box
from generation.types import Segmentation
from tests.generation.tiny_models import build_svd
from tests.synthetic import jpeg_segmentation, product_photo

REPO = Path(__file__).resolve().parents[2]
SMALL = (270, 480)


def _segmentation(size: tuple[int, int] = (640, 800)) -> Segmentation:
    # a soft edge, like a real matte: exercises the blended (not copied) edge pixels
    return jpeg_segmentation(size, soften=1.2)


@pytest.fixture(scope="module")
def bottle() -> Segmentation:
    return _segmentation()


def small(**kwargs) -> ClipSpec:
    values = {"size": SMALL, "duration": 5, "preset": "story", "themes": ("marble_counter",)}
    values.update(kwargs)
    return ClipSpec(**values)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _psnr(got: np.ndarray, want: np.ndarray) -> float:
    mse = float(((got.astype(np.float64) - want.astype(np.float64)) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


class FrameLog:
    """A frame hook: checks each frame against an independently recomputed reference
    and keeps what later assertions need (hashes, sampled references)."""

    def __init__(self, plan, keep_every: int = 1) -> None:
        self.plan = plan
        self.keep_every = keep_every
        self.worst = 0
        self.min_opaque: int | None = None
        self.hashes: list[str] = []
        self.references: dict[int, object] = {}

    def __call__(self, frame) -> None:
        plan = self.plan
        # the reference, from the timeline and the master, not from what the renderer kept
        transform = plan.product_transform(frame.index)
        ref = reference_product(plan.master, transform, plan.canvas)
        x, y, w, h = ref.box
        opaque = ref.pixels[..., 3] == 255
        got = frame.image[y : y + h, x : x + w][opaque]
        want = ref.pixels[..., :3][opaque]
        self.worst = max(self.worst, int(np.abs(got.astype(int) - want).max()))
        self.min_opaque = (
            int(opaque.sum()) if self.min_opaque is None else min(self.min_opaque, int(opaque.sum()))
        )
        self.hashes.append(hashlib.sha256(frame.image.tobytes()).hexdigest())
        if frame.index % self.keep_every == 0:
            self.references[frame.index] = ref


def _render(seg, spec, out: Path, **kwargs):
    plan = plan_clip(
        seg, spec, **{k: v for k, v in kwargs.items() if k in ("scenes", "logo", "motion_model")}
    )
    log = FrameLog(plan, keep_every=kwargs.get("keep_every", 10))
    result = write_clip(plan, out, frame_hook=log)
    return plan, log, result


@pytest.fixture(scope="module")
def push_in(bottle, tmp_path_factory):
    out = tmp_path_factory.mktemp("push_in") / "bottle.mp4"
    spec = small(
        style="push_in", headline="Fresh hand wash", price="24.90", cta="Shop now", webm=True, preview=True
    )
    return _render(bottle, spec, out)


# -- the MP4 -----------------------------------------------------------------------


def test_clip_decodes_as_h264_at_the_spec_size_rate_duration_and_frame_count(push_in):
    # given a 5 s push-in at 270x480
    _, _, result = push_in

    # when the file is read back with PyAV
    with av.open(str(result.path)) as container:
        stream = container.streams.video[0]
        frames = [f for f in container.decode(stream)]
        codec, pix_fmt = stream.codec_context.name, stream.codec_context.format.name
        rate = stream.average_rate
        duration = container.duration / 1_000_000
        colorspace = stream.codec_context.colorspace

    # then
    assert codec == "h264" and pix_fmt == "yuv420p"
    assert (frames[0].width, frames[0].height) == SMALL
    assert rate == Fraction(30)
    assert len(frames) == 150
    assert duration == pytest.approx(5.0, abs=1e-3)
    assert colorspace == 1  # tagged BT.709
    assert (result.codec, result.width, result.height, result.fps, result.frame_count) == (
        "h264",
        270,
        480,
        30,
        150,
    )
    assert result.duration == 5.0
    assert result.size_bytes == result.path.stat().st_size


def test_mp4_has_its_index_first_for_fast_start(push_in):
    # given the clip's bytes
    data = push_in[2].path.read_bytes()

    # then the moov atom comes before the media data (movflags=+faststart)
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_product_equals_its_reference_resampling_on_every_frame_before_encoding(push_in):
    # given the frames the hook saw before each was encoded
    _, log, result = push_in

    # then every frame's opaque product pixels are exactly the reference's
    assert len(log.hashes) == 150
    assert log.worst == 0
    # (the end card's product is the smallest: 4600 px at 270x480 since the card keeps room
    # under its button for the button's rise; 5334 before)
    assert log.min_opaque > 4300
    assert result.fidelity.max_abs_diff == 0
    assert result.fidelity.frames_checked == 150
    assert result.fidelity.min_opaque_pixels == log.min_opaque


@pytest.fixture(scope="module")
def quarter_story(bottle, tmp_path_factory):
    # a quarter of a story's area: at 270x480 the bottle is 95 px wide and 4:2:0 chroma
    # alone (no encoding) costs it ~40 dB; delivery sizes are at least this large
    out = tmp_path_factory.mktemp("quarter") / "bottle.mp4"
    spec = small(
        size=(540, 960),
        style="push_in",
        headline="Fresh hand wash",
        price="24.90",
        poster=False,
        end_card=False,  # the end card shows the product smaller than this size assumes
    )
    return _render(bottle, spec, out)


def test_product_survives_encoding_at_38_db_or_better(quarter_story):
    # given references kept for every 10th frame of a 540x960 clip
    _, log, result = quarter_story

    # when the MP4 is decoded
    psnrs = []
    with av.open(str(result.path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            ref = log.references.get(index)
            if ref is None:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            x, y, w, h = ref.box
            opaque = ref.pixels[..., 3] == 255
            psnrs.append(_psnr(rgb[y : y + h, x : x + w][opaque], ref.pixels[..., :3][opaque]))

    # then the product region stays at or above 38 dB in every sampled frame
    assert len(psnrs) == 15
    assert min(psnrs) >= 38.0, psnrs
    assert result.fidelity.encoded_psnr_db >= 38.0


def test_extra_outputs_are_a_vp9_webm_a_small_animated_webp_and_a_jpeg_poster(push_in):
    # given the push-in asked for webm and preview (the poster is on by default)
    _, _, result = push_in

    # then
    assert _files(result.path.parent) == [
        "bottle.mp4",
        "bottle.webm",
        "bottle_poster.jpg",
        "bottle_preview.webp",
    ]
    with av.open(str(result.webm)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert stream.codec_context.name == "vp9"
        assert (stream.codec_context.width, stream.codec_context.height) == SMALL
    assert frames == 150
    with Image.open(result.preview) as preview:
        assert preview.format == "WEBP" and preview.is_animated
        assert preview.size == (240, 427)
        assert 10 <= preview.n_frames <= 75
    with Image.open(result.poster) as poster:
        assert poster.format == "JPEG" and poster.size == SMALL


def test_text_stays_clear_of_the_product(push_in):
    # given the plan's sprites and where the product goes during the clip
    plan, _, _ = push_in
    assert set(plan.sprites) == {"headline", "title", "price", "cta"}  # the last three: the end card

    # then no sprite shown in a frame overlaps the product's box in that frame
    for index in range(0, plan.frame_count, 5):
        px, py, pw, ph = plan.product_transform(index).box((0, 0, *map(float, plan.master.size)))
        for text in plan.state(index).texts:
            sprite = plan.sprites[text.key]
            sx, sy, sw, sh = sprite.box
            sy += text.dy
            assert sy + sh <= py or sy >= py + ph or sx + sw <= px or sx >= px + pw, (index, sprite.key)


# -- the reference resampling ---------------------------------------------------------


def _bilinear(
    master: np.ndarray, t: Similarity, origin: tuple[int, int], size: tuple[int, int]
) -> np.ndarray:
    """An independent bilinear resampling (float, numpy) of premultiplied ``master``."""
    w, h = size
    u = np.arange(w) + origin[0] + 0.5
    v = np.arange(h) + origin[1] + 0.5
    sx = (u - t.tx) / t.scale - 0.5
    sy = (v - t.ty) / t.scale - 0.5
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    fx, fy = (sx - x0)[None, :, None], (sy - y0)[:, None, None]
    pad = np.pad(master.astype(np.float64), ((1, 2), (1, 2), (0, 0)))

    def at(yy, xx):
        return pad[np.clip(yy + 1, 0, pad.shape[0] - 1)][:, np.clip(xx + 1, 0, pad.shape[1] - 1)]

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def test_reference_at_scale_one_and_whole_pixels_is_the_master_itself(bottle):
    # given the master and a transform that only moves it by whole pixels
    master = make_master(bottle.cutout, 150)
    t = Similarity(1.0, 40.0, 25.0)

    # when
    ref = reference_product(master, t, (400, 600))

    # then the reference is the master's bytes, where they land
    assert ref.origin == (40, 25)
    assert np.array_equal(ref.pixels, master.premultiplied)
    opaque = master.rgba[..., 3] == 255
    assert np.array_equal(ref.pixels[..., :3][opaque], master.rgba[..., :3][opaque])


def test_reference_is_a_plain_scale_and_subpixel_shift_of_the_master(bottle):
    # given a scale below one and a fractional offset
    master = make_master(bottle.cutout, 150)
    t = Similarity(0.8731, 33.37, 51.61)

    # when
    ref = reference_product(master, t, (400, 600))
    independent = _bilinear(master.premultiplied, t, ref.origin, ref.pixels.shape[1::-1])

    # then it matches an independent bilinear resampling (OpenCV rounds positions to 1/32 px)
    assert np.abs(ref.pixels.astype(np.float64) - independent).max() <= 2.0
    # and nothing is enlarged: a scale above one is refused
    with pytest.raises(InvalidSpec):
        reference_product(master, Similarity(1.01, 0, 0), (400, 600))


def test_paste_copies_opaque_pixels_and_blends_soft_ones(bottle):
    # given a busy background and a reference with soft edges
    master = make_master(bottle.cutout, 120)
    ref = reference_product(master, Similarity(0.9, 10.3, 12.7), (200, 300))
    frame = np.random.default_rng(1).integers(0, 256, (300, 200, 3), dtype=np.uint8)
    before = frame.copy()

    # when
    paste_product(frame, ref)

    # then opaque pixels are the reference's, transparent ones untouched, soft ones between
    x, y, w, h = ref.box
    region, old = frame[y : y + h, x : x + w], before[y : y + h, x : x + w]
    alpha = ref.pixels[..., 3]
    assert np.array_equal(region[alpha == 255], ref.pixels[..., :3][alpha == 255])
    assert np.array_equal(region[alpha == 0], old[alpha == 0])
    soft = (alpha > 0) & (alpha < 255)
    assert soft.sum() > 50
    expected = ref.pixels[..., :3][soft] + old[soft].astype(np.float64) * (255 - alpha[soft, None]) / 255
    assert np.abs(region[soft] - expected).max() <= 1.0
    outside = np.ones(frame.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    assert np.array_equal(frame[outside], before[outside])


# -- motion ------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["push_in", "pull_out", "pan"])
def test_product_never_moves_against_the_world_it_stands_in(bottle, style):
    # given a single-scene camera move
    plan = plan_clip(bottle, small(style=style))
    box = (0.0, 0.0, *map(float, plan.master.size))
    world_box = plan.worlds[0].geometry.product_box
    landed = math.ceil(plan.timeline.reveal_end * plan.spec.fps)

    # (over the first beat it drops onto its set: test_clip_motion.py)
    for index in range(landed, plan.frame_count):
        # when the product's box is mapped back into the world through the world's transform
        state = plan.state(index)
        (layer,) = state.layers
        back = layer.transform.inverse().box(plan.product_transform(index).box(box))

        # then it is where the world put the product, in every frame (no jitter)
        assert np.allclose(back[:2], world_box[:2], atol=1e-6) and back[2] == pytest.approx(world_box[2])


@pytest.mark.parametrize(("direction", "sign"), [("right", -1), ("left", 1)])
def test_pan_travels_the_way_asked_and_keeps_the_world_over_the_whole_frame(bottle, direction, sign):
    # given a pan
    plan = plan_clip(bottle, small(style="pan", direction=direction))
    world = plan.worlds[0]

    # when the camera travels: the content moves the other way
    shift = plan.product_transform(plan.frame_count - 1).tx - plan.product_transform(0).tx

    # then by a visible amount, and the world covers the frame all along (no border)
    assert sign * shift > 0.05 * SMALL[0]
    for index in range(0, plan.frame_count, 5):
        assert covers(plan.state(index).layers[0].transform, world.size, plan.canvas)


def test_parallax_moves_the_wall_against_the_product_and_keeps_its_floor(bottle):
    # given a parallax clip
    plan = plan_clip(bottle, small(style="parallax", direction="right"))
    world = plan.worlds[0]
    first, last = plan.state(0).layers[0].depth, plan.state(plan.frame_count - 1).layers[0].depth

    # when the product's centre and a point of the wall (depth ratio of the top row) travel
    box = (0.0, 0.0, *map(float, plan.master.size))
    x0, _, w0, _ = plan.product_transform(0).box(box)
    x1, _, w1, _ = plan.product_transform(plan.frame_count - 1).box(box)
    product_dx = (x1 + w1 / 2) - (x0 + w0 / 2)
    wall = float(world.depth_ratio[0])
    point = first.at_ratio(wall).inverse().point(plan.canvas[0] / 2, 0.0)
    wall_dx = last.at_ratio(wall).point(*point)[0] - plan.canvas[0] / 2

    # then the camera arcs around the product: the wall drifts against the camera (right),
    # clearly, while the product, riding the depth-1 floor, hardly moves
    assert wall_dx > 0.04 * plan.canvas[0]
    assert abs(product_dx) < 0.3 * wall_dx
    for index in (math.ceil(plan.timeline.reveal_end * 30), 75, 149):
        depth = plan.state(index).layers[0].depth
        floor = depth.at_ratio(1.0)
        back = floor.inverse().box(plan.product_transform(index).box((0, 0, *map(float, plan.master.size))))
        assert np.allclose(back[:2], world.geometry.product_box[:2], atol=1e-6)


def test_motion_is_eased_and_smooth(bottle):
    # given the product's scale over a push-in
    plan = plan_clip(bottle, small(style="push_in"))
    scales = np.array([plan.product_transform(i).scale for i in range(plan.frame_count)])
    steps = np.diff(scales)

    # then it only grows, starts and ends at rest, and never jerks
    assert (steps > 0).all()
    assert steps[0] < 0.05 * steps.max() and steps[-1] < 0.05 * steps.max()
    assert np.abs(np.diff(steps)).max() < 0.05 * steps.max()
    assert ease_in_out_cubic(0.0) == 0.0 and ease_in_out_cubic(1.0) == 1.0 and ease_in_out_cubic(0.5) == 0.5


# -- sequences and the end card ---------------------------------------------------------


@pytest.mark.parametrize("transition", ["crossfade", "slide", "cut"])
def test_sequence_joins_scenes_around_a_locked_product_and_ends_on_a_card(bottle, tmp_path, transition):
    # given two themes, a price and a CTA (so an end card)
    spec = small(
        style="sequence",
        duration=6,
        themes=("marble_counter", "podium"),
        transition=transition,
        price="24.90",
        cta="Shop now",
        headline="Fresh hand wash",
        brand_color=(40, 90, 70),
        poster=False,
    )

    # when
    plan, log, result = _render(bottle, spec, tmp_path / "seq.mp4")

    # then every frame holds the product exactly, across transitions and the end card
    assert log.worst == 0 and result.fidelity.max_abs_diff == 0
    assert [w.source for w in plan.worlds] == ["studio", "studio", "end_card"]
    assert plan.meta["end_card"] is True
    # the world changes at the boundary: mid-transition both scenes are on screen
    boundary = plan.timeline.boundaries[0]
    mid = plan.state(round(boundary * 30))
    before = plan.state(round(boundary * 30) - 1)
    if transition == "cut":
        assert [layer.world for layer in before.layers] == [0]
        assert [layer.world for layer in mid.layers] == [1]
    else:
        assert [layer.world for layer in mid.layers] == [0, 1]
    if transition == "crossfade":
        assert 0.2 < mid.layers[1].opacity < 0.8
    if transition == "slide":
        assert mid.layers[1].columns[0] > 0 and mid.layers[0].columns == (0, mid.layers[1].columns[0])
    # every scene covers the whole frame while it is on screen (no border shows)
    for index in range(0, plan.frame_count, 5):
        for layer in plan.state(index).layers:
            if layer.world < 2 and layer.columns is None:
                assert covers(layer.transform, plan.worlds[layer.world].size, plan.canvas), index
    # the last frame is the end card alone, with the headline again, price and CTA
    last = plan.state(plan.frame_count - 1)
    assert [layer.world for layer in last.layers] == [2]
    assert {t.key for t in last.texts if t.opacity == 1.0} == {"title", "price", "cta"}
    assert result.meta["scenes"] == ["scene-marble_counter", "scene-podium"]
    assert result.meta["theme"] == ["marble_counter", "podium"]


def test_a_logo_takes_the_headline_s_place_on_the_end_card(bottle):
    # given a logo: a red disc on transparency
    logo = Image.new("RGBA", (200, 80), (0, 0, 0, 0))
    ImageDraw.Draw(logo).ellipse((60, 0, 140, 80), fill=(200, 20, 30, 255))
    spec = small(style="sequence", themes=("studio_sweep", "concrete"), headline="Fresh", cta="Shop now")

    # when
    plan = plan_clip(bottle, spec, logo=logo)
    *_, last = plan.frames()

    # then the card shows the logo (and no second headline), the scenes the headline
    assert set(plan.sprites) == {"headline", "logo", "cta"}
    x, y, w, h = plan.sprites["logo"].box
    patch = last.image[y : y + h, x : x + w].reshape(-1, 3).astype(int)
    assert ((patch[:, 0] > 150) & (patch[:, 1] < 80) & (patch[:, 2] < 90)).sum() > 0.3 * w * h
    assert last.max_abs_diff == 0


def test_too_many_scenes_for_the_duration_is_refused_before_any_work(bottle, tmp_path):
    # given six themes in five seconds with an end card
    spec = small(style="sequence", themes=("studio_sweep",) * 6, price="9")

    # when / then
    with pytest.raises(InvalidSpec, match="at least"):
        render_clip(bottle, spec, tmp_path / "x.mp4")
    assert _files(tmp_path) == []


def test_a_finished_scene_image_can_be_the_world(bottle, tmp_path):
    # given a studio scene image rendered separately (e.g. chosen by the merchant)
    from generation.config import GenerationConfig
    from generation.engines.studio import StudioEngine
    from generation.specs import SceneSpec

    scene = StudioEngine(GenerationConfig()).render(
        bottle, SceneSpec(theme="concrete", width=400, height=720)
    )[0]

    # when it is the clip's scene (a story, whose UI covers where the scene stood the
    # product's foot)
    spec = small(style="parallax", headline="Stays cold for 24 hours")
    _, sy, _, sh = safe_box(SMALL, spec.safe_insets)
    assert (scene.product_box[1] + scene.product_box[3]) / 720 > (sy + sh) / SMALL[1]
    plan, log, result = _render(bottle, spec, tmp_path / "scene.mp4", scenes=[scene])

    # then the product is exact in every frame (the same bytes as its reference warp) and
    # stands at rest where the clip's layout puts it, the scene framed round it and run on
    # past its foot, so it is clear of the UI in every frame
    assert log.worst == 0 and result.fidelity.identical
    world = plan.worlds[0]
    assert world.source == "scene" and world.meta["overscan"][3] > 0
    assert np.allclose(plan.timeline.rest_box, plan.timeline.layout.rest_box)
    rest = plan.timeline.rest.box(world.geometry.product_box)
    assert np.allclose(plan.timeline.rest_box, rest)
    mw, mh = plan.master.size
    for i in range(plan.frame_count):
        x, y, w, h = plan.product_transform(i).box((0.0, 0.0, float(mw), float(mh)))
        assert y + h <= sy + sh + 0.5, i
    # the scene's own pixels are in the world as they were, beside the product
    left, top = world.meta["overscan"][:2]
    picture = world.plate[top : top + 720, left : left + 400, :3]
    far = np.asarray(scene.image.convert("RGB"))[:40]
    assert np.array_equal(picture[:40], far)


def test_a_square_studio_scene_is_built_again_at_the_clip_s_shape_so_a_wide_product_stays_whole():
    # given a wide product (a mug on its side of the set) and the square studio scenes a job
    # makes before its clip, one of them filling the square with it
    from generation.config import GenerationConfig
    from generation.engines.studio import StudioEngine
    from generation.specs import SceneSpec

    photo, mask = Image.new("RGB", (800, 500), (236, 236, 238)), Image.new("L", (800, 500), 0)
    for im, fill in ((photo, (40, 120, 130)), (mask, 255)):
        ImageDraw.Draw(im).rounded_rectangle((100, 120, 700, 420), radius=30, fill=fill)
    wide = Segmentation(image=photo, matte=mask, box=(100, 120, 601, 301), segmenter="exact")
    made = StudioEngine(GenerationConfig()).render(
        wide, SceneSpec(theme="marble_counter", count=4, width=480, height=480, seed=3)
    )
    for scene in made:
        # when a 9:16 push-in is planned on it
        plan = plan_clip(wide, small(style="push_in"), scenes=[scene])

        # then the product is whole in the frame throughout: the set was built again at the
        # clip's shape with the scene's theme and seed, not the square cropped to 9:16
        mw, mh = plan.master.size
        for i in range(0, plan.timeline.spec.frame_count, 5):
            x, y, w, h = plan.product_transform(i).box((0, 0, mw, mh))
            assert x >= 0 and y >= 0 and x + w <= SMALL[0] and y + h <= SMALL[1], (scene.name, i)
        world = plan.worlds[0]
        assert (world.name, world.theme, world.seed) == (scene.name, "marble_counter", scene.meta["seed"])
        assert world.source == "studio"


def test_a_single_scene_style_given_several_scenes_uses_the_first(bottle):
    # given two finished scenes (a request that made variants)
    from generation.config import GenerationConfig
    from generation.engines.studio import StudioEngine
    from generation.specs import SceneSpec

    made = StudioEngine(GenerationConfig()).render(
        bottle, SceneSpec(theme="concrete", count=2, width=300, height=540)
    )

    # when a push-in is planned on them
    plan = plan_clip(bottle, small(style="push_in"), scenes=made)

    # then it plays the first
    assert [w.name for w in plan.worlds] == [made[0].name]


def test_studio_world_is_the_engine_s_scene_with_the_shadow_as_its_own_layer(bottle):
    # given the studio engine's scene and the clip's world of the same theme, seed and size
    from generation.clips.worlds import _alpha_on_canvas, studio_world
    from generation.config import GenerationConfig
    from generation.engines.studio import StudioEngine
    from generation.specs import SceneSpec

    spec = SceneSpec(theme="marble_counter", seed=4, width=320, height=568, fill=0.5)
    scene = StudioEngine(GenerationConfig()).render(bottle, spec)[0]

    # when
    world = studio_world(bottle, theme="marble_counter", seed=4, size=(320, 568), fill=0.5, brand_color=None)

    # then behind the product it is the engine's scene, shadow included...
    assert world.geometry.product_box == tuple(map(float, scene.product_box))
    clear = _alpha_on_canvas(bottle, (320, 568), scene.product_box) == 0
    shot = np.asarray(scene.image)
    assert np.abs(world.dressed[..., :3][clear].astype(int) - shot[clear]).max() <= 1
    # ...while the plate has no shadow: under the product's foot it is lighter
    x, y, w, h = scene.product_box
    foot = (slice(y + h + 1, y + h + 6), slice(x + w // 4, x + 3 * w // 4))
    assert world.plate[foot][..., :3].mean() > world.dressed[foot][..., :3].mean() + 8
    assert world.effect is not None and world.effect.ratio.min() < 0.8


def test_parallax_depth_follows_a_depth_map_when_one_is_given():
    from generation.clips.worlds import depth_ratios_from_disparity

    # given a disparity map growing down the frame (a floor coming nearer)
    disparity = np.tile(np.linspace(40, 240, 100, dtype=np.float32)[:, None], (1, 60))

    # when the product's foot is at row 70
    ratio = depth_ratios_from_disparity(disparity, 70, wall=0.35, front=1.5)

    # then the foot moves with the product, rows above slower, rows below faster
    assert ratio[69] == pytest.approx(1.0)
    assert ratio[10] < 0.5 and ratio[99] > 1.0
    assert (np.diff(ratio) >= 0).all() and ratio.min() >= 0.35 and ratio.max() <= 1.5


def test_a_configured_depth_model_is_skipped_when_controlnet_aux_cannot_be_imported(bottle):
    from generation.clips.worlds import estimated_depth_ratios
    from generation.config import GenerationConfig
    from generation.models import import_controlnet_aux

    if import_controlnet_aux() is not None:
        pytest.skip("controlnet-aux is importable here; this checks the fallback without it")
    # given a depth estimator named in the configuration
    config = GenerationConfig(depth_estimator="lllyasviel/Annotators")

    # when a parallax clip is planned
    plan = plan_clip(bottle, small(style="parallax"), config=config)

    # then the ground-plane model is used and nothing was loaded
    assert estimated_depth_ratios(plan.worlds[0], config, wall=0.35, front=1.5) is None
    assert "depth" not in plan.worlds[0].meta


# -- determinism --------------------------------------------------------------------------


def test_same_spec_and_seed_give_identical_frames_and_another_seed_does_not(bottle):
    # given
    spec = small(style="parallax", headline="Fresh hand wash", seed=7)

    # when the frames are drawn twice, and once with another seed
    def hashes(s):
        plan = plan_clip(bottle, s)
        return [hashlib.sha256(f.image.tobytes()).hexdigest() for f in plan.frames()]

    first, second = hashes(spec), hashes(spec)
    other = hashes(small(style="parallax", headline="Fresh hand wash", seed=8))

    # then
    assert first == second
    assert len(first) == 150 and len(set(first)) > 100  # and the frames do change
    assert other != first


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration": 4.9}, "duration must be 5..15 s"),
        ({"duration": 15.5}, "duration must be 5..15 s"),
        ({"preset": "snapchat"}, "unknown clip preset 'snapchat'"),
        ({"size": (271, 480)}, "must be even"),
        ({"size": (100, 480)}, "128..3840"),
        ({"style": "zoom"}, "unknown clip style"),
        ({"themes": ("podium", "concrete")}, "use style 'sequence'"),
        ({"price": "abc"}, "price must be a number"),
        ({"transition": "wipe"}, "unknown transition"),
    ],
)
def test_invalid_specs_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(InvalidSpec, match=message):
        small(**kwargs)


def test_unknown_theme_is_refused_and_nothing_is_written(bottle, tmp_path):
    # when
    with pytest.raises(InvalidSpec, match="unknown theme 'volcano'"):
        render_clip(bottle, small(themes=("volcano",)), tmp_path / "out" / "x.mp4")

    # then not even the folder was made
    assert not (tmp_path / "out").exists()


def test_an_error_midway_leaves_no_file_behind(bottle, tmp_path):
    # given a hook that fails on frame 60, after encoding has started
    def hook(frame):
        if frame.index == 60:
            raise RuntimeError("disk gone")

    # when
    with pytest.raises(RuntimeError, match="disk gone"):
        render_clip(bottle, small(webm=True, preview=True), tmp_path / "x.mp4", frame_hook=hook)

    # then no clip, no extras and no temporary files remain
    assert _files(tmp_path) == []


def test_presets_are_data_with_the_platform_sizes():
    # then
    sizes = {name: (get_preset(name).width, get_preset(name).height) for name in preset_names()}
    assert sizes == {
        "story": (1080, 1920),
        "reel": (1080, 1920),
        "tiktok": (1080, 1920),
        "douyin": (1080, 1920),
        "square": (1080, 1080),
        "portrait": (1080, 1350),
        "landscape": (1920, 1080),
    }
    assert all(
        15 <= get_preset(name).crf <= 28 and get_preset(name).maxrate_kbps > 0 for name in preset_names()
    )
    assert ClipSpec(preset="landscape").fps == 30


# -- the CLI --------------------------------------------------------------------------------


def run_cli(*args, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "generation.clips.cli", "clip", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photo")
    photo, _ = product_photo((480, 600), "gradient")
    photo.save(folder / "bottle.jpg", quality=92)
    return folder / "bottle.jpg"


def test_cli_writes_the_clip_and_its_sidecar(photo_file, tmp_path):
    # when
    done = run_cli(
        photo_file,
        "--size",
        "270x480",
        "--duration",
        "5",
        "--style",
        "pan",
        "--direction",
        "left",
        "--headline",
        "Fresh hand wash",
        "--price",
        "24.90",
        "--currency",
        "EUR",
        "--locale",
        "de_DE",
        "--seed",
        "3",
        "--out",
        tmp_path / "x.mp4",
        cwd=tmp_path,
    )

    # then
    assert done.returncode == 0, done.stderr
    assert _files(tmp_path) == ["x.json", "x.mp4", "x_poster.jpg"]
    assert done.stdout.split() == [
        str(tmp_path / "x.mp4"),
        str(tmp_path / "x_poster.jpg"),
        str(tmp_path / "x.json"),
    ]
    assert "frame" in done.stderr  # the progress bar
    side = json.loads((tmp_path / "x.json").read_text())
    assert {
        k: side[k] for k in ("engine", "theme", "seed", "duration", "fps", "codec", "frame_count", "file")
    } == {
        "engine": "clip",
        "theme": "studio_sweep",
        "seed": 3,
        "duration": 5.0,
        "fps": 30,
        "codec": "h264",
        "frame_count": 150,
        "file": "x.mp4",
    }
    assert side["segmenter"] == "classical"
    assert side["fidelity"]["max_abs_diff"] == 0 and side["fidelity"]["identical"] is True
    assert set(side["product_box"]) == {"x", "y", "width", "height"} and side["product_box"]["width"] > 50
    assert side["text"]["price"] == "24.90" and side["style"] == "pan"
    assert side["reveal"] == "drop_in" and side["beats"]["source"] == "preset"
    # no --cta: the end card still has a call to action, the stock one (no German wording yet)
    assert side["end_card"] is True and side["text"]["cta"] == "Shop now"


def test_cli_refuses_a_bad_duration_in_one_line_and_writes_nothing(photo_file, tmp_path):
    # when
    done = run_cli(photo_file, "--duration", "20", "--out", tmp_path / "x.mp4", "--quiet", cwd=tmp_path)

    # then
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: clip.duration: Input should be less than or equal to 15"
    ]
    assert _files(tmp_path) == []


# -- slow: real preset size, memory, diffusion motion -----------------------------------------


@pytest.mark.slow
def test_story_preset_at_full_size(bottle, tmp_path):
    """A real 1080x1920 story clip, decoded back."""
    spec = ClipSpec(
        preset="story",
        duration=5,
        style="push_in",
        themes=("marble_counter",),
        headline="Fresh hand wash",
        price="24.90",
        cta="Shop now",
    )
    plan, log, result = _render(bottle, spec, tmp_path / "story.mp4", keep_every=30)
    assert log.worst == 0
    assert (result.width, result.height, result.frame_count, result.codec) == (1080, 1920, 150, "h264")
    with av.open(str(result.path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            ref = log.references.get(index)
            if ref is None:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            x, y, w, h = ref.box
            opaque = ref.pixels[..., 3] == 255
            assert _psnr(rgb[y : y + h, x : x + w][opaque], ref.pixels[..., :3][opaque]) >= 38.0


_PEAK_RSS = """
import resource, sys
from generation.clips import ClipSpec, render_clip
from tests.generation.test_clips import _segmentation
spec = ClipSpec(preset="story", duration=float(sys.argv[1]), style="parallax", themes=("marble_counter",),
                headline="Fresh hand wash", poster=False)
result = render_clip(_segmentation(), spec, sys.argv[2])
assert result.frame_count == round(float(sys.argv[1]) * 30)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_memory_does_not_grow_with_clip_length(tmp_path):
    """Peak RSS of a 15 s 1080x1920 clip is that of a 5 s one: frames are streamed."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def peak_kib(seconds: int) -> int:
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS, str(seconds), str(tmp_path / f"{seconds}.mp4")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        return int(done.stdout.split()[-1])

    short, long = peak_kib(5), peak_kib(15)
    # 300 more frames of 1080x1920 RGB would be 1.8 GB; allow allocator noise only
    assert long - short < 48 * 1024, (short, long)


@pytest.fixture(scope="session")
def tiny_svd(tmp_path_factory) -> Path:
    return build_svd(tmp_path_factory.mktemp("tiny_svd") / "svd")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning:diffusers.*")
def test_tiny_diffusion_motion_moves_the_set_and_never_the_product(bottle, tiny_svd, tmp_path):
    """Tiny random Stable Video Diffusion built from config and loaded from a folder with
    the production loader: checks plumbing, shapes, determinism and fidelity, not image
    quality (a random model paints noise)."""
    from generation.clips.diffusion_motion import MotionModelConfig, clear_motion_pipelines, generate_motion

    # given the tiny model, and the same clip without it
    cfg = MotionModelConfig(
        model=str(tiny_svd),
        device="cpu",
        num_frames=4,
        steps=2,
        width=64,
        height=64,
        decode_chunk_size=2,
        local_files_only=True,
    )
    spec = small(style="push_in", motion="diffusion")
    camera_only = plan_clip(bottle, small(style="push_in"))

    # when
    plan, log, result = _render(bottle, spec, tmp_path / "svd.mp4", motion_model=cfg)

    # then the product is exact in every frame
    assert log.worst == 0 and result.fidelity.identical
    assert plan.worlds[0].meta["motion_frames"] == 4
    # the set moves (away from the product) while the camera-only clip's set does not
    frames = {f.index: f.image.copy() for f in plan.frames() if f.index in (0, 40)}
    still = {f.index: f.image.copy() for f in camera_only.frames() if f.index in (0, 40)}
    corner = (slice(0, 60), slice(0, 60))
    assert np.abs(frames[40][corner].astype(int) - still[40][corner]).mean() > 1.0
    ref = reference_product(plan.master, plan.product_transform(40), plan.canvas)
    x, y, w, h = ref.box
    opaque = ref.pixels[..., 3] == 255
    assert np.array_equal(frames[40][y : y + h, x : x + w][opaque], still[40][y : y + h, x : x + w][opaque])
    # the model's frames depend only on the seed
    plate = plan.worlds[0].plate
    assert np.array_equal(
        generate_motion(plate, cfg, seed=3, aspect=0.5625), generate_motion(plate, cfg, seed=3, aspect=0.5625)
    )
    clear_motion_pipelines()


def test_missing_video_model_is_reported_as_unavailable(bottle, tmp_path):
    from generation.clips.diffusion_motion import MotionModelConfig

    # given a folder with no model in it
    cfg = MotionModelConfig(model=str(tmp_path / "nothing"), device="cpu", local_files_only=True)

    # when / then
    with pytest.raises(ModelUnavailable, match="SHOPASSETS_CLIP_MOTION_MODEL"):
        render_clip(bottle, small(motion="diffusion"), tmp_path / "out" / "x.mp4", motion_model=cfg)
    assert not (tmp_path / "out").exists()


def test_the_video_model_is_loaded_from_disk_only_and_the_error_names_the_install_command(
    monkeypatch, tmp_path
):
    import diffusers

    from generation.clips.diffusion_motion import (
        MotionModelConfig,
        clear_motion_pipelines,
        load_motion_pipeline,
    )
    from generation.config import GenerationConfig

    # given the configuration a worker builds (a hub id that is not installed here)
    seen = []

    def refuse(source, **kwargs):
        seen.append(kwargs)
        raise OSError("not in the local cache")

    monkeypatch.setattr(diffusers.StableVideoDiffusionPipeline, "from_pretrained", refuse)
    cfg = MotionModelConfig.from_config(GenerationConfig(device="cpu", models_dir=str(tmp_path)))
    clear_motion_pipelines()

    # when it is loaded / then nothing was asked of the network and the message says what to run
    with pytest.raises(ModelUnavailable, match="models pull svd-xt"):
        load_motion_pipeline(cfg)
    assert seen and all(kw["local_files_only"] is True for kw in seen)


def test_encoder_failures_are_generation_errors(tmp_path):
    from generation.clips.encode import VideoEncoder, VideoSettings

    # given settings the encoder rejects
    bad = VideoSettings(codec="libx264", container="mp4", options={"crf": "not-a-number"})

    # when / then
    with pytest.raises(GenerationError) as caught:
        with VideoEncoder(tmp_path / "x.mp4", bad, SMALL, 30) as encoder:
            encoder.write(np.zeros((480, 270, 3), np.uint8))
    assert caught.value.code == "encoding_failed"


def test_frames_decoded_by_index_are_the_frames_decoded_in_order(tmp_path):
    from generation.clips.encode import VideoEncoder, decode_frames, decode_frames_at, h264_settings

    # given an H.264 clip as clips are encoded (B-frames, some no other frame refers to)
    # of a moving pattern, 2 s with a keyframe every 2 s
    path = tmp_path / "x.mp4"
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (SMALL[1] + 64, SMALL[0] + 64, 3), dtype=np.uint8)
    with VideoEncoder(path, h264_settings(get_preset("story"), 30), SMALL, 30) as encoder:
        for i in range(60):
            encoder.write(np.ascontiguousarray(base[i % 64 : i % 64 + SMALL[1], i : i + SMALL[0]]))
    in_order = list(decode_frames(path))

    # when every frame is asked for by its index (the check's way: from the keyframe
    # before it, frames nothing refers to skipped on the way), and the check's three
    found = decode_frames_at(path, list(range(60)))
    three = decode_frames_at(path, [0, 30, 59])

    # then each is the frame decoded in order, byte for byte
    assert sorted(found) == list(range(60)) and sorted(three) == [0, 30, 59]
    assert all(np.array_equal(found[i], in_order[i]) for i in range(60))
    assert all(np.array_equal(three[i], in_order[i]) for i in three)


def test_clip_progress_messages_name_sets_in_words_not_ids(bottle, tmp_path):
    # given a two-set sequence clip built from studio themes
    messages: list[str] = []
    spec = small(style="sequence", themes=("marble_counter", "studio_sweep"))
    # when it renders with a progress callback
    render_clip(bottle, spec, tmp_path / "clip.mp4", progress=lambda f, m: messages.append(m))
    # then the merchant reads the sets' labels, never the theme ids
    assert any("Marble counter" in m for m in messages), messages
    assert not [m for m in messages if "marble_counter" in m or "studio_sweep" in m], messages
