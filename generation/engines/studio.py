"""Studio scene engine: procedural product-photography sets on the CPU, no model weights.

A theme (``themes/*.json``) describes a set: a wall with a gradient, glow, bokeh or
window light; a floor plane seen in perspective with a procedural material (marble,
wood, concrete, plain paper); an optional podium; a light. The engine builds the set
around the placed product, adds the shadows and reflection its silhouette throws,
and pastes the product's own pixels back on top, untouched.

Everything is seeded: the same spec gives the same bytes. Variant ``i`` uses seed
``spec.seed + i`` and drifts a little in colour, light direction, placement and texture.

Public pieces, shared with the poster renderer: ``stage_for_product`` (where the theme
stands a product), ``stage_at_box`` (the set moved under a box someone else chose) and
``render_set`` (the set itself, as float pixels without the product). The procedural
textures (noise, marble, wood, concrete, bokeh, window light) live in ``textures.py``;
``compose.light_wrap`` softens the product's edge after the paste-back.
"""

from __future__ import annotations

import colorsys
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image

from generation import compose
from generation.blur import fast_blur
from generation.config import GenerationConfig
from generation.engines import textures
from generation.engines.themes import ColorRef, Theme, get_theme
from generation.errors import InvalidSpec
from generation.shadows import cast_shadow, grounding_shadow, reflection
from generation.specs import SceneSpec
from generation.types import (
    Box,
    PlacedProduct,
    ProgressCallback,
    RenderedImage,
    Segmentation,
    no_progress,
)

F32 = np.float32
# Shadows darken by multiplying towards this (slightly cool, like skylight in the shade).
SHADOW_TINT = np.array([0.26, 0.27, 0.31], dtype=F32)


class StudioEngine:
    """Renders themed product scenes without any model: CPU, numpy and OpenCV."""

    name = "studio"

    def __init__(self, config: GenerationConfig, *, themes: Mapping[str, Theme] | None = None) -> None:
        """``themes`` replaces the built-in library (e.g. ``load_themes(folder)``)."""
        self.config = config
        self.themes = dict(themes) if themes is not None else None

    def theme(self, name: str) -> Theme:
        """The named theme; ``InvalidSpec`` naming the available themes if there is none."""
        if self.themes is None:
            return get_theme(name)
        if name not in self.themes:
            raise InvalidSpec(f"unknown theme {name!r}; choose one of {', '.join(sorted(self.themes))}")
        return self.themes[name]

    def render(
        self, seg: Segmentation, spec: SceneSpec, progress: ProgressCallback = no_progress
    ) -> list[RenderedImage]:
        # 1. check inputs
        theme = self.theme(spec.theme)  # InvalidSpec naming the available themes
        brand = _brand_color(spec.brand_color, theme)
        cutout = seg.cutout
        if cutout.getchannel("A").getbbox() is None:
            raise InvalidSpec("the product matte is empty: nothing to place in the scene")
        size = (spec.width, spec.height)
        # the light already on the product picks the side the set's key light comes from
        light_side = estimate_light_side(cutout)

        results = []
        for i in range(spec.count):
            seed = spec.seed + i
            progress(i / spec.count, f"scene {i + 1}/{spec.count}: {theme.name}")

            # 2. the variant's composition (placement, camera, light, palette), then place
            # the product: the theme's anchor is where the set touches the floor
            variant = plan_variant(theme, seed, light_side=light_side)
            stage = stage_for_product(theme, cutout.size, size, fill=spec.fill, seed=seed, variant=variant)
            placed = compose.place_product(cutout, size, stage.box)

            # 3. the set around it: backdrop, surface, podium, shadows, reflection, grain
            bg = render_set(theme, placed, stage=stage, brand_color=brand, seed=seed, variant=variant)
            background = Image.fromarray(np.clip(bg + 0.5, 0, 255).astype(np.uint8), "RGB")

            # 4. paste the product back; light wrap touches soft edge pixels only
            image = compose.paste_back(background, placed)
            if theme.light_wrap > 0:
                image = compose.light_wrap(image, background, placed, theme.light_wrap)

            # 5. check the product's pixels survived
            fidelity = compose.measure_fidelity(image, placed)
            results.append(
                RenderedImage(
                    image=image,
                    kind="scene",
                    name=f"scene-{theme.name}-{i + 1:02d}",
                    product_box=placed.box,
                    fidelity=fidelity,
                    meta={
                        "engine": self.name,
                        "theme": theme.name,
                        "seed": seed,
                        "segmenter": seg.segmenter,
                        "variant": variant.to_dict(),
                    },
                )
            )
        progress(1.0, f"{spec.count} scene(s) done")
        return results


# ---------------------------------------------------------------------------
# Public API: where a theme stands the product, and the set built around it. The
# engine above and the poster renderer (``posters/backgrounds.py``) both use these.


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


@dataclass(frozen=True)
class Stage:
    """Where the set stands on the canvas: the product's box and the lines built round it."""

    box: Box
    contact: float  # row where the set touches the floor (product base or podium front)
    horizon: float  # row where the floor meets the wall
    podium: PodiumGeometry | None


# the widest a product stands on a set, as a share of the canvas's width
MAX_PRODUCT_WIDTH = 0.86


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
    theme = _resolve_theme(theme)
    # the brand only tints the set: the look's placement drift depends on the seed alone
    look = _Look.make(theme, theme.brand_default, seed, variant)
    return _stage(product_size, canvas_size, look.theme, look, fill, variant, max_width=max_width)


def stage_at_box(theme: Theme | str, box: Box, canvas_size: tuple[int, int], *, seed: int = 0) -> Stage:
    """The theme's set moved so a product already placed at ``box`` stands on it.

    For callers whose layout chose the box (posters): the set is solved for a product
    of the box's size, then shifted under it (podium and horizon move with it).
    """
    theme = _resolve_theme(theme)
    look = _Look.make(theme, theme.brand_default, seed)
    cw, ch = canvas_size
    x, y, w, h = box
    fill = max(w / cw, h / ch) / theme.layout.fill_scale
    stage = _stage((w, h), canvas_size, theme, look, float(np.clip(fill, 0.05, 0.95)), max_width=1.0)
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
    contact = stage.contact + dy
    horizon = min(stage.horizon + dy, contact - max(0.05 * ch, 0.12 * h))
    horizon = max(horizon, 0.06 * ch)
    return replace(stage, box=box, contact=float(contact), horizon=float(horizon), podium=podium)


def render_set(
    theme: Theme | str,
    placed: PlacedProduct,
    *,
    stage: Stage | None = None,
    brand_color: tuple[int, int, int] | None = None,
    seed: int = 0,
    variant: Variant | None = None,
) -> np.ndarray:
    """The studio set around a product already placed: wall, floor, podium, the product's
    shadows and reflection, grain. Float32 HxWx3 in about 0..255 (neither clipped nor
    rounded) at ``placed.canvas_size``, without the product: paste it back on top.
    A ``variant`` sets the key light's direction and the colour set (its stage should
    come from ``stage_for_product`` with the same variant).

    ``stage`` is where the set stands (``stage_for_product``; its box must be
    ``placed.box``); without one the set is built under ``placed.box`` (``stage_at_box``).
    ``brand_color`` fills the theme's brand slots (default: the theme's own); a value that
    is not three integers 0..255 raises ``InvalidSpec``. The same inputs give the same array.
    """
    look, stage = _set_look(theme, placed, stage, brand_color, seed, variant)
    bg = _backdrop(look, stage, placed, variant, seed)
    bg = _product_dressing(bg, placed, look, stage)
    # 4. grain on the background only (it also dithers away gradient banding)
    bg += _grain(look, placed.canvas_size)
    return bg


def render_set_pair(
    theme: Theme | str,
    placed: PlacedProduct,
    *,
    stage: Stage | None = None,
    brand_color: tuple[int, int, int] | None = None,
    seed: int = 0,
    variant: Variant | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``render_set`` with the product, and the same set without it (the product's layer
    transparent at the same box: no shadows, no reflection), the backdrop drawn once.
    Both equal what ``render_set`` gives for each, value for value."""
    look, stage = _set_look(theme, placed, stage, brand_color, seed, variant)
    bg = _backdrop(look, stage, placed, variant, seed)
    grain = _grain(look, placed.canvas_size)
    empty = bg + grain
    shadowed = _product_dressing(bg, placed, look, stage)
    shadowed += grain
    return shadowed, empty


def _set_look(
    theme: Theme | str,
    placed: PlacedProduct,
    stage: Stage | None,
    brand_color: tuple[int, int, int] | None,
    seed: int,
    variant: Variant | None,
) -> tuple[_Look, Stage]:
    theme = _resolve_theme(theme)
    brand = _brand_color(brand_color, theme)
    if stage is None:
        stage = stage_at_box(theme, placed.box, placed.canvas_size, seed=seed)
    elif tuple(stage.box) != tuple(placed.box):
        raise ValueError(f"the stage is for box {stage.box}, the product is placed at {placed.box}")
    return _Look.make(theme, brand, seed, variant), stage


def _backdrop(
    look: _Look, stage: Stage, placed: PlacedProduct, variant: Variant | None, seed: int
) -> np.ndarray:
    """1. backdrop + surface (+ podium and its own shadows, and the props): everything
    that does not depend on the product's pixels."""
    bg = _backdrop_and_surface(look, stage, placed.canvas_size)
    if stage.podium is not None:
        _draw_podium(bg, look, stage, placed.canvas_size)
    if variant is not None and variant.props:
        # the theme's props (scenes only: a poster's layout has its own use for that space)
        _draw_props(bg, look, stage, place_props(look.theme, stage, placed, variant, seed=seed))
    return bg


def _product_dressing(bg: np.ndarray, placed: PlacedProduct, look: _Look, stage: Stage) -> np.ndarray:
    # 2. optional reflection on a glossy floor
    if look.theme.reflection is not None:
        bg = _add_reflection(bg, placed, look)
    # 3. cast shadow from the silhouette + contact shadow and occlusion under its foot
    # (over the reflection: the floor right under the foot gets no light to mirror)
    return _product_shadows(bg, placed, look, stage)


# ---------------------------------------------------------------------------
# Variants: each scene of a set gets its own composition, drawn from its seed.


@dataclass(frozen=True)
class Variant:
    """One scene's composition: where the product stands, how big, the camera height,
    where the key light comes from and which of the theme's colour sets is used."""

    anchor_x: float  # product centre, canvas fraction
    scale: float  # multiplies the scene's fill
    camera: float  # -1 low .. +1 high: a higher camera sees more floor (the horizon rises)
    azimuth: float  # where the key light comes from: degrees, 0 right, 90 camera, 180 left
    palette: int  # 0: the theme's own colours, 1..: its ``palettes``
    props: tuple[int, ...] = ()  # which of the theme's ``props`` stand in this scene

    def to_dict(self) -> dict[str, float | int | list[int]]:
        return {
            "anchor_x": round(self.anchor_x, 3),
            "scale": round(self.scale, 3),
            "camera": round(self.camera, 3),
            "light_azimuth": round(self.azimuth, 1),
            "palette": self.palette,
            "props": list(self.props),
        }


# Four compositions that differ on every axis; variant i of a set takes slot
# (seed + i) % 4, so any four consecutive seeds give four different pictures.
# (product centre x, fill multiplier, camera height, light on the theme's side?, colour set)
_SLOTS = (
    (0.5, 1.0, 0.0, True, 0),
    (1.0 / 3.0, 0.82, 1.0, False, 1),
    (2.0 / 3.0, 0.9, -0.8, True, 2),
    (0.5, 1.25, -0.4, False, 3),
)
# a product's own light counts when its two sides differ by this much (relative luma)
LIGHT_SIDE_THRESHOLD = 0.06


def _light_side(azimuth: float) -> float:
    """+1 when a light at ``azimuth`` comes from the left, -1 from the right, 0 head on."""
    return float(np.sign(-math.cos(math.radians(azimuth))))


def plan_variant(theme: Theme | str, seed: int, *, light_side: float | None = None) -> Variant:
    """The composition of the scene made with ``seed``: deterministic, and different for
    consecutive seeds in placement (left, centre, right third), size, camera height,
    light side and colour set. ``light_side`` (+1 left, -1 right; ``estimate_light_side``)
    fixes the key light's side to the light already on the product."""
    theme = _resolve_theme(theme)
    slot = seed % len(_SLOTS)
    x, scale, camera, own_side, palette = _SLOTS[slot]
    rng = _rng(theme, seed, "variant")
    jx, js, jc, ja = rng.uniform(-1.0, 1.0, 4)
    base = theme.light.azimuth % 360.0
    side = _light_side(base) or 1.0
    want = side if own_side else -side
    if light_side:
        want = float(np.sign(light_side))
    # the theme's light folded onto the left, kept at least 25 degrees off the camera axis
    # so the side reads, then put on the side wanted
    left = base if side > 0 else (180.0 - base) % 360.0
    left = float(np.clip(left + ja * theme.variation.light, 115.0, 245.0))
    azimuth = left if want > 0 else (180.0 - left) % 360.0
    return Variant(
        anchor_x=float(np.clip(x + 0.03 * jx, 0.05, 0.95)),
        scale=float(scale * (1.0 + 0.04 * js)),
        camera=float(np.clip(camera + 0.15 * jc, -1.0, 1.0)),
        azimuth=azimuth,
        palette=palette % (len(theme.palettes) + 1),
        props=_variant_props(len(theme.props), slot),
    )


def _variant_props(n: int, slot: int) -> tuple[int, ...]:
    """Which props a composition shows: all of them, or one (a different one per slot)."""
    if n <= 1 or slot in (0, 3):
        return tuple(range(n))
    return ((slot - 1) % n,)


def estimate_light_side(cutout: Image.Image) -> float | None:
    """The side the light on the product comes from: +1 left, -1 right, ``None`` when
    the product does not clearly show one. Compares the luma of the left and right
    quarter of each opaque row of the matte (a lit side is brighter along its height)."""
    rgba = np.asarray(cutout.convert("RGBA"), dtype=F32)
    opaque = rgba[..., 3] >= 250
    luma = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=F32)
    left, right = [], []
    for row in range(0, opaque.shape[0], max(1, opaque.shape[0] // 200)):
        cols = np.nonzero(opaque[row])[0]
        if cols.size < 8:
            continue
        q = cols.size // 4
        left.append(float(np.median(luma[row, cols[:q]])))
        right.append(float(np.median(luma[row, cols[-q:]])))
    if len(left) < 4:
        return None
    lm, rm = float(np.median(left)), float(np.median(right))
    contrast = (lm - rm) / max((lm + rm) / 2.0, 1.0)
    if abs(contrast) < LIGHT_SIDE_THRESHOLD:
        return None
    return 1.0 if contrast > 0 else -1.0


def _resolve_theme(theme: Theme | str) -> Theme:
    return get_theme(theme) if isinstance(theme, str) else theme


# ---------------------------------------------------------------------------
# Variant look: the theme resolved to colours, with the seeded drift applied.


def _brand_color(value: tuple[int, int, int] | None, theme: Theme) -> tuple[int, int, int]:
    if value is None:
        return theme.brand_default
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 3
        or not all(isinstance(c, int) and 0 <= c <= 255 for c in value)
    ):
        raise InvalidSpec(f"brand_color must be three integers 0..255, got {value!r}")
    return (int(value[0]), int(value[1]), int(value[2]))


def _rng(theme: Theme, seed: int, purpose: str) -> np.random.Generator:
    """Independent seeded streams, so drawing more in one place never shifts another."""
    return np.random.default_rng(
        [seed % 2**64, zlib.crc32(theme.name.encode()), zlib.crc32(purpose.encode())]
    )


@dataclass(frozen=True)
class _Look:
    theme: Theme
    seed: int
    brand: tuple[int, int, int]
    hue: float  # degrees
    tone: float  # brightness multiplier
    azimuth: float
    anchor_x: float
    mirrored: bool = False  # the key light is on the other side than the theme's

    @classmethod
    def make(
        cls, theme: Theme, brand: tuple[int, int, int], seed: int, variant: Variant | None = None
    ) -> _Look:
        rng = _rng(theme, seed, "look")
        v = theme.variation
        jitter = rng.uniform(-1.0, 1.0, 4)
        look = cls(
            theme=theme,
            seed=seed,
            brand=brand,
            hue=float(jitter[0] * v.hue),
            tone=float(1.0 + jitter[1] * v.tone),
            azimuth=float(theme.light.azimuth + jitter[2] * v.light),
            anchor_x=float(np.clip(theme.layout.anchor[0] + jitter[3] * v.anchor, 0.05, 0.95)),
        )
        if variant is None:
            return look
        mirrored = _light_side(variant.azimuth) * _light_side(theme.light.azimuth) < 0
        return replace(
            look,
            theme=theme.with_palette(variant.palette),
            azimuth=variant.azimuth,
            anchor_x=variant.anchor_x,
            mirrored=mirrored,
        )

    def color(self, ref: ColorRef) -> np.ndarray:
        r, g, b = (c / 255.0 for c in ref.resolve(self.brand))
        if self.hue:
            h, li, s = colorsys.rgb_to_hls(r, g, b)
            r, g, b = colorsys.hls_to_rgb((h + self.hue / 360.0) % 1.0, li, s)
        return np.clip(np.array([r, g, b], dtype=F32) * 255.0 * self.tone, 0, 255)

    def rng(self, purpose: str) -> np.random.Generator:
        return _rng(self.theme, self.seed, purpose)

    @property
    def light_tint(self) -> np.ndarray:
        """Per-channel multiplier for the key light's colour, kept gentle (white: 1, 1, 1)."""
        c = self.color(self.theme.light.color)
        return (1.0 - 0.35 * (1.0 - c / max(float(c.max()), 1.0))).astype(F32)

    @property
    def light_vector(self) -> np.ndarray:
        """Unit vector towards the light: x right, y up, z towards the camera."""
        a, e = math.radians(self.azimuth), math.radians(self.theme.light.elevation)
        return np.array([math.cos(a) * math.cos(e), math.sin(e), math.sin(a) * math.cos(e)])


# ---------------------------------------------------------------------------
# Layout: the theme's anchor and podium solved for one product size


def _stage(
    product_size: tuple[int, int],
    canvas: tuple[int, int],
    theme: Theme,
    look: _Look,
    fill: float,
    variant: Variant | None = None,
    *,
    max_width: float = MAX_PRODUCT_WIDTH,
) -> Stage:
    cw, ch = canvas
    if variant is not None:
        fill *= variant.scale
        theme = _camera(theme, variant.camera)
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


def _camera(theme: Theme, camera: float) -> Theme:
    """The theme seen from a camera ``camera`` (-1 low .. +1 high) above its own: the
    horizon rises with the camera, and a podium's top face opens up."""
    surface = replace(theme.surface, horizon=float(np.clip(theme.surface.horizon - 0.1 * camera, 0.2, 0.9)))
    podium = theme.podium
    if podium is not None:
        podium = replace(
            podium, top_ratio=float(np.clip(podium.top_ratio * (1.0 + 0.45 * camera), 0.04, 0.5))
        )
    return replace(theme, surface=surface, podium=podium)


# ---------------------------------------------------------------------------
# Backdrop (wall) and surface (floor)


def _backdrop_and_surface(look: _Look, stage: Stage, canvas: tuple[int, int]) -> np.ndarray:
    theme = look.theme
    cw, ch = canvas
    wall = _wall(look, stage, canvas)
    surf = theme.surface
    if surf.edge == "sweep":
        band = max(1.0, surf.sweep_width * ch / 2.0)
    else:
        band = max(0.8, 0.6 * surf.depth_blur * ch)
    y0 = int(max(0, stage.horizon - band - 2))
    floor = _floor(look, stage, canvas, y0)
    if surf.edge == "table":
        # the wall darkens a touch where the table meets it (ambient occlusion)
        above = np.arange(0, ch, dtype=F32) + 0.5
        ao = 1.0 - 0.1 * np.exp(-np.maximum(stage.horizon - above, 0) / (0.02 * ch))
        wall *= ao[:, None, None]
    rows = np.arange(y0, ch, dtype=F32) + 0.5
    if theme.reflection is not None:
        # a glossy floor mirrors the wall, most at grazing angles (Fresnel)
        src = np.clip((2.0 * stage.horizon - rows).astype(np.int64), 0, ch - 1)
        grazing = np.clip(1.0 - (rows - stage.horizon) / max(ch - stage.horizon, 1.0), 0, 1)
        k = (0.8 * theme.reflection.strength * grazing**1.5)[:, None, None]
        floor = floor * (1.0 - k) + _gauss(wall[src], 0.004 * ch) * k
    m = textures.smoothstep(stage.horizon - band, stage.horizon + band, rows)[:, None, None]
    out = wall
    out[y0:] = wall[y0:] * (1.0 - m) + floor * m
    if theme.backdrop.arch is not None:
        _draw_arch(out, look, stage, canvas)
    out *= look.light_tint
    if theme.backdrop.vignette > 0:
        yy = (np.arange(ch, dtype=F32) + 0.5) / ch - 0.5
        xx = (np.arange(cw, dtype=F32) + 0.5) / cw - 0.5
        r2 = (xx[None, :] ** 2 + yy[:, None] ** 2) * 2.0
        out *= (1.0 - theme.backdrop.vignette * textures.smoothstep(0.15, 1.0, r2))[..., None]
    return out


def _side_light(look: _Look, xs: np.ndarray) -> np.ndarray:
    """Brighter towards the side the light comes from; xs are canvas fractions."""
    side = -math.cos(math.radians(look.azimuth))  # +1 light from the left
    return 1.0 + look.theme.light.falloff * side * (0.5 - xs) * 2.0


def _wall(look: _Look, stage: Stage, canvas: tuple[int, int]) -> np.ndarray:
    """The backdrop at full size. Smooth fields are built at half size and scaled up."""
    bd = look.theme.backdrop
    cw, ch = canvas
    hw, hh = (cw + 1) // 2, (ch + 1) // 2
    ys = (np.arange(hh, dtype=F32) + 0.5) / hh
    xs = (np.arange(hw, dtype=F32) + 0.5) / hw
    horizon = stage.horizon / ch
    t = np.clip(ys / max(horizon, 1e-3), 0.0, 1.0)
    t = t * t * (3.0 - 2.0 * t) * 0.5 + t * 0.5
    top, bottom = look.color(bd.top), look.color(bd.bottom)
    wall = top[None, None, :] + (bottom - top)[None, None, :] * t[:, None, None]
    wall = np.broadcast_to(wall, (hh, hw, 3)).copy()
    wall *= _side_light(look, xs)[None, :, None]
    product_x = (stage.box[0] + stage.box[2] / 2.0) / cw
    if bd.glow is not None:
        g = bd.glow
        gx = product_x + (g.x - 0.5) * (-1.0 if look.mirrored else 1.0)
        diag = math.hypot(cw, ch)
        dx = (xs - gx) * cw / (g.radius * diag)
        dy = (ys - g.y) * ch / (g.radius * diag)
        pool = np.exp(-(dx[None, :] ** 2 + dy[:, None] ** 2) * 2.0) * g.strength
        wall += (look.color(g.color) - wall) * pool[..., None]
    if bd.texture > 0:
        rng = look.rng("wall")
        mottle = textures.screen_noise(rng, (hh, hw), max(8.0, hh / 6)) * 0.6
        mottle += textures.screen_noise(rng, (hh, hw), max(3.0, hh / 40)) * 0.4
        wall *= (1.0 + bd.texture * (mottle - 0.5) * 2.0)[..., None]
    if bd.bokeh is not None:
        colors = [look.color(c) for c in bd.bokeh.colors]
        wall = textures.bokeh(wall, bd.bokeh, colors, look.rng("bokeh"), (hw, hh))
    if bd.window is not None:
        light, _ = textures.window_light(bd.window, (hw, hh), stage.horizon / ch, look.rng("leaves"))
        if look.mirrored:  # the window is on the other side
            light = light[:, ::-1]
        wall *= 1.0 + light[..., None] * (look.color(bd.window.color) / 255.0)
    return cv2.resize(wall, (cw, ch), interpolation=cv2.INTER_LINEAR)


def _floor(look: _Look, stage: Stage, canvas: tuple[int, int], y0: int) -> np.ndarray:
    """The floor from row ``y0`` down, textured in perspective and lit."""
    theme, surf = look.theme, look.theme.surface
    cw, ch = canvas
    rows = np.arange(y0, ch, dtype=F32) + 0.5
    # perspective: texture depth ~ 1/(y - vanishing line); 1 texel = 1 px at the contact row
    vanish = stage.horizon - surf.vanishing * (ch - stage.horizon)
    d_ref = stage.contact - vanish
    # cap the minification towards the horizon: keeps texture lookups bounded (the far
    # floor is out of focus anyway) and rows above the horizon in a sweep's blend valid
    d = np.maximum(rows - vanish, d_ref / 8.0)
    unit = min(cw, ch) / 1000.0 * surf.scale
    xs = np.arange(cw, dtype=F32) + 0.5 - cw / 2.0
    u = (xs[None, :] * (d_ref / d)[:, None]) / unit
    v = np.broadcast_to(((d_ref * d_ref / d) / unit)[:, None], u.shape)
    fp = ((d_ref / d) / unit)[:, None]  # units per pixel across
    fp_v = (d_ref * d_ref / (d * d) / unit)[:, None]  # units per pixel down
    palette = [look.color(c) for c in surf.colors]
    rng = look.rng("floor")
    floor = textures.material(surf.material, u.astype(F32), v.astype(F32), palette, rng, np.maximum(fp, fp_v))

    # light: a pool around the product, the key light's side, a darker front edge
    px = stage.box[0] + stage.box[2] / 2.0
    xsn = (np.arange(cw, dtype=F32) + 0.5) / cw
    dxp = (np.arange(cw, dtype=F32) + 0.5 - px) / (0.55 * cw)
    dyp = (rows - stage.contact) / (0.45 * (ch - stage.horizon) + 1.0)
    pool = np.exp(-(dxp[None, :] ** 2 + dyp[:, None] ** 2))
    glow = theme.backdrop.glow.strength if theme.backdrop.glow else 0.0
    lit = (1.0 + 0.12 * glow * pool) * _side_light(look, xsn)[None, :]
    near = np.clip((rows - stage.contact) / max(ch - stage.contact, 1.0), 0.0, 1.0)
    lit *= (1.0 - surf.near_shade * near**1.5)[:, None]
    floor *= lit[..., None]
    if theme.backdrop.window is not None:
        hw, hh = (cw + 1) // 2, (ch + 1) // 2
        window = theme.backdrop.window
        _, sun = textures.window_light(window, (hw, hh), stage.horizon / ch, look.rng("leaves"))
        if look.mirrored:
            sun = np.ascontiguousarray(sun[:, ::-1])
        sun = cv2.resize(sun, (cw, ch), interpolation=cv2.INTER_LINEAR)[y0:]
        floor *= 1.0 + sun[..., None] * (look.color(theme.backdrop.window.color) / 255.0)

    # depth of field: the far floor goes soft towards the horizon, the near edge slightly
    if surf.depth_blur > 0:
        far = np.clip((stage.contact - rows) / max(stage.contact - stage.horizon, 1.0), 0, 1)
        near_b = np.clip((rows - stage.contact) / max(ch - stage.contact, 1.0), 0, 1)
        sigma = surf.depth_blur * ch * np.maximum(far**1.3, 0.3 * near_b)
        floor = _row_blur(floor, sigma)
    return floor


def _row_blur(img: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Blur whose strength varies by row: a small stack of blurs, interpolated."""
    smax = float(sigma.max())
    if smax < 0.5:
        return img
    levels = [0.0, smax / 3.0, smax * 2.0 / 3.0, smax]
    stack = [img] + [_gauss(img, s) for s in levels[1:]]
    pos = np.clip(sigma / smax * 3.0, 0.0, 3.0)
    out = np.empty_like(img)
    for k in range(3):
        sel = (pos >= k) & (pos <= k + 1) if k == 2 else (pos >= k) & (pos < k + 1)
        if not sel.any():
            continue
        f = (pos[sel] - k)[:, None, None].astype(F32)
        out[sel] = stack[k][sel] * (1.0 - f) + stack[k + 1][sel] * f
    return out


def _gauss(img: np.ndarray, sigma: float) -> np.ndarray:
    """The set's blur: exact up to 5 px, beyond on a smaller copy (the result is smooth anyway)."""
    return fast_blur(img, sigma, exact_up_to=5.0, coarse_sigma=2.5)


# ---------------------------------------------------------------------------
# Set pieces: the arch panel and the podium


def _coverage_box(xx: np.ndarray, x0: float | np.ndarray, x1: float | np.ndarray) -> np.ndarray:
    """Anti-aliased coverage of the span [x0, x1] at pixel centres ``xx``."""
    return np.clip(np.minimum(xx - x0, x1 - xx) + 0.5, 0.0, 1.0)


def _ellipse_sd(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Approximate signed distance (px) to an ellipse: negative inside."""
    qx, qy = (xx - cx) / rx, (yy - cy) / ry
    q = np.sqrt(qx * qx + qy * qy) + 1e-9
    grad = np.sqrt((qx / rx) ** 2 + (qy / ry) ** 2) / q + 1e-9
    return (q - 1.0) / grad


def _draw_arch(img: np.ndarray, look: _Look, stage: Stage, canvas: tuple[int, int]) -> None:
    arch = look.theme.backdrop.arch
    assert arch is not None
    cw, ch = canvas
    # sized on the shorter side, but always wider than what stands in front of it
    front = 2.0 * stage.podium.rx if stage.podium is not None else stage.box[2]
    aw = min(max(arch.width * min(cw, ch), 1.15 * front), 0.95 * cw)
    cx = stage.box[0] + stage.box[2] / 2.0 + arch.offset * cw * (-1.0 if look.mirrored else 1.0)
    r = aw / 2.0
    bottom = stage.horizon + 0.12 * (stage.contact - stage.horizon)
    top = max(stage.horizon - arch.height * ch, 0.06 * ch)
    top = min(top, bottom - r * 1.2)
    spring = top + r  # where the round top meets the straight sides
    side = -math.cos(math.radians(look.azimuth))
    sh_dx, sh_blur = side * 0.018 * cw, 0.02 * min(cw, ch)
    x0 = int(max(0, cx - r - abs(sh_dx) - 3 * sh_blur))
    x1 = int(min(cw, cx + r + abs(sh_dx) + 3 * sh_blur + 1))
    y0 = int(max(0, top - 3 * sh_blur))
    y1 = int(min(ch, bottom + 2))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5

    def shape(cx_: float) -> np.ndarray:
        sides = _coverage_box(xx, cx_ - r, cx_ + r)
        rect = sides * np.clip(yy - spring + 0.5, 0, 1)
        dome = np.clip(0.5 - (np.sqrt((xx - cx_) ** 2 + (yy - spring) ** 2) - r), 0, 1)
        dome *= np.clip(spring - yy + 0.5, 0, 1)
        return np.clip(rect + dome, 0, 1) * np.clip(bottom - yy + 0.5, 0, 1)

    region = img[y0:y1, x0:x1]
    shadow = _gauss(shape(cx + sh_dx), sh_blur) * arch.shadow
    region *= 1.0 - shadow[..., None] * (1.0 - SHADOW_TINT)
    cover = shape(cx)
    xsn = xx / cw
    color = look.color(arch.color)[None, None, :] * _side_light(look, xsn)[..., None]
    # a touch darker towards its foot, where the floor bounce does not reach
    color = color * (1.0 - 0.05 * np.clip((yy - spring) / max(bottom - spring, 1.0), 0, 1))[..., None]
    region[:] = region * (1.0 - cover[..., None]) + color * cover[..., None]


def _podium_cover(pod: PodiumGeometry, xx: np.ndarray, yy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(top face, front) anti-aliased coverage of the podium at pixel centres."""
    if pod.shape == "cylinder":
        top = np.clip(0.5 - _ellipse_sd(xx, yy, pod.cx, pod.top, pod.rx, pod.ry), 0, 1)
        s = np.clip((xx - pod.cx) / pod.rx, -1.0, 1.0)
        lower = pod.bottom + pod.ry * np.sqrt(1.0 - s * s)
        body = _coverage_box(xx, pod.cx - pod.rx, pod.cx + pod.rx)
        body = body * np.clip(lower - yy + 0.5, 0, 1) * np.clip(yy - pod.top + 0.5, 0, 1)
        body = np.clip(body - top, 0, 1)
        return top, body
    # box: a thin top face in perspective (narrower at the back) and a front face
    front_y = pod.top + pod.ry
    back_y = pod.top - pod.ry
    t = np.clip((yy - back_y) / max(front_y - back_y, 1e-3), 0, 1)
    half = pod.rx * (0.94 + 0.06 * t)
    top = _coverage_box(xx - pod.cx, -half, half) * _coverage_box(yy, back_y, front_y)
    body = _coverage_box(xx, pod.cx - pod.rx, pod.cx + pod.rx)
    body = body * _coverage_box(yy, front_y, pod.bottom + pod.ry)
    return top, body


def _draw_podium(img: np.ndarray, look: _Look, stage: Stage, canvas: tuple[int, int]) -> None:
    pod = stage.podium
    p = look.theme.podium
    assert pod is not None and p is not None
    cw, ch = canvas
    # shadows the podium throws on the floor first, so the podium covers their inside
    sil = _podium_silhouette(pod, canvas)
    cast = _cast(sil, look, base_y=pod.bottom + 0.5 * pod.ry)
    if (box := cast.getbbox()) is not None:
        _darken(img, np.asarray(cast.crop(box), dtype=F32) / 255.0, box[:2])
    occlusion, origin = _ellipse_shadow(canvas, pod, look)
    _darken(img, occlusion, origin)

    x0, x1 = int(max(0, pod.cx - pod.rx - 2)), int(min(cw, pod.cx + pod.rx + 3))
    y0, y1 = int(max(0, pod.top - pod.ry - 2)), int(min(ch, pod.bottom + pod.ry + 3))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5
    top, body = _podium_cover(pod, xx, yy)
    unit = min(cw, ch) / 1000.0
    palette = [look.color(c) for c in p.colors]
    tex = textures.material(
        p.material, (xx - pod.cx) / unit, (yy - pod.top) / unit, palette, look.rng("podium"), 1.0 / unit
    )
    lv = look.light_vector
    soft = look.theme.light.softness
    if pod.shape == "cylinder":
        s = np.clip((xx - pod.cx) / pod.rx, -1.0, 1.0)
        ndl = s * lv[0] + np.sqrt(1.0 - s * s) * lv[2]
    else:
        # a flat front face: lit evenly, but a box reads as a box when its top is brighter
        ndl = np.full_like(xx, lv[2] - 0.25)
    # half-Lambert, softened by the light's size: big softboxes wrap round the podium
    wrap = 0.35 + 0.4 * soft
    front = 0.8 + 0.28 * np.clip((ndl + wrap) / (1.0 + wrap), 0, 1) ** 1.5
    front = front * (1.0 - 0.07 * np.clip((yy - pod.top) / max(pod.height, 1.0), 0, 1))
    top_shade = 0.94 + 0.14 * float(lv[1])
    # a fine highlight along the front lip of the top face catches the light
    if pod.shape == "cylinder":
        sd = _ellipse_sd(xx, yy, pod.cx, pod.top, pod.rx, pod.ry)
        lip = np.exp(-((sd / 1.3) ** 2)) * (yy > pod.top)
    else:
        lip = np.exp(-(((yy - (pod.top + pod.ry)) / 1.3) ** 2)) * _coverage_box(
            xx, pod.cx - pod.rx, pod.cx + pod.rx
        )
    region = img[y0:y1, x0:x1]
    tex = tex * look.light_tint
    top_col = tex * top_shade * (1.0 + 0.06 * lip)[..., None]
    body_col = tex * front[..., None]
    region[:] = (
        region * (1.0 - (top + body))[..., None] + top_col * top[..., None] + body_col * body[..., None]
    )


def _podium_silhouette(pod: PodiumGeometry, canvas: tuple[int, int]) -> PlacedProduct:
    cw, ch = canvas
    x0, x1 = int(max(0, pod.cx - pod.rx - 2)), int(min(cw, pod.cx + pod.rx + 3))
    y0, y1 = int(max(0, pod.top - pod.ry - 2)), int(min(ch, pod.bottom + pod.ry + 3))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5
    top, body = _podium_cover(pod, xx, yy)
    alpha = (np.clip(top + body, 0, 1) * 255 + 0.5).astype(np.uint8)
    layer = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
    layer.putalpha(Image.fromarray(alpha, "L"))
    return PlacedProduct(layer=layer, box=(x0, y0, x1 - x0, y1 - y0), canvas_size=canvas)


def _ellipse_shadow(
    canvas: tuple[int, int], pod: PodiumGeometry, look: _Look
) -> tuple[np.ndarray, tuple[int, int]]:
    """Soft occlusion where the podium stands on the floor: (density 0..1, its origin)."""
    cw, ch = canvas
    blur = max(1.0, 0.06 * pod.rx)
    x0 = int(max(0, pod.cx - pod.rx * 1.2 - 3 * blur))
    x1 = int(min(cw, pod.cx + pod.rx * 1.2 + 3 * blur))
    y0 = int(max(0, pod.bottom - 2 * pod.ry))
    y1 = int(min(ch, pod.bottom + 2 * pod.ry + 3 * blur))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0), dtype=F32), (0, 0)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5
    sd = _ellipse_sd(xx, yy, pod.cx, pod.bottom + 0.1 * pod.ry, pod.rx * 1.04, pod.ry * 1.25)
    inside = np.clip(0.5 - sd, 0, 1)
    return _gauss(inside, blur) * look.theme.contact_shadow.strength, (x0, y0)


def _darken(img: np.ndarray, density: np.ndarray, origin: tuple[int, int]) -> None:
    """Multiply a shadow density (0..1, its top-left at ``origin``) into ``img`` in place."""
    if density.size == 0:
        return
    ox, oy = origin
    h, w = density.shape
    img[oy : oy + h, ox : ox + w] *= 1.0 - density[..., None] * (1.0 - SHADOW_TINT)


# ---------------------------------------------------------------------------
# Shadows and reflection of the product


def _shadow_direction(look: _Look) -> tuple[float, float]:
    """Image-space shadow offset per pixel of height, from the light and the floor's tilt."""
    theme = look.theme
    a = math.radians(look.azimuth)
    length = theme.cast_shadow.length if theme.cast_shadow else 1.0
    run = length / math.tan(math.radians(theme.light.elevation))
    # shadows point away from the light: (-cos a) sideways, (+sin a) into the depth
    sx, sz = -math.cos(a), math.sin(a)
    surf = theme.surface
    # depth on the floor is foreshortened: the nearer the vanishing line, the flatter
    squash = 0.5 / (1.0 + surf.vanishing)
    return (sx * run, -sz * run * squash)


def _cast(placed: PlacedProduct, look: _Look, base_y: float | None = None) -> Image.Image:
    theme = look.theme
    cs = theme.cast_shadow
    if cs is None or cs.strength <= 0:
        return Image.new("L", placed.canvas_size, 0)
    soft = theme.light.softness
    return cast_shadow(
        placed,
        direction=_shadow_direction(look),
        strength=cs.strength,
        blur=0.003 + 0.012 * soft,
        blur_growth=0.02 + 0.14 * soft,
        fade=cs.fade,
        base_y=base_y,
    )


def _product_shadows(bg: np.ndarray, placed: PlacedProduct, look: _Look, stage: Stage) -> np.ndarray:
    cs = look.theme.contact_shadow
    contact = grounding_shadow(placed, strength=cs.strength, spread=cs.spread, side=_light_side(look.azimuth))
    cast = _cast(placed, look)
    boxes = [b for b in (contact.getbbox(), cast.getbbox()) if b is not None]
    if not boxes:
        return bg
    # work only where there is any shadow
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    area = (x0, y0, x1, y1)
    dc = np.asarray(contact.crop(area), dtype=F32) / 255.0
    dk = np.asarray(cast.crop(area), dtype=F32) / 255.0
    density = 1.0 - (1.0 - dc) * (1.0 - dk)
    if stage.podium is not None:
        # the product's shadows fall on the podium's top face only
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5
        top, _ = _podium_cover(stage.podium, xx, yy)
        density *= top
    _darken(bg, density, (x0, y0))
    return bg


def _add_reflection(bg: np.ndarray, placed: PlacedProduct, look: _Look) -> np.ndarray:
    rf = look.theme.reflection
    assert rf is not None
    layer = reflection(placed, strength=rf.strength, length=rf.length, blur=rf.blur)
    bbox = layer.getchannel("A").getbbox()
    if bbox is None:
        return bg
    x0, y0, x1, y1 = bbox
    rgba = np.asarray(layer.crop(bbox), dtype=F32)
    a = rgba[..., 3:4] / 255.0
    bg[y0:y1, x0:x1] = bg[y0:y1, x0:x1] * (1.0 - a) + rgba[..., :3] * a
    return bg


def _grain(look: _Look, canvas: tuple[int, int]) -> np.ndarray:
    cw, ch = canvas
    amount = look.theme.grain * 255.0
    if amount <= 0:
        return np.zeros((ch, cw, 1), dtype=F32)
    rng = look.rng("grain")
    return (rng.standard_normal((ch, cw), dtype=F32) * amount)[..., None]


# ---------------------------------------------------------------------------
# Props: the theme's set pieces (``props`` in its file), beside or behind the product


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
    not fit on the canvas)."""
    theme = _resolve_theme(theme)
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
    rng = _rng(theme, seed, "props")
    free_left, free_right = left_edge, cw - right_edge
    if abs(free_left - free_right) < 0.05 * cw:
        preferred = -1 if rng.random() < 0.5 else 1
    else:
        preferred = -1 if free_left > free_right else 1
    out: list[PropPlacement] = []
    taken: dict[int, float] = {-1: left_edge, 1: right_edge}  # the next free column per side
    last_side = -preferred
    for k in variant.props:
        if k >= len(theme.props):
            continue
        prop = theme.props[k]
        side = {"left": -1, "right": 1, "auto": preferred, "other": -last_side}[prop.side]
        behind = prop.place == "behind"
        # further back is higher up the floor and smaller
        base = floor - (0.45 if behind else 0.04) * depth
        scale = (1.0 - 0.35 * (0.45 if behind else 0.04) * depth / max(floor, 1.0)) * float(
            1.0 + 0.08 * rng.uniform(-1.0, 1.0)
        )
        ph = prop.size * h * scale
        pw = ph * prop.aspect
        gap = prop.gap * w
        edge = taken[side] + side * gap
        cx = edge + side * pw / 2.0
        if cx - pw / 2.0 < 0.02 * cw or cx + pw / 2.0 > 0.98 * cw or base - ph < 0.02 * ch:
            continue
        lean = side * math.radians(12.0) if prop.shape == "leaf" else 0.0
        cover, origin = _prop_cover(prop.shape, cx, base, pw, ph, lean, (cw, ch))
        if cover.size == 0:
            continue
        # never over the product: drop a prop whose coverage meets the matte
        ox, oy = origin
        px0, py0 = placed.box[0], placed.box[1]
        ys, xs = np.nonzero(cover > 0)
        cx_, cy_ = xs + ox - px0, ys + oy - py0
        inside = (cx_ >= 0) & (cx_ < alpha.shape[1]) & (cy_ >= 0) & (cy_ < alpha.shape[0])
        if inside.any() and (alpha[cy_[inside], cx_[inside]] > 0).any():
            continue
        taken[side] = cx + side * pw / 2.0
        last_side = side
        out.append(
            PropPlacement(k, prop.shape, float(cx), float(base), float(pw), float(ph), lean, cover, origin)
        )
    return out


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
            _coverage_box(xx, cx - rx, cx + rx)
            * np.clip(lower - yy + 0.5, 0, 1)
            * np.clip(yy - top_y + 0.5, 0, 1)
        )
        top = np.clip(0.5 - _ellipse_sd(xx, yy, cx, top_y, rx, ry), 0, 1)
        cover = np.clip(body + top, 0, 1)
    elif shape == "sphere":
        r = h / 2.0
        cover = np.clip(r - np.sqrt((xx - cx) ** 2 + (yy - (base - r)) ** 2) + 0.5, 0, 1)
    elif shape == "box":
        cover = _coverage_box(xx, cx - rx, cx + rx) * _coverage_box(yy, base - h, base)
    elif shape == "arch":
        spring = base - h + rx
        rect = _coverage_box(xx, cx - rx, cx + rx) * np.clip(yy - spring + 0.5, 0, 1)
        dome = np.clip(0.5 - (np.sqrt((xx - cx) ** 2 + (yy - spring) ** 2) - rx), 0, 1)
        dome *= np.clip(spring - yy + 0.5, 0, 1)
        cover = np.clip(rect + dome, 0, 1) * np.clip(base - yy + 0.5, 0, 1)
    else:  # leaf
        cover = np.zeros_like(xx)
        # a sprig: three leaves fanning out from one point on the floor
        for angle, length in ((lean - 0.45, 0.72), (lean, 1.0), (lean + 0.45, 0.8)):
            u = (xx - cx) * math.sin(angle) - (yy - base) * math.cos(angle)  # along the leaf
            v = (xx - cx) * math.cos(angle) + (yy - base) * math.sin(angle)  # across
            t = np.clip(u / (length * h), 0.0, 1.0)
            half = 0.5 * w * 0.55 * np.clip(np.sin(np.pi * t), 0.0, 1.0) ** 0.9
            leaf = np.clip(half - np.abs(v) + 0.5, 0, 1) * (u > 0) * (u < length * h)
            cover = np.maximum(cover, leaf)
    return cover.astype(F32), origin


def _prop_shading(pp: PropPlacement, look: _Look) -> np.ndarray:
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
        ndl = np.full_like(xx, 0.5) + 0.25 * float(lv[0]) * np.sign(xx - pp.cx)
    elif pp.shape == "box":
        # the front face, and a thin top face that catches the light
        ndl = np.where(yy < pp.base - 0.86 * pp.height, float(lv[1]) + 0.3, float(lv[2]) * 0.8)
    else:  # a flat front: arch
        ndl = np.full_like(xx, float(lv[2]) * 0.8)
    shade = 0.72 + 0.4 * np.clip((ndl + wrap) / (1.0 + wrap), 0, 1) ** 1.4
    # a touch darker towards the floor, where the bounce light does not reach
    shade *= 1.0 - 0.08 * np.clip((yy - (pp.base - pp.height)) / max(pp.height, 1.0), 0, 1)
    return shade.astype(F32)


def _draw_props(bg: np.ndarray, look: _Look, stage: Stage, props: list[PropPlacement]) -> None:
    """Each prop's shadows on the floor, then the prop itself, in place, back to front."""
    theme = look.theme
    canvas = (bg.shape[1], bg.shape[0])
    side = _light_side(look.azimuth)
    cs = theme.cast_shadow
    for pp in sorted(props, key=lambda p: p.base):
        hgt, wid = pp.cover.shape
        layer = Image.new("RGBA", (wid, hgt), (0, 0, 0, 0))
        layer.putalpha(Image.fromarray((pp.cover * 255.0 + 0.5).astype(np.uint8), "L"))
        silhouette = PlacedProduct(layer=layer, box=(*pp.origin, wid, hgt), canvas_size=canvas)
        densities = [grounding_shadow(silhouette, strength=theme.contact_shadow.strength * 0.8, side=side)]
        if cs is not None and cs.strength > 0:
            densities.append(_cast(silhouette, look))
        for d in densities:
            if (box := d.getbbox()) is not None:
                _darken(bg, np.asarray(d.crop(box), dtype=F32) / 255.0, box[:2])
        color = look.color(theme.props[pp.index].color) * look.light_tint
        shade = _prop_shading(pp, look)
        ox, oy = pp.origin
        region = bg[oy : oy + hgt, ox : ox + wid]
        c = pp.cover[..., None]
        region[:] = region * (1.0 - c) + (color[None, None, :] * shade[..., None]) * c
