"""Poster layout: template data + size -> concrete boxes for every element.

Templates are data (``templates/*.json``), sizes are data (``sizes.json``); both are
validated when first used and a bad file fails loudly naming the file and the field.

A template has one variant per aspect class (tall, portrait, square, landscape, wide);
a missing class falls back along ``ASPECT_FALLBACK`` (a tall canvas may use the
portrait variant, never a stretched landscape one). A variant places:

- the product: a region of the content box (the canvas minus margins and the size's
  UI safe zones), a fill and an anchor; the product box is ``compose.fit_box`` of the
  cutout in that region;
- text groups: regions whose edges refer to the content box, the canvas or the
  product box (``"product.left - 0.04"``), holding a column (or row) of items:
  eyebrow, headline, subline, price (with the struck compare-at price), CTA, rule;
- the badge (attached to a product corner, moved to the nearest free spot), the logo
  (a content corner), the ribbon (tag, corner band, top band or eyebrow), and
  decorative shapes (brand panels, circles) drawn on the background.

Text never overlaps the product by construction: group regions are cut back from the
product box by the variant's gaps, and the badge is only put where the dilated
product matte is clear. ``checks.py`` verifies all of it on the rendered pixels.

Edge expressions: ``"content 0.45"`` (fraction of the content box along the axis),
``"canvas 0.5"`` (fraction of the canvas), ``"product.left - 0.04"`` (a product box
edge, ``left|right|top|bottom|cx|cy``, plus/minus a fraction of the canvas's shorter
side). Sizes in ``text`` styles are pixels at a 1080 px shorter side.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generation import compose
from generation.datafile import DataReader, LoadOnce, load_folder, parse_shifted_color, read_json
from generation.errors import GenerationError, InvalidSpec
from generation.posters.text import TextBlock, TextDoesNotFit, TextStyle, layout_text
from generation.types import Box, PlacedProduct

POSTER_DIR = Path(__file__).parent
TEMPLATE_DIR = POSTER_DIR / "templates"
SIZES_FILE = POSTER_DIR / "sizes.json"

ASPECTS = ("tall", "portrait", "square", "landscape", "wide")
ASPECT_FALLBACK: dict[str, tuple[str, ...]] = {
    "tall": ("tall", "portrait", "square"),
    "portrait": ("portrait", "square", "tall"),
    "square": ("square", "portrait", "landscape"),
    "landscape": ("landscape", "square"),
    "wide": ("wide", "landscape", "square"),
}
BACKGROUND_MODES = ("scene", "theme", "brand", "white")
BACKGROUND_STYLES = ("radial", "linear", "solid")
ITEMS = ("eyebrow", "headline", "subline", "price", "cta", "rule")
TEXT_ROLES = (
    "headline",
    "subline",
    "eyebrow",
    "price",
    "compare_at",
    "cta",
    "badge",
    "badge_caption",
    "ribbon",
)
COLOR_ROLES = (
    "headline", "subline", "eyebrow", "price", "compare_at", "strike", "cta_fill", "cta_text",
    "badge_fill", "badge_text", "badge_caption", "ribbon_fill", "ribbon_text", "rule", "price_plate",
    "price_plate_text",
)  # fmt: skip
CTA_STYLES = ("filled", "outline", "link")
BADGE_SHAPES = ("circle", "burst", "rounded", "timer")
RIBBON_STYLES = ("eyebrow", "tag", "corner", "band")
CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right", "top_center", "bottom_center")
PRODUCT_ATTACH = ("top_left", "top_right", "bottom_left", "bottom_right", "left", "right", "top")
SHAPE_KINDS = ("panel", "circle")
FIXES = ("plate", "scrim")
FAMILY_NAMES = ("inter", "montserrat", "playfair", "noto_sans")

_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_COLOR = re.compile(
    r"^(?:#(?P<hex>[0-9a-fA-F]{6})|(?P<role>brand|secondary|text|ink|paper|on_brand|on_secondary))"
    r"(?P<shift>[+-](?:0|1)(?:\.\d+)?)?$"
)
_EDGE_FRACTION = re.compile(r"^(?P<ref>content|canvas)\s+(?P<value>-?\d+(?:\.\d+)?)$")
_EDGE_PRODUCT = re.compile(
    r"^product\.(?P<side>left|right|top|bottom|cx|cy)(?:\s*(?P<sign>[+-])\s*(?P<value>\d+(?:\.\d+)?))?$"
)


class PosterDataError(GenerationError):
    """A template or size file is missing, malformed or asks for something we cannot draw."""

    code = "invalid_poster_data"


# ---------------------------------------------------------------------------
# Sizes


@dataclass(frozen=True)
class Insets:
    top: int = 0
    right: int = 0
    bottom: int = 0
    left: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"top": self.top, "right": self.right, "bottom": self.bottom, "left": self.left}


@dataclass(frozen=True)
class SizePreset:
    name: str  # preset name, or "WxH" for a custom size
    width: int
    height: int
    label: str = ""
    safe_zone: Insets = Insets()

    @property
    def aspect(self) -> str:
        return aspect_class(self.width, self.height)

    @property
    def safe_box(self) -> Box:
        """The part of the canvas no platform UI covers."""
        s = self.safe_zone
        return (s.left, s.top, self.width - s.left - s.right, self.height - s.top - s.bottom)

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


def read_sizes(path: Path) -> tuple[dict[str, SizePreset], dict[str, str], int, int]:
    """(presets, aliases, min side, max side) from a sizes file, validated."""
    data = read_json(path, PosterDataError)
    r = _Reader(data, path.name)
    r.integer("version", 1, 1)
    r.text("note", "")
    custom = r.section("custom")
    lo, hi = custom.integer("min_side", 16, 4096), custom.integer("max_side", 16, 16384)
    custom.done()
    presets: dict[str, SizePreset] = {}
    raw = r.section("presets")
    for name in list(raw.data):
        if not _ID.match(name):
            raise PosterDataError(f"{path.name}: preset name {name!r} must be lower_snake_case")
        p = raw.section(name)
        w, h = p.integer("width", lo, hi), p.integer("height", lo, hi)
        z = p.section("safe_zone")
        zone = Insets(
            top=z.integer("top", 0, h // 2),
            right=z.integer("right", 0, w // 2),
            bottom=z.integer("bottom", 0, h // 2),
            left=z.integer("left", 0, w // 2),
        )
        z.done()
        p.text("safe_zone_note", "")
        presets[name] = SizePreset(name, w, h, p.text("label", name), zone)
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
    return presets, aliases, lo, hi


_load_sizes = LoadOnce(lambda: read_sizes(SIZES_FILE))


def list_sizes() -> dict[str, SizePreset]:
    """The size presets by name (aliases not included)."""
    return dict(_load_sizes()[0])


def check_custom_size(width: int, height: int) -> tuple[int, int]:
    _, _, lo, hi = _load_sizes()
    if not (lo <= width <= hi and lo <= height <= hi):
        raise InvalidSpec(f"poster size must be {lo}..{hi} px per side, got {width}x{height}")
    return (width, height)


def resolve_size(size: str | tuple[int, int]) -> SizePreset:
    """A preset by name or alias, ``"WxH"``, or ``(w, h)``.

    A size equal to exactly one preset's is that preset (with its safe zones); other
    custom sizes have none.
    """
    presets, aliases, _, _ = _load_sizes()
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
    return SizePreset(f"{w}x{h}", w, h, "custom")


# ---------------------------------------------------------------------------
# Template data


@dataclass(frozen=True)
class ColorSpec:
    """A colour in template data: a role of the brand kit or a hex, shifted to white/black."""

    role: str | None  # brand | secondary | text | ink | paper | on_brand | on_secondary
    rgb: tuple[int, int, int] | None
    shift: float = 0.0

    def source(self) -> str:
        base = self.role if self.role else "#{:02x}{:02x}{:02x}".format(*self.rgb)  # type: ignore[str-format]
        return base if not self.shift else f"{base}{self.shift:+g}"


@dataclass(frozen=True)
class TextStyleSpec:
    font: str  # heading | body | a family name
    weight: int
    size: float  # px at a 1080 px shorter side
    min: float
    line_height: float
    max_lines: int
    uppercase: bool
    tracking: float


@dataclass(frozen=True)
class Edge:
    ref: str  # content | canvas | product
    side: str  # for product refs: left|right|top|bottom|cx|cy
    value: float

    def source(self) -> str:
        if self.ref == "product":
            return f"product.{self.side}" + (
                f" {'+' if self.value >= 0 else '-'} {abs(self.value):g}" if self.value else ""
            )
        return f"{self.ref} {self.value:g}"


@dataclass(frozen=True)
class Region:
    x0: Edge
    y0: Edge
    x1: Edge
    y1: Edge

    @property
    def uses_product(self) -> bool:
        return any(e.ref == "product" for e in (self.x0, self.y0, self.x1, self.y1))


@dataclass(frozen=True)
class ProductSpec:
    region: Region
    fill: float
    anchor: tuple[float, float]


@dataclass(frozen=True)
class GroupSpec:
    items: tuple[str, ...]
    region: Region
    align: str  # left | center | right
    valign: str  # top | middle | bottom
    direction: str  # column | row
    gap: float  # fraction of the shorter side
    justify: str  # rows: start | center | space_between


@dataclass(frozen=True)
class ShapeSpec:
    kind: str  # panel | circle
    fill: ColorSpec
    opacity: float
    region: Region | None  # panel
    radius: float  # panel corner radius, fraction of the shorter side
    cx: Edge | None  # circle
    cy: Edge | None
    r: float  # circle radius: fraction of the shorter side, or of the product's longer side
    r_of: str  # canvas | product
    modes: tuple[str, ...] = BACKGROUND_MODES  # backgrounds it is drawn on


@dataclass(frozen=True)
class BadgePlacement:
    attach: str
    size: float  # diameter / height as a fraction of the shorter side


@dataclass(frozen=True)
class LogoPlacement:
    corner: str
    height: float


@dataclass(frozen=True)
class RibbonPlacement:
    style: str
    corner: str


@dataclass(frozen=True)
class Variant:
    aspect: str
    margin: float
    type_scale: float
    product: ProductSpec
    groups: tuple[GroupSpec, ...]
    shapes: tuple[ShapeSpec, ...]
    badge: BadgePlacement
    logo: LogoPlacement
    ribbon: RibbonPlacement


@dataclass(frozen=True)
class BackgroundSpec:
    mode: str
    theme: str
    style: str  # brand mode: radial | linear | solid
    colors: tuple[ColorSpec, ...]
    center: tuple[float, float]  # radial: canvas fractions; "product" follows the product
    follow_product: bool
    angle: float  # linear: degrees, 0 = left to right, 90 = top to bottom
    grain: float


@dataclass(frozen=True)
class CtaSpec:
    style: str
    pad_x: float  # em
    pad_y: float  # em
    radius: float  # fraction of the pill height (0.5 = full pill)
    border: float  # outline width, em
    arrow: bool


@dataclass(frozen=True)
class BadgeSpec:
    shape: str


@dataclass(frozen=True)
class Template:
    id: str
    label: str
    description: str
    background: BackgroundSpec
    families: dict[str, str]  # heading, body
    colors: dict[str, ColorSpec]
    text: dict[str, TextStyleSpec]
    cta: CtaSpec
    badge: BadgeSpec
    strings: dict[str, dict[str, str]]  # language -> {ribbon, cta, caption, discount_caption}
    contrast_fix: str
    price_plate: bool  # draw the price on a tag-shaped plate
    eyebrow_pill: bool  # the eyebrow sits on a pill (else it is plain tracked text)
    variants: dict[str, Variant]
    data: dict[str, Any] = field(compare=False, repr=False)  # the validated JSON, for re-rendering

    def variant_for(self, aspect: str) -> Variant:
        for name in ASPECT_FALLBACK[aspect]:
            if name in self.variants:
                return self.variants[name]
        # load_template guarantees a square variant, the end of every chain but tall's
        return self.variants["square"]

    def string(self, key: str, lang: str) -> str | None:
        base = "zh" if lang.startswith("zh") else lang.split("-")[0]
        for candidate in (base, "en"):
            if key in self.strings.get(candidate, {}):
                return self.strings[candidate][key]
        return None


class _Reader(DataReader):
    error = PosterDataError

    def color(self, key: str, default: Any = None) -> ColorSpec:
        return parse_color_spec(self._required_value(key, default), self.path(key))

    def edge(self, key: str, *, allow_product: bool = True) -> Edge:
        return _parse_edge(self.value(key), self.path(key), allow_product)

    def region(self, key: str, *, allow_product: bool = True) -> Region:
        r = self.section(key)
        region = Region(
            x0=r.edge("x0", allow_product=allow_product),
            y0=r.edge("y0", allow_product=allow_product),
            x1=r.edge("x1", allow_product=allow_product),
            y1=r.edge("y1", allow_product=allow_product),
        )
        r.done()
        return region


def parse_color_spec(value: Any, where: str) -> ColorSpec:
    role, rgb, shift = parse_shifted_color(
        value,
        where,
        _COLOR,
        PosterDataError,
        "a role (brand, secondary, text, ink, paper, on_brand, on_secondary) "
        "or '#rrggbb', optionally followed by +0.3 / -0.2",
    )
    return ColorSpec(role, rgb, shift)


def _parse_edge(value: Any, where: str, allow_product: bool) -> Edge:
    text = value.strip() if isinstance(value, str) else ""
    if m := _EDGE_FRACTION.match(text):
        v = float(m.group("value"))
        if not -0.5 <= v <= 1.5:
            raise PosterDataError(f"{where}: fraction must be in -0.5..1.5, got {v}")
        return Edge(m.group("ref"), "", v)
    if m := _EDGE_PRODUCT.match(text):
        if not allow_product:
            raise PosterDataError(f"{where}: the product region cannot refer to the product box")
        v = float(m.group("value") or 0) * (-1 if m.group("sign") == "-" else 1)
        if abs(v) > 0.5:
            raise PosterDataError(f"{where}: product offset must be within 0.5 of the shorter side, got {v}")
        return Edge("product", m.group("side"), v)
    raise PosterDataError(
        f"{where} must look like 'content 0.45', 'canvas 1' or 'product.left - 0.04', got {value!r}"
    )


def _text_style(r: _Reader) -> TextStyleSpec:
    size = r.number("size", 6, 400)
    style = TextStyleSpec(
        font=r.text("font", "body"),
        weight=r.integer("weight", 100, 900, 400),
        size=size,
        min=r.number("min", 6, 400, min(size, 18)),
        line_height=r.number("line_height", 0.8, 2.5, 1.15),
        max_lines=r.integer("max_lines", 1, 8, 1),
        uppercase=r.boolean("uppercase", False),
        tracking=r.number("tracking", -0.1, 0.5, 0.0),
    )
    r.done()
    if style.min > style.size:
        raise PosterDataError(f"{r.where}: min {style.min} is larger than size {style.size}")
    if style.font not in ("heading", "body", *FAMILY_NAMES):
        raise PosterDataError(f"{r.where}.font must be heading, body or one of {', '.join(FAMILY_NAMES)}")
    return style


def _variant(r: _Reader, aspect: str, defaults: dict[str, Any]) -> Variant:
    p = r.section("product")
    product = ProductSpec(
        region=p.region("region", allow_product=False),
        fill=p.number("fill", 0.2, 1.0),
        anchor=p.pair("anchor", 0.0, 1.0, [0.5, 0.5]),
    )
    p.done()
    groups = []
    raw_groups = r.value("groups", [])
    if not isinstance(raw_groups, list):
        raise PosterDataError(f"{r.where}.groups must be a list")
    placed: set[str] = set()
    for i, raw in enumerate(raw_groups):
        g = _Reader(raw, f"{r.where}.groups[{i}]")
        items = g.value("items")
        if not isinstance(items, list) or not items or any(it not in ITEMS for it in items):
            raise PosterDataError(f"{g.where}.items must be a non-empty list of {', '.join(ITEMS)}")
        if placed & set(items):
            raise PosterDataError(f"{g.where}: {', '.join(sorted(placed & set(items)))} already placed")
        placed |= set(items)
        groups.append(
            GroupSpec(
                items=tuple(items),
                region=g.region("region"),
                align=g.choice("align", ("left", "center", "right"), "left"),
                valign=g.choice("valign", ("top", "middle", "bottom"), "middle"),
                direction=g.choice("direction", ("column", "row"), "column"),
                gap=g.number("gap", 0.0, 0.2, 0.025),
                justify=g.choice("justify", ("start", "center", "space_between"), "start"),
            )
        )
        g.done()
    if "headline" not in placed:
        raise PosterDataError(f"{r.where}: no group places the headline")
    shapes = []
    raw_shapes = r.value("shapes", [])
    if not isinstance(raw_shapes, list):
        raise PosterDataError(f"{r.where}.shapes must be a list")
    for i, raw in enumerate(raw_shapes):
        s = _Reader(raw, f"{r.where}.shapes[{i}]")
        kind = s.choice("kind", SHAPE_KINDS)
        fill = s.color("fill")
        opacity = s.number("opacity", 0.0, 1.0, 1.0)
        modes = s.value("modes", list(BACKGROUND_MODES))
        if not isinstance(modes, list) or not modes or any(m not in BACKGROUND_MODES for m in modes):
            raise PosterDataError(f"{s.where}.modes must be a list of {', '.join(BACKGROUND_MODES)}")
        if kind == "panel":
            shapes.append(
                ShapeSpec(
                    kind,
                    fill,
                    opacity,
                    s.region("region"),
                    s.number("radius", 0.0, 0.5, 0.0),
                    None,
                    None,
                    0.0,
                    "canvas",
                    tuple(modes),
                )  # fmt: skip
            )
        else:
            r_of = s.choice("r_of", ("canvas", "product"), "canvas")
            shapes.append(
                ShapeSpec(
                    kind,
                    fill,
                    opacity,
                    None,
                    0.0,
                    s.edge("cx"),
                    s.edge("cy"),
                    s.number("r", 0.01, 2.0),
                    r_of,
                    tuple(modes),
                )  # fmt: skip
            )
        s.done()

    def placement(key: str) -> _Reader:
        merged = {**defaults[key], **(r.value(key, {}) or {})}
        return _Reader(merged, f"{r.where}.{key}")

    b = placement("badge")
    badge = BadgePlacement(b.choice("attach", PRODUCT_ATTACH, "top_right"), b.number("size", 0.05, 0.5, 0.19))
    b.done()
    lg = placement("logo")
    logo = LogoPlacement(lg.choice("corner", CORNERS, "top_left"), lg.number("height", 0.02, 0.3, 0.06))
    lg.done()
    rb = placement("ribbon")
    ribbon = RibbonPlacement(
        rb.choice("style", RIBBON_STYLES, "eyebrow"), rb.choice("corner", CORNERS, "top_left")
    )
    rb.done()
    if ribbon.style == "eyebrow" and "eyebrow" not in placed:
        raise PosterDataError(f"{r.where}: ribbon style eyebrow needs a group with the eyebrow item")
    variant = Variant(
        aspect=aspect,
        margin=r.number("margin", 0.0, 0.25, 0.07),
        type_scale=r.number("type_scale", 0.3, 3.0, 1.0),
        product=product,
        groups=tuple(groups),
        shapes=tuple(shapes),
        badge=badge,
        logo=logo,
        ribbon=ribbon,
    )
    r.done()
    return variant


def read_template(data: Any, where: str) -> Template:
    """Validate template JSON data; ``PosterDataError`` names the field at fault."""
    r = _Reader(data, where)
    tid = r.text("id")
    if not _ID.match(tid):
        raise PosterDataError(f"{where}.id must be lower_snake_case, got {tid!r}")

    bg = r.section("background")
    mode = bg.choice("mode", BACKGROUND_MODES)
    colors_raw = bg.value("colors", ["brand+0.85", "brand+0.6"])
    if not isinstance(colors_raw, list) or not 1 <= len(colors_raw) <= 4:
        raise PosterDataError(f"{bg.where}.colors must be a list of 1..4 colours")
    center_raw = bg.value("center", [0.5, 0.45])
    follow = center_raw == "product"
    if not follow:
        bg.data["center"] = center_raw
        center = bg.pair("center", -1.0, 2.0)
    else:
        center = (0.5, 0.5)
    background = BackgroundSpec(
        mode=mode,
        theme=bg.text("theme", "studio_sweep"),
        style=bg.choice("style", BACKGROUND_STYLES, "radial"),
        colors=tuple(parse_color_spec(c, f"{bg.where}.colors[{i}]") for i, c in enumerate(colors_raw)),
        center=center,
        follow_product=follow,
        angle=bg.number("angle", -360, 360, 90),
        grain=bg.number("grain", 0.0, 0.05, 0.004),
    )
    bg.done()

    fam = r.section("families")
    families = {
        "heading": fam.choice("heading", FAMILY_NAMES, "montserrat"),
        "body": fam.choice("body", FAMILY_NAMES, "inter"),
    }
    fam.done()

    col = r.section("colors")
    color_defaults = {
        "headline": "text", "subline": "text+0.3", "eyebrow": "brand", "price": "brand",
        "compare_at": "text+0.45", "strike": "text+0.45", "cta_fill": "brand", "cta_text": "on_brand",
        "badge_fill": "secondary", "badge_text": "on_secondary", "badge_caption": "on_secondary", "ribbon_fill": "secondary",
        "ribbon_text": "on_secondary", "rule": "secondary", "price_plate": "brand",
        "price_plate_text": "on_brand",
    }  # fmt: skip
    colors = {role: col.color(role, color_defaults[role]) for role in COLOR_ROLES}
    col.done()

    tx = r.section("text")
    text_defaults = {
        "headline": {"font": "heading", "weight": 800, "size": 88, "min": 34, "line_height": 1.06, "max_lines": 3},
        "subline": {"font": "body", "weight": 400, "size": 34, "min": 20, "line_height": 1.3, "max_lines": 3},
        "eyebrow": {"font": "body", "weight": 700, "size": 24, "min": 16, "uppercase": True, "tracking": 0.12},
        "price": {"font": "heading", "weight": 800, "size": 64, "min": 26},
        "compare_at": {"font": "body", "weight": 500, "size": 34, "min": 18},
        "cta": {"font": "body", "weight": 700, "size": 30, "min": 18, "tracking": 0.02},
        "badge": {"font": "heading", "weight": 800, "size": 48, "min": 16, "line_height": 1.0, "max_lines": 2},
        "badge_caption": {"font": "body", "weight": 700, "size": 18, "min": 11, "uppercase": True, "tracking": 0.1},
        "ribbon": {"font": "body", "weight": 800, "size": 26, "min": 14, "uppercase": True, "tracking": 0.1},
    }  # fmt: skip
    text: dict[str, TextStyleSpec] = {}
    for role in TEXT_ROLES:
        merged = {**text_defaults[role], **(tx.value(role, {}) or {})}
        text[role] = _text_style(_Reader(merged, f"{tx.where}.{role}"))
    tx.done()

    c = _Reader(r.value("cta", {}) or {}, f"{where}.cta")
    cta = CtaSpec(
        style=c.choice("style", CTA_STYLES, "filled"),
        pad_x=c.number("pad_x", 0.0, 4.0, 1.15),
        pad_y=c.number("pad_y", 0.0, 2.0, 0.62),
        radius=c.number("radius", 0.0, 0.5, 0.5),
        border=c.number("border", 0.0, 0.5, 0.07),
        arrow=c.boolean("arrow", False),
    )
    c.done()

    bd = _Reader(r.value("badge", {}) or {}, f"{where}.badge")
    badge = BadgeSpec(shape=bd.choice("shape", BADGE_SHAPES, "circle"))
    bd.done()

    strings_raw = r.value("strings", {})
    if not isinstance(strings_raw, dict) or not all(
        isinstance(v, dict) and all(isinstance(s, str) for s in v.values()) for v in strings_raw.values()
    ):
        raise PosterDataError(f"{where}.strings must map languages to {{key: text}}")
    strings = {lang: dict(v) for lang, v in strings_raw.items()}

    defaults = {
        "badge": r.value("badge_placement", {}) or {},
        "logo": r.value("logo", {}) or {},
        "ribbon": r.value("ribbon", {}) or {},
    }
    for key, value in defaults.items():
        if not isinstance(value, dict):
            raise PosterDataError(f"{where}.{key} must be an object")
    vr = r.section("variants")
    variants = {}
    for aspect in list(vr.data):
        if aspect not in ASPECTS:
            raise PosterDataError(f"{vr.where}: unknown aspect {aspect!r}; use {', '.join(ASPECTS)}")
        variants[aspect] = _variant(vr.section(aspect), aspect, defaults)
    vr.done()
    if "square" not in variants or "tall" not in variants:
        raise PosterDataError(f"{where}.variants needs at least square and tall")

    template = Template(
        id=tid,
        label=r.text("label", tid.replace("_", " ").capitalize()),
        description=r.text("description", ""),
        background=background,
        families=families,
        colors=colors,
        text=text,
        cta=cta,
        badge=badge,
        strings=strings,
        contrast_fix=r.choice("contrast_fix", FIXES, "plate"),
        price_plate=r.boolean("price_plate", False),
        eyebrow_pill=r.choice("eyebrow_style", ("pill", "text"), "pill") == "pill",
        variants=variants,
        data=data,
    )
    r.done()
    return template


def load_template_file(path: Path) -> Template:
    template = read_template(read_json(path, PosterDataError), path.stem)
    if template.id != path.stem:
        raise PosterDataError(f"{path.name}: id {template.id!r} must match the file name")
    return template


def load_templates(folder: Path = TEMPLATE_DIR) -> dict[str, Template]:
    return load_folder(folder, load_template_file, lambda template: template.id, PosterDataError, "template")


_all_templates = LoadOnce(load_templates)


def list_templates() -> list[str]:
    return sorted(_all_templates())


def get_template(name: str) -> Template:
    templates = _all_templates()
    if name not in templates:
        raise InvalidSpec(f"unknown poster template {name!r}; choose one of {', '.join(sorted(templates))}")
    return templates[name]


# ---------------------------------------------------------------------------
# Solving: concrete boxes


@dataclass
class Slot:
    """One drawn element at its final place.

    ``kind``: text (a laid-out block), pill (CTA), badge, ribbon, rule, logo, price_plate.
    Text slots inside a shape name it in ``parent``. ``role`` picks the colour role.
    """

    name: str
    kind: str
    box: Box
    role: str = ""
    text: str = ""
    block: TextBlock | None = None
    valign: str = "top"
    parent: str = ""
    group: int = -1
    strike: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PosterLayout:
    template: Template
    variant: Variant
    size: SizePreset
    content: Box
    unit: float  # font px per template px (shorter side / 1080 * type scale)
    short: int
    product_box: Box
    product_region: Box
    placed: PlacedProduct  # the cutout after its one resize, at product_box
    keepout: np.ndarray  # canvas-sized bool: the matte dilated by keepout_margin
    slots: list[Slot]
    shapes: list[dict[str, Any]]  # resolved decorative shapes
    groups: list[Box]  # the boxes the groups' items actually take
    fallbacks: list[str]


@dataclass(frozen=True)
class Content:
    """The words of a poster after defaults: what the layout has to place."""

    headline: str
    subline: str
    eyebrow: str  # ribbon text when the ribbon style is eyebrow
    ribbon: str  # ribbon text for tag / corner / band ribbons
    price: str
    compare_at: str
    cta: str
    badge: str
    badge_caption: str
    lang: str
    langs: dict[str, str]  # per element language (CJK detection)


def _font_style(
    spec: TextStyleSpec,
    template: Template,
    families: dict[str, str],
    unit: float,
    *,
    align: str = "left",
    max_lines: int | None = None,
    scale: float = 1.0,
) -> TextStyle:
    family = families.get(spec.font, spec.font)
    size = max(8, round(spec.size * unit * scale))
    low = max(8, min(size, round(spec.min * unit)))
    return TextStyle(
        family=family,
        weight=spec.weight,
        max_size=size,
        min_size=low,
        line_height=spec.line_height,
        align=align,
        max_lines=max_lines if max_lines is not None else spec.max_lines,
        uppercase=spec.uppercase,
        tracking=spec.tracking,
    )


def _resolve_edge(
    edge: Edge, axis: str, content: Box, canvas: tuple[int, int], product: Box | None, short: int
) -> float:
    if edge.ref == "content":
        x, y, w, h = content
        return x + edge.value * w if axis == "x" else y + edge.value * h
    if edge.ref == "canvas":
        return edge.value * (canvas[0] if axis == "x" else canvas[1])
    assert product is not None
    px, py, pw, ph = product
    base = {
        "left": px, "right": px + pw, "top": py, "bottom": py + ph, "cx": px + pw / 2, "cy": py + ph / 2,
    }[edge.side]  # fmt: skip
    return base + edge.value * short


def _resolve_region(
    region: Region,
    content: Box,
    canvas: tuple[int, int],
    product: Box | None,
    short: int,
    *,
    clamp: Box | None = None,
) -> Box:
    x0 = _resolve_edge(region.x0, "x", content, canvas, product, short)
    x1 = _resolve_edge(region.x1, "x", content, canvas, product, short)
    y0 = _resolve_edge(region.y0, "y", content, canvas, product, short)
    y1 = _resolve_edge(region.y1, "y", content, canvas, product, short)
    if clamp is not None:
        cx, cy, cw, ch = clamp
        x0, x1 = max(x0, cx), min(x1, cx + cw)
        y0, y1 = max(y0, cy), min(y1, cy + ch)
    return (round(x0), round(y0), max(0, round(x1 - x0)), max(0, round(y1 - y0)))


def intersects(a: Box, b: Box, pad: float = 0) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw + pad and bx < ax + aw + pad and ay < by + bh + pad and by < ay + ah + pad


def _trim(region: Box, obstacle: Box, gap: int) -> Box:
    """The largest part of ``region`` left when cut back from one side to clear ``obstacle``."""
    if not intersects(region, obstacle, gap):
        return region
    x, y, w, h = region
    ox, oy, ow, oh = obstacle
    options = [
        (x, oy + oh + gap, w, y + h - (oy + oh + gap)),  # below it
        (x, y, w, oy - gap - y),  # above it
        (ox + ow + gap, y, x + w - (ox + ow + gap), h),  # right of it
        (x, y, ox - gap - x, h),  # left of it
    ]
    options = [o for o in options if o[2] > 0 and o[3] > 0]
    if not options:
        return (x, y, 0, 0)
    return max(options, key=lambda o: o[2] * o[3])


def product_keepout(alpha: Image.Image, box: Box, canvas: tuple[int, int], margin: int) -> np.ndarray:
    """Canvas-sized bool mask of the product matte (alpha > 0) dilated by ``margin`` px."""
    import cv2

    cw, ch = canvas
    mask = np.zeros((ch, cw), dtype=np.uint8)
    x, y, w, h = box
    a = np.asarray(alpha.resize((w, h), Image.Resampling.BILINEAR) if alpha.size != (w, h) else alpha)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, cw), min(y + h, ch)
    if x1 > x0 and y1 > y0:
        mask[y0:y1, x0:x1] = (a[y0 - y : y1 - y, x0 - x : x1 - x] > 0).astype(np.uint8)
    if margin > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
        mask = cv2.dilate(mask, k)
    return mask.astype(bool)


def box_hits(mask: np.ndarray, box: Box) -> bool:
    x, y, w, h = box
    H, W = mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        return False
    return bool(mask[y0:y1, x0:x1].any())


def keepout_margin(short: int) -> int:
    """Clear space kept around the product matte: 1.2% of the shorter side, at least 6 px."""
    return max(6, round(0.012 * short))


def _overflow(message: str, text: str = "", box: tuple[int, int] = (0, 0)) -> TextDoesNotFit:
    return TextDoesNotFit(message, text=text, box=box, min_size=0)


def solve_layout(
    template: Template,
    size: SizePreset,
    cutout: Image.Image,
    content: Content,
    families: dict[str, str],
    *,
    logo_size: tuple[int, int] | None,
    has_badge: bool,
) -> PosterLayout:
    """Place everything for ``template`` at ``size`` around ``cutout`` (RGBA, the product).

    Raises ``TextDoesNotFit`` (code ``text_overflow``) naming the element when the words
    cannot be set at the template's smallest sizes even after shrinking the product.
    """
    fallbacks: list[str] = []
    last: TextDoesNotFit | None = None
    variant = template.variant_for(size.aspect)
    # Graceful fallbacks, in order: the template as designed, then a smaller product
    # (text regions that follow the product box grow), then tighter spacing.
    for attempt, (shrink, compact) in enumerate(((1.0, False), (0.86, False), (0.86, True), (0.72, True))):
        try:
            layout = _solve(
                template, variant, size, cutout, content, families, logo_size, has_badge, shrink, compact
            )
        except TextDoesNotFit as exc:
            last = exc
            continue
        if attempt:
            fallbacks.append(f"product scaled to {shrink:.0%}" + (", compact spacing" if compact else ""))
        layout.fallbacks.extend(fallbacks)
        return layout
    assert last is not None
    raise last


def _solve(
    template: Template,
    variant: Variant,
    size: SizePreset,
    cutout: Image.Image,
    words: Content,
    families: dict[str, str],
    logo_size: tuple[int, int] | None,
    has_badge: bool,
    shrink: float,
    compact: bool,
) -> PosterLayout:
    # 1. canvas, content box (margins and UI safe zones), type unit
    cw, ch = size.width, size.height
    canvas = (cw, ch)
    short = min(cw, ch)
    margin = variant.margin * short
    sz = size.safe_zone
    inset = [
        max(margin, zone + 0.3 * margin) if zone else margin
        for zone in (sz.left, sz.top, sz.right, sz.bottom)
    ]
    content = (
        round(inset[0]),
        round(inset[1]),
        round(cw - inset[0] - inset[2]),
        round(ch - inset[1] - inset[3]),
    )
    unit = short / 1080.0 * variant.type_scale
    gap_px = max(4, round(0.022 * short))
    slots: list[Slot] = []
    obstacles: list[Box] = []

    # 2. ribbon (tag / corner / band) and logo claim their space first
    ribbon_style = variant.ribbon.style
    safe_corner = size.safe_zone == Insets()
    if ribbon_style == "corner" and not safe_corner:
        ribbon_style = "tag"  # a corner band would run under the platform's UI
    if words.ribbon and ribbon_style in ("tag", "corner", "band"):
        slot, label = _ribbon_slots(
            template, variant, ribbon_style, words, families, unit, content, canvas, short, safe_corner
        )
        slots += [slot, label]
        obstacles.append(slot.extra.get("keepout", slot.box))
    if logo_size is not None:
        logo_box = _logo_box(variant.logo, logo_size, content, short)
        slots.append(Slot("logo", "logo", logo_box))
        obstacles.append(logo_box)

    # 3. product: its region (cut back from the obstacles), then fit_box
    region = _resolve_region(variant.product.region, content, canvas, None, short, clamp=content)
    for ob in obstacles:
        region = _trim(region, ob, gap_px)
    if region[2] < 8 or region[3] < 8:
        raise InvalidSpec(f"{template.id}: no room left for the product at {cw}x{ch}")
    product_box = compose.fit_box(
        cutout.size, canvas, fill=variant.product.fill * shrink, anchor=variant.product.anchor, region=region
    )
    product_box = _clamp_into(product_box, region)  # an anchor must not push it out of its region
    placed = compose.place_product(cutout, canvas, product_box)
    # the keep-out comes from the very layer that is pasted back, not an approximation
    keepout = product_keepout(placed.layer.getchannel("A"), product_box, canvas, keepout_margin(short))

    # 4. decorative shapes (they may follow the product)
    shapes = [_shape(s, content, canvas, product_box, short) for s in variant.shapes]

    # 5. text groups, each in its region cut back from the obstacles
    group_boxes: list[Box] = []
    for gi, group in enumerate(variant.groups):
        gregion = _resolve_region(group.region, content, canvas, product_box, short, clamp=content)
        for ob in obstacles:
            gregion = _trim(gregion, ob, gap_px)
        items = [it for it in group.items if _has_item(it, words, ribbon_style)]
        if not items:
            continue
        group_slots = _layout_group(
            template, group, gi, items, gregion, words, families, unit, short, compact
        )
        for slot in group_slots:
            if box_hits(keepout, slot.box):
                # a region edge came too close to the matte (a group not tied to the product)
                raise _overflow(f"{slot.name} would touch the product in {template.id} at {cw}x{ch}")
        slots += group_slots
        if group_slots:
            gb = union_box([s.box for s in group_slots])
            group_boxes.append(gb)
            obstacles.append(gb)

    # 6. badge: nearest free spot to its product corner
    if has_badge:
        slots += _badge_slots(
            template, variant, words, families, unit, short, content, product_box, keepout, obstacles, gap_px
        )

    return PosterLayout(
        template=template,
        variant=variant,
        size=size,
        content=content,
        unit=unit,
        short=short,
        product_box=product_box,
        product_region=region,
        placed=placed,
        keepout=keepout,
        slots=slots,
        shapes=shapes,
        groups=group_boxes,
        fallbacks=[],
    )


def _clamp_into(box: Box, region: Box) -> Box:
    x, y, w, h = box
    rx, ry, rw, rh = region
    x = min(max(x, rx), rx + rw - w) if w <= rw else x
    y = min(max(y, ry), ry + rh - h) if h <= rh else y
    return (x, y, w, h)


def _has_item(item: str, words: Content, ribbon_style: str) -> bool:
    if item == "eyebrow":
        return bool(words.eyebrow) and ribbon_style == "eyebrow"
    if item == "price":
        return bool(words.price)
    if item == "rule":
        return True
    return bool(getattr(words, item))


def union_box(boxes: list[Box]) -> Box:
    """The smallest box holding all of ``boxes``."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


def _shape(s: ShapeSpec, content: Box, canvas: tuple[int, int], product: Box, short: int) -> dict[str, Any]:
    if s.kind == "panel":
        assert s.region is not None
        box = _resolve_region(s.region, content, canvas, product, short)
        return {
            "kind": "panel",
            "box": box,
            "fill": s.fill,
            "opacity": s.opacity,
            "radius": round(s.radius * short),
            "modes": list(s.modes),
        }
    assert s.cx is not None and s.cy is not None
    cx = _resolve_edge(s.cx, "x", content, canvas, product, short)
    cy = _resolve_edge(s.cy, "y", content, canvas, product, short)
    r = s.r * (max(product[2], product[3]) if s.r_of == "product" else short)
    return {
        "kind": "circle",
        "center": (round(cx), round(cy)),
        "r": round(r),
        "fill": s.fill,
        "opacity": s.opacity,
        "modes": list(s.modes),
    }


def _logo_box(place: LogoPlacement, logo_size: tuple[int, int], content: Box, short: int) -> Box:
    x, y, w, h = content
    lh = max(8, round(place.height * short))
    lw = max(8, round(logo_size[0] * lh / logo_size[1]))
    if lw > 0.4 * w:  # very wide logos: cap the width instead
        lw = round(0.4 * w)
        lh = max(8, round(logo_size[1] * lw / logo_size[0]))
    vert, _, horiz = place.corner.partition("_")
    lx = {"left": x, "right": x + w - lw, "center": x + (w - lw) // 2}[horiz]
    ly = y if vert == "top" else y + h - lh
    return (lx, ly, lw, lh)


def _ribbon_slots(
    template: Template, variant: Variant, style: str, words: Content, families: dict[str, str],
    unit: float, content: Box, canvas: tuple[int, int], short: int, safe_corner: bool,
) -> tuple[Slot, Slot]:  # fmt: skip
    cx, cy, cwid, chei = content
    lang = words.langs.get("ribbon", words.lang)
    if style == "corner":
        # a band across the canvas corner at 45 degrees; its label is set along the band
        band = round(0.064 * short)
        dist = round(0.14 * short)  # corner to the band's centre line, perpendicular
        room = round((2 * dist - band) * 0.8)  # the band's inner edge, less some air
        st = _font_style(template.text["ribbon"], template, families, unit, align="center", max_lines=1)
        block = layout_text(words.ribbon, (room, round(band * 0.66)), st, lang=lang)
        right = variant.ribbon.corner.endswith("right")
        reach = min(math.ceil(dist * math.sqrt(2) + band / math.sqrt(2)) + 1, canvas[0], canvas[1])
        box = (canvas[0] - reach, 0, reach, reach) if right else (0, 0, reach, reach)
        slot = Slot(
            "ribbon",
            "ribbon",
            box,
            role="ribbon_fill",
            extra={"style": "corner", "band": band, "dist": dist, "right": right},
        )
        c = dist * math.sqrt(2) / 2  # the centre line's midpoint, on both axes
        center = (canvas[0] - c if right else c, c)
        side = max(2, round(band * 0.6))  # an upright square that stays on the band
        sample = (round(center[0] - side / 2), round(center[1] - side / 2), side, side)
        label = Slot(
            "ribbon_label",
            "text",
            box,
            role="ribbon_text",
            text=words.ribbon,
            block=block,
            parent="ribbon",
            extra={"rotated": True, "center": center, "sample": sample, "right": right},
        )
        return slot, label
    st = _font_style(template.text["ribbon"], template, families, unit, align="center", max_lines=1)
    if style == "band":
        block = layout_text(words.ribbon, (cwid, round(120 * unit)), st, lang=lang)
        pad_y = round(block.size * 0.55)
        height = block.height + 2 * pad_y
        if safe_corner:
            box = (0, 0, canvas[0], height)  # full-bleed strip across the top
            keep = (0, 0, canvas[0], height + round(0.01 * short))
        else:
            box = (cx, cy, cwid, height)  # inside the safe area, as a rounded bar
            keep = box
        slot = Slot(
            "ribbon",
            "ribbon",
            box,
            role="ribbon_fill",
            extra={"style": "band", "radius": 0 if safe_corner else height // 4, "keepout": keep},
        )
        label = Slot(
            "ribbon_label",
            "text",
            box,
            role="ribbon_text",
            text=words.ribbon,
            block=block,
            valign="middle",
            parent="ribbon",
        )
        return slot, label
    # tag: a flag from the left edge with a notched end, at the top of the content box
    block = layout_text(words.ribbon, (round(cwid * 0.6), round(120 * unit)), st, lang=lang)
    pad_x, pad_y = round(block.size * 0.9), round(block.size * 0.5)
    height = block.height + 2 * pad_y
    notch = round(height * 0.35)
    x0 = 0 if safe_corner else cx
    lead = cx - x0  # the bleed from the canvas edge to the content box
    width = lead + block.width + 2 * pad_x + notch
    right = variant.ribbon.corner.endswith("right")
    if right:
        x0 = canvas[0] - width if safe_corner else cx + cwid - width
    box = (x0, cy, width, height)
    label_x = x0 + (notch if right else lead) + pad_x
    label_box = (label_x, cy + pad_y, block.width, block.height)
    slot = Slot(
        "ribbon", "ribbon", box, role="ribbon_fill", extra={"style": "tag", "notch": notch, "right": right}
    )
    label = Slot(
        "ribbon_label", "text", label_box, role="ribbon_text", text=words.ribbon, block=block, parent="ribbon"
    )
    return slot, label


def _layout_group(
    template: Template, group: GroupSpec, gi: int, items: list[str], region: Box, words: Content,
    families: dict[str, str], unit: float, short: int, compact: bool,
) -> list[Slot]:  # fmt: skip
    if group.direction == "row":
        placed = _layout_row(template, group, gi, items, region, words, families, unit, short, compact)
        if placed is not None:
            return placed
    return _layout_column(template, group, gi, items, region, words, families, unit, short, compact)


@dataclass
class _Item:
    name: str
    width: int
    height: int
    slots: list[Slot]  # positioned relative to the item's top-left corner


def _measure(
    template: Template, item: str, width: int, height: int, words: Content, families: dict[str, str],
    unit: float, align: str, scale: float,
) -> _Item:  # fmt: skip
    """One item set inside ``width`` x ``height``; its slots relative to (0, 0)."""
    if width < 8 or height < 8:
        raise _overflow(f"no room left for the {item} in {template.id}")
    styles = template.text

    def style(role: str, **kw: Any) -> TextStyle:
        return _font_style(styles[role], template, families, unit, align=align, scale=scale, **kw)

    def lang(role: str) -> str:
        return words.langs.get(role, words.lang)

    if item in ("headline", "subline"):
        block = layout_text(getattr(words, item), (width, height), style(item), lang=lang(item))
        return _Item(
            item,
            block.width,
            block.height,
            [
                Slot(
                    item,
                    "text",
                    (0, 0, block.width, block.height),
                    role=item,
                    text=getattr(words, item),
                    block=block,
                )
            ],
        )
    if item == "eyebrow":
        block = layout_text(
            words.eyebrow, (width, height), style("eyebrow", max_lines=1), lang=lang("eyebrow")
        )
        if not template.eyebrow_pill:
            return _Item("eyebrow", block.width, block.height, [
                Slot("eyebrow", "text", (0, 0, block.width, block.height), role="eyebrow", text=words.eyebrow, block=block),
            ])  # fmt: skip
        pad_x, pad_y = round(block.size * 0.75), round(block.size * 0.42)
        w, h = block.width + 2 * pad_x, block.height + 2 * pad_y
        if w > width:
            raise _overflow(f"the ribbon text {words.eyebrow!r} does not fit")
        return _Item("eyebrow", w, h, [
            Slot("eyebrow", "pill", (0, 0, w, h), role="ribbon_fill", extra={"radius": h // 2}),
            Slot("eyebrow_label", "text", (pad_x, pad_y, block.width, block.height), role="ribbon_text", text=words.eyebrow, block=block, parent="eyebrow"),
        ])  # fmt: skip
    if item == "rule":
        w, h = max(8, round(72 * unit)), max(2, round(3 * unit))
        return _Item("rule", w, h, [Slot("rule", "rule", (0, 0, w, h), role="rule")])
    if item == "cta":
        cta = template.cta
        st = style("cta", max_lines=1)
        pad_x = round(st.max_size * cta.pad_x) if cta.style != "link" else 0
        pad_y = round(st.max_size * cta.pad_y) if cta.style != "link" else round(st.max_size * 0.15)
        arrow = round(st.max_size * 1.1) if (cta.arrow or cta.style == "link") else 0
        block = layout_text(words.cta, (max(8, width - 2 * pad_x - arrow), height), st, lang=lang("cta"))
        w, h = block.width + 2 * pad_x + arrow, block.height + 2 * pad_y
        if cta.style != "link":
            w = max(w, round(h * 2.6))  # short labels still get a button, not a dot
        inner_x = (w - arrow - block.width) // 2 if cta.style != "link" else 0
        return _Item("cta", w, h, [
            Slot("cta", "pill", (0, 0, w, h), role="cta_fill", extra={"radius": round(h * cta.radius), "style": cta.style, "arrow": arrow, "border": max(1, round(st.max_size * cta.border))}),
            Slot("cta_label", "text", (inner_x, pad_y, block.width, block.height), role="cta_text", text=words.cta, block=block, parent="cta" if cta.style == "filled" else "", extra={"arrow": arrow}),
        ])  # fmt: skip
    if item == "price":
        return _measure_price(template, width, height, words, style, lang)
    raise AssertionError(item)


def _measure_price(
    template: Template, width: int, height: int, words: Content, style: Any, lang: Any
) -> _Item:
    price_style = style("price", max_lines=1)
    # a price tag plate adds padding and a punched hole: about 1.4 em beside the price
    room = width - (round(1.4 * price_style.max_size) if template.price_plate else 0)
    if room < 8:
        raise _overflow(f"the price {words.price!r} does not fit")
    block = layout_text(words.price, (room, height), price_style, lang=lang("price"))
    slots = []
    if template.price_plate:
        pad_x, pad_y = round(block.size * 0.45), round(block.size * 0.22)
        hole = round(block.size * 0.5)
        pw, ph = block.width + 2 * pad_x + hole, block.height + 2 * pad_y
        if pw > width:
            raise _overflow(f"the price {words.price!r} does not fit")
        slots.append(
            Slot("price_plate", "price_plate", (0, 0, pw, ph), role="price_plate", extra={"hole": hole})
        )
        slots.append(
            Slot(
                "price",
                "text",
                (hole + pad_x, pad_y, block.width, block.height),
                role="price_plate_text",
                text=words.price,
                block=block,
                parent="price_plate",
            )
        )
        main_w, main_h = pw, ph
    else:
        slots.append(
            Slot(
                "price",
                "text",
                (0, 0, block.width, block.height),
                role="price",
                text=words.price,
                block=block,
            )
        )
        main_w, main_h = block.width, block.height
    if not words.compare_at:
        return _Item("price", main_w, main_h, slots)
    cmp_block = layout_text(
        words.compare_at, (width, height), style("compare_at", max_lines=1), lang=lang("compare_at")
    )
    gap = round(block.size * 0.35)
    if main_w + gap + cmp_block.width <= width:
        # side by side, baselines roughly aligned (descents scale with the size)
        cy = (
            main_h
            - cmp_block.height
            - round(0.12 * (block.size - cmp_block.size))
            - (round(block.size * 0.22) if template.price_plate else 0)
        )
        slots.append(
            Slot(
                "compare_at",
                "text",
                (main_w + gap, max(0, cy), cmp_block.width, cmp_block.height),
                role="compare_at",
                text=words.compare_at,
                block=cmp_block,
                strike=True,
            )
        )
        return _Item("price", main_w + gap + cmp_block.width, main_h, slots)
    # stacked: the old price above the new one
    shift = cmp_block.height + round(gap * 0.4)
    for s in slots:
        x, y, w, h = s.box
        s.box = (x, y + shift, w, h)
    slots.insert(
        0,
        Slot(
            "compare_at",
            "text",
            (0, 0, cmp_block.width, cmp_block.height),
            role="compare_at",
            text=words.compare_at,
            block=cmp_block,
            strike=True,
        ),
    )
    return _Item("price", max(main_w, cmp_block.width), main_h + shift, slots)


def _layout_column(
    template: Template, group: GroupSpec, gi: int, items: list[str], region: Box, words: Content,
    families: dict[str, str], unit: float, short: int, compact: bool,
) -> list[Slot]:  # fmt: skip
    rx, ry, rw, rh = region
    if rw < 16 or rh < 16:
        raise _overflow(f"no room for the text in {template.id}")
    gap = round(group.gap * short * (0.6 if compact else 1.0))
    scale = 0.82 if compact else 1.0

    def gaps_for(names: list[str]) -> int:
        # a CTA gets a little more air above it; a rule sits close to what it divides
        total = 0
        for a, b in zip(names, names[1:], strict=False):
            total += round(gap * (1.5 if b == "cta" else 0.7 if "rule" in (a, b) else 1.0))
        return total

    fixed_names = [it for it in items if it not in ("headline", "subline")]
    measured: dict[str, _Item] = {}
    for it in fixed_names:
        measured[it] = _measure(template, it, rw, rh, words, families, unit, group.align, scale)
    fixed_h = sum(measured[it].height for it in fixed_names) + gaps_for(items)
    left = rh - fixed_h
    if left < 0:
        raise _overflow(f"the price and button do not fit in {template.id}")
    # the subline takes its natural height first; the headline then shrinks to what is left
    if "subline" in items:
        sub = _measure(template, "subline", rw, left, words, families, unit, group.align, scale)
        if "headline" in items:
            try:
                head = _measure(
                    template, "headline", rw, left - sub.height, words, families, unit, group.align, scale
                )
            except TextDoesNotFit:
                # squeeze the subline to its smallest size and give the headline the rest
                sub = _measure(template, "subline", rw, left, words, families, unit, group.align, scale * 0.6)
                head = _measure(
                    template, "headline", rw, left - sub.height, words, families, unit, group.align, scale
                )
            measured["headline"] = head
        measured["subline"] = sub
    elif "headline" in items:
        measured["headline"] = _measure(
            template, "headline", rw, left, words, families, unit, group.align, scale
        )

    total = sum(measured[it].height for it in items) + gaps_for(items)
    y = ry + {"top": 0, "middle": (rh - total) // 2, "bottom": rh - total}[group.valign]
    out: list[Slot] = []
    prev = None
    for it in items:
        if prev is not None:
            y += round(gap * (1.5 if it == "cta" else 0.7 if "rule" in (prev, it) else 1.0))
        m = measured[it]
        x = rx + {"left": 0, "center": (rw - m.width) // 2, "right": rw - m.width}[group.align]
        for s in m.slots:
            sx, sy, sw, sh = s.box
            s.box = (x + sx, y + sy, sw, sh)
            s.group = gi
            if s.kind == "text" and s.block is not None and s.name in ("headline", "subline"):
                # a multi-line block aligns its lines inside the whole column width
                s.box = (rx, y + sy, rw, sh)
                s.extra["ink_width"] = m.width
            out.append(s)
        y += m.height
        prev = it
    return out


def _layout_row(
    template: Template, group: GroupSpec, gi: int, items: list[str], region: Box, words: Content,
    families: dict[str, str], unit: float, short: int, compact: bool,
) -> list[Slot] | None:  # fmt: skip
    """Items side by side (price beside the button); None when they do not fit in one row."""
    rx, ry, rw, rh = region
    if rw < 16 or rh < 16:
        return None
    gap = round(group.gap * short * (0.6 if compact else 1.0) * 1.5)
    scale = 0.82 if compact else 1.0
    try:
        measured = [_measure(template, it, rw, rh, words, families, unit, "left", scale) for it in items]
    except TextDoesNotFit:
        return None
    total_w = sum(m.width for m in measured) + gap * (len(measured) - 1)
    if total_w > rw or max(m.height for m in measured) > rh:
        return None
    row_h = max(m.height for m in measured)
    y = ry + {"top": 0, "middle": (rh - row_h) // 2, "bottom": rh - row_h}[group.valign]
    if group.justify == "space_between" and len(measured) > 1:
        spacing = (rw - sum(m.width for m in measured)) / (len(measured) - 1)
        x = float(rx)
    else:
        spacing = gap
        x = rx + {"start": 0, "center": (rw - total_w) / 2, "space_between": 0}[group.justify]
        if group.justify == "start" and group.align == "right":
            x = rx + rw - total_w
        elif group.justify == "start" and group.align == "center":
            x = rx + (rw - total_w) / 2
    out = []
    for m in measured:
        oy = y + (row_h - m.height) // 2
        for s in m.slots:
            sx, sy, sw, sh = s.box
            s.box = (round(x) + sx, oy + sy, sw, sh)
            s.group = gi
            out.append(s)
        x += m.width + spacing
    return out


def _badge_slots(
    template: Template, variant: Variant, words: Content, families: dict[str, str], unit: float,
    short: int, content: Box, product: Box, keepout: np.ndarray, obstacles: list[Box], gap: int,
) -> list[Slot]:  # fmt: skip
    shape = template.badge.shape
    lang = words.langs.get("badge", words.lang)
    d = round(variant.badge.size * short)
    if shape == "timer":
        return _timer_slots(
            template, variant, words, families, unit, short, content, product, keepout, obstacles, gap
        )
    st = _font_style(template.text["badge"], template, families, unit, align="center")
    inner = round(d * (0.62 if shape != "rounded" else 0.8))
    block = None
    for _ in range(4):
        try:
            block = _badge_block(words.badge, (inner, round(inner * 0.8)), st, lang)
            break
        except TextDoesNotFit:
            d = round(d * 1.15)  # long badge text: a bigger badge before giving up
            inner = round(d * (0.62 if shape != "rounded" else 0.8))
    if block is None:
        raise _overflow(f"the badge text {words.badge!r} does not fit in its badge")
    spot = None
    for k in (1.0, 0.86, 0.74):  # a smaller badge before a smaller product
        blk = block if k == 1.0 else _scaled_block(words.badge, block, k, st, lang)
        if blk is None:
            break
        if shape == "rounded":
            bw, bh = max(round(d * k), blk.width + round(blk.size * 1.2)), blk.height + round(blk.size * 0.9)
        else:
            bw = bh = round(d * k)
        spot = _free_spot((bw, bh), variant.badge.attach, product, content, keepout, obstacles, gap)
        if spot is not None:
            block = blk
            break
    if spot is None:
        raise _overflow(f"no free place for the badge {words.badge!r} in {template.id}")
    bx, by = spot
    box = (bx, by, bw, bh)
    label = (bx + (bw - block.width) // 2, by + (bh - block.height) // 2, block.width, block.height)
    return [
        Slot("badge", "badge", box, role="badge_fill", extra={"shape": shape}),
        Slot("badge_label", "text", label, role="badge_text", text=words.badge, block=block, parent="badge"),
    ]


def _badge_block(text: str, box: tuple[int, int], style: TextStyle, lang: str) -> TextBlock:
    """One line at nearly full size reads better on a badge than two ("6.7折", not "6.7/折")."""
    one_line = replace(style, max_lines=1, min_size=max(style.min_size, round(style.max_size * 0.78)))
    try:
        return layout_text(text, box, one_line, lang=lang)
    except TextDoesNotFit:
        return layout_text(text, box, style, lang=lang)


def _scaled_block(text: str, block: TextBlock, k: float, style: TextStyle, lang: str) -> TextBlock | None:
    size = max(style.min_size, round(block.size * k))
    try:
        return layout_text(
            text,
            (round(block.width * k) + 2, round(block.height * k) + 2),
            replace(style, max_size=size),
            lang=lang,
        )
    except TextDoesNotFit:
        return None


def _timer_slots(
    template: Template, variant: Variant, words: Content, families: dict[str, str], unit: float,
    short: int, content: Box, product: Box, keepout: np.ndarray, obstacles: list[Box], gap: int,
) -> list[Slot]:  # fmt: skip
    """A countdown-style badge: a small caption over the value in a dark rounded box."""
    lang = words.langs.get("badge", words.lang)
    st = _font_style(template.text["badge"], template, families, unit, align="center", max_lines=1)
    cap_st = _font_style(
        template.text["badge_caption"], template, families, unit, align="center", max_lines=1
    )
    max_w = round(0.5 * content[2])
    block = layout_text(words.badge, (max_w, round(200 * unit)), st, lang=lang)
    caption = words.badge_caption
    cap = (
        layout_text(caption, (max_w, round(100 * unit)), cap_st, lang=words.langs.get("badge_caption", lang))
        if caption
        else None
    )
    pad_x, pad_y = round(block.size * 0.55), round(block.size * 0.42)
    inner_gap = round(block.size * 0.22) if cap else 0
    bw = max(block.width, cap.width if cap else 0) + 2 * pad_x
    bh = block.height + (cap.height + inner_gap if cap else 0) + 2 * pad_y
    spot = _free_spot((bw, bh), variant.badge.attach, product, content, keepout, obstacles, gap)
    if spot is None:
        raise _overflow(f"no free place for the badge {words.badge!r} in {template.id}")
    bx, by = spot
    slots = [
        Slot(
            "badge",
            "badge",
            (bx, by, bw, bh),
            role="badge_fill",
            extra={"shape": "timer", "radius": round(block.size * 0.3)},
        )
    ]
    y = by + pad_y
    if cap is not None:
        slots.append(
            Slot(
                "badge_caption",
                "text",
                (bx + (bw - cap.width) // 2, y, cap.width, cap.height),
                role="badge_caption",
                text=caption,
                block=cap,
                parent="badge",
            )
        )
        y += cap.height + inner_gap
    slots.append(
        Slot(
            "badge_label",
            "text",
            (bx + (bw - block.width) // 2, y, block.width, block.height),
            role="badge_text",
            text=words.badge,
            block=block,
            parent="badge",
        )
    )
    return slots


def _free_spot(
    size: tuple[int, int], attach: str, product: Box, content: Box, keepout: np.ndarray,
    obstacles: list[Box], gap: int,
) -> tuple[int, int] | None:  # fmt: skip
    """Top-left corner for a ``size`` box nearest to the product's ``attach`` point that
    stays inside the content box, off the dilated matte and clear of other elements."""
    bw, bh = size
    px, py, pw, ph = product
    ax = {"left": px, "right": px + pw}.get(attach.split("_")[-1], px + pw / 2)
    ay = py if attach.startswith("top") else py + ph if attach.startswith("bottom") else py + ph * 0.25
    if attach == "top":
        ax = px + pw / 2
    cx0, cy0, cw, chh = content
    step = max(4, round(min(bw, bh) * 0.12))
    best = None
    # rings of candidate centres around the attach point, nearest first
    for ring in range(0, 40):
        r = ring * step
        n = 1 if ring == 0 else max(8, int(2 * math.pi * r / step))
        for k in range(n):
            ang = 2 * math.pi * k / n
            x = round(ax + r * math.cos(ang) - bw / 2)
            y = round(ay - r * math.sin(ang) - bh / 2)
            if x < cx0 or y < cy0 or x + bw > cx0 + cw or y + bh > cy0 + chh:
                continue
            box = (x, y, bw, bh)
            if box_hits(keepout, box) or any(intersects(box, ob, gap // 2) for ob in obstacles):
                continue
            best = (x, y)
            break
        if best is not None:
            return best
    return None
