"""How things move in a clip: easing, similarity transforms and the timeline of a clip.

Everything that moves on screen moves under a similarity (uniform scale + translation),
never a warp: the product, the world behind it, the shadow layers. Coordinates are
continuous pixel coordinates (pixel ``i`` spans ``[i, i + 1)``), so a transform means
the same thing whatever resolution it is applied at.

The timeline is a pure function of time: ``Timeline.at(t)`` says where the product is
(``product``: its rest box on the canvas -> canvas), which worlds are visible with which
transform and opacity, how far each text reveal has got and where the light sweep is.
The renderer draws that.

A clip is cut to a grid of beats (``Timeline.beats``: every ``beat_s``, and every cut
between scenes is a beat; with a sound track whose tempo was found, ``tempo``, the
music's beats instead, every cut and the move to the end card on one of them): the clip
opens over the first beat as ``spec.reveal`` says (the product drops onto its set, its
shadow there from the first frame and darkening as it lands; a flat-lay, seen from above,
is lowered onto its surface instead: a little larger at first, settling to its size with
its shadow tightening under it; or the set fades in around
the product, its shadow forming meanwhile; or neither), the light sweep starts on a beat,
and each text enters on its beat and leaves on the beat where the product heads for the
end card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from generation.clips.layout import ClipLayout
from generation.clips.spec import ClipSpec, presets_data
from generation.clips.tempo import Tempo

Box = tuple[float, float, float, float]  # x, y, w, h (floats: sub-pixel positions)

# Text that belongs to the end card when there is one (the rest plays over the scenes).
END_CARD_TEXTS = ("logo", "title", "price", "compare_at", "cta")
MIN_REVEAL_S = 0.3  # on the music's beats, the opening lasts at least this long
# a dropping product's shadow is softened by this share of its foot's height above the
# floor (a Gaussian's sigma): a contact line as sharp in the air as on the floor read as a
# mark on the set with the product hovering over it
SOFT_PER_HEIGHT = 0.5
# the product's shadow on its set is gone once its foot has left its place on the way to the
# end card by this share of its height (it lifts off its shadow, which stays on the set)
LIFT_FADE = 0.03


# ---------------------------------------------------------------------------
# Easing


def ease_in_out_cubic(u: float) -> float:
    """0 -> 1 with zero speed at both ends (camera moves start and stop gently)."""
    u = min(max(u, 0.0), 1.0)
    return 4 * u * u * u if u < 0.5 else 1 - (-2 * u + 2) ** 3 / 2


def ease_out_cubic(u: float) -> float:
    """0 -> 1 fast then settling (text reveals)."""
    u = min(max(u, 0.0), 1.0)
    return 1 - (1 - u) ** 3


def _ramp(t: float, start: float, length: float) -> float:
    if length <= 0:
        return 1.0 if t >= start else 0.0
    return min(max((t - start) / length, 0.0), 1.0)


# ---------------------------------------------------------------------------
# Similarity transforms


@dataclass(frozen=True)
class Similarity:
    """``X = scale * x + tx``, ``Y = scale * y + ty`` in continuous pixel coordinates."""

    scale: float = 1.0
    tx: float = 0.0
    ty: float = 0.0

    def then(self, outer: Similarity) -> Similarity:
        """This transform followed by ``outer``."""
        return Similarity(
            outer.scale * self.scale, outer.scale * self.tx + outer.tx, outer.scale * self.ty + outer.ty
        )

    def inverse(self) -> Similarity:
        s = 1.0 / self.scale
        return Similarity(s, -self.tx * s, -self.ty * s)

    def point(self, x: float, y: float) -> tuple[float, float]:
        return (self.scale * x + self.tx, self.scale * y + self.ty)

    def box(self, box: Box) -> Box:
        x, y, w, h = box
        return (self.scale * x + self.tx, self.scale * y + self.ty, self.scale * w, self.scale * h)

    def matrix(self, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
        """2x3 matrix for ``cv2.warpAffine`` in pixel-index coordinates.

        Maps source pixel indices to destination indices of an output whose top-left
        pixel is canvas pixel ``origin``: ``dst = s * src + (t + 0.5 s - 0.5) - origin``.
        """
        s = self.scale
        return np.array(
            [
                [s, 0.0, self.tx + 0.5 * s - 0.5 - origin[0]],
                [0.0, s, self.ty + 0.5 * s - 0.5 - origin[1]],
            ],
            dtype=np.float64,
        )


IDENTITY = Similarity()


def zoom_about(z: float, cx: float, cy: float) -> Similarity:
    """Scale by ``z`` keeping the point ``(cx, cy)`` where it is."""
    return Similarity(z, cx * (1 - z), cy * (1 - z))


def shift(dx: float, dy: float = 0.0) -> Similarity:
    return Similarity(1.0, dx, dy)


def interpolate(a: Similarity, b: Similarity, u: float, pivot: tuple[float, float]) -> Similarity:
    """From ``a`` (u=0) to ``b`` (u=1): scale geometrically, ``pivot`` along a straight line.

    Geometric scale steps look uniform to the eye; moving the pivot (the product's
    centre) in a straight line keeps the path free of the swing a linear blend of
    translations gives when the scale changes.
    """
    scale = a.scale * (b.scale / a.scale) ** u
    ax, ay = a.point(*pivot)
    bx, by = b.point(*pivot)
    cx, cy = ax + (bx - ax) * u, ay + (by - ay) * u
    return Similarity(scale, cx - scale * pivot[0], cy - scale * pivot[1])


def box_to_box(src: Box, dst: Box) -> Similarity:
    """The similarity taking ``src`` onto ``dst`` (by width; boxes share an aspect ratio)."""
    s = dst[2] / src[2]
    return Similarity(s, dst[0] - s * src[0], dst[1] - s * src[1])


def cover_fit(
    world_size: tuple[float, float], canvas: tuple[int, int], focus: tuple[float, float]
) -> Similarity:
    """World -> canvas at the smallest scale that covers the canvas, ``focus`` as central
    as the world's edges allow."""
    ww, wh = world_size
    cw, ch = canvas
    s = max(cw / ww, ch / wh)
    tx = min(max(cw / 2 - s * focus[0], cw - s * ww), 0.0)
    ty = min(max(ch / 2 - s * focus[1], ch - s * wh), 0.0)
    return Similarity(s, tx, ty)


def covers(
    t: Similarity, world_size: tuple[float, float], canvas: tuple[int, int], tol: float = 1e-3
) -> bool:
    """Whether the world under ``t`` covers the whole canvas."""
    x0, y0, w, h = t.box((0.0, 0.0, *world_size))
    return x0 <= tol and y0 <= tol and x0 + w >= canvas[0] - tol and y0 + h >= canvas[1] - tol


def min_zoom_to_cover(
    t: Similarity, world_size: tuple[float, float], canvas: tuple[int, int], focus: tuple[float, float]
) -> float:
    """Smallest ``z >= 1`` such that ``zoom_about(z, *focus)`` after ``t`` covers the canvas."""
    x0, y0, w, h = t.box((0.0, 0.0, *world_size))
    need = 1.0
    for lo, hi, f, size in ((x0, x0 + w, focus[0], canvas[0]), (y0, y0 + h, focus[1], canvas[1])):
        need = max(need, f / (f - lo) if lo < f else math.inf, (size - f) / (hi - f) if hi > f else math.inf)
    return need


# ---------------------------------------------------------------------------
# The timeline


@dataclass(frozen=True)
class WorldGeometry:
    """What the timeline needs to know about a world (a scene's set) to frame it."""

    size: tuple[int, int]  # world pixels
    product_box: Box  # where the product stands, world pixels
    horizon: float  # world row where the floor meets the wall (parallax depth)
    # a flat-lay's surface seen from above, drawn whole under the product: the product and
    # its shadows float just above it, so the surface takes a smaller share of the
    # camera's move than they do (``flat_lay.surface_ratio`` in ``presets.json``)
    flat: bool = False


@dataclass(frozen=True)
class Depth:
    """Parallax: a world drawn with depth-dependent motion instead of one transform.

    A world row at depth ratio ``r`` (1 = the product's floor contact, less = farther,
    more = nearer) moves under ``shift((r - still) * dx) . zoom_about(base * (1 + r (zoom - 1)),
    focus)`` after ``rest``: the camera travels sideways while turning to keep depth
    ``still`` in place (an arc around the product), so what is farther drifts one way,
    what is nearer the other, and the product, just in front of ``still``, hardly moves.
    """

    rest: Similarity  # world -> canvas at rest
    dx: float
    zoom: float
    base: float
    focus: tuple[float, float]
    still: float = 0.0  # the depth ratio that does not move sideways

    def shift_at(self, r: Any) -> Any:
        """Canvas px that depth ratio ``r`` (a number or an array) is moved sideways."""
        return (r - self.still) * self.dx

    def at_ratio(self, r: float) -> Similarity:
        z = self.base * (1 + r * (self.zoom - 1))
        return self.rest.then(zoom_about(z, *self.focus)).then(shift(self.shift_at(r)))


@dataclass(frozen=True)
class LayerState:
    """One world as drawn in one frame, bottom to top."""

    world: int  # index into the clip's worlds
    transform: Similarity  # world -> canvas
    effects: Similarity | None  # shadow layer -> canvas, or None: drawn with the world
    opacity: float = 1.0  # blended over the layers below it
    columns: tuple[int, int] | None = None  # canvas columns covered (slide), None: all
    depth: Depth | None = None
    shadow: float = 1.0  # strength of the product's shadow layer (0: none, while it lands)
    # the props' opacity over the set without them (``World.bare``; a crossfade's), 1: the
    # set as it is, props and all
    props: float = 1.0
    # px (a Gaussian's sigma) the product's shadow layer is softened by: a product in the
    # air casts a soft shadow, and a sharper one the nearer the floor it comes
    soften: float = 0.0


@dataclass(frozen=True)
class TextState:
    key: str  # headline | price | cta | logo | title
    opacity: float
    dy: float  # px, added to the sprite's rest position (slide-in)


@dataclass(frozen=True)
class FrameState:
    time: float
    product: Similarity  # the product's rest box -> canvas
    layers: tuple[LayerState, ...]
    texts: tuple[TextState, ...]
    sweep: float | None = None  # the light sweep's progress 0..1 across the frame, None: off
    veil: float = 0.0  # how far the worlds are still faded to a plain field (the fade reveal)


@dataclass(frozen=True)
class _Shot:
    world: int
    start: float  # visible from (transition-in start)
    end: float  # visible until (transition-out end)
    align: Similarity  # world -> rest canvas (product box onto the product's rest box)


class Timeline:
    """Where everything is at time ``t`` (seconds from the first frame).

    Built by ``plan_timeline``; pure and deterministic.
    """

    def __init__(
        self,
        spec: ClipSpec,
        canvas: tuple[int, int],
        geometries: list[WorldGeometry],
        *,
        end_card: bool,
        end_box: Box | None,
        texts: tuple[str, ...],
        tempo: Tempo | None = None,
        layout: ClipLayout | None = None,
    ) -> None:
        cfg = presets_data()
        self.spec = spec
        self.layout = layout
        self.canvas = canvas
        self.geometries = geometries
        self.duration = (spec.frame_count - 1) / spec.fps  # time of the last frame
        self.end_card = end_card
        self.texts = texts
        # px each text may slide into place and stay clear of the platform's UI, by key
        # (the plan sets it once the sprites are placed; none: the preset's whole slide)
        self.slide_room: dict[str, float] = {}
        self.style_cfg = cfg["styles"][spec.style]
        self.text_cfg = cfg["text"]
        ec = cfg["end_card"]
        self.end_len = float(ec["duration_s"]) if end_card else 0.0
        self.move_s = float(ec["move_s"])
        self.fade_s = float(ec["fade_s"])
        self.end_zoom = float(ec["zoom"])
        # the scenes play over [0, scenes_end]; the end card takes the rest
        self.scenes_end = self.duration - self.end_len if end_card else self.duration
        # the beat the clip is cut to: the preset's, or the music's (every n-th of its
        # beats, whichever n comes closest to the preset's)
        self.tempo = tempo
        beat_s = float(cfg["beats"]["beat_s"])
        self.beat_step = beat_s if tempo is None else tempo.period * max(1, round(beat_s / tempo.period))
        if tempo is not None and end_card:
            # the move to the end card starts on a beat of the music: up to a beat early
            # (a longer end card) or a little late
            nominal = self.scenes_end - self.move_s / 2
            on = [b for b in tempo.beats(nominal + 0.15) if b >= nominal - self.beat_step]
            if on:
                self.scenes_end = on[-1] + self.move_s / 2
        cw, ch = canvas

        # 1. rest framing: world 0 fills the canvas with its product where the layout
        #    stands it (else as central as the world's edges allow); every product
        #    position is relative to where world 0 puts the product at rest (the "rest box")
        g0 = geometries[0]
        fx0 = g0.product_box[0] + g0.product_box[2] / 2
        fy0 = g0.product_box[1] + g0.product_box[3] / 2
        self.rest = cover_fit(g0.size, canvas, (fx0, fy0))
        if layout is not None:
            placed = box_to_box(g0.product_box, layout.rest_box)
            lx, ly, lw, lh = layout.rest_box
            # a world built round the layout's box covers the frame but for rounding
            z = min_zoom_to_cover(placed, g0.size, canvas, (lx + lw / 2, ly + lh / 2))
            if z <= 1.02:
                self.rest = placed.then(zoom_about(z, lx + lw / 2, ly + lh / 2))
        self.rest_box: Box = self.rest.box(g0.product_box)
        rx, ry, rw, rh = self.rest_box
        self.pivot = (rx + rw / 2, ry + rh / 2)  # the product's centre at rest
        self.aligns = [box_to_box(g.product_box, self.rest_box) for g in geometries]
        self.aligns[0] = self.rest

        # 2. zoom needed so every world still covers the canvas once aligned to the product
        self.base_zoom = 1.0
        for g, align in zip(geometries, self.aligns, strict=True):
            self.base_zoom = max(self.base_zoom, min_zoom_to_cover(align, g.size, canvas, self.pivot))
        self.base_zoom = min(self.base_zoom, 1.35)  # beyond that, the border is replicated

        # 3. shots: which world is on screen when
        n = len(geometries)
        self.transition = spec.transition if n > 1 else "cut"
        tr = float(cfg["styles"]["sequence"]["transition_s"][self.transition]) if n > 1 else 0.0
        self.transition_s = tr
        bounds = [self.scenes_end * i / n for i in range(n + 1)]
        if tempo is not None:  # each cut on the music's beat nearest to it, shots kept long enough
            music = tempo.beats(self.scenes_end)
            shortest = 0.75 * float(cfg["styles"]["sequence"]["min_shot_s"])
            for i in range(1, n):
                near = min(music, key=lambda b: abs(b - bounds[i]), default=bounds[i])
                if near - bounds[i - 1] >= shortest and bounds[i + 1] - near >= shortest:
                    bounds[i] = near
        self.shots = [
            _Shot(
                world=i,
                start=0.0 if i == 0 else bounds[i] - tr / 2,
                end=(bounds[i + 1] + tr / 2) if i < n - 1 else self.duration + 1.0,
                align=self.aligns[i],
            )
            for i in range(n)
        ]
        self.boundaries = bounds[1:-1]

        # 4. the end card: where the product settles, as a transform of the rest box
        self.end_place = box_to_box(self.rest_box, end_box) if end_box is not None else None
        self.move_start = self.scenes_end - self.move_s / 2
        self.fade_start = self.scenes_end - self.fade_s / 2

        # 5. style parameters
        self._setup_style()

        # 6. the beat grid, and what is timed to it
        self.beats = self._beat_grid(beat_s) if tempo is None else self._music_grid(tempo)
        reveal = cfg["reveal"]
        self.reveal = spec.reveal
        if self.reveal == "none":
            self.reveal_end = 0.0
        else:
            self.reveal_end = self.beats[min(int(reveal["beats"]), len(self.beats) - 1)]
        self.drop = float(reveal["drop"]) * rh if self.reveal == "drop_in" else 0.0
        # a flat-lay, seen from above, does not drop: it is lowered onto its surface,
        # shown this much larger at first and settling to its size about its centre, its
        # shadow scaled with it (so the shadow's fill under it never shows)
        self.settle = 0.0
        if self.drop > 0 and geometries[0].flat:
            self.drop = 0.0
            opening = self._camera_product(0.0).scale
            most = self._most_zoom(float(presets_data()["framing"]["margin"]))
            self.settle = max(min(float(reveal["settle"]), most / max(opening, 1e-6) - 1.0), 0.0)
        if layout is not None and self.drop > 0:  # it drops from inside the clear area
            start = self._camera_product(0.0)
            room = (start.box(self.rest_box)[1] - layout.clear[1]) / start.scale
            self.drop = min(self.drop, max(room, 0.0))
        # a dropping product casts its shadow from the first frame, fainter while it is
        # high (a product in the air with none reads as pasted on); the fade hides the set
        self.shadow_from = float(reveal["shadow_from"]) if self.reveal == "drop_in" else 0.0
        sweep = cfg["sweep"]
        self.sweep_s = float(sweep["duration_s"])
        self.sweeps = [self.beats[k] for k in sweep["at_beats"] if k < len(self.beats)]

    def _beat_grid(self, beat_s: float) -> tuple[float, ...]:
        """Beat times from 0 up to the end-card move (itself a beat): each shot's span cut
        into whole beats of about ``beat_s``, so every cut between scenes is a beat."""
        end = self.move_start if self.end_place is not None else self.scenes_end
        bounds = [0.0, *self.boundaries, self.scenes_end]
        beats: list[float] = []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            n = max(1, round((b - a) / beat_s))
            beats += [a + (b - a) * k / n for k in range(n)]
        beats = [t for t in beats if t < end - 1e-9]
        return (*beats, end)

    def _music_grid(self, tempo: Tempo) -> tuple[float, ...]:
        """Beat times on the music: every ``beat_step`` from its first beat (the first
        at least ``MIN_REVEAL_S`` in, so the opening has time), counted again from the
        first beat of each pass of a looped track, every cut, and the end-card move (or
        the end of the scenes) last."""
        end = self.move_start if self.end_place is not None else self.scenes_end
        every = max(1, round(self.beat_step / tempo.period))
        steps = tempo.beats(end - 1e-9, every=every, after=MIN_REVEAL_S)
        near = 0.3 * self.beat_step  # a step this close to a cut or the end gives way to it
        fixed = [*self.boundaries, end]
        steps = [t for t in steps if all(abs(t - f) >= near for f in fixed)]
        # a looped track's last step before its seam gives way to the next pass's first
        steps = [t for t, after in zip(steps, [*steps[1:], math.inf], strict=True) if after - t >= near]
        return (0.0, *sorted(t for t in {*steps, *self.boundaries} if 0.0 < t < end - 1e-9), end)

    # -- style ------------------------------------------------------------------------

    def _setup_style(self) -> None:
        spec, cw = self.spec, self.canvas[0]
        s = self.style_cfg
        span = max(self.scenes_end, 1e-6)
        self.zoom_from = self.zoom_to = self.base_zoom
        self.pan = (0.0, 0.0)
        self.parallax_base = 1.0
        self.surface_ratio = float(presets_data()["flat_lay"]["surface_ratio"])
        self.still = 0.0
        framing = presets_data()["framing"]
        offset = float(framing["max_offset"]) * cw  # how far the product's centre may stray
        most_zoom = self._most_zoom(float(framing["margin"]))
        if spec.style in ("push_in", "pull_out"):
            amount = min(1.0 + float(s["zoom_per_s"]) * span, float(s["max_zoom"]))
            lo = self.base_zoom
            hi = max(min(self.base_zoom * amount, most_zoom), lo)
            self.zoom_from, self.zoom_to = (lo, hi) if spec.style == "push_in" else (hi, lo)
        elif spec.style == "sequence":
            push = self.base_zoom * (1.0 + float(s["zoom_per_s"]) * span)
            self.zoom_to = max(min(push, most_zoom), self.base_zoom)
        elif spec.style == "pan":
            z = max(float(s["zoom"]), self.base_zoom)
            self.zoom_from = self.zoom_to = z
            # how far the zoomed world can slide each way and still cover the canvas
            framed = self.rest.then(zoom_about(z, *self.pivot))
            x0, _, w, _ = framed.box((0.0, 0.0, *self.geometries[0].size))
            left, right = -x0, x0 + w - cw  # spare pixels beyond each edge
            travel = float(s["travel"])
            # a shift dx keeps the canvas covered for -right <= dx <= left; the content
            # moves left (dx falls) when the camera travels right
            most, least = left * travel, -right * travel
            # and keeps the product's centre within ``offset`` of the canvas's
            px = self.pivot[0]
            lo, hi = max(least, cw / 2 - offset - px), min(most, cw / 2 + offset - px)
            if self.layout is not None:  # and the product inside the layout's frame
                fx, _, fw, _ = self.layout.frame
                half = z * self.rest_box[2] / 2
                lo, hi = max(lo, fx + half - px), min(hi, fx + fw - half - px)
            if lo > hi:  # the edges allow no travel that centres it: as central as they allow
                lo = hi = min(max(cw / 2 - px, least), most)
            self.pan = (hi, lo) if spec.direction == "right" else (lo, hi)
        elif spec.style == "parallax":
            travel = float(s["travel"]) * cw
            dx = travel / 2
            self.pan = (dx, -dx) if spec.direction == "right" else (-dx, dx)
            self.still = float(s["still_ratio"])
            fx = self.pivot[0]
            margin = min(fx, cw - fx)
            # the depth farthest from the still one moves furthest: zoomed in enough that
            # it never uncovers an edge
            reach = max(abs(float(s["wall_ratio"]) - self.still), abs(float(s["front_ratio"]) - self.still))
            self.parallax_base = max(self.base_zoom, 1.0 + reach * dx / max(margin, 1.0) + 0.01)
            zoom_from, zoom_to = (float(v) for v in s["zoom"])
            # the product (depth 1) is shown at parallax_base * zoom: no closer than the margins allow
            zoom_to = max(min(zoom_to, most_zoom / self.parallax_base), zoom_from)
            self.zoom_from, self.zoom_to = zoom_from, zoom_to

    def _most_zoom(self, margin: float) -> float:
        """The largest zoom about the product's centre that keeps the product inside the
        layout's frame (clear of the platform's UI and of the text over it), else
        ``margin`` (a share of the canvas's side) inside every edge of the canvas."""
        cw, ch = self.canvas
        rx, ry, rw, rh = self.rest_box
        px, py = self.pivot
        fx, fy, fw, fh = (
            self.layout.frame
            if self.layout is not None
            else (margin * cw, margin * ch, (1 - 2 * margin) * cw, (1 - 2 * margin) * ch)
        )
        room_x = min(px - fx, fx + fw - px)
        room_y = min(py - fy, fy + fh - py)
        return max(min(room_x / max(rw / 2, 1e-6), room_y / max(rh / 2, 1e-6)), 1.0)

    def _style_product(self, t: float) -> Similarity:
        """The product's rest box -> canvas during the scenes part (before the end card)."""
        u = ease_in_out_cubic(t / max(self.scenes_end, 1e-6))
        cw, ch = self.canvas
        style = self.spec.style
        if style in ("push_in", "pull_out", "sequence"):
            z = self.zoom_from * (self.zoom_to / self.zoom_from) ** u
            return zoom_about(z, *self.pivot)
        if style == "pan":
            dx = self.pan[0] + (self.pan[1] - self.pan[0]) * u
            return zoom_about(self.zoom_from, *self.pivot).then(shift(dx))
        # parallax: the product moves with the depth-1 layer (the floor it stands on)
        d = self._depth(t)
        return zoom_about(d.base * d.zoom, *d.focus).then(shift(d.shift_at(1.0)))

    def _depth(self, t: float) -> Depth:
        u = ease_in_out_cubic(t / max(self.scenes_end, 1e-6))
        dx = self.pan[0] + (self.pan[1] - self.pan[0]) * u
        zoom = self.zoom_from + (self.zoom_to - self.zoom_from) * u
        return Depth(
            rest=self.rest, dx=dx, zoom=zoom, base=self.parallax_base, focus=self.pivot, still=self.still
        )

    # -- product ------------------------------------------------------------------------

    def product_at(self, t: float) -> Similarity:
        """The product's rest box -> canvas at time ``t``: where the camera has it, and
        over the first beat a little higher, dropping onto its set (a flat-lay: a little
        larger, settling onto its surface)."""
        camera = self._camera_product(t)
        if t >= self.reveal_end or (self.drop == 0.0 and self.settle == 0.0):
            return camera
        if self.settle > 0.0:
            return camera.then(self._settling(t, camera))
        u = ease_out_cubic(_ramp(t, 0.0, self.reveal_end))
        return camera.then(shift(0.0, -self.drop * camera.scale * (1.0 - u)))

    def _settling(self, t: float, camera: Similarity) -> Similarity:
        """A flat-lay's opening on the canvas: a zoom about the product's centre (where
        ``camera`` has it), from ``1 + settle`` at the start to 1 at the end of the reveal."""
        u = ease_out_cubic(_ramp(t, 0.0, self.reveal_end))
        return zoom_about(1.0 + self.settle * (1.0 - u), *camera.point(*self.pivot))

    def landed(self, t: float) -> float:
        """How far the product has landed on its set: 0 at the start, 1 from the end of
        the reveal on."""
        return _ramp(t, 0.0, self.reveal_end)

    def shadow_at(self, t: float) -> float:
        """The strength of the product's shadow: from ``shadow_from`` (drop-in) or 0 (fade)
        at the start to 1 once the product has landed."""
        return self.shadow_from + (1.0 - self.shadow_from) * ease_in_out_cubic(self.landed(t))

    def height_at(self, t: float) -> float:
        """Px (on the canvas) the dropping product's foot is above its place at ``t``."""
        if self.drop == 0.0 or t >= self.reveal_end:
            return 0.0
        u = ease_out_cubic(_ramp(t, 0.0, self.reveal_end))
        return self.drop * self._camera_product(t).scale * (1.0 - u)

    def shadow_softness(self, t: float) -> float:
        """Px (a Gaussian's sigma) the product's shadow is softened by at ``t``: in
        proportion to its foot's height above the floor (``SOFT_PER_HEIGHT``), so that the
        contact line forms as it lands and a product in the air never hovers over it."""
        return SOFT_PER_HEIGHT * self.height_at(t)

    def lifted_shadow(self, t: float) -> float:
        """The strength of the product's shadow on its set as it heads for the end card: 1
        until it leaves its place, fading as its foot rises off it (the shadow stays on the
        set, which the camera no longer moves), 0 once it has left by ``LIFT_FADE`` of its
        height."""
        if self.end_place is None or t <= self.move_start:
            return 1.0
        rx, ry, rw, rh = self.rest_box
        start = self._camera_product(self.move_start)
        x0, y0 = start.point(rx + rw / 2, ry + rh)
        x1, y1 = self._camera_product(t).point(rx + rw / 2, ry + rh)
        gone = math.hypot(x1 - x0, y1 - y0) / max(LIFT_FADE * start.scale * rh, 1e-6)
        return 1.0 - ease_in_out_cubic(gone)

    def veil_at(self, t: float) -> float:
        """The fade reveal: 1 (the worlds hidden behind a plain field) at the start, 0 from
        the end of the reveal on; always 0 for the other reveals."""
        if self.reveal != "fade":
            return 0.0
        return 1.0 - ease_in_out_cubic(self.landed(t))

    def _camera_product(self, t: float) -> Similarity:
        """The product's rest box -> canvas as the camera frames it (no reveal)."""
        if self.end_place is None or t <= self.move_start:
            return self._style_product(min(t, self.scenes_end))
        start = self._style_product(self.move_start)
        u = ease_in_out_cubic(_ramp(t, self.move_start, self.move_s))
        moved = interpolate(start, self.end_place, u, self.pivot)
        if u < 1.0:
            return moved
        # settled on the end card: a slow breath of zoom for the rest of the clip
        settle = self.move_start + self.move_s
        v = ease_in_out_cubic(_ramp(t, settle, max(self.duration - settle, 1e-6)))
        ex, ey = self.end_place.point(*self.pivot)
        return self.end_place.then(zoom_about(1 + (self.end_zoom - 1) * v, ex, ey))

    # -- layers --------------------------------------------------------------------------

    def _world_transform(self, shot: _Shot, t: float) -> tuple[Similarity, Depth | None, Similarity | None]:
        """World -> canvas at ``t``, the parallax it is drawn with (None: one transform),
        and the transform its shadow layer is drawn with apart from it (None: with it)."""
        flat = self.geometries[shot.world].flat
        if self.spec.style == "parallax":
            d = self._depth(min(t, self.move_start if self.end_place else t))
            # the shadows follow the product (depth 1), which moves unlike the wall
            if flat:  # one depth, the surface's, under the product and its shadows
                return d.at_ratio(self.surface_ratio), None, d.at_ratio(1.0)
            return d.at_ratio(1.0), d, d.at_ratio(1.0)
        # worlds follow the product, except once the product heads for the end card
        q = self._camera_product(min(t, self.move_start) if self.end_place is not None else t)
        if flat:
            return shot.align.then(self._surface_move(q)), None, shot.align.then(q)
        return shot.align.then(q), None, None

    def _surface_move(self, q: Similarity) -> Similarity:
        """The camera's move ``q`` (the product's rest box -> canvas: a zoom by ``z`` about
        the product's centre, then a shift ``d``) as a flat-lay's surface takes it, below
        the product: zoomed ``base + r (z - base)`` and shifted ``r d`` (``r`` the surface
        ratio). Both are linear in the move, so where the move keeps the world covering
        the canvas (zoomed at least ``base_zoom``, shifted no further than that zoom's
        spare pixels), the surface's share of it does too."""
        px, py = self.pivot
        qx, qy = q.point(px, py)
        r = self.surface_ratio
        z = self.base_zoom + r * (q.scale - self.base_zoom)
        return zoom_about(z, px, py).then(shift(r * (qx - px), r * (qy - py)))

    def layers_at(self, t: float) -> tuple[LayerState, ...]:
        layers: list[LayerState] = []
        cw = self.canvas[0]
        visible = [s for s in self.shots if s.start <= t < s.end or (s is self.shots[-1] and t >= s.start)]
        for shot in visible:
            transform, depth, effects = self._world_transform(shot, t)
            opacity, columns, props = 1.0, None, 1.0
            if shot.world > 0 and self.transition != "cut":
                boundary = self.boundaries[shot.world - 1]
                u = _ramp(t, boundary - self.transition_s / 2, self.transition_s)
                if self.transition == "crossfade":
                    opacity = ease_in_out_cubic(u)
                    if 0.0 < u < 1.0:
                        # the sets dissolve, their props never together (two of each, half
                        # seen, where they stood apart): the outgoing set's fade out over
                        # the first half, the incoming set's in over the second
                        props = ease_in_out_cubic(_ramp(u, 0.5, 0.5))
                        if layers:
                            out = ease_in_out_cubic(_ramp(u, 0.0, 0.5))
                            layers[-1] = replace(layers[-1], props=1.0 - out)
                else:  # slide in from the right; the outgoing world slides out to the left
                    offset = cw * (1 - ease_in_out_cubic(u))
                    transform = transform.then(shift(offset))
                    effects = effects.then(shift(offset)) if effects is not None else None
                    columns = (min(cw, max(0, round(offset))), cw)
            if layers and columns is not None:
                # the world underneath slides out by the same amount
                prev = layers[-1]
                slide = columns[0] - cw
                layers[-1] = LayerState(
                    prev.world,
                    prev.transform.then(shift(slide)),
                    prev.effects.then(shift(slide)) if prev.effects else None,
                    prev.opacity,
                    (0, columns[0]),
                    prev.depth,
                )
            shadow, soften = 1.0, 0.0
            if shot.world == 0 and t < self.reveal_end:
                # the product's shadow darkens as it lands: drawn apart from the set meanwhile
                shadow = self.shadow_at(t)
                soften = self.shadow_softness(t)
                effects = effects or transform
                if self.settle > 0.0:  # a flat-lay's shadow settles with it, under it
                    effects = effects.then(self._settling(t, self._camera_product(t)))
            if (lifted := self.lifted_shadow(t)) < 1.0:
                # and fades as it lifts off for the end card: apart from the set too
                shadow *= lifted
                effects = effects or transform
            layers.append(
                LayerState(shot.world, transform, effects, opacity, columns, depth, shadow, props, soften)
            )
        if self.end_place is not None and t >= self.fade_start:
            u = ease_in_out_cubic(_ramp(t, self.fade_start, self.fade_s))
            end_world = len(self.geometries)
            # the end card is a flat backdrop; its shadow is attached to the product
            layers.append(LayerState(end_world, IDENTITY, self.product_at(t), u))
            if u >= 1.0:
                layers = layers[-1:]
        return tuple(layers)

    # -- text ----------------------------------------------------------------------------

    def text_enters(self, key: str) -> float:
        """When ``key`` starts to appear: on its beat (scene text) or, on the end card, on
        half beats after the card has faded in."""
        cfg = self.text_cfg
        if self.end_place is not None and key in END_CARD_TEXTS:
            half = self.beat_step / 2
            return self.scenes_end + self.fade_s / 2 + half * int(cfg["end_card_half_beats"][key])
        beat = int(cfg.get(f"{key}_beat", 1))
        # a short clip with few beats: the text enters on the last beat before it leaves
        return self.beats[min(beat, max(len(self.beats) - 2, 0))]

    def text_leaves(self, key: str) -> float | None:
        """When scene text is gone (the end-card move, a beat), None: it stays."""
        if self.end_place is None or key in END_CARD_TEXTS:
            return None
        return self.move_start

    def texts_at(self, t: float) -> tuple[TextState, ...]:
        cfg = self.text_cfg
        ch = self.canvas[1]
        reveal = float(cfg["reveal_s"])
        exit_s = float(cfg["exit_s"])
        slide = float(cfg["slide"]) * ch
        out = []
        for key in self.texts:
            u = ease_out_cubic(_ramp(t, self.text_enters(key), reveal))
            opacity = u
            gone = self.text_leaves(key)
            if gone is not None:
                opacity *= 1 - ease_in_out_cubic(_ramp(t, gone - exit_s, exit_s))
            if opacity <= 0:
                continue
            # no further than the text's room: it never slides under the platform's UI
            travel = min(slide, self.slide_room.get(key, slide))
            out.append(TextState(key, opacity, (u - 1 if self.slides_down(key) else 1 - u) * travel))
        return tuple(out)

    def slides_down(self, key: str) -> bool:
        """Whether ``key`` comes down into place: text over the product (the scene text in
        the layout's band, the end card's title or logo), so it never slides towards the
        product; the rest rises into place."""
        if self.end_place is not None and key in END_CARD_TEXTS:
            return key in ("title", "logo")
        return self.layout is not None and self.layout.text is not None

    def sweep_at(self, t: float) -> float | None:
        """The light sweep's progress across the frame (0..1), None when none is passing."""
        for start in self.sweeps:
            if start <= t < start + self.sweep_s:
                return ease_in_out_cubic((t - start) / self.sweep_s)
        return None

    def at(self, t: float) -> FrameState:
        return FrameState(
            time=t,
            product=self.product_at(t),
            layers=self.layers_at(t),
            texts=self.texts_at(t),
            sweep=self.sweep_at(t),
            veil=self.veil_at(t),
        )

    def max_product_scale(self) -> float:
        """Largest scale of the product's rest box over the clip (sizes the product master)."""
        n = self.spec.frame_count
        return max(self.product_at(i / self.spec.fps).scale for i in range(n))


def world_scale(spec: ClipSpec) -> float:
    """How much larger than the canvas to render worlds so the camera (almost) never
    enlarges them: the largest zoom the style reaches, capped at 1.3."""
    s = presets_data()["styles"][spec.style]
    if spec.style in ("push_in", "pull_out"):
        value = min(1.0 + float(s["zoom_per_s"]) * spec.duration, float(s["max_zoom"]))
    elif spec.style == "pan":
        value = float(s["zoom"])
    elif spec.style == "parallax":
        still = float(s["still_ratio"])
        reach = max(abs(float(s["wall_ratio"]) - still), abs(float(s["front_ratio"]) - still))
        value = (1.0 + reach * float(s["travel"]) + 0.01) * float(s["zoom"][1])
    else:
        value = 1.0 + float(s["zoom_per_s"]) * spec.duration
    return min(value, 1.3)
