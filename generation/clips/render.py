"""Rendering a clip: plan it, draw frames one by one, stream them into the encoders.

``plan_clip`` builds everything that does not change per frame (the worlds, the
product master, the timeline, the text sprites). ``ClipPlan.frames()`` is a generator
that draws each frame into a few reused RGBA buffers: worlds under their camera
transforms, crossfades and slides, text, and last of all the product's reference
resampling pasted with its opaque pixels copied, then checked. ``write_clip`` encodes
those frames on a worker thread as they come (never holding the clip) and moves the
finished files into place only when everything succeeded; ``render_clip`` is both.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from generation.clips import encode as enc
from generation.clips.checks import FrameTextChecks, contrast_behind, ink_box
from generation.clips.diffusion_motion import MotionModelConfig, animate_world
from generation.clips.motion import (
    END_CARD_TEXTS,
    IDENTITY,
    Depth,
    FrameState,
    LayerState,
    Similarity,
    Timeline,
    world_scale,
)
from generation.clips.overlay import (
    INK_DARK,
    INK_LIGHT,
    OverlayText,
    Sprite,
    _sprite,
    draw_sprite,
    end_card_product_box,
    end_card_sprites,
    plate_for,
    scene_sprites,
)
from generation.clips.product import (
    ProductLayer,
    ProductMaster,
    make_master,
    measure_product,
    paste_product,
    reference_product,
)
from generation.clips.spec import ClipSpec, get_preset, presets_data
from generation.clips.worlds import (
    Effect,
    World,
    end_card_world,
    estimated_depth_ratios,
    scene_world,
    studio_world,
)
from generation.config import GenerationConfig
from generation.engines.studio import MAX_PRODUCT_WIDTH
from generation.errors import GenerationError, InvalidSpec
from generation.sidecar import temporary_path
from generation.types import Box, ProgressCallback, RenderedImage, Segmentation, no_progress
from generation.typography.money import format_price

F32 = np.float32
# share of the progress bar spent building worlds before the first frame
_PLAN_SHARE = 0.15


# ---------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ClipFrame:
    """One frame just before encoding. ``image`` is a view of the renderer's buffer: it
    is only valid until the next frame is drawn (copy it to keep it)."""

    index: int
    time: float
    image: np.ndarray  # (H, W, 3) uint8 RGB (a view of ``rgba``)
    rgba: np.ndarray  # (H, W, 4) uint8, alpha 255: the buffer itself
    product_transform: Similarity  # product master -> canvas
    product: ProductLayer  # the reference the frame's product pixels must equal
    max_abs_diff: int  # measured on ``image`` where the reference is opaque
    opaque_pixels: int


@dataclass(frozen=True)
class ClipFidelity:
    """Product fidelity over a whole clip.

    ``max_abs_diff`` is the largest difference, over every frame before encoding,
    between the frame and the product's reference resampling where that is opaque;
    ``encoded_psnr_db`` the lowest PSNR of the same pixels in sampled frames decoded
    back from the MP4 (None when not checked).
    """

    max_abs_diff: int
    min_opaque_pixels: int
    frames_checked: int
    encoded_psnr_db: float | None = None
    encoded_frames_checked: int = 0

    @property
    def identical(self) -> bool:
        return self.max_abs_diff == 0 and self.min_opaque_pixels > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_abs_diff": self.max_abs_diff,
            "min_opaque_pixels": self.min_opaque_pixels,
            "frames_checked": self.frames_checked,
            "identical": self.identical,
            "encoded_psnr_db": None if self.encoded_psnr_db is None else round(self.encoded_psnr_db, 2),
            "encoded_frames_checked": self.encoded_frames_checked,
        }


@dataclass(frozen=True)
class ClipResult:
    path: Path
    duration: float  # seconds: frame_count / fps
    fps: int
    codec: str  # as the written file reports it, e.g. "h264"
    width: int
    height: int
    frame_count: int
    size_bytes: int
    fidelity: ClipFidelity
    product_box: Box  # the product's box in the first frame
    webm: Path | None = None
    preview: Path | None = None
    poster: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def sidecar(self) -> dict[str, Any]:
        x, y, w, h = self.product_box
        data: dict[str, Any] = {
            "kind": "clip",
            "file": self.path.name,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "fps": self.fps,
            "codec": self.codec,
            "frame_count": self.frame_count,
            "size_bytes": self.size_bytes,
            "product_box": {"x": x, "y": y, "width": w, "height": h},
            "fidelity": self.fidelity.to_dict(),
            "webm": self.webm.name if self.webm else None,
            "preview": self.preview.name if self.preview else None,
            "poster": self.poster.name if self.poster else None,
        }
        data.update(self.meta)
        return data


# ---------------------------------------------------------------------------
# The plan


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

    def frames(self, progress: ProgressCallback = no_progress, *, buffers: int = 1) -> Iterator[ClipFrame]:
        """Draw the frames in order into reused buffers (see ``ClipFrame.image``).

        With ``buffers=k`` frame ``i`` is drawn into buffer ``i % k``, so a frame stays
        intact while the next ``k - 1`` are drawn (a consumer on another thread).
        """
        compositor = _Compositor(self, buffers=buffers)
        self.text_checks = compositor.checks
        n = self.frame_count
        step = max(1, n // 100)
        for index in range(n):
            yield compositor.draw(index)
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
    progress: ProgressCallback = no_progress,
) -> ClipPlan:
    """Build the worlds, the timeline, the product master and the text sprites.

    ``scenes`` (finished scene images of this product, e.g. the scenes a request made)
    replace the studio themes of ``spec``: a single-scene style uses the first, a
    sequence as many, in order, as fit its duration (and ``max_scenes``).
    ``motion_model`` is a ``diffusion_motion.MotionModelConfig`` for
    ``spec.motion == "diffusion"``; by default the one ``config`` names.
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
        from generation.engines.themes import get_theme

        for name in spec.themes:
            get_theme(name)  # InvalidSpec naming the themes, before any slow work

    # 2. worlds: the sets the camera moves through
    style_cfg = presets_data()["styles"]["parallax"]
    ratios = {"wall_ratio": float(style_cfg["wall_ratio"]), "front_ratio": float(style_cfg["front_ratio"])}
    worlds: list[World] = []
    if scenes is not None:
        for i, scene in enumerate(scenes):
            progress(_PLAN_SHARE * i / n_scenes, f"Preparing scene {i + 1}/{n_scenes}")
            worlds.append(scene_world(seg, scene, **ratios))
    else:
        size = _world_size(canvas, world_scale(spec))
        # the closest view shows about the canvas's share of the world
        max_width = MAX_PRODUCT_WIDTH * canvas[0] / size[0]
        for i, theme in enumerate(spec.themes):
            progress(_PLAN_SHARE * i / n_scenes, f"Building the {theme} set ({i + 1}/{n_scenes})")
            worlds.append(
                studio_world(
                    seg,
                    theme=theme,
                    seed=spec.seed + i,
                    size=size,
                    fill=spec.fill,
                    brand_color=spec.brand_color,
                    max_width=max_width,
                    **ratios,
                )
            )

    if spec.style == "parallax":  # a depth model, when one is configured and importable
        for k, world in enumerate(worlds):
            estimated = estimated_depth_ratios(
                world, config, wall=ratios["wall_ratio"], front=ratios["front_ratio"]
            )
            if estimated is not None:
                worlds[k] = dataclasses.replace(
                    world, depth_ratio=estimated, meta={**world.meta, "depth": "model"}
                )

    # 3. the timeline, then the product master at the largest size it is shown
    g0 = worlds[0].geometry
    aspect = g0.product_box[2] / g0.product_box[3]
    end_box = end_card_product_box(canvas, aspect) if end_card else None
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
    timeline = Timeline(
        spec, canvas, [w.geometry for w in worlds], end_card=end_card, end_box=end_box, texts=keys
    )
    rx, ry, rw, rh = timeline.rest_box
    master = make_master(seg.cutout, math.ceil(timeline.max_product_scale() * rw - 1e-6))
    master_to_rest = Similarity(rw / master.size[0], rx, ry)

    # 4. the end card backdrop, and background motion from a video model
    if end_card:
        worlds.append(
            end_card_world(
                canvas,
                colors=_end_card_colors(spec),
                product_rgba=master.rgba,
                rest_box=timeline.rest_box,
                seed=spec.seed,
            )
        )
    if spec.motion == "diffusion":
        progress(_PLAN_SHARE * 0.8, "Animating the background")
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
        meta={"end_card": end_card, "world_size": list(worlds[0].size), "base_zoom": timeline.base_zoom},
    )

    # 5. text sprites, placed where the product never goes
    texts = OverlayText(
        headline=spec.headline,
        price=price,
        cta=spec.cta,
        lang=spec.locale.replace("_", "-"),
        brand=spec.brand_color,
        compare_at=(
            format_price(spec.compare_at, spec.currency, spec.locale)
            if spec.discounted and spec.compare_at is not None
            else None
        ),
    )
    if keys:
        plan.sprites = _sprites(plan, texts, logo, end_box)
    progress(_PLAN_SHARE, "Rendering frames")
    return plan


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


def _sprites(plan: ClipPlan, texts: OverlayText, logo: Image.Image | None, end_box: Any) -> dict[str, Sprite]:
    timeline, canvas = plan.timeline, plan.canvas
    fps = plan.spec.fps
    # where the product goes while the scenes play (text must stay clear of it)
    last = int((timeline.move_start if plan.meta["end_card"] else timeline.scenes_end) * fps)
    boxes = [
        plan.master_to_rest.then(timeline.product_at(i / fps)).box(
            (0.0, 0.0, float(plan.master.size[0]), float(plan.master.size[1]))
        )
        for i in range(0, last + 1)
    ]
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    area = (x0, y0, max(b[0] + b[2] for b in boxes) - x0, max(b[1] + b[3] for b in boxes) - y0)
    # scene text crosses every scene: it is dark only where all of them are light there
    compositor = _Compositor(plan)
    shots = [
        round(0.5 * (max(shot.start, 0.0) + min(shot.end, timeline.scenes_end)) * fps)
        for shot in timeline.shots
    ]
    scenes = [cv2.cvtColor(compositor.background(i), cv2.COLOR_RGB2GRAY) for i in shots]

    def luma_at(rect: tuple[float, float, float, float], images: list[np.ndarray] = scenes) -> float:
        x, y, w, h = (int(round(v)) for v in rect)
        patches = [img[max(y, 0) : max(y + h, 1), max(x, 0) : max(x + w, 1)] for img in images]
        return min(float(p.mean()) if p.size else 128.0 for p in patches)

    sprites = scene_sprites(texts, canvas, area, luma_at, include_price_cta=not plan.meta["end_card"])
    if plan.meta["end_card"]:
        end_plate = cv2.cvtColor(plan.worlds[-1].plate, cv2.COLOR_RGBA2GRAY)
        sprites += end_card_sprites(texts, canvas, end_box, lambda r: luma_at(r, [end_plate]), logo)
    return _legible({s.key: s for s in sprites}, plan, texts, logo)


# a plate reads as a designed element only when it is fairly solid
PLATE_OPACITIES = (0.55, 0.7, 0.85, 1.0)


def _legible(
    sprites: dict[str, Sprite], plan: ClipPlan, texts: OverlayText, logo: Image.Image | None
) -> dict[str, Sprite]:
    """Each text's colour, else a backing plate, chosen so its contrast passes the
    poster threshold in every sampled frame where it is fully shown (every 5th frame,
    the worlds only): its ink, the other ink, then a plate at rising opacity."""
    keys = [k for k, s in sprites.items() if s.ink is not None]
    if not keys:
        return sprites
    plan.sprites = sprites
    compositor = _Compositor(plan)
    short = min(plan.canvas)
    from generation.posters.checks import required_ratio

    # per text: (ink, None) or (ink, (plate colour, plate opacity)), in the order tried
    options: dict[str, list[tuple[tuple[int, int, int], tuple[tuple[int, int, int], float] | None]]] = {}
    for k in keys:
        ink = sprites[k].ink
        assert ink is not None  # keys holds the sprites with ink only
        other = INK_DARK if ink == INK_LIGHT else INK_LIGHT
        options[k] = [(ink, None), (other, None)]
        options[k] += [(ink, (plate_for(ink), o)) for o in PLATE_OPACITIES]
    worst = {k: [math.inf] * len(options[k]) for k in keys}
    n = plan.frame_count
    frames = sorted(set(range(0, n, 5)) | {n - 1})
    for index in frames:
        state = plan.state(index)
        visible = [t for t in state.texts if t.key in worst and t.opacity >= 0.999]
        if not visible:
            continue
        behind = compositor.background(index)
        for text in visible:
            sprite = sprites[text.key]
            box = ink_box(sprite, text.dy)
            for j, (ink, plate) in enumerate(options[text.key]):
                ratio = contrast_behind(behind, box, ink, sprite.size_px, plate)
                if ratio is not None:
                    worst[text.key][j] = min(worst[text.key][j], ratio)
    fixed = dict(sprites)
    for k in keys:
        sprite = sprites[k]
        need = required_ratio(sprite.size_px, sprite.weight, short)
        choice = next((j for j, r in enumerate(worst[k]) if r >= need), len(options[k]) - 1)
        if choice == 0:
            continue
        ink, plate = options[k][choice]
        assert sprite.rect is not None
        fixed[k] = _sprite(k, texts, sprite.rect, plan.canvas, lambda r: 0.0, logo, ink=ink, plate=plate)
        plan.meta.setdefault("text_fixes", []).append(
            f"{k}: {'plate ' + format(plate[1], '.0%') if plate else 'ink'}"
        )
    return fixed


# ---------------------------------------------------------------------------
# Drawing frames


class _Compositor:
    """Draws frames of a plan into reused buffers."""

    def __init__(self, plan: ClipPlan, buffers: int = 1) -> None:
        self.plan = plan
        cw, ch = plan.canvas
        # RGBA throughout: OpenCV warps 8-bit four-channel images ~3x faster than three
        self.ring = [np.full((ch, cw, 4), 255, dtype=np.uint8) for _ in range(max(1, buffers))]
        self.frame = self.ring[0]
        self.scratch = np.full((ch, cw, 4), 255, dtype=np.uint8)
        self._maps: tuple[np.ndarray, np.ndarray] | None = None
        self._cols = np.arange(cw, dtype=F32) + 0.5
        self.checks = FrameTextChecks(plan.canvas)

    def background(self, index: int) -> np.ndarray:
        """The frame's worlds only (no text, no product), as a new array."""
        state = self.plan.state(index)
        self._layers(state)
        return np.ascontiguousarray(self.frame[..., :3])

    def draw(self, index: int) -> ClipFrame:
        plan = self.plan
        self.frame = self.ring[index % len(self.ring)]
        state = plan.state(index)
        # 1. the worlds, crossfaded or slid
        self._layers(state)
        # 2. text, under the product, its contrast checked against the worlds first
        shown = [(t, plan.sprites[t.key]) for t in state.texts if t.key in plan.sprites]
        for text, sprite in shown:
            self.checks.contrast(index, self.frame, sprite, text.opacity, text.dy)
        for text, sprite in shown:
            draw_sprite(self.frame, sprite, text.opacity, text.dy)
        # 3. the product, last: its reference pasted, opaque pixels copied
        transform = plan.master_to_rest.then(state.product)
        layer = reference_product(plan.master, transform, plan.canvas)
        paste_product(self.frame, layer)
        for text, sprite in shown:  # no product pixel may hide text
            self.checks.overlap(sprite, text.dy, layer.origin, layer.pixels[..., 3])
        self.checks.frames_checked += 1
        # 4. and checked
        diff, opaque = measure_product(self.frame, layer)
        if diff != 0:
            raise GenerationError(
                f"frame {index}: product pixels differ from the reference by {diff}", code="fidelity_failed"
            )
        return ClipFrame(
            index=index,
            time=state.time,
            image=self.frame[..., :3],
            rgba=self.frame,
            product_transform=transform,
            product=layer,
            max_abs_diff=diff,
            opaque_pixels=opaque,
        )

    def _layers(self, state: FrameState) -> None:
        for k, layer in enumerate(state.layers):
            world = self.plan.worlds[layer.world]
            whole = k == 0 or (layer.opacity >= 1.0 and layer.columns is None)
            target = self.frame if whole else self.scratch
            self._world(layer, world, state.time, target)
            if whole:
                continue
            if layer.columns is not None:
                x0, x1 = layer.columns
                self.frame[:, x0:x1] = self.scratch[:, x0:x1]
            else:
                cv2.addWeighted(
                    self.scratch, layer.opacity, self.frame, 1.0 - layer.opacity, 0.0, dst=self.frame
                )

    def _world(self, layer: LayerState, world: World, t: float, out: np.ndarray) -> None:
        separate = layer.effects is not None or world.animation is not None
        if world.animation is not None:
            src = world.animation.plate_at(t)
        else:
            src = world.plate if separate else world.dressed
        if layer.depth is not None:
            self._depth_warp(src, world, layer.depth, out)
        elif layer.transform == IDENTITY and src.shape == out.shape:
            np.copyto(out, src)
        else:
            cw, ch = self.plan.canvas
            cv2.warpAffine(
                src,
                layer.transform.matrix(),
                (cw, ch),
                dst=out,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
        if separate and world.effect is not None:
            effects = layer.effects if layer.effects is not None else layer.transform
            _apply_effect(out, world.effect, world.effect.to_frame.then(effects))

    def _depth_warp(self, src: np.ndarray, world: World, depth: Depth, out: np.ndarray) -> None:
        """Parallax: each canvas row samples the world with its own depth's transform."""
        cw, ch = self.plan.canvas
        if self._maps is None:
            self._maps = (np.empty((ch, cw), dtype=F32), np.empty((ch, cw), dtype=F32))
        map_x, map_y = self._maps
        rows = np.arange(ch, dtype=np.float64) + 0.5
        wrows = np.arange(world.depth_ratio.shape[0], dtype=np.float64) + 0.5
        one = depth.at_ratio(1.0)
        y_world = (rows - one.ty) / one.scale
        for _ in range(2):  # the row's depth depends on the world row it shows: iterate
            r = np.interp(y_world, wrows, world.depth_ratio)
            z = depth.base * (1 + r * (depth.zoom - 1))
            s = depth.rest.scale * z
            tx = z * depth.rest.tx + depth.focus[0] * (1 - z) + r * depth.dx
            ty = z * depth.rest.ty + depth.focus[1] * (1 - z)
            y_world = (rows - ty) / s
        inv = (1.0 / s).astype(F32)[:, None]
        np.subtract(self._cols[None, :], tx.astype(F32)[:, None], out=map_x)
        map_x *= inv
        map_x -= 0.5
        map_y[:] = (y_world - 0.5).astype(F32)[:, None]
        cv2.remap(src, map_x, map_y, cv2.INTER_LINEAR, dst=out, borderMode=cv2.BORDER_REPLICATE)


def _apply_effect(out: np.ndarray, effect: Effect, transform: Similarity) -> None:
    """Multiply the effect's ratio (placed by ``transform``) into ``out``."""
    h, w = effect.ratio.shape[:2]
    ox, oy = effect.origin
    placed = Similarity(1.0, ox, oy).then(transform)
    x, y, bw, bh = placed.box((0.0, 0.0, float(w), float(h)))
    ch, cw = out.shape[:2]
    x0, y0 = max(0, math.floor(x)), max(0, math.floor(y))
    x1, y1 = min(cw, math.ceil(x + bw)), min(ch, math.ceil(y + bh))
    if x1 <= x0 or y1 <= y0:
        return
    ratio = cv2.warpAffine(
        effect.ratio,
        placed.matrix(origin=(x0, y0)),
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(1.0, 1.0, 1.0),
    )
    region = out[y0:y1, x0:x1]
    region[:] = np.clip(np.floor((region.astype(F32) + 0.5) * ratio), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# render_clip


def render_clip(
    seg: Segmentation,
    spec: ClipSpec,
    out_path: str | os.PathLike[str],
    *,
    scenes: list[RenderedImage] | None = None,
    config: GenerationConfig | None = None,
    logo: Image.Image | None = None,
    motion_model: Any = None,
    progress: ProgressCallback = no_progress,
    frame_hook: Callable[[ClipFrame], None] | None = None,
    verify_encoding: bool = True,
    sidecar: bool = False,
) -> ClipResult:
    """Render ``spec`` for the product in ``seg`` and write it to ``out_path`` (an MP4).

    ``plan_clip`` then ``write_clip``; see both. Raises InvalidSpec, ModelUnavailable and
    other GenerationError subclasses; on any error no output file is left behind.
    """
    _check_out_path(Path(out_path))
    plan = plan_clip(
        seg, spec, scenes=scenes, config=config, logo=logo, motion_model=motion_model, progress=progress
    )
    return write_clip(
        plan,
        out_path,
        progress=progress,
        frame_hook=frame_hook,
        verify_encoding=verify_encoding,
        sidecar=sidecar,
    )


def _check_out_path(out: Path) -> None:
    if out.suffix.lower() != ".mp4":
        raise InvalidSpec(f"the clip is an MP4: name the output *.mp4, got {out.name!r}")


def write_clip(
    plan: ClipPlan,
    out_path: str | os.PathLike[str],
    *,
    progress: ProgressCallback = no_progress,
    frame_hook: Callable[[ClipFrame], None] | None = None,
    verify_encoding: bool = True,
    sidecar: bool = False,
) -> ClipResult:
    """Draw ``plan``'s frames and encode them as they come into ``out_path`` (an MP4).

    Extra outputs go beside it: ``<stem>.webm`` (``spec.webm``), ``<stem>_preview.webp``
    (``spec.preview``), ``<stem>_poster.jpg`` (``spec.poster``) and ``<stem>.json``
    (``sidecar``: what made the clip, as the other outputs' sidecars). Every file is
    written to a hidden temporary in the same folder and renamed into place only when
    all of them are complete: on any error nothing is left behind. ``frame_hook`` sees
    each frame before it is encoded. ``verify_encoding`` decodes the MP4 back and
    measures the product's PSNR in three frames (first, middle, last).
    """
    out = Path(out_path)
    _check_out_path(out)
    spec = plan.spec
    folder = out.parent
    targets = {"mp4": out}
    if spec.webm:
        targets["webm"] = out.with_suffix(".webm")
    if spec.preview:
        targets["preview"] = out.with_name(f"{out.stem}_preview.webp")
    if spec.poster:
        targets["poster"] = out.with_name(f"{out.stem}_poster.jpg")
    if sidecar:
        targets["sidecar"] = out.with_suffix(".json")

    folder.mkdir(parents=True, exist_ok=True)
    preset = get_preset(spec.preset)
    n = plan.frame_count
    samples = sorted({0, n // 2, n - 1})
    references: dict[int, ProductLayer] = {}
    poster_index = _poster_index(plan)
    staged: dict[str, Path] = {key: temporary_path(path) for key, path in targets.items()}
    try:
        # 2. draw frames here and encode them on a worker thread as they come: x264 and
        #    the drawing (OpenCV, numpy) both release the GIL, so they overlap
        worst, min_opaque, first_box = 0, None, None
        writer = _FrameWriter(plan, preset, staged, spec)
        try:
            frames = plan.frames(
                lambda f, m: progress(_PLAN_SHARE + (1 - _PLAN_SHARE) * 0.97 * f, m),
                buffers=_FrameWriter.BUFFERS,
            )
            for frame in frames:
                if frame_hook is not None:
                    frame_hook(frame)
                writer.put(frame.rgba)
                if frame.index == poster_index and spec.poster:
                    with open(staged["poster"], "wb") as fh:
                        enc.save_poster(np.ascontiguousarray(frame.image), fh)
                if frame.index in samples:
                    references[frame.index] = frame.product
                if frame.index == 0:
                    first_box = frame.product_transform.box(
                        (0.0, 0.0, float(plan.master.size[0]), float(plan.master.size[1]))
                    )
                worst = max(worst, frame.max_abs_diff)
                min_opaque = (
                    frame.opaque_pixels if min_opaque is None else min(min_opaque, frame.opaque_pixels)
                )
        except BaseException:
            writer.abort()
            raise
        writer.finish()

        # 3. read the MP4 back: what was written, and how the product survived encoding
        progress(0.985, "Checking the encoded clip")
        info = enc.probe_video(staged["mp4"])
        if info.frame_count != n or (info.width, info.height) != plan.canvas:
            raise GenerationError(
                f"the encoder wrote {info.frame_count} frames of {info.width}x{info.height}, "
                f"expected {n} of {plan.canvas[0]}x{plan.canvas[1]}",
                code="encoding_failed",
            )
        psnr = _encoded_psnr(staged["mp4"], references) if verify_encoding else None
        assert first_box is not None and min_opaque is not None
        fidelity = ClipFidelity(
            max_abs_diff=worst,
            min_opaque_pixels=min_opaque,
            frames_checked=n,
            encoded_psnr_db=psnr,
            encoded_frames_checked=len(references) if psnr is not None else 0,
        )
        result = ClipResult(
            path=out,
            duration=n / spec.fps,
            fps=spec.fps,
            codec=info.codec,
            width=info.width,
            height=info.height,
            frame_count=info.frame_count,
            size_bytes=staged["mp4"].stat().st_size,
            fidelity=fidelity,
            product_box=tuple(round(v) for v in first_box),  # type: ignore[arg-type]
            webm=targets.get("webm"),
            preview=targets.get("preview"),
            poster=targets.get("poster"),
            meta=_meta(plan),
        )
        if plan.text_checks is not None:
            result.meta["text_checks"] = plan.text_checks.summary()
        if sidecar:
            staged["sidecar"].write_bytes(_sidecar_json(result))

        # 4. all complete: move into place
        for key, temporary in staged.items():
            os.replace(temporary, targets[key])
    except BaseException:
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
        raise
    progress(1.0, "Clip done")
    return result


def _sidecar_json(result: ClipResult) -> bytes:
    from generation.sidecar import SIDECAR_DEFAULTS

    data = {**SIDECAR_DEFAULTS, **result.sidecar()}
    return (json.dumps(data, indent=2, default=str) + "\n").encode()


class _FrameWriter:
    """Encoders (MP4, optional WebM and preview) fed from a bounded queue by one thread.

    ``put`` blocks while ``DEPTH`` frames wait, so memory stays bounded whatever the
    clip's length. Frames are not copied: the renderer draws into ``BUFFERS`` buffers in
    turn, enough that none is drawn over while queued or being encoded.
    """

    DEPTH = 3
    BUFFERS = DEPTH + 2  # queued + the one being encoded + the one being drawn

    def __init__(self, plan: ClipPlan, preset: Any, staged: dict[str, Path], spec: ClipSpec) -> None:
        import queue
        import threading

        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=self.DEPTH)
        self._error: BaseException | None = None
        self._encoders = [
            enc.VideoEncoder(staged["mp4"], enc.h264_settings(preset, spec.fps), plan.canvas, spec.fps)
        ]
        try:
            if spec.webm:
                self._encoders.append(
                    enc.VideoEncoder(staged["webm"], enc.vp9_settings(preset), plan.canvas, spec.fps)
                )
        except BaseException:
            self._encoders[0].abort()
            raise
        self._preview = (
            enc.PreviewCollector(plan.canvas, spec.fps, plan.frame_count) if spec.preview else None
        )
        self._preview_path = staged.get("preview")
        self._thread = threading.Thread(target=self._run, name="clip-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        index = 0
        try:
            while (image := self._queue.get()) is not None:
                for encoder in self._encoders:
                    encoder.write(image)
                if self._preview is not None:
                    self._preview.offer(index, image)
                index += 1
        except BaseException as exc:  # reported to the drawing thread on its next put
            self._error = exc
            while self._queue.get() is not None:  # drain so the producer never blocks
                pass

    def put(self, image: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(image)

    def finish(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            for encoder in self._encoders:
                encoder.abort()
            raise self._error
        for encoder in self._encoders:
            encoder.close()
        if self._preview is not None and self._preview_path is not None:
            with open(self._preview_path, "wb") as fh:
                self._preview.save(fh)

    def abort(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        for encoder in self._encoders:
            encoder.abort()


def _poster_index(plan: ClipPlan) -> int:
    """A frame with every scene text revealed and the camera settled a little."""
    t_cfg = presets_data()["text"]
    tl = plan.timeline
    t = 0.45 * tl.scenes_end
    shown = [k for k in plan.sprites if not (plan.meta["end_card"] and k in END_CARD_TEXTS)]
    if shown:
        revealed = max(float(t_cfg.get(f"{k}_at_s", 0.3)) for k in shown)
        t = max(t, revealed + float(t_cfg["reveal_s"]) + 0.2)
    t = min(t, max(tl.scenes_end - 0.1, 0.0))
    return min(plan.frame_count - 1, round(t * plan.spec.fps))


def _encoded_psnr(path: Path, references: dict[int, ProductLayer]) -> float | None:
    """Lowest PSNR (dB) over the sampled frames, in the reference's opaque pixels."""
    worst: float | None = None
    decoded = enc.decode_frames_at(path, list(references))
    for index, layer in references.items():
        rgb = decoded.get(index)
        if rgb is None:
            raise GenerationError(
                f"frame {index} could not be read back from the clip", code="encoding_failed"
            )
        x0, y0, w, h = layer.box
        opaque = layer.opaque
        if not opaque.any():
            continue
        got = rgb[y0 : y0 + h, x0 : x0 + w][opaque].astype(np.float64)
        want = layer.pixels[..., :3][opaque].astype(np.float64)
        mse = float(((got - want) ** 2).mean())
        psnr = math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)
        worst = psnr if worst is None else min(worst, psnr)
    return worst


def _meta(plan: ClipPlan) -> dict[str, Any]:
    spec = plan.spec
    worlds = [w for w in plan.worlds if w.source != "end_card"]
    themes = [w.theme for w in worlds]
    return {
        "segmenter": plan.segmenter,
        "engine": "clip",
        "theme": themes[0] if len(themes) == 1 else themes,
        "seed": spec.seed,
        "preset": spec.preset,
        "style": spec.style,
        "motion": spec.motion,
        "transition": spec.transition if spec.style == "sequence" else None,
        "end_card": plan.meta["end_card"],
        "scenes": [w.name for w in worlds],
        "text": {
            "headline": spec.headline or None,
            "price": spec.price,
            "compare_at": spec.compare_at if spec.discounted else None,
            "currency": spec.currency if spec.price is not None else None,
            "cta": spec.cta or None,
        },
    }
