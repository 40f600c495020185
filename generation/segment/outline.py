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


def _sharpness(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fine gradient, 0..1 weight of how much sharper it is than the coarse one)."""
    fine, coarse = _gradient(f, 0.8), _gradient(f, 2.5)
    return fine, np.clip((fine / (coarse + 0.5) - 1.3) / 0.7, 0.0, 1.0)


def sharp_edges(work: np.ndarray, *, half_scale: bool = False) -> np.ndarray:
    """Edge strength (levels per pixel, float32) of edges sharper than soft light.

    A step blurred only by the lens is about 2.5 times stronger at 0.8 px than at
    2.5 px; a soft shadow's ramp is about as strong at both, so it is weighted out.
    With ``half_scale`` a step is also sharp when it is sharp at half size (the
    strength is still the full-size gradient, so the edge stays where it is): a JPEG
    stores colour at half resolution, so at the photo's own size an edge of colour
    alone (a cream label on a grey sweep) is a 3-4 px ramp that reads as soft light.
    """
    f = work.astype(np.float32)
    fine, weight = _sharpness(f)
    if half_scale:
        # colour alone: a JPEG keeps brightness at full resolution (a soft ramp of it is
        # soft light, a tabletop's blurred grain) and only colour at half
        h, w = f.shape[:2]
        ycc = cv2.cvtColor(work.astype(np.uint8), cv2.COLOR_RGB2YCrCb).astype(np.float32)
        half = cv2.resize(ycc[..., 1:], (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        weight = np.maximum(weight, cv2.resize(_sharpness(half)[1], (w, h), interpolation=cv2.INTER_LINEAR))
    return fine * weight


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


def fill_small_holes(
    mask: np.ndarray,
    max_area: float,
    keep_open: np.ndarray | None = None,
    see_through: np.ndarray | None = None,
) -> np.ndarray:
    """Fill enclosed background pockets smaller than ``max_area`` (specular gaps, labels).

    Large enclosed regions stay: they are real openings (a mug's handle, a bag's strap),
    and so does any pocket that ``keep_open`` (a merchant's remove stroke) touches, and
    any pocket of which ``see_through`` (bool: pixels that look like the set seen around
    the product) holds at least half (a key tag's punched hole showing the sweep; a
    label's dark letters cut out of a jar look like neither).
    """
    inverse = (~mask).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    small = stats[:, cv2.CC_STAT_AREA] <= max_area
    small[0] = False  # label 0 is the mask itself
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    small[np.unique(edge)] = False  # pockets that reach the edge are open backdrop
    if keep_open is not None:
        small[np.unique(labels[keep_open])] = False
    if see_through is not None:
        seen = np.bincount(labels[see_through & ~mask], minlength=count)
        small[seen >= 0.5 * stats[:, cv2.CC_STAT_AREA]] = False
    return mask | small[labels]


def mirror_line(work: np.ndarray, region: np.ndarray, *, shortest: float = 0.1) -> int | None:
    """Row where ``region``'s lower part starts mirroring the part above it, fainter: the
    base of a product standing on a glossy floor. None when there is no reflection.

    Each row is measured as its difference from the set's colour in that row (the
    pixels beside the region). Below the base a reflection is weaker than the mirrored
    rows and weakens further away, and either its changes from row to row mirror theirs,
    or each of its rows is the mirrored row scaled down (a dim, blurred reflection keeps
    the product's sides and highlights across the row but blurs its changes from row to
    row) with the drop right at the line and nothing stronger further down. A product
    that merely looks the same in every row (a cylinder, a label) is not fainter below;
    one that narrows to its base (a round belly) fades gradually, not at a line; a pale
    label above a darker band of the product is followed by that band. Every row is tried: the row-to-row match holds
    at one row only. The line returned is the product's bottom edge, the largest change
    between rows next to where the mirror matched (a contact shadow can shift the match
    a row down).
    """
    ys, xs = np.nonzero(region)
    if ys.size == 0:
        return None
    y_top, y_bot = int(ys.min()), int(ys.max())
    x0, x1 = int(xs.min()), int(xs.max()) + 1
    height = y_bot - y_top + 1
    if height < 24 or x1 - x0 < 8:
        return None
    img = work.astype(np.float32)
    beside = ~(cv2.dilate(region.astype(np.uint8), disk(3)) > 0)
    count = beside.sum(axis=1, keepdims=True)
    set_row = (img * beside[..., None]).sum(axis=1) / np.maximum(count, 1)
    dev = (img[:, x0:x1] - set_row[:, None, :]).reshape(len(img), -1)
    norm = np.linalg.norm(dev, axis=1) + 1e-3
    step = np.diff(dev, axis=0)  # step[i] = dev[i + 1] - dev[i]
    noise = 1.5 * np.sqrt(dev.shape[1])  # a row-to-row change of 1.5 levels per value
    best, best_row = 0.0, None
    rows = max(4, int(shortest * height))  # a reflection shorter than this is a rounded base
    for yc in range(y_top + height // 2, y_bot - rows + 1):
        k = min(int(0.2 * height), y_bot - yc - 1, yc - y_top - 2)
        if k < rows:
            continue
        gain = norm[yc : yc + k] / norm[yc - 1 : yc - 1 - k : -1]
        near, far = gain[: k // 2].mean(), gain[k // 2 :].mean()
        # a reflection is fainter than the product and fades further from the base
        if gain.mean() > 0.7 or far > 0.8 * near:
            continue
        up = -step[yc - 2 : yc - 2 - k : -1]  # dev[yc-2-j] - dev[yc-1-j]
        down = step[yc : yc + k]  # dev[yc+j+1] - dev[yc+j]
        energy = float(np.sqrt((up * up).sum() * (down * down).sum()))
        if np.linalg.norm(up, axis=1).max() < noise or energy == 0:
            continue  # nothing changes from row to row above: no structure to mirror
        score = float((up * down).sum()) / energy
        # a scaled mirror starts with a drop at the line, and nothing below it is stronger
        # than the product's rows right above it (a product's band of its own colour is)
        if gain[:3].mean() <= _MIRROR_DROP and norm[yc : y_bot + 1].max() <= norm[yc - 3 : yc].mean():
            score = max(score, _scaled_mirror(dev[yc - 1 : yc - 1 - k : -1], dev[yc : yc + k]))
        if score > best:
            best, best_row = score, yc
    if best_row is None or best < 0.5:
        return None
    first = max(best_row - 2, y_top + 2)
    change = np.linalg.norm(step[first - 1 : best_row], axis=1)  # rows first..best_row vs the row above
    return first + int(np.argmax(change))


# A reflection starts at the base: its first rows are at most this fraction of the rows
# they mirror (a round belly narrowing to its base is about as strong at the line).
_MIRROR_DROP = 0.8
# Share of the rows' difference from the set that the mirrored rows, scaled row by row,
# must explain before the match counts (0.5 at this share, 1 when all of it).
_MIRROR_EXPLAINED = 0.85


def _scaled_mirror(above: np.ndarray, below: np.ndarray) -> float:
    """0..1 score (0.5 at ``_MIRROR_EXPLAINED``) of ``below``'s rows being ``above``'s
    rows (mirrored order, one row each) scaled by one factor per row."""
    factor = (below * above).sum(axis=1) / np.maximum((above * above).sum(axis=1), 1e-6)
    residual = float(((below - factor[:, None] * above) ** 2).sum())
    explained = 1.0 - residual / max(float((below * below).sum()), 1e-6)
    return float(np.clip(0.5 + 0.5 * (explained - _MIRROR_EXPLAINED) / (1 - _MIRROR_EXPLAINED), 0.0, 1.0))
