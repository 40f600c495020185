"""Poster templates as data: ``templates/*.json`` read into validated, frozen specs.

A template has one variant per aspect class (tall, portrait, square, landscape, wide);
a missing class falls back along ``ASPECT_FALLBACK`` (a tall canvas may use the
portrait variant, never a stretched landscape one). A variant places:

- the product: a region of the content box (the canvas minus margins and the size's
  UI safe zones), a fill and an anchor;
- text groups: regions whose edges refer to the content box, the canvas or the
  product box (``"product.left - 0.04"``), holding a column (or row) of items:
  eyebrow, headline, subline, price (with the struck compare-at price), CTA, rule;
- the badge (attached to a product corner), the logo (a content corner), the ribbon
  (tag, corner band, top band or eyebrow), and decorative shapes (brand panels,
  circles) drawn on the background.

Edge expressions: ``"content 0.45"`` (fraction of the content box along the axis),
``"canvas 0.5"`` (fraction of the canvas), ``"product.left - 0.04"`` (a product box
edge, ``left|right|top|bottom|cx|cy``, plus/minus a fraction of the canvas's shorter
side). Sizes in ``text`` styles are pixels at a 1080 px shorter side. Every file is
validated when first used and a bad one fails loudly naming the file and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generation.datafile import DataReader, LoadOnce, load_folder, parse_shifted_color, read_json
from generation.errors import InvalidSpec
from generation.posters.sizes import _ID, ASPECTS, PosterDataError

TEMPLATE_DIR = Path(__file__).parent / "templates"

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
SPREAD_ENDS = ("even", "around")
FIXES = ("plate", "scrim", "gradient")
FAMILY_NAMES = ("inter", "montserrat", "playfair", "noto_sans")

_COLOR = re.compile(
    r"^(?:#(?P<hex>[0-9a-fA-F]{6})|(?P<role>brand|secondary|text|ink|paper|on_brand|on_secondary))"
    r"(?P<shift>[+-](?:0|1)(?:\.\d+)?)?$"
)
_EDGE_FRACTION = re.compile(r"^(?P<ref>content|canvas)\s+(?P<value>-?\d+(?:\.\d+)?)$")
_EDGE_PRODUCT = re.compile(
    r"^product\.(?P<side>left|right|top|bottom|cx|cy)(?:\s*(?P<sign>[+-])\s*(?P<value>\d+(?:\.\d+)?))?$"
)


@dataclass(frozen=True)
class ColorSpec:
    """A colour in template data: a role of the brand kit or a hex, shifted to white/black."""

    role: str | None  # brand | secondary | text | ink | paper | on_brand | on_secondary
    rgb: tuple[int, int, int] | None
    shift: float = 0.0

    def source(self) -> str:
        if self.role:
            base = self.role
        else:
            assert self.rgb is not None, "a colour without a role has an rgb"
            base = "#{:02x}{:02x}{:02x}".format(*self.rgb)
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
    # top | middle | bottom | spread (columns: the offer at the bottom, the message half the
    # free height over it) | justify (the message at the top, the offer at the bottom)
    valign: str
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
    # the arrangement tried when words can only be set below the template's sizes here
    # (a wider text panel beside a narrower product): the variant's own keys, some replaced
    long_text: Variant | None = None
    # the headline's most lines here when not the template's: a canvas with the height for
    # one more line sets a long headline larger instead of smaller
    headline_lines: int | None = None
    # how spreading shares the free room along the long axis: ``even`` gives the two ends
    # (the margin counted) as much as each gap between blocks; ``around`` half as much, so
    # a wide banner's words and product reach across it instead of floating in its middle
    ends: str = "even"


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


def _variant(r: _Reader, aspect: str, defaults: dict[str, Any], *, nested: bool = False) -> Variant:
    # read before the long-text arrangement, which inherits it: an error names this key
    headline_lines = r.integer("headline_lines", 1, 8) if "headline_lines" in r.data else None
    long_text = None
    raw_long = r.value("long_text", None)
    if raw_long is not None:
        if nested or not isinstance(raw_long, dict):
            raise PosterDataError(f"{r.path('long_text')} must be an object of variant keys, not nested")
        merged = {k: v for k, v in r.data.items() if k != "long_text"} | raw_long
        long_text = _variant(_Reader(merged, r.path("long_text")), aspect, defaults, nested=True)
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
                valign=g.choice("valign", ("top", "middle", "bottom", "spread", "justify"), "middle"),
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
        long_text=long_text,
        headline_lines=headline_lines,
        ends=r.choice("ends", SPREAD_ENDS, "even"),
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
