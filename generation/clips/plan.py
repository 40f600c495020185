"""Planning a clip: everything that does not change per frame.

``plan_clip`` builds the worlds (the sets the camera moves through), the timeline, the
product master at the largest size it is shown, and the text sprites, placed where the
product never goes and made legible against every frame they are shown in.
``ClipPlan.frames()`` draws the frames (see ``frames.py``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from generation.clips.audio import track_tempo
from generation.clips.checks import FrameTextChecks, ink_box, range_behind
from generation.clips.diffusion_motion import MotionModelConfig, animate_world
from generation.clips.frames import Compositor
from generation.clips.layout import (
    ClipLayout,
    EndCardLayout,
    centred_columns,
    clear_area,
    clip_layout,
    end_card_layout,
    end_row_height,
    scene_text_height,
)
from generation.clips.motion import (
    FrameState,
    LayerState,
    Similarity,
    Timeline,
    WorldGeometry,
    cover_fit,
    world_scale,
)
from generation.clips.overlay import (
    INK_DARK,
    INK_LIGHT,
    OverlayText,
    Sprite,
    _sprite,
    clear_of_product,
    end_card_sprites,
    plate_for,
    scene_sprites,
    title_height,
)
from generation.clips.product import ProductMaster, make_master
from generation.clips.results import ClipFrame
from generation.clips.spec import ClipSpec, presets_data
from generation.clips.worlds import (
    ProductCues,
    PropBodies,
    PropLayer,
    SceneStage,
    StudioStage,
    World,
    end_card_world,
    estimated_depth_ratios,
    overscan,
    overscan_needed,
    overscan_stage,
    product_cues,
    scene_lies_flat,
    scene_stage,
    scene_world,
    studio_stage,
    studio_world,
)
from generation.config import GenerationConfig
from generation.errors import InvalidSpec
from generation.safe_zones import safe_box
from generation.sets import (
    MAX_PRODUCT_WIDTH,
    estimate_light_side,
    get_theme,
    lies_flat,
    plan_variant,
    podium_reach,
)
from generation.types import ProgressCallback, RenderedImage, Segmentation, no_progress
from generation.typography.money import format_price

# share of the progress bar spent building worlds before the first frame
PLAN_SHARE = 0.15


@dataclass
class ClipPlan:
    """Everything fixed for a clip; ``frames()`` draws it."""

    spec: ClipSpec
    canvas: tuple[int, int]
    worlds: list[World]
    timeline: Timeline
    master: ProductMaster
    master_to_rest: Similarity  # product master -> its rest box on the canvas
    sprites: dict[str, Sprite]
    segmenter: str
    meta: dict[str, Any]
    text_checks: FrameTextChecks | None = None  # filled in as ``frames()`` draws

    @property
    def frame_count(self) -> int:
        return self.spec.frame_count

    def state(self, index: int) -> FrameState:
        return self.timeline.at(index / self.spec.fps)

    def product_transform(self, index: int) -> Similarity:
        """Product master -> canvas in frame ``index``."""
        return self.master_to_rest.then(self.state(index).product)

    def frames(
        self,
        progress: ProgressCallback = no_progress,
        *,
        buffers: int = 1,
        planes: bool = False,
        whole: Callable[[int], bool] | None = None,
    ) -> Iterator[ClipFrame]:
        """Draw the frames in order into reused buffers (see ``ClipFrame.image``).

        With ``buffers=k`` frame ``i`` is drawn into buffer ``i % k``, so a frame stays
        intact while the next ``k - 1`` are drawn (a consumer on another thread).
        ``planes``: each frame also as the encoder takes it (``ClipFrame.planes``); then
        a frame may be drawn in the planes with RGB only round the product (not
        ``ClipFrame.whole``) unless ``whole(index)`` says its RGB image is wanted whole.
        """
        compositor = Compositor(self, buffers=buffers)
        self.text_checks = compositor.checks
        n = self.frame_count
        step = max(1, n // 100)
        for index in range(n):
            entire = not planes or (whole is not None and whole(index))
            yield compositor.draw(index, planes=planes, whole=entire)
            if index % step == 0 or index == n - 1:
                progress((index + 1) / n, f"frame {index + 1}/{n}")


def plan_clip(
    seg: Segmentation,
    spec: ClipSpec,
    *,
    scenes: list[RenderedImage] | None = None,
    config: GenerationConfig | None = None,
    logo: Image.Image | None = None,
    motion_model: Any = None,
    audio: Path | None = None,
    progress: ProgressCallback = no_progress,
) -> ClipPlan:
    """Build the worlds, the timeline, the product master and the text sprites.

    ``scenes`` (finished scene images of this product, e.g. the scenes a request made)
    replace the studio themes of ``spec``: a single-scene style uses the first, a
    sequence as many, in order, as fit its duration (and ``max_scenes``).
    ``motion_model`` is a ``diffusion_motion.MotionModelConfig`` for
    ``spec.motion == "diffusion"``; by default the one ``config`` names.
    ``audio`` (the sound track the clip will carry): its tempo and first beat, when a
    steady one is found, replace the preset's beat grid (``meta["beats"]`` says which).
    """
    # 1. check inputs
    config = config or GenerationConfig()
    canvas = (spec.width, spec.height)
    if seg.matte.getbbox() is None:
        raise InvalidSpec("the product matte is empty: nothing to put in the clip")
    if spec.motion == "diffusion" and motion_model is None:
        motion_model = MotionModelConfig.from_config(config)
    end_card = spec.wants_end_card(has_logo=logo is not None)
    seq = presets_data()["styles"]["sequence"]
    scenes_time = spec.duration - (presets_data()["end_card"]["duration_s"] if end_card else 0.0)
    if scenes is not None:
        if not scenes:
            raise InvalidSpec("scenes was given but empty")
        fit = int(scenes_time // float(seq["min_shot_s"])) if spec.style == "sequence" else 1
        scenes = list(scenes[: max(1, min(fit, int(seq["max_scenes"])))])
    n_scenes = len(scenes) if scenes is not None else len(spec.themes)
    if scenes_time / n_scenes < float(seq["min_shot_s"]):
        raise InvalidSpec(
            f"{n_scenes} scene(s) in {spec.duration:g} s leave {scenes_time / n_scenes:.1f} s each; "
            f"give each at least {seq['min_shot_s']} s (fewer themes or a longer clip)"
        )
    price = _format_price(spec)  # InvalidSpec for an unknown currency or locale
    if scenes is None:
        for name in spec.themes:
            get_theme(name)  # InvalidSpec naming the themes, before any slow work

    # 2. where the product and its text stand, clear of the platform's UI; then where the
    #    worlds (the sets the camera moves through) stand it, round that place
    keys = tuple(
        k
        for k, present in (
            ("headline", bool(spec.headline)),
            ("price", price is not None),
            ("compare_at", end_card and spec.discounted),
            ("cta", bool(spec.cta)),
            ("logo", logo is not None and end_card),
            ("title", bool(spec.headline) and end_card and logo is None),
        )
        if present
    )
    scene_keys = ("headline",) if end_card else ("headline", "price", "cta")
    # a studio scene of another shape is built again at the clip's (below)
    as_is = [s.studio_set is None or _same_shape(s.image.size, canvas) for s in scenes or []]
    cues: list[ProductCues] = []  # the product's, found once for every set arranged
    # the sets built for the clip (its themes, or studio scenes of another shape built
    # again): the frame keeps the whole of a podium under the product
    sets = (
        [(theme, spec.seed + i) for i, theme in enumerate(spec.themes)]
        if scenes is None
        else [s.studio_set for s, shown in zip(scenes, as_is, strict=True) if not shown and s.studio_set]
    )
    # a flat-lay lies on the set's surface, seen from above, as its scenes do: a set built
    # for the clip lays it there when the merchant's view (or the photo, on auto) says so,
    # a studio scene's set built again as the scene had it
    flat_sets = (
        lies_flat(spec.view, seg.image, seg.matte)
        if scenes is None
        else any(_flat_scene(s) for s, shown in zip(scenes, as_is, strict=True) if not shown)
    )
    below = 0.0
    for theme, seed in sets:
        if not flat_sets and get_theme(theme).podium is not None:
            if not cues:
                cues.append(product_cues(seg.cutout))
            variant = plan_variant(
                theme, seed, light_side=cues[0][0], foot_ratio=cues[0][1], product_tone=cues[0][2]
            )
            below = max(below, podium_reach(theme, seg.cutout.size, variant))
    layout = clip_layout(
        canvas,
        spec.safe_insets,
        seg.cutout.size,
        fill=spec.fill,
        text_height=scene_text_height(tuple(k for k in keys if k in scene_keys), canvas),
        zoom=world_scale(spec),
        # a finished scene shown as it is keeps its product's size and place where it can
        scene_box=_scene_box(scenes[0], canvas) if scenes and as_is[0] else None,
        below=below,
    )
    style_cfg = presets_data()["styles"]["parallax"]
    ratios = {"wall_ratio": float(style_cfg["wall_ratio"]), "front_ratio": float(style_cfg["front_ratio"])}
    size = _world_size(canvas, world_scale(spec))
    # the closest view shows about the canvas's share of the world
    max_width = MAX_PRODUCT_WIDTH * canvas[0] / size[0]
    # the layout's rest box in world pixels (the world is the canvas scaled)
    sx, sy = size[0] / canvas[0], size[1] / canvas[1]
    lx, ly, lw, lh = layout.rest_box
    world_box = (round(lx * sx), round(ly * sy), max(1, round(lw * sx)), max(1, round(lh * sy)))

    def arrange(
        theme: str,
        seed: int,
        leave_out: tuple[int, ...] = (),
        room: tuple[float, float, float, float] | None = None,
        sway: tuple[float, float] = (0.0, 0.0),
        flat: bool = False,
    ) -> StudioStage:
        if not cues:
            cues.append(product_cues(seg.cutout))
        return studio_stage(
            seg,
            theme=theme,
            seed=seed,
            size=size,
            fill=spec.fill,
            max_width=max_width,
            centred=True,
            leave_out=leave_out,
            stand_at=world_box,
            prop_room=room,
            prop_sway=sway,
            cues=cues[0],
            flat=flat,
            **ratios,
        )

    def build(staged: StudioStage) -> World:
        return studio_world(
            seg,
            theme=staged.theme,
            seed=staged.seed,
            size=size,
            fill=spec.fill,
            brand_color=spec.brand_color,
            prop_layers=_prop_layers(spec),
            # a plain set is flat without them: nothing to show the camera's move, and
            # in parallax nothing else that moves at each depth
            depth_cues=get_theme(staged.theme).surface.material == "plain",
            staged=staged,  # where the product and the props stand (their room, those left out)
        )

    # each world: a studio set (theme, seed), found but not drawn until the move says
    # where its props may stand, or a finished scene shown as it is
    staged: list[StudioStage | None] = []
    shown: dict[int, SceneStage] = {}
    if scenes is not None:
        given = scenes

        def scene_pad(i: int) -> SceneStage:
            """Where scene ``i``'s world stands the product and its props, nothing drawn:
            framed with its product at the layout's place, the picture run on where the
            frame goes past its edges (``overscan``)."""
            stage = scene_stage(given[i], **ratios)
            pad = overscan_needed(stage.geometry, layout.rest_box, canvas)
            return overscan_stage(stage, pad) if any(pad) else stage

        def from_scene(i: int, leave_out: tuple[int, ...] = ()) -> World:
            world = scene_world(
                seg,
                given[i],
                wall_ratio=ratios["wall_ratio"],
                front_ratio=ratios["front_ratio"],
                prop_layers=_prop_layers(spec),
                leave_out=leave_out,
            )
            pad = overscan_needed(world.geometry, layout.rest_box, canvas)
            return overscan(world, pad, front=ratios["front_ratio"]) if any(pad) else world

        for i, scene in enumerate(scenes):
            progress(PLAN_SHARE * i / n_scenes, f"Preparing scene {i + 1} of {n_scenes}")
            studio = scene.studio_set
            if not as_is[i]:
                assert studio is not None  # only a studio scene of another shape is built again
                # a studio scene of another shape is built again at the clip's with its theme
                # and seed, as posters do: a square scene cropped to 9:16 cut a wide product
                staged.append(arrange(*studio, flat=_flat_scene(scene)))
            else:
                staged.append(None)
                shown[i] = scene_pad(i)
    else:
        staged = [arrange(theme, spec.seed + i, flat=flat_sets) for i, theme in enumerate(spec.themes)]
    geometries = [shown[k].geometry if found is None else found.geometry for k, found in enumerate(staged)]

    # 3. the beat (the music's when it has a steady one) and the timeline: it needs only
    #    where each world stands the product and its floor
    tempo = track_tempo(audio, spec.frame_count / spec.fps) if audio is not None else None
    aspect = geometries[0].product_box[2] / geometries[0].product_box[3]
    lang = spec.locale.replace("_", "-")
    card = _end_card_layout(spec, canvas, aspect, keys, lang) if end_card else None
    end_box = card.product_box if card is not None else None
    timeline = Timeline(
        spec,
        canvas,
        geometries,
        end_card=end_card,
        end_box=end_box,
        texts=keys,
        tempo=tempo,
        layout=layout,
    )

    # 4. the worlds. A studio scene's props are known: those the move cuts are filled out.
    #    A set built for the clip stands its props in what every frame of the move shows
    #    (the move depends on the product's place only, not on the props); a set whose
    #    props are drawn into it then leaves out any that still would be cut (one that
    #    cannot shrink into that room); then it is drawn, once
    built: dict[int, World] = {}
    for k, found in enumerate(staged):
        if found is None:
            built[k] = from_scene(k, leave_out=_cut_props(shown[k].prop_bodies, k, timeline, spec.fps))
            continue
        # (one left out already, where the world's own frame cut it, may fit the room)
        if len(found.standing) < len(found.variant.props) or _cut_props(
            found.prop_bodies, k, timeline, spec.fps
        ):
            seen = found.prop_bodies
            room = _prop_room(seen, k, timeline, spec.fps)
            sway = _wall_sway(found.geometry, k, timeline, spec.fps, ratios["wall_ratio"])
            again = arrange(found.theme, found.seed, room=room, sway=sway)
            # a prop that stands only now may stand at another depth (or one the room's
            # bottom stood further back), which the camera shows another part of: the
            # room at every depth a prop stands at
            for _ in range(ROOM_PASSES):
                if not {r for _, r, _ in again.prop_bodies} - {r for _, r, _ in seen}:
                    break
                seen = seen + again.prop_bodies
                room = _prop_room(seen, k, timeline, spec.fps)
                again = arrange(found.theme, found.seed, room=room, sway=sway)
            found = again
            if spec.style != "parallax" and (cut := _cut_props(found.prop_bodies, k, timeline, spec.fps)):
                found = arrange(found.theme, found.seed, leave_out=cut, room=room, sway=sway)
        if scenes is not None:
            world = build(found)
            built[k] = dataclasses.replace(world, name=scenes[k].name, meta={**world.meta, "rebuilt": True})
        else:
            label = get_theme(found.theme).label
            progress(PLAN_SHARE * k / n_scenes, f"Building set {k + 1} of {n_scenes}: {label}")
            built[k] = build(found)
    worlds = [built[k] for k in range(len(staged))]
    if spec.style == "parallax":  # a depth model, when one is configured and importable
        for k, world in enumerate(worlds):
            estimated = estimated_depth_ratios(
                world, config, wall=ratios["wall_ratio"], front=ratios["front_ratio"]
            )
            if estimated is not None:
                worlds[k] = dataclasses.replace(
                    world, depth_ratio=estimated, meta={**world.meta, "depth": "model"}
                )
    worlds = [_props_in_frame(w, k, timeline, spec.fps) for k, w in enumerate(worlds)]
    for k, world in enumerate(worlds):
        if timeline.geometries[k].flat and not world.geometry.flat:
            # a flat-lay scene whose surface could not be built again (a brand colour its
            # record does not carry) has only a fill where the product lay: it moves with it
            timeline.geometries[k] = dataclasses.replace(timeline.geometries[k], flat=False)
    # then the product master at the largest size it is shown
    rx, ry, rw, rh = timeline.rest_box
    master = make_master(seg.cutout, math.ceil(timeline.max_product_scale() * rw - 1e-6))
    master_to_rest = Similarity(rw / master.size[0], rx, ry)

    # 5. the end card backdrop, and background motion from a video model; a product its
    # sets or scenes lay flat lies in its own shadow there too
    lies_flat_here = flat_sets or any(scene_lies_flat(s) for s in scenes or ())
    if end_card:
        worlds.append(
            end_card_world(
                canvas,
                colors=_end_card_colors(spec),
                product_rgba=master.rgba,
                rest_box=timeline.rest_box,
                seed=spec.seed,
                flat=lies_flat_here,
                light_side=estimate_light_side(seg.cutout),
            )
        )
    if spec.motion == "diffusion":
        progress(PLAN_SHARE * 0.8, "Animating the background")
        worlds[0] = animate_world(worlds[0], motion_model, seed=spec.seed, canvas=canvas)

    plan = ClipPlan(
        spec=spec,
        canvas=canvas,
        worlds=worlds,
        timeline=timeline,
        master=master,
        master_to_rest=master_to_rest,
        sprites={},
        segmenter=seg.segmenter,
        meta={
            "end_card": end_card,
            "world_size": list(worlds[0].size),
            "base_zoom": timeline.base_zoom,
            "beats": _beats_meta(timeline, audio is not None),
            "layout": _layout_meta(layout, timeline),
        },
    )

    # 6. text sprites, placed where the product never goes
    texts = OverlayText(
        headline=spec.headline,
        price=price,
        cta=spec.cta,
        lang=lang,
        brand=spec.brand_color,
        compare_at=(
            format_price(spec.compare_at, spec.currency, spec.locale)
            if spec.discounted and spec.compare_at is not None
            else None
        ),
    )
    if keys:
        plan.sprites = _sprites(plan, texts, logo, card, layout)
    progress(PLAN_SHARE, "Rendering frames")
    return plan


PROP_MARGIN = 0.02  # a prop stays this share of the frame's side inside its edges
# how many times a set's props are stood again in the room found at the depths they stood
# at the time before (a prop moved to another depth is shown another part of the set)
ROOM_PASSES = 3


def _prop_layers(spec: ClipSpec) -> bool:
    """Whether the worlds keep their props as layers apart from the set: parallax moves
    each at its depth; a crossfade fades the outgoing set's props out and the incoming
    set's in, one after the other, while the sets dissolve (``Timeline.layers_at``)."""
    return spec.style == "parallax" or (spec.style == "sequence" and spec.transition == "crossfade")


def _props_in_frame(world: World, index: int, timeline: Timeline, fps: int) -> World:
    """The world without the prop layers that the camera's move would cut with the frame's
    edges at some frame (the set's own check keeps props inside the world, which
    the camera shows only part of): a prop is seen whole through the whole move, or not."""
    if not world.props:
        return world
    depths = [layer.depth for layer in _move_layers(timeline, index, fps) if layer.depth is not None]

    def whole(prop: PropLayer) -> bool:
        return not any(
            _cut_by_frame(depth.at_ratio(prop.ratio), prop.body, timeline.canvas) for depth in depths
        )

    kept = tuple(p for p in world.props if whole(p))
    return world if len(kept) == len(world.props) else dataclasses.replace(world, props=kept)


def _cut_props(bodies: PropBodies, index: int, timeline: Timeline, fps: int) -> tuple[int, ...]:
    """The props of world ``index``'s studio set (``bodies``, as ``World.prop_bodies``:
    indices in its theme's) that the camera's move would cut with the frame's edges at
    some frame while the set is shown in place (in parallax, each at the depth of
    its foot)."""
    layers = [layer for layer in _move_layers(timeline, index, fps) if layer.columns is None]

    def cut(ratio: float, body: tuple[float, float, float, float]) -> bool:
        return any(
            _cut_by_frame(
                layer.depth.at_ratio(ratio) if layer.depth is not None else layer.transform,
                body,
                timeline.canvas,
            )
            for layer in layers
        )

    return tuple(k for k, ratio, body in bodies if cut(ratio, body))


def _move_layers(timeline: Timeline, index: int, fps: int) -> list[LayerState]:
    """World ``index``'s layers at every frame of the move, up to the end of the scenes."""
    steps = max(1, math.ceil(timeline.scenes_end * fps))
    return [
        layer
        for i in range(steps + 1)
        for layer in timeline.layers_at(min(i / fps, timeline.scenes_end))
        if layer.world == index
    ]


def _prop_room(
    bodies: PropBodies, index: int, timeline: Timeline, fps: int
) -> tuple[float, float, float, float]:
    """The part of world ``index`` (world px: left, right, top, bottom) that every frame of
    the move shows ``PROP_MARGIN`` inside the frame's edges, at the depths its props
    (``bodies``) stand at (a prop's depth is its foot's row, which where it stands
    sideways does not change)."""
    cw, ch = timeline.canvas
    ratios = sorted({ratio for _, ratio, _ in bodies}) or [1.0]
    left, right, top, bottom = -math.inf, math.inf, -math.inf, math.inf
    for layer in _move_layers(timeline, index, fps):
        if layer.columns is not None:
            continue
        transforms = (
            [layer.depth.at_ratio(r) for r in ratios] if layer.depth is not None else [layer.transform]
        )
        for transform in transforms:
            back = transform.inverse()
            x0, y0 = back.point(PROP_MARGIN * cw, PROP_MARGIN * ch)
            x1, y1 = back.point((1 - PROP_MARGIN) * cw, (1 - PROP_MARGIN) * ch)
            left, right, top, bottom = max(left, x0), min(right, x1), max(top, y0), min(bottom, y1)
    return (left, right, top, bottom)


def _wall_sway(
    geometry: WorldGeometry, index: int, timeline: Timeline, fps: int, wall: float
) -> tuple[float, float]:
    """How far (world px, least and most) the move carries world ``index``'s wall sideways
    against the product standing in it, seen beside the product's box (``Variant.sway``):
    none unless parallax moves the depths apart."""
    x, _, w, _ = geometry.product_box
    points = [(float(x), geometry.horizon), (float(x + w), geometry.horizon)]
    offsets = [0.0]
    for layer in _move_layers(timeline, index, fps):
        if layer.depth is None:
            continue
        far, product = layer.depth.at_ratio(wall), layer.depth.at_ratio(1.0).inverse()
        offsets += [product.point(*far.point(px, py))[0] - px for px, py in points]
    return (min(offsets), max(offsets))


def _cut_by_frame(
    transform: Similarity, body: tuple[float, float, float, float], canvas: tuple[int, int]
) -> bool:
    """Does ``body`` (x0, y0, x1, y1 in the world), mapped by ``transform``, come within
    ``PROP_MARGIN`` of the frame's edges (a prop in front of the product stands low
    enough for the bottom edge to cut it)?"""
    x0, y0, x1, y1 = body
    bx, by, bw, bh = transform.box((x0, y0, x1 - x0, y1 - y0))
    cw, ch = canvas
    return (
        bx < PROP_MARGIN * cw
        or bx + bw > (1 - PROP_MARGIN) * cw
        or by < PROP_MARGIN * ch
        or by + bh > (1 - PROP_MARGIN) * ch
    )


def _beats_meta(timeline: Timeline, has_audio: bool) -> dict[str, Any]:
    """What the clip is cut to: the music's tempo, or the preset's beat (and why)."""
    if timeline.tempo is not None:
        return {"source": "audio", **timeline.tempo.to_dict(), "step_s": round(timeline.beat_step, 3)}
    why = "no steady beat found in the audio" if has_audio else "no audio"
    return {"source": "preset", "step_s": round(timeline.beat_step, 3), "why": why}


def _scene_box(scene: RenderedImage, canvas: tuple[int, int]) -> tuple[float, float, float, float]:
    """Where ``scene`` has the product (canvas px) when it covers the frame, its product as
    central as its edges allow."""
    x, y, w, h = (float(v) for v in scene.product_box)
    cover = cover_fit(scene.image.size, canvas, (x + w / 2, y + h / 2))
    return cover.box((x, y, w, h))


def _flat_scene(scene: RenderedImage) -> bool:
    """Whether a studio scene laid its product flat (``sets.flat``), from its record."""
    return scene.studio_set is not None and (scene.meta.get("variant") or {}).get("view") == "flat"


def _same_shape(size: tuple[int, int], canvas: tuple[int, int]) -> bool:
    """Whether an image of ``size`` fills ``canvas`` with under 2 % of it cropped."""
    return abs(math.log((size[0] / size[1]) / (canvas[0] / canvas[1]))) < 0.02


def _world_size(canvas: tuple[int, int], scale: float) -> tuple[int, int]:
    cw, ch = canvas
    # scenes are 256..4096 px a side
    scale = max(scale, 256 / min(cw, ch))
    scale = min(scale, 4096 / max(cw, ch))
    return (round(cw * scale), round(ch * scale))


def _format_price(spec: ClipSpec) -> str | None:
    if spec.price is None:
        return None
    return format_price(spec.price, spec.currency, spec.locale)


def _end_card_colors(spec: ClipSpec) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """A light tint of the brand colour, or warm paper when there is none."""
    if spec.brand_color is None:
        return ((247, 245, 241), (231, 226, 218))
    r, g, b = spec.brand_color
    top = tuple(round(c + (255 - c) * 0.9) for c in (r, g, b))
    bottom = tuple(round(c + (255 - c) * 0.78) for c in (r, g, b))
    return top, bottom  # type: ignore[return-value]


def _end_card_layout(
    spec: ClipSpec, canvas: tuple[int, int], aspect: float, keys: tuple[str, ...], lang: str
) -> EndCardLayout:
    """Where the product and the words stand on the end card: the logo, or the headline
    as a title as tall as its lines fitted to the card's column, over the product; the
    price, compare-at price and CTA under it."""
    insets = spec.safe_insets
    top: tuple[str, float] | None = None
    if "logo" in keys:
        top = ("logo", 0.07 * canvas[1])
    elif "title" in keys:
        wide = canvas[0] > canvas[1] * 1.2
        clear = clear_area(canvas, insets)
        width = 0.4 * canvas[0] if wide else centred_columns(canvas, clear)[1]
        top = ("title", title_height(spec.headline, width, clear[3], canvas, lang))
    below = tuple(k for k in ("price", "compare_at", "cta") if k in keys)
    # on a frame taller than wide the struck price stands right of the price: a row less,
    # the product's room (a story's product had a quarter of the height)
    beside: tuple[float, float] | None = None
    if "price" in below and "compare_at" in below and canvas[1] > canvas[0] * 1.2:
        assert spec.compare_at is not None  # "compare_at" is in keys only with one
        compare_at = format_price(spec.compare_at, spec.currency, spec.locale)
        prices = OverlayText(
            headline="", price=_format_price(spec), cta="", lang=lang, brand=None, compare_at=compare_at
        )
        width = 0.6 * canvas[0]  # wider than either is set
        price_w, compare_w = (
            float(
                _sprite(k, prices, (0.0, 0.0, width, end_row_height(k, canvas)), canvas, lambda r: 255.0).box[
                    2
                ]
            )
            for k in ("price", "compare_at")
        )
        beside = (price_w, compare_w)

    def layout(top_room: float = 0.0, bottom_room: float = 0.0) -> EndCardLayout:
        return end_card_layout(
            canvas,
            insets,
            aspect,
            top=top,
            below=below,
            top_room=top_room,
            bottom_room=bottom_room,
            beside=beside,
        )

    card = layout()
    # the title (or logo) comes down into place and the button rises into place: room
    # above the one and below the other for the texts' whole slide, shadows included,
    # inside the safe area (a 9:16 story's title stood against the top band and only
    # faded in; its button, at the foot of the clear area, rose 16 of its 48 px)
    safe = safe_box(canvas, insets)
    ax, ay, _, ah = clear_area(canvas, insets)
    slide = float(presets_data()["text"]["slide"]) * canvas[1]
    top_room = bottom_room = 0.0
    if top is not None:
        rect = card.rects[top[0]]
        reach = 0.0  # px its sprite reaches above its box
        if top[0] == "title":
            title = OverlayText(headline=spec.headline, price=None, cta="", lang=lang, brand=None)
            sprite = _sprite(
                "title", title, (rect[0], 0.0, rect[2], rect[3]), canvas, lambda r: 255.0, within=safe
            )
            reach = float(-sprite.origin[1])
        if rect[1] - safe[1] < slide + reach:
            top_room = max(0.0, safe[1] + slide + reach - ay)
    lowest = math.inf
    if "cta" in card.rects:
        rect = card.rects["cta"]
        button = OverlayText(headline="", price=None, cta=spec.cta, lang=lang, brand=spec.brand_color)
        sprite = _sprite("cta", button, (rect[0], 0.0, rect[2], rect[3]), canvas, lambda r: 255.0)
        below_box = max(0.0, sprite.box[1] + sprite.box[3] - rect[3])  # px it reaches below its box
        lowest = safe[1] + safe[3] - slide - below_box  # where its box may end, to rise the whole slide
        if rect[1] + rect[3] > lowest:
            bottom_room = max(0.0, ay + ah - lowest)
    if top_room == 0 and bottom_room == 0:
        return card
    card = layout(top_room, bottom_room)
    # a card that does not fill its height (a product as wide as it may be) is centred:
    # the room kept at the top brings its button down, where it may need its room too
    if "cta" in card.rects and bottom_room == 0 and sum(card.rects["cta"][1::2]) > lowest + 0.5:
        card = layout(top_room, max(0.0, ay + ah - lowest))
    return card


def _layout_meta(layout: ClipLayout, timeline: Timeline) -> dict[str, Any]:
    """Where the product stands at rest and the area clear of the platform's UI, px."""
    return {
        "clear": [round(v) for v in layout.clear],
        "rest_box": [round(v) for v in timeline.rest_box],
        "text": [round(v) for v in layout.text] if layout.text is not None else None,
    }


def _sprites(
    plan: ClipPlan,
    texts: OverlayText,
    logo: Image.Image | None,
    card: EndCardLayout | None,
    layout: ClipLayout,
) -> dict[str, Sprite]:
    timeline, canvas = plan.timeline, plan.canvas
    fps = plan.spec.fps
    # where the product goes while the scene text is on (text must stay clear of it; the
    # drop-in is over before the first text enters)
    last = int((timeline.move_start if plan.meta["end_card"] else timeline.scenes_end) * fps)
    scene = [k for k in timeline.texts if k in ("headline", "price", "cta")]
    if plan.meta["end_card"]:
        scene = [k for k in scene if k == "headline"]
    first = min([math.floor(timeline.text_enters(k) * fps) for k in scene] + [last])
    boxes = [
        plan.master_to_rest.then(timeline.product_at(i / fps)).box(
            (0.0, 0.0, float(plan.master.size[0]), float(plan.master.size[1]))
        )
        for i in range(first, last + 1)
    ]
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    # and its podium under it (``ClipLayout.below``): no text over the set's podium
    y1 = max(b[1] + b[3] + layout.below * b[3] for b in boxes)
    area = (x0, y0, max(b[0] + b[2] for b in boxes) - x0, y1 - y0)
    # scene text crosses every scene: it is dark only where all of them are light there
    compositor = Compositor(plan)
    shots = [
        round(0.5 * (max(shot.start, 0.0) + min(shot.end, timeline.scenes_end)) * fps)
        for shot in timeline.shots
    ]
    scenes = [cv2.cvtColor(compositor.background(i), cv2.COLOR_RGB2GRAY) for i in shots]

    def luma_at(rect: tuple[float, float, float, float], images: list[np.ndarray] = scenes) -> float:
        x, y, w, h = (int(round(v)) for v in rect)
        patches = [img[max(y, 0) : max(y + h, 1), max(x, 0) : max(x + w, 1)] for img in images]
        return min(float(p.mean()) if p.size else 128.0 for p in patches)

    safe = safe_box(canvas, plan.spec.safe_insets)
    sprites = scene_sprites(
        texts, canvas, area, luma_at, include_price_cta=card is None, clear=layout.clear, safe=safe
    )
    stack = [s.key for s in sprites]
    if card is not None:
        end_plate = cv2.cvtColor(plan.worlds[-1].plate, cv2.COLOR_RGBA2GRAY)
        sprites += end_card_sprites(texts, canvas, card, lambda r: luma_at(r, [end_plate]), logo, safe)
    placed = {s.key: s for s in sprites}
    timeline.slide_room = _slide_room(placed, timeline, safe)
    placed = _legible(placed, plan, texts, logo, safe)
    # a plate set under the scene text reaches past its type, towards the product
    placed.update(
        (s.key, s) for s in clear_of_product([placed[k] for k in stack], area, canvas, layout.clear)
    )
    timeline.slide_room = _slide_room(placed, timeline, safe)
    return placed


def _slide_room(
    sprites: dict[str, Sprite], timeline: Timeline, safe: tuple[float, float, float, float]
) -> dict[str, float]:
    """How far each sprite (its shadow or plate included) may slide into place and stay
    out of the platform's UI: a CTA at the foot of the end card rose from under the
    caption line."""
    _, top, _, height = safe
    room = {}
    for key, sprite in sprites.items():
        _, y, _, h = sprite.box
        room[key] = max(0.0, y - top) if timeline.slides_down(key) else max(0.0, top + height - (y + h))
    return room


# a plate reads as a designed element only when it is fairly solid
PLATE_OPACITIES = (0.55, 0.7, 0.85, 1.0)


def _legible(
    sprites: dict[str, Sprite],
    plan: ClipPlan,
    texts: OverlayText,
    logo: Image.Image | None,
    safe: tuple[float, float, float, float],
) -> dict[str, Sprite]:
    """Each text's colour, else a backing plate, chosen so its contrast passes the
    poster threshold in every sampled frame where it is fully shown (every 5th frame,
    the worlds only): its ink, the other ink, then a plate at rising opacity."""
    keys = [k for k, s in sprites.items() if s.ink is not None]
    if not keys:
        return sprites
    plan.sprites = sprites
    compositor = Compositor(plan)
    short = min(plan.canvas)
    from generation.posters.checks import required_ratio, worst_contrast

    # per text: (ink, None) or (ink, (plate colour, plate opacity)), in the order tried
    options: dict[str, list[tuple[tuple[int, int, int], tuple[tuple[int, int, int], float] | None]]] = {}
    for k in keys:
        ink = sprites[k].ink
        assert ink is not None  # keys holds the sprites with ink only
        other = INK_DARK if ink == INK_LIGHT else INK_LIGHT
        options[k] = [(ink, None), (other, None)]
        options[k] += [(ink, (plate_for(ink), o)) for o in PLATE_OPACITIES]
    worst = {k: [math.inf] * len(options[k]) for k in keys}
    need = {k: required_ratio(sprites[k].size_px, sprites[k].weight, short) for k in keys}
    n = plan.frame_count
    frames = sorted(set(range(0, n, 5)) | {n - 1})
    # the inks first (one background range serves both); the plates, each its own range,
    # only for texts neither ink makes legible: the first option that passes is the same
    for plated in (False, True):
        todo = {k for k in keys if plated == all(r < need[k] for r in worst[k][:2])}
        for index in frames if todo else ():
            state = plan.state(index)
            visible = [t for t in state.texts if t.key in todo and t.opacity >= 0.999]
            if not visible:
                continue
            behind = compositor.background(index, copy=False)
            for text in visible:
                sprite = sprites[text.key]
                box = ink_box(sprite, text.dy)
                ranges: dict[Any, tuple[float, float] | None] = {}
                for j, (ink, plate) in enumerate(options[text.key]):
                    if (plate is not None) != plated:
                        continue
                    if plate not in ranges:
                        ranges[plate] = range_behind(behind, box, sprite.size_px, plate)
                    rng = ranges[plate]
                    if rng is not None:
                        worst[text.key][j] = min(worst[text.key][j], worst_contrast(ink, rng))
    fixed = dict(sprites)
    for k in keys:
        sprite = sprites[k]
        choice = next((j for j, r in enumerate(worst[k]) if r >= need[k]), len(options[k]) - 1)
        if choice == 0:
            continue
        ink, plate = options[k][choice]
        assert sprite.rect is not None
        fixed[k] = _sprite(
            k, texts, sprite.rect, plan.canvas, lambda r: 0.0, logo, ink=ink, plate=plate, within=safe
        )
        plan.meta.setdefault("text_fixes", []).append(
            f"{k}: {'plate ' + format(plate[1], '.0%') if plate else 'ink'}"
        )
    return fixed
