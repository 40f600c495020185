"""Reference posters: prove that a speed change leaves every poster as it was.

    PYTHONPATH=. .venv/bin/python bench/poster_references.py render /tmp/ref --commit main
    PYTHONPATH=. .venv/bin/python bench/poster_references.py render /tmp/new
    PYTHONPATH=. .venv/bin/python bench/poster_references.py compare /tmp/ref /tmp/new

``render`` draws every template x size preset with short and long English and Chinese
words (the poster tests' four), once on the template's own background and once on a
1600 x 1600 studio scene (square, so taller and wider canvases rebuild the set), and
writes each poster's pixels (PNG) and layout JSON into the folder: 560 posters. With
``--commit`` the poster code is taken from that commit (``git archive``) instead of this
working tree. ``compare`` says which posters differ in layout JSON or pixels, with the
largest and mean pixel difference of those that do, and exits 1 if any differ.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
# the poster tests' four, copied on purpose: importing them would import this tree's poster
# code before ``--commit``'s, and the references must use the same words at every commit
WORDS = {
    "short-en": dict(
        headline="Stays cold for 24 hours", subline="Double-wall steel, 750 ml.", price="29.99",
        compare_at_price="45", currency="USD", locale="en_US", cta="Shop now", ribbon="New",
    ),
    "short-zh": dict(
        headline="24小时保冷 随身好水杯", subline="双层真空不锈钢，750毫升", price="199",
        compare_at_price="299", currency="CNY", locale="zh_CN", cta="立即购买", ribbon="新品",
    ),
    "long-en": dict(
        headline="The everyday insulated steel bottle that keeps your drinks ice cold for a full day and hot until night!",
        subline="Double-wall vacuum insulation, a leak-proof lid, fits every cup holder and is dishwasher safe.",
        price="1299.99", compare_at_price="1899", currency="USD", locale="en_US",
        cta="Get yours today", ribbon="Limited edition",
    ),
    "long-zh": dict(
        headline="全新升级双层真空保温杯 二十四小时长效保冷保热 出行办公两相宜 限时特价抢购中 一口爱上",
        subline="食品级不锈钢内胆，一键弹盖防漏设计，适配车载杯架，可放入洗碗机清洗，满99元包邮。",
        price="1299", compare_at_price="1899", currency="CNY", locale="zh_CN", cta="立即抢购", ribbon="限时特价",
    ),
}  # fmt: skip


def render(root: Path, out: Path, match: str = "") -> int:
    """Every reference poster drawn by the poster code under ``root``, written to ``out``."""
    sys.path.insert(0, str(root))
    # the code under test is the one found first on sys.path: imported here on purpose
    from generation.config import GenerationConfig
    from generation.engines.studio import StudioEngine
    from generation.errors import GenerationError
    from generation.posters.render import render_poster
    from generation.posters.sizes import list_sizes
    from generation.posters.spec import PosterSpec
    from generation.posters.template import list_templates
    from generation.segment import segment
    from generation.specs import SceneSpec
    from tests.synthetic import product_photo

    photo, mask = product_photo((1200, 1200), "gradient")
    seg = segment(photo, "alpha", GenerationConfig(), mask=mask)
    scene = StudioEngine(GenerationConfig()).render(
        seg, SceneSpec(theme="marble_counter", width=1600, height=1600)
    )[0]
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for template in sorted(list_templates()):
        for size in list_sizes():
            for words, values in WORDS.items():
                for on, background in (("own", None), ("scene", scene)):
                    name = f"{template}-{size}-{words}-{on}"
                    if match not in name:
                        continue
                    spec = PosterSpec(template=template, size=size, **values)
                    try:
                        poster = render_poster(seg, spec, background=background)
                    except GenerationError as exc:  # a refusal is a result too
                        (out / f"{name}.error").write_text(f"{type(exc).__name__}: {exc}\n")
                        continue
                    poster.image.save(out / f"{name}.png", compress_level=1)
                    (out / f"{name}.layout.json").write_text(json.dumps(poster.layout, ensure_ascii=False))
                    count += 1
    print(f"{count} posters in {out}")
    return 0


def compare(a: Path, b: Path, match: str = "") -> int:
    names = sorted({p.name.split(".")[0] for p in a.iterdir()} | {p.name.split(".")[0] for p in b.iterdir()})
    names = [name for name in names if match in name]
    differ = 0
    for name in names:
        problems = []
        for suffix in (".error", ".layout.json"):
            fa, fb = a / f"{name}{suffix}", b / f"{name}{suffix}"
            if fa.exists() != fb.exists() or (fa.exists() and fa.read_bytes() != fb.read_bytes()):
                problems.append(suffix.lstrip("."))
        pa, pb = a / f"{name}.png", b / f"{name}.png"
        if pa.exists() and pb.exists():
            ia, ib = np.asarray(Image.open(pa)), np.asarray(Image.open(pb))
            if ia.shape != ib.shape:
                problems.append(f"size {ia.shape} vs {ib.shape}")
            elif not np.array_equal(ia, ib):
                d = np.abs(ia.astype(np.int16) - ib.astype(np.int16))
                problems.append(
                    f"pixels: max {d.max()}, mean {d.mean():.5f}, {int((d.max(axis=2) > 0).sum())} px"
                )
        elif pa.exists() != pb.exists():
            problems.append("png")
        if problems:
            differ += 1
            print(f"{name}: {'; '.join(problems)}")
    print(f"{len(names)} posters, {differ} differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    draw = sub.add_parser("render", help="draw the reference posters into a folder")
    draw.add_argument("out", type=Path)
    draw.add_argument("--commit", help="draw with the poster code of this commit instead of the working tree")
    draw.add_argument("--match", default="", help="only the posters whose name holds this, e.g. -story-")
    draw.add_argument("--root", type=Path, default=REPO, help=argparse.SUPPRESS)
    check = sub.add_parser("compare", help="compare two folders drawn by render")
    check.add_argument("a", type=Path)
    check.add_argument("b", type=Path)
    check.add_argument("--match", default="", help="only the posters whose name holds this")
    args = parser.parse_args()
    if args.command == "compare":
        return compare(args.a, args.b, args.match)
    if args.commit is None:
        return render(args.root, args.out, args.match)
    with tempfile.TemporaryDirectory(prefix="poster-references-") as tmp:
        archive = subprocess.run(
            [
                "git",
                "-C",
                str(REPO),
                "archive",
                args.commit,
                "generation",
                "tests/__init__.py",
                "tests/synthetic.py",
            ],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        cmd = [
            sys.executable,
            __file__,
            "render",
            str(args.out.resolve()),
            "--root",
            tmp,
            f"--match={args.match}",
        ]
        return subprocess.run(cmd, cwd=tmp, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
