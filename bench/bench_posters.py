"""Poster render times per size against the implementation before the typography split.

    .venv/bin/python bench/bench_posters.py [--repeat 5] [--template split_panel] [--rounds 2]

The baseline is the poster code as it was at commit ``BASELINE`` (``--baseline``),
taken from this repository with ``git archive`` into a temporary folder, so both are
measured side by side in this one run, on this machine, under the same load. Each
implementation runs in a worker process of its own; the workers take turns
(``--rounds`` each) so drifting load hits both alike.

A worker segments one synthetic photo, paints one 1600 x 1600 studio scene with its own
code, then renders every size preset on that scene ``--repeat`` times after an untimed
warm-up, emptying the poster renderer's background cache before every timed render (a
set renders each size once, so a cached set would flatter it). The text measuring caches,
the fitted text blocks and the badge's candidate places are emptied too, so a timed
render gains from them only within itself.

What stays warm between timed renders is what a worker process keeps for every
poster whatever its words and size: loaded fonts and the seeded grain (one tile per
seed, one band of it per canvas width).

The table prints, per size, the median wall-clock milliseconds for both, new / old,
and, on a canvas 1080 px wide, new / the target of 150 ms per poster and whether it
meets it; then the same in CPU milliseconds of the worker process (all its threads),
which a busy shared machine inflates much less than wall-clock time. The load
average before and after the run is printed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BASELINE = "9379810"  # main before generation/typography/ existed
TARGET_MS = 150.0  # per poster, canvases 1080 px wide
WORDS: dict[str, Any] = dict(
    headline="Stays cold for 24 hours",
    subline="Double-wall steel bottle, 750 ml.",
    price="29.99",
    compare_at_price="45",
    ribbon="New",
)


def worker(root: Path, template: str, repeat: int) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds of every size preset rendered by the poster code under ``root``."""
    sys.path.insert(0, str(root))
    # the code under test is the one found first on sys.path: imported here on purpose
    from generation.config import GenerationConfig
    from generation.engines.studio import StudioEngine
    from generation.posters import render as poster_render
    from generation.posters.spec import PosterSpec
    from generation.segment import segment
    from generation.specs import SceneSpec
    from tests.synthetic import product_photo

    try:
        from generation.posters.sizes import list_sizes
    except ImportError:  # the baseline kept sizes in the layout module
        from generation.posters.layout import list_sizes  # type: ignore[no-redef]

    photo, mask = product_photo((1200, 1200), "gradient")
    seg = segment(photo, "alpha", GenerationConfig(), mask=mask)
    scene = StudioEngine(GenerationConfig()).render(
        seg, SceneSpec(theme="marble_counter", width=1600, height=1600)
    )[0]
    # Empty the per-process caches that a repeated render would hit but a set of
    # different sizes would not: studio sets, and (new code) measured text.
    caches = [poster_render._theme_cache.clear]
    try:
        from generation.typography import shaping

        caches += [shaping.run_length.cache_clear, shaping.piece_ink.cache_clear]
        if hasattr(shaping, "piece_mask"):  # the letters' coverage (not kept before)
            caches.append(shaping.piece_mask.cache_clear)
    except ImportError:  # the baseline had no typography package
        pass
    try:
        from generation.typography.fit import clear_fitted

        caches.append(clear_fitted)
    except ImportError:  # the baseline kept no fitted blocks
        pass
    try:
        from generation.posters.marks import _rings

        caches.append(_rings.cache_clear)
    except ImportError:  # the baseline searched for a badge's place ring by ring
        pass
    times: dict[str, dict[str, list[float]]] = {"wall": {}, "cpu": {}}
    for size in list_sizes():
        spec = PosterSpec(template=template, size=size, **WORDS)
        poster_render.render_poster(seg, spec, background=scene)  # warm-up: fonts, first-call caches
        wall, cpu = times["wall"].setdefault(size, []), times["cpu"].setdefault(size, [])
        for _ in range(repeat):
            for cache in caches:
                cache()
            start, start_cpu = time.perf_counter(), time.process_time()
            poster_render.render_poster(seg, spec, background=scene)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return times


def baseline_tree(commit: str, into: Path) -> Path:
    """The baseline's library and synthetic photos, extracted from git into ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "generation", "tests/__init__.py", "tests/synthetic.py"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_worker(root: Path, args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    cmd = [sys.executable, __file__, "--worker", str(root), "--template", args.template]
    cmd += ["--repeat", str(args.repeat)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--template", default="split_panel", help="split_panel puts the poster on the scene")
    parser.add_argument("--baseline", default=BASELINE, help="commit of the implementation to compare with")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.template, args.repeat)))
        return 0

    sys.path.insert(0, str(REPO))
    from generation.posters.sizes import list_sizes

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-posters-") as tmp:
        old_root = baseline_tree(args.baseline, Path(tmp))
        old: dict[str, dict[str, list[float]]] = {"wall": {}, "cpu": {}}
        new: dict[str, dict[str, list[float]]] = {"wall": {}, "cpu": {}}
        for _ in range(args.rounds):  # take turns so drifting load hits both alike
            for times, root in ((old, old_root), (new, REPO)):
                for clock, per_size in run_worker(root, args).items():
                    for size, values in per_size.items():
                        times[clock].setdefault(size, []).extend(values)
    load_after = os.getloadavg()

    print(
        f"# posters: template {args.template} on a 1600x1600 studio scene, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {args.rounds} x {args.repeat} renders per size and implementation, medians; "
        f"old = commit {args.baseline}"
        + (" (the poster code before generation/typography/ existed)" if args.baseline == BASELINE else "")
        + ", new = this working tree, both measured in this run"
    )
    print(f"# load average (1, 5, 15 min): before {_load(load_before)}, after {_load(load_after)}")
    for clock in ("wall", "cpu"):
        print(
            f"{'size':<12} {'WxH':>10} {'old ms':>8} {'new ms':>8} {'new/old':>8} {'new/target':>10}"
            f"  target ({clock} clock)"
        )
        for name, preset in list_sizes().items():
            o = statistics.median(old[clock][name]) * 1000
            n = statistics.median(new[clock][name]) * 1000
            ratio, target = "", ""
            if preset.width == 1080:
                ratio = f"{n / TARGET_MS:.2f}"
                target = ("ok" if n <= TARGET_MS else "OVER") + f" <= {TARGET_MS:.0f} ms"
            print(
                f"{name:<12} {preset.width:>4}x{preset.height:<5} {o:>8.0f} {n:>8.0f} {n / o:>8.2f} "
                f"{ratio:>10}  {target}"
            )
        total_old = sum(statistics.median(v) for v in old[clock].values()) * 1000
        total_new = sum(statistics.median(v) for v in new[clock].values()) * 1000
        print(f"{'all sizes':<12} {'':>10} {total_old:>8.0f} {total_new:>8.0f} {total_new / total_old:>8.2f}")
    return 0


def _load(avg: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.1f}" for v in avg)


if __name__ == "__main__":
    raise SystemExit(main())
