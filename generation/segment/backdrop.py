"""A model of a studio backdrop fitted on the photo's border.

Studio backdrops are a plain colour or a smooth sweep (lighter at the top, a vignette).
A low-order polynomial in x and y per colour channel describes both. It is fitted
robustly on a band along the photo's edges, so a product that touches one edge (a
bottle standing on the bottom) does not bend the fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Fit on at most this many border pixels: more adds time, not accuracy.
_MAX_FIT_PIXELS = 40_000


@dataclass(frozen=True)
class Backdrop:
    """The fitted backdrop and how well it explains the photo's border."""

    coefficients: np.ndarray  # (terms, 3) for _design() terms, in 0..255 levels
    degree: int
    noise: float  # robust spread of the residual on the border, levels (sensor noise, texture)
    outlier_fraction: float  # share of the border band the backdrop does not explain
    border_runs: int  # separate stretches of unexplained border along the perimeter
    threshold: float  # distance from the backdrop above which a pixel is "not backdrop"

    def render(self, height: int, width: int) -> np.ndarray:
        """The backdrop as float32 (height, width, 3)."""
        ys, xs = np.mgrid[0:height, 0:width]
        design = _design(xs.ravel(), ys.ravel(), width, height, self.degree)
        return (design @ self.coefficients).reshape(height, width, 3).astype(np.float32)


def _design(xs: np.ndarray, ys: np.ndarray, width: int, height: int, degree: int) -> np.ndarray:
    # coordinates in -1..1 keep the least-squares system well conditioned
    x = xs.astype(np.float64) / max(width - 1, 1) * 2 - 1
    y = ys.astype(np.float64) / max(height - 1, 1) * 2 - 1
    terms = [np.ones_like(x)]
    for total in range(1, degree + 1):
        for py in range(total + 1):
            terms.append(x ** (total - py) * y**py)
    return np.stack(terms, axis=1)


def border_band(height: int, width: int, band: int) -> np.ndarray:
    """Bool mask of the ``band`` pixels nearest each edge."""
    mask = np.zeros((height, width), bool)
    mask[:band, :] = mask[-band:, :] = True
    mask[:, :band] = mask[:, -band:] = True
    return mask


def fit_backdrop(rgb: np.ndarray, *, band: int, degree: int = 2) -> Backdrop:
    """Fit the backdrop on the border band of ``rgb`` (uint8 or float, (h, w, 3))."""
    h, w = rgb.shape[:2]
    ys, xs = np.nonzero(border_band(h, w, band))
    step = max(1, len(ys) // _MAX_FIT_PIXELS)
    ys, xs = ys[::step], xs[::step]
    values = rgb[ys, xs].astype(np.float64)

    # 1. start from the median colour and keep the half of the border closest to it:
    #    robust as long as the backdrop is most of the border
    residual = np.linalg.norm(values - np.median(values, axis=0), axis=1)
    inliers = residual <= np.quantile(residual, 0.5)

    # 2. alternate fitting and re-selecting inliers; the first rounds use a plane so a
    #    half-border does not license wild curvature
    coefficients = np.zeros((1, 3))
    fit_degree = 0
    for round_ in range(6):
        fit_degree = min(degree, 1 if round_ < 2 else degree)
        design = _design(xs, ys, w, h, fit_degree)
        coefficients, *_ = np.linalg.lstsq(design[inliers], values[inliers], rcond=None)
        residual = np.linalg.norm(values - design @ coefficients, axis=1)
        noise = 1.4826 * float(np.median(residual[inliers]))
        cut = max(4.0 * noise, 6.0)
        inliers = residual < cut
        if inliers.mean() < 0.3:  # never fit on a sliver of the border
            inliers = residual <= np.quantile(residual, 0.3)

    noise = 1.4826 * float(np.median(residual[inliers]))
    threshold = max(4.0 * noise, 10.0)
    outliers = residual > threshold
    return Backdrop(
        coefficients=coefficients,
        degree=fit_degree,
        noise=noise,
        outlier_fraction=float(outliers.mean()),
        border_runs=_perimeter_runs(rgb, coefficients, fit_degree, threshold),
        threshold=threshold,
    )


def _perimeter_runs(rgb: np.ndarray, coefficients: np.ndarray, degree: int, threshold: float) -> int:
    """Separate stretches of not-backdrop along the outermost ring of pixels.

    A product cut by the frame makes one or two long stretches; a busy background
    makes many. Stretches shorter than 1% of the perimeter are ignored as noise.
    """
    h, w = rgb.shape[:2]
    # walk the ring clockwise so that neighbours along the walk are neighbours in the photo
    top = [(0, x) for x in range(w)]
    right = [(y, w - 1) for y in range(1, h)]
    bottom = [(h - 1, x) for x in range(w - 2, -1, -1)]
    left = [(y, 0) for y in range(h - 2, 0, -1)]
    ring = np.array(top + right + bottom + left)
    design = _design(ring[:, 1], ring[:, 0], w, h, degree)
    off = np.linalg.norm(rgb[ring[:, 0], ring[:, 1]].astype(np.float64) - design @ coefficients, axis=1)
    flags = off > threshold
    if flags.all() or not flags.any():
        return int(flags.all())
    # rotate so the walk starts on backdrop, then count rising edges of long runs
    flags = np.roll(flags, -int(np.argmin(flags)))
    edges = np.diff(flags.astype(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    min_len = max(3, len(flags) // 100)
    return int(((ends - starts) >= min_len).sum())
