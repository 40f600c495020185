"""Flat-lay sets: a product photographed from above, lying on a surface, set from above.

A folded T-shirt shot top-down on linen stood upright on a table reads as a cardboard
cut-out. ``estimate_flat_lay`` tells such a photo from a standing product's by the shadow
round the silhouette (``FLAT_HALO``): lying on a surface, a product throws a soft halo on
every side (above it in the picture too); standing, its shadow falls on the floor at its
foot while the wall beside and above it stays unshadowed. ``render_flat_set`` draws the
theme's surface seen from straight above (no wall, no horizon, no perspective) under a
product placed by ``flat_box``, with a tight occlusion round the whole silhouette and a
soft shadow offset away from the key light, as a product a few millimetres thick throws.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import replace

import cv2
import numpy as np
from PIL import Image

from generation import compose
from generation.sets import textures
from generation.sets.look import (
    NEUTRAL_LIGHT,
    Look,
    neutral_azimuth,
    resolve_brand,
    resolve_theme,
    side_light,
)
from generation.sets.shadows import darken, grain
from generation.sets.stage import MAX_PRODUCT_WIDTH
from generation.sets.themes import Theme
from generation.sets.variants import Variant
from generation.types import Box, PlacedProduct

F32 = np.float32

# every side of the silhouette but its foot (left, right, top) must be at least this much
# darker just outside the matte than further out: a halo round a product lying down.
# The photoset's flat-lay reads 0.024-0.034 (its matte exact, eroded or dilated 4 px);
# its 20 standing products at most 0.005.
FLAT_HALO = 0.015
# and the floor under the foot at most this many times darker than that halo (a
# standing product's contact shadow is many times darker than its sides: 0.05-0.37 vs 0)
FLAT_FOOT = 4.0
# the photo is read at this size (longer side, px)
_READ = 800
# a backdrop darker than this (median luma 0..255 beyond the halo) shows no shadow to
# read: a cutout uploaded with black behind its transparent pixels is not a flat-lay
FLAT_MIN_LUMA = 24.0


def estimate_flat_lay(photo: Image.Image, matte: Image.Image) -> bool:
    """Whether ``photo`` shows the product (``matte``, the photo's size) lying on a surface
    seen from above: a shadow halo just outside the silhouette on its left, right and top
    (the median over a band 0.8-3.5 % of the product's size out, against 12-20 % out) of
    at least ``FLAT_HALO``, and the floor under its foot no more than ``FLAT_FOOT`` times
    as dark. A product cut by the frame, on a backdrop with no shadow at all (a cutout
    on white) or too dark to show one (``FLAT_MIN_LUMA``: a cutout on black), is not
    called flat: nothing shows it lies down."""
    scale = min(1.0, _READ / max(photo.size))
    size = (max(1, round(photo.size[0] * scale)), max(1, round(photo.size[1] * scale)))
    luma = np.asarray(photo.convert("L").resize(size, Image.Resampling.BILINEAR), dtype=F32)
    alpha = np.asarray(matte.convert("L").resize(size, Image.Resampling.BILINEAR), dtype=F32) / 255.0
    ys, xs = np.nonzero(alpha > 0.5)
    if ys.size == 0:
        return False
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    w, h = x1 - x0 + 1, y1 - y0 + 1
    s = float(max(w, h))
    dist = cv2.distanceTransform((alpha < 0.02).astype(np.uint8), cv2.DIST_L2, 5)
    near = (dist > 0.008 * s) & (dist < 0.035 * s)
    far = (dist > 0.12 * s) & (dist < 0.2 * s)
    rows = np.arange(luma.shape[0])[:, None]
    cols = np.arange(luma.shape[1])[None, :]
    across = (cols > x0 + 0.2 * w) & (cols < x1 - 0.2 * w)
    beside = (rows > y0 + 0.2 * h) & (rows < y0 + 0.6 * h)
    sides = {
        "left": (cols < x0 + 0.02 * w) & beside,
        "right": (cols > x1 - 0.02 * w) & beside,
        "top": (rows < y0 + 0.02 * h) & across,
        "foot": (rows > y1 - 0.02 * h) & across,
    }
    halo: dict[str, float] = {}
    for name, band in sides.items():
        n, f = near & band, far & band
        if n.sum() >= 20 and f.sum() >= 20 and float(np.median(luma[f])) >= FLAT_MIN_LUMA:
            halo[name] = 1.0 - float(np.median(luma[n])) / float(np.median(luma[f]))
    if not all(k in halo for k in ("left", "right", "top")):
        return False
    round_it = [halo["left"], halo["right"], halo["top"]]
    if min(round_it) < FLAT_HALO:
        return False
    return halo.get("foot", 0.0) <= FLAT_FOOT * float(np.mean(round_it))


# what ``estimate_flat_lay`` found for the last few photos and mattes (held weakly): a
# poster set asks once per poster of the same segmentation, and reading it takes 60-90 ms
_read: dict[tuple[int, int], tuple[weakref.ref[Image.Image], weakref.ref[Image.Image], bool]] = {}
_READ_KEPT = 8


def lies_flat(view: str, photo: Image.Image, matte: Image.Image) -> bool:
    """Whether a product is set lying flat for the merchant's ``view`` ("flat", "standing"
    or "auto": flat when ``estimate_flat_lay`` sees the photo shows it lying down)."""
    if view != "auto":
        return view == "flat"
    key = (id(photo), id(matte))
    seen = _read.get(key)
    if seen is not None and seen[0]() is photo and seen[1]() is matte:
        return seen[2]
    found = estimate_flat_lay(photo, matte)
    _read[key] = (weakref.ref(photo), weakref.ref(matte), found)
    while len(_read) > _READ_KEPT:
        _read.pop(next(iter(_read)))
    return found


def flat_variant(variant: Variant) -> Variant:
    """``variant`` seen from straight above: no props and no base seen at an angle (the
    set has no floor to stand them on), recorded as ``view`` "flat"."""
    return replace(variant, props=(), foot_ratio=None, view="flat")


def flat_box(
    product_size: tuple[int, int], canvas: tuple[int, int], *, fill: float, variant: Variant | None = None
) -> Box:
    """Where a flat-lay product lies: its longer side ``fill`` of the canvas's matching side
    (times the variant's scale), centred at the variant's x and, from above, a little
    higher or lower with its camera; never wider or taller than ``MAX_PRODUCT_WIDTH``."""
    cw, ch = canvas
    anchor = (0.5, 0.5)
    if variant is not None:
        fill *= variant.scale
        anchor = (variant.anchor_x, 0.5 - 0.06 * variant.camera)
    fill = float(np.clip(fill, 0.05, 0.95))
    _, _, w, h = compose.fit_box(product_size, canvas, fill=fill)
    shrink = min(1.0, MAX_PRODUCT_WIDTH * cw / w, MAX_PRODUCT_WIDTH * ch / h)
    if shrink < 1.0:
        fill = max(fill * shrink, 0.05)
        _, _, w, h = compose.fit_box(product_size, canvas, fill=fill)
    # the product stays a margin inside the frame wherever the variant puts it
    lo_x = min(0.5, (w / 2.0 + 0.04 * cw) / cw)
    lo_y = min(0.5, (h / 2.0 + 0.04 * ch) / ch)
    anchor = (float(np.clip(anchor[0], lo_x, 1.0 - lo_x)), float(np.clip(anchor[1], lo_y, 1.0 - lo_y)))
    return compose.fit_box(product_size, canvas, fill=fill, anchor=anchor)


def shadow_offset(look: Look, size: float) -> tuple[float, float]:
    """How far (x, y px) the soft shadow of a product ``size`` px across lies from it:
    away from the key light sideways, and down the frame (from above, the key light
    stands at the top of the picture), further the lower the light."""
    return lying_offset(look.azimuth, look.theme.light.elevation, size)


def lying_offset(azimuth: float, elevation: float, size: float) -> tuple[float, float]:
    """``shadow_offset`` for a key light at ``azimuth`` and ``elevation`` (degrees, as a
    theme's light: azimuth 180 the left, 90 straight ahead, 0 the right)."""
    a = math.radians(azimuth)
    e = math.radians(elevation)
    run = 0.05 * size / max(math.tan(e), 0.3)
    return (-math.cos(a) * run, 0.6 * run)


def lying_shadow(
    alpha: np.ndarray, size: float, offset: tuple[float, float], *, strength: float, softness: float
) -> np.ndarray:
    """The shadows of a product lying on a surface seen from above, as a density (0..1,
    float32, ``alpha``'s shape) from its matte ``alpha`` (float32 0..1) ``size`` px across:
    a tight contact line and a wider occlusion hugging the whole silhouette (the surface
    round a product lying on it gets less of the room's light on every side), and a soft
    shadow ``offset`` (x, y px, ``lying_offset``) away from the key light (the product lies
    a few millimetres above the surface), blurred more the softer the light (``softness``
    0..1). ``strength`` as a theme's contact shadow's. Never a floor shadow at its foot."""
    h, w = alpha.shape
    tight = cv2.GaussianBlur(alpha, (0, 0), max(0.8, 0.004 * size))
    ambient = cv2.GaussianBlur(alpha, (0, 0), max(1.0, 0.03 * size))
    ox, oy = offset
    shift = np.array([[1.0, 0.0, ox], [0.0, 1.0, oy]], dtype=F32)
    moved = cv2.warpAffine(alpha, shift, (w, h), flags=cv2.INTER_LINEAR)
    soft = cv2.GaussianBlur(moved, (0, 0), max(1.0, (0.012 + 0.02 * softness) * size))
    density = 1.0 - (
        (1.0 - 0.5 * strength * tight) * (1.0 - 0.4 * strength * ambient) * (1.0 - 0.6 * strength * soft)
    )
    return np.clip(density, 0.0, 1.0).astype(F32)


def neutral_lying_offset(size: float, light_side: float | None) -> tuple[float, float]:
    """``lying_offset`` under ``NEUTRAL_LIGHT``. ``light_side``: +1 the light on the
    product comes from the left, -1 the right, None straight ahead (the shadow falls down)."""
    return lying_offset(neutral_azimuth(light_side), NEUTRAL_LIGHT["elevation"], size)


def lying_reach(size: float, offset: tuple[float, float], softness: float) -> int:
    """How far (px) beyond the silhouette ``lying_shadow`` reaches: a crop of the matte
    with this margin all round gives the same shadow as the whole canvas."""
    blur = max(1.0, 0.03 * size, (0.012 + 0.02 * softness) * size)
    return math.ceil(4.0 * blur + max(abs(offset[0]), abs(offset[1]))) + 2


def neutral_lying_shadow(
    alpha: np.ndarray, size: float, *, strength: float, light_side: float | None, margin: int = 0
) -> tuple[np.ndarray, int]:
    """``lying_shadow`` under ``NEUTRAL_LIGHT`` (a flat-lay on a poster's brand colour or
    white, on a clip's end card), from the product's whole matte ``alpha`` (float32 0..1)
    ``size`` px across: (density, pad), the density over the matte padded with zeros by
    ``pad`` px on every side (``lying_reach``, at least ``margin``), so the shadow fades out
    round the silhouette wherever the caller lays it (never mirrored at a canvas's edge).
    ``light_side``: +1 the light on the product comes from the left, -1 the right, None
    straight ahead (the shadow falls down)."""
    offset = neutral_lying_offset(size, light_side)
    softness = NEUTRAL_LIGHT["softness"]
    pad = max(margin, lying_reach(size, offset, softness))
    h, w = alpha.shape
    padded = np.zeros((h + 2 * pad, w + 2 * pad), dtype=F32)
    padded[pad : pad + h, pad : pad + w] = alpha
    return lying_shadow(padded, size, offset, strength=strength, softness=softness), pad


def render_flat_set(
    theme: Theme | str,
    placed: PlacedProduct,
    *,
    brand_color: tuple[int, int, int] | None = None,
    seed: int = 0,
    variant: Variant | None = None,
) -> np.ndarray:
    """The theme's surface seen from straight above, filling the canvas, with the shadows of
    the product lying at ``placed.box``: float32 HxWx3 in about 0..255, without the product
    (paste it back on top). A ``variant`` sets the key light's side and the colour set."""
    return _flat_set(theme, placed, brand_color, seed, variant, empty=False)[0]


def render_flat_set_pair(
    theme: Theme | str,
    placed: PlacedProduct,
    *,
    brand_color: tuple[int, int, int] | None = None,
    seed: int = 0,
    variant: Variant | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``render_flat_set`` and the same surface without the product's shadows (its light,
    vignette and grain the same, drawn once): their ratio is the shadow alone, which a
    clip moves with the product."""
    shadowed, empty = _flat_set(theme, placed, brand_color, seed, variant, empty=True)
    assert empty is not None
    return shadowed, empty


def _flat_set(
    theme: Theme | str,
    placed: PlacedProduct,
    brand_color: tuple[int, int, int] | None,
    seed: int,
    variant: Variant | None,
    *,
    empty: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    theme = resolve_theme(theme)
    look = Look.make(theme, resolve_brand(brand_color, theme), seed, variant)
    surf = look.theme.surface
    cw, ch = placed.canvas_size
    # the material at one scale everywhere: no perspective from above
    unit = min(cw, ch) / 1000.0 * surf.scale
    xs = (np.arange(cw, dtype=F32) + 0.5 - cw / 2.0) / unit
    ys = (np.arange(ch, dtype=F32) + 0.5) / unit
    u = np.broadcast_to(xs[None, :], (ch, cw)).astype(F32)
    v = np.broadcast_to(ys[:, None], (ch, cw)).astype(F32)
    palette = [look.color(c) for c in surf.colors]
    bg = textures.material(surf.material, u, v, palette, look.rng("floor"), 1.0 / unit)

    # light: brighter on the key light's side and towards the top of the frame, a pool
    # round the product (the theme's glow), the theme's vignette
    x, y, w, h = placed.box
    xn = (np.arange(cw, dtype=F32) + 0.5) / cw
    yn = (np.arange(ch, dtype=F32) + 0.5) / ch
    lit = side_light(look, xn)[None, :] * (1.0 + look.theme.light.falloff * (0.5 - yn))[:, None]
    glow = look.theme.backdrop.glow
    if glow is not None:
        dx = (np.arange(cw, dtype=F32) + 0.5 - (x + w / 2.0)) / (0.6 * max(cw, ch))
        dy = (np.arange(ch, dtype=F32) + 0.5 - (y + h / 2.0)) / (0.6 * max(cw, ch))
        lit = lit * (1.0 + 0.3 * glow.strength * np.exp(-(dx[None, :] ** 2 + dy[:, None] ** 2)))
    bg *= textures.channels(lit.astype(F32))
    bg *= np.tile(look.light_tint, (cw, 1))
    vignette = look.theme.backdrop.vignette
    if vignette > 0:
        r2 = ((xn[None, :] - 0.5) ** 2 + (yn[:, None] - 0.5) ** 2) * 2.0
        bg *= textures.channels(1.0 - vignette * textures.smoothstep(0.15, 1.0, r2))

    # shadows: a product lying on the surface (``lying_shadow``)
    bare = bg.copy() if empty else None
    cs = look.theme.contact_shadow
    alpha = np.zeros((ch, cw), dtype=F32)
    vis = placed.visible()
    if vis is not None and cs.strength > 0:
        (x0, y0, x1, y1), rgba = vis
        alpha[y0:y1, x0:x1] = rgba[..., 3].astype(F32) / 255.0
        size = float(max(w, h))
        density = lying_shadow(
            alpha, size, shadow_offset(look, size), strength=cs.strength, softness=look.theme.light.softness
        )
        darken(bg, density, (0, 0))
    noise = grain(look, placed.canvas_size)
    bg += noise
    if bare is not None:
        bare += noise
    return bg, bare
