"""Checks on what the library makes: product fidelity and how far a matte can be trusted.

- ``measure_fidelity``: an output's product pixels against the placed product, where
  the product is fully opaque (the "product never altered" promise, per asset).
- ``matte_evidence``: how much a product matte can be trusted, from the photo and the
  matte alone, whichever method made it. The cues (each 0..1, 1 is good):

  ``border``     the matte does not run along the photo's edge over set-coloured pixels
                 (a product cut by the frame is allowed: its edge pixels are not the set's,
                 or, where they are, sharp edges close them off from the set and the
                 product's other colours frame them: a cream band across a teal box);
  ``slab``       the matte does not end in a wide flat slab of floor or tabletop;
  ``reflection`` the matte's lower part does not mirror the part above it, fainter (a
                 floor reflection kept as product);
  ``base``       the matte's base has no bite out of one corner: the outline stepping in
                 on one side of the base, in one row, while the other side does not, over
                 pixels that are not the set's colour (a reflection or shadow cut that
                 took part of the product's bottom with it);
  ``notch``      the outline has no dent that the photo does not have: a dent whose
                 walls run where the photo has no sharp edge while its mouth lies on
                 one (the product's outline runs straight across it) is a bite the cut
                 took out of the product, white on white too;
  ``bottom``     the matte is not cut short above the product's base: its lowest rows lie
                 on a sharp edge (the base's outline, or its contact line), or on a
                 floor reflection's mirror line. A cut through the product's body runs
                 where the photo has no edge;
  ``surround``   what lies just outside the matte is the set: its colours (or a shade of
                 them) are found along the photo's border. A matte that stops inside the
                 product (a label or a neck cut out of the whole bottle) is ringed by the
                 product's own colours;
  ``pieces``     a matte in two or more large pieces has the set between them: what
                 lies between the pieces, inside their common hull, is the set's colour
                 beside that hull. A band of the product left out (a label close to the
                 backdrop's colour) splits the matte and is not;
  ``bridge``     the matte does not keep the set between two parts of the product: with
                 what of it is the set's colour beside it and open to the set (no sharp
                 edge between) taken away, what lies between the pieces left (a gap
                 between two products, the set seen through a product) is mostly not
                 in the matte; white on white, what is taken away is what continues
                 the set's own gradient across the matte;
  ``pocket``     no part of the product is left out beside the matte: what lies outside
                 it, where the outline runs with no sharp edge, is not a pocket walled
                 off from the set by the photo's sharp edges (the rest of a carton the
                 cut went straight through, a second product cut in half);
  ``inlet``      what lies in the matte's inlets (its convex hull less the matte) is the
                 set's colour beside that hull: a real concavity (beside a neck, inside a
                 handle) holds the set, a bite the cut took out of the side of a product
                 (a cream label on a grey sweep, no sharp edge at its side) holds more of it;
  ``other``      what the matte leaves out holds no other product: no region apart from
                 it (not within 5 px) that the photo's sharp edges close all round, a
                 quarter of the matte's area or more, mostly of colours far from the
                 set's (not the border's, and departing from the set carried across it):
                 a cut of one of two products touches nothing of the other;
  ``thin``       little of the matte is thin parts (a cable, stems, a chain: what an
                 opening with a disk of 3 px at the evidence size takes away): the cut
                 cannot follow them, and keeps the set between them or a halo of it
                 beside them;
  ``outline``    where much of the matte is the set's colour and open to the set
                 (``backdrop`` under 0.5: white on white, black on black), its outline
                 follows the photo's sharp edges nearly all round (90 %): nothing else vouches
                 for it there (a black speaker's base cut off on a black floor runs
                 straight across its body, where the photo has no edge);
  ``backdrop``   little of the matte is set-coloured and open to the set without a
                 sharp edge in between (a kept floor, a wall blob, shadow "wings");
  ``edges``      the matte's outline follows sharp edges in the photo;
  ``agreement``  IoU with a second method's matte, when one ran.

  ``score`` is the weakest of ``border``, ``slab``, ``reflection``, ``base``, ``notch``,
  ``bottom``, ``surround``, ``pieces``, ``bridge``, ``pocket``, ``inlet``, ``other``,
  ``thin``, ``outline``, ``ramp`` and ``face``
  (each a failure on its own) capped by
  a weighted mean of the rest. Below ``MATTE_THRESHOLD`` the matte needs the merchant's
  review before any asset is made from it.

The packshot ``check`` (``generation.packshot.check_packshot``) uses the same evidence
to fail a packshot that kept a floor, and ``product_extent`` to measure a white product
on white by its outline rather than by its colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
from PIL import Image

from generation.errors import InvalidSpec
from generation.segment.metrics import iou
from generation.segment.outline import disk, mirror_line, sharp_edges, span_hull
from generation.types import Box, Fidelity, PlacedProduct, Segmentation

# Below this score a matte is not trusted: the job asks the merchant to review it.
MATTE_THRESHOLD = 0.6
# Evidence is measured on a copy with this long side: enough for outlines, fast.
EVIDENCE_SIDE = 640
# A pixel within this many levels of the set's local colour (or a shadow of it) is set-coloured.
SET_TOLERANCE = 14.0
# Weights of the soft cues in the score.
_WEIGHTS = {"edges": 0.5, "backdrop": 0.25, "agreement": 0.25}
# The cues that each cap the score on their own: one of them failing sends the matte to review.
HARD_CUES = (
    "border",
    "slab",
    "reflection",
    "base",
    "notch",
    "bottom",
    "surround",
    "pieces",
    "bridge",
    "pocket",
    "inlet",
    "thin",
    "outline",
    "ramp",
    "face",
    "other",
)


def measure_fidelity(output: Image.Image, placed: PlacedProduct) -> Fidelity:
    """Compare the output with the placed product where the product is fully opaque."""
    if output.size != placed.canvas_size:
        raise InvalidSpec(f"output is {output.size}, expected canvas {placed.canvas_size}")
    visible = placed.visible()
    if visible is None:
        return Fidelity(max_abs_diff=0, psnr_db=0.0, opaque_pixels=0)
    (x0, y0, x1, y1), layer = visible
    mask = layer[..., 3] == 255
    count = int(mask.sum())
    if count == 0:
        return Fidelity(max_abs_diff=0, psnr_db=0.0, opaque_pixels=0)
    region = np.asarray(output.crop((x0, y0, x1, y1)).convert("RGB"))
    # |a - b| of two uint8 images is exact in uint8; the opaque pixels are picked out
    # (and squared in float64) only when one of them differs
    diff = cv2.absdiff(region, np.ascontiguousarray(layer[..., :3]))
    max_abs = int(cv2.bitwise_and(diff, diff, mask=mask.view(np.uint8)).max())
    mse = float((diff[mask].astype(np.float64) ** 2).mean()) if max_abs else 0.0
    psnr = math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)
    return Fidelity(max_abs_diff=max_abs, psnr_db=psnr, opaque_pixels=count)


@dataclass(frozen=True)
class MatteEvidence:
    """How far a matte can be trusted, and why."""

    score: float  # 0..1
    cues: dict[str, float]  # name -> 0..1 (1 is good); "agreement" only when a second matte ran
    problems: list[str] = field(default_factory=list)  # merchant words for weak cues

    @property
    def trusted(self) -> bool:
        return self.score >= MATTE_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            "threshold": MATTE_THRESHOLD,
            "trusted": self.trusted,
            "cues": {k: round(v, 3) for k, v in self.cues.items()},
            "problems": list(self.problems),
        }


_PROBLEMS = {
    "border": "The cutout runs along the edge of the photo where the background is.",
    "slab": "The cutout ends in a slab of floor or tabletop under the product.",
    "reflection": "The cutout keeps the product's reflection on the floor (a slab of floor under it).",
    "base": "The cutout takes a bite out of the bottom of the product (where its reflection or shadow was cut).",
    "notch": "The cutout's outline has a dent where the product's edge runs straight: it bit into the product.",
    "bottom": "The cutout stops above the bottom of the product: its lowest rows are cut off.",
    "surround": "The cutout leaves out part of the product: what lies just outside it is not the background.",
    "pieces": "The cutout is in pieces with part of the product left out between them.",
    "bridge": "The cutout keeps background that shows between two parts of the product (or two products).",
    "pocket": "The cutout runs through the product: part of it is left out beside the cutout.",
    "inlet": "The cutout leaves out a piece from the side of the product.",
    "thin": "The product has thin parts (a cable, stems, a chain) that the automatic cutout cannot follow.",
    "outline": "The product is the background's colour and the cutout's outline does not follow its edges all round.",
    "ramp": "The product's edge fades gradually into the background (a rim light on a dark product): the cutout's edge sits partway along that fade, so where the product ends is a guess.",
    "face": "The cutout leaves out a face of the product beside it (walled off from the background by the product's own edges): a side, a lid or a top is missing.",
    "other": "The photo holds another product apart from the cutout (closed off by its own edges, not the background's colour): the cutout keeps only one of them.",
    "backdrop": "Part of the cutout looks like the background (floor, wall or shadow).",
    "edges": "The cutout's outline does not follow the product's edges.",
    "agreement": "Two cutout methods disagree about where the product is.",
}


def _reduced(photo: np.ndarray, matte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = matte.shape
    scale = min(1.0, EVIDENCE_SIDE / max(h, w))
    if scale >= 1.0:
        return photo, matte
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return (
        cv2.resize(photo, size, interpolation=cv2.INTER_AREA),
        cv2.resize(matte, size, interpolation=cv2.INTER_AREA),
    )


def local_set_colour(rgb: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """The set's colour at every pixel: a wide Gaussian average of the pixels ``outside``
    the product (float32 (h, w, 3)), so under and around the product it is the colour of
    the floor or wall right next to it."""
    sigma = 0.04 * max(outside.shape)
    weight = cv2.GaussianBlur(outside.astype(np.float32), (0, 0), sigma)
    values = cv2.GaussianBlur(rgb.astype(np.float32) * outside[..., None], (0, 0), sigma)
    return values / np.maximum(weight, 1e-4)[..., None]


def set_coloured(rgb: np.ndarray, set_colour: np.ndarray, tolerance: float = SET_TOLERANCE) -> np.ndarray:
    """Bool: pixels that are the set's local colour, or that colour in shadow."""
    px = rgb.astype(np.float32)
    near = np.linalg.norm(px - set_colour, axis=2) < tolerance
    norm2 = np.maximum((set_colour * set_colour).sum(axis=2), 1.0)
    s = (px * set_colour).sum(axis=2) / norm2
    residual = np.linalg.norm(px - s[..., None] * set_colour, axis=2)
    shade = (s > 0.25) & (s < 1.03) & (residual < 0.5 * tolerance + 0.04 * np.sqrt(norm2) * s)
    return near | shade


def base_slab(mask: np.ndarray, like: np.ndarray, *, widening: float = 1.25) -> np.ndarray | None:
    """Bool mask of a wide flat slab of set-coloured pixels at the mask's bottom, or None.

    The bottom eighth of the mask is a slab when it is ``widening`` times wider than the
    body above it and the extra pixels are mostly set-coloured (floor, tabletop, shadow).
    """
    ys = np.flatnonzero(mask.any(axis=1))
    if ys.size < 16:
        return None
    top, bottom = int(ys[0]), int(ys[-1])
    height = bottom - top + 1
    widths = mask.sum(axis=1)
    body_rows = slice(top + int(0.55 * height), top + int(0.85 * height))
    foot_rows = slice(bottom - max(2, height // 8) + 1, bottom + 1)
    body = widths[body_rows]
    if body.size == 0 or widths[foot_rows].mean() <= widening * max(float(np.median(body)), 1.0):
        return None
    # the slab is what sticks out of the body's columns, plus set-coloured pixels below it
    body_cols = np.asarray(mask[body_rows].any(axis=0))
    slab = np.zeros_like(mask)
    slab[foot_rows] = mask[foot_rows] & (~body_cols[None, :] | like[foot_rows])
    if not slab.any() or like[slab].mean() < 0.6:
        return None
    return slab


def piece_gaps(product: np.ndarray, *, smallest: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(gaps, hull): bool masks of what lies between a mask's large pieces (each at least
    ``smallest`` of its area) and of those pieces' common convex hull. The gaps are the
    parts of that hull outside every piece's own hull, each touching two pieces' hulls or
    more: a band the cut left out between two parts of one product, or the set showing
    between two products. A piece's own concavities (beside a bottle's neck, inside a
    handle) are not gaps, and a mask in one large piece has none."""
    none = np.zeros(product.shape, bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(product.astype(np.uint8), connectivity=8)
    if count <= 2:
        return none, none
    total = float(stats[1:, cv2.CC_STAT_AREA].sum())
    large = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= smallest * total]
    if len(large) < 2:
        return none, none
    hulls = np.zeros(product.shape, np.int32)
    for k in large:
        cv2.fillPoly(hulls, [cv2.convexHull(cv2.findNonZero((labels == k).astype(np.uint8)))], k)
    common = np.zeros(product.shape, np.uint8)
    cv2.fillPoly(common, [cv2.convexHull(cv2.findNonZero((hulls > 0).astype(np.uint8)))], 1)
    hull = common > 0
    gap_count, gap_labels = cv2.connectedComponents((hull & (hulls == 0)).astype(np.uint8), connectivity=4)
    # which pieces' hulls each gap touches: the hull labels under each gap's one-pixel rim
    grown = cv2.dilate(gap_labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
    rim = (hulls > 0) & (grown > 0)
    pairs = np.unique(np.stack([grown[rim], hulls[rim]]), axis=1)
    touched = np.bincount(pairs[0], minlength=gap_count)
    bridging = np.flatnonzero(touched >= 2)
    return np.isin(gap_labels, bridging[bridging > 0]), hull


def set_beside(
    rgb: np.ndarray,
    outside: np.ndarray,
    hull: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    *,
    smooth: np.ndarray | None = None,
) -> list[np.ndarray]:
    """The set's colour (float32 (n, 3), lightly smoothed) at the pixels (``ys``, ``xs``)
    seen three ways from ``outside``: at its nearest pixel there, and in the same row just
    left and just right of ``hull`` (a gradient sweep changes from top to bottom: a tall
    gap is its row's colour, not that of the hull's top or bottom). Unlike
    ``local_set_colour`` none fades into what lies inside the hull, so across a wide gap
    in a matte it is still the set's colour beside the gap, not the colour of what the
    gap holds. ``smooth`` is the photo as float32 blurred by 1.5 px, when the caller has
    it already."""
    if smooth is None:
        smooth = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 1.5)
    if not outside.any():
        return [smooth[ys, xs]]
    _, nearest = cv2.distanceTransformWithLabels(
        (~outside).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    lut = np.zeros((int(nearest.max()) + 1, 3), np.float32)
    lut[nearest[outside]] = smooth[outside]
    at = lut[nearest[ys, xs]]
    colours = [at]
    h, w = hull.shape
    rows = np.arange(h)
    has = hull.any(axis=1)
    first = hull.argmax(axis=1)
    last = w - 1 - hull[:, ::-1].argmax(axis=1)
    for cols in (first - 4, last + 4):
        # rows with no set beside the hull fall back to the nearest
        ok = has & (cols >= 0) & (cols < w)
        ok[ok] = outside[rows[ok], cols[ok]]
        row_colour = smooth[rows, np.clip(cols, 0, w - 1)]
        colours.append(np.where(ok[ys][:, None], row_colour[ys], at))
    return colours


def _blurs(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo lightly blurred (1.5 px) as ``set_beside`` reads it (float32) and as the
    set-colour tests read each pixel (uint8, rounded)."""
    return cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 1.5), cv2.GaussianBlur(rgb, (0, 0), 1.5)


def _like_set_beside(
    rgb: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    outside: np.ndarray,
    hull: np.ndarray,
    views: list[np.ndarray] | None = None,
    blurred: np.ndarray | None = None,
) -> np.ndarray:
    """Bool per pixel (``ys``, ``xs``): its colour (lightly blurred) is the set's beside
    ``hull`` (``outside`` marks where the set may be), or a shade of it, by any of
    ``set_beside``'s views (``views`` at those pixels and the blurred photo ``blurred``,
    when the caller has them already)."""
    px = (cv2.GaussianBlur(rgb, (0, 0), 1.5) if blurred is None else blurred)[ys, xs][None]
    like = np.zeros(ys.size, bool)
    for colour in views if views is not None else set_beside(rgb, outside, hull, ys, xs):
        like |= set_coloured(px, colour[None])[0]
    return like


def set_across(views: list[np.ndarray], hull: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The set's colour (float32 (n, 3)) at the pixels (``ys``, ``xs``) of ``hull``,
    carried across it row by row: each row's colour just left of the hull blended
    linearly into its colour just right of it (``set_beside``'s second and third views
    at those pixels).
    Where the set shows through a product or between two products, the photo is this,
    up to its grain; a product's own face (a white cylinder's shading, its print)
    departs from it even where it is the set's colour within ``SET_TOLERANCE``."""
    w = hull.shape[1]
    first = hull.argmax(axis=1)[ys]
    last = w - 1 - hull[:, ::-1].argmax(axis=1)[ys]
    t = np.clip((xs - first) / np.maximum(last - first, 1), 0.0, 1.0).astype(np.float32)[:, None]
    left, right = views[1], views[2]
    return left + (right - left) * t


def unlike_set_gaps(
    rgb: np.ndarray,
    product: np.ndarray,
    *,
    clear: np.ndarray | None = None,
    blurs: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(gaps, unlike): the gaps between ``product``'s large pieces (``piece_gaps``) and
    the gap pixels that are not the set's colour beside the pieces' hull (nor a shade of
    it) by any of ``set_beside``'s three views. The set showing between two products, or
    through a product, is the set's colour; a band of the product the mask left out is
    not. ``clear`` (bool) marks the pixels that may be the set (not product); ``blurs``
    is ``_blurs(rgb)`` when the caller has it already."""
    gaps, hull = piece_gaps(product)
    unlike = np.zeros(product.shape, bool)
    if not gaps.any():
        return gaps, unlike
    outside = ~(cv2.dilate(hull.astype(np.uint8), disk(3)) > 0)
    if clear is not None:
        outside &= clear
    ys, xs = np.nonzero(gaps)
    smooth, blurred = blurs or _blurs(rgb)
    views = set_beside(rgb, outside, hull, ys, xs, smooth=smooth)
    unlike[ys, xs] = ~_like_set_beside(rgb, ys, xs, outside, hull, views, blurred)
    return gaps, unlike


def _border_cue(
    rgb: np.ndarray, product: np.ndarray, set_colour: np.ndarray, edges_near: np.ndarray
) -> float:
    """1 unless the matte runs along the photo's edge over the set's colours (a floor or
    a wall kept), or over more than 35-55 % of the edge. Set-coloured matte pixels on
    the edge are not counted where they belong to a part of the product the colour cannot
    tell: a piece of the matte in the set's colours, clear of sharp edges, that sharp
    edges close off from everything the matte leaves out (``open_to_set``) and that the
    matte's other colours frame on ``_FRAMED`` of its rim or more (a cream band across a
    teal box cut by the frame, the set's cream). A floor or wall kept along the edge
    meets the rest of the set where the cut ran through it, with no edge there."""
    ring = np.zeros(product.shape, bool)
    ring[:2] = ring[-2:] = True
    ring[:, :2] = ring[:, -2:] = True
    on_edge = ring & product
    if not on_edge.any():
        return 1.0
    # the set's colour along the edge, from the edge pixels the matte leaves out
    ring_set = ring & ~product
    if ring_set.any():
        edge_colours = rgb[ring_set].astype(np.float32)
        ref = np.median(edge_colours, axis=0)
        spread = float(np.percentile(np.linalg.norm(edge_colours - ref, axis=1), 90))
        tol = max(SET_TOLERANCE, 1.5 * spread)
        like = (
            np.linalg.norm(
                rgb[on_edge].astype(np.float32)[:, None, :]
                - edge_colours[None, :: max(1, len(edge_colours) // 400)],
                axis=2,
            ).min(axis=1)
            < tol
        )
    else:
        like = set_coloured(rgb, set_colour)[on_edge]
    if like.any():
        like &= ~_framed_set_colour(rgb, product, on_edge, like, edges_near)
    bad = float(like.sum()) / ring.sum()
    total = float(on_edge.sum()) / ring.sum()
    return float(np.clip(1.0 - bad / 0.04, 0.0, 1.0) * np.clip(1.0 - (total - 0.35) / 0.2, 0.0, 1.0))


# A set-coloured piece of the matte on the photo's edge is the product's own when the
# matte's other colours lie on at least this share of its rim (the serum box's cream
# band, teal above and below it: 0.8).
_FRAMED = 0.6


def _framed_set_colour(
    rgb: np.ndarray, product: np.ndarray, on_edge: np.ndarray, like: np.ndarray, edges_near: np.ndarray
) -> np.ndarray:
    """Bool per ``on_edge`` pixel: its set-coloured (``like``) piece of the matte is closed
    off from the set by sharp edges and framed by the matte's other colours (``_border_cue``)."""
    ys, xs = np.nonzero(on_edge)
    flagged = np.zeros(product.shape, bool)
    flagged[ys[like], xs[like]] = True
    # the set-coloured piece each flagged edge pixel belongs to, grown through the matte's
    # pixels of the same colours
    # (their colours to 4 levels: a few dozen, each compared with the matte in turn)
    refs = np.unique(rgb[flagged] // 4, axis=0).astype(np.float32) * 4 + 1.5
    refs = refs[:: max(1, len(refs) // 64)]
    py, px = np.nonzero(product)
    colours = rgb[py, px].astype(np.float32)
    near = np.zeros(len(py), bool)
    for ref in refs:
        near |= np.linalg.norm(colours - ref, axis=1) < SET_TOLERANCE
    same = np.zeros(product.shape, bool)
    same[py[near], px[near]] = True
    same &= ~edges_near
    same |= flagged
    count, labels = cv2.connectedComponents(same.astype(np.uint8), connectivity=8)
    beside = cv2.dilate((~product).astype(np.uint8), disk(1)) > 0
    beside[:2] = beside[-2:] = False
    beside[:, :2] = beside[:, -2:] = False
    open_labels = np.unique(labels[beside & same])
    framed = np.zeros(count, bool)
    for k in np.unique(labels[flagged]):
        if k == 0 or k in open_labels:
            continue
        piece = (labels == k).astype(np.uint8)
        rim = (cv2.dilate(piece, disk(5)) > 0) & (piece == 0) & ~edges_near
        rim[:2] = rim[-2:] = False
        rim[:, :2] = rim[:, -2:] = False
        if rim.any() and (product[rim] & ~same[rim]).mean() >= _FRAMED:
            framed[k] = True
    return framed[labels[ys, xs]]


def _base_cue(product: np.ndarray, like: np.ndarray) -> float:
    """1 unless one side of the matte's base steps in, in one row, much further than the
    other side does, and what it leaves out under the step does not look like the set: a
    bite out of the base (a foot really stepping in shows the floor there). A rounded or
    perspective base steps in on both sides or a little every row, and the last two rows
    (a base's final curve) are left out."""
    rows = np.flatnonzero(product.any(axis=1))
    if rows.size < 24:
        return 1.0
    top, bottom = int(rows[0]), int(rows[-1])
    height = bottom - top + 1
    left = product.argmax(axis=1)
    right = product.shape[1] - 1 - product[:, ::-1].argmax(axis=1)
    body = slice(bottom - int(0.15 * height), bottom - int(0.05 * height))
    width = max(float(np.median(right[body] - left[body])) + 1, 1.0)
    worst = 0
    for y in range(bottom - max(4, int(0.06 * height)) + 1, bottom - 1):
        if not product[y - 1].any() or not product[y].any():
            continue
        steps = {"left": int(left[y] - left[y - 1]), "right": int(right[y - 1] - right[y])}
        for side, other in (("left", "right"), ("right", "left")):
            bite = steps[side] - max(steps[other], 0)
            if bite <= worst:
                continue
            # what the step leaves out, in the rows under it down to the base
            x0, x1 = (left[y - 1], left[y]) if side == "left" else (right[y] + 1, right[y - 1] + 1)
            cut = ~product[y : bottom + 1, x0:x1]
            if cut.any() and like[y : bottom + 1, x0:x1][cut].mean() < 0.5:
                worst = bite
    return float(np.clip(1.0 - (worst / width - 0.05) / 0.05, 0.0, 1.0))


# A dent at most this long along the outline (mouth pixels), less than this deep (px) and
# with at least this share of its walls on a sharp edge is a soft edge stepping in along an
# edge inside the product, not a bite (``_notch_cue``).
_SLOT_MOUTH, _SLOT_DEPTH, _SLOT_WALLS = 8, 4.5, 0.3


def _notch_cue(product: np.ndarray, edges: np.ndarray) -> float:
    """1 unless the outline has a dent (what a closing with a disk of 6 % of the matte's
    width fills in) whose walls, the matte's own outline inside the dent, mostly run where
    the photo has no sharp edge while its mouth, the closed outline across it, mostly lies
    on one: the product's edge runs on across the dent, the cut bit into the product. A
    real concavity (a lid narrower than its jar, a handle's corner, the gap between two
    products) has sharp edges along its walls. Falls to 0 as the largest such dent grows
    from 0.04 % to 0.1 % of the matte's width squared (a round bite of 1.6 % to 2.5 % of
    the width in radius). A dent no longer than ``_SLOT_MOUTH`` px along the outline and
    less than ``_SLOT_DEPTH`` px deep whose walls partly follow a sharp edge (``_SLOT_WALLS``
    of them or more) is not judged: it lies where an edge inside the product (a label's top
    or bottom) meets the outline, and the cut's soft edge steps in along it by a few pixels
    (3-4 px for 5-7 rows on a bottle 93 px wide, IoU 0.99). A bite's walls have little
    edge along them (0-0.14 of them at the base's bites and the bottle's label bite, up to
    0.44 on the box's base), and those with more run longer or deeper."""
    cols = np.flatnonzero(product.any(axis=0))
    if cols.size < 24:
        return 1.0
    width = int(cols[-1]) - int(cols[0]) + 1
    r = max(3, round(0.06 * width))
    p8 = product.astype(np.uint8)
    pad = 2 * r
    padded = cv2.copyMakeBorder(p8, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, disk(r))[pad:-pad, pad:-pad] > 0
    dents = closed & ~product
    if not dents.any():
        return 1.0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dents.astype(np.uint8), connectivity=8)
    near = cv2.dilate(dents.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    # the walls deeper in than a sharp edge's own width: by the mouth the product's
    # edge is near any matte
    depth = cv2.distanceTransform(closed.astype(np.uint8), cv2.DIST_L2, 3)
    walls = product & near & (depth > 2.5)
    mouth = closed & ~(cv2.erode(closed.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & dents
    # the wall and mouth pixels of each dent, and how many of them lie on a sharp edge
    grown = cv2.dilate(labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
    wall_n = np.bincount(grown[walls], minlength=count)
    wall_e = np.bincount(grown[walls & edges], minlength=count)
    mouth_n = np.bincount(labels[mouth], minlength=count)
    mouth_e = np.bincount(labels[mouth & edges], minlength=count)
    worst = 0
    for k in range(1, count):
        if mouth_n[k] == 0 or wall_n[k] == 0:
            continue
        wall_share, mouth_share = wall_e[k] / wall_n[k], mouth_e[k] / mouth_n[k]
        slot = (
            wall_share >= _SLOT_WALLS
            and mouth_n[k] <= _SLOT_MOUTH
            and float(depth[labels == k].max()) < _SLOT_DEPTH
        )
        if wall_share < 0.5 and mouth_share >= wall_share + 0.3 and not slot:
            worst = max(worst, int(stats[k, cv2.CC_STAT_AREA]))
    return float(np.clip(1.0 - (worst / (width * width) - 0.0004) / 0.0006, 0.0, 1.0))


def _bottom_cue(
    rgb: np.ndarray, product: np.ndarray, edges: np.ndarray, strength: np.ndarray, like: np.ndarray
) -> float:
    """1 when the matte's lowest rows (its base columns: the middle 60 % of its width that
    reach within 10 % of its height of its bottom) lie on the base's own edge, or on the
    mirror line of a floor reflection right under them (a glossy floor blurs the base into
    its reflection: no sharp edge there); falls to 0 as that share drops from 1/2 to 1/5. A
    matte cut short above the base ends in the middle of the product's body, where the
    photo has no edge. On a textured product or floor (kraft card, a grey floor's grain,
    the lower rim of a contact shadow) some sharp edge lies under almost any row, so a
    lowest row counts only when no edge half again as strong lies within 10 % of the
    height above it over set-coloured pixels (a strip of floor kept along the base: the
    base's edge is above it) or below it over pixels that are not the set's (the base
    bitten: its edge is below). A matte that reaches the photo's bottom edge (a product
    cut by the frame) is not judged."""
    rows = np.flatnonzero(product.any(axis=1))
    cols = np.flatnonzero(product.any(axis=0))
    if rows.size < 24 or cols.size < 24 or rows[-1] >= product.shape[0] - 3:
        return 1.0
    top, bottom = int(rows[0]), int(rows[-1])
    height, x0, width = bottom - top + 1, int(cols[0]), int(cols[-1]) - int(cols[0]) + 1
    xs = np.arange(x0 + int(0.2 * width), x0 + width - int(0.2 * width))
    lowest = product.shape[0] - 1 - product[::-1, xs].argmax(axis=0)
    base = product[:, xs].any(axis=0) & (lowest >= bottom - 0.1 * height)
    if base.sum() < 8:
        return 1.0
    xs, lowest = xs[base], lowest[base]
    on_outline = edges[lowest, xs] & ~_stronger_edge_off_the_base(strength, like, lowest, xs, height)
    support = float(on_outline.mean())
    if support >= 0.5:
        return 1.0
    # a reflection under the base: the rows below mirror the matte's lowest rows
    extended = product.copy()
    extended[bottom + 1 : bottom + 1 + int(0.3 * height), xs] = True
    line = mirror_line(rgb, extended, shortest=0.03)
    if line is not None and abs(line - bottom) <= 3:
        return 1.0
    return float(np.clip((support - 0.2) / 0.3, 0.0, 1.0))


def _stronger_edge_off_the_base(
    strength: np.ndarray, like: np.ndarray, lowest: np.ndarray, xs: np.ndarray, height: int
) -> np.ndarray:
    """Bool per base column (``xs``, lowest matte row ``lowest``): an edge 1.5 times as
    strong as the one at the lowest row (within a row of it) lies within 10 % of ``height``
    above it with the pixels from there down mostly set-coloured (floor kept along the
    base), or below it with the pixels down to it mostly not (the base bitten)."""
    h = strength.shape[0]
    reach = max(3, int(0.1 * height))
    at = np.max([strength[np.clip(lowest + d, 0, h - 1), xs] for d in (-1, 0, 1)], axis=0)
    off = np.zeros(xs.size, bool)
    for sign, kept in ((-1, True), (1, False)):
        steps = np.arange(2, reach + 1)
        ys = np.clip(lowest[None, :] + sign * steps[:, None], 0, h - 1)
        stronger = strength[ys, xs[None, :]] > 1.5 * at[None, :]
        found = stronger.any(axis=0)
        first = steps[stronger.argmax(axis=0)]  # rows from the lowest row to that edge
        # the share of set-coloured pixels from the lowest row up to (not on) that edge
        run = np.clip(lowest[None, :] + sign * np.arange(0, reach + 1)[:, None], 0, h - 1)
        cum = np.cumsum(like[run, xs[None, :]], axis=0)
        share = cum[first - 1, np.arange(xs.size)] / first
        off |= found & ((share > 0.8) if kept else (share < 0.2))
    return off


def _surround_cue(rgb: np.ndarray, product: np.ndarray) -> float:
    """1 when the ring 3..8 px outside the matte has the set's colours, those found along the
    photo's border away from the product (or a shade of them: contact shadows); falls to 0
    as 55 % to 70 % of the ring is colours the border does not have (a busy set's props
    beside the product make about 43 %). The local set
    colour cannot judge this: it is estimated from what the matte leaves out, which is
    the product itself when the matte stops inside it."""
    grown = product.astype(np.uint8)
    ring = (cv2.dilate(grown, disk(8)) > 0) & ~(cv2.dilate(grown, disk(3)) > 0)
    ring[:2] = ring[-2:] = False
    ring[:, :2] = ring[:, -2:] = False
    if not ring.any():
        return 1.0
    like = _like_border_set(rgb, product, rgb[ring])
    if like is None:
        return 1.0
    foreign = 1.0 - float(like.mean())
    return float(np.clip(1.0 - (foreign - 0.55) / 0.15, 0.0, 1.0))


def _like_border_set(rgb: np.ndarray, product: np.ndarray, pixels: np.ndarray) -> np.ndarray | None:
    """Bool per pixel of ``pixels`` (uint8 (n, 3)): its colour is one found along the
    photo's border away from the product (within ``SET_TOLERANCE``), or a shade of one;
    None when the product leaves no border to sample."""
    h, w = product.shape
    band = max(3, round(0.03 * min(h, w)))
    frame = np.zeros((h, w), bool)
    frame[:band] = frame[-band:] = True
    frame[:, :band] = frame[:, -band:] = True
    frame &= ~(cv2.dilate(product.astype(np.uint8), disk(band)) > 0)
    if not frame.any():
        return None
    samples = rgb[frame]
    samples = samples[:: max(1, len(samples) // 400)]
    # each distinct colour is judged once (a ring holds a few thousand pixels in far
    # fewer colours), and a repeated sample adds nothing to "like any of them"
    samples = _distinct_colours(samples)[0].astype(np.float32)
    colours, index = _distinct_colours(pixels)
    px = colours.astype(np.float32)
    near = (np.linalg.norm(px[:, None] - samples[None], axis=2) < SET_TOLERANCE).any(axis=1)
    norm2 = np.maximum((samples * samples).sum(axis=1), 1.0)
    s = px @ samples.T / norm2[None]
    residual = np.linalg.norm(px[:, None] - s[..., None] * samples[None], axis=2)
    shade = (s > 0.25) & (s < 1.03) & (residual < 0.5 * SET_TOLERANCE + 0.04 * np.sqrt(norm2)[None] * s)
    return (near | shade.any(axis=1))[index]


def _distinct_colours(px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(colours, index): the distinct rows of ``px`` (uint8 (n, 3)) and, per row, which
    of them it is (``colours[index]`` is ``px``)."""
    code = (px[:, 0].astype(np.int32) << 16) | (px[:, 1].astype(np.int32) << 8) | px[:, 2]
    unique, first, index = np.unique(code, return_index=True, return_inverse=True)
    return px[first], index.ravel()


def _pieces_cue(
    rgb: np.ndarray, product: np.ndarray, clear: np.ndarray, blurs: tuple[np.ndarray, np.ndarray]
) -> float:
    """1 unless the matte is in two or more large pieces and what lies between them, inside
    their common hull, is mostly not the set's colour beside that hull: the cut left a band
    of the product out (a label close to the backdrop's colour) and split the product in
    two. Two products side by side, or a product the set shows through, have the set
    between their pieces. Falls to 0 as that share grows from 35 % to 55 %; gaps smaller
    than 1 % of the matte are not judged."""
    gaps, unlike = unlike_set_gaps(rgb, product, clear=clear, blurs=blurs)
    area = int(gaps.sum())
    if area < 0.01 * product.sum():
        return 1.0
    foreign = float(unlike.sum()) / area
    return float(np.clip(1.0 - (foreign - 0.35) / 0.2, 0.0, 1.0))


def _bridge_cue(
    rgb: np.ndarray,
    product: np.ndarray,
    outside: np.ndarray,
    edges_near: np.ndarray,
    blurs: tuple[np.ndarray, np.ndarray],
) -> float:
    """1 unless the matte keeps the set where it shows between two parts of the product:
    the matte's pixels that are the set's colour beside its hull (``set_beside``: a
    gradient sweep's own row, not a colour faded in from far away) and open to the set
    (no sharp edge between, and touching what the matte leaves out) are taken away; when
    that leaves two or more large pieces, what lies between them (``piece_gaps``) is the
    set showing between two products or through one, and the matte should leave it out.
    Falls to 0 as the share of those gaps in the matte grows from 30 % to 50 %; gaps
    under 1 % of the matte are not judged. On a product mostly the set's own colour
    (white on white: a quarter or more of it open and set-coloured) the colour cannot
    tell the set from the product; there the pixels taken away are those within
    ``ACROSS_TOLERANCE`` levels of the set carried across the hull (``set_across``): a kept
    see-through gap on a white jar is the sweep's gradient and grain (median 0.5
    levels off it), the jar's own face is its shading and print (5 % of it within 4
    levels, none of that open to the set). When even that opens a quarter of the
    matte, it is not judged."""
    ys, xs = np.nonzero(product)
    if ys.size < 64:
        return 1.0
    hull = np.zeros(product.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32))], 1)
    clear = outside & ~(cv2.dilate(hull, disk(3)) > 0)
    smooth, blurred = blurs
    views = set_beside(rgb, clear, hull > 0, ys, xs, smooth=smooth)
    like = _like_set_beside(rgb, ys, xs, clear, hull > 0, views, blurred)
    beside = cv2.dilate((~product).astype(np.uint8), disk(1)) > 0
    opened = open_to_set(product, ys, xs, like, edges_near, beside)
    if opened.sum() >= 0.25 * ys.size and len(views) == 3:
        # white on white: the colour cannot tell the set from the product, the set's
        # own gradient carried across the hull can (the product's face departs from it)
        px = blurred[ys, xs].astype(np.float32)
        through = np.linalg.norm(px - set_across(views, hull > 0, ys, xs), axis=1) < ACROSS_TOLERANCE
        opened = open_to_set(product, ys, xs, through, edges_near, beside)
        if opened.sum() >= 0.25 * ys.size:
            return 1.0
    rest = cv2.morphologyEx((product & ~opened).astype(np.uint8), cv2.MORPH_OPEN, disk(1)) > 0
    gaps, _ = piece_gaps(rest)
    kept = int((gaps & product).sum())
    if kept < 0.01 * ys.size:
        return 1.0
    share = kept / float(gaps.sum())
    return float(np.clip(1.0 - (share - 0.3) / 0.2, 0.0, 1.0))


# A matte pixel within this many levels of the set carried across the hull
# (``set_across``, lightly blurred) is the set showing through (``_bridge_cue``).
ACROSS_TOLERANCE = 4.0


def open_to_set(
    product: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    like: np.ndarray,
    edges_near: np.ndarray,
    beside: np.ndarray,
) -> np.ndarray:
    """Bool: the matte's pixels (``ys``, ``xs``) flagged ``like`` the set that no sharp
    edge separates from what the matte leaves out (``beside`` it). The bridge cue and the
    classical cut's gap opening both ask this."""
    open_set = np.zeros(product.shape, bool)
    open_set[ys, xs] = like
    open_set &= ~edges_near
    count, labels = cv2.connectedComponents(open_set.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[beside & open_set])
    return np.isin(labels, touching[touching > 0])


Walled = tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]


def walled_off(product: np.ndarray, edges_near: np.ndarray) -> Walled:
    """What the matte leaves out, less the photo's sharp edges (``free``), in 4-connected
    pieces (``count``, ``labels``, ``stats``), and the labels of those reaching the photo's
    edge (``rim``: the set, not walled off): the pocket and face cues' common ground, and
    what the classical cut gives back when it dropped a face of the product."""
    free = ~product & ~edges_near
    count, labels, stats, _ = cv2.connectedComponentsWithStats(free.astype(np.uint8), connectivity=4)
    rim = np.unique(
        np.concatenate(
            [labels[:2].ravel(), labels[-2:].ravel(), labels[:, :2].ravel(), labels[:, -2:].ravel()]
        )
    )
    return free, count, labels, stats, rim


def _pocket_cue(product: np.ndarray, walled: Walled) -> float:
    """1 unless the matte touches, where its outline has no sharp edge, a pocket of what it
    leaves out that the photo's sharp edges wall off from the set (it does not reach the
    photo's edge): the cut went straight through a product (a carton's white face) and
    the rest of it lies beside the matte. The set beside a right matte reaches the
    photo's edge, and a pocket the product encloses (a handle's hole) meets the matte
    only along the product's sharp edge. Contact in the matte's lowest 10 % of rows is
    not counted (a floor reflection under a glossy base). Falls to 0 as the longest
    such contact grows from 5 % to 15 % of the matte's width."""
    cols = np.flatnonzero(product.any(axis=0))
    if cols.size < 24:
        return 1.0
    width = int(cols[-1]) - int(cols[0]) + 1
    free, count, labels, _, rim = walled
    beside = (cv2.dilate(product.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & free
    # under the base a glossy floor's reflection is walled off by its own mirrored edges
    # and meets a dark base with no edge between them: the base is the bottom cue's
    rows = np.flatnonzero(product.any(axis=1))
    beside[int(rows[-1]) - int(0.1 * (rows[-1] - rows[0] + 1)) :] = False
    contact = np.bincount(labels[beside], minlength=count)
    contact[0] = 0
    contact[rim] = 0
    return float(np.clip(1.0 - (contact.max() / width - 0.05) / 0.1, 0.0, 1.0))


# The face cue falls from 1 to 0 as the largest walled-off region beside the matte grows
# from _FACE_FROM to _FACE_TO of the matte's area (at EVIDENCE_SIDE): the carton's grey
# side face left out above its band is 2.2 %, the kraft box's side face 2.0 % (split in
# pieces by its grain); exact mattes have none over 0.8 % (a linen flat lay's weave).
_FACE_FROM, _FACE_TO = 0.01, 0.015
# ... and when it meets the matte (within _FACE_NEAR px) along at least this share of the
# matte's width, on less than _FACE_HOLE of its rim (a handle's hole is all matte round),
# and at least _FACE_HULL of it lies in the matte's convex hull (the carton's side 74 %,
# the box's 99 %; the props walled off beside the candle of the busy set 0 %).
_FACE_NEAR, _FACE_CONTACT, _FACE_HOLE, _FACE_HULL = 5, 0.3, 0.9, 0.5


def _face_cue(product: np.ndarray, walled: Walled) -> float:
    """1 unless a region that the matte leaves out is walled off from the set by sharp
    edges (it does not reach the photo's edge), meets the matte across a sharp edge along
    a good share of its width, lies mostly within the matte's convex hull (a missing face
    fills the corner the cut left; props beside the product lie outside it) and is not a
    hole the matte rings: a face of the product (a carton's side, a box's side) that the
    cut left out along the edge between two faces. Its colour may be the set's (a grey side against a grey wall), so only the
    edges that close it tell it apart; the pocket cue asks the same where no edge lies
    between the matte and the region. Falls to 0 as the largest such region grows from
    ``_FACE_FROM`` to ``_FACE_TO`` of the matte."""
    cols = np.flatnonzero(product.any(axis=0))
    if cols.size < 24:
        return 1.0
    width = int(cols[-1]) - int(cols[0]) + 1
    area = float(product.sum())
    _, _, labels, stats, rim = walled
    sizes = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    sizes[0] = 0
    sizes[rim] = 0
    near = cv2.dilate(product.astype(np.uint8), disk(_FACE_NEAR)) > 0
    whole = _whole_face(product, labels, rim, near, width, area)
    candidates = np.flatnonzero(sizes >= _FACE_FROM * area)
    if candidates.size == 0:
        return whole
    hull = np.zeros(product.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(cv2.findNonZero(product.astype(np.uint8)))], 1)
    largest = 0.0
    for k in candidates:
        x, y, w, h = stats[k, :4]
        pad = 4
        y0, y1 = max(int(y) - pad, 0), int(y + h) + pad
        x0, x1 = max(int(x) - pad, 0), int(x + w) + pad
        comp = (labels[y0:y1, x0:x1] == k).astype(np.uint8)
        ring = (cv2.dilate(comp, disk(2)) > 0) & (comp == 0)
        touching = near[y0:y1, x0:x1] & ring
        if touching.sum() < _FACE_CONTACT * width or touching.sum() >= _FACE_HOLE * ring.sum():
            continue
        if hull[y0:y1, x0:x1][comp > 0].mean() < _FACE_HULL:
            continue
        largest = max(largest, sizes[k] / area)
    return min(whole, float(np.clip(1.0 - (largest - _FACE_FROM) / (_FACE_TO - _FACE_FROM), 0.0, 1.0)))


# A whole face left out (``_whole_face``) is 10-15 % of the matte or more: the white jar's
# lid is 43 %, the kraft box's side 38 %; what the edges wall off beside a right matte is
# under 2.5 % (a plant's leaves), or more than the product (a busy set's props and linen).
_WHOLE_FROM, _WHOLE_TO, _WHOLE_MOST = 0.10, 0.15, 1.0


def _walled_blobs(
    product: np.ndarray, labels: np.ndarray, rim: np.ndarray
) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, parts, stats): what the photo's edges wall off from the set outside the
    matte (``labels`` of the free pixels, those in ``rim`` reaching the photo's edge),
    with those edges and less the holes the matte rings, opened by a 4 px disk (which
    takes away the edges along the matte's own outline and the thin walls between
    regions) in 8-connected pieces: a face, a lid or a whole product left out, split by
    its own print or streaks into small walled-off regions, is one solid piece."""
    enclosed = ~product & ~np.isin(labels, rim[rim > 0])
    filled = np.zeros(product.shape, np.uint8)
    outer, _ = cv2.findContours(product.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, outer, -1, 1, thickness=cv2.FILLED)
    enclosed &= filled == 0
    blobs = cv2.morphologyEx(enclosed.astype(np.uint8), cv2.MORPH_OPEN, disk(4))
    count, parts, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    return count, parts, stats


def _whole_face(
    product: np.ndarray, labels: np.ndarray, rim: np.ndarray, near: np.ndarray, width: int, area: float
) -> float:
    """1 unless what the photo's edges wall off from the set outside the matte (``labels``
    of the free pixels, those in ``rim`` reaching the photo's edge), with those edges and
    less the holes the matte rings, holds a solid piece (after an opening with a 4 px
    disk, which takes away the edges along the matte's own outline) that meets the matte
    (``near`` it) along ``_FACE_CONTACT`` of its width and is 10-15 % of the matte or more
    but no more than the matte: a face left out whole, split by its own print or
    streaks into pieces none of which is large (a jar's lid)."""
    count, parts, stats = _walled_blobs(product, labels, rim)
    largest = 0.0
    for k in range(1, count):
        share = stats[k, cv2.CC_STAT_AREA] / area
        if share < _WHOLE_FROM or share > _WHOLE_MOST:
            continue
        if (near & (parts == k)).sum() < _FACE_CONTACT * width:
            continue
        largest = max(largest, share)
    return float(np.clip(1.0 - (largest - _WHOLE_FROM) / (_WHOLE_TO - _WHOLE_FROM), 0.0, 1.0))


# The other cue falls from 1 to 0 as the largest region walled off apart from the matte
# (``_walled_blobs``, not within _OTHER_NEAR px of it) whose colours are not the set's
# grows from _OTHER_FROM to _OTHER_TO of the matte's area (at EVIDENCE_SIDE): the second
# product left out beside one of the photo set's pairs is 0.92-1.21; what the edges wall
# off of a right matte's set is 0.15 or less (patches of the carton's tabletop between its
# grain and rims).
_OTHER_FROM, _OTHER_TO, _OTHER_NEAR = 0.25, 0.4, 5
# ... counting a region when at least this share of it is colours far from the set's: not
# a colour of the photo's border away from the product (or a shade of one), or departing
# by over SET_TOLERANCE from the set carried across the region (``set_across``: white on
# white and black on charcoal a product's shading does, a walled-off patch of the set not).
# Second products: 0.53 (a white jar on white) to 0.98; the tabletop's patches: 0.07-0.45.
_OTHER_UNLIKE = 0.5


def _other_cue(
    rgb: np.ndarray, product: np.ndarray, walled: Walled, blurs: tuple[np.ndarray, np.ndarray]
) -> float:
    """1 unless what the matte leaves out holds another product: a sizeable region apart
    from the matte (not within ``_OTHER_NEAR`` px of it) that the photo's sharp edges
    close all round (``_walled_blobs``: it does not reach the photo's edge) and whose
    colours are far from the set's (``_OTHER_UNLIKE``). A cut of one of two products
    side by side touches nothing of the other, so no cue that looks beside the matte
    sees it; the set a right matte leaves out is open to the photo's edge, or walled off
    in small patches of its own colours. Falls to 0 as the largest such region grows
    from ``_OTHER_FROM`` to ``_OTHER_TO`` of the matte."""
    area = float(product.sum())
    _, _, labels, _, rim = walled
    count, parts, stats = _walled_blobs(product, labels, rim)
    candidates = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= _OTHER_FROM * area]
    if not candidates:
        return 1.0
    apart = cv2.dilate(product.astype(np.uint8), disk(_OTHER_NEAR)) == 0
    open_set = np.isin(labels, rim[rim > 0]) & (labels > 0)
    smooth, _ = blurs
    largest = 0.0
    for k in candidates:
        region = parts == k
        if not apart[region].all():
            continue
        ys, xs = np.nonzero(region)
        unlike = _like_border_set(rgb, product, rgb[ys, xs])
        unlike = np.ones(ys.size, bool) if unlike is None else ~unlike
        hull = np.zeros(product.shape, np.uint8)
        cv2.fillPoly(hull, [cv2.convexHull(cv2.findNonZero(region.astype(np.uint8)))], 1)
        outside = open_set & ~(cv2.dilate(hull, disk(3)) > 0)
        if outside.any():
            views = set_beside(rgb, outside, hull > 0, ys, xs, smooth=smooth)
            carried = set_across(views, hull > 0, ys, xs)
            unlike |= np.linalg.norm(smooth[ys, xs] - carried, axis=1) > SET_TOLERANCE
        if unlike.mean() >= _OTHER_UNLIKE:
            largest = max(largest, stats[k, cv2.CC_STAT_AREA] / area)
    return float(np.clip(1.0 - (largest - _OTHER_FROM) / (_OTHER_TO - _OTHER_FROM), 0.0, 1.0))


def inlet_unlike(
    rgb: np.ndarray,
    product: np.ndarray,
    clear: np.ndarray,
    *,
    blurs: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Bool: pixels of the matte's inlets (its convex hull less the matte, 2 px clear of
    it, past its soft edge) that are not the set's colour beside that hull (nor a shade
    of it) by any of ``set_beside``'s views. A real concavity (beside a neck, inside a
    handle, between two products) holds the set; a bite the cut took out of the side
    of a product holds more of the product. ``clear`` (bool) marks what may be the set;
    ``blurs`` is ``_blurs(rgb)`` when the caller has it already."""
    none = np.zeros(product.shape, bool)
    points = cv2.findNonZero(product.astype(np.uint8))
    if points is None:
        return none
    hull8 = np.zeros(product.shape, np.uint8)
    cv2.fillPoly(hull8, [cv2.convexHull(points)], 1)
    hull = hull8 > 0
    inlets = hull & ~(cv2.dilate(product.astype(np.uint8), disk(2)) > 0)
    if not inlets.any():
        return none
    outside = ~(cv2.dilate(hull8, disk(3)) > 0) & clear
    ys, xs = np.nonzero(inlets)
    smooth, blurred = blurs or _blurs(rgb)
    views = set_beside(rgb, outside, hull, ys, xs, smooth=smooth)
    like = _like_set_beside(rgb, ys, xs, outside, hull, views, blurred)
    # and it is the colour of the product beside it: the bite holds more of the same
    # surface, while what a concavity frames (the set, seen between two products that
    # run off the frame, where no set lies beside the hull) is unlike both
    inner = cv2.erode(product.astype(np.uint8), disk(3)) > 0
    if not inner.any():
        return none
    _, nearest = cv2.distanceTransformWithLabels(
        (~inner).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    lut = np.zeros((int(nearest.max()) + 1, 3), np.float32)
    lut[nearest[inner]] = smooth[inner]
    own = np.linalg.norm(smooth[ys, xs] - lut[nearest[ys, xs]], axis=1) < _INLET_OWN
    unlike = none.copy()
    unlike[ys, xs] = ~like & own
    return unlike


def _inlet_cue(
    rgb: np.ndarray, product: np.ndarray, clear: np.ndarray, blurs: tuple[np.ndarray, np.ndarray]
) -> float:
    """1 unless the largest piece of the matte's inlets that is not the set's colour
    (``inlet_unlike``) is a sizeable share of the matte: the cut took a bite out of
    the side of the product where its colour is close to the set's (a cream label on
    a grey sweep) and no sharp edge walls it off."""
    unlike = inlet_unlike(rgb, product, clear, blurs=blurs)
    if not unlike.any():
        return 1.0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(unlike.astype(np.uint8), connectivity=8)
    largest = int(stats[1:, cv2.CC_STAT_AREA].max()) if count > 1 else 0
    share = largest / float(product.sum())
    return float(np.clip(1.0 - (share - _INLET_FROM) / (_INLET_TO - _INLET_FROM), 0.0, 1.0))


_INLET_FROM, _INLET_TO = 0.004, 0.01
# An inlet pixel within this many levels of the product's colour at its nearest inner pixel
# is more of the product (``inlet_unlike``).
_INLET_OWN = 15.0


# The outline cue falls from 1 to 0 as the share of the outline on a sharp edge drops from
# _OUTLINE_TO to _OUTLINE_FROM (0.6, the review threshold, at 0.86): a white jar on white
# (41 % of it open and set-coloured) has 0.98 of its outline on an edge, 0.92 with a
# see-through gap across it (the gap's sides have no edge), a black speaker on black gloss
# with its base cut off 0.82.
_OUTLINE_FROM, _OUTLINE_TO = 0.8, 0.9


def _thin_cue(product: np.ndarray) -> float:
    """1 unless a sizeable share of the matte is thin parts: what an opening with a disk
    of 3 px (at ``EVIDENCE_SIDE``) takes away, less single-pixel specks. A weight-free cut
    widens a cable into a halo of the set and keeps the set between a plant's stems;
    solid products (every photo of the main set, a pump's nozzle) have none at this
    size. Falls to 0 as that share grows from 0.5 % to 1.5 % of the matte (wired
    earphones 19 %, a potted plant whose gaps were kept 2.3 %)."""
    p8 = product.astype(np.uint8)
    thin = (p8 > 0) & ~(cv2.morphologyEx(p8, cv2.MORPH_OPEN, disk(3)) > 0)
    thin = cv2.morphologyEx(thin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0
    share = float(thin.sum()) / max(float(product.sum()), 1.0)
    return float(np.clip(1.0 - (share - 0.005) / 0.01, 0.0, 1.0))


# The ramp cue's scale: at most this long side, as the camera's blur and a rim light's
# fade are both some pixels wide at a photo's own size (at EVIDENCE_SIDE a fade 20 px wide
# is as steep as a sharp edge).
_RAMP_SIDE = 2048
# How far (px at _RAMP_SIDE) either side of the outline the photo's change is measured.
_RAMP_STEP = 8
# The ramp cue falls from 1 to 0 as the share of the outline along a fade grows from
# _RAMP_FROM to _RAMP_TO (0.6, the review threshold, at 0.21): the classical cuts of the
# black bottle on charcoal, 8 px inside its rim light's fade (boundary F 0.56-0.68), have
# 0.28-0.42; of the perfume bottle on a dark table, 3 px inside its fade (boundary F
# 0.93), 0.14; of the other photos, under 0.04.
_RAMP_FROM, _RAMP_TO = 0.18, 0.25
# A fade still this far (px at _RAMP_SIDE) outside the outline puts the edge that far in.
_RAMP_BEYOND = 4
# A step whose steepest slope, times this, is under half its contrast is a fade: a sharp
# edge blurred by a Gaussian of sigma s has slope contrast / (s * sqrt(2 pi)); this is
# that for s = 1.5 px, the camera's blur and the cue's own (about 1.1 and 1 px).
_RAMP_SHARP = 3.76


def _ramp_cue(rgb: np.ndarray, matte: np.ndarray) -> float:
    """1 unless much of the matte's outline sits partway along a gradual fade in the photo:
    a step of more than 20 levels across the outline (``_RAMP_STEP`` px each way) whose
    steepest slope near the outline is under half a sharp edge's, with at least a
    quarter of the change on either side of the outline. A dark bottle whose rim light
    fades out into a charcoal set shows no edge where it ends: the classical cut put its
    edge 8 px inside the bottle, halfway along the fade (boundary F 0.56, trusted at
    1.0); the exact matte ends at the fade's foot and is not judged, nor is a sharp
    edge. Only a fade that goes on ``_RAMP_BEYOND`` px outside the outline counts (an
    edge that far in misses a boundary F at 4 px). Measured at up to ``_RAMP_SIDE`` px;
    falls to 0 as that share of the outline grows from ``_RAMP_FROM`` to ``_RAMP_TO``."""
    h, w = matte.shape
    scale = min(1.0, _RAMP_SIDE / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        matte = cv2.resize(matte, size, interpolation=cv2.INTER_AREA)
        h, w = matte.shape
    step, near = _RAMP_STEP, 3
    half = (matte >= 128).astype(np.uint8)
    contour = (half > 0) & ~(cv2.erode(half, np.ones((3, 3), np.uint8)) > 0)
    pad = step + 2
    contour[:pad] = contour[-pad:] = False
    contour[:, :pad] = contour[:, -pad:] = False
    ys, xs = np.nonzero(contour)
    if ys.size < 32:
        return 1.0
    # work on the outline's box only
    y0, y1 = max(int(ys.min()) - 2 * pad, 0), min(int(ys.max()) + 2 * pad + 1, h)
    x0, x1 = max(int(xs.min()) - 2 * pad, 0), min(int(xs.max()) + 2 * pad + 1, w)
    ys, xs = ys - y0, xs - x0
    colour = cv2.GaussianBlur(rgb[y0:y1, x0:x1].astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(colour, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(colour, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    slope = cv2.dilate(np.sqrt((gx**2 + gy**2).sum(axis=2)), disk(near))
    # the outline's inward normal, from the matte lightly smoothed
    smooth = cv2.GaussianBlur(matte[y0:y1, x0:x1].astype(np.float32), (0, 0), 3.0)
    nx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)[ys, xs]
    ny = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)[ys, xs]
    norm = np.hypot(nx, ny) + 1e-6
    nx, ny = nx / norm, ny / norm
    ch, cw = colour.shape[:2]

    def at(d: float) -> np.ndarray:
        py = np.clip(np.rint(ys + ny * d).astype(int), 0, ch - 1)
        px = np.clip(np.rint(xs + nx * d).astype(int), 0, cw - 1)
        return colour[py, px]

    outer, here, inner = at(-step), at(0), at(step)
    contrast = np.linalg.norm(inner - outer, axis=1)
    share_each = np.minimum(np.linalg.norm(here - outer, axis=1), np.linalg.norm(inner - here, axis=1))
    # and the fade goes on past the tolerance of a boundary F at 4 px
    beyond = np.linalg.norm(at(-_RAMP_BEYOND) - outer, axis=1)
    fade = (
        (contrast > 20.0)
        & (slope[ys, xs] * _RAMP_SHARP < 0.5 * contrast)
        & (share_each > 0.25 * contrast)
        & (beyond > 0.1 * contrast)
    )
    share = float(fade.mean())
    return float(np.clip(1.0 - (share - _RAMP_FROM) / (_RAMP_TO - _RAMP_FROM), 0.0, 1.0))


def matte_evidence(
    photo: Image.Image | np.ndarray,
    matte: Image.Image | np.ndarray,
    *,
    other: Image.Image | np.ndarray | None = None,
) -> MatteEvidence:
    """Evidence (0..1) that ``matte`` (L or uint8 (h, w), 255 = product) cuts the product
    out of ``photo`` (RGB), from the two alone. ``other`` is a second method's matte."""
    rgb_full = np.asarray(photo.convert("RGB") if isinstance(photo, Image.Image) else photo)
    matte_full = np.asarray(matte.convert("L") if isinstance(matte, Image.Image) else matte)
    if matte_full.shape != rgb_full.shape[:2]:
        raise InvalidSpec(f"the matte is {matte_full.shape[::-1]} but the photo is {rgb_full.shape[1::-1]}")
    rgb, m = _reduced(rgb_full, matte_full.astype(np.uint8))
    product = m >= 128
    if not product.any():
        return MatteEvidence(
            0.0,
            {
                "border": 0.0,
                "slab": 0.0,
                "base": 0.0,
                "notch": 0.0,
                "bottom": 0.0,
                "surround": 0.0,
                "pieces": 0.0,
                "bridge": 0.0,
                "pocket": 0.0,
                "inlet": 0.0,
                "thin": 0.0,
                "outline": 0.0,
                "ramp": 0.0,
                "face": 0.0,
                "other": 0.0,
                "backdrop": 0.0,
                "edges": 0.0,
            },
            ["The cutout is empty."],
        )
    outside = cv2.erode((m < 16).astype(np.uint8), disk(2)) > 0
    set_colour = local_set_colour(rgb, outside)
    like = set_coloured(rgb, set_colour)
    strength = sharp_edges(rgb)
    cues: dict[str, float] = {}

    # 1. the photo's edge: set-coloured matte pixels there are a floor or wall kept
    edges_near = cv2.dilate((strength > 1.5).astype(np.uint8), disk(2)) > 0
    cues["border"] = _border_cue(rgb, product, set_colour, edges_near)

    # 2. a slab of set colour at the base
    slab = base_slab(product, like)
    cues["slab"] = (
        1.0 if slab is None else float(np.clip(1.0 - slab.sum() / (0.08 * product.sum()), 0.0, 1.0))
    )

    # 3. a reflection kept under the base: a slab of floor the product's width
    base = mirror_line(rgb, product, shortest=0.03)
    if base is None:
        cues["reflection"] = 1.0
    else:
        below = float(product[base:].sum()) / float(product.sum())
        cues["reflection"] = float(np.clip(1.0 - below / 0.04, 0.0, 1.0))

    # 4. a bite out of the base that left out product, not floor
    cues["base"] = _base_cue(product, like)

    # 4b. a dent the photo's edges run straight across, and a base cut short
    on_edge = cv2.dilate((strength > 1.5).astype(np.uint8), disk(1)) > 0
    cues["notch"] = _notch_cue(product, on_edge)
    cues["bottom"] = _bottom_cue(rgb, product, on_edge, strength, like)

    # 4c. the matte is ringed by the set, not by more of the product
    cues["surround"] = _surround_cue(rgb, product)

    # 4d. no band of the product left out between two pieces of the matte
    blurs = _blurs(rgb)
    cues["pieces"] = _pieces_cue(rgb, product, m < 16, blurs)
    cues["inlet"] = _inlet_cue(rgb, product, m < 16, blurs)

    # 4e. no part of the product left out beside the matte, walled off from the set
    walled = walled_off(product, edges_near)
    cues["pocket"] = _pocket_cue(product, walled)
    cues["face"] = _face_cue(product, walled)
    cues["bridge"] = _bridge_cue(rgb, product, outside, edges_near, blurs)
    cues["other"] = _other_cue(rgb, product, walled, blurs)

    # 5. set-coloured matte that no sharp edge separates from the set
    open_set = product & like & ~edges_near
    count, labels = cv2.connectedComponents(open_set.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[(cv2.dilate((~product).astype(np.uint8), disk(1)) > 0) & open_set])
    share = float(np.isin(labels, touching[touching > 0]).sum()) / float(product.sum())
    cues["backdrop"] = float(np.clip(1.0 - (share - 0.1) / 0.4, 0.0, 1.0))

    # 5b. thin parts the cut cannot follow
    cues["thin"] = _thin_cue(product)

    # 6. the outline follows sharp edges (the photo's own edge does not count)
    outline = product & ~(cv2.erode(product.astype(np.uint8), disk(1), borderType=cv2.BORDER_REPLICATE) > 0)
    outline[:2] = outline[-2:] = False
    outline[:, :2] = outline[:, -2:] = False
    if outline.any():
        aligned = float((cv2.dilate((strength > 1.5).astype(np.uint8), disk(2))[outline] > 0).mean())
        cues["edges"] = float(np.clip((aligned - 0.45) / 0.4, 0.0, 1.0))
    else:
        aligned = 1.0
        cues["edges"] = 1.0
    # where the colour cannot vouch for the matte, only its outline can
    if cues["backdrop"] < 0.5:
        cues["outline"] = float(np.clip((aligned - _OUTLINE_FROM) / (_OUTLINE_TO - _OUTLINE_FROM), 0.0, 1.0))
    else:
        cues["outline"] = 1.0

    # 6b. the outline is not partway along a fade (measured at the photo's own size)
    cues["ramp"] = _ramp_cue(rgb_full, matte_full.astype(np.uint8))

    # 7. agreement with a second method
    if other is not None:
        other_full = np.asarray(other.convert("L") if isinstance(other, Image.Image) else other)
        cues["agreement"] = float(np.clip((iou(matte_full, other_full) - 0.7) / 0.25, 0.0, 1.0))

    weights = {k: v for k, v in _WEIGHTS.items() if k in cues}
    soft = sum(cues[k] * v for k, v in weights.items()) / sum(weights.values())
    score = min(min(cues[k] for k in HARD_CUES), soft)
    problems = [_PROBLEMS[k] for k, v in cues.items() if v < 0.5]
    return MatteEvidence(score=float(score), cues=cues, problems=problems)


def product_extent(image: Image.Image, *, white_tolerance: int = 2) -> tuple[np.ndarray, Box | None]:
    """(bool mask, box) of the product on a white canvas, by its outline as well as colour.

    A pixel is product when it is not white and lies inside the region spanned by the
    canvas's sharp edges, or when it is clearly coloured or dark. A soft light-grey
    shadow has no sharp edge and stays out; a white product on white is found whole,
    because its silhouette is a sharp edge even where its colour is near white.
    """
    rgb = np.asarray(image.convert("RGB"))
    arr = rgb.astype(np.int16)
    low = arr.min(axis=2)
    not_white = low < 255 - white_tolerance
    h, w = not_white.shape
    scale = min(1.0, EVIDENCE_SIDE / max(h, w))
    small = cv2.resize(
        rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    strength = sharp_edges(small)
    edges = strength > max(1.5, 3.0 * float(np.percentile(strength, 50)))
    inside = span_hull(edges, max(1, round(0.02 * min(small.shape[:2])))) if edges.any() else edges
    inside = cv2.resize(inside.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    strong = (low < 200) | (arr.max(axis=2) - low > 8)
    product = not_white & (inside | strong)
    rows = np.flatnonzero(product.sum(axis=1) >= 3)
    cols = np.flatnonzero(product.sum(axis=0) >= 3)
    if rows.size == 0 or cols.size == 0:
        return product, None
    x0, x1, y0, y1 = int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
    return product, (x0, y0, x1 - x0, y1 - y0)


def with_evidence(seg: Segmentation, *, other: Image.Image | np.ndarray | None = None) -> Segmentation:
    """``seg`` with its matte evidence recorded: ``evidence``, ``confidence`` (the score)
    and ``low_confidence`` (below ``MATTE_THRESHOLD``).

    A matte the merchant made (``alpha``: the upload's own transparency or an uploaded
    or accepted mask) is trusted as it is: its evidence is recorded, its confidence is 1.
    """
    evidence = matte_evidence(seg.image, seg.matte, other=other)
    if seg.segmenter == "alpha":
        return replace(seg, evidence=evidence.to_dict(), confidence=1.0, low_confidence=False)
    return replace(
        seg,
        evidence=evidence.to_dict(),
        confidence=round(evidence.score, 3),
        low_confidence=not evidence.trusted,
    )


__all__ = [
    "HARD_CUES",
    "MATTE_THRESHOLD",
    "MatteEvidence",
    "ACROSS_TOLERANCE",
    "base_slab",
    "local_set_colour",
    "matte_evidence",
    "measure_fidelity",
    "open_to_set",
    "piece_gaps",
    "product_extent",
    "set_across",
    "set_beside",
    "set_coloured",
    "unlike_set_gaps",
    "walled_off",
    "with_evidence",
]
