"""Variants: each scene of a set gets its own composition, drawn from its seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from generation.sets.look import light_side_of, resolve_theme, theme_rng
from generation.sets.themes import Theme
from generation.shadows import foot_ellipse

F32 = np.float32


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
    # how open the product's own base is seen (``estimate_foot_ratio``): a podium's top
    # face is kept near it, so the set is seen from the camera the product was shot from
    foot_ratio: float | None = None
    # (left, right, top, bottom) in canvas px that props must stand inside, beyond the
    # frame's own margins: a clip's camera shows only part of its set, and a prop it would
    # cut is placed (or shrunk, or stood further back) into what every frame shows instead
    # of being left out. Not part of a scene's record: scenes never set it.
    room: tuple[float, float, float, float] | None = None
    # in a clip's parallax, how far (set px, least and most over the move) the wall is
    # carried sideways against the product; a floor row goes its share of the floor's
    # depth from the product's foot to the wall: a prop standing behind the product drifts
    # that far behind it (``props._drift``). Not part of a scene's record either.
    sway: tuple[float, float] = (0.0, 0.0)
    # "standing" on the set's floor, or "flat": lying on its surface, seen from above
    # (``sets.flat``); recorded only when flat, so a standing scene's record is unchanged
    view: str = "standing"
    # multiplies the set's colours: below 1 where a light product on a light set needs a
    # deeper set to stand out (``plan_variant``'s ``product_tone``); recorded when not 1
    tone: float = 1.0

    def to_dict(self) -> dict[str, float | int | list[int] | str | None]:
        extra: dict[str, float | int | list[int] | str | None] = {}
        if self.view == "flat":
            extra["view"] = "flat"
        if self.tone != 1.0:
            extra["tone"] = round(self.tone, 3)
        return {
            "anchor_x": round(self.anchor_x, 3),
            "scale": round(self.scale, 3),
            "camera": round(self.camera, 3),
            "light_azimuth": round(self.azimuth, 1),
            "palette": self.palette,
            "props": list(self.props),
            "foot_ratio": None if self.foot_ratio is None else round(self.foot_ratio, 3),
            **extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Variant:
        """The variant a scene recorded (``to_dict``), e.g. to build its set again."""
        foot = data.get("foot_ratio")
        return cls(
            anchor_x=float(data["anchor_x"]),
            scale=float(data["scale"]),
            camera=float(data["camera"]),
            azimuth=float(data["light_azimuth"]),
            palette=int(data["palette"]),
            props=tuple(int(k) for k in data.get("props") or ()),
            foot_ratio=None if foot is None else float(foot),
            view=str(data.get("view", "standing")),
            tone=float(data.get("tone", 1.0)),
        )


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
# a light product (as light as a light set, or within a tenth of it) closer in tone to
# the set than this (luma difference over 255) reads as one with it (a white jar on a
# white sweep): every variant but the first deepens the set, by its slot's share of
# ``SET_DEEPEN`` times how far short of this the contrast falls
TONE_CONTRAST = 0.2
LIGHT_SET = 160.0  # a set this light (luma 0..255) or lighter
SET_DEEPEN = (0.0, 0.25, 0.12, 0.35)
_LUMA = (0.299, 0.587, 0.114)


def plan_variant(
    theme: Theme | str,
    seed: int,
    *,
    light_side: float | None = None,
    foot_ratio: float | None = None,
    product_tone: float | None = None,
) -> Variant:
    """The composition of the scene made with ``seed``: deterministic, and different for
    consecutive seeds in placement (left, centre, right third), size, camera height,
    light side and colour set. ``light_side`` (+1 left, -1 right; ``estimate_light_side``)
    fixes the key light's side to the light already on the product; ``foot_ratio``
    (``estimate_foot_ratio``) keeps a podium's top face seen like the product's base;
    ``product_tone`` (``estimate_product_tone``) deepens a light set under a product of
    its own tone in every slot but the first (the theme's own look), so a white product
    stands out and the variants differ in tone as well."""
    theme = resolve_theme(theme)
    slot = seed % len(_SLOTS)
    x, scale, camera, own_side, palette = _SLOTS[slot]
    rng = theme_rng(theme, seed, "variant")
    jx, js, jc, ja = rng.uniform(-1.0, 1.0, 4)
    base = theme.light.azimuth % 360.0
    side = light_side_of(base) or 1.0
    want = side if own_side else -side
    if light_side:
        want = float(np.sign(light_side))
    # the theme's light folded onto the left, kept at least 25 degrees off the camera axis
    # so the side reads, then put on the side wanted
    left = base if side > 0 else (180.0 - base) % 360.0
    left = float(np.clip(left + ja * theme.variation.light, 115.0, 245.0))
    azimuth = left if want > 0 else (180.0 - left) % 360.0
    palette %= len(theme.palettes) + 1
    tone = 1.0
    set_tone = _set_tone(theme, palette)
    if product_tone is not None and set_tone >= LIGHT_SET and product_tone >= set_tone - 25.5:
        contrast = abs(product_tone - set_tone) / 255.0
        tone = 1.0 - SET_DEEPEN[slot] * float(np.clip(1.0 - contrast / TONE_CONTRAST, 0.0, 1.0))
    return Variant(
        anchor_x=float(np.clip(x + 0.03 * jx, 0.05, 0.95)),
        scale=float(scale * (1.0 + 0.04 * js)),
        camera=float(np.clip(camera + 0.15 * jc, -1.0, 1.0)),
        azimuth=azimuth,
        palette=palette,
        props=_variant_props(len(theme.props), slot),
        foot_ratio=foot_ratio,
        tone=tone,
    )


def _set_tone(theme: Theme, palette: int) -> float:
    """The luma (0..255) of the theme's set in colour set ``palette``: its wall's top and
    bottom and its floor, in the theme's own brand colour."""
    t = theme.with_palette(palette)
    refs = [t.backdrop.top, t.backdrop.bottom, t.surface.colors[0]]
    return float(np.mean([np.dot(r.resolve(t.brand_default), _LUMA) for r in refs]))


def estimate_product_tone(cutout: Image.Image) -> float | None:
    """The product's median luma (0..255) over its opaque pixels; ``None`` for none."""
    rgba = np.asarray(cutout.convert("RGBA"), dtype=F32)
    opaque = rgba[..., 3] >= 250
    if not opaque.any():
        return None
    return float(np.median(rgba[opaque][:, :3] @ np.array(_LUMA, dtype=F32)))


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


def estimate_foot_ratio(cutout: Image.Image) -> float | None:
    """How far the camera looked down on the product's base: the matte's lowest edge fitted
    with the lower half of an ellipse as wide as the foot, its minor/major ratio (0: the
    base seen level, a straight edge). ``None`` for a foot that
    sags more than ``FOOT_RATIO_MAX`` (a round belly rather than a base) or is too small."""
    foot = foot_ellipse(np.asarray(cutout.getchannel("A")))
    return foot.ratio if foot is not None else None
