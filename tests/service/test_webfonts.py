"""The CJK web font: WOFF2 slices cut from the installed Noto Sans CJK, with a stylesheet
whose unicode-ranges match what each slice holds."""

from __future__ import annotations

import re

from fontTools.ttLib import TTFont

from shop_assets.dashboard.webfonts import FAMILY, build_webfonts, default_codepoints


def test_slices_hold_exactly_their_unicode_range(tmp_path):
    text = "保温杯限时特价ひらがなカタカナ丝绸"
    codepoints = sorted({ord(c) for c in text})

    css_path = build_webfonts(tmp_path, codepoints=codepoints, slice_size=6)

    css = css_path.read_text()
    faces = re.findall(r'src:url\("(cjk-\d+\.woff2)"\) format\("woff2"\);unicode-range:([^;]+);', css)
    assert len(faces) == 3  # 16 distinct characters in slices of 6
    assert css.count(f'font-family:"{FAMILY}"') == 3
    seen: set[int] = set()
    for name, ranges in faces:
        listed = {int(part.strip()[2:], 16) for part in ranges.split(",")}
        with TTFont(tmp_path / name) as font:
            assert font.flavor == "woff2"
            assert set(font.getBestCmap()) == listed
        seen |= listed
    assert seen == set(codepoints)


def test_rebuild_is_skipped_when_nothing_changed_and_forced_otherwise(tmp_path):
    css_path = build_webfonts(tmp_path, codepoints=[ord("中")], slice_size=10)
    first = (tmp_path / "cjk-00.woff2").stat().st_mtime_ns

    build_webfonts(tmp_path, codepoints=[ord("中")], slice_size=10)
    assert (tmp_path / "cjk-00.woff2").stat().st_mtime_ns == first

    build_webfonts(tmp_path, codepoints=[ord("中"), ord("文")], slice_size=10)
    assert (tmp_path / "cjk-00.woff2").stat().st_mtime_ns != first
    assert "U+4E2D, U+6587" in css_path.read_text()


def test_default_set_covers_simplified_traditional_and_kana_but_not_latin():
    codepoints = set(default_codepoints())

    for char in "保温杯這個價錢ひカ。，":
        assert ord(char) in codepoints, char
    assert not any(cp < 0x2E80 for cp in codepoints)
    assert 9_000 < len(codepoints) < 10_000  # GB 2312 and Big5 level 1 overlap by about 3,000
