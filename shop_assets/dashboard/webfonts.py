"""The dashboard's CJK web font, cut from the Noto Sans CJK package at install time.

A machine without a CJK font would show Chinese and Japanese product titles as empty boxes.
``build_webfonts`` subsets Noto Sans CJK SC (the ``noto-cjk-sans-otc`` package, already a
requirement for posters) to the characters of GB 2312 and Big5's frequent level, in slices of
a few hundred characters, each a WOFF2 file with its own ``unicode-range``: a browser fetches
only the slices a page's text needs, and a page with no CJK text fetches none. Nothing is
downloaded; the output is static files under ``dashboard/fonts/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FAMILY = "ShopAssets Sans CJK"
OUTPUT_DIR = Path(__file__).resolve().parent / "static" / "dashboard" / "fonts"
CSS_NAME = "cjk.css"
SLICE_SIZE = 400
SC_FACE = 2  # face order inside NotoSansCJK-Regular.ttc: JP, KR, SC, TC, HK
# One regular face, declared as weight 400 (not a 100-900 range): a bold heading then gets
# the browser's synthetic bold instead of regular-weight CJK beside bold Latin letters.
FACE = "font-style:normal;font-weight:400;font-display:swap;"


def cjk_font_path() -> Path:
    path = Path(str(resources.files("noto_cjk_sans_otc").joinpath("NotoSansCJK-Regular.ttc")))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall it with `pip install -r requirements.txt`")
    return path


def _double_byte(encoding: str, leads: range, trails: Iterable[int]) -> set[int]:
    trails = list(trails)
    found: set[int] = set()
    for lead in leads:
        for trail in trails:
            try:
                found.update(ord(c) for c in bytes([lead, trail]).decode(encoding))
            except UnicodeDecodeError:
                continue
    return found


def default_codepoints() -> list[int]:
    """GB 2312 (6,763 hanzi, kana, CJK punctuation, full-width forms) and Big5 level 1
    (5,401 frequent traditional characters), from U+2E80 on: Latin, Greek and Cyrillic
    letters in these sets are left to the Latin fonts listed before this one."""
    gb = _double_byte("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))
    big5 = _double_byte("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
    return sorted(cp for cp in gb | big5 if cp >= 0x2E80)


def _ranges(codepoints: list[int]) -> str:
    """``[0x4e00, 0x4e01, 0x4e03]`` -> ``U+4E00-4E01, U+4E03`` (sorted input)."""
    spans: list[list[int]] = []
    for cp in codepoints:
        if spans and cp == spans[-1][1] + 1:
            spans[-1][1] = cp
        else:
            spans.append([cp, cp])
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in spans)


def _fingerprint(source: Path, codepoints: list[int], slice_size: int) -> str:
    stat = source.stat()
    key = json.dumps([str(source), stat.st_size, stat.st_mtime_ns, codepoints, slice_size, FAMILY, FACE])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def build_webfonts(
    out_dir: Path = OUTPUT_DIR,
    *,
    codepoints: list[int] | None = None,
    slice_size: int = SLICE_SIZE,
    force: bool = False,
) -> Path:
    """Write the WOFF2 slices and ``cjk.css`` into ``out_dir``; returns the CSS path.

    Does nothing when the same font and characters were built there already (the CSS
    carries a fingerprint), so it is cheap to call on every install.
    """
    # 1. what to build, and whether it is built already
    source = cjk_font_path()
    codepoints = sorted(set(codepoints if codepoints is not None else default_codepoints()))
    if not codepoints:
        raise ValueError("no characters to put in the web font")
    fingerprint = _fingerprint(source, codepoints, slice_size)
    css_path = out_dir / CSS_NAME
    if not force and css_path.is_file() and fingerprint in css_path.read_text(encoding="utf-8"):
        return css_path

    # 2. one WOFF2 per slice, only the glyphs the font really has; fontTools narrates
    # every table at INFO, which the service's logging would print
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("cjk-*.woff2"):
        old.unlink()
    with TTFont(source, fontNumber=SC_FACE) as probe:
        covered = set(probe.getBestCmap())
    wanted = [cp for cp in codepoints if cp in covered]
    rules = [f"/* {FAMILY}: Noto Sans CJK SC subset, built by build_webfonts ({fingerprint}) */"]
    for index in range(0, len(wanted), slice_size):
        part = wanted[index : index + slice_size]
        name = f"cjk-{index // slice_size:02d}.woff2"
        options = subset.Options()
        options.flavor = "woff2"
        options.hinting = False
        options.desubroutinize = True
        # fontTools' default features (kerning, ligatures, locl, vert, ...), not "*": "aalt"
        # and friends would pull every alternate glyph into every slice
        with TTFont(source, fontNumber=SC_FACE) as font:
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=part)
            subsetter.subset(font)
            font.flavor = "woff2"
            font.save(out_dir / name)
        rules.append(
            "@font-face{"
            f'font-family:"{FAMILY}";{FACE}'
            f'src:url("{name}") format("woff2");unicode-range:{_ranges(part)};'
            "}"
        )

    # 3. the stylesheet last, so a half-built folder is rebuilt next time
    tmp = css_path.with_suffix(".tmp")
    tmp.write_text("\n".join(rules) + "\n", encoding="utf-8")
    tmp.replace(css_path)
    return css_path
