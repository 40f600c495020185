"""Poster render times per size, and a whole set of sizes from one scene.

    .venv/bin/python bench/bench_posters.py [--repeat 3] [--template split_panel]

One synthetic photo is segmented once and one studio scene (1600 x 1600) is painted
once; then, in this one process, each size preset is rendered ``--repeat`` times
(after an untimed warm-up) from that scene, and the whole set of sizes is rendered
``--repeat`` times. The table prints median seconds, each size's time relative to the
feed size, and the set's time relative to one feed poster and to the sum of the single
sizes, all measured side by side in this run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generation.config import GenerationConfig  # noqa: E402
from generation.engines.studio import StudioEngine  # noqa: E402
from generation.posters.render import render_poster  # noqa: E402
from generation.posters.sizes import list_sizes  # noqa: E402
from generation.posters.spec import PosterSpec  # noqa: E402
from generation.segment import segment  # noqa: E402
from generation.specs import SceneSpec  # noqa: E402
from tests.synthetic import product_photo  # noqa: E402


def timed(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: font loading and first-call caches are not the render's cost
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--template", default="split_panel", help="a scene template shows the mapping cost")
    parser.add_argument("--side", type=int, default=1200, help="synthetic photo side in px")
    args = parser.parse_args()

    photo, mask = product_photo((args.side, args.side), "gradient")
    seg = segment(photo, "alpha", GenerationConfig(), mask=mask)
    scene = StudioEngine(GenerationConfig()).render(
        seg, SceneSpec(theme="marble_counter", width=1600, height=1600)
    )[0]
    sizes = list(list_sizes())

    def spec(size: str) -> PosterSpec:
        return PosterSpec(
            template=args.template, size=size, headline="Stays cold for 24 hours",
            subline="Double-wall steel bottle, 750 ml.", price="29.99", compare_at_price="45", ribbon="New",
        )  # fmt: skip

    single = {s: timed(lambda s=s: render_poster(seg, spec(s), background=scene), args.repeat) for s in sizes}
    whole = timed(lambda: [render_poster(seg, spec(s), background=scene) for s in sizes], args.repeat)

    print(
        f"# posters: template {args.template}, scene 1600x1600, {platform.processor() or platform.machine()}"
    )
    print(f"{'size':<12} {'WxH':>10} {'median s':>9} {'x feed':>7}")
    for s in sizes:
        preset = list_sizes()[s]
        print(
            f"{s:<12} {preset.width:>4}x{preset.height:<5} {single[s]:>9.3f} {single[s] / single['feed']:>7.2f}"
        )
    total = sum(single.values())
    print(
        f"{'whole set':<12} {len(sizes):>4} sizes {whole:>9.3f} {whole / single['feed']:>7.2f}"
        f"   (sum of singles {total:.3f} s, set / sum = {whole / total:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
