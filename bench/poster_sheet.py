"""Every poster template at every size with short and long English and Chinese words: the
type sizes each one sets, and the posters themselves to look at.

    PYTHONPATH=. .venv/bin/python bench/poster_sheet.py [--out DIR] [--baseline COMMIT]
        [--template T ...] [--size S ...] [--words W ...]

Prints one row per template x size x words: the headline's px and lines, the subline's px
and lines, headline / subline, the px the lowest element ends above (+) or inside (-) the
last 8 % of the safe area (tall and square canvases; the band a layout is meant to reach,
and a negative value under -0.08 x its height would be words on the bottom margin), the
product box's share of the canvas's area, and the layout's fallbacks. With ``--out`` every
poster is written there as PNG
(``TEMPLATE-SIZE-WORDS.png``). With ``--baseline`` the same is done for the poster code at
that commit (taken with ``git archive`` into a temporary folder, run in a process of its
own), its PNGs under ``DIR/old/``, and each row prints old -> new.

The words are the poster tests' (``tests/generation/test_posters.py``: a 103-character
English headline and a 44-character Chinese one) plus a 105-character English headline
(``longest-en``) and the tests' 105-character Chinese one (``longest-zh``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# the poster tests' 105-character English headline (kept here too: a baseline's tests lack it)
LONGEST_EN = "The insulated steel bottle that keeps your drinks ice cold all day long and still warm till late at night"


def words() -> dict[str, dict[str, Any]]:
    from tests.generation import test_posters

    words = test_posters.WORDS
    out = {k: words[k] for k in ("short-en", "short-zh", "long-en", "long-zh", "longest-zh")}
    out["longest-en"] = dict(words["long-en"], headline=LONGEST_EN)  # a baseline's tests lack it
    return out


def worker(root: Path, out: Path | None, templates: list[str], sizes: list[str], names: list[str]) -> dict:
    """The measures of every poster rendered by the poster code under ``root``."""
    sys.path.insert(0, str(root))
    # the code under test is the one found first on sys.path: imported here on purpose
    from generation.posters.render import render_poster
    from generation.posters.sizes import list_sizes
    from generation.posters.spec import PosterSpec
    from generation.posters.template import list_templates
    from tests.generation.test_posters import _seg

    seg = _seg()
    all_words = words()
    rows = {}
    for template in templates or list_templates():
        for size in sizes or list(list_sizes()):
            for name in names or list(all_words):
                try:
                    poster = render_poster(seg, PosterSpec(template=template, size=size, **all_words[name]))
                except Exception as exc:  # a refusal is a result here
                    rows[f"{template} {size} {name}"] = {"error": f"{type(exc).__name__}: {exc}"}
                    continue
                if out is not None:
                    poster.image.save(out / f"{template}-{size}-{name}.png")
                rows[f"{template} {size} {name}"] = measure(poster.layout)
    return rows


def measure(layout: dict[str, Any]) -> dict[str, Any]:
    fonts = {s["name"]: s["font"] for s in layout["slots"] if "font" in s}
    w, h = layout["size"]["width"], layout["size"]["height"]
    zone = layout["size"]["safe_zone"]
    row: dict[str, Any] = {"fallbacks": layout["fallbacks"]}
    _, _, pw, ph = layout["product_box"]
    row["product"] = round(100 * pw * ph / (w * h), 1)  # the product box's share of the canvas, %
    for name in ("headline", "subline"):
        if name in fonts:
            row[name] = [fonts[name]["size"], len(fonts[name]["lines"])]
    if h >= w:
        panels = [s["box"] for s in layout["shapes"] if s["kind"] == "panel"]
        boxes = [layout["product_box"], *(s.get("ink", s["box"]) for s in layout["slots"]), *panels]
        bottom = max(b[1] + b[3] for b in boxes)
        band = h - zone["bottom"] - 0.08 * (h - zone["top"] - zone["bottom"])
        row["above_band"] = round(band - bottom)
    return row


def run_worker(root: Path, out: Path | None, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", str(root)]
    if out is not None:
        cmd += ["--out", str(out)]
    for flag in ("template", "size", "words"):
        for value in getattr(args, flag) or []:
            cmd += [f"--{flag}", value]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    if "error" in row:
        return "refused"
    head, sub = row.get("headline"), row.get("subline")
    text = f"{head[0]}px/{head[1]}l" if head else "no headline"
    text += f" sub {sub[0]}px/{sub[1]}l" if sub else " no sub"
    if head and sub:
        text += f" x{head[0] / sub[0]:.2f}"
    if "above_band" in row:
        text += f" end {row['above_band']:+d}"
    if "product" in row:
        text += f" prod {row['product']:.1f}%"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--baseline", help="commit of the poster code to compare with")
    parser.add_argument("--template", action="append")
    parser.add_argument("--size", action="append")
    parser.add_argument("--words", action="append")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        rows = worker(args.worker, args.out, args.template or [], args.size or [], args.words or [])
        print(json.dumps(rows))
        return 0
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    new = run_worker(REPO, args.out, args)
    old: dict[str, Any] = {}
    if args.baseline:
        with tempfile.TemporaryDirectory(prefix="poster-sheet-") as tmp:
            archive = subprocess.run(
                ["git", "-C", str(REPO), "archive", args.baseline, "generation", "tests/__init__.py",
                 "tests/synthetic.py", "tests/generation/__init__.py", "tests/generation/test_posters.py"],
                check=True, capture_output=True,
            ).stdout  # fmt: skip
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            old_out = None
            if args.out is not None:
                old_out = args.out / "old"
                old_out.mkdir(exist_ok=True)
            old = run_worker(Path(tmp), old_out, args)
    changed = 0
    for key, row in new.items():
        before = old.get(key)
        if args.baseline and before is not None and _cell(before) == _cell(row):
            continue
        changed += 1
        line = f"{key:<42} " + (f"{_cell(before)} -> " if args.baseline else "") + _cell(row)
        print(line + ("  [" + "; ".join(row.get("fallbacks", [])) + "]" if row.get("fallbacks") else ""))
    if args.baseline:
        print(f"# {changed} of {len(new)} posters changed against {args.baseline}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
