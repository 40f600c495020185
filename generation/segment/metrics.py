"""How close a matte is to a reference matte: IoU, boundary F-score, edge alpha error.

Mattes are arrays the size of the photo: uint8 0..255 or float 0..1 (bool also works).
A pixel is product at half coverage. These compare a segmenter's matte with a known
one (tests, ``bench/bench_segment.py``, two methods against each other).
"""

from __future__ import annotations

import cv2
import numpy as np


def as_unit(matte: np.ndarray) -> np.ndarray:
    """float32 0..1 from a uint8 (0..255), float (0..1) or bool matte."""
    if matte.dtype == np.uint8:
        return matte.astype(np.float32) / 255.0
    return matte.astype(np.float32)


def binary(matte: np.ndarray) -> np.ndarray:
    """Bool product mask at half coverage."""
    return as_unit(matte) >= 0.5


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of the two product masks (1.0 when both are empty)."""
    a, b = binary(pred), binary(truth)
    union = int((a | b).sum())
    return float((a & b).sum()) / union if union else 1.0


def _outline(mask: np.ndarray) -> np.ndarray:
    """Bool: product pixels with a background 4-neighbour (the outline, 1 px wide)."""
    m = mask.astype(np.uint8)
    inner = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)), borderType=cv2.BORDER_REPLICATE)
    return (m > 0) & (inner == 0)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: float = 4.0) -> float:
    """Boundary F-score: how many outline pixels of each mask lie within ``tolerance``
    pixels of the other's outline (harmonic mean of that precision and recall).

    Outline pixels on the photo's own edge are left out: a product cut by the frame has
    no outline there. 1.0 when both masks have no outline.
    """
    a, b = _outline(binary(pred)), _outline(binary(truth))
    for m in (a, b):
        m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = False
    if not a.any() and not b.any():
        return 1.0
    if not a.any() or not b.any():
        return 0.0
    # distance from every pixel to the nearest outline pixel of the other mask
    to_b = cv2.distanceTransform((~b).astype(np.uint8), cv2.DIST_L2, 5)
    to_a = cv2.distanceTransform((~a).astype(np.uint8), cv2.DIST_L2, 5)
    precision = float((to_b[a] <= tolerance).mean())
    recall = float((to_a[b] <= tolerance).mean())
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def edge_alpha_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute alpha error (0..1) where the reference is soft or the two disagree.

    Measures the soft edge itself: 0 means every partial-alpha pixel is right.
    """
    p, t = as_unit(pred), as_unit(truth)
    region = ((t > 0.02) & (t < 0.98)) | (np.abs(p - t) > 0.02)
    return float(np.abs(p - t)[region].mean()) if region.any() else 0.0
