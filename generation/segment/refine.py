"""Cutouts fixed by the merchant: a box, keep/remove strokes, a previous matte.

The review step (a photo the automatic methods refused, or whose matte evidence is
low) lets the merchant draw a box around the product and paint strokes over what
must be kept or removed. ``refine_matte`` turns that into a matte: GrabCut seeded by
the box and the strokes on a reduced copy, then the same soft-edge solver and colour
decontamination as the classical segmenter at the photo's full resolution.

For the interactive loop, call it on ``preview_image(photo)`` (strokes drawn on that
preview, or scaled to it with ``scale_strokes``): about half a second on two cores.
On accept, call it once more on the full photo with the same box and strokes scaled
up; store the accepted matte and pass it as the ``mask`` of later jobs (``alpha``).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from generation.check import with_evidence
from generation.errors import InvalidSpec, SegmentationFailed
from generation.segment.classical import full_resolution_matte
from generation.segment.matte import build_segmentation, to_rgb
from generation.segment.outline import disk, fill_small_holes
from generation.types import Box, Segmentation

# Long side of the preview the interactive loop runs on.
PREVIEW_SIDE = 1024
# Long side of the copy GrabCut runs on.
WORK_SIDE = 768
GRABCUT_ITERATIONS = 5


def preview_size(size: tuple[int, int], side: int = PREVIEW_SIDE) -> tuple[int, int]:
    """``size`` (w, h) scaled so its long side is at most ``side``."""
    scale = min(1.0, side / max(size))
    return (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))


def preview_image(photo: Image.Image, side: int = PREVIEW_SIDE) -> Image.Image:
    """The photo scaled so its long side is at most ``side`` (RGB, a copy)."""
    rgb = to_rgb(photo)
    size = preview_size(rgb.size, side)
    return rgb if size == rgb.size else rgb.resize(size, Image.Resampling.LANCZOS)


def scale_strokes(strokes: Image.Image | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A stroke mask (white = painted) resized to ``size`` (w, h) as bool, without
    thinning strokes away: any painted pixel under a target pixel counts."""
    arr = _as_bool(strokes, None, "strokes")
    small = cv2.resize(arr.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA)
    return small > 0


def _as_bool(mask: Image.Image | np.ndarray | None, size: tuple[int, int] | None, what: str) -> np.ndarray:
    if mask is None:
        return np.zeros((size[1], size[0]), bool) if size else np.zeros((0, 0), bool)
    arr = np.asarray(mask.convert("L") if isinstance(mask, Image.Image) else mask)
    if arr.ndim == 3:
        arr = arr.max(axis=2)
    if size is not None and arr.shape != (size[1], size[0]):
        raise InvalidSpec(
            f"the {what} mask is {arr.shape[1]}x{arr.shape[0]} but the photo is {size[0]}x{size[1]}; "
            "draw it on the same photo"
        )
    return arr > 127 if arr.dtype != bool else arr


def refine_matte(
    photo: Image.Image,
    *,
    box: Box | None = None,
    keep: Image.Image | np.ndarray | None = None,
    remove: Image.Image | np.ndarray | None = None,
    prior: Image.Image | np.ndarray | None = None,
) -> Segmentation:
    """A matte from the merchant's box ``(x, y, w, h)``, ``keep`` and ``remove`` stroke
    masks (white = painted) and an optional ``prior`` matte (the last result), all in
    ``photo``'s pixels. Raises ``InvalidSpec`` when nothing says where the product is,
    ``SegmentationFailed`` when the strokes leave no product."""
    # 1. check inputs
    rgb_image = to_rgb(photo)
    size = rgb_image.size
    keep_mask = _as_bool(keep, size, "keep")
    remove_mask = _as_bool(remove, size, "remove")
    prior_mask = _as_bool(prior, size, "prior")
    if box is None and not keep_mask.any() and not prior_mask.any():
        raise InvalidSpec("draw a box around the product or paint a keep stroke on it")
    if box is not None:
        x, y, w, h = box
        if w <= 0 or h <= 0 or x >= size[0] or y >= size[1] or x + w <= 0 or y + h <= 0:
            raise InvalidSpec(f"the box {box} is not inside the {size[0]}x{size[1]} photo")

    # 2. seeds on a reduced copy: outside the box is background, strokes are certain
    rgb = np.asarray(rgb_image)
    scale = min(1.0, WORK_SIDE / max(size))
    work_size = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    work = cv2.resize(rgb, work_size, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    labels = np.full((work_size[1], work_size[0]), cv2.GC_PR_BGD, np.uint8)
    if box is not None:
        labels[:] = cv2.GC_BGD
        x0, y0 = max(0, int(box[0] * scale)), max(0, int(box[1] * scale))
        x1 = min(work_size[0], int(np.ceil((box[0] + box[2]) * scale)))
        y1 = min(work_size[1], int(np.ceil((box[1] + box[3]) * scale)))
        labels[y0:y1, x0:x1] = cv2.GC_PR_FGD
    if prior_mask.any():
        prior_small = scale_strokes(prior_mask, work_size) if scale < 1 else prior_mask
        inside = labels != cv2.GC_BGD
        labels[inside & prior_small] = cv2.GC_PR_FGD
        labels[inside & ~prior_small] = cv2.GC_PR_BGD
    keep_small = scale_strokes(keep_mask, work_size) if keep_mask.any() else np.zeros_like(labels, bool)
    remove_small = scale_strokes(remove_mask, work_size) if remove_mask.any() else np.zeros_like(labels, bool)
    labels[keep_small] = cv2.GC_FGD
    labels[remove_small & ~keep_small] = cv2.GC_BGD

    # 3. GrabCut (repeatable: its colour models start from a fixed seed)
    mask = _grabcut(work, labels)
    mask &= ~remove_small
    mask = _connected_to(mask, keep_small, remove_small)
    mask = _fill_small_holes(work, mask, remove_small)
    if not mask.any():
        raise SegmentationFailed("The box and strokes leave no product; draw the box around it.")

    # 4. soft edges and true colours at full resolution
    matte, foreground = full_resolution_matte(rgb, mask, scale)
    full_keep, full_remove = keep_mask, remove_mask
    matte[full_keep & (matte < 255)] = 255
    matte[full_remove & ~full_keep] = 0
    if int(matte.max()) == 0:
        raise SegmentationFailed("The box and strokes leave no product; draw the box around it.")
    seg = build_segmentation(rgb_image, matte, "refine", foreground=foreground)
    return with_evidence(seg)


def _grabcut(work: np.ndarray, labels: np.ndarray) -> np.ndarray:
    fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    bg = (labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)
    if not fg.any() or not bg.any():
        return fg
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    out = labels.copy()
    try:
        # in mask mode cv2 takes None for the unused rect; its stubs declare a sequence
        cv2.grabCut(  # type: ignore[call-overload]
            np.ascontiguousarray(work), out, None, bgd, fgd, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK
        )
    except cv2.error:
        return fg  # flat colours: keep what the merchant marked
    mask = (out == cv2.GC_FGD) | (out == cv2.GC_PR_FGD)
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk(1)) > 0


# enclosed holes up to this share of the product's area are filled (see _fill_small_holes)
HOLE_FILL_SHARE = 0.02


def _fill_small_holes(work: np.ndarray, mask: np.ndarray, remove: np.ndarray) -> np.ndarray:
    """``mask`` with its small enclosed holes filled: GrabCut takes a label's dark letters,
    or a thin seam across the product, for the dark set around it when the box moves by a
    pixel, and cut them out of a product that has no such holes. A hole that reaches the
    picture's edge, is over ``HOLE_FILL_SHARE`` of the product (a mug's handle), is touched
    by a remove stroke or shows the set seen around the product (``_set_seen``: a key tag's
    punched hole) stays open (``outline.fill_small_holes``)."""
    # a seam a few pixels wide across the product is sealed first, so it is a hole too
    sealed = mask | ((cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, disk(2)) > 0) & ~remove)
    see_through = _set_seen(work, sealed)
    return fill_small_holes(
        sealed, HOLE_FILL_SHARE * int(sealed.sum()), keep_open=remove, see_through=see_through
    )


# The ring round the product (work px) where the set is sampled, and how near (levels, the
# photo lightly blurred) a hole's pixel must be to one of its colours to show the set.
_SET_RING = (3, 8)
_SEEN_TOLERANCE = 14.0


def _set_seen(work: np.ndarray, sealed: np.ndarray) -> np.ndarray:
    """Bool: pixels the product encloses (``sealed`` leaves out, away from the picture's
    edge) whose colour, lightly blurred, is within ``_SEEN_TOLERANCE`` of one the set shows
    in a ring just outside the product: the set seen through a real hole (a key tag's
    punched hole: 77 % of its pixels). A label's dark letters cut out of a jar on linen and
    wood are the product's own colours, blended with the label round them (3-35 %)."""
    count, labels = cv2.connectedComponents((~sealed).astype(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    open_set = np.isin(labels, edge) & (labels > 0)
    enclosed = ~sealed & ~open_set
    if not enclosed.any():
        return enclosed
    # the hole's own pixels away from its rim, where the product's edge is blended in
    inner = cv2.erode(enclosed.astype(np.uint8), disk(1)) > 0
    probe = np.where(inner.any(), inner, enclosed)
    grown = sealed.astype(np.uint8)
    ring = (
        (cv2.dilate(grown, disk(_SET_RING[1])) > 0) & ~(cv2.dilate(grown, disk(_SET_RING[0])) > 0) & open_set
    )
    if not ring.any():
        return np.zeros(sealed.shape, bool)
    smooth = cv2.GaussianBlur(work, (0, 0), 1.0).astype(np.float32)
    samples = smooth[ring][:: max(1, int(ring.sum()) // 600)]
    px = smooth[probe]
    near = np.zeros(len(px), bool)
    for start in range(0, len(samples), 100):
        chunk = samples[start : start + 100]
        near |= (np.linalg.norm(px[:, None] - chunk[None], axis=2) < _SEEN_TOLERANCE).any(axis=1)
    seen = np.zeros(sealed.shape, bool)
    seen[probe] = near
    return seen


def _connected_to(mask: np.ndarray, keep: np.ndarray, remove: np.ndarray) -> np.ndarray:
    """The pieces of ``mask`` the merchant wants: those touching a keep stroke; without
    keep strokes, the largest piece and others at least a tenth of it, less any piece a
    remove stroke touches (a prop inside the box goes as a whole)."""
    count, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    if keep.any():
        wanted = np.unique(comp[keep & mask])
        wanted = wanted[wanted > 0]
        if wanted.size:
            return np.isin(comp, wanted)
    areas = stats[1:, cv2.CC_STAT_AREA]
    largest = 1 + int(np.argmax(areas))
    struck = np.unique(comp[cv2.dilate(remove.astype(np.uint8), disk(2)) > 0])
    kept = [
        label
        for label in np.flatnonzero(areas >= 0.1 * areas.max()) + 1
        if label == largest or label not in struck
    ]
    return np.isin(comp, kept)
