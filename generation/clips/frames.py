"""Drawing a clip's frames into a few reused RGBA buffers: worlds under their camera
transforms, crossfades and slides, the light sweep over them, text, and last of all the
product's reference resampling pasted with its opaque pixels copied, then checked.

The fade reveal blends the worlds towards a plain field of the set's mean colour before
text and product are drawn, so the set fades in around a product whose pixels never change.

The light sweep is a soft band of added light that passes over the set (``presets.json``
``sweep``). It is drawn before the product is pasted, so it never touches the product's
opaque pixels (they stay the reference's own bytes); the product's soft edge is
composited over the lit set like any other background.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from generation.clips.checks import FrameTextChecks
from generation.clips.encode import YUV420Converter
from generation.clips.motion import IDENTITY, Depth, FrameState, LayerState, Similarity, TextState
from generation.clips.overlay import Sprite, draw_sprite
from generation.clips.planes import Planes, Rect, WorldPlanes, even_rect, merge_rects, rect_planes
from generation.clips.product import (
    ProductLayer,
    Scratch,
    measure_product,
    paste_product,
    product_region,
    reference_product,
)
from generation.clips.results import ClipFrame
from generation.clips.spec import presets_data
from generation.clips.worlds import Effect, PropLayer, World
from generation.errors import GenerationError

if TYPE_CHECKING:
    from generation.clips.plan import ClipPlan

F32 = np.float32
# a frame drawn in the planes pays for its RGB parts twice (zoomed and warped): past this
# share of the canvas, drawing it whole in RGB is cheaper
RGB_SHARE = 0.6


class Compositor:
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
        self._band: np.ndarray | None = None
        self._field: np.ndarray | None = None
        self._effect_work: _EffectWork | None = None
        self._scratch = Scratch()
        self.checks = FrameTextChecks(plan.canvas)
        self._converter = YUV420Converter(cw, ch)
        self._world_planes: dict[int, WorldPlanes] = {}  # by id() of the world image

    def background(self, index: int, *, copy: bool = True) -> np.ndarray:
        """The frame's worlds only (no text, no product), as a new array; ``copy=False``:
        a view of the compositor's buffer, good until its next frame (the whole frame
        copied out of RGBA costs about twice its warp)."""
        state = self.plan.state(index)
        self._layers(state)
        return np.ascontiguousarray(self.frame[..., :3]) if copy else self.frame[..., :3]

    def draw(self, index: int, *, planes: bool = False, whole: bool = True) -> ClipFrame:
        """Frame ``index``. ``planes``: also as the encoder takes it (``ClipFrame.planes``).
        ``whole=False`` (with ``planes``) lets a frame whose worlds are one plain zoom be
        drawn in the planes directly, with RGB only round what lies over the world (the
        product, text, the shadow layer, the light sweep): ``ClipFrame.whole`` says which
        it was (see ``planes.py``)."""
        plan = self.plan
        self.frame = self.ring[index % len(self.ring)]
        state = plan.state(index)
        transform = plan.master_to_rest.then(state.product)
        shown = [(t, plan.sprites[t.key]) for t in state.texts if t.key in plan.sprites]
        # the product's reference first: where it is opaque through, nothing behind it shows
        layer = reference_product(plan.master, transform, plan.canvas)
        # 1. the worlds, crossfaded or slid: in the planes, and in RGB where more is drawn
        rects = None if whole or not planes else self._rects(state, transform, shown)
        yuv: Planes | None = None
        if rects is None:
            self._layers(state)
        else:
            yuv = self._layers_in_planes(state, rects, _hidden(layer, shown))
        # 2. text, under the product, its contrast checked against the worlds first
        for text, sprite in shown:
            self.checks.contrast(index, self.frame, sprite, text.opacity, text.dy)
        for text, sprite in shown:
            draw_sprite(self.frame, sprite, text.opacity, text.dy)
        # 3. the product, last: its reference pasted, opaque pixels copied
        opaque = paste_product(self.frame, layer, self._scratch)
        for text, sprite in shown:  # no product pixel may hide text
            self.checks.overlap(sprite, text.dy, layer.origin, layer.pixels[..., 3])
        self.checks.frames_checked += 1
        # 4. and checked
        diff, count = measure_product(self.frame, layer, opaque, self._scratch)
        if diff != 0:
            raise GenerationError(
                f"frame {index}: product pixels differ from the reference by {diff}", code="fidelity_failed"
            )
        # 5. as the encoder takes it: what was drawn in RGB converted, and only that
        if planes:
            cw, ch = plan.canvas
            if yuv is None:
                yuv = (
                    np.empty((ch, cw), np.uint8),
                    np.empty((ch // 2, cw // 2), np.uint8),
                    np.empty((ch // 2, cw // 2), np.uint8),
                )
                rects = [(0, 0, cw, ch)]
            assert rects is not None
            for x0, y0, x1, y1 in rects:
                self._converter.convert(self.frame[y0:y1, x0:x1], *rect_planes(yuv, (x0, y0, x1, y1)))
        return ClipFrame(
            index=index,
            time=state.time,
            image=self.frame[..., :3],
            rgba=self.frame,
            product_transform=transform,
            product=layer,
            max_abs_diff=diff,
            opaque_pixels=count,
            planes=yuv,
            whole=rects is None or rects == [(0, 0, *plan.canvas)],
        )

    def _rects(
        self, state: FrameState, product: Similarity, shown: list[tuple[TextState, Sprite]]
    ) -> list[Rect] | None:
        """Where a frame drawn in the planes needs RGB (even-aligned, disjoint), or None
        when it must be drawn whole: more than one world, a crossfade or slide, parallax,
        an animated plate, the fade reveal, or RGB over most of the frame anyway."""
        if len(state.layers) != 1 or state.veil > 0.0:
            return None
        layer = state.layers[0]
        world = self.plan.worlds[layer.world]
        if layer.opacity < 1.0 or layer.columns is not None or layer.depth is not None:
            return None
        if layer.props < 1.0 or layer.soften > 0.0:
            return None
        if world.animation is not None:
            return None
        canvas = self.plan.canvas
        boxes = [product_region(self.plan.master.size, product, canvas)]
        for text, sprite in shown:
            top = math.floor(sprite.origin[1] + text.dy)
            h, w = sprite.pixels.shape[:2]
            boxes.append((sprite.origin[0], top, sprite.origin[0] + w, top + h + 1))
        if layer.effects is not None and world.effect is not None and layer.shadow > 0:
            box = _effect_box(world.effect, world.effect.to_frame.then(layer.effects), canvas)
            if box is not None:
                boxes.append(box)
        if state.sweep is not None:
            band = self._band_columns(state.sweep)
            if band is not None:
                boxes.append((band[0], 0, band[1], canvas[1]))
        rects = merge_rects([r for b in boxes if (r := even_rect(*b, canvas)) is not None])
        area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rects)
        return None if area > RGB_SHARE * canvas[0] * canvas[1] else rects

    def _layers_in_planes(self, state: FrameState, rects: list[Rect], hidden: Rect | None = None) -> Planes:
        """The one world of a plain frame (see ``_rects``): zoomed in the planes, warped in
        RGB inside ``rects`` only, with its shadow layer and the light sweep there.
        ``hidden``: canvas pixels the product's opaque pixels cover and nothing reads
        before they are pasted (``_hidden``): the world is not warped there."""
        layer = state.layers[0]
        world = self.plan.worlds[layer.world]
        src = world.plate if layer.effects is not None else world.dressed
        key = id(src)
        if key not in self._world_planes:
            self._world_planes[key] = WorldPlanes(src)
        yuv = self._world_planes[key].draw(layer.transform, self.plan.canvas)
        for x0, y0, x1, y1 in (piece for rect in rects for piece in _less(rect, hidden)):
            cv2.warpAffine(
                src,
                layer.transform.matrix(origin=(x0, y0)),
                (x1 - x0, y1 - y0),
                dst=self.frame[y0:y1, x0:x1],
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
        if layer.effects is not None and world.effect is not None and layer.shadow > 0:
            if self._effect_work is None:
                self._effect_work = _EffectWork(self.plan.canvas)
            _apply_effect(
                self.frame,
                world.effect,
                world.effect.to_frame.then(layer.effects),
                self._effect_work,
                layer.shadow,
            )
        if state.sweep is not None:
            self._sweep(state.sweep)
        return yuv

    def _layers(self, state: FrameState) -> None:
        self._worlds(state)
        if state.veil > 0.0:
            self._veil(state.veil)
        if state.sweep is not None:
            self._sweep(state.sweep)

    def _veil(self, v: float) -> None:
        """Blend the worlds towards a plain field of the first set's own mean colour (the
        fade reveal: the set fades in around the product)."""
        if self._field is None:
            plate = self.plan.worlds[0].plate
            colour = [round(float(c)) for c in plate[..., :3].reshape(-1, 3).mean(axis=0)]
            self._field = np.empty_like(self.frame)
            self._field[:] = (*colour, 255)
        cv2.addWeighted(self._field, v, self.frame, 1.0 - v, 0.0, dst=self.frame)

    def _sweep(self, u: float) -> None:
        """Add the light band at progress ``u`` (0: just off the left edge, 1: off the right)."""
        columns = self._band_columns(u)
        if columns is None:
            return
        x0, x1, inside = columns
        region = self.frame[:, x0:x1]
        cv2.add(region, self.band()[:, inside : inside + x1 - x0], dst=region)

    def _band_columns(self, u: float) -> tuple[int, int, int] | None:
        """The canvas columns x0, x1 the light band covers at progress ``u``, and the band's
        column at x0; None when it is off the canvas."""
        cw = self.plan.canvas[0]
        bw = self.band().shape[1]
        left = round(-bw + u * (cw + bw))  # canvas column of the band's first column
        x0, x1 = max(left, 0), min(left + bw, cw)
        return None if x1 <= x0 else (x0, x1, x0 - left)

    def band(self) -> np.ndarray:
        """The light sweep's band: (H, w, 4) uint8 of light added (alpha 0), a soft
        diagonal stripe whose top leans ahead of its foot."""
        if self._band is None:
            cfg = presets_data()["sweep"]
            cw, ch = self.plan.canvas
            sigma = float(cfg["width"]) * cw
            lean = math.tan(math.radians(float(cfg["angle_deg"]))) * ch
            bw = int(math.ceil(6 * sigma + lean)) + 2
            xs = np.arange(bw, dtype=F32)[None, :] + 0.5
            centre = (bw / 2 + lean * ((np.arange(ch, dtype=F32) + 0.5) / ch - 0.5))[:, None]
            # exp(-0.5 * ((xs - centre) / sigma) ** 2) * peak, in place, in float32
            light = xs - centre
            light /= F32(sigma)
            np.square(light, out=light)
            light *= F32(-0.5)
            np.exp(light, out=light)
            light *= F32(cfg["peak"])
            # clip(light * tint + 0.5, 0, 255) truncated, one channel at a time (the
            # four-channel float image cost several times the rest); alpha adds nothing
            band = np.zeros((ch, bw, 4), dtype=np.uint8)
            work = np.empty_like(light)
            for c, tint in enumerate(cfg["tint"]):
                np.multiply(light, F32(tint), out=work)
                work += F32(0.5)
                np.clip(work, 0, 255, out=work)
                band[..., c] = work
            self._band = band
        return self._band

    def _worlds(self, state: FrameState) -> None:
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

    def _warp(self, src: np.ndarray, layer: LayerState, out: np.ndarray) -> None:
        """``src`` moved by the layer's camera onto ``out``, its edges repeated."""
        cv2.warpAffine(
            src,
            layer.transform.matrix(),
            self.plan.canvas,
            dst=out,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )

    def _world(self, layer: LayerState, world: World, t: float, out: np.ndarray) -> None:
        # the props faded over the set without them (a crossfade's): the product's shadows
        # drawn apart, over them, as the bare set lacks them
        fading = layer.props < 1.0 and world.animation is None and world.bare is not None
        separate = layer.effects is not None or world.animation is not None or fading
        # parallax over a set whose props are layers: the bare set, then each prop at its depth
        props = (layer.depth is not None or fading) and world.animation is None and world.bare is not None
        if world.animation is not None:
            src = world.animation.plate_at(t)
        elif props and world.bare is not None:
            src = world.bare
        else:
            src = world.plate if separate else world.dressed
        if layer.depth is not None:
            self._depth_warp(src, world, layer.depth, out)
            if props:
                for prop in _far_to_near(world):
                    _draw_prop(out, prop, layer.depth.at_ratio(prop.ratio), _shown(prop, world, layer))
        elif fading:
            self._warp(src, layer, out)
            for prop in _far_to_near(world):
                _draw_prop(out, prop, layer.transform, _shown(prop, world, layer))
        elif layer.transform == IDENTITY and src.shape == out.shape:
            np.copyto(out, src)
        else:
            self._warp(src, layer, out)
        if separate and world.effect is not None and layer.shadow > 0:
            effects = layer.effects if layer.effects is not None else layer.transform
            if self._effect_work is None:
                self._effect_work = _EffectWork(self.plan.canvas)
            _apply_effect(
                out,
                world.effect,
                world.effect.to_frame.then(effects),
                self._effect_work,
                layer.shadow,
                layer.soften,
            )

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
            tx = z * depth.rest.tx + depth.focus[0] * (1 - z) + depth.shift_at(r)
            ty = z * depth.rest.ty + depth.focus[1] * (1 - z)
            y_world = (rows - ty) / s
        inv = (1.0 / s).astype(F32)[:, None]
        np.subtract(self._cols[None, :], tx.astype(F32)[:, None], out=map_x)
        map_x *= inv
        map_x -= 0.5
        map_y[:] = (y_world - 0.5).astype(F32)[:, None]
        cv2.remap(src, map_x, map_y, cv2.INTER_LINEAR, dst=out, borderMode=cv2.BORDER_REPLICATE)


def _hidden(layer: ProductLayer, shown: list[tuple[TextState, Sprite]]) -> Rect | None:
    """The canvas box of the layer's interior (x0, y0, x1, y1) when it is opaque through and
    no text shown lies over it (its contrast is measured on the world behind it, before
    the product is pasted), else None: what the world need not be drawn under."""
    if layer.interior is None:
        return None
    h, w = layer.pixels.shape[:2]
    x0, y0 = max(layer.interior[0], 0), max(layer.interior[1], 0)
    x1, y1 = min(layer.interior[2], w), min(layer.interior[3], h)
    if x1 <= x0 or y1 <= y0 or cv2.minMaxLoc(cv2.extractChannel(layer.pixels[y0:y1, x0:x1], 3))[0] < 255:
        return None
    ox, oy = layer.origin
    box = (ox + x0, oy + y0, ox + x1, oy + y1)
    for text, sprite in shown:
        top = math.floor(sprite.origin[1] + text.dy)
        sh, sw = sprite.pixels.shape[:2]
        if (
            sprite.origin[0] < box[2]
            and box[0] < sprite.origin[0] + sw
            and top < box[3]
            and box[1] < top + sh + 1
        ):
            return None
    return box


def _less(rect: Rect, hole: Rect | None) -> list[Rect]:
    """``rect`` less ``hole``: the rows above and below the hole, the columns left and
    right of it (``rect`` itself when they do not overlap). The pieces that keep
    ``rect``'s left edge (all but the right one) warp to the bytes ``rect`` would."""
    if hole is None:
        return [rect]
    x0, y0, x1, y1 = rect
    hx0, hy0, hx1, hy1 = max(hole[0], x0), max(hole[1], y0), min(hole[2], x1), min(hole[3], y1)
    if hx1 <= hx0 or hy1 <= hy0:
        return [rect]
    pieces = [(x0, y0, x1, hy0), (x0, hy1, x1, y1), (x0, hy0, hx0, hy1), (hx1, hy0, x1, hy1)]
    return [p for p in pieces if p[2] > p[0] and p[3] > p[1]]


def _far_to_near(world: World) -> list[PropLayer]:
    """The world's prop layers and its podium in the order they are drawn: the props
    behind the podium, the podium, then the props on it and in front of it (each group
    in the world's order)."""
    pod = world.podium
    if pod is None:
        return list(world.props)
    return [
        *(p for p in world.props if p.ratio < pod.ratio),
        pod,
        *(p for p in world.props if p.ratio >= pod.ratio),
    ]


def _shown(prop: PropLayer, world: World, layer: LayerState) -> float:
    """How much of ``prop`` is seen: the layer's props' opacity, but the podium's, which
    the product stands on, whole."""
    return 1.0 if prop is world.podium else layer.props


def _draw_prop(out: np.ndarray, prop: PropLayer, transform: Similarity, opacity: float = 1.0) -> None:
    """Composite ``prop`` (placed by world -> canvas ``transform``) over ``out``, faded to
    ``opacity`` (premultiplied: its colour and alpha scaled together)."""
    if opacity <= 0.0:
        return
    h, w = prop.pixels.shape[:2]
    placed = Similarity(1.0, *map(float, prop.origin)).then(transform)
    x, y, bw, bh = placed.box((0.0, 0.0, float(w), float(h)))
    ch, cw = out.shape[:2]
    x0, y0 = max(0, math.floor(x)), max(0, math.floor(y))
    x1, y1 = min(cw, math.ceil(x + bw)), min(ch, math.ceil(y + bh))
    if x1 <= x0 or y1 <= y0:
        return
    fg = cv2.warpAffine(
        prop.pixels,
        placed.matrix(origin=(x0, y0)),
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    if opacity < 1.0:
        fg = cv2.convertScaleAbs(fg, alpha=opacity)
    region = out[y0:y1, x0:x1]
    inv = cv2.bitwise_not(cv2.extractChannel(fg, 3))
    under = cv2.multiply(region, cv2.merge([inv] * 4), scale=1.0 / 255.0)
    # premultiplied "over"; the frame's alpha stays 255
    region[:] = cv2.add(fg, under)
    region[..., 3] = 255


class _EffectWork:
    """Two float32 buffers the size of the canvas, reused by ``_apply_effect`` every frame
    (fresh arrays this large cost more in page faults than the arithmetic)."""

    def __init__(self, canvas: tuple[int, int]) -> None:
        size = canvas[0] * canvas[1] * 4
        self._ratio = np.empty(size, dtype=F32)
        self._mixed = np.empty(size, dtype=F32)

    def views(self, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous (h, w, 4) views (OpenCV writes into a ``dst`` only when contiguous)."""
        n = shape[0] * shape[1] * shape[2]
        return self._ratio[:n].reshape(shape), self._mixed[:n].reshape(shape)


def _effect_box(
    effect: Effect, transform: Similarity, canvas: tuple[int, int], pad: int = 0
) -> tuple[int, int, int, int] | None:
    """The canvas pixels (x0, y0, x1, y1) the effect placed by ``transform`` covers, and
    ``pad`` px round it."""
    h, w = effect.ratio.shape[:2]
    ox, oy = effect.origin
    x, y, bw, bh = Similarity(1.0, ox, oy).then(transform).box((0.0, 0.0, float(w), float(h)))
    x0, y0 = max(0, math.floor(x) - pad), max(0, math.floor(y) - pad)
    x1, y1 = min(canvas[0], math.ceil(x + bw) + pad), min(canvas[1], math.ceil(y + bh) + pad)
    return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)


def _apply_effect(
    out: np.ndarray,
    effect: Effect,
    transform: Similarity,
    work: _EffectWork,
    strength: float = 1.0,
    soften: float = 0.0,
) -> None:
    """Multiply the effect's ratio (placed by ``transform``, softened by a Gaussian of
    sigma ``soften`` px, towards 1 by ``strength``) into ``out``: ``floor((out + 0.5) *
    ratio)`` in float32, clipped to 0..255."""
    pad = math.ceil(3 * soften) if soften > 0 else 0
    box = _effect_box(effect, transform, (out.shape[1], out.shape[0]), pad)
    if box is None:
        return
    x0, y0, x1, y1 = box
    placed = Similarity(1.0, *map(float, effect.origin)).then(transform)
    ratio, mixed = work.views((y1 - y0, x1 - x0, effect.ratio.shape[2]))
    cv2.warpAffine(
        effect.ratio,
        placed.matrix(origin=(x0, y0)),
        (x1 - x0, y1 - y0),
        dst=ratio,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(1.0, 1.0, 1.0, 1.0),  # alpha too: the frame stays opaque
    )
    if soften > 0:  # ones beyond the box, as past the effect
        cv2.GaussianBlur(ratio, (0, 0), soften, dst=ratio, borderType=cv2.BORDER_REPLICATE)
    if strength < 1.0:  # in place: 1.0 + (ratio - 1.0) * F32(strength)
        ratio -= F32(1.0)
        ratio *= F32(strength)
        ratio += F32(1.0)
    region = out[y0:y1, x0:x1]
    # in place, the same float32 operations in the same order as
    # np.clip(np.floor((region.astype(F32) + 0.5) * ratio), 0, 255)
    np.copyto(mixed, region)
    mixed += F32(0.5)
    cv2.multiply(mixed, ratio, dst=mixed)
    np.floor(mixed, out=mixed)
    np.clip(mixed, 0, 255, out=mixed)
    np.copyto(region, mixed, casting="unsafe")
