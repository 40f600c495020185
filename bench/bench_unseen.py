"""Classical mattes and their trust on photo kinds the segmentation was never tuned on.

    PYTHONPATH=. .venv/bin/python bench/bench_unseen.py [--json OUT] [--against BEFORE.json] [--out DIR]

For each photo of ``tests/photoset_unseen.py``: IoU and boundary F (4 px) against the
exact matte, the matte's confidence, whether the job asks for review, and the weakest
cue. A trusted matte with IoU under ``WRONG_IOU`` or boundary F under ``WRONG_BF`` is
flagged ``TRUSTED-WRONG`` (the bar is none). ``--out`` writes each matte over a
checkerboard and over black, at full size, to look at.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bench.matte_rows import cell, classical_row  # noqa: E402
from tests.photoset_unseen import UNSEEN, make_unseen_case  # noqa: E402

WRONG_IOU, WRONG_BF = 0.97, 0.85


def _over(photo: Image.Image, matte: Image.Image, background: np.ndarray) -> Image.Image:
    a = np.asarray(matte, np.float32)[..., None] / 255.0
    out = np.asarray(photo, np.float32) * a + background * (1 - a)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")


def write_views(out: Path, name: str, photo: Image.Image, matte: Image.Image) -> None:
    h, w = photo.height, photo.width
    ys, xs = np.mgrid[0:h, 0:w]
    checker = np.where(((ys // 24 + xs // 24) % 2 == 0)[..., None], 200.0, 120.0) * np.ones(3)
    _over(photo, matte, checker).save(out / f"{name}_checker.png")
    _over(photo, matte, np.zeros(3)).save(out / f"{name}_dark.png")
    matte.save(out / f"{name}_matte.png")


def measure(name: str, out: Path | None) -> dict[str, Any]:
    case = make_unseen_case(name)
    row, seg = classical_row(case.photo, case.alpha)
    if seg is not None and out is not None:
        write_views(out, name, case.photo, seg.matte)
    return row


def wrong_but_trusted(row: dict[str, Any]) -> bool:
    return not row["refused"] and not row["review"] and (row["iou"] < WRONG_IOU or row["bf"] < WRONG_BF)


def _cell(row: dict[str, Any] | None) -> str:
    return cell(row, wrong=row is not None and wrong_but_trusted(row))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--against", type=Path, help="rows of an earlier run, printed as before -> after")
    parser.add_argument("--out", type=Path, help="write each matte over a checkerboard and over black here")
    parser.add_argument("--cases", nargs="*", default=list(UNSEEN))
    args = parser.parse_args()
    before = json.loads(args.against.read_text()) if args.against else {}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict[str, Any]] = {}
    for name in args.cases:
        rows[name] = row = measure(name, args.out)
        line = f"{name:26s} {_cell(row)}"
        line += f"  [{row['weakest']}]" if not row["refused"] else f"  ({row['why']})"
        if before:
            line = f"{name:26s} {_cell(before.get(name))}  ->  {_cell(row)}"
        print(line, flush=True)
    wrong = [name for name, row in rows.items() if wrong_but_trusted(row)]
    print(f"trusted but wrong (IoU < {WRONG_IOU} or BF < {WRONG_BF}): {len(wrong)} {wrong}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
