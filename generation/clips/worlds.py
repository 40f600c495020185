"""The worlds a clip's camera moves through: the set behind the product, and its shadows.

A ``World`` is a still background at its own resolution plus what the product does to
it (shadows, a reflection) as a separate multiplicative layer, so that the product and
its shadow can move apart from the wall when the camera moves in depth (parallax).

- ``studio_world`` renders a studio theme twice through the public engine: once with
  the product, once with an invisible "ghost" product of the same size (one pixel at
  alpha 1/255). The set is laid out from the product's size only, so both renders share
  every background pixel; the ghost render is the empty set (the plate), and their ratio
  around the product is its shadow and reflection.
- ``scene_world`` takes a finished scene image (e.g. from the diffusion engine): the
  product is filled out of it; its shadow stays painted into the plate.
- ``end_card_world`` is a flat, quiet backdrop for the closing card, with a soft shadow
  attached to the product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np
from PIL import Image

from generation import compose
from generation.clips.motion import Similarity, WorldGeometry
from generation.config import GenerationConfig
from generation.errors import InvalidSpec
from generation.shadows import contact_shadow
from generation.specs import SceneSpec
from generation.types import Box, PlacedProduct, RenderedImage, Segmentation

F32 = np.float32


class AnimatedPlate(Protocol):
    """A plate that changes over time (diffusion background motion)."""

    def plate_at(self, t: float) -> np.ndarray: ...


@dataclass(frozen=True)
class Effect:
    """What the product does to the set around it, as ``out = (bg + .5) * ratio - .5``.

    ``ratio`` is (h, w, 3) float32 placed at ``origin`` in the effect's own pixel frame;
    ``to_frame`` maps that frame to the frame the timeline's effect transform starts from
    (world pixels for scenes, the product's rest box on the canvas for the end card).
    """

    ratio: np.ndarray
    origin: tuple[int, int]
    to_frame: Similarity = Similarity()


@dataclass(frozen=True)
class World:
    name: str  # e.g. "scene-marble_counter"
    source: str  # studio | scene | end_card
    plate: np.ndarray  # (H, W, 3) uint8: the set without the product or its shadows
    dressed: np.ndarray  # plate with the product's shadows: what sits behind the product
    effect: Effect | None
    geometry: WorldGeometry
    depth_ratio: np.ndarray  # (H,) float32: parallax speed of each world row (1 = product)
    theme: str | None = None
    seed: int | None = None
    animation: AnimatedPlate | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        return (self.plate.shape[1], self.plate.shape[0])


# ---------------------------------------------------------------------------
# Studio worlds


def studio_world(
    seg: Segmentation,
    *,
    theme: str,
    seed: int,
    size: tuple[int, int],
    fill: float,
    brand_color: tuple[int, int, int] | None,
    config: GenerationConfig,
    wall_ratio: float = 0.35,
    front_ratio: float = 1.5,
) -> World:
    """The theme's set at ``size`` with the product's shadows as a separate layer."""
    from generation.engines import get_engine
    from generation.engines.themes import get_theme

    engine = get_engine("studio", config)
    spec = SceneSpec(
        theme=theme, seed=seed, width=size[0], height=size[1], fill=fill, brand_color=brand_color
    )
    # 1. the scene as the studio engine makes it, and the same set without the product
    scene = engine.render(seg, spec)[0]
    empty = engine.render(_ghost(seg), spec)[0]
    if empty.product_box != scene.product_box:
        raise InvalidSpec(f"the {theme} set moved when the product was hidden; cannot separate its shadow")
    plate = np.ascontiguousarray(np.asarray(empty.image.convert("RGB")))
    shot = np.asarray(scene.image.convert("RGB"))

    # 2. the product's shadow/reflection: their ratio where the product does not cover
    alpha = _alpha_on_canvas(seg, size, scene.product_box)
    effect = _effect_from(shot, plate, alpha)
    dressed = _apply_effect(plate, effect)

    # 3. depth for parallax: the wall is far, the floor comes towards the camera
    horizon = get_theme(theme).surface.horizon * size[1]
    box = scene.product_box
    geometry = WorldGeometry(size=size, product_box=tuple(float(v) for v in box), horizon=horizon)  # type: ignore[arg-type]
    return World(
        name=f"scene-{theme}",
        source="studio",
        plate=plate,
        dressed=dressed,
        effect=effect,
        geometry=geometry,
        depth_ratio=depth_ratios(size[1], horizon, box[1] + box[3], wall_ratio, front_ratio),
        theme=theme,
        seed=seed,
        meta={"scene_fidelity": scene.fidelity.to_dict() if scene.fidelity else None},
    )


def _ghost(seg: Segmentation) -> Segmentation:
    """``seg`` with an invisible product of the same size: one pixel at alpha 1/255.

    The studio engine refuses an empty matte; one barely-there pixel, placed where the
    real product is opaque (so the real product covers it), gives the empty set.
    """
    matte = np.asarray(seg.matte.convert("L"))
    x, y, w, h = seg.box
    inner = matte[y : y + h, x : x + w]
    ys, xs = np.nonzero(inner == inner.max())
    k = int(np.argmin((ys - h / 2) ** 2 + (xs - w / 2) ** 2))
    ghost = np.zeros_like(matte)
    ghost[y + ys[k], x + xs[k]] = 1
    return Segmentation(
        image=seg.image,
        matte=Image.fromarray(ghost, "L"),
        box=seg.box,
        segmenter=seg.segmenter,
        confidence=seg.confidence,
        low_confidence=seg.low_confidence,
    )


def _alpha_on_canvas(seg: Segmentation, size: tuple[int, int], box: Box) -> np.ndarray:
    """The placed product's alpha as a canvas-sized uint8 array."""
    placed = compose.place_product(seg.cutout, size, box)
    alpha = np.zeros((size[1], size[0]), dtype=np.uint8)
    x, y, w, h = box
    layer = np.asarray(placed.layer.getchannel("A"))
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, size[0]), min(y + h, size[1])
    alpha[y0:y1, x0:x1] = layer[y0 - y : y1 - y, x0 - x : x1 - x]
    return alpha


def _effect_from(shot: np.ndarray, plate: np.ndarray, alpha: np.ndarray) -> Effect | None:
    """Ratio of the scene to the empty set where they differ, filled in under the product."""
    covered = alpha > 0
    differs = (np.abs(shot.astype(np.int16) - plate.astype(np.int16)).max(axis=2) > 0) & ~covered
    ys, xs = np.nonzero(differs | covered)
    if ys.size == 0:
        return None
    h, w = alpha.shape
    pad = 4
    x0, y0 = max(int(xs.min()) - pad, 0), max(int(ys.min()) - pad, 0)
    x1, y1 = min(int(xs.max()) + pad + 1, w), min(int(ys.max()) + pad + 1, h)
    s = shot[y0:y1, x0:x1].astype(F32)
    p = plate[y0:y1, x0:x1].astype(F32)
    ratio = (s + 0.5) / (p + 0.5)
    # Under the product the shadow cannot be seen; fill it from around so soft edges and
    # parallax never uncover a hole in it.
    known = (~covered[y0:y1, x0:x1]).astype(F32)
    ratio = fill_holes(ratio, known)
    return Effect(ratio=ratio.astype(F32), origin=(x0, y0))


def _apply_effect(plate: np.ndarray, effect: Effect | None) -> np.ndarray:
    out = plate.copy()
    if effect is None:
        return out
    x0, y0 = effect.origin
    h, w = effect.ratio.shape[:2]
    region = out[y0 : y0 + h, x0 : x0 + w]
    # (bg + .5) * ratio - .5, rounded to nearest
    region[:] = np.clip(np.floor((region.astype(F32) + 0.5) * effect.ratio), 0, 255).astype(np.uint8)
    return out


def depth_ratios(
    height: int, horizon: float, contact: float, wall: float, front: float
) -> np.ndarray:
    """Parallax speed per world row: ``wall`` above the horizon, 1 at the product's foot,
    rising to ``front`` at the bottom edge (the floor is a plane seen in perspective)."""
    rows = np.arange(height, dtype=F32) + 0.5
    horizon = min(horizon, contact - 1.0)
    floor = wall + (1.0 - wall) * (rows - horizon) / max(contact - horizon, 1.0)
    ratio = np.where(rows < horizon, wall, floor)
    return np.clip(ratio, wall, front).astype(F32)


# ---------------------------------------------------------------------------
# Worlds from finished scene images


def scene_world(
    seg: Segmentation, scene: RenderedImage, *, wall_ratio: float = 0.35, front_ratio: float = 1.5
) -> World:
    """A world from a finished scene: the product is filled out (its shadow stays)."""
    image = np.ascontiguousarray(np.asarray(scene.image.convert("RGB")))
    size = (image.shape[1], image.shape[0])
    alpha = _alpha_on_canvas(seg, size, scene.product_box)
    # one pixel beyond the matte: the scene's own soft edge blended the product in
    hole = cv2.dilate((alpha > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    plate = fill_holes(image.astype(F32), (~hole).astype(F32))
    plate = np.clip(plate + 0.5, 0, 255).astype(np.uint8)
    x, y, w, h = scene.product_box
    horizon = y + 0.75 * h  # unknown set: assume the floor starts a little behind the foot
    return World(
        name=scene.name,
        source="scene",
        plate=plate,
        dressed=plate,
        effect=None,
        geometry=WorldGeometry(size=size, product_box=(float(x), float(y), float(w), float(h)), horizon=horizon),
        depth_ratio=depth_ratios(size[1], horizon, y + h, wall_ratio, front_ratio),
        theme=scene.meta.get("theme"),
        seed=scene.meta.get("seed"),
        meta={"engine": scene.meta.get("engine")},
    )


def fill_holes(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill where ``known`` is 0 from the known pixels around (pull-push pyramid).

    Smooth, O(pixels), and exact where ``known`` is 1; ``values`` is (h, w) or (h, w, c).
    """
    values = values.astype(F32)
    known = known.astype(F32)
    h, w = known.shape
    if known.min() >= 1.0:
        return values
    if min(h, w) <= 2 or known.max() <= 0:
        total = known.sum()
        mean = (values * (known[..., None] if values.ndim == 3 else known)).sum(axis=(0, 1)) / max(total, 1e-6)
        return values * _expand(known, values) + mean * (1 - _expand(known, values))
    half = ((w + 1) // 2, (h + 1) // 2)
    weighted = cv2.resize(values * _expand(known, values), half, interpolation=cv2.INTER_AREA)
    weight = cv2.resize(known, half, interpolation=cv2.INTER_AREA)
    coarse = weighted / np.maximum(_expand(weight, weighted), 1e-6)
    coarse = fill_holes(coarse, np.minimum(weight * 4.0, 1.0))
    up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    k = _expand(known, values)
    return values * k + up * (1 - k)


def _expand(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    return mask[..., None] if like.ndim == 3 else mask


# ---------------------------------------------------------------------------
# The end card


def end_card_world(
    canvas: tuple[int, int],
    *,
    colors: tuple[tuple[int, int, int], tuple[int, int, int]],
    product_rgba: np.ndarray,
    rest_box: tuple[float, float, float, float],
    seed: int,
) -> World:
    """A quiet gradient card with a soft glow, and a shadow that follows the product.

    ``product_rgba`` is the product master; its shadow is computed once in the master's
    own pixels and mapped onto the product's rest box (``Effect.to_frame``).
    """
    cw, ch = canvas
    top, bottom = (np.array(c, dtype=F32) for c in colors)
    ys = ((np.arange(ch, dtype=F32) + 0.5) / ch)[:, None, None]
    xs = ((np.arange(cw, dtype=F32) + 0.5) / cw)[None, :, None]
    plate = top * (1 - ys) + bottom * ys
    # a soft pool of light behind where the product settles
    glow = np.exp(-(((xs - 0.5) / 0.55) ** 2 + ((ys - 0.4) / 0.4) ** 2))
    plate = plate * (1.0 + 0.06 * glow)
    # fine static grain: smooth gradients band badly in 8-bit H.264 without it
    rng = np.random.default_rng([seed % 2**32, 0xEC])
    plate = plate + rng.normal(0.0, 1.1, (ch, cw, 1)).astype(F32)
    plate_u8 = np.clip(plate + 0.5, 0, 255).astype(np.uint8)

    # the product's contact shadow, in master pixels with a margin round it
    mh, mw = product_rgba.shape[:2]
    pad = max(8, int(0.25 * mh))
    layer = Image.fromarray(product_rgba, "RGBA")
    placed = PlacedProduct(layer=layer, box=(pad, pad, mw, mh), canvas_size=(mw + 2 * pad, mh + 2 * pad))
    density = np.asarray(contact_shadow(placed, strength=0.35, spread=0.08), dtype=F32) / 255.0
    tint = np.array([0.3, 0.3, 0.34], dtype=F32)
    ratio = 1.0 - density[..., None] * (1.0 - tint)
    s = rest_box[2] / mw
    to_frame = Similarity(s, rest_box[0] - s * pad, rest_box[1] - s * pad)
    effect = Effect(ratio=ratio.astype(F32), origin=(0, 0), to_frame=to_frame)
    geometry = WorldGeometry(size=canvas, product_box=rest_box, horizon=0.0)
    return World(
        name="end-card",
        source="end_card",
        plate=plate_u8,
        dressed=plate_u8,
        effect=effect,
        geometry=geometry,
        depth_ratio=np.ones(ch, dtype=F32),
    )
