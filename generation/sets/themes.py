"""Studio themes: loading and validating the theme data in ``sets/themes/*.json``.

A theme is data, not code: one JSON file per theme describes the backdrop, the floor
surface and its material, an optional podium, the light, the shadows, the reflection,
the grain, where the product stands, how much a variant may drift, the variants' other
colour sets (``palettes``) and the set pieces standing round the product (``props``). Files are
validated on first use; a bad file fails loudly with its name and the offending field.

Colours are ``"#rrggbb"``, or ``"brand"`` for the scene's brand colour, optionally
lightened or darkened towards white/black: ``"brand+0.35"``, ``"brand-0.2"`` (the same
suffix works on hex colours).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generation.datafile import DataReader, LoadOnce, load_folder, parse_shifted_color, read_json
from generation.errors import GenerationError, InvalidSpec

THEME_DIR = Path(__file__).with_name("themes")

# Used by themes that refer to "brand" when the spec names no brand colour: a calm
# slate blue that sits well behind most products.
DEFAULT_BRAND_COLOR: tuple[int, int, int] = (70, 110, 160)

BACKDROP_KINDS = ("gradient", "bokeh", "window")
MATERIALS = ("plain", "marble", "wood", "concrete")
EDGES = ("sweep", "table")
PODIUM_SHAPES = ("cylinder", "box")
PROP_SHAPES = ("cylinder", "sphere", "box", "arch", "leaf")
PROP_PLACES = ("beside", "behind")
PROP_SIDES = ("auto", "other", "left", "right")
# width / height of each prop shape unless the theme says otherwise
PROP_ASPECT = {"cylinder": 0.55, "sphere": 1.0, "box": 0.9, "arch": 0.62, "leaf": 0.75}

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_COLOR = re.compile(r"^(?:#(?P<hex>[0-9a-fA-F]{6})|(?P<role>brand))(?P<shift>[+-](?:0|1)(?:\.\d+)?)?$")


class ThemeDataError(GenerationError):
    """A theme file is missing, malformed or has values outside what the engine draws."""

    code = "invalid_theme_data"


@dataclass(frozen=True)
class ColorRef:
    """A colour in theme data: fixed RGB or the brand colour, shifted towards white/black."""

    rgb: tuple[int, int, int] | None  # None means the scene's brand colour
    shift: float = 0.0  # >0 mixes towards white, <0 towards black (fraction 0..1)

    def resolve(self, brand: tuple[int, int, int]) -> tuple[float, float, float]:
        base = self.rgb if self.rgb is not None else brand
        if self.shift >= 0:
            return tuple(c + (255 - c) * self.shift for c in base)  # type: ignore[return-value]
        return tuple(c * (1 + self.shift) for c in base)  # type: ignore[return-value]

    @property
    def uses_brand(self) -> bool:
        return self.rgb is None


@dataclass(frozen=True)
class Glow:
    """A soft pool of light on the wall behind the product."""

    strength: float  # 0..1 brightening at the centre
    color: ColorRef
    x: float  # centre, canvas fractions
    y: float
    radius: float  # fraction of the canvas diagonal


@dataclass(frozen=True)
class Bokeh:
    """Out-of-focus light discs behind the product (festive, evening)."""

    count: int
    colors: tuple[ColorRef, ...]
    size: tuple[float, float]  # disc radius range, fraction of the shorter canvas side
    opacity: tuple[float, float]
    region: tuple[float, float]  # vertical band (canvas fractions) where disc centres fall
    blur: float  # extra blur of the far discs, fraction of the shorter side


@dataclass(frozen=True)
class WindowLight:
    """Sunlight through a paned window falling on the wall and the floor."""

    strength: float
    color: ColorRef
    panes: tuple[int, int]  # columns, rows
    x: float  # left edge of the light patch on the wall, canvas fraction
    y: float  # top edge
    width: float
    height: float
    skew: float  # horizontal shear of the patch (light comes in at an angle)
    softness: float  # blur, fraction of the shorter side
    leaves: float  # 0..1 dappled foliage breaking up the light


@dataclass(frozen=True)
class Arch:
    """A flat panel with a rounded top standing behind the product (podium sets)."""

    color: ColorRef
    width: float  # fraction of the canvas's shorter side (at least 1.15x the podium)
    height: float  # top of the arch above the horizon, fraction of the canvas height
    offset: float  # horizontal offset from the product centre, fraction of the width
    shadow: float  # strength of the soft shadow it throws on the wall


@dataclass(frozen=True)
class Backdrop:
    kind: str
    top: ColorRef
    bottom: ColorRef
    glow: Glow | None
    vignette: float
    texture: float  # amplitude of a faint plaster/paper mottling
    bokeh: Bokeh | None
    window: WindowLight | None
    arch: Arch | None


@dataclass(frozen=True)
class Surface:
    """The floor plane: from the horizon (where it meets the wall) to the canvas bottom."""

    material: str
    edge: str  # sweep: seamless cove into the wall; table: a visible back edge
    horizon: float  # canvas fraction, adjusted to the product so it stands on the floor
    colors: tuple[ColorRef, ...]
    scale: float  # texture scale, 1 = the material's natural size at the product base
    vanishing: float  # vanishing line above the horizon, as a fraction of the floor height
    depth_blur: float  # out-of-focus blur at the horizon, fraction of canvas height
    near_shade: float  # darkening towards the canvas bottom
    sweep_width: float  # sweep only: blend band, fraction of canvas height


@dataclass(frozen=True)
class Podium:
    shape: str
    material: str
    colors: tuple[ColorRef, ...]
    width: float  # diameter as a multiple of 0.55 * product height (at least 1.3x its width)
    height: float  # visible height as a multiple of the product height
    top_ratio: float  # ellipse minor/major ratio of the top face (camera height)


@dataclass(frozen=True)
class Light:
    azimuth: float  # degrees where the light comes from: 0 right, 90 camera, 180 left, 270 back
    elevation: float  # degrees above the floor
    softness: float  # 0 hard sun .. 1 big softbox: widens the cast shadow's penumbra
    color: ColorRef  # tints the whole set gently (warm sun, candle light)
    falloff: float  # brightness difference across the canvas towards the light side


@dataclass(frozen=True)
class ContactShadow:
    strength: float
    spread: float


@dataclass(frozen=True)
class CastShadow:
    strength: float
    fade: float  # how much lighter the tip is than the base
    length: float  # multiplier on the geometric length from the light's elevation


@dataclass(frozen=True)
class Reflection:
    strength: float
    length: float  # fraction of the product height
    blur: float  # fraction of the product height


@dataclass(frozen=True)
class Layout:
    anchor: tuple[float, float]  # x of the product centre, y of the floor contact (fractions)
    fill_scale: float  # multiplies SceneSpec.fill (room for a podium, airy themes)


@dataclass(frozen=True)
class Variation:
    """How far variant i may drift from the theme (seeded)."""

    hue: float  # degrees
    tone: float  # relative brightness
    light: float  # degrees of light azimuth
    anchor: float  # canvas fraction of horizontal product shift


@dataclass(frozen=True)
class Prop:
    """A set piece drawn beside or behind the product, never over its matte."""

    shape: str  # PROP_SHAPES
    color: ColorRef
    size: float  # height as a share of the product's height, within ``max_widths`` (props.prop_height)
    aspect: float  # width / height
    place: str  # beside: on the floor next to the product; behind: further back
    side: str  # auto: the freer side; other: the side the previous prop did not take
    gap: float  # space from the product (or its podium), share of the product's width
    max_widths: float = 3.0  # at most this many product widths tall (a thin product's props stay small)
    min_size: float = 0.25  # shrunk to fit beside a large product, never below this share of its height


@dataclass(frozen=True)
class Palette:
    """Another set of colours for the same set, for variants: ``None`` keeps the theme's."""

    top: ColorRef | None = None
    bottom: ColorRef | None = None
    glow: ColorRef | None = None
    arch: ColorRef | None = None
    surface: tuple[ColorRef, ...] | None = None
    podium: tuple[ColorRef, ...] | None = None

    def refs(self) -> list[ColorRef]:
        one = [c for c in (self.top, self.bottom, self.glow, self.arch) if c is not None]
        return one + list(self.surface or ()) + list(self.podium or ())


@dataclass(frozen=True)
class DiffusionControl:
    """How strongly the diffusion engine's ControlNets hold this set, and for how long.

    Scales multiply each ControlNet's residuals; ``control_end`` is the fraction of the
    denoising schedule they act for: the layout is fixed early, the model paints the
    set's texture and light freely afterwards.
    """

    canny_scale: float
    depth_scale: float
    control_end: float


@dataclass(frozen=True)
class Theme:
    name: str
    label: str
    description: str
    prompt: str  # a text description for prompt-driven engines
    brand_default: tuple[int, int, int]
    layout: Layout
    backdrop: Backdrop
    surface: Surface
    podium: Podium | None
    light: Light
    contact_shadow: ContactShadow
    cast_shadow: CastShadow | None
    reflection: Reflection | None
    grain: float
    light_wrap: float
    variation: Variation
    diffusion: DiffusionControl
    palettes: tuple[Palette, ...] = ()  # variants' colour sets besides the theme's own
    props: tuple[Prop, ...] = ()

    @property
    def uses_brand(self) -> bool:
        refs: list[ColorRef] = [self.backdrop.top, self.backdrop.bottom, *self.surface.colors]
        if self.backdrop.arch:
            refs.append(self.backdrop.arch.color)
        if self.podium:
            refs.extend(self.podium.colors)
        for palette in self.palettes:
            refs.extend(palette.refs())
        refs.extend(p.color for p in self.props)
        return any(r.uses_brand for r in refs)

    def with_palette(self, index: int) -> Theme:
        """The theme in colour set ``index``: 0 is its own, 1.. its ``palettes`` (wrapping)."""
        k = index % (len(self.palettes) + 1)
        if k == 0:
            return self
        p = self.palettes[k - 1]
        bd = self.backdrop
        glow = bd.glow
        if glow is not None and p.glow is not None:
            glow = replace(glow, color=p.glow)
        arch = bd.arch
        if arch is not None and p.arch is not None:
            arch = replace(arch, color=p.arch)
        backdrop = replace(bd, top=p.top or bd.top, bottom=p.bottom or bd.bottom, glow=glow, arch=arch)
        surface = replace(self.surface, colors=p.surface) if p.surface else self.surface
        podium = self.podium
        if podium is not None and p.podium:
            podium = replace(podium, colors=p.podium)
        return replace(self, backdrop=backdrop, surface=surface, podium=podium)


# ---------------------------------------------------------------------------
# Validation: a reader that knows where it is, so errors name file and field.


class _Reader(DataReader):
    error = ThemeDataError

    def color(self, key: str, default: Any = None) -> ColorRef:
        return _parse_color(self._required_value(key, default), self.path(key))

    def colors(self, key: str, n_min: int, n_max: int) -> tuple[ColorRef, ...]:
        value = self.value(key)
        if not isinstance(value, list) or not n_min <= len(value) <= n_max:
            raise ThemeDataError(
                f"{self.path(key)} must be a list of {n_min}..{n_max} colours, got {value!r}"
            )
        return tuple(_parse_color(v, f"{self.path(key)}[{i}]") for i, v in enumerate(value))


def _parse_color(value: Any, where: str) -> ColorRef:
    _, rgb, shift = parse_shifted_color(
        value, where, _COLOR, ThemeDataError, "'#rrggbb' or 'brand', optionally followed by +0.3 / -0.2"
    )
    return ColorRef(rgb, shift)  # no rgb: the brand colour


def _read_theme(data: Any, where: str) -> Theme:
    r = _Reader(data, where)
    name = r.text("name")
    if not _NAME.match(name):
        raise ThemeDataError(f"{where}.name must be lower_snake_case, got {name!r}")

    lay = r.section("layout")
    layout = Layout(anchor=lay.pair("anchor", 0.0, 1.0), fill_scale=lay.number("fill_scale", 0.3, 1.5, 1.0))
    lay.done()

    b = r.section("backdrop")
    kind = b.choice("kind", BACKDROP_KINDS, "gradient")
    glow = None
    if g := b.optional("glow"):
        glow = Glow(
            strength=g.number("strength", 0.0, 1.0),
            color=g.color("color", "#ffffff"),
            x=g.number("x", 0.0, 1.0, 0.5),
            y=g.number("y", 0.0, 1.0, 0.45),
            radius=g.number("radius", 0.05, 2.0, 0.5),
        )
        g.done()
    bokeh = None
    if bk := b.optional("bokeh"):
        bokeh = Bokeh(
            count=bk.integer("count", 1, 400),
            colors=bk.colors("colors", 1, 8),
            size=bk.pair("size", 0.002, 0.3),
            opacity=bk.pair("opacity", 0.0, 1.0),
            region=bk.pair("region", 0.0, 1.0, [0.0, 0.6]),
            blur=bk.number("blur", 0.0, 0.1, 0.01),
        )
        bk.done()
    window = None
    if w := b.optional("window"):
        window = WindowLight(
            strength=w.number("strength", 0.0, 1.5),
            color=w.color("color", "#fff4e0"),
            panes=tuple(int(v) for v in w.pair("panes", 1, 6, [2, 2])),  # type: ignore[arg-type]
            x=w.number("x", -0.5, 1.0),
            y=w.number("y", -0.5, 1.0),
            width=w.number("width", 0.05, 1.5),
            height=w.number("height", 0.05, 1.5),
            skew=w.number("skew", -2.0, 2.0, 0.0),
            softness=w.number("softness", 0.0, 0.2, 0.02),
            leaves=w.number("leaves", 0.0, 1.0, 0.0),
        )
        w.done()
    arch = None
    if a := b.optional("arch"):
        arch = Arch(
            color=a.color("color"),
            width=a.number("width", 0.05, 1.0),
            height=a.number("height", 0.05, 1.0),
            offset=a.number("offset", -0.5, 0.5, 0.0),
            shadow=a.number("shadow", 0.0, 1.0, 0.2),
        )
        a.done()
    if kind == "bokeh" and bokeh is None:
        raise ThemeDataError(f"{where}.backdrop: kind 'bokeh' needs a 'bokeh' section")
    if kind == "window" and window is None:
        raise ThemeDataError(f"{where}.backdrop: kind 'window' needs a 'window' section")
    backdrop = Backdrop(
        kind=kind,
        top=b.color("top"),
        bottom=b.color("bottom"),
        glow=glow,
        vignette=b.number("vignette", 0.0, 1.0, 0.0),
        texture=b.number("texture", 0.0, 0.2, 0.0),
        bokeh=bokeh,
        window=window,
        arch=arch,
    )
    b.done()

    s = r.section("surface")
    material = s.choice("material", MATERIALS)
    n_colors = {"plain": 1, "marble": 3, "wood": 3, "concrete": 2}[material]
    colors = s.colors("colors", n_colors, 6)
    surface = Surface(
        material=material,
        edge=s.choice("edge", EDGES, "table"),
        horizon=s.number("horizon", 0.2, 0.95),
        colors=colors,
        scale=s.number("scale", 0.1, 10.0, 1.0),
        vanishing=s.number("vanishing", 0.1, 5.0, 0.6),
        depth_blur=s.number("depth_blur", 0.0, 0.05, 0.006),
        near_shade=s.number("near_shade", 0.0, 0.8, 0.1),
        sweep_width=s.number("sweep_width", 0.0, 0.6, 0.2),
    )
    s.done()

    podium = None
    if p := r.optional("podium"):
        p_material = p.choice("material", MATERIALS, "plain")
        podium = Podium(
            shape=p.choice("shape", PODIUM_SHAPES, "cylinder"),
            material=p_material,
            colors=p.colors("colors", {"plain": 1, "marble": 3, "wood": 3, "concrete": 2}[p_material], 6),
            width=p.number("width", 0.5, 5.0, 1.8),
            height=p.number("height", 0.05, 1.5, 0.3),
            top_ratio=p.number("top_ratio", 0.03, 0.6, 0.16),
        )
        p.done()

    li = r.section("light")
    light = Light(
        azimuth=li.number("azimuth", -360.0, 360.0),
        elevation=li.number("elevation", 10.0, 89.0),
        softness=li.number("softness", 0.0, 1.0, 0.5),
        color=li.color("color", "#ffffff"),
        falloff=li.number("falloff", 0.0, 0.5, 0.06),
    )
    li.done()

    cs = r.section("contact_shadow")
    contact = ContactShadow(
        strength=cs.number("strength", 0.0, 1.0), spread=cs.number("spread", 0.005, 0.5, 0.05)
    )
    cs.done()

    cast = None
    if c := r.optional("cast_shadow"):
        cast = CastShadow(
            strength=c.number("strength", 0.0, 1.0),
            fade=c.number("fade", 0.0, 1.0, 0.6),
            length=c.number("length", 0.05, 3.0, 1.0),
        )
        c.done()

    refl = None
    if rf := r.optional("reflection"):
        refl = Reflection(
            strength=rf.number("strength", 0.0, 1.0),
            length=rf.number("length", 0.02, 1.0, 0.35),
            blur=rf.number("blur", 0.0, 0.1, 0.004),
        )
        rf.done()
    if refl and podium:
        raise ThemeDataError(f"{where}: a reflection on the floor cannot be seen through a podium")

    v = r.optional("variation")
    variation = Variation(0.0, 0.0, 0.0, 0.0)
    if v:
        variation = Variation(
            hue=v.number("hue", 0.0, 30.0, 0.0),
            tone=v.number("tone", 0.0, 0.2, 0.0),
            light=v.number("light", 0.0, 45.0, 0.0),
            anchor=v.number("anchor", 0.0, 0.2, 0.0),
        )
        v.done()

    d = r.optional("diffusion")
    diffusion = DiffusionControl(canny_scale=0.5, depth_scale=0.5, control_end=0.6)
    if d:
        diffusion = DiffusionControl(
            canny_scale=d.number("canny_scale", 0.0, 2.0, diffusion.canny_scale),
            depth_scale=d.number("depth_scale", 0.0, 2.0, diffusion.depth_scale),
            control_end=d.number("control_end", 0.05, 1.0, diffusion.control_end),
        )
        d.done()

    palettes = []
    items = r.value("palettes", [])
    if not isinstance(items, list) or len(items) > 8:
        raise ThemeDataError(f"{where}.palettes must be a list of at most 8 colour sets, got {items!r}")
    surf_n, pod_n = len(surface.colors), len(podium.colors) if podium else 0
    for i, item in enumerate(items):
        pr = _Reader(item, f"{where}.palettes[{i}]")
        one = {
            k: pr.color(k) if pr.value(k, None) is not None else None
            for k in ("top", "bottom", "glow", "arch")
        }
        if pr.value("podium", None) is not None and podium is None:
            raise ThemeDataError(f"{where}.palettes[{i}].podium: the theme has no podium")
        palette = Palette(
            **one,
            surface=pr.colors("surface", surf_n, surf_n) if pr.value("surface", None) is not None else None,
            podium=pr.colors("podium", pod_n, pod_n) if pr.value("podium", None) is not None else None,
        )
        pr.done()
        palettes.append(palette)

    props = []
    items = r.value("props", [])
    if not isinstance(items, list) or len(items) > 4:
        raise ThemeDataError(f"{where}.props must be a list of at most 4 props, got {items!r}")
    for i, item in enumerate(items):
        pr = _Reader(item, f"{where}.props[{i}]")
        shape = pr.choice("shape", PROP_SHAPES)
        props.append(
            Prop(
                shape=shape,
                color=pr.color("color"),
                size=pr.number("size", 0.05, 1.5),
                aspect=pr.number("aspect", 0.1, 5.0, PROP_ASPECT[shape]),
                place=pr.choice("place", PROP_PLACES, "beside"),
                side=pr.choice("side", PROP_SIDES, "auto"),
                gap=pr.number("gap", 0.0, 2.0, 0.12),
                max_widths=pr.number("max_widths", 0.5, 6.0, 3.0),
                min_size=pr.number("min_size", 0.05, 1.5, 0.25),
            )
        )
        pr.done()

    r_, g_, b_ = DEFAULT_BRAND_COLOR
    brand_ref = r.color("brand_default", f"#{r_:02x}{g_:02x}{b_:02x}")
    if brand_ref.rgb is None:
        raise ThemeDataError(f"{where}.brand_default must be a '#rrggbb' colour")
    brand_default = tuple(round(c) for c in brand_ref.resolve((0, 0, 0)))

    theme = Theme(
        name=name,
        label=r.text("label", name.replace("_", " ").capitalize()),
        description=r.text("description", ""),
        prompt=r.text("prompt", ""),
        brand_default=brand_default,  # type: ignore[arg-type]
        layout=layout,
        backdrop=backdrop,
        surface=surface,
        podium=podium,
        light=light,
        contact_shadow=contact,
        cast_shadow=cast,
        reflection=refl,
        grain=r.number("grain", 0.0, 0.1, 0.01),
        light_wrap=r.number("light_wrap", 0.0, 1.0, 0.0),
        variation=variation,
        diffusion=diffusion,
        palettes=tuple(palettes),
        props=tuple(props),
    )
    r.done()
    return theme


def load_theme_file(path: Path) -> Theme:
    """Read and validate one theme file; the file stem must equal the theme's name."""
    theme = _read_theme(read_json(path, ThemeDataError, "theme file"), path.stem)
    if theme.name != path.stem:
        raise ThemeDataError(f"{path.name}: name {theme.name!r} must match the file name")
    return theme


def load_themes(folder: Path = THEME_DIR) -> dict[str, Theme]:
    """Every ``*.json`` theme in ``folder``, validated, by name."""
    return load_folder(folder, load_theme_file, lambda theme: theme.name, ThemeDataError, "theme")


_all = LoadOnce(load_themes)


def list_themes() -> list[str]:
    """Names of the built-in themes, sorted."""
    return sorted(_all())


def get_theme(name: str) -> Theme:
    """The named theme; ``InvalidSpec`` naming the available themes if there is none."""
    themes = _all()
    theme = themes.get(name)
    if theme is None:
        raise InvalidSpec(f"unknown theme {name!r}; choose one of {', '.join(sorted(themes))}")
    return theme
