"""Outline helpers shared by the segmenters and the matte evidence: sharp edges,
the region an outline spans, and holes.

A studio set's shading, soft shadows and blurred reflections are smooth; a product's
silhouette is a sharp edge. ``sharp_edges`` keeps the second and drops the first.
"""

from __future__ import annotations

import cv2
import numpy as np


def disk(radius: int) -> np.ndarray:
    """Elliptical structuring element of the given radius."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _gradient(img: np.ndarray, sigma: float) -> np.ndarray:
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3) / 8
    return np.sqrt((gx * gx + gy * gy).sum(axis=2))


def sharp_edges(work: np.ndarray) -> np.ndarray:
    """Edge strength (levels per pixel, float32) of edges sharper than soft light.

    A step blurred only by the lens is about 2.5 times stronger at 0.8 px than at
    2.5 px; a soft shadow's ramp is about as strong at both, so it is weighted out.
    """
    f = work.astype(np.float32)
    fine, coarse = _gradient(f, 0.8), _gradient(f, 2.5)
    return fine * np.clip((fine / (coarse + 0.5) - 1.3) / 0.7, 0.0, 1.0)


def span_hull(points: np.ndarray, bridge: int = 1) -> np.ndarray:
    """Pixels between the first and last point of their row and of their column.

    Columns borrow the points of the ``bridge`` columns beside them, so a gap in a weak
    bottom or top outline (a base sitting in its own shadow) does not cut a stripe out;
    a row with no point at all between rows that have them (a label the backdrop's
    colour, whose sides show no edge) takes the span of its neighbours.
    """
    k = 2 * max(0, bridge) + 1
    by_cols = cv2.dilate(points.astype(np.uint8), np.ones((1, k), np.uint8)) > 0
    return _spans(points, fill_gaps=True) & _spans(by_cols.T).T


def _spans(points: np.ndarray, *, fill_gaps: bool = False) -> np.ndarray:
    """Per row, True from the row's first to its last point; with ``fill_gaps``, rows
    without points between two rows with points take the union of those rows' spans."""
    n, width = points.shape
    has = points.any(axis=1)
    first = np.where(has, points.argmax(axis=1), width).astype(np.int64)
    last = np.where(has, width - 1 - points[:, ::-1].argmax(axis=1), -1).astype(np.int64)
    rows = np.flatnonzero(has)
    if fill_gaps and rows.size >= 2:
        idx = np.arange(n)
        after = np.searchsorted(rows, idx)  # first row with points at or after idx
        inner = ~has & (after > 0) & (after < rows.size)
        above, below = rows[np.clip(after - 1, 0, rows.size - 1)], rows[np.clip(after, 0, rows.size - 1)]
        first = np.where(inner, np.minimum(first[above], first[below]), first)
        last = np.where(inner, np.maximum(last[above], last[below]), last)
    cols = np.arange(width)
    return (cols[None, :] >= first[:, None]) & (cols[None, :] <= last[:, None])


def fill_small_holes(mask: np.ndarray, max_area: float) -> np.ndarray:
    """Fill enclosed background pockets smaller than ``max_area`` (specular gaps, labels).

    Large enclosed regions stay: they are real openings (a mug's handle, a bag's strap).
    """
    inverse = (~mask).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    small = stats[:, cv2.CC_STAT_AREA] <= max_area
    small[0] = False  # label 0 is the mask itself
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    small[np.unique(edge)] = False  # pockets that reach the edge are open backdrop
    return mask | small[labels]
