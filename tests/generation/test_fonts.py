"""Poster fonts: files found in the installed wheels, weights, CJK faces, coverage."""

from __future__ import annotations

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw

from generation.errors import InvalidSpec, ModelUnavailable
from generation.typography import fonts
from generation.typography.fonts import (
    FAMILIES,
    MissingGlyph,
    available_families,
    cjk_lang_for,
    font_for_char,
    get_font,
    missing_glyphs,
    normalize_lang,
)


def _cmap(path: str, index: int) -> set[int]:
    """The face's cmap read here, independently of fonts.charset."""
    number = index if path.endswith(".ttc") else -1
    return set(TTFont(path, fontNumber=number, lazy=True).getBestCmap())


def test_every_family_is_installed():
    # given the pinned font wheels / when asking / then all four are there, in order
    assert available_families() == list(FAMILIES)


def test_get_font_is_cached_per_family_weight_and_size():
    # given / when
    first = get_font("montserrat", 700, 40)
    again = get_font("montserrat", 700, 40)
    lighter = get_font("montserrat", 300, 40)
    # then: one object per key, a different one for another weight
    assert first is again
    assert lighter is not first


def test_variable_weight_is_applied():
    # given Montserrat, whose default instance is Thin (100)
    text = "Summer Sale"
    # when set at three weights
    widths = [get_font("montserrat", w, 60).getlength(text) for w in (100, 400, 900)]
    # then heavier is wider: the weight axis really moved
    assert widths[0] < widths[1] < widths[2]


def test_cjk_face_follows_language_and_weight():
    # given / when / then: regular weights come from the collection's regional face ...
    assert get_font("inter", 400, 40, script="cjk", lang="zh-Hans").getname()[0] == ("Noto Sans CJK SC")
    assert get_font("inter", 400, 40, script="cjk", lang="zh_TW").getname()[0] == ("Noto Sans CJK TC")
    assert get_font("inter", 400, 40, script="cjk", lang="ja").getname()[0] == "Noto Sans CJK JP"
    # ... bold from the bold OTF (its regional forms come from raqm's language=)
    assert get_font("inter", 700, 40, script="cjk", lang="zh-Hans").getname() == (
        "Noto Sans CJK TC",
        "Bold",
    )


def _comma_center_x(font, language: str) -> float:
    """Ink centre of a full-width comma shaped after "一", relative to its em box."""
    image = Image.new("L", (300, 200), 0)
    ImageDraw.Draw(image).text((0, 150), "一，", font=font, fill=255, anchor="ls", language=language)
    x0, _, x1, _ = image.crop((100, 0, 300, 200)).getbbox()  # "一" is 100 px wide
    return (x0 + x1) / 2


def test_bold_cjk_comma_sits_in_the_corner_for_simplified_and_centred_for_traditional():
    # given the bold face (TC by default) at 100 px, its em box 100 px wide
    font = get_font("inter", 700, 100, script="cjk")
    # when a full-width comma in Han context is shaped as Simplified and as Traditional
    simplified = _comma_center_x(font, "zh-Hans")
    traditional = _comma_center_x(font, "zh-Hant")
    # then the mainland comma is in the left third, the Taiwanese one centred
    assert simplified < 33
    assert 40 < traditional < 60


def test_font_for_char_picks_family_then_noto_sans_then_cjk():
    # given / when / then
    assert font_for_char("A", "playfair") == "playfair"
    assert font_for_char("“", "inter") == "inter"
    assert font_for_char("µ", "playfair") == "noto_sans"  # Playfair has no micro sign
    assert font_for_char("中", "inter") == "cjk"
    assert font_for_char("，", "inter") == "cjk"
    assert font_for_char("￥", "noto_sans") == "cjk"  # full-width forms always CJK
    assert font_for_char("セ", "inter") == "cjk"


def test_chosen_face_really_has_the_character():
    # given characters from every class we route
    chars = "Aé€$“…中，。「」セ한￥ＡÅµ"
    for family in FAMILIES:
        for ch in chars:
            # when
            face = font_for_char(ch, family)
            path, index = fonts.face_file(face, 700)
            # then its cmap (read independently) has it
            assert ord(ch) in _cmap(path, index), (family, ch, face)


def test_emoji_raise_missing_glyph_naming_them():
    # given / when
    with pytest.raises(MissingGlyph) as caught:
        font_for_char("😀", "inter")
    # then
    assert caught.value.code == "missing_glyph"
    assert caught.value.chars == ["😀"]
    assert "U+1F600 GRINNING FACE" in str(caught.value)
    assert "Emoji" in str(caught.value)


def test_missing_glyphs_lists_each_uncovered_character_once():
    # given text mixing covered symbols, emoji and a variation selector
    text = "Sale 😀 限时 ✨ ★ ✓ → 😀 ❤\ufe0f"
    # when
    missing = missing_glyphs(text, "inter")
    # then only the emoji, in order, once each; the selector is ignored
    assert missing == ["😀", "✨"]


def test_missing_glyphs_is_empty_for_shop_text():
    # given / when / then
    assert missing_glyphs("全新 iPhone 15 保护壳 限时特价 $19.99", "playfair") == []
    assert missing_glyphs("19,99\xa0€ 1\u202f234\xa0€ ￥1,999 £12.50", "montserrat") == []


def test_unknown_family_is_refused():
    # given / when / then
    with pytest.raises(InvalidSpec, match="comic_sans"):
        get_font("comic_sans", 700, 40)
    with pytest.raises(InvalidSpec, match="900"):
        get_font("inter", 950, 40)


def test_language_tags_are_normalised():
    # given / when / then
    assert normalize_lang("zh_CN") == "zh-Hans"
    assert normalize_lang("zh") == "zh-Hans"
    assert normalize_lang("zh-TW") == "zh-Hant"
    assert normalize_lang("zh-Hant-HK") == "zh-HK"
    assert normalize_lang("ja_JP") == "ja"
    assert normalize_lang("en-US") == "en-US"
    assert normalize_lang(None) is None
    with pytest.raises(InvalidSpec, match="not a language tag"):
        normalize_lang("chinese please")


def test_cjk_convention_is_inferred_from_the_text():
    # given / when / then
    assert cjk_lang_for("夏日特價，全館商品限時八折") == "zh-Hant"
    assert cjk_lang_for("夏日特价，全场商品限时八折") == "zh-Hans"
    assert cjk_lang_for("夏日セール") == "ja"
    assert cjk_lang_for("여름 세일") == "ko"
    assert cjk_lang_for("商品") == "zh-Hans"  # no evidence: Simplified
    assert cjk_lang_for("夏日特價", "zh-Hans") == "zh-Hans"  # an explicit tag wins


def test_missing_raqm_fails_loudly(monkeypatch):
    # given a Pillow without raqm (the edge of the world: its native build)
    monkeypatch.setattr(fonts.features, "check", lambda name: False)
    path, index = fonts.face_file("inter", 700)
    # when / then: the uncached loader runs the check (other tests may have cached any size)
    with pytest.raises(ModelUnavailable, match="raqm"):
        fonts.load_font.__wrapped__(path, index, 7, 700)
