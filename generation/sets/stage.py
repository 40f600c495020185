"""Layout: where a theme stands the product, and the lines of the set built round it.

``stage_for_product`` solves the theme's anchor and podium for one product size (a
variant moves, scales and re-frames it); ``stage_at_box`` moves the set under a box
someone else's layout chose (posters, the diffusion engine's conditioning), and
``move_stage`` moves a solved stage (with its variant's look) under one (clips).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from generation import compose
from generation.sets.look import Look, resolve_theme
from generation.sets.themes import Theme
from generation.sets.variants import Variant
from generation.types import Box


@dataclass(frozen=True)
class PodiumGeometry:
    """A podium on the canvas, in pixels (its look comes from the theme's ``podium``)."""

    shape: str  # "cylinder" or "box"
    cx: float
    top: float  # centre row of the top face
    rx: float
    ry: float
    height: float  # from the top face's centre to the bottom face's centre

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def holds(self, cx: float, base: float) -> bool:
        """Whether a foot at (``cx``, ``base``) on the canvas is on the top face."""
        if self.shape == "cylinder":
            return ((cx - self.cx) / self.rx) ** 2 + ((base - self.top) / self.ry) ** 2 < 1.0
        return abs(cx - self.cx) < self.rx and abs(base - self.top) < self.ry

    def to_dict(self) -> dict[str, str | float]:
        """The podium's place as data (a scene's ``layout``); ``from_dict`` reads it back."""
        return {"shape": self.shape, **{k: round(float(getattr(self, k)), 3) for k in _PODIUM_NUMBERS}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PodiumGeometry:
        return cls(str(data["shape"]), *(float(data[k]) for k in _PODIUM_NUMBERS))


_PODIUM_NUMBERS = ("cx", "top", "rx", "ry", "height")


@dataclass(frozen=True)
class Stage:
    """Where the set stands on the canvas: the product's box and the lines built round it."""

    box: Box
    contact: float  # row where the set touches the floor (product base or podium front)
    horizon: float  # row where the floor meets the wall
    podium: PodiumGeometry | None


# the widest a product stands on a set, as a share of the canvas's width
MAX_PRODUCT_WIDTH = 0.86
# a podium's top face is seen at most this factor more or less open than the product's base
FOOT_TOLERANCE = 1.5
# but never thinner than this (a base seen dead level still stands on a visible top face)
MIN_TOP_RATIO = 0.08


def stage_for_product(
    theme: Theme | str,
    product_size: tuple[int, int],
    canvas_size: tuple[int, int],
    *,
    fill: float,
    seed: int = 0,
    variant: Variant | None = None,
    max_width: float = MAX_PRODUCT_WIDTH,
) -> Stage:
    """The theme's own placement of a product of ``product_size`` (w, h) on the canvas.

    ``fill`` is the product's longer side as a share of the canvas's matching side,
    before the theme's ``fill_scale``; ``seed`` drifts the anchor like the variant's look.
    A ``variant`` (``plan_variant``) moves the product, scales it and moves the camera.
    Whatever the fill, the product is never wider than ``max_width`` of the canvas (a
    near-square product on a tall canvas would otherwise run off its sides).
    """
    theme = resolve_theme(theme)
    # the brand only tints the set: the look's placement drift depends on the seed alone
    look = Look.make(theme, theme.brand_default, seed, variant)
    return _stage(product_size, canvas_size, look.theme, look, fill, variant, max_width=max_width)


def stage_at_box(theme: Theme | str, box: Box, canvas_size: tuple[int, int], *, seed: int = 0) -> Stage:
    """The theme's set moved so a product already placed at ``box`` stands on it.

    For callers whose layout chose the box (posters): the set is solved for a product
    of the box's size, then shifted under it (podium and horizon move with it).
    """
    theme = resolve_theme(theme)
    look = Look.make(theme, theme.brand_default, seed)
    cw, ch = canvas_size
    x, y, w, h = box
    fill = max(w / cw, h / ch) / theme.layout.fill_scale
    stage = _stage((w, h), canvas_size, theme, look, float(np.clip(fill, 0.05, 0.95)), max_width=1.0)
    return _podium_inside(move_stage(stage, box, canvas_size), canvas_size)


# the least room left between a podium's side and the canvas's edge, of the canvas's width
PODIUM_MARGIN = 0.03


def _podium_inside(stage: Stage, canvas_size: tuple[int, int]) -> Stage:
    """``stage`` with its podium made smaller, if need be, so that it stands whole inside
    the canvas with ``PODIUM_MARGIN`` to spare on either side: the podium under a tall
    product off the centre of a story (9:16) canvas was wider than the room beside it, its
    sides cut off by the canvas's edge. Its shape is kept (radii and height scaled
    together), the product's foot keeps its place on the top face, and the floor's lines
    follow; never narrower than the product's foot (1.05 x its half width)."""
    podium = stage.podium
    if podium is None:
        return stage
    cw, ch = canvas_size
    room = min(podium.cx, cw - podium.cx) - PODIUM_MARGIN * cw
    rx = max(min(podium.rx, room), 0.525 * stage.box[2])
    if rx >= podium.rx:
        return stage
    k = rx / podium.rx
    base = stage.box[1] + stage.box[3]
    ry = podium.ry * k
    podium = replace(podium, top=base - 0.35 * ry, rx=rx, ry=ry, height=podium.height * k)
    contact = podium.bottom + podium.ry
    # the floor's back edge moves up with the front edge, as move_stage keeps it
    horizon = stage.horizon + (contact - stage.contact)
    horizon = max(min(horizon, contact - max(0.05 * ch, 0.12 * stage.box[3])), 0.06 * ch)
    return replace(stage, contact=float(contact), horizon=float(horizon), podium=podium)


def move_stage(stage: Stage, box: Box, canvas_size: tuple[int, int]) -> Stage:
    """``stage`` moved (and its podium scaled) so the product stands at ``box``: the set's
    lines keep their places relative to the product's foot."""
    ch = canvas_size[1]
    x, y, w, h = box
    sx, sy, sw, sh = stage.box
    dx = (x + w / 2.0) - (sx + sw / 2.0)
    dy = (y + h) - (sy + sh)
    podium = stage.podium
    if podium is not None:
        k = w / max(sw, 1)
        podium = replace(
            podium,
            cx=podium.cx + dx,
            top=podium.top + dy,
            rx=podium.rx * k,
            ry=podium.ry * k,
            height=podium.height * k,
        )
    # the floor is touched by the product's foot, or by the front of its podium as scaled
    contact = stage.contact + dy if podium is None else podium.bottom + podium.ry
    horizon = min(stage.horizon + dy, contact - max(0.05 * ch, 0.12 * h))
    horizon = max(horizon, 0.06 * ch)
    return replace(stage, box=box, contact=float(contact), horizon=float(horizon), podium=podium)


def _stage(
    product_size: tuple[int, int],
    canvas: tuple[int, int],
    theme: Theme,
    look: Look,
    fill: float,
    variant: Variant | None = None,
    *,
    max_width: float = MAX_PRODUCT_WIDTH,
) -> Stage:
    cw, ch = canvas
    if variant is not None:
        fill *= variant.scale
        theme = _camera(theme, variant.camera, variant.foot_ratio)
    fill = float(np.clip(fill * theme.layout.fill_scale, 0.05, 0.95))
    _, _, w, h = compose.fit_box(product_size, canvas, fill=fill)
    if w > max_width * cw:
        fill = max(fill * max_width * cw / w, 0.05)
        _, _, w, h = compose.fit_box(product_size, canvas, fill=fill)
    contact = theme.layout.anchor[1] * ch
    margin = 0.03 * ch
    p = theme.podium
    if p is None:
        base = contact
    else:
        rx = min(max(1.3 * w, p.width * 0.55 * h) / 2.0, 0.46 * cw)
        ry = rx * p.top_ratio
        ph = p.height * h
        # the product's foot sits a little in front of the top face's centre
        base = contact - ry - ph + 0.35 * ry
    base = max(base, h + margin)
    anchor_x = look.anchor_x
    if variant is not None:
        # off-centre, but the product and its podium stay inside the canvas
        half = max(w / 2.0, 0.0 if p is None else min(max(1.3 * w, p.width * 0.55 * h) / 2.0, 0.46 * cw))
        lo = min(0.5, (half + 0.03 * cw) / cw)
        anchor_x = float(np.clip(anchor_x, lo, 1.0 - lo))
    box = compose.fit_box(product_size, canvas, fill=fill, anchor=(anchor_x, (base - h / 2.0) / ch))
    x, y, w, h = box
    base = y + h
    podium = None
    if p is not None:
        top = base - 0.35 * ry
        ph = max(min(ph, ch - 1 - ry - top), 0.05 * h)
        podium = PodiumGeometry(p.shape, x + w / 2.0, top, rx, ry, ph)
        contact = podium.bottom + ry
    else:
        contact = base
    # the floor's back edge must sit behind the product's foot, whatever its size
    horizon = theme.surface.horizon * ch
    horizon = min(horizon, contact - max(0.05 * ch, 0.12 * h))
    horizon = max(horizon, 0.15 * ch)
    return Stage(box=box, contact=float(contact), horizon=float(horizon), podium=podium)


def podium_reach(theme: Theme | str, product_size: tuple[int, int], variant: Variant | None = None) -> float:
    """How far below the product's foot the theme's podium reaches (the bottom edge of its
    front), as a share of the product's height, as ``stage_for_product`` stands it for the
    variant's camera (its width uncapped by a canvas: at most this); 0 without a podium.
    A frame that keeps the whole podium in sight keeps this much room under the product."""
    theme = resolve_theme(theme)
    if variant is not None:
        theme = _camera(theme, variant.camera, variant.foot_ratio)
    p = theme.podium
    pw, ph = product_size
    if p is None or pw <= 0 or ph <= 0:
        return 0.0
    w = pw / ph  # the product's width for a height of 1
    ry = max(1.3 * w, p.width * 0.55) / 2.0 * p.top_ratio
    return float(p.height + 0.65 * ry)


def _camera(theme: Theme, camera: float, foot_ratio: float | None = None) -> Theme:
    """The theme seen from a camera ``camera`` (-1 low .. +1 high) above its own: the
    horizon rises with the camera, and a podium's top face opens up. With the product's
    ``foot_ratio`` (how open its own base is seen) the top face stays within a factor
    ``FOOT_TOLERANCE`` of it: the product and what it stands on share one camera."""
    surface = replace(theme.surface, horizon=float(np.clip(theme.surface.horizon - 0.1 * camera, 0.2, 0.9)))
    podium = theme.podium
    if podium is not None:
        ratio = podium.top_ratio * (1.0 + 0.45 * camera)
        if foot_ratio is not None:
            ratio = min(
                max(ratio, foot_ratio / FOOT_TOLERANCE), max(foot_ratio * FOOT_TOLERANCE, MIN_TOP_RATIO)
            )
        podium = replace(podium, top_ratio=float(np.clip(ratio, 0.04, 0.5)))
    return replace(theme, surface=surface, podium=podium)
