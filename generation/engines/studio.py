"""Studio scene engine: procedural product-photography sets on the CPU, no model weights.

A theme (``themes/*.json``) describes a set: a wall with a gradient, glow, bokeh or
window light; a floor plane seen in perspective with a procedural material (marble,
wood, concrete, plain paper); an optional podium; a light. The engine builds the set
around the placed product, adds the shadows and reflection its silhouette throws,
and pastes the product's own pixels back on top, untouched.

Everything is seeded: the same spec gives the same bytes. Variant ``i`` uses seed
``spec.seed + i`` and drifts a little in colour, light direction, placement and texture.
"""

from __future__ import annotations

import colorsys
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from generation import compose
from generation.config import GenerationConfig
from generation.engines.themes import ColorRef, Theme, get_theme
from generation.errors import InvalidSpec
from generation.shadows import cast_shadow, contact_shadow, reflection
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

        results = []
        for i in range(spec.count):
            seed = spec.seed + i
            progress(i / spec.count, f"scene {i + 1}/{spec.count}: {theme.name}")
            look = _Look.make(theme, brand, seed)

            # 2. place product: the theme's anchor is where the set touches the floor
            stage = _stage(cutout.size, size, theme, look, spec.fill)
            placed = compose.place_product(cutout, size, stage.box)

            # 3. backdrop + surface (+ podium and its own shadows)
            bg = _backdrop_and_surface(look, stage, size)
            if stage.podium is not None:
                _draw_podium(bg, look, stage, size)

            # 4. cast shadow from the silhouette + contact shadow
            bg = _product_shadows(bg, placed, look, stage)

            # 5. optional reflection on a glossy floor
            if theme.reflection is not None:
                bg = _add_reflection(bg, placed, look)

            # 6. grain on the background only (it also dithers away gradient banding)
            bg += _grain(look, size)
            background = Image.fromarray(np.clip(bg + 0.5, 0, 255).astype(np.uint8), "RGB")

            # 7. paste the product back; light wrap touches soft edge pixels only
            image = compose.paste_back(background, placed)
            if theme.light_wrap > 0:
                image = _light_wrap(image, background, placed, theme.light_wrap)

            # 8. check the product's pixels survived
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
                    },
                )
            )
        progress(1.0, f"{spec.count} scene(s) done")
        return results


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

    @classmethod
    def make(cls, theme: Theme, brand: tuple[int, int, int], seed: int) -> _Look:
        rng = _rng(theme, seed, "look")
        v = theme.variation
        jitter = rng.uniform(-1.0, 1.0, 4)
        return cls(
            theme=theme,
            seed=seed,
            brand=brand,
            hue=float(jitter[0] * v.hue),
            tone=float(1.0 + jitter[1] * v.tone),
            azimuth=float(theme.light.azimuth + jitter[2] * v.light),
            anchor_x=float(np.clip(theme.layout.anchor[0] + jitter[3] * v.anchor, 0.05, 0.95)),
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
# Layout


@dataclass(frozen=True)
class _Podium:
    shape: str
    cx: float
    top: float  # centre row of the top face
    rx: float
    ry: float
    height: float  # from the top face's centre to the bottom face's centre

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True)
class _Stage:
    box: Box
    contact: float  # row where the set touches the floor (product base or podium front)
    horizon: float  # row where the floor meets the wall
    podium: _Podium | None


def _stage(
    product_size: tuple[int, int], canvas: tuple[int, int], theme: Theme, look: _Look, fill: float
) -> _Stage:
    cw, ch = canvas
    fill = float(np.clip(fill * theme.layout.fill_scale, 0.05, 0.95))
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
    box = compose.fit_box(product_size, canvas, fill=fill, anchor=(look.anchor_x, (base - h / 2.0) / ch))
    x, y, w, h = box
    base = y + h
    podium = None
    if p is not None:
        top = base - 0.35 * ry
        ph = max(min(ph, ch - 1 - ry - top), 0.05 * h)
        podium = _Podium(p.shape, x + w / 2.0, top, rx, ry, ph)
        contact = podium.bottom + ry
    else:
        contact = base
    # the floor's back edge must sit behind the product's foot, whatever its size
    horizon = theme.surface.horizon * ch
    horizon = min(horizon, contact - max(0.05 * ch, 0.12 * h))
    horizon = max(horizon, 0.15 * ch)
    return _Stage(box=box, contact=float(contact), horizon=float(horizon), podium=podium)


# ---------------------------------------------------------------------------
# Noise: value noise on a random lattice, sampled at arbitrary (u, v) with a cubic remap.


def _noise(
    rng: np.random.Generator, u: np.ndarray, v: np.ndarray, cell_u: float, cell_v: float
) -> np.ndarray:
    """Smooth value noise in 0..1 at texture coordinates (u, v); cells in the same units."""
    u0, v0 = float(u.min()), float(v.min())
    nu = int((float(u.max()) - u0) / cell_u) + 5
    nv = int((float(v.max()) - v0) / cell_v) + 5
    lattice = rng.random((nv, nu), dtype=F32)
    mx = ((u - u0) * (1.0 / cell_u) + 1.0).astype(F32)
    my = ((v - v0) * (1.0 / cell_v) + 1.0).astype(F32)
    return cv2.remap(lattice, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def _fbm(
    rng: np.random.Generator,
    u: np.ndarray,
    v: np.ndarray,
    cell: float,
    octaves: int,
    aspect: float = 1.0,
) -> np.ndarray:
    """Fractal noise, roughly 0..1 with mean 0.5; ``aspect`` stretches cells along u."""
    finest = cell / 2 ** (octaves - 1)
    if finest >= 12.0 and min(u.shape) >= 64:
        # smooth fields: sample every other pixel and scale up (4x fewer lookups)
        half = _fbm(rng, u[::2, ::2], v[::2, ::2], cell, octaves, aspect)
        return cv2.resize(half, (u.shape[1], u.shape[0]), interpolation=cv2.INTER_LINEAR)
    total = np.zeros(u.shape, dtype=F32)
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        total += amp * _noise(rng, u, v, cell * aspect, cell)
        norm += amp
        amp *= 0.5
        cell /= 2.0
    return total / norm


def _screen_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Value noise in 0..1 over a pixel grid (cheap: a small lattice resized)."""
    h, w = shape
    lattice = rng.random((max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)), dtype=F32)
    big = cv2.resize(
        lattice, (int(lattice.shape[1] * cell), int(lattice.shape[0] * cell)), interpolation=cv2.INTER_CUBIC
    )
    return big[:h, :w]


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# ---------------------------------------------------------------------------
# Materials: colour at texture coordinates (u, v) in "material units" (1000 units is
# about the canvas's shorter side at the product's depth). ``fp`` is the footprint of
# a pixel in units (per row on a floor), used to soften details too fine to draw.


def _material(
    kind: str,
    u: np.ndarray,
    v: np.ndarray,
    palette: list[np.ndarray],
    rng: np.random.Generator,
    fp: np.ndarray | float,
) -> np.ndarray:
    if kind == "marble":
        return _marble(u, v, palette, rng, fp)
    if kind == "wood":
        return _wood(u, v, palette, rng, fp)
    if kind == "concrete":
        return _concrete(u, v, palette, rng, fp)
    # plain: a whisper of mottling so the surface does not look digital
    tone = 1.0 + 0.025 * (_fbm(rng, u, v, 400.0, 3) - 0.5)
    return palette[0][None, None, :] * tone[..., None]


def _veins(t: np.ndarray, width: float, fp: np.ndarray | float, scale: float) -> np.ndarray:
    """Thin lines where sin(pi t) crosses zero; ``width`` in units of |sin|.

    A vein narrower than about a pixel is widened and dimmed instead of aliasing.
    """
    s = np.abs(np.sin(np.pi * t))
    px_width = width * scale  # vein width in material units
    widen = np.maximum(1.0, 1.2 * np.asarray(fp) / px_width)
    return np.exp(-((s / (width * widen)) ** 2)) / widen


def _marble(
    u: np.ndarray, v: np.ndarray, palette: list[np.ndarray], rng: np.random.Generator, fp: np.ndarray | float
) -> np.ndarray:
    base, vein_c, accent = palette[0], palette[1], palette[2]
    angle = math.radians(rng.uniform(20.0, 40.0) * rng.choice([-1, 1]))
    ca, sa = math.cos(angle), math.sin(angle)
    along = u * ca + v * sa
    warp = _fbm(rng, u, v, 700.0, 4)
    warp2 = _fbm(rng, u, v, 160.0, 3)
    # broad grey drifts running with the veins: the cloudy body of Carrara marble
    t0 = along / 900.0 + 1.1 * warp + 0.3 * warp2
    drift = np.exp(-((np.abs(np.sin(np.pi * t0)) / 0.4) ** 2))
    drift *= np.clip(1.6 * _fbm(rng, u, v, 140.0, 4) - 0.35, 0.0, 1.0)
    # main veins: long, gently meandering, fading in and out along their length
    t1 = along / 520.0 + 1.6 * warp + 0.12 * warp2
    main = _veins(t1, 0.03, fp, 520.0 / math.pi)
    halo = np.exp(-((np.abs(np.sin(np.pi * t1)) / 0.16) ** 2))
    strength = _smoothstep(0.3, 0.65, _fbm(rng, u, v, 420.0, 2))
    # secondary veins: finer, a little off the main direction, only in some patches
    b = angle + math.radians(rng.uniform(15.0, 35.0) * rng.choice([-1, 1]))
    t2 = (u * math.cos(b) + v * math.sin(b)) / 230.0 + 2.0 * warp + 0.5 * warp2
    fine = _veins(t2, 0.035, fp, 230.0 / math.pi)
    patch = _smoothstep(0.45, 0.65, _fbm(rng, u, v, 500.0, 2))
    amount = 0.2 * drift + strength * (0.5 * main + 0.14 * halo) + 0.28 * fine * patch
    amount = np.clip(amount, 0.0, 1.0)
    speck = _noise(rng, u, v, 9.0, 9.0)
    detail = np.clip(9.0 / (2.0 * np.asarray(fp) + 1e-6), 0.0, 1.0)
    col = base[None, None, :] * (1.0 + 0.012 * (speck - 0.5) * detail)[..., None]
    col = col + (vein_c - col) * amount[..., None]
    # a warm, golden tint inside some of the veins (Calacatta)
    col = col + (accent - col) * (0.45 * main * strength * (1.0 - patch))[..., None]
    return col


def _wood(
    u: np.ndarray, v: np.ndarray, palette: list[np.ndarray], rng: np.random.Generator, fp: np.ndarray | float
) -> np.ndarray:
    light, mid, dark = palette[0], palette[1], palette[2]
    fp = np.asarray(fp)
    plank = 165.0
    pv = v / plank + rng.uniform(0, 1)
    idx = np.floor(pv).astype(np.int64)
    i0 = int(idx.min())
    n = int(idx.max()) - i0 + 1
    k = idx - i0
    # per board: tone, where its log was cut (grain offset), ring spacing, cathedral arcs
    tones = rng.uniform(-0.08, 0.08, n).astype(F32)
    shifts = rng.uniform(0, 5000, n).astype(F32)
    spacing = rng.uniform(14.0, 26.0, n).astype(F32)
    arc_u = rng.uniform(-700, 700, n).astype(F32)
    arc_len = rng.uniform(180, 450, n).astype(F32)
    arc_amp = rng.uniform(1.5, 6.0, n).astype(F32)
    uu = u + shifts[k]
    warp = _fbm(rng, uu, v, 160.0, 3, aspect=5.0)
    arcs = arc_amp[k] * np.exp(-(((u - arc_u[k]) / arc_len[k]) ** 2))
    g = v / spacing[k] + 5.0 * warp + arcs
    # latewood: thin darker lines between wide pale bands, stronger in some stretches
    s = np.abs(np.sin(np.pi * g))
    fade = np.clip(spacing[k] / (3.0 * fp + 1e-6), 0.0, 1.0)
    contrast = np.clip(_fbm(rng, uu, v, 220.0, 2, aspect=4.0) * 1.6 - 0.3, 0.15, 1.0)
    late = np.exp(-((s / 0.4) ** 2)) * fade * contrast
    figure = _fbm(rng, uu, v, 120.0, 3, aspect=7.0)
    fibres = _noise(rng, uu, v, 50.0, 2.6)
    fibre_amp = np.clip(2.6 / (2.0 * fp + 1e-6), 0.0, 1.0)
    value = 0.6 + 0.55 * (figure - 0.5) + 0.22 * (fibres - 0.5) * fibre_amp - 0.3 * late
    value = np.clip(value, 0.0, 1.0)
    col = np.where(
        (value < 0.5)[..., None],
        dark + (mid - dark) * (value / 0.5)[..., None],
        mid + (light - mid) * ((value - 0.5) / 0.5)[..., None],
    )
    col *= (1.0 + tones[k])[..., None]
    # seams between boards: a thin dark groove
    frac = pv - np.floor(pv)
    edge = np.minimum(frac, 1.0 - frac) * plank
    groove = np.exp(-((edge / np.maximum(1.0, 0.8 * fp)) ** 2)) * 0.4
    return col * (1.0 - groove)[..., None]


def _concrete(
    u: np.ndarray, v: np.ndarray, palette: list[np.ndarray], rng: np.random.Generator, fp: np.ndarray | float
) -> np.ndarray:
    base, dark = palette[0], palette[1]
    fp = np.asarray(fp)
    blotch = _fbm(rng, u, v, 420.0, 5)
    cloud = _fbm(rng, u, v, 60.0, 3)
    fine = _noise(rng, u, v, 4.0, 4.0)
    detail = np.clip(4.0 / (2.0 * fp + 1e-6), 0.0, 1.0)
    # air holes: a few small dark pits; pale aggregate specks
    holes = _smoothstep(0.86, 0.95, _noise(rng, u, v, 2.5, 2.5)) * detail
    specks = (1.0 - _smoothstep(0.06, 0.14, _noise(rng, u, v, 3.0, 3.0))) * detail
    mix = np.clip(0.5 + 1.4 * (blotch - 0.5) + 0.25 * (cloud - 0.5), 0.0, 1.0)
    col = base[None, None, :] + (dark - base)[None, None, :] * mix[..., None]
    tone = 1.0 + 0.05 * (fine - 0.5) * detail - 0.09 * holes + 0.04 * specks
    return col * tone[..., None]


# ---------------------------------------------------------------------------
# Backdrop (wall) and surface (floor)


def _backdrop_and_surface(look: _Look, stage: _Stage, canvas: tuple[int, int]) -> np.ndarray:
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
    m = _smoothstep(stage.horizon - band, stage.horizon + band, rows)[:, None, None]
    out = wall
    out[y0:] = wall[y0:] * (1.0 - m) + floor * m
    if theme.backdrop.arch is not None:
        _draw_arch(out, look, stage, canvas)
    out *= look.light_tint
    if theme.backdrop.vignette > 0:
        yy = (np.arange(ch, dtype=F32) + 0.5) / ch - 0.5
        xx = (np.arange(cw, dtype=F32) + 0.5) / cw - 0.5
        r2 = (xx[None, :] ** 2 + yy[:, None] ** 2) * 2.0
        out *= (1.0 - theme.backdrop.vignette * _smoothstep(0.15, 1.0, r2))[..., None]
    return out


def _side_light(look: _Look, xs: np.ndarray) -> np.ndarray:
    """Brighter towards the side the light comes from; xs are canvas fractions."""
    side = -math.cos(math.radians(look.azimuth))  # +1 light from the left
    return 1.0 + look.theme.light.falloff * side * (0.5 - xs) * 2.0


def _wall(look: _Look, stage: _Stage, canvas: tuple[int, int]) -> np.ndarray:
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
        gx = product_x + (g.x - 0.5)
        diag = math.hypot(cw, ch)
        dx = (xs - gx) * cw / (g.radius * diag)
        dy = (ys - g.y) * ch / (g.radius * diag)
        pool = np.exp(-(dx[None, :] ** 2 + dy[:, None] ** 2) * 2.0) * g.strength
        wall += (look.color(g.color) - wall) * pool[..., None]
    if bd.texture > 0:
        rng = look.rng("wall")
        mottle = _screen_noise(rng, (hh, hw), max(8.0, hh / 6)) * 0.6
        mottle += _screen_noise(rng, (hh, hw), max(3.0, hh / 40)) * 0.4
        wall *= (1.0 + bd.texture * (mottle - 0.5) * 2.0)[..., None]
    if bd.bokeh is not None:
        wall = _bokeh(wall, look, (hw, hh))
    if bd.window is not None:
        light, _ = _window_light(look, (hw, hh), stage.horizon / ch)
        wall *= 1.0 + light[..., None] * (look.color(bd.window.color) / 255.0)
    return cv2.resize(wall, (cw, ch), interpolation=cv2.INTER_LINEAR)


def _bokeh(wall: np.ndarray, look: _Look, size: tuple[int, int]) -> np.ndarray:
    """Out-of-focus light discs, screen-blended, in three depth layers."""
    bk = look.theme.backdrop.bokeh
    assert bk is not None
    w, h = size
    rng = look.rng("bokeh")
    short = min(w, h)
    layers = [np.zeros((h, w, 3), dtype=F32) for _ in range(3)]
    colors = [look.color(c) for c in bk.colors]
    lo, hi = bk.size
    for _ in range(bk.count):
        bigness = rng.uniform(0.0, 1.0)
        r = math.exp(math.log(lo) + bigness * (math.log(hi) - math.log(lo))) * short
        cx = rng.uniform(-0.05, 1.05) * w
        cy = rng.uniform(*bk.region) * h
        color = colors[int(rng.integers(len(colors)))]
        # near, big discs spread their light thinner than far, small ones
        opacity = rng.uniform(*bk.opacity) * (1.2 - 0.6 * bigness)
        depth = int(rng.integers(3))
        x0, x1 = max(0, int(cx - r - 2)), min(w, int(cx + r + 3))
        y0, y1 = max(0, int(cy - r - 2)), min(h, int(cy + r + 3))
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32)
        rho = np.sqrt((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2) / r
        disc = np.clip((1.0 - rho) * r / 1.2 + 0.5, 0.0, 1.0)
        # real lens bokeh: a flat disc with a slightly brighter rim
        profile = (0.75 + 0.25 * np.clip(rho, 0, 1) ** 6) * disc * opacity
        layers[depth][y0:y1, x0:x1] += profile[..., None] * color[None, None, :]
    light = np.zeros((h, w, 3), dtype=F32)
    for depth, layer in enumerate(layers):
        sigma = bk.blur * short * depth / 2.0 + 0.6
        light += cv2.GaussianBlur(layer, (0, 0), sigma)
    light = np.clip(light, 0, 255)
    return 255.0 - (255.0 - wall) * (1.0 - light / 255.0)


def _window_light(look: _Look, size: tuple[int, int], horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Soft patches of sunlight from a paned window: (on the wall, on the floor), 0..strength."""
    win = look.theme.backdrop.window
    assert win is not None
    w, h = size
    short = min(w, h)
    cols, rows = win.panes

    def panes(x0: float, y0: float, pw: float, ph: float, skew: float) -> np.ndarray:
        mask = np.zeros((h, w), dtype=F32)
        gap_x, gap_y = 0.07 * pw / cols, 0.07 * ph / rows
        cell_w, cell_h = pw / cols, ph / rows
        for c in range(cols):
            for r in range(rows):
                ax, bx = x0 + c * cell_w + gap_x / 2, x0 + (c + 1) * cell_w - gap_x / 2
                ay, by = y0 + r * cell_h + gap_y / 2, y0 + (r + 1) * cell_h - gap_y / 2
                quad = [
                    (ax + skew * (ay - y0), ay),
                    (bx + skew * (ay - y0), ay),
                    (bx + skew * (by - y0), by),
                    (ax + skew * (by - y0), by),
                ]
                # fillPoly with 4 fractional bits: sub-pixel corners, anti-aliased edges
                pts = np.array([[round(x * 16), round(y * 16)] for x, y in quad], dtype=np.int32)
                cv2.fillPoly(mask, [pts], 1.0, lineType=cv2.LINE_AA, shift=4)
        return mask

    hy = horizon * h
    on_wall = panes(win.x * w, win.y * h, win.width * w, win.height * h, win.skew)
    # the same window thrown across the table top, squashed by the perspective
    on_floor = panes(
        (win.x + 0.1) * w,
        hy + 0.06 * (h - hy),
        win.width * w * 0.8,
        (h - hy) * 0.55,
        -1.1 * abs(win.skew) - 0.4,
    )
    blur = max(0.5, win.softness * short)
    on_wall = cv2.GaussianBlur(on_wall, (0, 0), blur)
    on_floor = cv2.GaussianBlur(on_floor, (0, 0), blur * 1.5)
    if win.leaves > 0:
        # foliage outside the window breaks the light into soft dapples
        rng = look.rng("leaves")
        leaf = _screen_noise(rng, (h, w), max(4.0, short / 22)) * 0.6
        leaf += _screen_noise(rng, (h, w), max(2.0, short / 60)) * 0.4
        shade = _smoothstep(0.5, 0.66, leaf)
        shade = cv2.GaussianBlur(shade, (0, 0), max(0.5, 0.008 * short))
        on_wall *= 1.0 - win.leaves * shade
        on_floor *= 1.0 - 0.6 * win.leaves * shade
    return on_wall * win.strength, on_floor * win.strength * 0.5


def _floor(look: _Look, stage: _Stage, canvas: tuple[int, int], y0: int) -> np.ndarray:
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
    floor = _material(surf.material, u.astype(F32), v.astype(F32), palette, rng, np.maximum(fp, fp_v))

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
        _, sun = _window_light(look, (hw, hh), stage.horizon / ch)
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
    """Gaussian blur; big radii run on a smaller copy (the result is smooth anyway)."""
    if sigma < 0.3:
        return img
    if sigma <= 5:
        return cv2.GaussianBlur(img, (0, 0), sigma)
    h, w = img.shape[:2]
    f = sigma / 2.5
    small = cv2.resize(img, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 2.5)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


# ---------------------------------------------------------------------------
# Set pieces: the arch panel and the podium


def _coverage_box(xx: np.ndarray, x0: float, x1: float) -> np.ndarray:
    """Anti-aliased coverage of the span [x0, x1] at pixel centres ``xx``."""
    return np.clip(np.minimum(xx - x0, x1 - xx) + 0.5, 0.0, 1.0)


def _ellipse_sd(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Approximate signed distance (px) to an ellipse: negative inside."""
    qx, qy = (xx - cx) / rx, (yy - cy) / ry
    q = np.sqrt(qx * qx + qy * qy) + 1e-9
    grad = np.sqrt((qx / rx) ** 2 + (qy / ry) ** 2) / q + 1e-9
    return (q - 1.0) / grad


def _draw_arch(img: np.ndarray, look: _Look, stage: _Stage, canvas: tuple[int, int]) -> None:
    arch = look.theme.backdrop.arch
    assert arch is not None
    cw, ch = canvas
    # sized on the shorter side, but always wider than what stands in front of it
    front = 2.0 * stage.podium.rx if stage.podium is not None else stage.box[2]
    aw = min(max(arch.width * min(cw, ch), 1.15 * front), 0.95 * cw)
    cx = stage.box[0] + stage.box[2] / 2.0 + arch.offset * cw
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


def _podium_cover(pod: _Podium, xx: np.ndarray, yy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _draw_podium(img: np.ndarray, look: _Look, stage: _Stage, canvas: tuple[int, int]) -> None:
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
    tex = _material(
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


def _podium_silhouette(pod: _Podium, canvas: tuple[int, int]) -> PlacedProduct:
    cw, ch = canvas
    x0, x1 = int(max(0, pod.cx - pod.rx - 2)), int(min(cw, pod.cx + pod.rx + 3))
    y0, y1 = int(max(0, pod.top - pod.ry - 2)), int(min(ch, pod.bottom + pod.ry + 3))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5
    top, body = _podium_cover(pod, xx, yy)
    alpha = (np.clip(top + body, 0, 1) * 255 + 0.5).astype(np.uint8)
    layer = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
    layer.putalpha(Image.fromarray(alpha, "L"))
    return PlacedProduct(layer=layer, box=(x0, y0, x1 - x0, y1 - y0), canvas_size=canvas)


def _ellipse_shadow(canvas: tuple[int, int], pod: _Podium, look: _Look) -> tuple[np.ndarray, tuple[int, int]]:
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


def _product_shadows(bg: np.ndarray, placed: PlacedProduct, look: _Look, stage: _Stage) -> np.ndarray:
    cs = look.theme.contact_shadow
    contact = contact_shadow(placed, strength=cs.strength, spread=cs.spread)
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


def _light_wrap(
    image: Image.Image, background: Image.Image, placed: PlacedProduct, amount: float
) -> Image.Image:
    """Let a little of the set's light bleed into the product's soft edge pixels.

    Only pixels whose placed alpha is strictly between 0 and 255 change: fully opaque
    product pixels (the fidelity guarantee) and pure background stay as they are.
    """
    x, y, w, h = placed.box
    cw, ch = placed.canvas_size
    x0, y0, x1, y1 = max(0, x), max(0, y), min(cw, x + w), min(ch, y + h)
    if x1 <= x0 or y1 <= y0:
        return image
    alpha = np.asarray(placed.layer.getchannel("A"))[y0 - y : y1 - y, x0 - x : x1 - x]
    soft = (alpha > 0) & (alpha < 255)
    if not soft.any():
        return image
    pad = max(2, int(0.01 * max(w, h)))
    # blur a padded window of the set so the edge picks up light from just outside it
    px0, py0, px1, py1 = max(0, x0 - pad), max(0, y0 - pad), min(cw, x1 + pad), min(ch, y1 + pad)
    around = np.asarray(background.crop((px0, py0, px1, py1)), dtype=F32)
    glow = cv2.GaussianBlur(around, (0, 0), max(1.0, pad / 2))
    glow = glow[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0]
    region = np.asarray(image.crop((x0, y0, x1, y1)), dtype=F32)
    k = (amount * (1.0 - alpha / 255.0) * soft)[..., None].astype(F32)
    mixed = region + (glow - region) * k
    out = image.copy()
    out.paste(Image.fromarray(np.clip(mixed + 0.5, 0, 255).astype(np.uint8), "RGB"), (x0, y0))
    return out
