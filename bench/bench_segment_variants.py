"""Classical mattes on the 27 cases of the photo set: each photo as shot, with a
see-through gap across it (``with_gap``) and as a pair side by side (``side_by_side``).

    PYTHONPATH=.:tests .venv/bin/python bench/bench_segment_variants.py [--json OUT] [--against BEFORE.json]
        [--cases NAME ...] [--variants photo gap pair] [--jobs 2] [--save DIR]

For each case: IoU and boundary F (4 px) against the exact matte, the share of the gap
kept (gap variant), confidence and trusted / review, and the weakest cue. A matte under
IoU 0.95 that is trusted is flagged ``TRUSTED-WRONG``. ``--json`` writes the rows,
``--against`` prints before -> after from such a file (IoU changes over 0.002 are
marked), ``--save`` writes each matte as PNG for looking at.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bench.matte_rows import cell, classical_row  # noqa: E402
from tests.photoset import CASES, make_case, side_by_side, with_gap  # noqa: E402

VARIANTS = ("photo", "gap", "pair")


def measure(name: str, variant: str, save: Path | None) -> tuple[str, dict[str, Any]]:
    case = make_case(name)
    key = f"{name}/{variant}"
    if variant == "photo":
        photo, alpha = case.photo, case.alpha
    else:
        photo, alpha = with_gap(case) if variant == "gap" else side_by_side(case)
    row, seg = classical_row(photo, alpha)
    if seg is None:
        return key, row
    matte = np.asarray(seg.matte)
    if save is not None:
        Image.fromarray(matte).save(save / f"{name}_{variant}.png")
        photo.save(save / f"{name}_{variant}.jpg", quality=92)
    if variant == "gap":
        gap = (alpha < 0.01) & (case.alpha >= 0.99)
        row["gap_kept"] = round(float((matte[gap] >= 128).mean()), 3)
    return key, row


def _cell(row: dict[str, Any] | None) -> str:
    wrong = row is not None and not row["refused"] and not row["review"] and row["iou"] < 0.95
    return cell(row, wrong=wrong)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--against", type=Path, help="rows of an earlier run, printed as before -> after")
    parser.add_argument("--cases", nargs="*", default=[n for n in CASES if not make_case(n).refuse])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--save", type=Path, help="write each matte and photo here")
    args = parser.parse_args()
    before = json.loads(args.against.read_text()) if args.against else {}
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)

    jobs = [(name, variant) for variant in args.variants for name in args.cases]
    rows: dict[str, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(measure, name, variant, args.save) for name, variant in jobs]
        for future in futures:
            key, row = future.result()
            rows[key] = row
            if before:
                old = before.get(key)
                moved = (
                    old is not None
                    and not old["refused"]
                    and not row["refused"]
                    and abs(row["iou"] - old["iou"]) > 0.002
                )
                line = f"{key:28s} {_cell(old)}  ->  {_cell(row)}{'  *' if moved else ''}"
            else:
                line = f"{key:28s} {_cell(row)}"
                if not row["refused"]:
                    line += f"  [{row['weakest']}]"
            print(line, flush=True)
    right = [k for k, r in rows.items() if not r["refused"] and r["iou"] >= 0.98 and not r["review"]]
    print(f"right (IoU >= 0.98) and trusted: {len(right)} of {len(rows)}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
