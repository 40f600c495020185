"""Soft product edges and their true colours, without a JIT-compiled solver.

A hard product mask (from any method, often estimated on a reduced copy) becomes a
full-resolution matte in three steps, only on a band around its outline:

0. ``reach_weak_rim``: where a faint rim runs just outside the mask along a stretch of
   its outline (a white lid's top rim, a few levels off a white set), the outline is
   moved out to the rim's outer edge; colour lines cannot see a rim that faint.
1. ``solve_alpha``: local colour lines. Near each edge pixel the product's colour F and
   the backdrop's colour B are estimated by normalized convolution (a Gaussian average
   of the pixels known to be product, resp. backdrop); the pixel's alpha is its
   projection on the F-B line. Where F and B look alike (white on white), or the
   backdrop near the pixel is not one colour (a shadow's edge beside the product, so
   B is an average of light and dark set), the alpha falls back to the upscaled mask,
   feathered by the lens blur. A guided filter
   (He et al.) then snaps the alpha to the photo's own edges, so there are no
   stair-steps from the reduced copy. Across a faint edge (F and B a few levels
   apart) the alpha is then averaged along an outline that runs near a row or a
   column, so the photo's grain and streaks do not rag it.
2. ``estimate_foreground``: the product's colour in partly transparent pixels, by
   blur-fusion foreground estimation (Forte & Pitie, 2021): the backdrop's colour is
   taken out of edge pixels, so a cutout on a dark set shows no light halo.

Everything is box and Gaussian filters in OpenCV: no first-call compile, about 0.3 s
for the band of a 3 MP photo on two cores.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def guided_filter(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float, where: np.ndarray | None = None
) -> np.ndarray:
    """Colour guided filter (He, Sun & Tang): ``src`` (float32 (h, w)) smoothed so its
    edges follow ``guide`` (float32 (h, w, 3), 0..1). ``eps`` is in guide units squared.

    ``where`` (bool (h, w)) limits the result to those pixels (others keep ``src``);
    only their neighbourhood is solved, which is what makes a thin band cheap.
    """
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    needed = (
        np.ones(src.shape, bool) if where is None else cv2.dilate(where.astype(np.uint8), _disk(radius)) > 0
    )
    mean_i = box(guide)
    mean_p = box(src)
    cov_ip = box(guide * src[..., None]) - mean_i * mean_p[..., None]
    # 3x3 covariance of the guide per needed pixel, regularised by eps
    var = np.empty((int(needed.sum()), 3, 3), np.float32)
    for a in range(3):
        for b in range(a, 3):
            v = box(guide[..., a] * guide[..., b]) - mean_i[..., a] * mean_i[..., b]
            var[:, a, b] = var[:, b, a] = v[needed]
    var += eps * np.eye(3, dtype=np.float32)
    coef = np.zeros(guide.shape, np.float32)
    coef[needed] = np.linalg.solve(var, cov_ip[needed][..., None])[..., 0]
    offset = np.where(needed, mean_p - (coef * mean_i).sum(axis=2), 0).astype(np.float32)
    out = (box(coef) * guide).sum(axis=2) + box(offset)
    return out if where is None else np.where(where, out, src)


def _normalized_blur(values: np.ndarray, weight: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian average of ``values`` (h, w, 3) over pixels with ``weight`` (h, w); and
    the local weight (how much known data was near), both float32."""
    w = cv2.GaussianBlur(weight.astype(np.float32), (0, 0), sigma)
    v = cv2.GaussianBlur(values * weight[..., None], (0, 0), sigma)
    return v / np.maximum(w, 1e-4)[..., None], w


# ``reach_weak_rim``: how far out (px) a rim is looked for, where the set is sampled, how
# many outline points a seen stretch of rim needs, and the longest unseen stretch between
# two seen ones that the rim is carried across (a pale rim fades into a white set where
# the light is on it, and shows again where the product turns away from it).
_RIM_REACH, _RIM_SET = 6, (10, 16)
_RIM_RUN, _RIM_ACROSS = 30, 320
# A seen stretch broken by at most this many unseen points counts as one stretch.
_RIM_BREAK = 3
# A rim this far from the set (levels, averaged along the outline) or more can be seen: a
# set's own texture and a JPEG's blocks reach 3-5 levels there.
_RIM_FLOOR = 6.0
# The outline goes this far (px) inside the rim's outer edge as measured: where a rim 3 px
# wide, blurred by the lens and by the outline's own wobble in the averaging along it, falls
# to half its peak lies about 0.5-1 px outside its edge, and the filled outline takes in the
# pixel on that point (0.5 px more). Without it the white jar's lid kept a fringe of the
# white set 2 px wide along its top (0.55 px of set kept per outline px, 0.24 with it), and
# the perfume bottle's dark glass sides lay 1 px out.
_RIM_INSET = 1.0
# Across a stretch where the rim is carried, a cubic fitted to the outline stands in for its
# smoothed centre while no point lies further than this (px) from it: the reduced copy's
# stair steps are up to 3 px (1 px at 768 px across) and a corner is further off.
_FIT_OFF = 3.5
# A pixel's colour line is trusted while the pixel lies on it: off it by a quarter of the
# separation of F and B (or _LINE_FLOOR levels) or less, not at all from twice that. A
# dark glass rim (60 levels against a wall of 90 and a rim light of 115) is 45 levels off
# a line 35 long: on it, the rim was backdrop (the perfume bottle's sides 4 px in).
_LINE_FLOOR, _LINE_SHARE = 8.0, 0.25
# A darker shade of the product's colour at its edge is believed where F and B differ in
# hue (sine of the angle between them, from nothing to fully) and the shade is at least
# this share of F's brightness (the set in shadow fits with none of F).
_SHADE_HUE = (0.1, 0.2)
_SHADE_DARKEST = 0.3
# ... and only within _SHADE_RIM_REACH px of a rim: a pixel it puts at _SHADE_RIM[0] or
# more, and _SHADE_RIM[1] or more above where the colour line puts it.
_SHADE_RIM, _SHADE_RIM_REACH = (0.85, 0.25), 3
# A window of the photo whose colour varies less than this (summed variance, in 0..1 units
# squared: 4x the guided filter's eps, about 5 levels) has no edge to snap a feathered
# outline to.
_FLAT_GUIDE = 4e-4
# Across a faint edge the alpha is averaged along an outline running near a row or a column
# (``_along_axis_edges``) over a Gaussian of this many px; fully within the first cos^2 of
# the outline's angle to the row or column (about 25 degrees), not at all past the second
# (about 35 degrees): across a diagonal edge the average would soften it.
_ALONG_SIGMA = 2.5
_ALONG_COS2 = (0.67, 0.82)


def _along(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian average (float32) of ``values`` (n, ...) along a closed outline's points."""
    n = values.shape[0]
    r = int(3 * sigma)
    flat = values.reshape(n, -1).astype(np.float32)
    if n < 2 * r + 1:
        return np.repeat(flat.mean(axis=0, keepdims=True), n, axis=0).reshape(values.shape)
    kernel = cv2.getGaussianKernel(2 * r + 1, sigma).astype(np.float32)
    padded = np.concatenate([flat[-r:], flat, flat[:r]], axis=0)
    out = cv2.filter2D(padded, -1, kernel, borderType=cv2.BORDER_CONSTANT)[r : r + n]
    return out.reshape(values.shape)


def _runs(flag: np.ndarray, shortest: int) -> np.ndarray:
    """``flag`` (bool, along a closed outline) less its runs shorter than ``shortest``."""
    if flag.all() or not flag.any():
        return flag.copy()
    start = int(np.argmin(flag))
    rolled = np.roll(flag, -start)
    label = np.cumsum(~rolled)
    sizes = np.bincount(label[rolled], minlength=int(label.max()) + 1)
    return np.roll(rolled & (sizes[label] >= shortest), start)


def _carried(flag: np.ndarray, values: np.ndarray, longest: int) -> tuple[np.ndarray, np.ndarray]:
    """(flag, values) with each unflagged stretch of at most ``longest`` points between two
    flagged ones (along a closed outline) flagged, its values blended linearly between
    theirs."""
    n = flag.size
    flag, values = flag.copy(), values.copy()
    on = np.flatnonzero(flag)
    for a, b in zip(on, np.roll(on, -1), strict=True):
        span = int((b - a) % n)
        if 1 < span <= longest:
            k = np.arange(1, span)
            flag[(a + k) % n] = True
            values[(a + k) % n] = values[a] + (values[b] - values[a]) * k / span
    return flag, values


def _rim_offsets(img: np.ndarray, points: np.ndarray, normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(seen, cross) per outline point: whether a rim lies just outside it, and how far
    out (px, along ``normal``) its outer edge is. The photo is sampled along each normal
    and taken relative to the set sampled further out, then averaged along the outline
    (a rim is a few levels off the set, the noise is as strong pixel by pixel): a rim is
    a peak 2 px or more out (not the product's own edge fading from the outline), and
    its outer edge is where that falls to half, to stay under 0.3 of it up to the set (a
    step, not a shadow's ramp)."""
    n = len(points)
    d = np.arange(0, _RIM_SET[1] + 1, dtype=np.float32)
    mx = (points[:, None, 0] + d[None] * normal[:, None, 0]).astype(np.float32)
    my = (points[:, None, 1] + d[None] * normal[:, None, 1]).astype(np.float32)
    profile = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    raw = profile - profile[:, _RIM_SET[0] :].mean(axis=1)[:, None]
    along = _along(raw, 6.0)
    size = np.linalg.norm(along, axis=2)
    noise = float(np.median(np.linalg.norm(raw[:, _RIM_SET[0] :], axis=2))) / math.sqrt(15.0)
    floor = max(_RIM_FLOOR, 4.0 * noise)
    idx = np.arange(n)
    at = 2 + np.argmax(size[:, 2 : _RIM_REACH + 1], axis=1)
    peak = size[idx, at]
    # the rim lies on the other side of the set's colour from the product's face 3 px
    # inside the outline (a darker rim round a white lid): an edge runs between them
    inside = cv2.remap(
        img,
        (points[:, 0] - 3 * normal[:, 0]).astype(np.float32)[:, None],
        (points[:, 1] - 3 * normal[:, 1]).astype(np.float32)[:, None],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )[:, 0] - profile[:, _RIM_SET[0] :].mean(axis=1)
    across = (along[idx, at] * _along(inside, 6.0)).sum(axis=1) < 0
    # and not under the product: a dark line there is its contact shadow
    seen = (peak > floor) & (peak >= 1.05 * size[idx, at - 1]) & across & (normal[:, 1] < 0.5)
    cols = np.arange(size.shape[1])[None, :]
    past = (size < 0.5 * peak[:, None]) & (cols > at[:, None])
    first = np.where(past.any(axis=1), past.argmax(axis=1), size.shape[1] - 1)
    seen &= past.any(axis=1) & (first <= _RIM_REACH + 1)
    tail = (cols >= np.minimum(first + 2, _RIM_SET[0])[:, None]) & (cols < _RIM_SET[0])
    seen &= ~((size >= 0.3 * peak[:, None]) & tail).any(axis=1)
    a, b = size[idx, first - 1], size[idx, first]
    cross = (first - 1) + np.clip((a - 0.5 * peak) / np.maximum(a - b, 1e-3), 0.0, 1.0)
    return seen, cross


def _fitted_across(points: np.ndarray, centre: np.ndarray, carried: np.ndarray) -> np.ndarray:
    """``centre`` (the outline smoothed along its length) with each stretch of ``carried``
    points, and ``_RIM_RUN`` points either side of it, replaced by a cubic in the index
    fitted to the outline's own points there. Across a stretch where the rim is carried,
    not seen, the outline moves to the centre plus an offset blended between the seen
    ends, so the centre's own steps showed as they were: the reduced copy's stair step
    (3 px over 45 px of the white jar's lid top, where the light is on its rim) stood out
    of the lid as a bump. A stretch the cubic does not follow (off by more than
    ``_FIT_OFF`` px at its worst, a corner) keeps the centre."""
    n = len(points)
    if carried.all() or not carried.any():
        return centre
    out = centre.copy()
    start = int(np.argmin(carried))
    rolled = np.roll(carried, -start)
    label = np.cumsum(~rolled)
    for run in np.unique(label[rolled]):
        idx = np.flatnonzero(rolled & (label == run))
        lo, hi = int(idx[0]) - _RIM_RUN, int(idx[-1]) + _RIM_RUN
        span = (np.arange(lo, hi + 1) + start) % n
        t = np.linspace(-1.0, 1.0, span.size)
        fit = np.stack([np.polyval(np.polyfit(t, points[span, k], 3), t) for k in (0, 1)], axis=1)
        if np.linalg.norm(fit - points[span], axis=1).max() <= _FIT_OFF:
            out[span] = fit
    return out


def reach_weak_rim(rgb: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """``hard`` (bool) grown out to a faint rim just outside it: a white jar's lid has a
    rim a few levels darker than the white set, 3 px wide, that the cut leaves out (its
    edge then follows the noise on the lid's face). Where such a rim shows along a
    stretch of the outline (``_RIM_RUN`` points or more) it is followed, carried across
    short stretches where it fades into the set, and the outline there is moved to its
    outer edge, measured from the outline smoothed along its length. The mask only grows
    (by ``_RIM_REACH`` px at most); an outline with no rim is left as it is."""
    h, w = hard.shape
    contours, _ = cv2.findContours(hard.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return hard
    # the photo round the mask only: every sample lies within _RIM_SET[1] px of the outline
    x, y, cw, ch = cv2.boundingRect(np.concatenate(contours))
    pad = _RIM_SET[1] + 4
    x0, y0 = max(x - pad, 0), max(y - pad, 0)
    img = rgb[y0 : min(y + ch + pad, h), x0 : min(x + cw + pad, w)].astype(np.float32)
    corner = np.array([x0, y0], np.float32)
    grown = hard.astype(np.uint8)
    changed = False
    for contour in contours:
        points = contour[:, 0, :].astype(np.float32)
        if len(points) < 4 * _RIM_RUN:
            continue
        smooth = _along(points, 3.0)
        tangent = np.roll(smooth, -2, axis=0) - np.roll(smooth, 2, axis=0)
        normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
        probe = np.rint(points + 2 * normal).astype(int)
        if hard[np.clip(probe[:, 1], 0, h - 1), np.clip(probe[:, 0], 0, w - 1)].mean() > 0.5:
            normal = -normal  # point the normals out of the mask
        seen, cross = _rim_offsets(img, points - corner, normal)
        # a run broken by a point or two where the noise hid the rim is one run (the jar
        # lid's rim where it turns down into the lid's side, seen in pieces of 11-16 points)
        seen &= _runs(_carried(seen, np.zeros(len(points), np.float32), _RIM_BREAK + 1)[0], _RIM_RUN)
        if not seen.any():
            continue
        # the rim's offset from the outline smoothed along its length
        centre = _along(points, 8.0)
        flag, _ = _carried(seen, np.zeros(len(points), np.float32), _RIM_ACROSS)
        centre = _fitted_across(points, centre, flag & ~seen)
        offset = ((points + cross[:, None] * normal - centre) * normal).sum(axis=1)
        # the seen offsets averaged along the rim: a carried stretch blends between the
        # levels at its ends, not between two single points' noise (1-2 px either way)
        level = _along(np.where(seen, offset, 0.0), 8.0) / np.maximum(
            _along(seen.astype(np.float32), 8.0), 1e-6
        )
        flag, offset = _carried(seen, np.where(seen, level, 0.0), _RIM_ACROSS)
        weight = _along(flag.astype(np.float32), 4.0)
        offset = _along(np.where(flag, offset, 0.0), 4.0) / np.maximum(weight, 1e-6)
        offset = offset - _RIM_INSET
        target = np.where(flag[:, None], centre + offset[:, None] * normal, points)
        # only what lies between the outline and the rim: a hole inside (a handle's) stays
        outer = np.zeros((h, w), np.uint8)
        cv2.fillPoly(outer, [np.rint(target * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
        cv2.fillPoly(outer, [contour], 0)
        grown |= outer
        changed = True
    return grown > 0 if changed else hard


def _shade(img: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, weight) per pixel for ``img`` as a shade of the product's colour ``fg``
    over the set's ``bg``: ``img`` = u F + v B by least squares, alpha = 1 - v (u = s a,
    F darkened by s). The weight (0..1) is how far that is to be believed: F and B of
    clearly different hue (for grey on grey the two are one line, not a plane), the
    pixel on the plane (within the line's own floor, blurred alike), and the product's
    share a darker shade of F (``_SHADE_DARKEST`` of it or more: the set in shadow fits
    with v < 1 and u near 0) and not brighter than F."""
    ff, bb, fb = (fg * fg).sum(axis=2), (bg * bg).sum(axis=2), (fg * bg).sum(axis=2)
    pf, pb = (img * fg).sum(axis=2), (img * bg).sum(axis=2)
    det = np.maximum(ff * bb - fb * fb, 1e-3)
    u = (pf * bb - pb * fb) / det
    v = (pb * ff - pf * fb) / det
    alpha = 1.0 - v
    off = np.linalg.norm(img - u[..., None] * fg - v[..., None] * bg, axis=2)
    off = cv2.GaussianBlur(off.astype(np.float32), (0, 0), 1.0)
    sin = np.sqrt(np.clip(1.0 - fb * fb / np.maximum(ff * bb, 1e-3), 0.0, 1.0))
    s = u / np.maximum(alpha, 1e-3)
    weight = (
        np.clip((sin - _SHADE_HUE[0]) / (_SHADE_HUE[1] - _SHADE_HUE[0]), 0.0, 1.0)
        * np.clip(2.0 - off / _LINE_FLOOR, 0.0, 1.0)
        * np.clip((s - _SHADE_DARKEST) / 0.1, 0.0, 1.0)
        * np.clip((1.05 - s) / 0.1, 0.0, 1.0)
        * (alpha > 0.0)
    )
    return alpha.astype(np.float32), weight.astype(np.float32)


def _along_axis_edges(alpha: np.ndarray, gx: np.ndarray, gy: np.ndarray, sigma: float) -> np.ndarray:
    """``alpha`` (float32 (h, w)) averaged along the outline, a Gaussian of ``sigma`` px,
    where the outline (across the gradient ``gx``, ``gy`` of the smoothed mask) runs within
    about 25 degrees of a row (averaged along the row) or a column (along the column),
    fading out to 35 degrees; elsewhere unchanged. A straight edge's profile across it is
    kept as it is; only what varies along it is averaged out."""
    g2 = gx * gx + gy * gy
    across_rows = gy * gy / np.maximum(g2, 1e-12)  # 1 where the outline runs along a row
    lo, hi = _ALONG_COS2
    row_w = np.clip((across_rows - lo) / (hi - lo), 0.0, 1.0) * (g2 > 1e-12)
    col_w = np.clip((1.0 - across_rows - lo) / (hi - lo), 0.0, 1.0) * (g2 > 1e-12)
    ksize = 2 * math.ceil(3 * sigma) + 1
    kernel = cv2.getGaussianKernel(ksize, sigma).astype(np.float32)
    along_row = cv2.sepFilter2D(alpha, -1, kernel, np.ones((1, 1), np.float32), borderType=cv2.BORDER_REFLECT)
    along_col = cv2.sepFilter2D(alpha, -1, np.ones((1, 1), np.float32), kernel, borderType=cv2.BORDER_REFLECT)
    keep = 1.0 - row_w - col_w
    return np.asarray(row_w * along_row + col_w * along_col + keep * alpha, dtype=np.float32)


def solve_alpha(rgb: np.ndarray, hard: np.ndarray, band: int, *, blur: float = 1.0) -> np.ndarray:
    """float32 alpha (h, w) in 0..1 for ``rgb`` (uint8 (h, w, 3)) from ``hard`` (bool).

    ``band`` is the half-width in pixels of the strip around the outline where alpha is
    solved; it must cover the hard mask's position error. ``blur`` is the photo's edge
    softness in pixels (used where colour cannot tell product from backdrop).
    """
    h, w = hard.shape
    hard = reach_weak_rim(rgb, hard)
    alpha = hard.astype(np.float32)
    ys, xs = np.nonzero(hard)
    if ys.size == 0:
        return alpha

    # 1. crop to the product plus the band and a margin for the filters
    pad = 3 * band + 8
    y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, h)
    x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, w)
    img = rgb[y0:y1, x0:x1].astype(np.float32)
    mask = hard[y0:y1, x0:x1].astype(np.uint8)

    # 2. the unknown band, and the known product (inside) and backdrop (outside) near it
    inside = cv2.erode(mask, _disk(band), borderType=cv2.BORDER_REPLICATE) > 0
    outside = cv2.dilate(mask, _disk(band)) == 0
    unknown = ~inside & ~outside
    sigma = max(2.0, 1.5 * band)
    fg, fg_w = _normalized_blur(img, inside, sigma)
    bg, bg_w = _normalized_blur(img, outside, sigma)
    bg_sq, _ = _normalized_blur(img * img, outside, sigma)

    # 3. alpha from the colour line F-B; trusted where F and B differ clearly and the
    #    backdrop is one colour there: where a shadow's edge runs beside the product, B is
    #    an average of light and dark set, and the line would cut into a pale product's
    #    rim (and pick specks of the light set as product)
    diff = fg - bg
    norm2 = (diff * diff).sum(axis=2)
    projected = ((img - bg) * diff).sum(axis=2) / np.maximum(norm2, 1.0)
    separation = np.sqrt(norm2)
    bg_spread = np.sqrt(np.maximum((bg_sq - bg * bg).sum(axis=2), 0.0))
    trust = (
        np.clip((separation - 12.0) / 24.0, 0.0, 1.0)
        * np.clip(np.minimum(fg_w, bg_w) * 20, 0, 1)
        * np.clip((0.5 - bg_spread / np.maximum(separation, 1.0)) / 0.25, 0.0, 1.0)
    )
    # a pixel off the line from B to F is not a blend of the two: the product's edge is a
    # third colour there (a dark glass rim between a wall and a rim light), and the line
    # would call it backdrop. Under the product a dark line off it is its contact shadow,
    # which the line rightly leaves out: where the outline faces down it keeps its word
    off_line = np.linalg.norm(img - (bg + np.clip(projected, 0, 1)[..., None] * diff), axis=2)
    off_line = cv2.GaussianBlur(off_line, (0, 0), 1.0)
    on_line = np.clip(2.0 - off_line / np.maximum(_LINE_FLOOR, _LINE_SHARE * separation), 0.0, 1.0)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), float(band))
    gx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)
    facing_down = -gy > 0.5 * np.hypot(gx, gy)
    # a dark glass rim against a dark table lies near the line from the table to the
    # bright glass inside, partway along it: read as a blend it is table. It is a darker
    # shade of the product instead (P = u F + v B, the product's share u = s a darkened
    # by s, the set's v = 1 - a): where that fits and the pixel is not the set in shadow
    # (s near 0), its alpha is the shade's
    # (B here from the set nearest the pixel: where the table's back edge meets the
    # product, the wide average is half wall, half table)
    near = max(2.0, band / 2.0)
    bg_near, _ = _normalized_blur(img, outside, near)
    near_sq, _ = _normalized_blur(img * img, outside, near)
    near_spread = np.sqrt(np.maximum((near_sq - bg_near * bg_near).sum(axis=2), 0.0))
    near_sep = np.linalg.norm(fg - bg_near, axis=2)
    shade, shade_w = _shade(img, fg, bg_near)
    shade_w *= (
        np.clip((near_sep - 12.0) / 24.0, 0.0, 1.0)
        * np.clip(np.minimum(fg_w, bg_w) * 20, 0, 1)
        * np.clip((0.5 - near_spread / np.maximum(near_sep, 1.0)) / 0.25, 0.0, 1.0)
    )
    shade_w = np.where(facing_down, 0.0, shade_w * on_line)
    # only beside a rim: pixels the shade calls product that the line calls mostly set.
    # Elsewhere the JPEG's colour, kept at half resolution, bleeds a bright product's hue
    # a pixel out onto the set, which the shade would read as the product's edge
    rim = (shade_w > 0.5) & (shade >= _SHADE_RIM[0]) & (shade - projected >= _SHADE_RIM[1])
    # (closed first: the noise breaks a rim into pieces a few rows apart)
    rim = cv2.morphologyEx(rim.astype(np.uint8), cv2.MORPH_CLOSE, _disk(2 * _SHADE_RIM_REACH))
    shade_w *= cv2.dilate(rim, _disk(_SHADE_RIM_REACH)) > 0
    trust = np.where(facing_down, trust, trust * on_line)
    # where F and B look alike, the mask feathered by the lens blur and snapped to the
    # photo's own edges by a guided filter (no stair-steps from the reduced copy)
    feather = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(0.7, blur))
    weak = unknown & (trust < 1.0)
    if weak.any():
        radius = max(1, round(blur + 1))
        snapped = guided_filter(img / 255.0, feather, radius=radius, eps=1e-4, where=weak)
        # where the photo is flat (white on white: no edge within the filter's window) the
        # filter has nothing to snap to and only spreads the feather into a wide ramp of
        # the set along the outline: there the feather stays
        guide = img / 255.0
        window = (2 * radius + 1, 2 * radius + 1)
        mean = cv2.boxFilter(guide, -1, window)
        spread = (cv2.boxFilter(guide * guide, -1, window) - mean * mean).sum(axis=2)
        edge_weight = np.clip(spread / _FLAT_GUIDE, 0.0, 1.0)
        snapped = edge_weight * snapped + (1.0 - edge_weight) * feather
        feather = np.where(weak, np.clip(snapped, 0, 1), feather)
    solved = trust * np.clip(projected, 0, 1) + (1 - trust) * feather
    # across a faint edge (white on white: F and B a few levels apart) the colour line and
    # the guided filter both copy the photo's grain and streaks (a brushed lid's vertical
    # lines) into the alpha, column by column: there the alpha is averaged along the
    # outline where it runs near a row or a column (the edge's profile across it stays as
    # it is), fully where F and B are 12 levels apart or less, not at all from 36 (as the
    # line's trust grows)
    faint = 1.0 - np.clip((separation - 12.0) / 24.0, 0.0, 1.0)
    faint[~unknown] = 0.0
    if faint.any():
        solved += faint * (_along_axis_edges(solved, gx, gy, _ALONG_SIGMA) - solved)
    solved = solved + shade_w * np.clip(np.minimum(shade, 1.0) - solved, 0.0, None)
    crop = np.where(unknown, solved, mask.astype(np.float32))
    crop = np.where(crop < 0.05, 0.0, np.where(crop > 0.97, 1.0, crop))
    alpha[y0:y1, x0:x1] = crop
    return alpha


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray, *, radius: int = 0) -> np.ndarray:
    """Product colour (float32 (h, w, 3), 0..255) of every pixel by blur-fusion.

    ``alpha`` is float32 0..1. Only meaningful where alpha > 0; equals the photo where
    alpha is 1. Two passes, a large then a small blur, as Forte & Pitie recommend.
    """
    img = rgb.astype(np.float32) / 255.0
    a = alpha.astype(np.float32)[..., None]
    fg, bg = img.copy(), img.copy()
    side = max(img.shape[:2])
    first = radius or max(9, int(round(side * 0.02)) | 1)
    for r in (first, max(3, first // 10) | 1):
        fg, bg = _blur_fusion(img, fg, bg, a, r)
    out = np.where(a >= 1.0, img, np.clip(fg, 0, 1))
    return out * 255.0


def _blur_fusion(
    img: np.ndarray, fg: np.ndarray, bg: np.ndarray, a: np.ndarray, r: int
) -> tuple[np.ndarray, np.ndarray]:
    size = (r, r)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    blurred_a = box(a[..., 0])[..., None]
    blurred_fa = box(fg * a)
    blurred_f = blurred_fa / (blurred_a + 1e-5)
    blurred_b1a = box(bg * (1 - a))
    blurred_b = blurred_b1a / ((1 - blurred_a) + 1e-5)
    fg = blurred_f + a * (img - a * blurred_f - (1 - a) * blurred_b)
    return np.clip(fg, 0, 1), blurred_b


def band_radius(scale: float) -> int:
    """Half-width of the solved band when the mask came from a copy ``scale`` times the size."""
    return math.ceil(1.5 / min(scale, 1.0)) + 2
