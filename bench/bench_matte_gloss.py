"""Classical mattes and their confidence on every photoset case and the dark bottle on
dark wood at table gloss 0.0-0.7, in one table.

    PYTHONPATH=. .venv/bin/python bench/bench_matte_gloss.py [--json OUT] [--against BEFORE.json]

For each photo: IoU and boundary F (4 px) against the exact matte, the matte's
confidence, whether the job asks for review, and the weakest cue. A matte the photo's
truth does not support (IoU < 0.9) that is trusted is flagged ``TRUSTED-WRONG``: the
promise is that such a matte never becomes an asset unreviewed. ``--json`` writes the
rows; ``--against`` prints each row's before -> after from such a file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench.matte_rows import cell, classical_row  # noqa: E402
from tests.photoset import CASES, Case, make_case, perfume_on_dark_table  # noqa: E402

GLOSS = [round(0.05 * k, 2) for k in range(15)]  # 0.0 .. 0.7


def measure(case: Case) -> dict[str, Any]:
    return classical_row(case.photo, case.alpha)[0]


def _cell(row: dict[str, Any] | None) -> str:
    wrong = row is not None and not row["refused"] and not row["review"] and row["iou"] < 0.9
    return cell(row, wrong=wrong)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--against", type=Path, help="rows of an earlier run, printed as before -> after")
    parser.add_argument("--gloss", type=float, nargs="*", default=GLOSS)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    args = parser.parse_args()
    before = json.loads(args.against.read_text()) if args.against else {}

    photos: list[tuple[str, Case]] = [(name, make_case(name)) for name in args.cases]
    photos += [(f"perfume_gloss_{g:.2f}", perfume_on_dark_table(reflection=g)) for g in args.gloss]
    rows: dict[str, dict[str, Any]] = {}
    for key, case in photos:
        rows[key] = row = measure(case)
        line = f"{key:24s} {_cell(row)}"
        if not row["refused"]:
            line += f"  [{row['weakest']}]"
        if before:
            line = f"{key:24s} {_cell(before.get(key))}  ->  {_cell(row)}"
        print(line, flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
