"""The words of a poster: defaults from the template and brand, prices, languages."""

from __future__ import annotations

import re

from generation.posters.slots import Content
from generation.posters.spec import PosterSpec
from generation.posters.template import Template
from generation.typography.fonts import CJK_LANGS, cjk_lang_for, is_cjk_char, normalize_lang
from generation.typography.money import discount_percent, format_discount, format_price


def _lang(locale: str) -> str:
    return normalize_lang(locale) or "en"


def _lang_for(text: str, base: str) -> str:
    if any(is_cjk_char(ch) for ch in text):
        return cjk_lang_for(text, base if base in CJK_LANGS else None)
    return base if base not in CJK_LANGS else "en"


_COUNTDOWN = re.compile(r"\d{1,2}\s*[:：]\s*\d{2}")


def _states_discount(ribbon: str, percent: int) -> bool:
    """Whether the merchant's ribbon already says the discount: "-20%", "Save 20%",
    "20 % OFF", "限时8折" for 20 % off (spaces and case ignored, a typographic minus or a
    full-width percent sign read as ASCII), never the number inside a larger one
    ("120%", "8.8折")."""
    key = "".join(ribbon.split()).replace("\u2212", "-").replace("\uff05", "%").casefold()
    tenths = format_discount(percent, "zh_CN")  # "8折"
    return bool(
        re.search(rf"(?<![\d.,]){percent}%", key) or re.search(rf"(?<![\d.,]){re.escape(tenths)}", key)
    )


def build_content(spec: PosterSpec, template: Template) -> Content:
    """The poster's words after defaults, with prices formatted for the locale."""
    locale = spec.effective_locale
    lang = _lang(locale)
    cta = spec.cta if spec.cta is not None else (spec.brand.default_cta or template.string("cta", lang) or "")
    price = format_price(spec.price, spec.currency, locale) if spec.price is not None else ""
    percent = discount_percent(spec.price, spec.compare_at_price) if spec.price is not None else None
    # discount elements (a SALE ribbon, the struck price, the % badge) only with a discount
    default_ribbon = template.string("ribbon", lang) or (
        template.string("discount_ribbon", lang) if percent else ""
    )
    ribbon = spec.ribbon if spec.ribbon is not None else (default_ribbon or "")
    compare = (
        format_price(spec.compare_at_price, spec.currency, locale)
        if percent and spec.compare_at_price is not None
        else ""
    )
    if spec.badge is not None:
        badge = spec.badge
    elif percent:
        # the automatic badge, unless the merchant's own ribbon already says it ("-20% this week")
        badge = "" if _states_discount(ribbon, percent) else format_discount(percent, locale)
    else:
        badge = ""
    caption = ""
    if badge and template.badge.shape == "timer":
        # Urgency only where the merchant asked for it: "ENDS IN" over their own countdown
        # ("23:59:59"), a neutral caption over a discount, none over other words of theirs.
        if not spec.badge:
            caption = template.string("discount_caption", lang) or ""
        elif _COUNTDOWN.search(spec.badge):
            caption = template.string("caption", lang) or ""
    words = {
        "headline": spec.headline, "subline": spec.subline, "ribbon": ribbon, "eyebrow": ribbon,
        "price": price, "compare_at": compare, "cta": cta, "badge": badge, "badge_caption": caption,
    }  # fmt: skip
    langs = {k: _lang_for(v, lang) for k, v in words.items() if v}
    return Content(
        headline=spec.headline,
        subline=spec.subline,
        eyebrow=ribbon,
        ribbon=ribbon,
        price=price,
        compare_at=compare,
        cta=cta,
        badge=badge,
        badge_caption=caption,
        lang=lang,
        langs=langs,
    )
