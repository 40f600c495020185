"""Poster backgrounds: brand gradients, white, studio themes and mapped scenes.

Every function returns the background *without* the product, as float32 HxWx3 (0..255)
at the poster's size; the renderer pastes the product's own pixels back last.

- ``brand_background``: a radial or linear gradient between brand tints, dithered with
  a little seeded grain so large gradients do not band.
- ``theme_background``: a studio theme (``sets/themes/*.json``) built at poster size
  with the same set pieces as the studio scenes (``generation.sets``) (wall, floor, podium, shadows, reflection,
  grain), standing under the product box the layout chose; a flat-lay lies on the
  theme's surface seen from above, as in its scenes (``sets.render_flat_set``).
- Scenes rendered earlier (a ``RenderedImage`` with its ``product_box``) are scaled
  uniformly and shifted so their product box lands on the layout's product box
  (``scene_background``). Where that does not cover the canvas, a studio scene
  (``rebuildable``) is built again at the poster's own size and aspect with its theme
  and seed, so a 9:16 story on a square scene gets a 9:16 set, never a stretched one;
  any other scene is continued by mirroring its own pixels, blurred progressively
  with the distance (no replicated edge streaks). The scene's own product pixels are
  never used as the product.
"""

from __future__ import annotations

import math
import zlib
from functools import cache, lru_cache

import cv2
import numpy as np
from PIL import Image

from generation import sets
from generation.blur import fast_blur
from generation.errors import InvalidSpec
from generation.sets.shadows import darken
from generation.sets.textures import channels
from generation.types import Box, PlacedProduct, RenderedImage

F32 = np.float32
RGB = tuple[int, int, int]


def _rng(seed: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng([seed % 2**63, zlib.crc32(purpose.encode())])


def brand_background(
    size: tuple[int, int],
    colors: list[RGB],
    *,
    style: str = "radial",
    center: tuple[float, float] = (0.5, 0.45),
    angle: float = 90.0,
    grain: float = 0.004,
    seed: int = 0,
) -> np.ndarray:
    """A gradient from ``colors[0]`` (centre / start) through to ``colors[-1]``."""
    w, h = size
    stops = np.array(colors, dtype=F32)
    if style == "solid" or len(stops) == 1:
        out = np.broadcast_to(stops[0], (h, w, 3)).astype(F32)
    else:
        # the field is smooth: compute it at quarter size and scale it up
        sw, sh = max(2, w // 4), max(2, h // 4)
        ys = (np.arange(sh, dtype=F32) + 0.5) / sh
        xs = (np.arange(sw, dtype=F32) + 0.5) / sw
        if style == "radial":
            cx, cy = center
            dx = (xs[None, :] - cx) * w
            dy = (ys[:, None] - cy) * h
            far = max(math.hypot(max(cx, 1 - cx) * w, max(cy, 1 - cy) * h), 1.0)
            t = np.sqrt(dx * dx + dy * dy) / far
        else:
            a = math.radians(angle)
            ux, uy = math.cos(a), math.sin(a)
            proj = (xs[None, :] - 0.5) * w * ux + (ys[:, None] - 0.5) * h * uy
            half = 0.5 * (abs(w * ux) + abs(h * uy))
            t = proj / max(half, 1.0) * 0.5 + 0.5
        t = np.clip(t, 0.0, 1.0)
        t = t * t * (3 - 2 * t) * 0.6 + t * 0.4  # ease the transition a little
        pos = t * (len(stops) - 1)
        k = np.minimum(pos.astype(np.int32), len(stops) - 2)
        f = (pos - k)[..., None]
        small = stops[k] * (1 - f) + stops[k + 1] * f
        out = cv2.resize(small.astype(F32), (w, h), interpolation=cv2.INTER_CUBIC)
    if grain > 0:
        # over the three channels as whole rows (``channels``): the same values as
        # ``out + noise[..., None]``, in place on this poster's own array
        kept = w * h <= GRAIN_KEPT_PIXELS
        out += channels(_brand_grain(seed, w, h, grain) if kept else _grain(seed, w, h, grain))
    return out


# A brand background's grain depends on the seed and the canvas size only, not on the
# words or the template, and drawing it is most of the background's time: a poster set
# draws it once per size for all its templates. Canvases up to a story's size are kept
# (8 MB of grain at 1080 x 1920), larger custom ones drawn anew.
GRAIN_KEPT_PIXELS = 1080 * 1920


def _grain(seed: int, w: int, h: int, grain: float) -> np.ndarray:
    return _rng(seed, "grain").standard_normal((h, w), dtype=F32) * F32(grain * 255.0)


@lru_cache(maxsize=4)
def _brand_grain(seed: int, w: int, h: int, grain: float) -> np.ndarray:
    """``_grain``, kept (read-only)."""
    noise = _grain(seed, w, h, grain)
    noise.setflags(write=False)
    return noise


def white_background(size: tuple[int, int], color: RGB = (255, 255, 255)) -> np.ndarray:
    w, h = size
    return np.broadcast_to(np.array(color, dtype=F32), (h, w, 3)).copy()


# How dark a product's shadows are on a brand colour or white, standing or lying (no theme
# says where its light is: ``sets.NEUTRAL_LIGHT``), as a theme's contact shadow strength:
# lighter on white, where a marketplace-clean look wants the product to sit lightly
SHADOW_STRENGTH = {"brand": 0.55, "white": 0.45}


def with_standing_shadow(
    background: np.ndarray, placed: PlacedProduct, *, strength: float, light_side: float | None
) -> np.ndarray:
    """A standing product's shadows (``sets.neutral_standing_shadow``: a contact shadow
    tight and dark at its foot, the occlusion round it and a faint floor shadow cast away
    from the light, as a scene grounds it) darkening the background. ``light_side``: +1 the
    light on the product comes from the left, -1 the right, None straight ahead."""
    shadow = sets.neutral_standing_shadow(placed, strength=strength, light_side=light_side)
    if shadow is None:
        return background
    out = background.copy()
    darken(out, *shadow)
    return out


def with_lying_shadow(
    background: np.ndarray, placed: PlacedProduct, *, strength: float, light_side: float | None
) -> np.ndarray:
    """A flat-lay's shadow (``sets.neutral_lying_shadow``: round its whole silhouette, offset
    a little down and away from the light, as a product lying on the surface throws it)
    darkening the background; never a floor shadow at its foot. ``light_side``: +1 the
    light comes from the left, -1 the right, None straight ahead (the shadow falls down)."""
    if strength <= 0:
        return background
    x, y, w, h = placed.box
    alpha = np.asarray(placed.layer.getchannel("A"), dtype=F32) / 255.0
    density, pad = sets.neutral_lying_shadow(
        alpha, float(max(w, h)), strength=strength, light_side=light_side
    )
    out = background.copy()
    darken(out, density, (x - pad, y - pad))
    return out


# A studio set is built at up to this many pixels and scaled up to the canvas: the set
# is soft light, surfaces and shadows, and building it at full size is most of a
# poster's time. Fine grain is added again at full size.
SET_PIXELS = 300_000
SET_GRAIN = 0.004


def theme_background(
    theme_name: str, placed: PlacedProduct, brand: RGB | None, seed: int, *, flat: sets.Variant | None = None
) -> tuple[np.ndarray, dict[str, object]]:
    """The studio theme's set built around ``placed`` (its box is the layout's), at the
    canvas's own size and aspect; ``brand`` fills the theme's brand slots (``None``:
    the theme's own colour). ``flat``: the product lies on the theme's surface seen from
    above (a flat-lay, ``sets.render_flat_set``), in this composition's light and colours."""
    built, info = theme_set(theme_name, placed, brand, seed, flat=flat)
    return set_on_canvas(built, placed.canvas_size, seed), info


def theme_set(
    theme_name: str, placed: PlacedProduct, brand: RGB | None, seed: int, *, flat: sets.Variant | None = None
) -> tuple[np.ndarray, dict[str, object]]:
    """``theme_background`` as built, before ``set_on_canvas``: at most ``SET_PIXELS``
    pixels (the canvas's full size when that is close enough). The costly part, and
    what a cache keeps: a few MB where the canvas would be tens."""
    theme = sets.get_theme(theme_name)  # InvalidSpec naming the themes
    cw, ch = placed.canvas_size
    k = min(1.0, math.sqrt(SET_PIXELS / (cw * ch)))
    if k <= 0.95:
        x, y, w, h = placed.box
        box = (round(x * k), round(y * k), max(1, round(w * k)), max(1, round(h * k)))
        layer = placed.layer.resize(box[2:], Image.Resampling.BILINEAR)
        placed = PlacedProduct(
            layer=layer, box=box, canvas_size=(max(2, round(cw * k)), max(2, round(ch * k)))
        )
    if flat is not None:
        bg = sets.render_flat_set(theme, placed, brand_color=brand, seed=seed, variant=flat)
    else:
        bg = sets.render_set(theme, placed, brand_color=brand, seed=seed)
    info: dict[str, object] = {"theme": theme.name, "light_wrap": theme.light_wrap, "set_scale": round(k, 3)}
    if flat is not None:
        info["view"] = "flat"
    return bg, info


def set_on_canvas(built: np.ndarray, canvas: tuple[int, int], seed: int) -> np.ndarray:
    """A ``theme_set`` at the canvas size: scaled up with fine grain added again, or
    copied when it was built at full size. Always a new array; ``built`` is unchanged."""
    cw, ch = canvas
    if built.shape[:2] == (ch, cw):
        return built.copy()
    bg = cv2.resize(built, (cw, ch), interpolation=cv2.INTER_CUBIC)
    band = _grain_band(seed, cw)
    for y0 in range(0, ch, 256):  # band by band: no canvas-sized noise array
        block = bg[y0 : y0 + 256]
        block += band[: block.shape[0]]
    return bg


@cache
def _grain_tile(seed: int) -> np.ndarray:
    """Seeded fine grain, 256 px square, tiled over a canvas (read-only)."""
    tile = _rng(seed, "set-grain").standard_normal((256, 256), dtype=F32) * F32(SET_GRAIN * 255.0)
    tile.setflags(write=False)
    return tile


@lru_cache(maxsize=8)  # one per canvas width in use, 3 MB at 1080 px
def _grain_band(seed: int, width: int) -> np.ndarray:
    """The grain tile repeated across ``width`` and over the three channels, 256 rows
    (read-only). Added band by band it gives what adding the tile square by square gives,
    value for value, several times faster: numpy's inner loop runs along a contiguous row
    instead of over three channels sharing one noise value."""
    tile = _grain_tile(seed)
    band = np.repeat(np.tile(tile, (1, -(-width // 256)))[:, :width, None], 3, axis=2)
    band.setflags(write=False)
    return band


def rebuildable(scene: RenderedImage | None) -> bool:
    """True for a scene the studio engine made (its theme and seed rebuild its set)."""
    return scene is not None and scene.studio_set is not None


def _mapping(scene: RenderedImage, box: Box) -> tuple[float, int, int, int, int]:
    """(scale, x offset, y offset, width, height) that puts the scene's product box on ``box``."""
    sx, sy, sw, sh = scene.product_box
    if sw <= 0 or sh <= 0:
        raise InvalidSpec("the scene has no product box to line the product up with")
    x, y, w, h = box
    scale = 0.5 * (w / sw + h / sh)  # uniform: the two agree to a pixel for one cutout
    nw, nh = max(1, round(scene.image.width * scale)), max(1, round(scene.image.height * scale))
    return scale, round(x - sx * scale), round(y - sy * scale), nw, nh


def scene_covers(scene: RenderedImage, box: Box, size: tuple[int, int]) -> bool:
    """True when ``scene``, mapped so its product lands on ``box``, covers the canvas."""
    _, ox, oy, nw, nh = _mapping(scene, box)
    return ox <= 0 and oy <= 0 and ox + nw >= size[0] and oy + nh >= size[1]


def scene_background(
    scene: RenderedImage, box: Box, size: tuple[int, int]
) -> tuple[np.ndarray, dict[str, object]]:
    """``scene`` scaled and shifted so its product box lands on ``box``, covering ``size``."""
    scale, ox, oy, nw, nh = _mapping(scene, box)
    cw, ch = size
    image = scene.image if scene.image.mode == "RGB" else scene.image.convert("RGB")
    src = np.asarray(image, dtype=np.uint8)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    # scaled, mirrored and cut to the canvas in 8 bits (copies only), then made float:
    # the same values as converting first, without a float copy of the whole scaled scene
    scaled = cv2.resize(src, (nw, nh), interpolation=interp)
    # pad the scaled scene so it covers the canvas: its own pixels mirrored outwards
    # (a replicated edge row would streak), more than once where the gap is wider
    left, top = max(0, ox), max(0, oy)
    right, bottom = max(0, cw - (ox + nw)), max(0, ch - (oy + nh))
    extended = bool(left or top or right or bottom)
    padded: np.ndarray = scaled
    while left or top or right or bottom:
        h, w = padded.shape[:2]
        step = [min(v, (w if i % 2 == 0 else h) - 1) for i, v in enumerate((left, top, right, bottom))]
        padded = cv2.copyMakeBorder(padded, step[1], step[3], step[0], step[2], cv2.BORDER_REFLECT_101)
        left, top, right, bottom = (v - d for v, d in zip((left, top, right, bottom), step, strict=True))
    cx0, cy0 = max(0, ox) - ox, max(0, oy) - oy  # canvas (0, 0) in padded coords
    out = padded[cy0 : cy0 + ch, cx0 : cx0 + cw].astype(F32)
    if extended:
        # the mirrored part fades into a heavy blur with the distance from the scene
        inside = np.zeros((ch, cw), dtype=np.uint8)
        ix0, iy0 = max(ox, 0), max(oy, 0)
        ix1, iy1 = min(ox + nw, cw), min(oy + nh, ch)
        if ix1 > ix0 and iy1 > iy0:
            inside[iy0:iy1, ix0:ix1] = 1
        dist = cv2.distanceTransform((1 - inside).astype(np.uint8), cv2.DIST_L2, 3)
        ramp = 0.08 * min(cw, ch)
        # the mix spread over the three channels: numpy then runs along whole rows
        t = channels(np.clip(dist / ramp, 0, 1).astype(F32))
        blurred = fast_blur(out, 0.05 * min(cw, ch), exact_up_to=0.0)  # always the coarse blur
        out = out * (1 - t) + blurred * t
    return out, {
        "scene": scene.name,
        "scene_size": [scene.image.width, scene.image.height],
        "scene_product_box": list(scene.product_box),
        "scale": round(scale, 5),
        "offset": [ox, oy],
        "extended": extended,
    }
