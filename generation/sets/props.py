"""Props: the theme's set pieces (``props`` in its file), beside or behind the product."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

from generation.sets.look import Look, light_side_of, resolve_theme, theme_rng
from generation.sets.pieces import arch_foot
from generation.sets.shadows import Shadow, cast_density, darken
from generation.sets.shapes import coverage_box, ellipse_sd
from generation.sets.stage import Stage
from generation.sets.themes import Prop, Theme
from generation.sets.variants import Variant
from generation.shadows import grounding_shadow
from generation.types import PlacedProduct

F32 = np.float32
FRAME_REACH = 0.55  # a prop's height, at most this share of the frame's shorter side
# the clear gap between a prop and the product (or its podium), at least this share of the
# frame's shorter side: a prop standing closer crowds the product's silhouette
CLEAR_GAP = 0.04
# in a clip's room (``Variant.room``) a prop may shrink below its ``min_size`` down to this
# share of it: the camera's move leaves less beside the product than the scene had, and a
# prop a little smaller still reads as the set's prop, where one left out reads as another
# set. Never below ``CLIP_READABLE`` of the frame's shorter side, where it turns a speck
CLIP_MIN_SHARE = 0.75
CLIP_READABLE = 0.12
# in a scene a prop keeps this share of the frame's shorter side from its left and right
# edges: squeezed into the room beside the product down to 2 %, a third of the props stood
# jammed against the frame's edge, which reads as cut by it (a clip's room keeps its own)
FRAME_MARGIN = 0.06


@dataclass(frozen=True)
class PropPlacement:
    """One prop on the canvas: its bottom centre, size in pixels and coverage."""

    index: int  # in the theme's ``props``
    shape: str
    cx: float
    base: float  # row where it stands on the floor
    width: float
    height: float
    lean: float  # radians, leaves lean away from the product
    cover: np.ndarray  # anti-aliased coverage 0..1 over ``origin``
    origin: tuple[int, int]  # (x, y) of ``cover``'s top-left on the canvas

    @property
    def body(self) -> tuple[float, float, float, float]:
        """x0, y0, x1, y1 on the canvas of where the prop covers more than faintly."""
        ys, xs = np.nonzero(self.cover > 0.01)
        if ys.size == 0:
            return (0.0, 0.0, 0.0, 0.0)
        ox, oy = self.origin
        return (
            float(xs.min() + ox),
            float(ys.min() + oy),
            float(xs.max() + 1 + ox),
            float(ys.max() + 1 + oy),
        )

    def to_dict(self) -> dict[str, Any]:
        """The prop's layout as data (no pixels): ``from_dict`` draws its coverage again."""
        return {
            "index": self.index,
            "shape": self.shape,
            "cx": round(self.cx, 3),
            "base": round(self.base, 3),
            "width": round(self.width, 3),
            "height": round(self.height, 3),
            "lean": round(self.lean, 6),
            "body": [round(v, 1) for v in self.body],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], canvas: tuple[int, int]) -> PropPlacement:
        """The prop ``to_dict`` described, its coverage drawn again on ``canvas``."""
        shape, cx, base = str(data["shape"]), float(data["cx"]), float(data["base"])
        width, height, lean = float(data["width"]), float(data["height"]), float(data["lean"])
        cover, origin = _prop_cover(shape, cx, base, width, height, lean, canvas)
        return cls(int(data["index"]), shape, cx, base, width, height, lean, cover, origin)


def place_props(
    theme: Theme | str,
    stage: Stage,
    placed: PlacedProduct,
    variant: Variant,
    *,
    seed: int = 0,
) -> list[PropPlacement]:
    """Where the variant's props stand around the placed product: beside it on the floor
    or further back, on the freer side (or the one the theme names), each outside the
    columns of the product's box and of its podium, so no prop ever covers the
    product (a prop that would still touch the matte is left out, as is one that does
    not fit on the canvas).

    In a clip's room (``Variant.room``) a prop also stays above the room's bottom (one in
    front stands further back up the floor), and a podium set's prop that finds no floor
    beside the podium stands on the podium's top face beside the product (a story's
    camera shows little more than the podium's width)."""
    theme = resolve_theme(theme)
    cw, ch = placed.canvas_size
    if not theme.props:
        return []
    alpha = np.asarray(placed.layer.getchannel("A"))
    # placed by the product's box, not its pixels: the same set without the product
    # (an empty layer in the same box, as clips build it) has the same props
    x, _, w, h = placed.box
    left_edge, right_edge = float(x), float(x + w)
    floor = float(stage.contact)
    if stage.podium is not None:
        pod = stage.podium
        left_edge, right_edge = min(left_edge, pod.cx - pod.rx), max(right_edge, pod.cx + pod.rx)
        floor = float(pod.bottom)
    depth = max(floor - stage.horizon, 1.0)
    rng = theme_rng(theme, seed, "props")
    free_left, free_right = left_edge, cw - right_edge
    if abs(free_left - free_right) < 0.05 * cw:
        preferred = -1 if rng.random() < 0.5 else 1
    else:
        preferred = -1 if free_left > free_right else 1
    # the frame's margins, or the variant's room (what a clip's camera always shows)
    side_margin = FRAME_MARGIN * min(cw, ch)
    lo, hi, top, bottom = side_margin, cw - side_margin, 0.02 * ch, math.inf
    clip = variant.room is not None
    if variant.room is not None:
        lo, hi = max(0.02 * cw, variant.room[0]), min(0.98 * cw, variant.room[1])
        top, bottom = max(top, variant.room[2]), min(0.98 * ch, variant.room[3])
    room = (lo, hi, top, bottom)
    out: list[PropPlacement] = []
    taken: dict[int, float] = {-1: left_edge, 1: right_edge}  # the next free column per side
    # behind the product (clips only): the next free column per side, inwards
    at_back: dict[int, float] = {-1: -math.inf, 1: math.inf}
    # on a podium's top face (clips only): the next free column per side from the product
    on_top: dict[int, float] = {-1: float(x), 1: float(x + w)}
    last_side = -preferred
    for k in variant.props:
        if k >= len(theme.props):
            continue
        prop = theme.props[k]
        side = {"left": -1, "right": 1, "auto": preferred, "other": -last_side}[prop.side]
        behind = prop.place == "behind"
        base = floor - (0.45 if behind else 0.04) * depth
        jitter = float(1.0 + 0.08 * rng.uniform(-1.0, 1.0))
        if base > bottom - 1.0:  # a clip's camera never shows this row: further back
            base = bottom - 1.0
        scale = depth_scale(floor, base) * jitter
        gap = max(prop.gap * w, CLEAR_GAP * min(cw, ch))
        # where it may stand, in turn: on the floor on its side, on the other side when the
        # theme lets it take the freer one, and in a clip's room on a podium's top face
        sides = [side, -side] if prop.side == "auto" else [side]
        spots = []
        if base > stage.horizon + 0.02 * depth:
            spots += [(s, taken[s] + s * gap, base, scale, (lo, hi, top), taken) for s in sides]
        if clip and stage.podium is not None:
            pod = stage.podium
            # on the top face: beside the product's foot, or nearer its back rim
            row = pod.top + (-0.4 if behind else 0.1) * pod.ry
            reach = 0.94 * pod.rx * math.sqrt(max(1.0 - ((row - pod.top) / pod.ry) ** 2, 0.0))
            bounds = (max(lo, pod.cx - reach), min(hi, pod.cx + reach), top)
            spots += [(s, on_top[s] + s * gap, row, jitter, bounds, on_top) for s in sides]
        for side, edge, foot, size, bounds, columns in spots:
            ph = prop_height(prop.size * size, prop.max_widths, w, h, (cw, ch))
            stood = _stand(
                prop,
                edge,
                side,
                foot,
                ph,
                least_height(prop, ph, h, (cw, ch), clip=clip),
                bounds,
                (cw, ch),
                clip,
            )
            if stood is None:
                continue
            cx, pw, ph, lean, cover, origin = stood
            # never over the product: drop a prop whose coverage meets the matte
            ox, oy = origin
            px0, py0 = placed.box[0], placed.box[1]
            ys, xs = np.nonzero(cover > 0)
            cx_, cy_ = xs + ox - px0, ys + oy - py0
            inside = (cx_ >= 0) & (cx_ < alpha.shape[1]) & (cy_ >= 0) & (cy_ < alpha.shape[0])
            if inside.any() and (alpha[cy_[inside], cx_[inside]] > 0).any():
                continue
            columns[side] = cx + side * pw / 2.0
            last_side = side
            out.append(
                PropPlacement(
                    k, prop.shape, float(cx), float(foot), float(pw), float(ph), lean, cover, origin
                )
            )
            break
        else:
            # in a clip's room beside a product as wide as the room (a mug at the width
            # cap): on the floor behind it, smaller at that depth, rising above it
            if clip and (
                stood_behind := _behind(
                    prop, side, stage, floor, jitter, room, placed, at_back, _drift(theme, stage, variant)
                )
            ):
                cx, foot, pw, ph, lean, cover, origin = stood_behind
                at_back[side] = cx - side * pw / 2.0
                last_side = side
                out.append(
                    PropPlacement(
                        k, prop.shape, float(cx), float(foot), float(pw), float(ph), lean, cover, origin
                    )
                )
    return out


# a prop standing behind the product (``_behind``) shows at least this share of itself round
# the product's box, and stands at least this share of the floor's depth behind its foot
BEHIND_SHOWN = 0.5
BEHIND_GAP = 0.1
# and its foot (its lowest ``BEHIND_FOOT`` of its height) at most this share hidden behind
# the product's box, in every frame of a parallax move: a sprig whose foot the product hides
# and whose leaves rise over its top reads as growing out of the product
BEHIND_FOOT = 0.15
BEHIND_FOOT_HIDDEN = 0.5
# (a foot within this share of the product's height above its top, in its columns, counts
# as hidden: it would stand on the product's top edge, the more so as the zoom moves it)
BEHIND_FOOT_OVER = 0.1


def _drift(theme: Theme, stage: Stage, variant: Variant) -> Callable[[float], tuple[float, ...]]:
    """How far (set px) a prop with its foot on a row drifts sideways against the product
    over a clip's parallax move: none at rest, and the least and most (``Variant.sway``,
    the wall's, times the row's share of the floor's depth from the product's foot to the
    wall's, as a clip's parallax moves the floor's rows: ``clips.worlds.depth_ratios``;
    with a wall arch the wall reaches down to its foot)."""
    lo, hi = variant.sway
    if lo == 0.0 and hi == 0.0:
        return lambda _base: (0.0,)
    near = float(stage.contact)
    far = arch_foot(stage.horizon, near) if theme.backdrop.arch is not None else float(stage.horizon)
    far = min(far, near - 1.0)

    def drift(base: float) -> tuple[float, ...]:
        share = min(max((near - base) / (near - far), 0.0), 1.0)
        return (0.0, lo * share, hi * share)

    return drift


def _behind(
    prop: Prop,
    side: int,
    stage: Stage,
    floor: float,
    jitter: float,
    room: tuple[float, float, float, float],
    placed: PlacedProduct,
    taken: dict[int, float],
    drift: Callable[[float], tuple[float, ...]],
) -> tuple[float, float, float, float, float, np.ndarray, tuple[int, int]] | None:
    """A prop on the floor behind the product (and its podium) in ``room`` (left, right,
    top, bottom), on ``side``: its outer side at the product's, or at the room's edge
    (inside the prop already standing behind there, ``taken``), as near the product as
    leaves ``BEHIND_SHOWN`` of it clear of the product's box (above it, or beside it) and
    its foot in sight beside it (``BEHIND_FOOT_HIDDEN``), wherever the move's ``drift``
    (set px at a foot's row) carries it,
    drawn at that depth's size (``depth_scale``) or shrunk into the room's top down to its
    least clip size, or else smaller still and upright beside the product's box. The
    product stands in front of it, so it never covers the product. Its centre, foot row, width, height, lean, coverage and coverage origin, or None where
    no row of the floor shows enough of it."""
    cw, ch = placed.canvas_size
    x, y, w, h = placed.box
    lo, hi, top, _ = room
    depth = max(floor - stage.horizon, 1.0)
    near = min(float(y + h), floor) - BEHIND_GAP * depth
    if stage.podium is not None:  # behind the podium's back edge on the floor
        near = min(near, stage.podium.bottom - stage.podium.ry - BEHIND_GAP * depth)
    far = stage.horizon + 0.05 * depth
    gap = CLEAR_GAP * min(cw, ch)
    lean = side * math.radians(12.0) if prop.shape == "leaf" else 0.0
    # the room's edge (anti-aliasing), or the prop already standing behind on that side
    edge = min(hi - 2.0, taken[1] - gap) if side > 0 else max(lo + 2.0, taken[-1] + gap)
    # at each row its depth's size first; only where no row shows enough of it, smaller
    # (down to its least clip size) and upright (a leaf's lean takes it past the room's
    # edge), to fit the floor between the product's box and the room's edge
    for shrink in (False, True):
        for base in np.linspace(near, far, 24) if near > far else ():
            ph = prop_height(prop.size * depth_scale(floor, base) * jitter, prop.max_widths, w, h, (cw, ch))
            smallest = least_height(prop, ph, h, (cw, ch), clip=True)
            ph = min(ph, base - top - 2.0)  # anti-aliasing
            if ph < smallest:
                continue
            for size in np.linspace(ph, smallest, 6)[1:] if shrink else (ph,):
                if (
                    found := _behind_at(
                        prop,
                        side,
                        stage,
                        float(base),
                        float(size),
                        0.0 if shrink else lean,
                        edge,
                        room,
                        placed,
                        drift(float(base)),
                    )
                ) is not None:
                    return found
    return None


def _behind_at(
    prop: Prop,
    side: int,
    stage: Stage,
    base: float,
    ph: float,
    lean: float,
    edge: float,
    room: tuple[float, float, float, float],
    placed: PlacedProduct,
    drifts: tuple[float, ...] = (0.0,),
) -> tuple[float, float, float, float, float, np.ndarray, tuple[int, int]] | None:
    """``_behind``'s prop ``ph`` px tall with its foot on row ``base``: its outer side at
    the product's, else at ``edge``, where the room holds it whole and, moved sideways by
    each of ``drifts`` against the product, ``BEHIND_SHOWN`` of it is clear of the
    product's box and its foot in sight (at most ``BEHIND_FOOT_HIDDEN`` of it behind the
    box, off the podium's top face); else None."""
    cw, ch = placed.canvas_size
    x, y, w, h = placed.box
    lo, hi, top, _ = room
    pw = ph * prop.aspect
    for outer in (float(x + w) if side > 0 else float(x), edge):
        outer = min(outer, edge) if side > 0 else max(outer, edge)
        cx = outer - side * pw / 2.0
        if cx - pw / 2.0 < lo or cx + pw / 2.0 > hi:
            continue
        if stage.podium is not None and any(stage.podium.holds(cx + d, base) for d in drifts):
            continue  # a foot the podium hides reads as standing on its top face
        cover, origin = _prop_cover(prop.shape, cx, base, pw, ph, lean, (cw, ch))
        ys, xs = np.nonzero(cover > 0.01) if cover.size else (np.zeros(0), np.zeros(0))
        if (
            xs.size == 0
            or xs.min() + origin[0] < lo
            or xs.max() + 1 + origin[0] > hi
            or ys.min() + origin[1] < top
        ):
            continue
        # how much of it, and of its foot, the product's box leaves in sight
        px, py = xs + origin[0], ys + origin[1]
        weights = cover[ys, xs]
        foot = py + 1 >= base - BEHIND_FOOT * ph
        in_sight = True
        for d in drifts:
            columns = (px + d >= x) & (px + d < x + w)
            hidden = columns & (py >= y)
            # a foot just over the product's top edge reads as standing on the product
            foot_hidden = columns & foot & (py >= y - BEHIND_FOOT_OVER * h)
            if float(weights[hidden].sum()) > (1.0 - BEHIND_SHOWN) * float(weights.sum()) or float(
                weights[foot_hidden].sum()
            ) > BEHIND_FOOT_HIDDEN * float(weights[foot].sum()):
                in_sight = False
                break
        if in_sight:
            return cx, base, pw, ph, lean, cover, origin
    return None


def depth_scale(floor: float, base: float) -> float:
    """How much smaller a prop standing on row ``base`` is drawn than one at the front
    of the floor (row ``floor``): further back is higher up the floor and smaller."""
    return 1.0 - 0.35 * (floor - base) / max(floor, 1.0)


def least_height(prop: Prop, ph: float, height: float, canvas: tuple[int, int], *, clip: bool) -> float:
    """The least height (px) a prop of nominal height ``ph`` is shrunk to beside a product
    ``height`` px tall: ``min_size`` of the product's height (or ``ph``, when smaller), a
    speck by a large product being left out. In a clip's room (``clip``) a little smaller,
    ``CLIP_MIN_SHARE`` of that, while it stays above ``CLIP_READABLE`` of the frame's
    shorter side."""
    smallest = min(prop.min_size * height, ph)
    if clip:
        smallest = min(max(CLIP_MIN_SHARE * smallest, CLIP_READABLE * min(canvas)), smallest)
    return smallest


def _stand(
    prop: Prop,
    edge: float,
    side: int,
    base: float,
    ph: float,
    smallest: float,
    bounds: tuple[float, float, float],
    canvas: tuple[int, int],
    clip: bool,
) -> tuple[float, float, float, float, np.ndarray, tuple[int, int]] | None:
    """A prop standing with its inner side at ``edge`` (going ``side``) and its foot on row
    ``base``, ``ph`` px tall or shrunk (down to ``smallest``) into ``bounds`` (left,
    right, top): its centre, width, height, lean, coverage and coverage origin, or None
    when it does not fit."""
    lo, hi, top = bounds
    # a prop narrower than the room beside the product shrinks into it, but never
    # below ``smallest``: a speck by a large product is left out
    room = ((hi - edge) if side > 0 else (edge - lo)) - 2.0  # anti-aliasing
    if ph * prop.aspect > room:
        if room / prop.aspect < smallest:
            return None
        ph = room / prop.aspect
    lean = side * math.radians(12.0) if prop.shape == "leaf" else 0.0
    # in a clip's room a prop whose body still reaches past it (a leaning sprig past
    # its nominal width, a tall one past the top) shrinks again about its inner foot
    if clip:
        fitted = _fit_prop(prop.shape, edge, side, base, ph, prop.aspect, lean, bounds, canvas)
        if fitted is None or fitted < smallest:
            return None
        ph = fitted
    pw = ph * prop.aspect
    cx = edge + side * pw / 2.0
    if cx - pw / 2.0 < lo or cx + pw / 2.0 > hi or base - ph < top:
        return None
    cover, origin = _prop_cover(prop.shape, cx, base, pw, ph, lean, canvas)
    if cover.size == 0:
        return None
    # what it really covers (a leaning sprig reaches past its nominal width) stays
    # off the frame's sides and top: a prop cut by the frame looks like an accident
    ys, xs = np.nonzero(cover > 0.01)
    if (
        xs.size == 0
        or xs.min() + origin[0] < lo
        or xs.max() + 1 + origin[0] > hi
        or ys.min() + origin[1] < top
    ):
        return None
    return cx, pw, ph, lean, cover, origin


def _fit_prop(
    shape: str,
    edge: float,
    side: int,
    base: float,
    ph: float,
    aspect: float,
    lean: float,
    room: tuple[float, float, float],
    canvas: tuple[int, int],
) -> float | None:
    """The height (px) at which a prop standing with its inner side at ``edge`` covers
    nothing outside ``room`` (left, right, top): ``ph`` when it already fits, smaller
    when its body reaches past it (each of its reaches grows with its height, measured
    from its inner foot), or None when it covers nothing."""
    lo, hi, top = room
    for _ in range(3):
        pw = ph * aspect
        cx = edge + side * pw / 2.0
        cover, (ox, oy) = _prop_cover(shape, cx, base, pw, ph, lean, canvas)
        ys, xs = np.nonzero(cover > 0.01) if cover.size else (np.zeros(0), np.zeros(0))
        if xs.size == 0:
            return None
        x0, x1, y0 = float(xs.min() + ox), float(xs.max() + 1 + ox), float(ys.min() + oy)
        reaches = [(base - y0, base - top)]  # upwards from the foot
        reaches.append((x1 - edge, hi - edge) if side > 0 else (edge - x0, edge - lo))
        scale = min((free / reach if reach > 0 else 1.0) for reach, free in reaches)
        if scale >= 1.0:
            return ph
        ph *= max(scale, 0.0) * 0.99  # a hair inside: the anti-aliased edge
    return ph


def prop_height(
    size: float, max_widths: float, width: float, height: float, canvas: tuple[int, int]
) -> float:
    """A prop's height in pixels, in proportion to the product: ``size`` of its height,
    but no more than ``max_widths`` of its widths (a tall, thin vase is a small object:
    its height alone would give it a bush for a sprig) nor than ``FRAME_REACH`` of the
    frame's shorter side."""
    return min(size * float(height), max_widths * width, FRAME_REACH * min(canvas))


def _prop_grid(
    x0: float, y0: float, x1: float, y1: float, canvas: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]] | None:
    cw, ch = canvas
    ix0, iy0 = int(max(0, math.floor(x0) - 2)), int(max(0, math.floor(y0) - 2))
    ix1, iy1 = int(min(cw, math.ceil(x1) + 3)), int(min(ch, math.ceil(y1) + 3))
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    yy, xx = np.mgrid[iy0:iy1, ix0:ix1].astype(F32) + 0.5
    return xx, yy, (ix0, iy0)


def _prop_cover(
    shape: str, cx: float, base: float, w: float, h: float, lean: float, canvas: tuple[int, int]
) -> tuple[np.ndarray, tuple[int, int]]:
    """Anti-aliased coverage of a prop standing at (cx, base), and its origin."""
    reach = abs(math.sin(lean)) * h
    grid = _prop_grid(cx - w / 2.0 - reach, base - h, cx + w / 2.0 + reach, base + 0.1 * h, canvas)
    if grid is None:
        return np.zeros((0, 0), dtype=F32), (0, 0)
    xx, yy, origin = grid
    rx = w / 2.0
    if shape == "cylinder":
        ry = 0.16 * rx
        top_y = base - h + ry
        s = np.clip((xx - cx) / rx, -1.0, 1.0)
        lower = base - ry + ry * np.sqrt(1.0 - s * s)
        body = (
            coverage_box(xx, cx - rx, cx + rx)
            * np.clip(lower - yy + 0.5, 0, 1)
            * np.clip(yy - top_y + 0.5, 0, 1)
        )
        top = np.clip(0.5 - ellipse_sd(xx, yy, cx, top_y, rx, ry), 0, 1)
        cover = np.clip(body + top, 0, 1)
    elif shape == "sphere":
        r = h / 2.0
        cover = np.clip(r - np.sqrt((xx - cx) ** 2 + (yy - (base - r)) ** 2) + 0.5, 0, 1)
    elif shape == "box":
        cover = _box_faces(xx, yy, cx, base, w, h, canvas[0])[0]
    elif shape == "arch":
        cover = _arch_faces(xx, yy, cx, base, w, h, canvas[0])[0]
    else:  # leaf
        cover = leaf_stem(xx, yy, cx, base, h, lean).cover
        for blade in leaf_blades(xx, yy, cx, base, w, h, lean):
            cover = np.maximum(cover, blade.cover)
    return cover.astype(F32), origin


# a leaf sprig: a stem standing on the floor and three leaves fanning out from its top, as
# (angle off the sprig's lean in radians, reach from the stem's foot to the leaf's tip as a
# share of its height), drawn back to front: the two side leaves, then the longest in
# front of them
LEAVES = ((-0.45, 0.72), (0.45, 0.8), (0.0, 1.0))
# the stem: from the floor up along the sprig's lean this share of its height, where the
# leaves join it (each leaf runs from there to the tip it had when the leaves met on the
# floor, so the sprig's outline keeps its reach), this share of its height wide at its
# foot, tapering to its top (drawn with no stem, the leaves met in a point on the floor)
LEAF_STEM = 0.16
LEAF_STEM_WIDTH = (0.03, 0.02)
# a leaf from the stem's top is shorter than it was from the floor; its blade widens by the
# square root of that (the sprig keeps about 90 % of its area, and its sides stay within
# 1.1 % of its height of where they were)
LEAF_WIDEN = 0.5
# each half of a blade is tilted about its midrib (radians at the rim, most of it near the
# rib: a shallow V) and the blade cups and arches a little: the half turned to the key
# light is the lighter one, and the shade runs across each half, not in two flat tones
LEAF_FOLD = 0.35
LEAF_CUP = 0.4
LEAF_ARCH = 0.5
# the midrib and the side veins are lighter than the blade; the rib is this share of the
# prop's height wide at the leaf's foot, tapering to the tip, the veins a third of that
LEAF_RIB = 0.012
LEAF_RIB_LIFT = 0.16
LEAF_VEIN_LIFT = 0.07
LEAF_VEINS = 7  # side veins along the longest leaf, each side
# a leaf in front darkens the one behind it near its edge (its soft shadow), this much
LEAF_OVERLAP_SHADE = 0.22


@dataclass(frozen=True)
class LeafBlade:
    """One leaf of a sprig over a prop's grid: its anti-aliased coverage, where each pixel
    lies along it (``t``: 0 at its foot, 1 at its tip) and across it (``s``: -1 .. 1 from
    rim to rim, 0 on the midrib), its half-width in px, and its axis as unit vectors
    (x right, y up) along it and across it (towards ``s`` > 0)."""

    cover: np.ndarray
    t: np.ndarray
    s: np.ndarray
    half: np.ndarray
    along: tuple[float, float]
    across: tuple[float, float]
    length: float


def leaf_stem(xx: np.ndarray, yy: np.ndarray, cx: float, base: float, h: float, lean: float) -> LeafBlade:
    """The stem (``LEAF_STEM``) of a sprig standing at (``cx``, ``base``), ``h`` px tall,
    leaning ``lean`` radians, at pixel centres ``xx``, ``yy``: as a ``LeafBlade`` (``t``
    from its foot to where the leaves join it, ``s`` across it), run on a little under
    the leaves' feet so that no gap opens between them."""
    sin_a, cos_a = math.sin(lean), math.cos(lean)
    length = LEAF_STEM * h
    u = (xx - cx) * sin_a - (yy - base) * cos_a
    v = (xx - cx) * cos_a + (yy - base) * sin_a
    t = np.clip(u / length, 0.0, 1.0)
    foot, top = (max(0.5 * k * h, 0.6) for k in LEAF_STEM_WIDTH)
    half = foot + (top - foot) * t
    # a flat cut at the floor, a round end under the leaves' feet
    end = np.clip(half - np.hypot(np.maximum(u - length, 0.0), v) + 0.5, 0, 1)
    stem = np.clip(half - np.abs(v) + 0.5, 0, 1) * np.clip(u + 0.5, 0, 1) * (u <= length) + end * (u > length)
    s = np.clip(v / half, -1.0, 1.0)
    return LeafBlade(stem.astype(F32), t, s, half, (sin_a, cos_a), (cos_a, -sin_a), length)


def leaf_blades(
    xx: np.ndarray, yy: np.ndarray, cx: float, base: float, w: float, h: float, lean: float
) -> list[LeafBlade]:
    """The leaves (``LEAVES``, back to front) of a sprig standing at (``cx``, ``base``) in
    its ``w`` x ``h`` px bounds, leaning ``lean`` radians, at pixel centres ``xx``, ``yy``:
    each from the top of its stem (``leaf_stem``) to its tip."""
    blades = []
    jx, jy = cx + LEAF_STEM * h * math.sin(lean), base - LEAF_STEM * h * math.cos(lean)
    for turn, share in LEAVES:
        # the tip where the leaf would reach from the stem's foot; the leaf runs from the
        # stem's top to it
        tx, ty = cx + share * h * math.sin(lean + turn), base - share * h * math.cos(lean + turn)
        angle, length = math.atan2(tx - jx, jy - ty), math.hypot(tx - jx, jy - ty)
        sin_a, cos_a = math.sin(angle), math.cos(angle)
        u = (xx - jx) * sin_a - (yy - jy) * cos_a  # along the leaf
        v = (xx - jx) * cos_a + (yy - jy) * sin_a  # across
        t = np.clip(u / length, 0.0, 1.0)
        half = (
            0.5 * w * 0.55 * (share * h / length) ** LEAF_WIDEN * np.clip(np.sin(np.pi * t), 0.0, 1.0) ** 0.9
        )
        leaf = np.clip(half - np.abs(v) + 0.5, 0, 1) * (u > 0) * (u < length)
        s = np.clip(v / np.maximum(half, 0.5), -1.0, 1.0)
        # on the canvas y runs down: along is (sin, -cos) there, (sin, cos) with y up
        blades.append(LeafBlade(leaf, t, s, half, (sin_a, cos_a), (cos_a, -sin_a), length))
    return blades


def _leaf_shading(xx: np.ndarray, yy: np.ndarray, pp: PropPlacement, look: Look, wrap: float) -> np.ndarray:
    """A sprig's stem and leaves, each lit by its own normals under the key light (the stem
    round, the leaves' halves tilted about the midrib, cupped and arched), with a lighter
    midrib and side veins, each leaf in front shading the stem and the leaves behind near
    its edge."""
    lv = look.light_vector
    # the stem behind the leaves: round, its normal turning across it from the camera
    stem = leaf_stem(xx, yy, pp.cx, pp.base, pp.height, pp.lean)
    ndl = stem.s * (stem.across[0] * lv[0] + stem.across[1] * lv[1]) + np.sqrt(1.0 - stem.s**2) * lv[2]
    shade = 0.66 + 0.5 * np.clip((ndl + wrap) / (1.0 + wrap), 0, 1) ** 1.4
    blades = leaf_blades(xx, yy, pp.cx, pp.base, pp.width, pp.height, pp.lean)
    longest = max(b.length for b in blades)
    for b in blades:
        # the normal turns from facing the camera towards ``across`` (by the fold and the
        # cup) and towards ``along`` (the arch: the foot tilts up, the tip down)
        tilt = LEAF_FOLD * np.tanh(4.0 * b.s) + LEAF_CUP * b.s
        arch = LEAF_ARCH * (b.t - 0.45)
        nz = np.cos(tilt) * np.cos(arch)
        nx = np.sin(tilt) * b.across[0] + np.sin(arch) * b.along[0]
        ny = np.sin(tilt) * b.across[1] + np.sin(arch) * b.along[1]
        ndl = nx * lv[0] + ny * lv[1] + nz * lv[2]
        lit = 0.66 + 0.5 * np.clip((ndl + wrap) / (1.0 + wrap), 0, 1) ** 1.4
        # the midrib, tapering to the tip, and the side veins running from it towards the tip
        v = b.s * b.half
        rib = max(LEAF_RIB * pp.height, 0.6) * (1.0 - 0.8 * b.t)
        veins = np.clip(rib - np.abs(v) + 0.5, 0, 1) * LEAF_RIB_LIFT
        spacing = longest / (LEAF_VEINS + 1)
        slant = (b.t * b.length - 0.9 * np.abs(v)) / spacing  # veins climb towards the tip
        off = np.abs(slant - np.round(slant)) * spacing / math.hypot(1.0, 0.9)  # px to the nearest
        vein = np.clip(rib / 3.0 - off + 0.5, 0, 1) * (np.abs(b.s) < 0.85) * (slant > 0.5) * (b.t < 0.9)
        veins = np.maximum(veins, vein * LEAF_VEIN_LIFT)
        lit = lit * (1.0 + veins)
        # the stem and the leaves behind darken near this leaf's edge: its soft shadow on them
        sigma = max(0.6, 0.02 * pp.height)
        near = cv2.GaussianBlur(b.cover, (0, 0), sigma)
        shade *= 1.0 - LEAF_OVERLAP_SHADE * np.clip(near, 0, 1) * (1.0 - b.cover)
        shade = shade * (1.0 - b.cover) + lit * b.cover
    return shade


# a box prop is seen from a little above and to the side: its top face shows this share of
# its height and the side face turned towards the frame's centre this share of its width
# (drawn flat, a box was a grey card with a lighter strip on top)
BOX_TOP = 0.14
BOX_SIDE = 0.2


def _box_faces(
    xx: np.ndarray, yy: np.ndarray, cx: float, base: float, w: float, h: float, canvas_width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A box standing at (``cx``, ``base``) inside its ``w`` x ``h`` px bounds: the
    anti-aliased coverage of its silhouette (front face, the top face receding behind it and
    the side face towards the frame's centre, which the camera sees), the weight of the
    front face, of the top face against the side face, and which side face shows (+1: the
    box stands right of the centre and shows its left face)."""
    s = 1.0 if cx >= canvas_width / 2.0 else -1.0
    u = (xx - cx) * s  # mirrored: the side face always lies at negative u
    rx, dx, ty = w / 2.0, BOX_SIDE * w, BOX_TOP * h
    inner, lid, back = -rx + dx, base - h + ty, base - h

    def edge(p: tuple[float, float], q: tuple[float, float]) -> np.ndarray:
        # signed distance (px) to the line p -> q, positive on the box's side of it
        nx, ny = q[1] - p[1], p[0] - q[0]
        norm = math.hypot(nx, ny)
        d = ((u - p[0]) * nx + (yy - p[1]) * ny) / norm
        inside = (0.0 - p[0]) * nx + (base - h / 2.0 - p[1]) * ny
        return d if inside > 0 else -d

    distance = np.minimum.reduce(
        [
            rx - u,
            base - yy,
            yy - back,
            u + rx,
            edge((rx, lid), (rx - dx, back)),  # the top face's outer corner
            edge((inner, base), (-rx, base - ty)),  # the side face's foot
        ]
    )
    cover = np.clip(distance + 0.5, 0.0, 1.0)
    front = np.clip(u - inner + 0.5, 0.0, 1.0) * np.clip(yy - lid + 0.5, 0.0, 1.0)
    # the top face against the side face: across the edge from the front's corner backwards
    nx, ny = back - lid, inner - (-rx)
    top = np.clip(((u - inner) * nx + (yy - lid) * ny) / math.hypot(nx, ny) + 0.5, 0.0, 1.0)
    top = top if ((rx - inner) * nx + (back - lid) * ny) > 0 else 1.0 - top
    return cover, front, top, s


# an arch prop is a slab: its thickness, seen towards the frame's centre, is this share of
# its width (its top this share of its height); drawn flat, it read as a card cut-out
ARCH_SIDE = 0.14
ARCH_TOP = 0.05


def _arch(u: np.ndarray, yy: np.ndarray, uc: float, base: float, w: float, h: float) -> np.ndarray:
    """Anti-aliased coverage of a flat arch ``w`` x ``h`` px standing at (``uc``, ``base``)."""
    rx = w / 2.0
    spring = base - h + rx
    rect = coverage_box(u, uc - rx, uc + rx) * np.clip(yy - spring + 0.5, 0, 1)
    dome = np.clip(0.5 - (np.sqrt((u - uc) ** 2 + (yy - spring) ** 2) - rx), 0, 1)
    dome *= np.clip(spring - yy + 0.5, 0, 1)
    return np.clip(rect + dome, 0, 1) * np.clip(base - yy + 0.5, 0, 1)


def _arch_faces(
    xx: np.ndarray, yy: np.ndarray, cx: float, base: float, w: float, h: float, canvas_width: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """An arch slab standing at (``cx``, ``base``) inside its ``w`` x ``h`` px bounds: the
    coverage of its silhouette (its front and its thickness receding towards the frame's
    centre), the weight of the front, and which way the thickness shows (+1: the arch stands
    right of the centre and shows its left edge)."""
    s = 1.0 if cx >= canvas_width / 2.0 else -1.0
    u = (xx - cx) * s
    dx, ty = ARCH_SIDE * w, ARCH_TOP * h
    front = _arch(u, yy, dx / 2.0, base, w - dx, h - ty)
    cover = front.copy()
    steps = max(2, math.ceil(max(dx, ty) / 1.5))
    for k in range(1, steps + 1):  # the front swept back to the slab's back face
        t = k / steps
        np.maximum(cover, _arch(u + t * dx, yy + t * ty, dx / 2.0, base, w - dx, h - ty), out=cover)
    return cover, front, s


def _prop_shading(pp: PropPlacement, look: Look, canvas: tuple[int, int]) -> np.ndarray:
    """Brightness of each pixel of a prop under the key light (over its coverage grid)."""
    hgt, wid = pp.cover.shape
    ox, oy = pp.origin
    yy, xx = np.mgrid[oy : oy + hgt, ox : ox + wid].astype(F32) + 0.5
    lv = look.light_vector
    wrap = 0.35 + 0.4 * look.theme.light.softness
    rx = pp.width / 2.0
    if pp.shape == "sphere":
        r = pp.height / 2.0
        nx = np.clip((xx - pp.cx) / r, -1, 1)
        ny = np.clip(-(yy - (pp.base - r)) / r, -1, 1)
        nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
        ndl = nx * lv[0] + ny * lv[1] + nz * lv[2]
    elif pp.shape == "cylinder":
        s = np.clip((xx - pp.cx) / rx, -1.0, 1.0)
        ndl = s * lv[0] + np.sqrt(1.0 - s * s) * lv[2]
        top_y = pp.base - pp.height + 0.16 * rx
        ndl = np.where(yy < top_y, float(lv[1]) + 0.2, ndl)  # the top face faces up
    elif pp.shape == "leaf":
        shade = _leaf_shading(xx, yy, pp, look, wrap)
        # a touch darker towards the floor, where the bounce light does not reach
        shade *= 1.0 - 0.08 * np.clip((yy - (pp.base - pp.height)) / max(pp.height, 1.0), 0, 1)
        return shade.astype(F32)
    elif pp.shape == "box":
        # the front face, the side face turned towards the frame's centre, and the top face
        # that catches the light, each lit by its own normal
        _, front, top, side = _box_faces(xx, yy, pp.cx, pp.base, pp.width, pp.height, canvas[0])
        faces = float(lv[2]) * 0.8, float(lv[1]) + 0.3, -side * float(lv[0])
        ndl = front * faces[0] + (1.0 - front) * (top * faces[1] + (1.0 - top) * faces[2])
    else:  # arch: its flat front, and its thickness turned towards the frame's centre
        _, front, side = _arch_faces(xx, yy, pp.cx, pp.base, pp.width, pp.height, canvas[0])
        # the thickness faces sideways along the arch's legs and upwards over its dome
        up = np.clip((pp.base - pp.height + pp.width / 2.0 - yy) / max(pp.width / 2.0, 1.0), 0.0, 1.0)
        edge = (1.0 - up) * (-side * float(lv[0])) + up * (float(lv[1]) + 0.1)
        ndl = front * float(lv[2]) * 0.8 + (1.0 - front) * edge
    shade = 0.72 + 0.4 * np.clip((ndl + wrap) / (1.0 + wrap), 0, 1) ** 1.4
    # a touch darker towards the floor, where the bounce light does not reach
    shade *= 1.0 - 0.08 * np.clip((yy - (pp.base - pp.height)) / max(pp.height, 1.0), 0, 1)
    return shade.astype(F32)


def prop_shadows(pp: PropPlacement, look: Look, canvas: tuple[int, int]) -> list[Shadow]:
    """The shadows a prop throws on the floor from its foot, as ``draw_props`` darkens the
    set with them one after the other: its contact shadow, then its cast shadow."""
    theme = look.theme
    hgt, wid = pp.cover.shape
    layer = Image.new("RGBA", (wid, hgt), (0, 0, 0, 0))
    layer.putalpha(Image.fromarray((pp.cover * 255.0 + 0.5).astype(np.uint8), "L"))
    silhouette = PlacedProduct(layer=layer, box=(*pp.origin, wid, hgt), canvas_size=canvas)
    # the coverage grid runs on below the prop's foot: its shadows start at the foot
    densities = [
        grounding_shadow(
            silhouette,
            strength=theme.contact_shadow.strength * 0.8,
            side=light_side_of(look.azimuth),
            base_y=pp.base,
        )
    ]
    cs = theme.cast_shadow
    if cs is not None and cs.strength > 0:
        densities.append(cast_density(silhouette, look, base_y=pp.base))
    return [
        (np.asarray(d.crop(box), dtype=F32) / 255.0, box[:2])
        for d in densities
        if (box := d.getbbox()) is not None
    ]


def draw_props(bg: np.ndarray, look: Look, stage: Stage, props: list[PropPlacement]) -> None:
    """Each prop's shadows on the floor, then the prop itself, in place, back to front."""
    theme = look.theme
    canvas = (bg.shape[1], bg.shape[0])
    for pp in sorted(props, key=lambda p: p.base):
        for density, origin in prop_shadows(pp, look, canvas):
            darken(bg, density, origin)
        hgt, wid = pp.cover.shape
        color = look.color(theme.props[pp.index].color) * look.light_tint
        shade = _prop_shading(pp, look, canvas)
        ox, oy = pp.origin
        region = bg[oy : oy + hgt, ox : ox + wid]
        c = pp.cover[..., None]
        region[:] = region * (1.0 - c) + (color[None, None, :] * shade[..., None]) * c
