"""Shadows and reflection: the product's (and the set pieces') shadows on the floor, the
product's reflection on a glossy floor, and the film grain over the whole set."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image

from generation.sets.look import Look, light_side_of, named_rng
from generation.sets.shapes import podium_cover
from generation.sets.stage import Stage
from generation.sets.textures import channels, times
from generation.shadows import cast_shadow, grounding_shadow, reflection
from generation.types import PlacedProduct

F32 = np.float32
# Shadows darken by multiplying towards this (slightly cool, like skylight in the shade).
SHADOW_TINT = np.array([0.26, 0.27, 0.31], dtype=F32)


# a shadow on the set: its density (0..1) and the canvas (x, y) of the array's top-left
Shadow = tuple[np.ndarray, tuple[int, int]]


def darken(img: np.ndarray, density: np.ndarray, origin: tuple[int, int]) -> None:
    """Multiply a shadow density (0..1, its top-left at ``origin``) into ``img`` in place."""
    if density.size == 0:
        return
    ox, oy = origin
    h, w = density.shape
    img[oy : oy + h, ox : ox + w] *= 1.0 - times(density, 1.0 - SHADOW_TINT)


def shadow_factor(shadows: list[Shadow]) -> tuple[np.ndarray, tuple[int, int]] | None:
    """What ``shadows`` multiply the set by where ``darken`` applies them one after the
    other: (h, w, 3) float32 over the box they cover together, and that box's top-left
    (None when there are none). Shadows multiply, so two that overlap darken the set as
    much as both, never with an edge where one ends."""
    shadows = [(d, o) for d, o in shadows if d.size]
    if not shadows:
        return None
    x0 = min(o[0] for _, o in shadows)
    y0 = min(o[1] for _, o in shadows)
    x1 = max(o[0] + d.shape[1] for d, o in shadows)
    y1 = max(o[1] + d.shape[0] for d, o in shadows)
    factor = np.ones((y1 - y0, x1 - x0, 3), dtype=F32)
    for d, (ox, oy) in shadows:
        darken(factor, d, (ox - x0, oy - y0))
    return factor, (x0, y0)


def _shadow_direction(look: Look) -> tuple[float, float]:
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


def cast_density(placed: PlacedProduct, look: Look, base_y: float | None = None) -> Image.Image:
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


def product_shadows(bg: np.ndarray, placed: PlacedProduct, look: Look, stage: Stage) -> np.ndarray:
    cs = look.theme.contact_shadow
    contact = grounding_shadow(
        placed, strength=cs.strength, spread=cs.spread, side=light_side_of(look.azimuth)
    )
    cast = cast_density(placed, look)
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
        top, _ = podium_cover(stage.podium, xx, yy)
        density *= top
    darken(bg, density, (x0, y0))
    return bg


def add_reflection(bg: np.ndarray, placed: PlacedProduct, look: Look) -> np.ndarray:
    rf = look.theme.reflection
    assert rf is not None
    layer = reflection(placed, strength=rf.strength, length=rf.length, blur=rf.blur)
    bbox = layer.getchannel("A").getbbox()
    if bbox is None:
        return bg
    x0, y0, x1, y1 = bbox
    crop = layer.crop(bbox)
    # colour and alpha as arrays of their own (see ``channels``)
    a = channels(np.asarray(crop.getchannel("A"), dtype=F32) / 255.0)
    rgb = np.asarray(crop.convert("RGB"), dtype=F32)
    bg[y0:y1, x0:x1] = bg[y0:y1, x0:x1] * (1.0 - a) + rgb * a
    return bg


def grain(look: Look, canvas: tuple[int, int]) -> np.ndarray:
    """The set's seeded grain, the same in the three channels (H x W x 3); a new array."""
    cw, ch = canvas
    amount = look.theme.grain * 255.0
    if amount <= 0:
        return np.zeros((ch, cw, 3), dtype=F32)
    # the grain's stream is named by the theme's name and the seed (``theme_rng``)
    key = (look.theme.name, look.seed, float(amount), cw, ch)
    return channels(_kept_grain(*key) if cw * ch <= GRAIN_KEPT_PIXELS else _grain_plane(*key))


# The grain depends on the theme, the seed and the canvas size only, never on where the
# product stands, and drawing it is most of what it costs: a poster set builds one set
# per template at each size (each around its own product box) and draws the same grain
# for all of them. Planes up to this size are kept (1.2 MB at a poster's 300,000 px
# set), larger ones (scenes, clips) drawn anew.
GRAIN_KEPT_PIXELS = 400_000


def _grain_plane(theme: str, seed: int, amount: float, cw: int, ch: int) -> np.ndarray:
    return named_rng(theme, seed, "grain").standard_normal((ch, cw), dtype=F32) * amount


@lru_cache(maxsize=16)
def _kept_grain(theme: str, seed: int, amount: float, cw: int, ch: int) -> np.ndarray:
    """``_grain_plane``, kept (read-only)."""
    plane = _grain_plane(theme, seed, amount, cw, ch)
    plane.setflags(write=False)
    return plane
