"""Segmentation quality and speed on the realistic photo set, new vs old, in one run.

    .venv/bin/python bench/bench_segment.py [--repeat 1] [--cases NAME ...]

For each photo of ``tests/photoset.py`` (2-3 MP): IoU and boundary F-score (4 px)
against the exact matte, and seconds, for the classical segmenter of this checkout
(with its matte confidence; a trusted matte under IoU 0.95 is counted at the end)
and for the previous one (commit ``BASELINE``, loaded from git history into a private
module so both run in this process, on the same machine and load). "refused" is a
segmenter declining the photo. Then the preview path (upload -> cutout) and one
refinement step (box + keep strokes) on the busy set. Times are medians of
``--repeat`` runs after one untimed warm-up; ratios (new / old) matter more than
seconds on a shared machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.bench_stages import timed as stages_timed  # noqa: E402
from generation.errors import SegmentationFailed  # noqa: E402
from generation.segment import segment  # noqa: E402
from generation.segment.metrics import boundary_f, iou  # noqa: E402
from generation.segment.preview import preview_segment  # noqa: E402
from generation.segment.refine import preview_image, refine_matte, scale_strokes  # noqa: E402
from tests.photoset import CASES, make_case  # noqa: E402

# The commit whose classical segmenter (border polynomial + GrabCut + pymatting) is the baseline.
BASELINE = "9379810"
_OLD_MODULES = ("backdrop", "matte", "soft_edges", "classical")


def load_baseline() -> Callable[[Any], Any] | None:
    """The old ``segment_classical`` from git history, or None outside a git checkout."""
    package = types.ModuleType("baseline_segment")
    package.__path__ = []  # a namespace for the old modules
    sys.modules["baseline_segment"] = package
    for name in _OLD_MODULES:
        try:
            source = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{BASELINE}:generation/segment/{name}.py"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        source = source.replace("generation.segment.", "baseline_segment.")
        spec = importlib.util.spec_from_loader(f"baseline_segment.{name}", loader=None)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[spec.name] = module  # type: ignore[union-attr]
        exec(compile(source, f"{BASELINE}:{name}.py", "exec"), module.__dict__)  # noqa: S102
    return sys.modules["baseline_segment.classical"].segment_classical


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """``bench_stages.timed`` (median after a warm-up), or (0, the error) when refused."""
    try:
        return stages_timed(fn, repeat)
    except SegmentationFailed as exc:
        return 0.0, exc


def score(result: Any, truth: np.ndarray) -> str:
    if isinstance(result, SegmentationFailed):
        return f"{'refused':>15}"
    matte = np.asarray(result.matte)
    return f"{iou(matte, truth):7.3f} {boundary_f(matte, truth, tolerance=4):7.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    args = parser.parse_args()

    old = load_baseline()
    if old is None:
        print(f"baseline {BASELINE} not found in git history: old columns are skipped", file=sys.stderr)
    print(
        f"{'case':<20} {'old IoU':>7} {'old BF':>7} {'old s':>6} | {'new IoU':>7} {'new BF':>7} {'new s':>6} "
        "| new/old time | new confidence"
    )
    wrong_but_trusted = []
    for name in args.cases:
        case = make_case(name)
        new_t, new = timed(lambda case=case: segment(case.photo, "classical"), args.repeat)
        if old is not None:
            old_t, old_result = timed(lambda case=case: old(case.photo), args.repeat)
            old_cols = f"{score(old_result, case.alpha)} {old_t:6.2f}"
            ratio = f"{new_t / old_t:6.2f}" if old_t and new_t else "     -"
        else:
            old_cols, ratio = f"{'-':>22}", "     -"
        mp = case.photo.width * case.photo.height / 1e6
        trust = "" if isinstance(new, SegmentationFailed) else f"{new.confidence:.3f}"
        if trust and not new.low_confidence and iou(np.asarray(new.matte), case.alpha) < 0.95:
            wrong_but_trusted.append(name)
        print(
            f"{name:<20} {old_cols} | {score(new, case.alpha)} {new_t:6.2f} | {ratio}   ({mp:.1f} MP) {trust}"
        )
    print(f"trusted with IoU under 0.95 (new): {len(wrong_but_trusted)} {wrong_but_trusted}")

    # the upload preview and one refinement step, against the full classical cutout
    busy = make_case("busy_styled_set")
    gradient = make_case("gradient_sweep")
    full_t, _ = timed(lambda: segment(gradient.photo, "classical"), args.repeat)
    preview_t, _ = timed(lambda: preview_segment(gradient.photo, "classical"), args.repeat)
    small = preview_image(busy.photo)
    scale = small.width / busy.photo.width
    x, y, w, h = busy.box
    box = tuple(round(v * scale) for v in (x - 60, y - 60, w + 120, h + 120))
    keep = np.zeros(busy.mask.shape, np.uint8)
    ys, xs = np.nonzero(cv2.erode(busy.mask.astype(np.uint8), np.ones((41, 41), np.uint8)))
    cv2.line(keep, (int(xs.mean()), int(ys.min())), (int(xs.mean()), int(ys.max())), 255, 12)
    refine_t, refined = timed(
        lambda: refine_matte(small, box=box, keep=scale_strokes(keep, small.size)), args.repeat
    )
    truth = cv2.resize(busy.alpha, small.size, interpolation=cv2.INTER_AREA)
    print()
    print(f"classical cutout, full 3.1 MP      {full_t:6.2f} s  (target <= 2 s on 2 cores)")
    print(
        f"upload preview (1024 px)           {preview_t:6.2f} s  ({preview_t / full_t:.2f} of the full cutout; target <= 3 s)"
    )
    print(
        f"refine step on the preview         {refine_t:6.2f} s  IoU {iou(np.asarray(refined.matte), truth):.3f}  (target <= 1 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
