"""Fonts for posters and clips: which face sets which character, loaded once per process.

Latin families are variable TTFs from the ``fontpkg-*`` wheels; Chinese, Japanese and
Korean fall back automatically to Noto Sans CJK:

- regular weights (< 600) use the OpenType collection from ``noto-cjk-sans-otc``
  (version 2.004), picking the face whose default glyph forms match the language
  (SC for zh-Hans, TC for zh-Hant, HK, JP, KR);
- bold weights (>= 600) use ``NotoSansCJKtc-Bold.otf`` (1.004), which carries every
  region's glyphs behind the OpenType ``locl`` feature. Text is always shaped with
  raqm and ``language=``, so zh-Hans text gets Simplified forms and mainland
  punctuation (comma and full stop in the lower-left corner, not centred) from this
  TC-default file too. Checked by rendering: the bold OTF with ``language="zh-Hans"``
  differs from its default rendering exactly on those glyphs.

Coverage questions ("can this face draw this character?") are answered from the
faces' character maps, read with fontTools, never by rendering and looking for tofu.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from PIL import ImageFont, features

from generation.errors import GenerationError, InvalidSpec, ModelUnavailable

FAMILIES = ("inter", "montserrat", "playfair", "noto_sans")  # Latin families
CJK_FACE = "cjk"  # face name of the automatic Chinese/Japanese/Korean fallback
FALLBACK_FAMILY = "noto_sans"  # widest Latin/Greek/Cyrillic coverage of the four
BOLD_FROM = 600  # CJK faces exist in Regular and Bold only

# Characters we silently remove before setting text: variation selectors (an emoji
# selector next to a covered symbol must not make it "missing"), zero-width
# space/joiners and the byte-order mark. None of them has ink.
IGNORED_CHARS = frozenset(
    [chr(c) for c in range(0xFE00, 0xFE10)] + ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
)


class MissingGlyph(GenerationError):
    """No installed poster face can draw some characters of the text."""

    code = "missing_glyph"

    def __init__(self, message: str, *, chars: list[str] | None = None) -> None:
        super().__init__(message)
        self.chars = list(chars or [])

    @classmethod
    def for_chars(cls, chars: list[str]) -> MissingGlyph:
        """The error for ``chars``, each named with its code point and Unicode name."""
        named = ", ".join(
            f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')})" for ch in chars
        )
        return cls(
            f"No poster font can draw {named}. Emoji and pictographs cannot be set in "
            "poster text: remove them or replace them with words.",
            chars=chars,
        )


@dataclass(frozen=True)
class _FontFile:
    package: str  # import name of the wheel that ships it
    relpath: str  # path inside the package
    pip_name: str  # what to pip install when it is missing


_LATIN_FILES = {
    "inter": _FontFile("fontpkg_inter", "files/Inter[opsz,wght].ttf", "fontpkg-inter"),
    "montserrat": _FontFile("fontpkg_montserrat", "files/Montserrat[wght].ttf", "fontpkg-montserrat"),
    "playfair": _FontFile(
        "fontpkg_playfair_display", "files/PlayfairDisplay[wght].ttf", "fontpkg-playfair-display"
    ),
    "noto_sans": _FontFile("fontpkg_noto_sans", "files/NotoSans[wdth,wght].ttf", "fontpkg-noto-sans"),
}
_CJK_REGULAR = _FontFile("noto_cjk_sans_otc", "NotoSansCJK-Regular.ttc", "noto-cjk-sans-otc")
_CJK_BOLD = _FontFile("cvttf_NotoSansCJK_Bold", "NotoSansCJKtc-Bold.otf", "cvttf-NotoSansCJK-Bold")
# Face order inside NotoSansCJK-Regular.ttc (checked with fontTools: JP, KR, SC, TC, HK,
# then the Mono faces).
_TTC_INDEX = {"ja": 0, "ko": 1, "zh-Hans": 2, "zh-Hant": 3, "zh-HK": 4}

# --- languages -------------------------------------------------------------------

CJK_LANGS = tuple(_TTC_INDEX)
_LANG_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")

# A few hundred characters decide Simplified vs Traditional for nearly every product
# text; each set holds only characters that the other script writes differently.
_TRADITIONAL_ONLY = frozenset(
    "這個們來時會對說為國過麼發從學裡還與開關當進實現點經電動種應問題長無東車門區話書"
    "買賣價錢費貨號質覺廣場計設認專業歡樂禮體總轉運選擇網頁視聽聲讀邊連產機標鐘錶顏裝"
    "飾廳衛護膚髮絲綢織線纖維襪帶飲銷樣讓給級優慶節鮮紅藍綠壺燈鍋紙筆組簡約風熱輕灣臺"
    "歲萬億員條壓減滿贈兒媽愛單雙層氣錄證寶貝獨嚴預訂啟務"
)
_SIMPLIFIED_ONLY = frozenset(
    "这个们来时会对说为国过么发从学还与开关当进实现点经电动种应问题长无东车门区话书"
    "买卖价钱费货号质觉广场计设认专业欢乐礼体总转运选择网页视听声读边连产机标钟颜装"
    "饰厅卫护肤丝绸织线纤维袜带饮销样让给级优庆节鲜红蓝绿壶灯锅纸笔组简约风热轻湾"
    "岁万亿员条压减满赠儿妈爱单双层气录证宝贝独严预订启务"
)


def normalize_lang(lang: str | None) -> str | None:
    """Canonical tag for the languages we treat specially; other tags pass through.

    ``zh``, ``zh_CN``, ``zh-SG``, ``zh-Hans`` -> ``zh-Hans``; ``zh_TW``, ``zh-Hant`` ->
    ``zh-Hant``; ``zh-HK``/``zh-MO`` -> ``zh-HK``; ``ja*`` -> ``ja``; ``ko*`` -> ``ko``.
    """
    if lang is None or lang == "":
        return None
    if not _LANG_RE.match(lang):
        raise InvalidSpec(f"Language {lang!r} is not a language tag like 'en', 'zh-Hans' or 'ja'.")
    parts = lang.replace("_", "-").split("-")
    primary = parts[0].lower()
    rest = {p.lower() for p in parts[1:]}
    if primary == "zh":
        if rest & {"hk", "mo"}:
            return "zh-HK"
        if rest & {"hant", "tw"}:
            return "zh-Hant"
        return "zh-Hans"
    if primary in ("ja", "ko"):
        return primary
    return "-".join([primary, *parts[1:]])


def cjk_lang_for(text: str, lang: str | None = None) -> str:
    """Which CJK convention (glyph forms, punctuation placement) ``text`` follows.

    An explicit CJK ``lang`` wins. Otherwise kana means Japanese, hangul Korean, and
    Chinese is Simplified unless it holds more Traditional-only than Simplified-only
    characters.
    """
    canonical = normalize_lang(lang)
    if canonical in CJK_LANGS:
        return canonical
    if any("\u3040" <= ch <= "\u30ff" for ch in text):
        return "ja"
    if any("\uac00" <= ch <= "\ud7af" or "\u1100" <= ch <= "\u11ff" for ch in text):
        return "ko"
    traditional = sum(ch in _TRADITIONAL_ONLY for ch in text)
    simplified = sum(ch in _SIMPLIFIED_ONLY for ch in text)
    return "zh-Hant" if traditional > simplified else "zh-Hans"


# --- character classes -----------------------------------------------------------

_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FFF),  # radicals, ideographic description
    (0x3000, 0x303F),  # CJK symbols and punctuation (。、「」〈〉 ideographic space)
    (0x3040, 0x31FF),  # kana, bopomofo, hangul compatibility jamo, strokes
    (0x3200, 0x33FF),  # enclosed CJK, CJK compatibility
    (0x3400, 0x4DBF),  # ideographs extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables and jamo extended B
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0xFE10, 0xFE1F),  # vertical forms
    (0xFE30, 0xFE6F),  # CJK compatibility forms, small form variants
    (0xFF00, 0xFFEF),  # full-width and half-width forms (，！？（）：；％￥)
    (0x20000, 0x3FFFF),  # ideographs extensions B and later
)

# Punctuation that both Latin and CJK text use; it takes the face of its context
# (openers look ahead, everything else looks back) so a Chinese quotation gets CJK
# quotes and an English one Latin quotes.
NEUTRAL_OPENERS = frozenset("“‘")
NEUTRAL_OTHERS = frozenset("”’…·—–\xa0\u202f\u2009")  # incl. no-break and thin spaces


def is_cjk_char(ch: str) -> bool:
    """True for ideographs, kana, hangul, CJK punctuation and full-width forms."""
    code = ord(ch)
    if code < 0x1100:  # Latin, Greek, Cyrillic, ...: below every range, asked most often
        return False
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


# --- files and fonts -------------------------------------------------------------


def _require_raqm() -> None:
    # Without raqm Pillow neither shapes complex text nor honours language= or
    # OpenType features: CJK punctuation would silently come out in the wrong forms.
    if not features.check("raqm"):
        raise ModelUnavailable(
            "Pillow was built without libraqm, which poster text needs for shaping; "
            "install the Pillow wheel from PyPI (it bundles raqm)."
        )


@cache
def _file_path(font_file: _FontFile) -> str:
    try:
        root = resources.files(font_file.package)
    except ModuleNotFoundError as exc:
        raise ModelUnavailable(
            f"The font package {font_file.pip_name!r} is not installed; "
            f"run `pip install {font_file.pip_name}`."
        ) from exc
    path = root.joinpath(font_file.relpath)
    if not isinstance(path, os.PathLike) or not os.path.isfile(path):
        raise ModelUnavailable(
            f"The font package {font_file.pip_name!r} has no {font_file.relpath!r}; "
            f"reinstall it with `pip install --force-reinstall {font_file.pip_name}`."
        )
    return os.fspath(path)


def available_families() -> list[str]:
    """Latin families whose font files are installed, in ``FAMILIES`` order."""
    found = []
    for family in FAMILIES:
        try:
            _file_path(_LATIN_FILES[family])
        except ModelUnavailable:
            continue
        found.append(family)
    return found


def _check_family(family: str) -> None:
    if family not in _LATIN_FILES:
        raise InvalidSpec(f"Font family {family!r} is not one of the poster families: {', '.join(FAMILIES)}.")


def _check_weight(weight: int) -> None:
    if not isinstance(weight, int) or not 100 <= weight <= 900:
        raise InvalidSpec(f"Font weight {weight!r} must be an integer from 100 to 900.")


def face_file(face: str, weight: int, *, lang: str | None = None) -> tuple[str, int]:
    """(path, collection index) of ``face`` (a family or ``"cjk"``) at ``weight``."""
    _check_weight(weight)
    if face == CJK_FACE:
        if weight >= BOLD_FROM:
            return _file_path(_CJK_BOLD), 0
        return _file_path(_CJK_REGULAR), _TTC_INDEX[cjk_lang_for("", lang)]
    _check_family(face)
    return _file_path(_LATIN_FILES[face]), 0


def _clamp_to_axis(value: float | None, axis: ImageFont.Axis) -> float:
    """``value`` (the axis default when None) within the axis's range; FreeType may leave
    any of the three unset, and 0 stands in for a missing default."""
    lo, hi = axis["minimum"], axis["maximum"]
    out = float(value if value is not None else axis["default"] or 0)
    if lo is not None:
        out = max(out, lo)
    if hi is not None:
        out = min(out, hi)
    return out


@lru_cache(maxsize=256)
def load_font(path: str, index: int, size: int, weight: int) -> ImageFont.FreeTypeFont:
    """The font at ``path``/``index`` set up for ``size`` px and ``weight``; cached.

    Variable fonts get their weight axis set (clamped to the font's range) and, where
    they have one (Inter), their optical-size axis set to the pixel size, so display
    sizes get display-cut spacing. Each cached object belongs to one
    (path, index, size, weight): never change its variation from outside.
    """
    _require_raqm()
    if size < 1:
        raise InvalidSpec(f"Font size {size!r} must be at least 1 px.")
    font = ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.RAQM)
    try:
        axes = font.get_variation_axes()
    except OSError:  # not a variable font: the file itself is the weight
        return font
    values: list[float] = []
    for axis in axes:
        name = axis.get("name", b"").decode().lower().replace(" ", "")
        if name == "weight":
            values.append(_clamp_to_axis(weight, axis))
        elif name == "opticalsize":
            values.append(_clamp_to_axis(size, axis))
        else:
            values.append(_clamp_to_axis(axis["default"], axis))
    font.set_variation_by_axes(values)
    return font


def get_font(
    family: str, weight: int, size: int, *, script: str = "latin", lang: str | None = None
) -> ImageFont.FreeTypeFont:
    """A cached raqm font. ``script="cjk"`` ignores ``family`` and returns the CJK face
    for ``weight`` and ``lang`` (zh-Hans by default)."""
    if script == "latin":
        path, index = face_file(family, weight)
    elif script == "cjk":
        _check_family(family)
        path, index = face_file(CJK_FACE, weight, lang=lang)
    else:
        raise InvalidSpec(f"Script {script!r} must be 'latin' or 'cjk'.")
    return load_font(path, index, size, weight)


@cache
def charset(path: str, index: int = 0) -> frozenset[int]:
    """Code points in the best Unicode cmap of the face at ``path``/``index``."""
    from fontTools.ttLib import TTFont  # only needed for coverage questions

    is_collection = path.lower().endswith((".ttc", ".otc"))
    font = TTFont(path, fontNumber=index if is_collection else -1, lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


def face_covers(face: str, ch: str, *, weight: int = 700, lang: str | None = None) -> bool:
    path, index = face_file(face, weight, lang=lang)
    return ord(ch) in charset(path, index)


def font_for_char(ch: str, family: str, *, weight: int = 700, lang: str | None = None) -> str:
    """The face that renders ``ch``: ``family`` if its cmap has it (CJK characters and
    full-width forms always go to the CJK face), else ``"noto_sans"`` for Latin, Greek
    and Cyrillic the family lacks, else ``"cjk"``; raises MissingGlyph if none has it."""
    _check_family(family)
    if len(ch) != 1:
        raise InvalidSpec(f"font_for_char takes one character, got {ch!r}.")
    candidates = [CJK_FACE] if is_cjk_char(ch) else [family, FALLBACK_FAMILY, CJK_FACE]
    for face in dict.fromkeys(candidates):
        if face_covers(face, ch, weight=weight, lang=lang):
            return face
    raise MissingGlyph.for_chars([ch])


def missing_glyphs(text: str, family: str, *, weight: int = 700, lang: str | None = None) -> list[str]:
    """Distinct characters of ``text`` (in order of appearance) that no installed face
    covers. Whitespace, line breaks and ``IGNORED_CHARS`` are never missing."""
    _check_family(family)
    missing: list[str] = []
    for ch in dict.fromkeys(unicodedata.normalize("NFC", text)):
        if ch.isspace() or ch in IGNORED_CHARS:
            continue
        try:
            font_for_char(ch, family, weight=weight, lang=lang)
        except MissingGlyph:
            missing.append(ch)
    return missing


def raise_if_missing(text: str, family: str, *, weight: int = 700, lang: str | None = None) -> None:
    """Raise MissingGlyph naming every uncovered character of ``text``."""
    missing = missing_glyphs(text, family, weight=weight, lang=lang)
    if missing:
        raise MissingGlyph.for_chars(missing)
