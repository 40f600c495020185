"""Per-stage timings of one synthetic 2000x2000 product photo through the library.

    .venv/bin/python bench/bench_stages.py [--repeat 3] [--size 2000]

Each stage runs ``--repeat`` times in this one process (after one untimed warm-up
run); the table shows the median seconds and each stage's share of the summed
medians, so stages compare side by side on the same machine and load.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from generation.compose import fit_box, measure_fidelity, paste_back, place_product  # noqa: E402
from generation.cutout import render_cutout  # noqa: E402
from generation.normalize import normalize_image  # noqa: E402
from generation.packshot import check_packshot, render_packshot  # noqa: E402
from generation.segment import segment  # noqa: E402
from generation.sidecar import write_outputs  # noqa: E402
from generation.specs import PackshotSpec, SceneSpec  # noqa: E402
from tests.synthetic import product_photo, product_rgba  # noqa: E402


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = fn()  # warm-up: first-call imports and caches are not the stage's cost
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=2000, help="photo side in px")
    args = parser.parse_args()

    side = args.size
    photo, _ = product_photo((side, side), "gradient")
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=92)
    jpeg = buf.getvalue()
    rgba = product_rgba((side, side))

    rows: list[tuple[str, float]] = []

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        seconds, result = timed(fn, args.repeat)
        rows.append((name, seconds))
        print(f"  {name:<34} {seconds:8.3f} s", file=sys.stderr)
        return result

    print(f"{side}x{side} synthetic photo, JPEG {len(jpeg) / 1e6:.2f} MB", file=sys.stderr)
    normalized = stage("normalize (JPEG decode)", lambda: normalize_image(jpeg))
    seg = stage("segment: classical", lambda: segment(normalized.image, "classical"))
    stage("segment: alpha (RGBA upload)", lambda: segment(rgba, "alpha"))
    stage("cutout", lambda: render_cutout(seg))
    packshot = stage("packshot 2000 (with shadow)", lambda: render_packshot(seg, PackshotSpec()))
    stage("check_packshot", lambda: check_packshot(packshot.image))

    if importlib.util.find_spec("generation.engines.studio") is not None:
        from generation.engines import get_engine

        engine = get_engine("studio")
        spec = SceneSpec(count=1, width=1600, height=1600)
        stage("studio scene 1600x1600 (1 image)", lambda: engine.render(seg, spec))
    else:
        print("  (studio engine not present: scene stage skipped)", file=sys.stderr)

    def paste_and_measure() -> Any:
        canvas = (2000, 2000)
        placed = place_product(seg.cutout, canvas, fit_box(seg.cutout.size, canvas, fill=0.6))
        out = paste_back(Image.new("RGB", canvas, (200, 190, 180)), placed)
        return measure_fidelity(out, placed)

    stage("place + paste_back + fidelity 2000", paste_and_measure)
    with tempfile.TemporaryDirectory() as tmp:
        stage("write packshot PNG + sidecar", lambda: write_outputs([packshot], tmp, stem="b"))

    total = sum(seconds for _, seconds in rows)
    slowest = max(seconds for _, seconds in rows)
    print(f"\nPython {platform.python_version()}, {platform.machine()}, repeat={args.repeat}")
    print(f"{'stage':<36} {'median s':>9} {'share':>7} {'x fastest':>10}")
    fastest = min(seconds for _, seconds in rows)
    for name, seconds in rows:
        bar = "#" * round(30 * seconds / slowest)
        print(f"{name:<36} {seconds:9.3f} {seconds / total:7.1%} {seconds / fastest:10.1f}  {bar}")
    print(f"{'total':<36} {total:9.3f} {1:7.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
