"""One job request: every output's options, typed, ranged, named from the data files, priced.

A ``JobRequest`` is validated once where it comes in (API, dashboard form, CLI) and stored
as its ``model_dump()``; the worker validates the stored JSON again and builds the
renderers' specs from it, so a request that passes can run and anything else is refused
before it is stored, with the path of the field at fault (``InvalidRequest.field``, e.g.
``poster.sizes[0]``).

- Types are strict: ``"no"`` is not a boolean, ``1.5`` is not an integer, NaN and
  infinities are refused, and so is any key the model does not name.
- Themes, poster templates and sizes, and clip presets are enumerations read from the
  data files (``sets/themes/*.json``, ``posters/templates/*.json``, ``posters/sizes.json``,
  ``clips/presets.json``): a look added as data is a value the request accepts.
- ``cost()`` is the job's work in pixels x frames x count (a still counts ``STILL_WEIGHT``
  frames); ``parse_request`` refuses a job over the budget it is given.
- Options that need installed models (the ``rembg`` segmenter, diffusion scenes, clips
  with diffusion motion) pass only when the caller's ``Capabilities`` say the install
  can run them.
- No field names a file or a storage key: the brand logo is the merchant's own and is
  handed to ``output_requests`` by the caller.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, Literal

from PIL import Image
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from generation.clips.spec import (
    DIRECTIONS,
    MOTIONS,
    REVEALS,
    STYLES,
    TRANSITIONS,
    ClipSpec,
    preset_names,
    presets_data,
)
from generation.config import GenerationConfig
from generation.errors import InvalidSpec
from generation.pipelines import OUTPUT_KINDS, OutputRequest, PosterRerender
from generation.posters.sizes import _load_sizes, resolve_size
from generation.posters.spec import (
    BACKGROUND_MODES,
    FAMILIES,
    MAX_HEADLINE,
    MAX_SHORT,
    MAX_SUBLINE,
    BrandKit,
    PosterSpec,
)
from generation.posters.template import list_templates
from generation.sets import list_themes
from generation.specs import ENGINES, SEGMENTERS, VIEWS, PackshotSpec, SceneSpec
from generation.weights import local_source, models_dir

REQUEST_VERSION: Literal[1] = 1
IMAGE_FORMATS = ("png", "jpg", "webp")
MAX_POSTERS = 60  # templates x sizes x headlines in one job
MAX_PROMPT = 500
MAX_SEED = 2**32 - 1  # numpy's generators take 32-bit seeds
# A still image (packshot, scene, poster) is laid out, checked and encoded losslessly on its
# own; a clip frame is composited from layers rendered once. A still counts as this many
# frames of its size. Measured on two CPU cores, a still's pixel took about six times a clip
# frame's (posters, scenes and a packshot against a 5 s 1080x1080 clip), so with 4 a unit of
# cost is 40-70 ms of work whatever the output.
STILL_WEIGHT = 4

# Enumerations built at import from the data files and the library's own tuples; the type
# checker sees them as the plain strings they are.
if TYPE_CHECKING:
    ThemeName = str
    TemplateName = str
    PresetName = str
    OutputKind = str
    Segmenter = str
    Engine = str
    ImageFormat = str
    Family = str
    Background = str
    ClipStyle = str
    Transition = str
    Direction = str
    Motion = str
    Reveal = str
    View = str
else:
    ThemeName = Literal[tuple(list_themes())]
    TemplateName = Literal[tuple(list_templates())]
    PresetName = Literal[tuple(preset_names())]
    OutputKind = Literal[OUTPUT_KINDS]
    Segmenter = Literal[SEGMENTERS]
    Engine = Literal[ENGINES]
    ImageFormat = Literal[IMAGE_FORMATS]
    Family = Literal[FAMILIES]
    Background = Literal[BACKGROUND_MODES]
    ClipStyle = Literal[STYLES]
    Transition = Literal[TRANSITIONS]
    Direction = Literal[DIRECTIONS]
    Motion = Literal[MOTIONS]
    Reveal = Literal[REVEALS]
    View = Literal[VIEWS]

VIEW_HELP = "flat: a flat-lay, lying on the set's surface seen from above; auto: flat when the photo shows it"

_SIZE_TEXT = re.compile(r"^(-?\d{1,6})x(-?\d{1,6})$")
_PRICE = re.compile(r"^\d{1,12}(?:\.\d{1,4})?$")

Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
Channel = Annotated[int, Field(ge=0, le=255)]
RGB = Annotated[list[Channel], Field(min_length=3, max_length=3, description="[r, g, b], 0..255 each")]
HexColor = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#2f5d50"])]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", examples=["USD"])]
Locale = Annotated[
    str, Field(pattern=r"^[a-z]{2,3}(?:[_-][A-Za-z]{2,4})?(?:[_-][A-Za-z]{2})?$", examples=["en_US"])
]
Short = Annotated[str, Field(max_length=MAX_SHORT)]


def _price(value: Any) -> Any:
    """A price as the decimal text it is stored as; a JSON number is taken as written."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("price", "a price must be a finite number")
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, str):
        text = value.strip()
        if not _PRICE.match(text):
            raise PydanticCustomError(
                "price", "a price is a number like 199 or 19.99, got '{value}'", {"value": value[:40]}
            )
        return text
    return value  # the str type refuses it by name


Price = Annotated[
    str,
    BeforeValidator(_price),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": _PRICE.pattern}, {"type": "number", "minimum": 0}]},
        mode="validation",
    ),
]


def _poster_size(value: Any) -> Any:
    """A poster size as the text it is stored as: a preset name or alias, or ``WxH``."""
    if isinstance(value, list):
        if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise PydanticCustomError("poster_size", "a size given as a list is [width, height] in px")
        value = f"{value[0]:d}x{value[1]:d}"
    if not isinstance(value, str):
        raise PydanticCustomError("poster_size", "a size is a preset name, WxH or [width, height]")
    text = value.strip().lower()
    presets, aliases, lo, hi, _, _ = _load_sizes()
    match = _SIZE_TEXT.match(text)
    if match:
        w, h = int(match.group(1)), int(match.group(2))
        if not (lo <= w <= hi and lo <= h <= hi):
            raise PydanticCustomError(
                "poster_size",
                "a poster is {lo}..{hi} px per side, got {w}x{h}",
                {"lo": lo, "hi": hi, "w": w, "h": h},
            )
        return f"{w}x{h}"
    if text not in presets and text not in aliases:
        names = ", ".join(sorted([*presets, *aliases]))
        raise PydanticCustomError(
            "poster_size",
            "unknown poster size '{size}'; use WxH or one of {names}",
            {"size": value[:40], "names": names},
        )
    return text


def _size_schema() -> dict[str, Any]:
    presets, aliases, lo, hi, _, _ = _load_sizes()
    return {
        "anyOf": [
            {"type": "string", "enum": sorted([*presets, *aliases])},
            {
                "type": "string",
                "pattern": r"^\d{1,5}x\d{1,5}$",
                "description": f"WxH, {lo}..{hi} px per side",
            },
            {
                "type": "array",
                "items": {"type": "integer", "minimum": lo, "maximum": hi},
                "minItems": 2,
                "maxItems": 2,
            },
        ]
    }


PosterSize = Annotated[str, BeforeValidator(_poster_size), WithJsonSchema(_size_schema(), mode="validation")]


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class PackshotOptions(_Options):
    """Marketplace packshot: white, square, the product ``fill`` of the longer side."""

    size: int = Field(default=2000, ge=1600, le=8000, description="canvas side in px")
    fill: float = Field(default=0.85, ge=0.5, le=0.95)
    shadow: bool = True


class SceneOptions(_Options):
    """Scene images of the product in a studio theme (``engine: diffusion`` needs its models)."""

    theme: ThemeName = "studio_sweep"
    count: int = Field(default=1, ge=1, le=16)
    seed: Seed = 0
    width: int = Field(default=1600, ge=256, le=4096)
    height: int = Field(default=1600, ge=256, le=4096)
    engine: Engine = "studio"
    prompt: str = Field(
        default="", max_length=MAX_PROMPT, description="words added to the theme's (diffusion)"
    )
    negative_prompt: str = Field(default="", max_length=MAX_PROMPT)
    brand_color: RGB | None = None
    fill: float = Field(default=0.6, ge=0.1, le=0.95)
    view: View = Field(default="auto", description=VIEW_HELP)


class PosterOptions(_Options):
    """Posters: every template x size x headline (at most 60), with the words and prices."""

    templates: Annotated[list[TemplateName], Field(min_length=1, max_length=20), AfterValidator(_unique)] = [
        "hero_left"
    ]
    sizes: Annotated[list[PosterSize], Field(min_length=1, max_length=20), AfterValidator(_unique)] = ["feed"]
    headline: str = Field(default="", max_length=MAX_HEADLINE, description="used when headlines is empty")
    headlines: Annotated[
        list[Annotated[str, Field(max_length=MAX_HEADLINE)]], Field(max_length=10), AfterValidator(_unique)
    ] = []
    subline: str = Field(default="", max_length=MAX_SUBLINE)
    price: Price | None = None
    compare_at_price: Price | None = None
    currency: Currency = "USD"
    locale: Locale | None = None
    cta: Short | None = Field(default=None, description="None: the brand's default; '' for no button")
    ribbon: Short | None = None
    badge: Short | None = None
    theme: ThemeName | None = None
    background: Background | None = None
    seed: Seed = 0
    view: View = Field(default="auto", description=VIEW_HELP + " (a studio set built for the poster)")

    @model_validator(mode="after")
    def _one_headline_is_a_list_of_one(self) -> PosterOptions:
        if not self.headlines:
            object.__setattr__(self, "headlines", [self.headline])  # frozen; not marked as set
        return self

    @property
    def all_headlines(self) -> list[str]:
        return self.headlines or [self.headline]

    @property
    def count(self) -> int:
        return len(self.templates) * len(self.sizes) * len(self.all_headlines)


RERENDER_TEXTS = ("headline", "subline", "cta", "ribbon", "badge", "price", "compare_at_price")


class RerenderTexts(_Options):
    """The words of a poster made again: ``None`` (left out) keeps the poster's, ``""``
    removes a subline, call to action, ribbon or badge. Words that no longer fit shrink,
    rewrap or end in an ellipsis as on any poster."""

    headline: str | None = Field(default=None, max_length=MAX_HEADLINE)
    subline: str | None = Field(default=None, max_length=MAX_SUBLINE)
    cta: Short | None = None
    ribbon: Short | None = None
    badge: Short | None = None
    price: Price | None = None
    compare_at_price: Price | None = None

    def texts(self) -> dict[str, str]:
        """The words that change, as ``posters.render.rerender`` takes them."""
        return {name: getattr(self, name) for name in RERENDER_TEXTS if getattr(self, name) is not None}


class RerenderOptions(RerenderTexts):
    """One poster made again from its stored layout: same template, background and product,
    with some words and/or the size changed. The source is named by its asset id only; whoever
    runs the job reads its layout JSON (and the scene it was made on) for that asset."""

    asset_id: int = Field(ge=1, le=2**63 - 1, description="the poster asset to make again")
    size: PosterSize | None = Field(default=None, description="None: the poster's own size")


class ClipOptions(_Options):
    """A product clip: platform preset, length, camera, scenes and the words on it."""

    preset: PresetName = "story"
    duration: float = Field(
        default=float(presets_data()["duration_s"]["default"]),
        ge=presets_data()["duration_s"]["min"],
        le=presets_data()["duration_s"]["max"],
        description="seconds",
    )
    style: ClipStyle = "push_in"
    themes: Annotated[
        list[ThemeName], Field(min_length=1, max_length=presets_data()["styles"]["sequence"]["max_scenes"])
    ] = ["studio_sweep"]
    seed: Seed = 0
    size: (
        Annotated[
            list[
                Annotated[
                    int,
                    Field(
                        ge=presets_data()["size_px"]["min"],
                        le=presets_data()["size_px"]["max"],
                        multiple_of=2,
                    ),
                ]
            ],
            Field(min_length=2, max_length=2, description="[width, height] instead of the preset's"),
        ]
        | None
    ) = None
    direction: Direction = "right"
    transition: Transition = "crossfade"
    headline: str = Field(default="", max_length=80)
    price: Price | None = None
    compare_at_price: Price | None = Field(
        default=None, description="the price before a discount: struck through on the end card"
    )
    currency: Currency = "USD"
    locale: Locale = "en_US"
    cta: str = Field(default="", max_length=32)
    end_card: bool | None = Field(
        default=None,
        description="product, price and CTA closing the clip; None: on when there is a price or CTA",
    )
    brand_color: RGB | None = None
    fill: float = Field(default=0.5, ge=0.2, le=0.8)
    motion: Motion = Field(default="camera", description="diffusion: background motion from a video model")
    reveal: Reveal = Field(
        default="drop_in",
        description="how the clip opens, over its first beat: drop_in (the product drops onto its set; "
        "a flat-lay, seen from above, settles onto its surface from a little larger), "
        "fade (the set fades in around the product), none (it opens on the finished shot)",
    )
    webm: bool = False
    preview: bool = False
    poster: bool = True
    view: View = Field(default="auto", description=VIEW_HELP + " (a studio set built for the clip)")
    audio: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="the id of one of the merchant's audio tracks: faded, looped or cut to the clip, AAC",
    )

    @property
    def frame_size(self) -> tuple[int, int]:
        if self.size is not None:
            return (self.size[0], self.size[1])
        preset = presets_data()["presets"][self.preset]
        return (int(preset["width"]), int(preset["height"]))

    @property
    def frames(self) -> int:
        return round(self.duration * int(presets_data()["fps"]))


class BrandOptions(_Options):
    """Brand colours, typefaces and defaults; the logo is always the merchant's own."""

    primary: HexColor = "#2f5d50"
    secondary: HexColor | None = None
    text: HexColor = "#1b1b1f"
    heading_family: Family | None = None
    body_family: Family | None = None
    default_cta: Short | None = None
    locale: Locale | None = Field(
        default=None, description="None: each poster's words and currency decide (Chinese words -> zh_CN...)"
    )


class JobParameters(_Options):
    """Everything a job is asked for except the list of outputs."""

    version: Literal[1] = REQUEST_VERSION
    segmenter: Segmenter = "auto"
    format: ImageFormat = Field(
        default="png", description="packshots, scenes and posters; cutouts are always PNG"
    )
    packshot: PackshotOptions | None = None
    scene: SceneOptions | None = None
    poster: PosterOptions | None = None
    clip: ClipOptions | None = None
    brand: BrandOptions | None = None
    rerender: RerenderOptions | None = Field(
        default=None, description="the poster output is this poster made again (outputs: [poster] only)"
    )


class JobRequest(JobParameters):
    """A whole job: the outputs and the options of each (see the module docstring)."""

    outputs: Annotated[
        list[OutputKind], Field(min_length=1, max_length=len(OUTPUT_KINDS)), AfterValidator(_unique)
    ]

    def cost(self) -> int:
        """Pixels x frames x count summed over the outputs (a still is ``STILL_WEIGHT`` frames).

        A cutout is the photo itself, bounded by the upload limits, and costs nothing here.
        """
        total = 0
        if "packshot" in self.outputs:
            side = (self.packshot or PackshotOptions()).size
            total += side * side * STILL_WEIGHT
        if "scene" in self.outputs:
            scene = self.scene or SceneOptions()
            total += scene.width * scene.height * scene.count * STILL_WEIGHT
        if "poster" in self.outputs and self.rerender is not None:
            # the source's size when none is given: the service fills it in before it prices
            size = resolve_size(self.rerender.size or "feed")
            total += size.width * size.height * STILL_WEIGHT
        elif "poster" in self.outputs:
            poster = self.poster or PosterOptions()
            per_size = sum(resolve_size(size).width * resolve_size(size).height for size in poster.sizes)
            total += per_size * len(poster.templates) * len(poster.all_headlines) * STILL_WEIGHT
        if "clip" in self.outputs:
            clip = self.clip or ClipOptions()
            w, h = clip.frame_size
            encodes = 2 if clip.webm else 1  # the WebM is a second full encode
            total += w * h * clip.frames * encodes
        return total

    def stored(self) -> dict[str, Any]:
        """The job row's ``parameters``: every option of every output, defaults filled in."""
        return self.model_dump(mode="json", exclude={"outputs"})

    # -- the renderers' specs -------------------------------------------------------------

    def packshot_spec(self) -> PackshotSpec:
        o = self.packshot or PackshotOptions()
        return PackshotSpec(size=o.size, fill=o.fill, shadow=o.shadow)

    def scene_spec(self) -> SceneSpec:
        o = self.scene or SceneOptions()
        return SceneSpec(
            theme=o.theme,
            count=o.count,
            seed=o.seed,
            width=o.width,
            height=o.height,
            engine=o.engine,
            prompt=o.prompt,
            negative_prompt=o.negative_prompt,
            brand_color=_rgb(o.brand_color),
            fill=o.fill,
            view=o.view,
        )

    def brand_kit(self, logo: Image.Image | None = None) -> BrandKit:
        o = self.brand or BrandOptions()
        return BrandKit(
            logo=logo,
            primary=o.primary,  # type: ignore[arg-type]  # BrandKit parses hex text
            secondary=o.secondary,  # type: ignore[arg-type]
            text=o.text,  # type: ignore[arg-type]
            heading_family=o.heading_family,
            body_family=o.body_family,
            default_cta=o.default_cta,
            locale=o.locale,
        )

    def poster_specs(self, logo: Image.Image | None = None) -> tuple[PosterSpec, ...]:
        o = self.poster or PosterOptions()
        brand = self.brand_kit(logo)
        return tuple(
            PosterSpec(
                template=template,
                size=size,
                headline=headline,
                subline=o.subline,
                price=Decimal(o.price) if o.price is not None else None,
                compare_at_price=Decimal(o.compare_at_price) if o.compare_at_price is not None else None,
                currency=o.currency,
                locale=o.locale,
                cta=o.cta,
                ribbon=o.ribbon,
                badge=o.badge,
                brand=brand,
                theme=o.theme,
                background=o.background,
                seed=o.seed,
                output_format=self.format,
                view=o.view,
            )
            for template in o.templates
            for size in o.sizes
            for headline in o.all_headlines
        )

    def clip_spec(self) -> ClipSpec:
        o = self.clip or ClipOptions()
        return ClipSpec(
            preset=o.preset,
            duration=o.duration,
            style=o.style,
            themes=tuple(o.themes),
            seed=o.seed,
            size=(o.size[0], o.size[1]) if o.size else None,
            direction=o.direction,
            transition=o.transition,
            headline=o.headline,
            price=o.price,
            compare_at=o.compare_at_price,
            currency=o.currency.upper(),
            locale=o.locale,
            cta=o.cta,
            end_card=o.end_card,
            brand_color=_rgb(o.brand_color),
            fill=o.fill,
            motion=o.motion,
            reveal=o.reveal,
            webm=o.webm,
            preview=o.preview,
            poster=o.poster,
            view=o.view,
        )

    def output_requests(
        self, logo: Image.Image | None = None, *, rerender: PosterRerender | None = None
    ) -> list[OutputRequest]:
        """What ``generation.pipelines.run_outputs`` takes, in the order of ``outputs``.

        A re-render needs ``rerender``: the source's layout (and scene) that the caller read
        for the asset the request names, with this request's words and size.
        """
        made: list[OutputRequest] = []
        for kind in self.outputs:
            if kind == "packshot":
                made.append(OutputRequest("packshot", packshot=self.packshot_spec()))
            elif kind == "scene":
                made.append(OutputRequest("scene", scene=self.scene_spec()))
            elif kind == "poster" and self.rerender is not None:
                if rerender is None:
                    raise InvalidSpec("a re-render needs the layout of the poster it makes again")
                made.append(OutputRequest("poster", rerender=rerender))
            elif kind == "poster":
                made.append(OutputRequest("poster", posters=self.poster_specs(logo)))
            elif kind == "clip":
                made.append(OutputRequest("clip", clip=self.clip_spec()))
            else:
                made.append(OutputRequest(kind))
        return made

    def expected_outputs(self) -> tuple[ExpectedOutput, ...]:
        """Every output this request makes, named as its asset will be, in the order of
        ``outputs`` (what a job's page shows in their places while they are made).

        Scenes are ``scene-<theme>-NN``, posters ``poster-<template>-<size>`` for each
        template and size with ``-NN`` for a second headline's, the clip
        ``clip-<style>-<preset>``, as ``generation.pipelines.run_outputs`` names them.
        """
        expected: list[ExpectedOutput] = []
        for kind in self.outputs:
            if kind == "packshot":
                side = (self.packshot or PackshotOptions()).size
                expected.append(ExpectedOutput("packshot", "packshot", side, side, self.format))
            elif kind == "scene":
                scene = self.scene or SceneOptions()
                expected += [
                    ExpectedOutput(
                        "scene", f"scene-{scene.theme}-{i + 1:02d}", scene.width, scene.height, self.format
                    )
                    for i in range(scene.count)
                ]
            elif kind == "poster" and self.rerender is not None:
                size = resolve_size(self.rerender.size) if self.rerender.size is not None else None
                width, height = (size.width, size.height) if size else (0, 0)
                expected.append(
                    ExpectedOutput("poster", "", width, height, self.format, size=size.name if size else "")
                )
            elif kind == "poster":
                poster = self.poster or PosterOptions()
                for template in poster.templates:
                    for size_text in poster.sizes:
                        size = resolve_size(size_text)
                        for i in range(len(poster.all_headlines)):
                            name = f"poster-{template}-{size.name}" + (f"-{i + 1:02d}" if i else "")
                            expected.append(
                                ExpectedOutput(
                                    "poster", name, size.width, size.height, self.format, template, size.name
                                )
                            )
            elif kind == "clip":
                clip = self.clip or ClipOptions()
                width, height = clip.frame_size
                expected.append(
                    ExpectedOutput("clip", f"clip-{clip.style}-{clip.preset}", width, height, "mp4")
                )
            else:
                expected.append(ExpectedOutput(kind, kind, fmt="png"))  # a cutout keeps its transparency
        return tuple(expected)


@dataclass(frozen=True)
class ExpectedOutput:
    """One output a request makes, known before it runs: its asset's ``kind`` and ``name``,
    its size in px where the request says it (0 where it does not: a cutout is the photo's
    size, a re-render keeps its source's), its file's format, and a poster's ``template`` and
    ``size`` (the preset's name or ``WxH``, as the poster's asset records it)."""

    kind: str
    name: str  # "" for a re-render: its source's template names it
    width: int = 0
    height: int = 0
    fmt: str = "png"
    template: str = ""
    size: str = ""


def _rgb(value: list[int] | None) -> tuple[int, int, int] | None:
    return (value[0], value[1], value[2]) if value is not None else None


# --- what the install can run ---------------------------------------------------------------


@dataclass(frozen=True)
class Capabilities:
    """The options that need installed models, and whether this install has them."""

    segmenters: frozenset[str] = frozenset({"auto", "alpha", "classical"})
    scene_diffusion: bool = False
    clip_diffusion: bool = False

    @classmethod
    def everything(cls) -> Capabilities:
        """For callers that find out at run time (the CLI: a missing model fails naming its
        install command before any work)."""
        return cls(segmenters=frozenset(SEGMENTERS), scene_diffusion=True, clip_diffusion=True)


def installed_capabilities(config: GenerationConfig) -> Capabilities:
    """What ``config``'s models folder holds (file and folder checks only; nothing loaded)."""
    from generation.segment import available_segmenters  # the rembg registry reads its files lazily

    root = models_dir(config.models_dir)
    if config.diffusion_family == "sd15":
        scene_models = (config.sd15_inpaint_model, config.sd15_controlnet_canny)
    else:
        scene_models = (config.sdxl_inpaint_model, config.sdxl_controlnet_canny)
    return Capabilities(
        segmenters=frozenset(available_segmenters(config)),
        scene_diffusion=all(local_source(m, root) is not None for m in scene_models),
        clip_diffusion=local_source(config.clip_motion_model, root) is not None,
    )


# --- validation at the door -------------------------------------------------------------------


class InvalidRequest(InvalidSpec):
    """The request is not something a job can do. ``field`` is the path of the value at
    fault (``poster.sizes[0]``), ``""`` for the request as a whole."""

    code = "invalid_request"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.detail = message


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("poster", "sizes", 0)`` as ``poster.sizes[0]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def first_error(exc: ValidationError, strip: int = 0) -> InvalidRequest:
    """The first problem pydantic found, with its field path (``strip`` leading loc parts dropped)."""
    error = exc.errors(include_url=False)[0]
    loc = tuple(error["loc"])[strip:]
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown option; the request names no such field"
    elif error["type"] in ("literal_error", "enum") and error.get("ctx", {}).get("expected"):
        given = error.get("input")
        named = (
            f"{given!r} is not one of" if isinstance(given, str) and len(given) <= 40 else "must be one of"
        )
        message = f"{named} {error['ctx']['expected']}"
    return InvalidRequest(message, field_path(loc))


def parse_request(
    data: Mapping[str, Any] | Any,
    *,
    capabilities: Capabilities,
    budget: int,
) -> JobRequest:
    """``data`` (decoded JSON) as a ``JobRequest`` that can run; ``InvalidRequest`` otherwise.

    ``budget`` is the most ``cost()`` one job may have; ``capabilities`` what this install runs.
    """
    # 1. types, ranges and names
    if not isinstance(data, Mapping):
        raise InvalidRequest("a job request is a JSON object")
    try:
        request = JobRequest.model_validate(dict(data))
    except ValidationError as exc:
        raise first_error(exc) from None

    # 2. options that belong together
    for section in ("packshot", "scene", "poster", "clip"):
        if getattr(request, section) is not None and section not in request.outputs:
            raise InvalidRequest(
                f"{section} options were given but {section} is not among the outputs", section
            )
    if request.rerender is not None:
        _check_rerender(request)
    filled = {
        kind: getattr(request, kind) or default()
        for kind, default in (
            ("packshot", PackshotOptions),
            ("scene", SceneOptions),
            ("poster", PosterOptions),
            ("clip", ClipOptions),
        )
        if kind in request.outputs and not (kind == "poster" and request.rerender is not None)
    }
    request = request.model_copy(update={**filled, "brand": request.brand or BrandOptions()})
    if request.poster is not None:
        _check_poster(request.poster)
    if request.clip is not None:
        _check_clip(request.clip)
    if request.poster is not None and request.poster.background == "scene" and "scene" not in request.outputs:
        raise InvalidRequest("a poster on a scene needs a scene output in the same job", "poster.background")

    # 3. what this install can run
    if request.segmenter not in capabilities.segmenters:
        raise InvalidRequest(
            f"the {request.segmenter} segmenter needs a model this install does not have "
            "(python -m generation models pull)",
            "segmenter",
        )
    if request.scene is not None and request.scene.engine == "diffusion" and not capabilities.scene_diffusion:
        raise InvalidRequest(
            "the diffusion engine's models are not installed here; use the studio engine", "scene.engine"
        )
    if request.clip is not None and request.clip.motion == "diffusion" and not capabilities.clip_diffusion:
        raise InvalidRequest(
            "diffusion motion needs a video model this install does not have; use camera motion",
            "clip.motion",
        )

    # 4. what it costs
    cost = request.cost()
    if cost > budget:
        raise InvalidRequest(
            f"this job would render {cost / 1e6:,.0f} million pixel-frames; one job may render at most "
            f"{budget / 1e6:,.0f} million (fewer or smaller outputs, or a shorter clip)",
            _costliest(request),
        )
    # 5. the renderers' own checks (compare-at without a price, logo-free brand kit...); a
    # re-render's words are checked against its source when the job runs
    if request.rerender is None:
        try:
            request.output_requests()
        except InvalidSpec as exc:
            raise InvalidRequest(str(exc)) from None
    return request


def _check_rerender(request: JobRequest) -> None:
    if request.outputs != ["poster"]:
        raise InvalidRequest('a re-render is a job of its own: outputs must be ["poster"]', "outputs")
    if request.poster is not None:
        raise InvalidRequest(
            "a re-render takes its template, size and words from the source poster and the "
            "rerender options; leave the poster options out",
            "poster",
        )


def _check_poster(poster: PosterOptions) -> None:
    if poster.count > MAX_POSTERS:
        raise InvalidRequest(
            f"that is {poster.count} posters (templates x sizes x headlines); one job makes at most {MAX_POSTERS}",
            "poster",
        )
    if poster.compare_at_price is not None and poster.price is None:
        raise InvalidRequest("a compare-at price needs a price to compare with", "poster.compare_at_price")
    for name in ("price", "compare_at_price"):
        value = getattr(poster, name)
        if value is not None:
            try:
                Decimal(value)
            except InvalidOperation:
                raise InvalidRequest("not a number", f"poster.{name}") from None


def _check_clip(clip: ClipOptions) -> None:
    max_scenes = presets_data()["styles"]["sequence"]["max_scenes"]
    if clip.style != "sequence" and len(clip.themes) > 1:
        raise InvalidRequest(
            f"{len(clip.themes)} themes were given but style {clip.style!r} shows one scene; "
            "use style 'sequence' to join several",
            "clip.themes",
        )
    if len(clip.themes) > max_scenes:
        raise InvalidRequest(f"a sequence joins at most {max_scenes} scenes", "clip.themes")
    if clip.motion == "diffusion" and clip.style == "sequence":
        raise InvalidRequest(
            "diffusion motion animates one scene; choose a single-scene style", "clip.motion"
        )
    if clip.compare_at_price is not None and clip.price is None:
        raise InvalidRequest("a compare-at price needs a price to compare with", "clip.compare_at_price")


def _costliest(request: JobRequest) -> str:
    """The output that costs most: where the fix is."""
    costs = {
        kind: JobRequest(outputs=[kind], **{kind: getattr(request, kind)}).cost()
        for kind in request.outputs
        if kind != "cutout"
    }
    return max(costs, key=lambda k: costs[k]) if costs else ""


def budget_from(config: GenerationConfig) -> int:
    """The per-job budget in pixel-frames that ``config`` sets."""
    return config.job_budget_mpx * 1_000_000
