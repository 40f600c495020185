"""Shadows and reflection: the product's (and the set pieces') shadows on the floor, the
product's reflection on a glossy floor, and the film grain over the whole set."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from generation.sets.look import NEUTRAL_LIGHT, Look, light_side_of, named_rng, neutral_azimuth
from generation.sets.shapes import podium_cover
from generation.sets.stage import Stage
from generation.sets.textures import channels, times
from generation.shadows import cast_shadow, grounding_shadow, reflection
from generation.types import Box, PlacedProduct

F32 = np.float32
# Shadows darken by multiplying towards this (slightly cool, like skylight in the shade).
SHADOW_TINT = np.array([0.26, 0.27, 0.31], dtype=F32)


# a shadow on the set: its density (0..1) and the canvas (x, y) of the array's top-left
Shadow = tuple[np.ndarray, tuple[int, int]]


def darken(img: np.ndarray, density: np.ndarray, origin: tuple[int, int]) -> None:
    """Multiply a shadow density (0..1, its top-left at ``origin``) into ``img`` in place;
    what lies outside ``img`` is left out."""
    ox, oy = origin
    h, w = density.shape
    x0, y0 = max(ox, 0), max(oy, 0)
    x1, y1 = min(ox + w, img.shape[1]), min(oy + h, img.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    if (x0, y0, x1, y1) != (ox, oy, ox + w, oy + h):
        density = np.ascontiguousarray(density[y0 - oy : y1 - oy, x0 - ox : x1 - ox])
    img[y0:y1, x0:x1] *= 1.0 - times(density, 1.0 - SHADOW_TINT)


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
    length = theme.cast_shadow.length if theme.cast_shadow else 1.0
    return floor_direction(look.azimuth, theme.light.elevation, length, theme.surface.vanishing)


def floor_direction(azimuth: float, elevation: float, length: float, vanishing: float) -> tuple[float, float]:
    """``cast_shadow``'s direction (image-space offset per pixel of height) for a key light
    at ``azimuth`` and ``elevation`` (degrees, as a theme's light), a shadow ``length``
    times as long as the light casts it, on a floor whose vanishing line is ``vanishing``
    (as a theme's surface's)."""
    a = math.radians(azimuth)
    run = length / math.tan(math.radians(elevation))
    # shadows point away from the light: (-cos a) sideways, (+sin a) into the depth
    sx, sz = -math.cos(a), math.sin(a)
    # depth on the floor is foreshortened: the nearer the vanishing line, the flatter
    squash = 0.5 / (1.0 + vanishing)
    return (sx * run, -sz * run * squash)


def cast_density(placed: PlacedProduct, look: Look, base_y: float | None = None) -> Image.Image:
    theme = look.theme
    cs = theme.cast_shadow
    if cs is None or cs.strength <= 0:
        return Image.new("L", placed.canvas_size, 0)
    return _cast(placed, _shadow_direction(look), cs.strength, cs.fade, theme.light.softness, base_y)


def _cast(
    placed: PlacedProduct,
    direction: tuple[float, float],
    strength: float,
    fade: float,
    softness: float,
    base_y: float | None = None,
) -> Image.Image:
    """``cast_shadow`` under a light of ``softness`` (0..1): the softer, the wider its
    penumbra and the faster it grows with the distance from the foot."""
    return cast_shadow(
        placed,
        direction=direction,
        strength=strength,
        blur=0.003 + 0.012 * softness,
        blur_growth=0.02 + 0.14 * softness,
        fade=fade,
        base_y=base_y,
    )


def product_shadows(bg: np.ndarray, placed: PlacedProduct, look: Look, stage: Stage) -> np.ndarray:
    cs = look.theme.contact_shadow
    contact = grounding_shadow(
        placed, strength=cs.strength, spread=cs.spread, side=light_side_of(look.azimuth)
    )
    shadow = _standing(contact, cast_density(placed, look))
    if shadow is None:
        return bg
    density, (x0, y0) = shadow
    if stage.podium is not None:
        # the product's shadows fall on the podium's top face only
        h, w = density.shape
        yy, xx = np.mgrid[y0 : y0 + h, x0 : x0 + w].astype(F32) + 0.5
        top, _ = podium_cover(stage.podium, xx, yy)
        density *= top
    darken(bg, density, (x0, y0))
    return bg


def _standing(contact: Image.Image, cast: Image.Image) -> Shadow | None:
    """A standing product's contact shadow and cast shadow (L densities, canvas-sized)
    together, over the box they cover (None when neither has any ink)."""
    boxes = [b for b in (contact.getbbox(), cast.getbbox()) if b is not None]
    if not boxes:
        return None
    # work only where there is any shadow
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    area = (x0, y0, x1, y1)
    dc = np.asarray(contact.crop(area), dtype=F32) / 255.0
    dk = np.asarray(cast.crop(area), dtype=F32) / 255.0
    return 1.0 - (1.0 - dc) * (1.0 - dk), (x0, y0)


# A standing product's shadows under ``NEUTRAL_LIGHT`` (no theme, no floor: a poster's brand
# colour or white): the occlusion's spread twice a theme's (0.025-0.04: with nothing else on
# a plain colour it is what seats the product; at 0.035 a wide jar's faded 0.07 of its
# height below the foot), and a faint floor shadow (its strength a share of the contact's,
# length and fade as a theme's cast shadow's) on a floor seen as a theme's is by default
NEUTRAL_STANDING = {"spread": 0.06, "cast": 0.4, "length": 0.8, "fade": 0.7, "vanishing": 0.6}


# A standing product's neutral shadows are drawn round it at most this tall (px) and
# scaled up: they are soft but for the contact line, which stays within a pixel or two
# of it, and drawn at a 1080 px story's size they took as long as all the rest of a poster
NEUTRAL_DRAWN_HEIGHT = 360


def neutral_standing_shadow(
    placed: PlacedProduct, *, strength: float, light_side: float | None, cast: bool = True
) -> Shadow | None:
    """The shadows of a product standing on a plain colour with no theme to light it, under
    ``NEUTRAL_LIGHT``: the contact shadow and ambient occlusion from its silhouette's foot
    (``grounding_shadow``, as a scene's: tight and dark at the contact line) and a faint
    floor shadow cast away from the light (``cast_shadow``), as the density over the box
    they cover on ``placed``'s canvas and its top-left (None when there is none): a
    poster's brand colour or white, a clip's end card. ``strength`` as a theme's contact
    shadow's; ``light_side`` +1 the light on the product comes from the left, -1 the right,
    None straight ahead. ``cast=False`` leaves the floor shadow out (a picture that has
    painted its own: a clip's finished scene). A product taller than
    ``NEUTRAL_DRAWN_HEIGHT`` has them drawn round it at that height, mapped back so that
    box lands exactly on its own."""
    if strength <= 0:
        return None
    x, y, w, h = placed.box
    k = NEUTRAL_DRAWN_HEIGHT / max(h, 1)
    if k >= 0.95:
        return _neutral_standing(placed, strength, light_side, cast)
    cw, ch = placed.canvas_size
    box = (round(x * k), round(y * k), max(1, round(w * k)), max(1, round(h * k)))
    layer = placed.layer.resize(box[2:], Image.Resampling.BILINEAR)
    small = PlacedProduct(layer=layer, box=box, canvas_size=(max(2, round(cw * k)), max(2, round(ch * k))))
    shadow = _neutral_standing(small, strength, light_side, cast)
    if shadow is None:
        return None
    return _scaled_to(*shadow, small.box, placed.box)


def _neutral_standing(
    placed: PlacedProduct, strength: float, light_side: float | None, cast: bool = True
) -> Shadow | None:
    n = NEUTRAL_STANDING
    contact = grounding_shadow(placed, strength=strength, spread=n["spread"], side=light_side or 0.0)
    if not cast:
        return _standing(contact, Image.new("L", placed.canvas_size, 0))
    direction = floor_direction(
        neutral_azimuth(light_side), NEUTRAL_LIGHT["elevation"], n["length"], n["vanishing"]
    )
    floor = _cast(placed, direction, n["cast"] * strength, n["fade"], NEUTRAL_LIGHT["softness"])
    return _standing(contact, floor)


def _scaled_to(density: np.ndarray, origin: tuple[int, int], small: Box, box: Box) -> Shadow:
    """A density drawn round a product at ``small`` (its top-left at ``origin``) scaled so
    that box lands exactly on ``box``: (density, top-left) at the canvas's own size."""
    (bx, by, bw, bh), (x, y, w, h) = small, box
    fx, fy = w / bw, h / bh
    ox, oy = origin
    dh, dw = density.shape
    x0, y0 = math.floor(x + (ox - bx) * fx), math.floor(y + (oy - by) * fy)
    x1, y1 = math.ceil(x + (ox + dw - bx) * fx), math.ceil(y + (oy + dh - by) * fy)
    # each canvas pixel's centre, in the small density's pixels
    m = np.array(
        [
            [1.0 / fx, 0.0, bx - ox + (x0 + 0.5 - x) / fx - 0.5],
            [0.0, 1.0 / fy, by - oy + (y0 + 0.5 - y) / fy - 0.5],
        ]
    )
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    big = cv2.warpAffine(
        density, m, (x1 - x0, y1 - y0), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    return big.astype(F32), (x0, y0)


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
