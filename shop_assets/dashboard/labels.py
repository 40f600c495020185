"""Names a merchant reads in place of internal ids.

Themes, poster templates, sizes and clip presets carry their display names in their data
files; segmenters, engines and output kinds are named here once. An id that has no name
(a theme file removed since the asset was made, say) is shown readably, never as raw
``snake_case``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from django.conf import settings

from generation.errors import InvalidSpec
from generation.normalize import ACCEPTED_TEXT
from generation.posters.sizes import list_sizes
from generation.posters.template import get_template, list_templates
from generation.sets import get_theme, list_themes
from shop_assets.accounts.models import BrandKit, Merchant
from shop_assets.jobs.models import OutputKind

SEGMENTER_LABELS = {
    "auto": "Automatic",
    "alpha": "Photo's own transparency",
    "rembg": "AI model",
    "classical": "Classical (built-in)",
    "refine": "Refined by hand",
    "mask": "Accepted cutout",
}

ENGINE_LABELS = {
    "studio": "Studio",
    "diffusion": "Diffusion",
}
# engines that only repeat the asset's kind, already in its title
KIND_ENGINES = ("packshot", "cutout", "poster", "clip")


def readable(value: str) -> str:
    """``marble_counter`` -> ``Marble counter``: the fallback for an id with no name."""
    text = str(value).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def output_label(kind: str) -> str:
    try:
        return OutputKind(kind).label
    except ValueError:
        return readable(kind)


def in_output_order(kinds) -> list[str]:
    """Output kinds in ``OutputKind``'s order (the job page's sections'); unknown ones last."""
    order = {kind: i for i, kind in enumerate(OutputKind.values)}
    return sorted(kinds, key=lambda kind: order.get(kind, len(order)))


def segmenter_label(value: str) -> str:
    """``classical`` -> ``Classical (built-in)``; ``rembg:birefnet-general-lite`` -> ``AI model (birefnet-general-lite)``."""
    if not value:
        return ""
    base, _, model = str(value).partition(":")
    label = SEGMENTER_LABELS.get(base, readable(base))
    if model:
        return f"{label} ({model.removeprefix('custom:')})"
    return label


# the matte an asset was made with, by its record's source (``catalog.masks.matte_record``)
MATTE_SOURCE_LABELS = {
    "accepted": "Your accepted cutout",
    "refined": "Your fixed cutout",
    "uploaded": "Your uploaded mask",
}


def matte_label(metrics: dict | None) -> str:
    """How the product was cut out for an asset, in the merchant's terms: their accepted,
    fixed or uploaded cutout (which the library was handed as the photo's alpha), else the
    segmenter that made the automatic one."""
    metrics = metrics or {}
    matte = metrics.get("matte")
    if isinstance(matte, dict) and matte.get("source") in MATTE_SOURCE_LABELS:
        return MATTE_SOURCE_LABELS[matte["source"]]
    return segmenter_label(metrics.get("segmenter") or "")


def fidelity(metrics: dict | None) -> dict:
    """What an asset's card says about the product in it: ``warn`` when the cutout it was
    made with was not confirmed (the card then asks for a review), and ``text``, e.g.
    "Product pixels unchanged · Classical (built-in) · Studio"."""
    metrics = metrics or {}
    matte, kept = metrics.get("matte") or {}, metrics.get("fidelity") or {}
    warn = bool(kept.get("identical")) and not matte.get("trusted")
    if kept.get("identical") and not warn:
        lead = "Product pixels unchanged"
    elif kept and not warn:
        lead = f"Product max difference {kept.get('max_abs_diff')}"
    else:
        lead = ""
    parts = [lead, matte_label(metrics), engine_label(metrics.get("engine") or "")]
    return {"warn": warn, "text": " · ".join(p for p in parts if p)}


def engine_label(value: str) -> str:
    """The scene engine's name; empty for the engines named after an asset's kind."""
    if not value or value in KIND_ENGINES:
        return ""
    return ENGINE_LABELS.get(value, readable(value))


def theme_label(name: str) -> str:
    try:
        return get_theme(name).label
    except InvalidSpec:
        return readable(name)


def template_label(name: str) -> str:
    try:
        return get_template(name).label
    except InvalidSpec:
        return readable(name)


def template_description(name: str) -> str:
    try:
        return get_template(name).description
    except InvalidSpec:
        return ""


def size_label(name: str) -> str:
    preset = list_sizes().get(name)
    return preset.label if preset else readable(name)


def size_short_label(name: str) -> str:
    """A size's name short enough for a narrow card: "Story 9:16" (not "Story / Reels /
    TikTok / Douyin 9:16"), "Feed post 1:1" (not "... (Instagram, Facebook, Xiaohongshu)")."""
    text = size_label(name).split(" (", 1)[0]
    if " / " in text:
        first, rest = text.split(" / ", 1)
        ratio = rest.rsplit(" ", 1)[-1]
        text = f"{first} {ratio}" if ":" in ratio else first
    return text


def not_made_reason(reason: str, template: str = "") -> str:
    """Why a poster could not be made, in a merchant's words: its template by name, not id,
    sizes as "1080×1920", a capital first letter ("no room for the text in hero_left at
    1080x1920" -> "No room for the text in Hero left at 1080×1920")."""
    text = reason.strip()
    if template:
        text = re.sub(rf"\b{re.escape(template)}\b", template_label(template), text)
    text = re.sub(r"\b(\d+)x(\d+)\b", "\\1×\\2", text)
    return text[:1].upper() + text[1:]


def size_dimensions(name: str) -> str:
    """``feed`` -> ``1080×1080``: a size short enough for a phone's select box."""
    preset = list_sizes().get(name)
    return f"{preset.width}×{preset.height}" if preset else readable(name)


def theme_choices() -> list[tuple[str, str]]:
    return [(name, theme_label(name)) for name in list_themes()]


def template_choices() -> list[tuple[str, str]]:
    return [(name, template_label(name)) for name in list_templates()]


def poster_size_choices() -> list[tuple[str, str]]:
    # no break around the "·" (a phone's line ended with it)
    return [(name, f"{p.label}\u00a0·\u00a0{p.width}×{p.height}") for name, p in list_sizes().items()]


# A job's or a campaign's language menu (the new-job form and the campaign editor say the
# same: they said "As in the brand kit" and "The brand kit's" for the one default)
# (short: it shares a row with the two font menus, which also use it, in the campaign editor)
FROM_BRAND_KIT = "Your brand kit's"
LANGUAGE_HELP = (
    "How prices and discounts are written: ¥89 and 6.9折 in Chinese, CN¥89 and -31% in English. "
    "A brand kit on Automatic lets each poster's words and currency decide."
)


def language_choices() -> list[tuple[str, str]]:
    return [("", FROM_BRAND_KIT), *(c for c in BrandKit.LOCALE_CHOICES if c[0])]


# how a clip opens (``clip.reveal``), in the merchant's words
# how scenes, clips and posters set the product (the request's ``view``)
VIEW_CHOICES = [
    ("auto", "Automatic"),
    ("standing", "Standing on a surface"),
    ("flat", "Lying flat, seen from above"),
]
VIEW_LABEL = "How the product is shown"
VIEW_HELP = (
    "Automatic lays a product photographed from above, such as a folded T-shirt, flat on the "
    "surface, and stands anything else up."
)

CLIP_REVEAL_CHOICES = [
    ("drop_in", "The product drops into place"),
    ("fade", "The scene fades in around the product"),
    ("none", "No opening effect"),
]


def clip_preset_choices() -> list[tuple[str, str]]:
    # imported here: the clip package pulls in OpenCV, which a web page that never shows
    # the new-job form does not need
    from generation.clips.spec import get_preset, preset_names

    # the shape, not the pixel size: "Instagram / Facebook Stories · 1080×1920" was cut
    # short in a phone-wide select
    choices = []
    for name in preset_names():
        p = get_preset(name)
        d = math.gcd(p.width, p.height)
        ratio = f"{p.width // d}:{p.height // d}"
        choices.append((name, p.label if ratio in p.label else f"{p.label} · {ratio}"))
    return choices


def asset_title(asset) -> str:
    """What an asset is, in words: "Scene · Marble counter 2", "Poster · Hero left"."""
    metrics = asset.metrics or {}
    kind = output_label(asset.kind)
    if asset.kind == OutputKind.SCENE and metrics.get("theme"):
        number = asset.name.rsplit("-", 1)[-1]
        suffix = f" {int(number)}" if number.isdigit() else ""
        return f"{kind} · {theme_label(metrics['theme'])}{suffix}"
    if asset.kind == OutputKind.POSTER and metrics.get("template"):
        return f"{kind} · {template_label(metrics['template'])}"
    return kind


def upload_hint() -> str:
    """The upload limits as the server enforces them, in words."""
    megapixels = settings.MAX_IMAGE_PIXELS / 1_000_000
    return f"{ACCEPTED_TEXT}, up to {settings.MAX_UPLOAD_MB} MB and {megapixels:g} megapixels."


def price_locale(merchant: Merchant) -> str:
    """The locale the dashboard writes the merchant's prices in: its brand kit's language,
    else the merchant's own (``en`` unless set)."""
    kit = BrandKit.objects.filter(merchant_id=merchant.pk).values_list("default_locale", flat=True).first()
    return kit or merchant.default_locale or "en_US"


def price_label(amount, currency: str, locale: str) -> str:
    """``34``, ``USD`` -> "$34.00" in ``en_US``, "US$34.00" in ``en_GB`` and ``zh_CN``,
    "34,00\u00a0$" in ``de_DE``; ``CNY`` in ``zh_CN`` -> "¥34.00" (CLDR's symbols and
    patterns, through Babel). An amount or a locale Babel cannot read is written as it is,
    with its code after it."""
    code = (currency or "").strip().upper()
    try:
        value = Decimal(str(amount).strip())
        return format_currency(value, code, locale=Locale.parse(locale.replace("-", "_")))
    except (InvalidOperation, ValueError, TypeError, UnknownLocaleError):
        return f"{amount} {code}".strip()


# the request model's words for a value out of bounds (pydantic's), as a merchant reads them
_PROBLEM_WORDS = [
    (re.compile(r"String should have at most (\d+) characters?"), "Too long: use at most {} character{}."),
    (re.compile(r"String should have at least (\d+) characters?"), "Too short: use at least {} character{}."),
    (re.compile(r"Input should be less than or equal to (\S+)"), "Use {} or less."),
    (re.compile(r"Input should be greater than or equal to (\S+)"), "Use {} or more."),
    (re.compile(r"List should have at most (\d+) items?\b.*"), "Choose at most {}."),
]


def request_problem(detail: str) -> str:
    """A refusal of the request model in the dashboard's words: "String should have at most
    32 characters" -> "Too long: use at most 32 characters."; other words as they are."""
    for pattern, words in _PROBLEM_WORDS:
        if found := pattern.fullmatch(detail):
            number = found.group(1)
            return words.format(number, "" if number == "1" else "s")
    return detail
