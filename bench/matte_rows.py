"""One row per classical matte, shared by the matte benches (``bench_matte_gloss.py``,
``bench_segment_variants.py``, ``bench_unseen.py``): IoU and boundary F (4 px) against
the exact matte, confidence, trusted / review and the weakest cue, and the row as one
printed cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from generation.errors import SegmentationFailed
from generation.segment import segment
from generation.segment.metrics import boundary_f, iou
from generation.types import Segmentation


def classical_row(photo: Image.Image, alpha: np.ndarray) -> tuple[dict[str, Any], Segmentation | None]:
    """The classical cut of ``photo`` measured against its exact matte ``alpha`` (0-1),
    and the segmentation itself (None when the photo is refused)."""
    try:
        seg = segment(photo, "classical")
    except SegmentationFailed as exc:
        return {"refused": True, "why": str(exc)[:70]}, None
    matte = np.asarray(seg.matte)
    cues = seg.evidence["cues"]
    weakest = min(cues, key=cues.get)
    row = {
        "refused": False,
        "iou": round(iou(matte, alpha), 4),
        "bf": round(boundary_f(matte, alpha, tolerance=4), 4),
        "confidence": seg.confidence,
        "review": bool(seg.low_confidence),
        "weakest": f"{weakest} {cues[weakest]:.2f}",
        "cues": {k: round(v, 3) for k, v in cues.items()},
    }
    return row, seg


def cell(row: dict[str, Any] | None, *, wrong: bool) -> str:
    """``row`` as one cell: ``-`` when absent, ``refused``, else IoU, BF, confidence,
    trusted / review, the gap kept where measured, and ``TRUSTED-WRONG`` when ``wrong``."""
    if row is None:
        return "-"
    if row["refused"]:
        return "refused"
    review = "review " if row["review"] else "trusted"
    kept = f" gap {row['gap_kept']:.2f}" if "gap_kept" in row else ""
    flag = " TRUSTED-WRONG" if wrong else ""
    return f"IoU {row['iou']:.4f} BF {row['bf']:.3f} conf {row['confidence']:.3f} {review}{kept}{flag}"
