"""Prices and discounts as posters and clips print them.

Rules:

- Symbols, separators and symbol placement come from CLDR via Babel, untouched:
  "$19.99" (USD, en_US), "19,99\\xa0€" (EUR, de_DE and fr_FR: a no-break space keeps the
  sign on the number's line), "￥1,999" (JPY, ja_JP: CLDR's full-width yen; en_US gives
  "¥1,999"), "¥199" (CNY, zh_CN).
- Amounts are rounded half-up to the currency's minor unit (2 for EUR, 0 for JPY).
- A whole amount is printed without decimals in every currency ("¥199", "$20",
  "20\\xa0€"), as shop posters do; any other amount shows all of the currency's
  decimals ("$19.90", never "$19.9").
- Discounts are rounded down, so a poster never claims more than the real saving.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies

from generation.errors import InvalidSpec
from generation.typography.fonts import cjk_lang_for, is_cjk_char

Amount = Decimal | str | float | int


def _decimal(value: Amount, what: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidSpec(f"The {what} {value!r} is not a number.")
    try:
        # str() first: Decimal(19.99) would carry the float's binary error along.
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise InvalidSpec(f"The {what} {value!r} is not a number.") from exc
    if not number.is_finite():
        raise InvalidSpec(f"The {what} {value!r} is not a finite number.")
    if number < 0:
        raise InvalidSpec(f"The {what} {value!r} is negative.")
    return number


def _locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidSpec(f"Locale {locale!r} is not a known locale such as 'en_US'.") from exc


def _currency(currency: str) -> str:
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if code not in list_currencies():
        raise InvalidSpec(f"Currency {currency!r} is not an ISO 4217 currency code such as 'USD' or 'CNY'.")
    return code


def format_price(amount: Amount, currency: str, locale: str = "en_US") -> str:
    """``amount`` of ``currency`` written the way ``locale`` writes prices (see module
    docstring for the rules). Raises InvalidSpec for an unknown currency or locale and
    for amounts that are not finite, non-negative numbers."""
    code = _currency(currency)
    loc = _locale(locale)
    value = _decimal(amount, "price")
    digits = get_currency_precision(code)
    value = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if value != value.to_integral_value():
        return format_currency(value, code, locale=loc)
    # The locale's own pattern with its fraction part removed keeps symbol placement,
    # spacing and grouping exactly as CLDR has them.
    pattern = re.sub(r"\.[0#]+", "", loc.currency_formats["standard"].pattern)
    return format_currency(value, code, format=pattern, locale=loc, currency_digits=False)


def discount_percent(price: Amount, compare_at: Amount | None) -> int | None:
    """Whole percent saved against ``compare_at``, rounded down; None when there is no
    saving of at least 1 % (no compare-at price, or it is not higher than the price)."""
    if compare_at is None:
        return None
    now = _decimal(price, "price")
    before = _decimal(compare_at, "compare-at price")
    if before <= now:
        return None
    percent = math.floor((before - now) * 100 / before)
    return percent if percent >= 1 else None


# Han text alone does not say which Chinese (or Japanese) shop wrote it; the currency does.
_HAN_LOCALE_BY_CURRENCY = {"JPY": "ja_JP", "TWD": "zh_TW", "HKD": "zh_HK", "MOP": "zh_MO", "CNY": "zh_CN"}
_LOCALE_BY_CJK_LANG = {"ja": "ja_JP", "ko": "ko_KR", "zh-Hant": "zh_TW", "zh-Hans": "zh_CN"}


def locale_for_words(texts: list[str] | tuple[str, ...], currency: str) -> str:
    """The locale a poster's own words and currency suggest, for when neither the request
    nor the brand names one: kana -> ``ja_JP``, hangul -> ``ko_KR``; Han text alone ->
    the currency's (JPY ``ja_JP``, TWD ``zh_TW``, HKD ``zh_HK``, CNY ``zh_CN``), else
    Traditional -> ``zh_TW`` (``zh_HK`` with HKD) and Simplified -> ``zh_CN``; words with no
    CJK at all -> ``en_US``."""
    text = "".join(texts)
    if not any(is_cjk_char(ch) for ch in text):
        return "en_US"
    lang = cjk_lang_for(text)
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if lang in ("zh-Hans", "zh-Hant") and code in _HAN_LOCALE_BY_CURRENCY:
        by_currency = _HAN_LOCALE_BY_CURRENCY[code]
        # Traditional words priced in yuan are still Traditional (a Taiwan or overseas shop)
        if not (lang == "zh-Hant" and by_currency == "zh_CN"):
            return by_currency
    return _LOCALE_BY_CJK_LANG.get(lang, "en_US")


def format_discount(percent: int, locale: str = "en_US") -> str:
    """ "-20%" for every locale except Chinese ones, which print the price you pay in
    tenths, the way Chinese shops do: 20 % off -> "8折", 15 % off -> "8.5折", 100 % off
    -> "免费" (free)."""
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
        raise InvalidSpec(f"Discount {percent!r} must be a whole percent from 1 to 100.")
    if _locale(locale).language != "zh":
        return f"-{percent}%"
    if percent == 100:
        return "免费"
    tenths = (Decimal(100 - percent) / 10).normalize()
    return f"{tenths:f}折"
