"""Soft product edges: closed-form alpha matting on a thin band around a hard mask.

Matting every pixel of a 2000x2000 photo is slow and pointless: inside the product
alpha is 1, outside it is 0. Only a band around the edge is solved, on a crop around
the product, at a reduced scale when the crop is big; the band alone is then
scaled back up, so the core and the backdrop stay exact.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Largest crop (pixels) matted at full resolution; bigger crops are matted scaled down.
MATTING_MAX_PIXELS = 1_500_000


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def soft_matte(rgb: np.ndarray, hard: np.ndarray, band: int) -> np.ndarray:
    """uint8 matte for ``rgb`` (uint8 (h, w, 3)) from ``hard`` (bool (h, w)).

    ``band`` is the half-width, in full-resolution pixels, of the strip around the
    hard edge where alpha is solved; it must cover the hard mask's position error.
    """
    from pymatting import estimate_alpha_cf

    h, w = hard.shape
    hard8 = hard.astype(np.uint8)
    matte = hard8 * np.uint8(255)

    # 1. crop to the product plus the band (and a margin for the matting windows)
    ys, xs = np.nonzero(hard8)
    if ys.size == 0:
        return matte
    pad = band + 4
    y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, h)
    x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, w)
    crop_rgb, crop_hard = rgb[y0:y1, x0:x1], hard8[y0:y1, x0:x1]

    # 2. scale for matting: full resolution unless the crop is big
    ch, cw = crop_hard.shape
    scale = min(1.0, math.sqrt(MATTING_MAX_PIXELS / (ch * cw)))
    mh, mw = max(1, round(ch * scale)), max(1, round(cw * scale))
    if scale < 1.0:
        small_rgb = cv2.resize(crop_rgb, (mw, mh), interpolation=cv2.INTER_AREA)
        small_hard = cv2.resize(crop_hard * 255, (mw, mh), interpolation=cv2.INTER_AREA) > 127
    else:
        small_rgb, small_hard = crop_rgb, crop_hard.astype(bool)

    # 3. trimap: sure product inside, sure backdrop outside, unknown on the band
    radius = max(2, math.ceil(band * scale))
    core = cv2.erode(small_hard.astype(np.uint8), _disk(radius)) > 0
    outside = cv2.dilate(small_hard.astype(np.uint8), _disk(radius)) == 0
    trimap = np.full(core.shape, 0.5)
    trimap[core] = 1.0
    trimap[outside] = 0.0
    if not core.any() or not outside.any():
        return matte  # too thin or too big to matte: keep the hard edge

    # 4. closed-form matting, only unknown pixels enter the linear system
    alpha = estimate_alpha_cf(small_rgb.astype(np.float64) / 255.0, trimap, cg_kwargs={"maxiter": 2000})

    # 5. back to full resolution: the band comes from the matte, the rest stays exact
    if scale < 1.0:
        alpha = cv2.resize(alpha.astype(np.float32), (cw, ch), interpolation=cv2.INTER_LINEAR)
        unknown = cv2.resize(
            (trimap == 0.5).astype(np.uint8), (cw, ch), interpolation=cv2.INTER_NEAREST
        ).astype(bool)
        inside = cv2.resize(core.astype(np.uint8), (cw, ch), interpolation=cv2.INTER_NEAREST)
        base = inside.astype(bool)
    else:
        unknown, base = trimap == 0.5, core
    # faint haze and near-solid pixels are matting noise, not product transparency
    alpha = np.where(alpha < 0.03, 0.0, np.where(alpha > 0.97, 1.0, alpha))
    crop = np.where(base, 255, 0).astype(np.float32)
    crop[unknown] = alpha[unknown] * 255.0
    matte[y0:y1, x0:x1] = np.clip(np.rint(crop), 0, 255).astype(np.uint8)
    return matte
