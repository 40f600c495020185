"""Platform UI safe zones, shared by posters and clips: where a platform's own UI covers a
full-screen image, and the one rule that keeps content clear of it.

``safe_zones.json`` names each zone (``vertical_video``: stories, reels, TikTok, Douyin)
with its insets at the zone's own size; a poster size or a clip preset names its zone,
and ``zone_insets`` scales it to the canvas. ``content_box`` is the canvas less the
margin and the zones: each side with a zone keeps the zone plus 0.3 of the margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generation.datafile import DataReader, LoadOnce, read_json
from generation.errors import GenerationError
from generation.types import Box

ZONES_FILE = Path(__file__).with_name("safe_zones.json")
# how much of the margin a side keeps beyond its zone (the zone itself is already clear space)
ZONE_MARGIN = 0.3


class SafeZoneDataError(GenerationError):
    """``safe_zones.json`` is missing or malformed, or a data file names an unknown zone."""

    code = "invalid_safe_zone_data"


class _Reader(DataReader):
    error = SafeZoneDataError


@dataclass(frozen=True)
class Insets:
    top: int = 0
    right: int = 0
    bottom: int = 0
    left: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"top": self.top, "right": self.right, "bottom": self.bottom, "left": self.left}


@dataclass(frozen=True)
class SafeZone:
    name: str
    label: str
    size: tuple[int, int]  # the size the insets are given at
    insets: Insets


def read_zones(path: Path) -> dict[str, SafeZone]:
    """The zones of a safe-zones file, validated."""
    r = _Reader(read_json(path, SafeZoneDataError), path.name)
    r.integer("version", 1, 1)
    r.text("note", "")
    raw = r.section("zones")
    zones: dict[str, SafeZone] = {}
    for name in list(raw.data):
        z = raw.section(name)
        w, h = z.integer("width", 16, 16384), z.integer("height", 16, 16384)
        insets = Insets(
            top=z.integer("top", 0, h // 2),
            right=z.integer("right", 0, w // 2),
            bottom=z.integer("bottom", 0, h // 2),
            left=z.integer("left", 0, w // 2),
        )
        zones[name] = SafeZone(name, z.text("label", name), (w, h), insets)
        z.text("note", "")
        z.done()
    raw.done()
    r.done()
    return zones


_load_zones = LoadOnce(lambda: read_zones(ZONES_FILE))


def get_zone(name: str) -> SafeZone:
    zones = _load_zones()
    if name not in zones:
        raise SafeZoneDataError(f"unknown safe zone {name!r}; known: {', '.join(sorted(zones))}")
    return zones[name]


def zone_insets(name: str | None, canvas: tuple[int, int]) -> Insets:
    """The insets of zone ``name`` on a ``canvas`` (w, h) px canvas: the zone's own where
    the canvas is the zone's size, else scaled by each side's ratio; none for no zone."""
    if not name:
        return Insets()
    zone = get_zone(name)
    sx, sy = canvas[0] / zone.size[0], canvas[1] / zone.size[1]
    i = zone.insets
    return Insets(
        top=round(i.top * sy), right=round(i.right * sx), bottom=round(i.bottom * sy), left=round(i.left * sx)
    )


def safe_box(canvas: tuple[int, int], insets: Insets) -> Box:
    """The part of the canvas no platform UI covers, (x, y, w, h)."""
    cw, ch = canvas
    return (insets.left, insets.top, cw - insets.left - insets.right, ch - insets.top - insets.bottom)


def content_box(canvas: tuple[int, int], insets: Insets, margin: float) -> Box:
    """The canvas less ``margin`` px on every side, and on a side with a zone the zone
    plus ``ZONE_MARGIN`` of the margin (whichever is more), as (x, y, w, h) px."""
    cw, ch = canvas
    left, top, right, bottom = (
        max(margin, zone + ZONE_MARGIN * margin) if zone else margin
        for zone in (insets.left, insets.top, insets.right, insets.bottom)
    )
    return (round(left), round(top), round(cw - left - right), round(ch - top - bottom))
