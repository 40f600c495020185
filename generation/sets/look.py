"""The variant look: a theme resolved to colours, with the seeded drift of one scene applied.

Every module of the set draws its colours, light direction and random streams through a
``Look``. ``theme_rng`` gives independent seeded streams (one per purpose), so drawing more
in one place never shifts another.
"""

from __future__ import annotations

import colorsys
import math
import zlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from generation.errors import InvalidSpec
from generation.sets.themes import ColorRef, Theme, get_theme

if TYPE_CHECKING:  # only a type here: variants.py imports this module
    from generation.sets.variants import Variant

F32 = np.float32


# The key light where no theme says where it is (a poster on the brand colour or white, a
# clip's end card): a soft light high on the side the light on the product comes from (its
# own light side, ``estimate_light_side``), straight ahead when it shows none
NEUTRAL_LIGHT = {"elevation": 55.0, "softness": 0.6, "side_azimuth": 45.0}


def neutral_azimuth(light_side: float | None) -> float:
    """The azimuth of ``NEUTRAL_LIGHT`` (as a theme's light: 180 the left, 90 straight
    ahead, 0 the right) for ``light_side``: +1 the light on the product comes from the
    left, -1 the right, None straight ahead."""
    return 90.0 + (NEUTRAL_LIGHT["side_azimuth"] * light_side if light_side is not None else 0.0)


def light_side_of(azimuth: float) -> float:
    """+1 when a light at ``azimuth`` comes from the left, -1 from the right, 0 head on."""
    return float(np.sign(-math.cos(math.radians(azimuth))))


def resolve_theme(theme: Theme | str) -> Theme:
    """The theme itself, or the built-in one of that name (``InvalidSpec`` naming them all)."""
    return get_theme(theme) if isinstance(theme, str) else theme


def resolve_brand(value: tuple[int, int, int] | None, theme: Theme) -> tuple[int, int, int]:
    """The colour for the theme's brand slots: ``value``, or the theme's own for ``None``;
    ``InvalidSpec`` unless it is three integers 0..255."""
    if value is None:
        return theme.brand_default
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 3
        or not all(isinstance(c, int) and 0 <= c <= 255 for c in value)
    ):
        raise InvalidSpec(f"brand_color must be three integers 0..255, got {value!r}")
    return (int(value[0]), int(value[1]), int(value[2]))


def theme_rng(theme: Theme, seed: int, purpose: str) -> np.random.Generator:
    """Independent seeded streams, so drawing more in one place never shifts another."""
    return named_rng(theme.name, seed, purpose)


def named_rng(theme_name: str, seed: int, purpose: str) -> np.random.Generator:
    """``theme_rng`` of the theme named ``theme_name``: the stream depends on the name alone."""
    return np.random.default_rng(
        [seed % 2**64, zlib.crc32(theme_name.encode()), zlib.crc32(purpose.encode())]
    )


@dataclass(frozen=True)
class Look:
    """One scene's look: the theme (in the variant's colour set) with the seeded drift of
    hue, tone, light direction and anchor applied."""

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
    ) -> Look:
        rng = theme_rng(theme, seed, "look")
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
        mirrored = light_side_of(variant.azimuth) * light_side_of(theme.light.azimuth) < 0
        return replace(
            look,
            tone=look.tone * variant.tone,
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
        return theme_rng(self.theme, self.seed, purpose)

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


def side_light(look: Look, xs: np.ndarray) -> np.ndarray:
    """Brighter towards the side the light comes from; xs are canvas fractions."""
    side = -math.cos(math.radians(look.azimuth))  # +1 light from the left
    return 1.0 + look.theme.light.falloff * side * (0.5 - xs) * 2.0
