"""Poster sizes as data: presets with their platforms' UI safe zones, and custom sizes.

A preset names its safe zone (``generation.safe_zones``, shared with clips) and the
width (CSS px) its image is shown at, ``display_width``: the minimum legible text size
is set at that width (``Legibility``), so a 1200 px link ad shrunk to a phone's width
needs larger text than a 628 px tall canvas would suggest.

``sizes.json`` is validated when first used; a bad file fails loudly naming the field.
A size's aspect class (tall, portrait, square, landscape, wide) picks the template
variant that lays it out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from generation.datafile import DataReader, LoadOnce, read_json
from generation.errors import GenerationError, InvalidSpec
from generation.safe_zones import Insets, SafeZoneDataError, safe_box, zone_insets
from generation.types import Box

__all__ = ["Insets", "PosterDataError", "SizePreset", "list_sizes", "resolve_size"]

SIZES_FILE = Path(__file__).parent / "sizes.json"
_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
ASPECTS = ("tall", "portrait", "square", "landscape", "wide")


class PosterDataError(GenerationError):
    """A template or size file is missing, malformed or asks for something we cannot draw."""

    code = "invalid_poster_data"


class _Reader(DataReader):
    error = PosterDataError


@dataclass(frozen=True)
class Legibility:
    """The smallest text a poster may carry, set where it is read: ``min_text_css`` CSS
    px at the size's display width, never under ``floor_px``. The templates' type sizes
    are px on a 1080 px canvas seen at ``type_display_width`` CSS px."""

    min_text_css: float = 5.8
    floor_px: int = 10
    type_display_width: int = 390


@dataclass(frozen=True)
class SizePreset:
    name: str  # preset name, or "WxH" for a custom size
    width: int
    height: int
    label: str = ""
    safe_zone: Insets = Insets()
    display_width: int = 390  # CSS px the image's whole width is shown at
    legibility: Legibility = Legibility()

    @property
    def min_text_px(self) -> int:
        """The minimum legible text size (font px): ``min_text_css`` at the display width."""
        rule = self.legibility
        return max(rule.floor_px, round(rule.min_text_css * self.width / self.display_width))

    @property
    def display_scale(self) -> float:
        """Canvas px per template px that reads, at the display width, as large as the
        templates' sizes on a 1080 px canvas seen at ``type_display_width``."""
        return self.width / self.display_width * self.legibility.type_display_width / 1080.0

    @property
    def aspect(self) -> str:
        return aspect_class(self.width, self.height)

    @property
    def safe_box(self) -> Box:
        """The part of the canvas no platform UI covers."""
        return safe_box((self.width, self.height), self.safe_zone)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "aspect": self.aspect,
            "safe_zone": self.safe_zone.to_dict(),
        }


def aspect_class(width: int, height: int) -> str:
    """tall (< 0.7 w/h: 9:16, 2:3), portrait (< 0.9: 4:5), square, landscape, wide (>= 2.4)."""
    r = width / height
    if r < 0.7:
        return "tall"
    if r < 0.9:
        return "portrait"
    if r <= 1.12:
        return "square"
    if r < 2.4:
        return "landscape"
    return "wide"


class _Sizes(NamedTuple):
    presets: dict[str, SizePreset]
    aliases: dict[str, str]
    min_side: int
    max_side: int
    display_width: int  # a custom size's
    legibility: Legibility


def read_sizes(path: Path) -> _Sizes:
    """The presets, aliases and custom sizes' limits of a sizes file, validated."""
    data = read_json(path, PosterDataError)
    r = _Reader(data, path.name)
    r.integer("version", 1, 1)
    r.text("note", "")
    rule = r.section("legibility")
    rule.text("note", "")
    legibility = Legibility(
        rule.number("min_text_css_px", 1.0, 100.0),
        rule.integer("floor_px", 1, 100),
        rule.integer("type_display_width", 100, 10000),
    )
    rule.done()
    custom = r.section("custom")
    lo, hi = custom.integer("min_side", 16, 4096), custom.integer("max_side", 16, 16384)
    custom_display = custom.integer("display_width", 100, 10000)
    custom.done()
    presets: dict[str, SizePreset] = {}
    raw = r.section("presets")
    for name in list(raw.data):
        if not _ID.match(name):
            raise PosterDataError(f"{path.name}: preset name {name!r} must be lower_snake_case")
        p = raw.section(name)
        w, h = p.integer("width", lo, hi), p.integer("height", lo, hi)
        try:
            zone = zone_insets(p.text("safe_zone", ""), (w, h))
        except SafeZoneDataError as exc:
            raise PosterDataError(f"{p.path('safe_zone')}: {exc}") from exc
        display = p.integer("display_width", 100, 10000)
        presets[name] = SizePreset(name, w, h, p.text("label", name), zone, display, legibility)
        p.done()
    raw.done()
    aliases_r = r.section("aliases")
    aliases = {}
    for alias in list(aliases_r.data):
        target = aliases_r.text(alias)
        if target not in presets:
            raise PosterDataError(f"{path.name}: alias {alias!r} points at unknown preset {target!r}")
        aliases[alias] = target
    aliases_r.done()
    r.done()
    if not presets:
        raise PosterDataError(f"{path.name} has no presets")
    return _Sizes(presets, aliases, lo, hi, custom_display, legibility)


_load_sizes = LoadOnce(lambda: read_sizes(SIZES_FILE))


def list_sizes() -> dict[str, SizePreset]:
    """The size presets by name (aliases not included)."""
    return dict(_load_sizes()[0])


def check_custom_size(width: int, height: int) -> tuple[int, int]:
    _, _, lo, hi, _, _ = _load_sizes()
    if not (lo <= width <= hi and lo <= height <= hi):
        raise InvalidSpec(f"poster size must be {lo}..{hi} px per side, got {width}x{height}")
    return (width, height)


def resolve_size(size: str | tuple[int, int]) -> SizePreset:
    """A preset by name or alias, ``"WxH"``, or ``(w, h)``.

    A size equal to exactly one preset's is that preset (with its safe zones); other
    custom sizes have none.
    """
    presets, aliases, _, _, display, legibility = _load_sizes()
    if isinstance(size, str):
        key = size.strip().lower()
        if re.match(r"^\d+x\d+$", key):
            w, h = (int(v) for v in key.split("x"))
            return resolve_size((w, h))
        key = aliases.get(key, key)
        if key not in presets:
            raise InvalidSpec(f"unknown poster size {size!r}; use WxH or one of {', '.join(sorted(presets))}")
        return presets[key]
    w, h = check_custom_size(int(size[0]), int(size[1]))
    # 1080x1920 is a story whether it was asked for by name or by size: keep its safe zones
    same = [p for p in presets.values() if (p.width, p.height) == (w, h)]
    if len(same) == 1:
        return same[0]
    return SizePreset(f"{w}x{h}", w, h, "custom", display_width=display, legibility=legibility)
