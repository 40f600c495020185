"""Stock words a poster or clip shows when the merchant gave none, in the words' language."""

from __future__ import annotations

from generation.typography.fonts import normalize_lang

# the call to action on a clip's end card (posters take theirs from their template's strings)
_CTA = {
    "en": "Shop now",
    "zh-Hans": "立即购买",
    "zh-Hant": "立即購買",
    "ja": "今すぐ購入",
    "ko": "지금 구매하기",
}


def default_cta(locale: str) -> str:
    """ "Shop now" in the language of ``locale`` ("zh_CN" -> 立即购买, "zh_TW" -> 立即購買,
    "ja_JP" -> 今すぐ購入); English for a language without one."""
    lang = normalize_lang(locale) or "en"
    if lang.startswith("zh"):
        key = "zh-Hant" if lang in ("zh-Hant", "zh-HK", "zh-MO", "zh-TW") else "zh-Hans"
    else:
        key = lang.split("-")[0]
    return _CTA.get(key, _CTA["en"])
