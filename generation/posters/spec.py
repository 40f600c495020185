"""What a merchant asks for when they ask for a poster: frozen, validated specs.

``PosterSpec`` names a template and a size and carries the words and prices;
``BrandKit`` carries the merchant's logo, colours, typefaces and defaults. Both are
plain data: the renderer never reads settings, and ``to_dict``/``from_dict`` round-trip
them through the layout JSON so a poster can be re-rendered later.
"""

from __future__ import annotations

import base64
import colorsys
import io
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from PIL import Image

from generation.errors import InvalidSpec
from generation.posters.sizes import check_custom_size
from generation.specs import VIEWS
from generation.typography.money import locale_for_words

RGB = tuple[int, int, int]

OUTPUT_FORMATS = ("png", "jpg", "jpeg", "webp")
BACKGROUND_MODES = ("scene", "theme", "brand", "white")
FAMILIES = ("inter", "montserrat", "playfair", "noto_sans")
MAX_HEADLINE = 160
MAX_SUBLINE = 320
MAX_SHORT = 60  # CTA, ribbon, badge
MAX_PRICE = Decimal("1e12")

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
_LOCALE = re.compile(r"^[a-z]{2,3}(?:[_-][A-Za-z]{2,4})?(?:[_-][A-Za-z]{2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def parse_hex(value: str | RGB, what: str = "colour") -> RGB:
    """``"#2f5d50"`` (or three ints) as an RGB tuple; ``InvalidSpec`` naming ``what``."""
    if isinstance(value, (tuple, list)):
        if len(value) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in value):
            return (int(value[0]), int(value[1]), int(value[2]))
        raise InvalidSpec(f"{what} must be three integers 0..255, got {value!r}")
    m = _HEX.match(str(value).strip())
    if not m:
        raise InvalidSpec(f"{what} must be a hex colour like #2f5d50, got {value!r}")
    h = m.group(1)
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def to_hex(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# Accents that sit well beside a primary colour, by the primary's hue family. Picked by
# eye: deep greens and teals take gold, blues take amber, reds take a warm cream...
_ACCENTS: tuple[tuple[float, float, RGB], ...] = (
    (0, 20, (255, 209, 102)),  # red -> warm gold
    (20, 50, (29, 53, 87)),  # orange -> deep navy
    (50, 90, (29, 53, 87)),  # yellow/lime -> deep navy
    (90, 200, (242, 178, 51)),  # green/teal -> gold
    (200, 265, (255, 159, 28)),  # blue -> amber
    (265, 330, (255, 200, 87)),  # purple/magenta -> yellow gold
    (330, 361, (255, 209, 102)),  # pink/red -> warm gold
)


def derive_secondary(primary: RGB) -> RGB:
    """An accent colour that harmonises with ``primary`` (badges, prices, ribbons)."""
    r, g, b = (c / 255.0 for c in primary)
    hue, light, sat = colorsys.rgb_to_hls(r, g, b)
    if sat < 0.15:  # black, grey, white brands: gold on dark, signal red on light
        return (201, 162, 39) if light < 0.5 else (230, 57, 70)
    deg = hue * 360.0
    for lo, hi, accent in _ACCENTS:
        if lo <= deg < hi:
            return accent
    return (242, 178, 51)


@dataclass(frozen=True)
class BrandKit:
    """The merchant's brand: logo, colours, typefaces and defaults for every poster.

    ``secondary`` defaults to an accent derived from ``primary``; ``heading_family`` and
    ``body_family`` default to the template's own choice.
    """

    logo: Image.Image | None = field(default=None, compare=False, repr=False)
    primary: RGB = (47, 93, 80)
    secondary: RGB | None = None
    text: RGB = (27, 27, 31)
    heading_family: str | None = None
    body_family: str | None = None
    default_cta: str | None = None
    locale: str | None = None  # None: each poster's words and currency decide

    def __post_init__(self) -> None:
        object.__setattr__(self, "primary", parse_hex(self.primary, "brand primary colour"))
        if self.secondary is not None:
            object.__setattr__(self, "secondary", parse_hex(self.secondary, "brand secondary colour"))
        object.__setattr__(self, "text", parse_hex(self.text, "brand text colour"))
        for name in ("heading_family", "body_family"):
            value = getattr(self, name)
            if value is not None and value not in FAMILIES:
                raise InvalidSpec(f"brand {name} must be one of {', '.join(FAMILIES)}, got {value!r}")
        if self.logo is not None and not isinstance(self.logo, Image.Image):
            raise InvalidSpec("the brand logo must be an image")
        if self.logo is not None and (self.logo.width < 8 or self.logo.height < 8):
            raise InvalidSpec("the brand logo is smaller than 8 x 8 px")
        if self.locale is not None:
            _check_locale(self.locale)
        if self.default_cta is not None:
            _check_short(self.default_cta, "default CTA")

    @property
    def accent(self) -> RGB:
        return self.secondary if self.secondary is not None else derive_secondary(self.primary)

    def to_dict(self) -> dict[str, Any]:
        return {
            "logo": _image_to_data_uri(self.logo) if self.logo is not None else None,
            "primary": to_hex(self.primary),
            "secondary": to_hex(self.secondary) if self.secondary is not None else None,
            "text": to_hex(self.text),
            "heading_family": self.heading_family,
            "body_family": self.body_family,
            "default_cta": self.default_cta,
            "locale": self.locale,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BrandKit:
        logo = data.get("logo")
        return cls(
            logo=_image_from_data_uri(logo) if logo else None,
            primary=parse_hex(data["primary"]),
            secondary=parse_hex(data["secondary"]) if data.get("secondary") else None,
            text=parse_hex(data["text"]),
            heading_family=data.get("heading_family"),
            body_family=data.get("body_family"),
            default_cta=data.get("default_cta"),
            locale=data.get("locale"),
        )


@dataclass(frozen=True)
class PosterSpec:
    """One poster: template, size, words, prices, brand and background choices.

    ``size`` is a preset name (``feed``, ``story``...) or ``(width, height)`` in px
    (200..4096 each side). ``cta``/``ribbon``/``badge``: ``None`` takes the default
    (brand or template; the badge defaults to the discount when there is a compare-at
    price), ``""`` turns the element off. ``theme`` picks the studio theme; naming one
    on a template whose background is ``brand`` or ``white`` switches it to ``theme``
    unless ``background`` says otherwise. ``locale`` defaults to the brand's, and without
    one to what the words and currency suggest (``locale_for_words``).
    """

    template: str = "hero_left"
    size: str | tuple[int, int] = "feed"
    headline: str = ""
    subline: str = ""
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    currency: str = "USD"
    locale: str | None = None
    cta: str | None = None
    ribbon: str | None = None
    badge: str | None = None
    brand: BrandKit = field(default_factory=BrandKit)
    theme: str | None = None
    background: str | None = None
    seed: int = 0
    output_format: str = "png"
    # how a studio set built for the poster lays the product: as ``SceneSpec.view``
    view: str = "auto"

    def __post_init__(self) -> None:
        if not isinstance(self.template, str) or not self.template:
            raise InvalidSpec("name a poster template, e.g. hero_left")
        object.__setattr__(self, "size", _check_size(self.size))
        for name, limit in (("headline", MAX_HEADLINE), ("subline", MAX_SUBLINE)):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InvalidSpec(f"the {name} must be text")
            if len(value) > limit:
                raise InvalidSpec(f"the {name} is {len(value)} characters; keep it to {limit}")
            object.__setattr__(self, name, value.strip())
        for name in ("cta", "ribbon", "badge"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _check_short(value, name).strip())
        object.__setattr__(self, "price", _check_price(self.price, "price"))
        object.__setattr__(self, "compare_at_price", _check_price(self.compare_at_price, "compare-at price"))
        if self.compare_at_price is not None and self.price is None:
            raise InvalidSpec("a compare-at price needs a price to compare with")
        if not isinstance(self.currency, str) or not _CURRENCY.match(self.currency.upper()):
            raise InvalidSpec(f"currency must be a 3-letter ISO code like USD or CNY, got {self.currency!r}")
        object.__setattr__(self, "currency", self.currency.upper())
        if self.locale is not None:
            _check_locale(self.locale)
        if not isinstance(self.brand, BrandKit):
            raise InvalidSpec("brand must be a BrandKit")
        if self.background is not None and self.background not in BACKGROUND_MODES:
            raise InvalidSpec(
                f"background must be one of {', '.join(BACKGROUND_MODES)}, got {self.background!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidSpec(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.view not in VIEWS:
            raise InvalidSpec(f"poster view must be one of {', '.join(VIEWS)}, got {self.view!r}")
        fmt = str(self.output_format).lower()
        if fmt not in OUTPUT_FORMATS:
            raise InvalidSpec(f"output format must be png, jpg or webp, got {self.output_format!r}")
        object.__setattr__(self, "output_format", "jpg" if fmt == "jpeg" else fmt)

    @property
    def effective_locale(self) -> str:
        given = self.locale or self.brand.locale
        if given:
            return given
        words = (self.headline, self.subline, self.cta or "", self.ribbon or "", self.badge or "")
        return locale_for_words(words, self.currency)

    @property
    def size_name(self) -> str:
        return self.size if isinstance(self.size, str) else f"{self.size[0]}x{self.size[1]}"

    def with_changes(self, **changes: Any) -> PosterSpec:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "size": self.size if isinstance(self.size, str) else list(self.size),
            "headline": self.headline,
            "subline": self.subline,
            "price": str(self.price) if self.price is not None else None,
            "compare_at_price": str(self.compare_at_price) if self.compare_at_price is not None else None,
            "currency": self.currency,
            "locale": self.locale,
            "cta": self.cta,
            "ribbon": self.ribbon,
            "badge": self.badge,
            "brand": self.brand.to_dict(),
            "theme": self.theme,
            "background": self.background,
            "seed": self.seed,
            "output_format": self.output_format,
            # recorded when asked for, so a layout made on auto reads as it always has
            **({"view": self.view} if self.view != "auto" else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PosterSpec:
        size = data["size"]
        return cls(
            template=data["template"],
            size=size if isinstance(size, str) else (int(size[0]), int(size[1])),
            headline=data.get("headline", ""),
            subline=data.get("subline", ""),
            price=data.get("price"),
            compare_at_price=data.get("compare_at_price"),
            currency=data.get("currency", "USD"),
            locale=data.get("locale"),
            cta=data.get("cta"),
            ribbon=data.get("ribbon"),
            badge=data.get("badge"),
            brand=BrandKit.from_dict(data["brand"]) if data.get("brand") else BrandKit(),
            theme=data.get("theme"),
            background=data.get("background"),
            seed=int(data.get("seed", 0)),
            output_format=data.get("output_format", "png"),
            view=data.get("view", "auto"),
        )


def _check_size(size: Any) -> str | tuple[int, int]:
    # Preset names are checked against sizes.json by the layout; here only the shape.
    if isinstance(size, str):
        text = size.strip().lower()
        if re.match(r"^\d+x\d+$", text):
            w, h = text.split("x")
            return _check_size((int(w), int(h)))
        if not text:
            raise InvalidSpec("name a poster size, e.g. feed, story or 1080x1350")
        return text
    if (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    ):
        return check_custom_size(int(size[0]), int(size[1]))
    raise InvalidSpec(f"size must be a preset name or (width, height), got {size!r}")


def _check_price(value: Any, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidSpec(f"the {what} must be a number, got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidSpec(f"the {what} must be a number like 199 or 19.99, got {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_PRICE:
        raise InvalidSpec(f"the {what} must be a positive amount, got {value!r}")
    return amount


def _check_short(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidSpec(f"the {what} must be text")
    if len(value) > MAX_SHORT:
        raise InvalidSpec(f"the {what} is {len(value)} characters; keep it to {MAX_SHORT}")
    return value


def _check_locale(locale: Any) -> None:
    if not isinstance(locale, str) or not _LOCALE.match(locale):
        raise InvalidSpec(f"locale must look like en_US or zh_CN, got {locale!r}")


def _image_to_data_uri(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.convert("RGBA").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _image_from_data_uri(uri: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    if not uri.startswith(prefix):
        raise InvalidSpec("the layout's logo must be a PNG data URI")
    image = Image.open(io.BytesIO(base64.b64decode(uri[len(prefix) :])))
    image.load()
    return image.convert("RGBA")
