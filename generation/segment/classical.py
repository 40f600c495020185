"""Weight-free segmentation of product photos on sweeps, gradients, corners and tabletops.

The product is told from its set by its outline, not by one backdrop colour: a studio
set is made of smooth surfaces (a sweep, a wall and a floor meeting at a line, a
tabletop with its front edge) lit softly, so its shading, shadows and seams carry no
sharp detail except straight seams that run to the photo's edge, while a product is
bounded by sharp edges. Pipeline (``ClassicalSegmenter.__call__``), on a reduced copy:

1. sharp edges: a fine-scale colour gradient that a coarse scale does not also explain
   (soft shadows, light falloff and blurred reflections drop out); on a copy at the
   photo's own size also at half size, where a JPEG keeps its colour, and without the
   faint specks a JPEG rings beside a strong edge;
2. the border: runs of similar colour between sharp edges along the photo's edge. A
   run with a colour no other side has is the product cut by the frame; the rest is
   the set. A border cut into many runs, or full of sharp detail, is a busy set: it is
   refused with a message that says what to do;
3. seams (long straight edges that reach the photo's edge: floor lines, table edges,
   the corner of two walls) are taken out; what remains outlines the product. The
   rows and columns it spans give a first product region;
4. a floor reflection (the product mirrored under its base, fainter) is cut at the base;
5. GrabCut decides each pixel inside that region by colour and contrast, above the base
   (the reflection is the base's own colour, so it must not teach GrabCut the set's);
   what it drops that a sharp edge walls off, or that lies as a band between two pieces
   of the product in a colour unlike the set's beside them, is given back;
6. a mask that runs along the photo's edge or ends in a wide flat slab of set colour
   is fixed, else refused;
7. soft edges and their true colours at full resolution (``edges.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from generation.check import (
    ACROSS_TOLERANCE,
    SET_TOLERANCE,
    base_slab,
    open_to_set,
    piece_gaps,
    set_across,
    set_beside,
    set_coloured,
    unlike_set_gaps,
    walled_off,
)
from generation.config import GenerationConfig
from generation.errors import InvalidSpec, SegmentationFailed
from generation.segment import edges
from generation.segment.matte import build_segmentation, to_rgb
from generation.segment.outline import disk, fill_small_holes, mirror_line, sharp_edges, span_hull
from generation.types import Segmentation

# What the merchant is told when a photo is beyond the automatic methods.
FIX_BY_HAND = (
    "Draw a box around the product (and a few keep/remove strokes if needed), or upload "
    "a mask, and the cutout is made from that."
)


@dataclass(frozen=True)
class ClassicalSettings:
    work_side: int = 768  # long side of the copy the mask is estimated on
    band_fraction: float = 0.03  # border band that samples the set, of the short side
    edge_floor: float = 1.5  # weakest sharp edge (levels per pixel) that can outline a product
    busy_edge: float = 4.0  # sharp detail this strong on the border is props or pattern
    busy_detail: float = 0.08  # share of the border band with such detail -> busy set
    busy_runs: int = 9  # this many separate border runs -> busy set
    seam_length: float = 0.12  # shortest seam, of the short side
    min_product: float = 0.002  # smallest product, share of the photo
    max_product: float = 0.9  # largest product, share of the photo
    slab_widening: float = 1.25  # bottom rows this much wider than the body -> a slab
    grabcut_iterations: int = 3


@dataclass(frozen=True)
class Estimate:
    """The work-scale result before soft edges, for callers that want the pieces."""

    mask: np.ndarray  # bool (h, w) at work scale
    region: np.ndarray  # bool: the first product region (edge hull)
    scale: float  # work size / photo size
    frame_runs: np.ndarray  # bool ring mask: border pixels where the product is cut by the frame


def ring_coords(h: int, w: int, inset: int = 1) -> np.ndarray:
    """(n, 2) (y, x) of the ring ``inset`` pixels inside the edge, walked clockwise."""
    top = [(inset, x) for x in range(inset, w - inset)]
    right = [(y, w - 1 - inset) for y in range(inset + 1, h - inset)]
    bottom = [(h - 1 - inset, x) for x in range(w - 2 - inset, inset - 1, -1)]
    left = [(y, inset) for y in range(h - 2 - inset, inset, -1)]
    return np.array(top + right + bottom + left)


def _side_of(coords: np.ndarray, h: int, w: int, inset: int) -> np.ndarray:
    """0 top, 1 right, 2 bottom, 3 left for each ring coordinate."""
    ys, xs = coords[:, 0], coords[:, 1]
    side = np.full(len(coords), 3)
    side[ys == inset] = 0
    side[(xs == w - 1 - inset) & (ys > inset)] = 1
    side[(ys == h - 1 - inset) & (xs < w - 1 - inset)] = 2
    return side


@dataclass(frozen=True)
class _Border:
    runs: int  # separate runs between sharp edges along the ring
    detail: float  # share of the border band with sharp detail
    product_ring: np.ndarray  # bool (h, w): ring pixels where the product is cut by the frame
    palette: np.ndarray  # (k, 3) colours of the set along the border


def _border(work: np.ndarray, strength: np.ndarray, band: int, edge: float, busy_edge: float) -> _Border:
    h, w = strength.shape
    inset = 2
    coords = ring_coords(h, w, inset)
    n = len(coords)
    cut = strength[coords[:, 0], coords[:, 1]] > busy_edge
    colours = cv2.GaussianBlur(work.astype(np.float32), (0, 0), 2)[coords[:, 0], coords[:, 1]]
    sides = _side_of(coords, h, w, inset)

    # 1. runs between cut points (the walk is a loop: start on a cut, or anywhere)
    start = int(np.argmax(cut)) if cut.any() else 0
    order = np.roll(np.arange(n), -start)
    runs: list[np.ndarray] = []
    current: list[int] = []
    for i in order.tolist():
        if cut[i]:
            if current:
                runs.append(np.array(current))
            current = []
        else:
            current.append(i)
    if current:
        runs.append(np.array(current))
    min_len = max(4, n // 100)
    long_runs = [r for r in runs if len(r) >= min_len]

    # 2. a run on one side, shorter than most of it, whose colour no run on another
    #    side shares, is the product running out of the frame
    product_ring = np.zeros((h, w), bool)
    means = [np.median(colours[r], axis=0) for r in long_runs]
    for i, r in enumerate(long_runs):
        run_sides = set(sides[r].tolist())
        side_len = w if sides[r[0]] in (0, 2) else h
        if len(run_sides) != 1 or len(r) > 0.6 * side_len:
            continue
        shared = any(
            j != i and set(sides[long_runs[j]].tolist()) != run_sides and _same_surface(means[i], means[j])
            for j in range(len(long_runs))
        )
        if not shared:
            # the frame-cut product covers the full border strip at these pixels
            ys, xs = coords[r, 0], coords[r, 1]
            side = int(sides[r[0]])
            for y, x in zip(ys, xs, strict=True):
                if side in (0, 2):
                    product_ring[(slice(0, inset + 1) if side == 0 else slice(h - inset - 1, h)), x] = True
                else:
                    product_ring[y, (slice(0, inset + 1) if side == 3 else slice(w - inset - 1, w))] = True

    # 3. the set's colours along the border, and how much sharp detail it carries
    band_mask = np.zeros((h, w), bool)
    band_mask[:band] = band_mask[-band:] = True
    band_mask[:, :band] = band_mask[:, -band:] = True
    set_band = band_mask
    if product_ring.any():
        set_band = band_mask & ~(cv2.dilate(product_ring.astype(np.uint8), disk(band * 2)) > 0)
    detail = float((strength[set_band] > busy_edge).mean()) if set_band.any() else 1.0
    samples = work[set_band].astype(np.float32)
    samples = samples[:: max(1, len(samples) // 20000)]
    k = min(6, len(samples))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(0)
    # cv2 takes None for the initial labels; its stubs declare an array only
    _, labels, centres = cv2.kmeans(samples, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]
    share = np.bincount(labels.ravel(), minlength=k) / len(labels)
    palette = centres[share >= 0.03]
    return _Border(runs=len(long_runs), detail=detail, product_ring=product_ring, palette=palette)


def _same_surface(a: np.ndarray, b: np.ndarray) -> bool:
    """Two colours of one surface under different light: same hue, brightness within 40%."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if min(na, nb) < 1.0:
        return max(na, nb) < 20.0
    hue = float(np.linalg.norm(a / na - b / nb))
    return hue < 0.05 and 0.7 < na / nb < 1.43


def backdrop_likeness(work: np.ndarray, palette: np.ndarray, tolerance: float) -> np.ndarray:
    """Bool: pixels that are a set colour, or a set colour in shadow (same hue, darker)."""
    px = work.reshape(-1, 3).astype(np.float32)
    like = np.zeros(len(px), bool)
    for colour in palette:
        c = colour.astype(np.float32)
        scale = px @ c / max(float(c @ c), 1.0)
        residual = np.linalg.norm(px - scale[:, None] * c, axis=1)
        near = np.linalg.norm(px - c, axis=1) < tolerance
        shadow = (
            (scale > 0.25) & (scale < 1.03) & (residual < 0.5 * tolerance + 0.04 * np.linalg.norm(c) * scale)
        )
        like |= near | shadow
    return like.reshape(work.shape[:2])


def _remove_seams(edge_mask: np.ndarray, frame: np.ndarray, min_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop long straight edges that reach (or nearly reach) the photo's edge: floor lines,
    table edges, the corner of two walls. Each is followed along its line for as long as
    the edge goes on, so the pieces between a gap and the product go too. Returns the
    edges left and the seams' lines across the whole photo (bool, ``_ALONG`` px either
    side of each)."""
    h, w = edge_mask.shape
    lines = cv2.HoughLinesP(
        edge_mask.astype(np.uint8) * 255,
        1,
        np.pi / 180,
        threshold=max(20, min_length // 2),
        minLineLength=min_length,
        maxLineGap=4,
    )
    if lines is None:
        return edge_mask, np.zeros((h, w), bool)
    reach = max(3, round(0.1 * min(h, w)))
    seams = np.zeros((h, w), np.uint8)
    along = np.zeros((h, w), np.uint8)
    on_line = np.zeros((h, w), np.uint8)
    near_frame = cv2.dilate(frame.astype(np.uint8), disk(reach)) > 0
    beside_frame = cv2.dilate(frame.astype(np.uint8), disk(max(3, round(0.01 * min(h, w))))) > 0
    dilated = cv2.dilate(edge_mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    for x0, y0, x1, y1 in lines.reshape(-1, 4).astype(float):
        ends = [(x0, y0), (x1, y1)]
        to_edge = [min(x, y, w - 1 - x, h - 1 - y) for x, y in ends]
        if min(to_edge) > reach or any(near_frame[int(y), int(x)] for x, y in ends):
            continue
        length = float(np.hypot(x1 - x0, y1 - y0))
        direction = np.array([x1 - x0, y1 - y0]) / max(length, 1e-6)
        a = _follow(dilated, np.array([x0, y0]), -direction)
        b = _follow(dilated, np.array([x1, y1]), direction)
        margin = max(2, round(0.02 * min(h, w)))
        # how far each end lies from the photo's edge along the line (a product's side
        # standing close to the edge runs beside it, not into it)
        # an end short of the photo's edge where a sharp edge crosses the line is a
        # product's corner: a carton standing 10 px from the edge, its band's edges
        # ending at its side
        if not (
            _reaches(dilated, np.array([x0, y0]), a, -direction, margin)
            or _reaches(dilated, np.array([x1, y1]), b, direction, margin)
        ):
            continue  # it stops short of the photo's edge: a product's edge, not a seam
        if any(beside_frame[min(max(round(y), 0), h - 1), min(max(round(x), 0), w - 1)] for x, y in (a, b)):
            continue  # it runs out of the frame beside the product's frame run: its side
        cv2.line(seams, (round(a[0]), round(a[1])), (round(b[0]), round(b[1])), 1, 5)
        # the seam's line across the whole photo: pieces of it the edge broke off with
        # gaps too wide to follow (a table's lit front rim beside its edge) lie along it
        far = 2 * max(h, w)
        ends = [
            (round(p[0] + t * direction[0]), round(p[1] + t * direction[1])) for p, t in ((a, -far), (b, far))
        ]
        cv2.line(along, ends[0], ends[1], 1, 2 * _ALONG + 1)
        cv2.line(on_line, ends[0], ends[1], 1, 2 * _ON_LINE + 1)
    rest = edge_mask & (seams == 0)
    count, labels = cv2.connectedComponents(rest.astype(np.uint8), connectivity=8)
    outside = np.bincount(labels[rest & (along == 0)], minlength=count)
    pieces = np.flatnonzero(outside == 0)
    rest &= ~np.isin(labels, pieces[pieces > 0])
    # the seam's own stretch from the photo's edge to a product standing close to it is
    # too short to be found as a line, and it joins the product's outline to the frame
    # (the table's back edge 10 px long left of a carton in the band)
    stub = rest & (on_line > 0) & ~beside_frame
    count, labels = cv2.connectedComponents(stub.astype(np.uint8), connectivity=8)
    rim = np.zeros((h, w), bool)
    rim[:3] = rim[-3:] = True
    rim[:, :3] = rim[:, -3:] = True
    stubs = np.unique(labels[rim & stub])
    return rest & ~np.isin(labels, stubs[stubs > 0]), along > 0


# A piece of edge within this many px (work scale) of a seam's line all along is part of
# the seam: the carton's table edge at y 644-645 and its rim's broken top edge at 639-640.
_ALONG = 6
# ... and within this many px of it, a piece running on from the photo's edge is the
# seam's own stretch between the frame and a product (``_remove_seams``).
_ON_LINE = 2


def _reaches(
    edge: np.ndarray, start: np.ndarray, end: np.ndarray, direction: np.ndarray, margin: int
) -> bool:
    """Whether a line followed from ``start`` along ``direction`` to ``end`` reaches the
    photo's edge (within ``margin`` px): not where, followed without hopping gaps (the
    follow to ``end`` hops up to 10 px: the gap between such a side and the frame), it
    ends short of the photo's edge at a sharp edge crossing it (``_crossed``)."""
    h, w = edge.shape
    if _to_edge(end, direction, h, w) > margin:
        return False
    tight = _follow(edge, start, direction, max_gap=2)
    return _to_edge(tight, direction, h, w) <= 2 or not _crossed(edge, tight, direction)


def _crossed(edge: np.ndarray, point: np.ndarray, direction: np.ndarray) -> bool:
    """Whether a sharp edge crosses the line at its end ``point`` (x, y), ``direction``
    pointing out of the line: ``edge`` pixels 3-8 px to one side of it, across the
    line, at most 2 px either way along it from the end, on 5 of those 6 steps."""
    h, w = edge.shape
    normal = np.array([-direction[1], direction[0]])
    for along in (-1, 0, 1, 2):
        base = point + along * direction
        for side in (1.0, -1.0):
            pts = base[None, :] + side * np.arange(3, 9)[:, None] * normal[None, :]
            xs = np.clip(np.rint(pts[:, 0]).astype(int), 0, w - 1)
            ys = np.clip(np.rint(pts[:, 1]).astype(int), 0, h - 1)
            if edge[ys, xs].sum() >= 5:
                return True
    return False


def _to_edge(point: np.ndarray, direction: np.ndarray, h: int, w: int) -> float:
    """Distance (px) from ``point`` (x, y) along ``direction`` (a unit vector) to the
    photo's edge."""
    steps = []
    for p, d, size in ((point[0], direction[0], w), (point[1], direction[1], h)):
        if d > 1e-6:
            steps.append((size - 1 - p) / d)
        elif d < -1e-6:
            steps.append(-p / d)
    return max(0.0, min(steps)) if steps else 0.0


def _border_noise(strength: np.ndarray, band: np.ndarray, width: int) -> float:
    """The set's sharp detail along the border (99th percentile of the edge strength in
    the ``band`` pixels, ``width`` px wide), from the sides whose own detail is like the
    others': a side that a product comes close to (a second product near the photo's
    edge) carries its edges, several times the set's, and would raise the outline's
    threshold over most of the product's edges."""
    h, w = strength.shape
    sides = []
    for rows, cols in (
        (slice(0, width), slice(None)),
        (slice(h - width, h), slice(None)),
        (slice(None), slice(0, width)),
        (slice(None), slice(w - width, w)),
    ):
        side = np.zeros((h, w), bool)
        side[rows, cols] = True
        side &= band
        if side.any():
            sides.append((side, float(np.percentile(strength[side], 99))))
    if not sides:
        return 0.0
    typical = float(np.median([level for _, level in sides]))
    kept = np.zeros((h, w), bool)
    for side, level in sides:
        if level <= 4.0 * typical + 1.0:
            kept |= side
    return float(np.percentile(strength[kept], 99))


def _reaching_in(labels: np.ndarray, count: int, band: np.ndarray) -> np.ndarray:
    """Labels of outline pieces that touch the border ``band`` only at their edge: at
    most a tenth of their pixels in it, none on the photo's outermost 3 px. A product
    standing close to the photo's edge grazes the band with its side; the set's edges
    there (a prop, a seam's end) run on to the frame or lie in the band."""
    h, w = labels.shape
    frame = np.zeros((h, w), bool)
    frame[:3] = frame[-3:] = True
    frame[:, :3] = frame[:, -3:] = True
    sizes = np.bincount(labels.ravel(), minlength=count)
    in_band = np.bincount(labels[band], minlength=count)
    on_frame = np.bincount(labels[frame], minlength=count)
    inward = (in_band <= 0.1 * sizes) & (on_frame == 0)
    inward[0] = False
    return np.flatnonzero(inward)


def _standing_in_band(
    labels: np.ndarray, count: int, keep: np.ndarray, left_out: np.ndarray, band: np.ndarray, reach: int
) -> np.ndarray:
    """Bool per label: outline pieces of a product standing inside the border ``band``
    (a second product a few px from the photo's edge), which ``_reaching_in`` leaves out
    because its side lies in the band whole and its top's corner grazes it with more than
    a tenth of its pixels. Pieces not on the photo's outermost 3 px are joined with the
    pieces already kept when they lie within ``reach`` px of each other; a group with at
    least half of its pixels out of the band reaches in, and its pieces are the product's.
    The set's edges in the band run on to the frame (a seam, a prop cut by it) or lie in
    the band alone."""
    h, w = labels.shape
    frame = np.zeros((h, w), bool)
    frame[:3] = frame[-3:] = True
    frame[:, :3] = frame[:, -3:] = True
    on_frame = np.bincount(labels[frame], minlength=count)
    loose = left_out & (on_frame == 0)
    loose[0] = False
    if not loose.any():
        return np.zeros(count, bool)
    pieces = (keep | loose)[labels]
    joined = cv2.dilate(pieces.astype(np.uint8), disk(reach))
    groups_n, groups = cv2.connectedComponents(joined, connectivity=8)
    total = np.bincount(groups[pieces], minlength=groups_n)
    out = np.bincount(groups[pieces & ~band], minlength=groups_n)
    reaching = out >= 0.5 * np.maximum(total, 1)
    reaching[0] = False
    found = np.zeros(count, bool)
    hit = pieces & reaching[groups] & loose[labels]
    found[np.unique(labels[hit])] = True
    found[0] = False
    return found


def _follow(edge: np.ndarray, start: np.ndarray, direction: np.ndarray, max_gap: int = 10) -> np.ndarray:
    """The last point along ``direction`` from ``start`` where the edge still goes on
    (gaps up to ``max_gap`` pixels are crossed), or the photo's edge."""
    h, w = edge.shape
    steps = np.arange(1, 2 * max(h, w))
    pts = start[None, :] + steps[:, None] * direction[None, :]
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1)
    pts = pts[: int(np.argmin(inside)) if not inside.all() else len(pts)]
    if len(pts) == 0:
        return start
    hits = edge[np.rint(pts[:, 1]).astype(int), np.rint(pts[:, 0]).astype(int)]
    last, gap = 0, 0
    for i, hit in enumerate(hits):
        if hit:
            last, gap = i + 1, 0
        else:
            gap += 1
            if gap > max_gap:
                break
    else:
        last = len(hits)  # reached the photo's edge
    return pts[last - 1] if last else start


class ClassicalSegmenter:
    name = "classical"

    def __init__(self, settings: ClassicalSettings | None = None) -> None:
        self.settings = settings or ClassicalSettings()

    def estimate(self, rgb: np.ndarray) -> Estimate:
        """The hard product mask on a reduced copy of ``rgb`` (uint8 (h, w, 3))."""
        s = self.settings
        h, w = rgb.shape[:2]
        if min(h, w) < 32:
            raise SegmentationFailed(f"the photo is too small to segment ({w}x{h} pixels)")

        # 1. a reduced working copy, and its sharp edges
        scale = min(1.0, s.work_side / max(h, w))
        wh, ww = max(1, round(h * scale)), max(1, round(w * scale))
        work = cv2.resize(rgb, (ww, wh), interpolation=cv2.INTER_AREA) if scale < 1 else rgb.copy()
        strength = sharp_edges(work)
        short = min(wh, ww)
        band = max(3, round(s.band_fraction * short))

        # 2. the border: busy sets are refused, the frame-cut product is found
        border = _border(work, strength, band, s.edge_floor, s.busy_edge)
        if border.detail > s.busy_detail or border.runs >= s.busy_runs:
            raise SegmentationFailed(
                "The background is too busy to cut out automatically: props, patterns or "
                f"texture run all around the product. {FIX_BY_HAND}"
            )
        band_mask = np.zeros((wh, ww), bool)
        band_mask[:band] = band_mask[-band:] = True
        band_mask[:, :band] = band_mask[:, -band:] = True
        # where the work copy keeps the photo's own pixels, a JPEG's colour is at half
        # resolution: the outline's colour-only edges are judged at half size too
        if scale > 0.5:
            strength = sharp_edges(work, half_scale=True)
        noise = _border_noise(strength, band_mask & ~border.product_ring, band)
        threshold = max(s.edge_floor, 3.0 * noise)

        # 3. the product's outline: sharp edges, less the set's seams and specks
        outline, seams = _remove_seams(
            strength > threshold, border.product_ring, round(s.seam_length * short)
        )
        count, labels, stats, _ = cv2.connectedComponentsWithStats(outline.astype(np.uint8), connectivity=8)
        touching = np.unique(
            np.concatenate(
                [labels[:band], labels[-band:], labels[:, :band].T, labels[:, -band:].T], axis=None
            )
        )
        keep = np.zeros(count, bool)
        keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= max(12, short // 40)
        if scale > 0.5:
            # at the photo's own pixels a JPEG rings beside a strong edge: faint specks a
            # few pixels out that would widen the product's region
            peak = np.zeros(count, np.float32)
            np.maximum.at(peak, np.asarray(labels, np.intp).ravel(), strength.ravel())
            keep &= peak >= 3.0 * threshold
        frame_labels = np.unique(labels[cv2.dilate(border.product_ring.astype(np.uint8), disk(band)) > 0])
        sized = keep.copy()
        keep[np.setdiff1d(touching, np.union1d(frame_labels, _reaching_in(labels, count, band_mask)))] = False
        keep[0] = False
        keep |= _standing_in_band(
            labels, count, keep, sized & ~keep, band_mask, max(1, round(0.03 * short) // 2)
        )
        outline = keep[labels] | border.product_ring
        if outline.sum() < 8:
            count, _, boxes, _ = cv2.connectedComponentsWithStats((strength > s.edge_floor).astype(np.uint8))
            spans = boxes[1:, cv2.CC_STAT_HEIGHT] / wh + boxes[1:, cv2.CC_STAT_WIDTH] / ww
            if count > 1 and spans.max() > 0.9:
                raise SegmentationFailed(
                    "No product could be told apart from the background: the product fills the "
                    "frame (it runs off the edges of the photo), or straight edges of the set run "
                    "through it. Photograph it with space around it, or: " + FIX_BY_HAND
                )
            raise SegmentationFailed(
                "No product found: nothing in the photo stands out from the background. " + FIX_BY_HAND
            )
        bridge = max(1, round(0.03 * short))
        region = span_hull(outline, bridge)

        # 4. a reflection under the base is the floor's, not the product's
        base = mirror_line(work, region)
        if base is not None:
            outline[base:] &= border.product_ring[base:]
            region = span_hull(outline, bridge) if outline.any() else region
            region[base:] = False

        # 5. GrabCut inside the region
        edge = strength > threshold
        like = np.zeros((wh, ww), bool)
        ys, xs = np.nonzero(cv2.dilate(region.astype(np.uint8), disk(band)))
        if ys.size:
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            like[y0:y1, x0:x1] = backdrop_likeness(work[y0:y1, x0:x1], border.palette, 14.0)
        mask = self._grabcut(work, region, like, border.product_ring, base, edge, seams)

        # 6. never return a mask along the photo's edge or ending in a slab of set colour
        mask = self._fix_border(mask, border.product_ring, band)
        mask = self._fix_slab(mask, like)
        area = mask.mean()
        if area < s.min_product:
            raise SegmentationFailed(
                "No product found: only shadows or the set differ from the background. " + FIX_BY_HAND
            )
        if area > s.max_product:
            raise SegmentationFailed(
                f"The product fills {area:.0%} of the photo, leaving too little background to "
                f"separate. {FIX_BY_HAND}"
            )
        return Estimate(mask=mask, region=region, scale=scale, frame_runs=border.product_ring)

    def __call__(self, image: Image.Image) -> Segmentation:
        rgb_image = to_rgb(image)
        rgb = np.asarray(rgb_image)
        found = self.estimate(rgb)
        alpha, foreground = full_resolution_matte(rgb, found.mask, found.scale)
        return build_segmentation(rgb_image, alpha, self.name, foreground=foreground)

    def _grabcut(
        self,
        work: np.ndarray,
        region: np.ndarray,
        like: np.ndarray,
        frame: np.ndarray,
        base: int | None,
        edge: np.ndarray,
        seams: np.ndarray,
    ) -> np.ndarray:
        edge_near = cv2.dilate(edge.astype(np.uint8), disk(2)) > 0
        h, w = region.shape
        r = max(2, min(h, w) // 120)
        region8 = region.astype(np.uint8)
        near = cv2.dilate(region8, disk(3 * r)) > 0
        core = cv2.erode(region8, disk(2 * r)) > 0

        # labels: far from the region is the set; inside it the product is probable,
        # and certain where its colour is not the set's; GrabCut decides the rest
        labels = np.full((h, w), cv2.GC_BGD, np.uint8)
        labels[near] = cv2.GC_PR_BGD
        labels[region] = cv2.GC_PR_FGD
        labels[core & ~like] = cv2.GC_FGD
        labels[frame] = cv2.GC_FGD
        if base is not None:
            labels[base:][labels[base:] != cv2.GC_FGD] = cv2.GC_PR_BGD

        ys, xs = np.nonzero(near)
        margin = 4 * r
        y0, y1 = max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, h)
        if base is not None and not frame[base:].any():
            # the reflection mirrors the product's base: as background it would teach
            # GrabCut that the base's own colour is the set's, and the base goes with it
            y1 = min(y1, base)
        x0, x1 = max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, w)
        roi = np.ascontiguousarray(labels[y0:y1, x0:x1])
        mask = region.copy()
        has_bg = ((roi == cv2.GC_BGD) | (roi == cv2.GC_PR_BGD)).any()
        has_fg = ((roi == cv2.GC_FGD) | (roi == cv2.GC_PR_FGD)).any()
        if has_bg and has_fg:
            bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
            cv2.setRNGSeed(0)  # GrabCut's GMM start is random: keep results repeatable
            try:
                # in mask mode cv2 takes None for the unused rect; its stubs declare a sequence
                cv2.grabCut(  # type: ignore[call-overload]
                    np.ascontiguousarray(work[y0:y1, x0:x1]),
                    roi,
                    None,
                    bgd,
                    fgd,
                    self.settings.grabcut_iterations,
                    cv2.GC_INIT_WITH_MASK,
                )
                mask = np.zeros((h, w), bool)
                mask[y0:y1, x0:x1] = (roi == cv2.GC_FGD) | (roi == cv2.GC_PR_FGD)
            except cv2.error:
                pass  # degenerate colour statistics (a flat product): keep the region
        mask = _restore_walled(mask, region, edge_near)
        mask &= ~_behind_seam(work, mask, edge_near, seams)
        mask |= _corner_on_seam(work, mask, edge, edge_near, seams)
        mask = _restore_bands(work, mask)
        mask = _open_gaps(work, mask, like, edge_near)
        holes = _see_through_holes(work, mask, like, edge_near)
        mask &= ~holes
        # keep what is connected to the product's certain part (or the largest piece)
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk(1)) > 0
        count, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        if count <= 1:
            return mask
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.flatnonzero(areas >= 0.1 * areas.max()) + 1
        return fill_small_holes(np.isin(comp, keep), max_area=0.002 * h * w, keep_open=holes)

    def _fix_border(self, mask: np.ndarray, frame: np.ndarray, band: int) -> np.ndarray:
        """Drop mask pixels on the photo's edge where the product is not cut by the frame."""
        h, w = mask.shape
        edge = np.zeros((h, w), bool)
        edge[:2] = edge[-2:] = True
        edge[:, :2] = edge[:, -2:] = True
        allowed = cv2.dilate(frame.astype(np.uint8), disk(band)) > 0
        stray = mask & edge & ~allowed
        if not stray.any():
            return mask
        count, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        bad = np.unique(comp[stray])
        # a piece of the set that leaked in along the edge: drop the pieces that touch it
        # only if they are small; a product that reaches the edge outside a frame run is refused
        fixed = mask & ~np.isin(comp, bad)
        if fixed.sum() < 0.5 * mask.sum():
            raise SegmentationFailed(
                "The cutout would run along the edge of the photo, so the background could not "
                f"be told apart there. {FIX_BY_HAND}"
            )
        return fixed

    def _fix_slab(self, mask: np.ndarray, like: np.ndarray) -> np.ndarray:
        """Cut a slab of set-coloured floor kept under the product, or refuse."""
        slab = base_slab(mask, like, widening=self.settings.slab_widening)
        if slab is None:
            return mask
        fixed = mask & ~slab
        if base_slab(fixed, like, widening=self.settings.slab_widening) is not None:
            raise SegmentationFailed(
                "The cutout would keep a slab of the floor under the product. " + FIX_BY_HAND
            )
        count, comp, stats, _ = cv2.connectedComponentsWithStats(fixed.astype(np.uint8), connectivity=8)
        if count <= 1:
            raise SegmentationFailed("The cutout was only floor. " + FIX_BY_HAND)
        return comp == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def _restore_walled(mask: np.ndarray, region: np.ndarray, edge_near: np.ndarray) -> np.ndarray:
    """Give back parts of the region GrabCut dropped that a sharp edge walls off from the
    set: a label or a white band the colour of the backdrop is still the product's. A
    part is walled off when a sharp edge runs along most of where it meets the region's
    outside, or when no path clear of sharp edges joins it to the photo's edge (a
    carton's grey side face beside a grey wall, where the region's outline runs short
    of the face's edge). A pocket the product encloses (a handle's hole: it never meets
    the region's outside) and a shadow open to the set stay out."""
    # thin slivers along the outline are GrabCut placing the edge: only bodies count
    dropped = region & ~mask
    dropped &= cv2.morphologyEx(dropped.astype(np.uint8), cv2.MORPH_OPEN, disk(3)) > 0
    if dropped.sum() < 0.005 * region.sum():
        return mask
    outside = cv2.dilate((~region).astype(np.uint8), disk(1)) > 0
    count, labels = cv2.connectedComponents(dropped.astype(np.uint8), connectivity=8)
    contact = outside & dropped
    restored = mask.copy()
    touching = np.bincount(labels[contact], minlength=count)
    walled = np.bincount(labels[contact & edge_near], minlength=count)
    sizes = np.bincount(labels.ravel(), minlength=count)
    # what no path clear of sharp edges joins to the photo's edge is walled off from the
    # set, wherever the region's own outline runs short of those edges
    free, _, free_labels, _, rim = walled_off(mask, edge_near)
    reaching = np.isin(free_labels, rim[rim > 0])
    opened = np.bincount(labels[dropped & free & reaching], minlength=count)
    for label in range(1, count):
        big = sizes[label] >= 0.005 * region.sum()
        enclosed = opened[label] == 0
        if big and touching[label] and (walled[label] >= 0.8 * touching[label] or enclosed):
            restored |= labels == label
    # and the thin strips along the sharp edges between a piece given back and the rest,
    # which the opening above took off as slivers
    given = (restored & ~mask).astype(np.uint8)
    if given.any():
        closed = cv2.morphologyEx(restored.astype(np.uint8), cv2.MORPH_CLOSE, disk(3)) > 0
        restored |= closed & (cv2.dilate(given, disk(4)) > 0)
    return restored


def _behind_seam(work: np.ndarray, mask: np.ndarray, edge_near: np.ndarray, seams: np.ndarray) -> np.ndarray:
    """Bool: the set within the mask that only a seam walls off from the rest of the set (a
    wedge of tabletop between a carton's side face, whose top corner rises past the
    table's back edge, and that edge; ``_restore_walled`` gives it back with the face):
    the mask split by its sharp edges into pieces, a piece on a seam's line (``seams``)
    whose every way out of the mask (within 4 px, across its edges) lies on that line,
    mostly of the set's colour in its own rows beside the mask's hull (``set_beside``'s
    left and right views: the tabletop's, under the back edge), with its edges there. A
    face of the product beside a seam has a way out across its own outline, or is not the
    colour of the set beside it in its rows (the carton's grey side face is the wall's
    colour, not the tabletop's)."""
    behind = np.zeros(mask.shape, bool)
    if not seams.any():
        return behind
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(
        (mask & ~edge_near).astype(np.uint8), connectivity=4
    )
    on_seam = np.unique(pieces[seams & mask & ~edge_near])
    found = []
    for k in on_seam[on_seam > 0].tolist():
        x, y, w, h = (int(v) for v in stats[k, :4])
        pad = 6
        y0, y1, x0, x1 = max(y - pad, 0), y + h + pad, max(x - pad, 0), x + w + pad
        piece = pieces[y0:y1, x0:x1] == k
        reach = cv2.dilate(piece.astype(np.uint8), disk(4)) > 0
        exits = reach & ~mask[y0:y1, x0:x1]
        if not exits.any() or not seams[y0:y1, x0:x1][exits].all():
            continue  # no way out, or one off the seams: walled by the product's own edges
        found.append((k, (y0, y1, x0, x1), reach))
    if not found:
        return behind
    ys, xs = np.nonzero(mask)
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32))], 1)
    clear = ~mask & ~(cv2.dilate(hull, disk(3)) > 0)
    smooth = cv2.GaussianBlur(work.astype(np.float32), (0, 0), 1.5)
    for k, (y0, y1, x0, x1), reach in found:
        py, px = np.nonzero(pieces[y0:y1, x0:x1] == k)
        py, px = py + y0, px + x0
        views = set_beside(work, clear, hull > 0, py, px, smooth=smooth)
        colours = np.rint(smooth[py, px])[None]
        like = set_coloured(colours, views[1][None])[0] | set_coloured(colours, views[2][None])[0]
        if like.mean() < 0.8:
            continue  # not the set's colour in its rows
        piece = pieces[y0:y1, x0:x1] == k
        behind[y0:y1, x0:x1] |= piece | (reach & mask[y0:y1, x0:x1] & edge_near[y0:y1, x0:x1])
    return behind


# A corner given back on a seam's line (``_corner_on_seam``) is at most this share of the
# mask's area where it lies clear of sharp edges (the carton's side face's top corner: 12
# work px of a 56 000 px mask), and is grown out to its edges at most _CORNER_REACH px:
# past the ``_ALONG`` px either side of the seam's line within which the face's outline
# was taken out with the seam, and the edge's own 2 px.
_CORNER_MOST = 0.01
_CORNER_REACH = _ALONG + 2


def _corner_on_seam(
    work: np.ndarray, mask: np.ndarray, edge: np.ndarray, edge_near: np.ndarray, seams: np.ndarray
) -> np.ndarray:
    """Bool: a corner of the product that rises past a seam's line, which the outline lost
    with the seam (the carton's side face's top corner, 10 px over the table's back edge:
    the face's top edge runs within ``_ALONG`` px of the seam's line there, so it was taken
    out with it, and the product's region stopped under the line). What the mask leaves
    out beside it, on a seam's line, that the photo's sharp edges wall off from the set
    (no path clear of them reaches the photo's edge), and whose colour is nearer the
    product's where the two meet than the set's nearest it, is the product (a wedge of
    the tabletop between the face and the line is the set's colour). It is grown out to
    its edges through the pixels nearer its own colour than the set's nearest, up to the
    edges' ridges (``edge``) and onto them, no wider than the product in the rows under
    it."""
    corner = np.zeros(mask.shape, bool)
    if not seams.any() or mask.sum() < 64:
        return corner
    free, _, labels, stats, rim = walled_off(mask, edge_near)
    beside = cv2.dilate(mask.astype(np.uint8), disk(1)) > 0
    touching = np.unique(labels[beside & free & seams])
    open_labels = set(rim.tolist())
    pockets = [
        k
        for k in touching[touching > 0].tolist()
        if k not in open_labels and stats[k, cv2.CC_STAT_AREA] <= _CORNER_MOST * mask.sum()
    ]
    if not pockets:
        return corner
    smooth = cv2.GaussianBlur(work.astype(np.float32), (0, 0), 1.5)
    for k in pockets:
        piece = labels == k
        # the set nearest each pixel: what the mask leaves out clear of sharp edges, less
        # the pocket (a walled-off wedge of the tabletop beside it is the set too)
        the_set = free & ~piece
        _, nearest = cv2.distanceTransformWithLabels(
            (~the_set).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        lut = np.zeros((int(nearest.max()) + 1, 3), np.float32)
        lut[nearest[the_set]] = smooth[the_set]
        set_near = lut[nearest]
        own = np.median(smooth[piece], axis=0)
        meets = mask & (cv2.dilate(piece.astype(np.uint8), disk(2)) > 0)
        if np.linalg.norm(own - np.median(smooth[meets], axis=0)) >= np.linalg.norm(
            own - np.median(set_near[piece], axis=0)
        ):
            continue  # the set's colour: a wedge of the set between the product and the line
        nearer = np.linalg.norm(smooth - own, axis=2) < np.linalg.norm(smooth - set_near, axis=2)
        # out to the edges' ridges, not across them: the table's back edge beside the
        # corner is a blend of the wall and the tabletop, nearer a grey face than either
        grow = ~mask & edge_near & ~edge & nearer
        # and no wider than the product in the rows under it (a face's side runs straight
        # on up to its corner, and the seam's line beside the corner is no ridge there)
        rows, cols = np.nonzero(piece)
        under = mask[int(rows.max()) + 1 : int(rows.max()) + 4]
        run = _run_through(np.asarray(under.any(axis=0), bool), int(np.median(cols)))
        if run is None:
            continue
        grow[:, : run[0]] = False
        grow[:, run[1] + 1 :] = False
        for _ in range(_CORNER_REACH):
            piece |= (cv2.dilate(piece.astype(np.uint8), disk(1)) > 0) & grow
        # and onto the ridges round it, where the edge's blend is nearer its colour
        ridge = grow | (edge & ~mask & nearer)
        ridge[:, : run[0]] = False
        ridge[:, run[1] + 1 :] = False
        corner |= piece | ((cv2.dilate(piece.astype(np.uint8), disk(1)) > 0) & ridge)
    return corner


def _run_through(flags: np.ndarray, at: int) -> tuple[int, int] | None:
    """(first, last) index of the run of True in ``flags`` (bool (n,)) that holds ``at``,
    or None where ``flags[at]`` is False."""
    if not flags[at]:
        return None
    off = np.flatnonzero(~flags)
    first = int(off[off < at].max()) + 1 if (off < at).any() else 0
    last = int(off[off > at].min()) - 1 if (off > at).any() else flags.size - 1
    return first, last


def _restore_bands(work: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Give back a band GrabCut dropped between two pieces of the product, across their
    common hull, whose colour is mostly not the set's beside it: a label close to the
    backdrop's colour whose sides show no sharp edge (``_restore_walled`` keeps only what
    an edge walls off). The set showing between two products, or through one, stays out."""
    gaps, unlike = unlike_set_gaps(work, mask, clear=~mask)
    if not gaps.any():
        return mask
    count, labels = cv2.connectedComponents(gaps.astype(np.uint8), connectivity=4)
    sizes = np.bincount(labels.ravel(), minlength=count)
    foreign = np.bincount(labels[unlike], minlength=count)
    bands = np.flatnonzero(foreign >= 0.5 * np.maximum(sizes, 1))
    return mask | np.isin(labels, bands[bands > 0])


def _open_gaps(work: np.ndarray, mask: np.ndarray, like: np.ndarray, edge_near: np.ndarray) -> np.ndarray:
    """Take out the set where it shows between two parts of the product (through a
    handle, a gap across it) or between two products, which GrabCut keeps when it is
    narrow and framed by the product on both sides: the mask's pixels that are a set
    colour (``like``: the border's palette, or a shade of it; or the set's colour beside
    the mask's hull in the same row, ``set_beside``, for a gradient) and open to the set
    (no sharp edge between them and what the mask leaves out) are set aside; when the
    rest falls into two or more large pieces, the set-aside pixels that lie between
    them, inside their common hull (``piece_gaps``), are opened, out to the product's
    edges. A product with none of its own colour near the set's stays one piece, so
    nothing of it is opened. White on white (a quarter of the mask or more set-coloured
    and open) the colour cannot tell; there the pixels set aside are those within
    ``ACROSS_TOLERANCE`` levels of the set carried across the hull (``set_across``, as
    the bridge cue asks), and the opening is grown out to the edges wherever it reaches
    (a white jar's face beside a see-through gap is within 4-5 levels of the set, so the
    growth always runs on into it); when even that sets aside a quarter of the mask,
    nothing is opened."""
    ys, xs = np.nonzero(mask)
    if ys.size < 64:
        return mask
    beside = cv2.dilate((~mask).astype(np.uint8), disk(1)) > 0
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32))], 1)
    clear = ~mask & ~(cv2.dilate(hull, disk(3)) > 0)
    smooth = cv2.GaussianBlur(work.astype(np.float32), (0, 0), 1.5)
    views = set_beside(work, clear, hull > 0, ys, xs, smooth=smooth)
    px = np.rint(smooth[ys, xs])[None]
    flag = like[ys, xs].copy()
    for colour in views:
        flag |= set_coloured(px, colour[None])[0]
    opened = open_to_set(mask, ys, xs, flag, edge_near, beside)
    across = opened.sum() >= 0.25 * ys.size and len(views) == 3
    if across:
        # white on white: the colour cannot tell the set from the product's face, the
        # set's own gradient carried across the hull can (as the bridge cue asks)
        flag = np.linalg.norm(smooth[ys, xs] - set_across(views, hull > 0, ys, xs), axis=1) < ACROSS_TOLERANCE
        opened = open_to_set(mask, ys, xs, flag, edge_near, beside)
    if opened.sum() >= 0.25 * ys.size:
        return mask
    if not opened.any():
        return mask
    rest = cv2.morphologyEx((mask & ~opened).astype(np.uint8), cv2.MORPH_OPEN, disk(1)) > 0
    gaps, _ = piece_gaps(rest)
    gap = gaps & opened
    if not gap.any():
        return mask
    # the gap reaches the product's edges: it is found clear of them (``edge_near``) and
    # grown back out to them through the same set-coloured pixels, where that growth
    # stops at an edge within ``_GAP_REACH`` px
    free = np.zeros(mask.shape, bool)
    free[ys, xs] = flag
    free &= ~(cv2.erode(edge_near.astype(np.uint8), disk(2)) > 0)
    reach = [gap.copy()]
    for _ in range(2 * _GAP_REACH):
        reach.append(reach[-1] | ((cv2.dilate(reach[-1].astype(np.uint8), disk(1)) > 0) & free))
    grown, further = reach[_GAP_REACH], reach[-1]
    # a strip that ends at the edge stops growing; one that runs on into the product (a
    # highlight the set's colour, beside the gap) does not, and stays the product's
    count, labels = cv2.connectedComponents((further & ~gap).astype(np.uint8), connectivity=8)
    runs_on = np.unique(labels[further & ~grown])
    if across:
        return mask & ~(gap | grown)
    return mask & ~(gap | (grown & ~np.isin(labels, runs_on[runs_on > 0])))


# How far (work px) an opened gap is grown back out to the product's edges: past the
# 2 px that ``edge_near`` keeps clear of them, and the edge's own width.
_GAP_REACH = 4

# A see-through hole (``_see_through_holes``) is at most this share of the product's area
# (the key tag's punched hole is 1.7 %, as ``refine.HOLE_FILL_SHARE`` bounds the editor's),
# at least _HOLE_LEAST work px; the product in a ring _HOLE_RING px round it has at most
# _HOLE_ALIKE of its pixels within SET_TOLERANCE of the hole's colour or in a set colour,
# and the hole is no brighter than the set round the product (_HOLE_BRIGHTER levels over
# its brightest tenth: a glossy vase's white highlight is 14-17 levels over its sweep).
_HOLE_MOST, _HOLE_LEAST, _HOLE_RING, _HOLE_ALIKE, _HOLE_BRIGHTER = 0.02, 24, (3, 8), 0.2, 2.0


def _see_through_holes(
    work: np.ndarray, mask: np.ndarray, like: np.ndarray, edge_near: np.ndarray
) -> np.ndarray:
    """Bool: holes through the product that GrabCut kept (a key tag's punched hole showing
    the sweep): a piece of the mask in a set colour (``like``) with no sharp edge in it,
    walled off from what the mask leaves out by the product's sharp edges, no brighter
    than the set seen round the product (the set through a hole is as lit as round it, or
    in the product's shadow; a glossy highlight is brighter), and ringed by the product
    in colours unlike both the hole's and the set's, grown out to the hole's edge through
    its set-coloured rim. The set's colour inside a product of its own colour (a white
    jar's face round its label's letters, a cream label's patches between faint streaks)
    is not a hole: the product round it is that colour too. At most ``_HOLE_MOST`` of the
    product: a larger piece of a set colour ringed by the product may be a label."""
    holes = np.zeros(mask.shape, bool)
    area = int(mask.sum())
    if area < 64:
        return holes
    beside = cv2.dilate((~mask).astype(np.uint8), disk(1)) > 0
    free = mask & like & ~edge_near
    count, labels, stats, _ = cv2.connectedComponentsWithStats(free.astype(np.uint8), connectivity=8)
    open_labels = set(np.unique(labels[beside & free]).tolist())
    candidates = [
        k for k in range(1, count) if k not in open_labels and stats[k, cv2.CC_STAT_AREA] >= _HOLE_LEAST
    ]
    if not candidates:
        return holes
    smooth = cv2.GaussianBlur(work.astype(np.float32), (0, 0), 1.0)
    grown = mask.astype(np.uint8)
    around = (cv2.dilate(grown, disk(_HOLE_RING[1])) > 0) & ~(cv2.dilate(grown, disk(_HOLE_RING[0])) > 0)
    if not around.any():
        return holes
    brightest = np.percentile(smooth[around], 90, axis=0)
    for k in candidates:
        x, y, w, h = (int(v) for v in stats[k, :4])
        pad = _HOLE_RING[1] + _GAP_REACH + 2
        y0, y1, x0, x1 = max(y - pad, 0), y + h + pad, max(x - pad, 0), x + w + pad
        piece = labels[y0:y1, x0:x1] == k
        filled = np.zeros(piece.shape, np.uint8)
        contours, _ = cv2.findContours(piece.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
        if (filled > 0).sum() > 1.05 * piece.sum():
            continue  # sharp detail inside it: print, not the set
        solid = cv2.morphologyEx(piece.astype(np.uint8), cv2.MORPH_OPEN, disk(2)) > 0
        if solid.sum() < 0.5 * piece.sum():
            continue  # a sliver along an edge (a highlight's halo), not an opening
        colour = np.median(smooth[y0:y1, x0:x1][piece], axis=0)
        if (colour > brightest + _HOLE_BRIGHTER).any():
            continue  # brighter than the set: a highlight
        # out to the hole's edge through its set-coloured rim
        hole = piece.copy()
        rim = like[y0:y1, x0:x1] & mask[y0:y1, x0:x1]
        for _ in range(_GAP_REACH):
            hole |= (cv2.dilate(hole.astype(np.uint8), disk(1)) > 0) & rim
        if hole.sum() > _HOLE_MOST * area:
            continue
        spot = hole.astype(np.uint8)
        ring = (cv2.dilate(spot, disk(_HOLE_RING[1])) > 0) & ~(cv2.dilate(spot, disk(_HOLE_RING[0])) > 0)
        if not ring.any() or mask[y0:y1, x0:x1][ring].mean() < 0.98:
            continue  # not ringed by the product
        ring_px = smooth[y0:y1, x0:x1][ring]
        alike = np.linalg.norm(ring_px - colour, axis=1) < SET_TOLERANCE
        if (alike | like[y0:y1, x0:x1][ring]).mean() > _HOLE_ALIKE:
            continue  # the product round it is the hole's colour or a set colour too
        holes[y0:y1, x0:x1] |= hole
    return holes


def full_resolution_matte(rgb: np.ndarray, mask: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 matte, uint8 foreground colours) at the photo's size from a work-scale mask."""
    h, w = rgb.shape[:2]
    hard: np.ndarray = mask.astype(np.uint8) * 255
    if hard.shape != (h, w):
        hard = cv2.resize(hard, (w, h), interpolation=cv2.INTER_LINEAR)
    alpha = edges.solve_alpha(rgb, hard > 127, edges.band_radius(scale))
    matte = np.clip(np.rint(alpha * 255), 0, 255).astype(np.uint8)
    return matte, decontaminate(rgb, matte)


# a soft pixel farther than this share of the product's larger side from any transparent
# pixel is see-through inside the product (glass a mask marks grey), not an edge
SEE_THROUGH_REACH = 0.03


def decontaminate(rgb: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """The photo with each soft pixel's colour replaced by the product's own colour;
    opaque and transparent pixels stay the photo's. At the silhouette's edge the colour is
    the blur-fusion estimate. Inside the product (``SEE_THROUGH_REACH`` from any
    transparent pixel: a see-through part, as glass a mask marks grey), blur-fusion has no
    backdrop near to take out and keeps the photo's colour (a light backdrop seen through
    stays in it: clear glass turns milky over a dark set); there the backdrop behind the
    product is filled in from round it (the set continues smoothly behind, as a sweep
    does) and taken out: ``(photo - (1 - alpha) * backdrop) / alpha``."""
    soft = (matte > 0) & (matte < 255)
    out = rgb.copy()
    if not soft.any():
        return out
    ys, xs = np.nonzero(matte > 0)
    h, w = matte.shape
    pad = 32
    y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, h)
    x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, w)
    crop_rgb, crop_matte = rgb[y0:y1, x0:x1], matte[y0:y1, x0:x1]
    fg = edges.estimate_foreground(crop_rgb, crop_matte.astype(np.float32) / 255.0)
    crop_soft = soft[y0:y1, x0:x1]
    reach = SEE_THROUGH_REACH * max(int(np.ptp(ys)), int(np.ptp(xs)), 1)
    clear = (crop_matte <= 8).astype(np.uint8)
    inside = crop_soft & (cv2.distanceTransform(1 - clear, cv2.DIST_L2, 5) > reach) if clear.any() else None
    if inside is not None and inside.any():
        behind = _backdrop_behind(crop_rgb, crop_matte > 8)
        a = crop_matte[inside].astype(np.float32)[:, None] / 255.0
        fg[inside] = (crop_rgb[inside].astype(np.float32) - (1.0 - a) * behind[inside]) / a
    region = out[y0:y1, x0:x1]
    region[crop_soft] = np.clip(np.rint(fg[crop_soft]), 0, 255).astype(np.uint8)
    return out


def _backdrop_behind(rgb: np.ndarray, product: np.ndarray) -> np.ndarray:
    """The backdrop where ``product`` (bool) hides it, filled in from round it (float32
    (h, w, 3)), at most 256 px across (a backdrop is smooth), then scaled back up."""
    h, w = product.shape
    k = min(1.0, 256.0 / max(h, w))
    size = (max(1, round(w * k)), max(1, round(h * k)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    hole = cv2.resize(product.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    hole = cv2.dilate(hole, np.ones((3, 3), np.uint8))  # no product colour left on its rim
    filled = cv2.inpaint(small, hole, 5, cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(filled.astype(np.float32), (0, 0), 2.0)
    return np.asarray(cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR), dtype=np.float32)


_default = ClassicalSegmenter()


def segment_classical(
    image: Image.Image, config: GenerationConfig | None = None, mask: Image.Image | None = None
) -> Segmentation:
    """Registry entry point: the classical segmenter with default settings."""
    del config  # no weights, no device: nothing to configure
    if mask is not None:
        raise InvalidSpec("a mask was given: use the 'alpha' or 'auto' segmenter with it")
    return _default(image)
