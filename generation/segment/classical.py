"""Weight-free segmentation of studio photos on plain or gradient backdrops.

Pipeline (``ClassicalSegmenter.__call__``): fit the backdrop on the border, mark what
differs from it, clean the mask, refine it with GrabCut, then solve soft edges with
alpha matting. Mask estimation runs on a reduced copy (``work_side``); only the edge
band is matted near full resolution. It refuses, with a message that names the
problem, photos whose backdrop it cannot model or where it finds no clear product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from generation.config import GenerationConfig
from generation.errors import InvalidSpec, SegmentationFailed
from generation.segment.backdrop import Backdrop, fit_backdrop
from generation.segment.matte import border_fraction, build_segmentation, to_rgb
from generation.segment.soft_edges import soft_matte
from generation.types import Segmentation


@dataclass(frozen=True)
class ClassicalSettings:
    work_side: int = 640  # long side of the copy the mask is estimated on
    band_fraction: float = 0.03  # border band that models the backdrop, of the short side
    degree: int = 2  # polynomial degree of the backdrop sweep
    busy_noise: float = 12.0  # border residual (levels) above which the backdrop is "busy"
    busy_outliers: float = 0.5  # share of the border not explained -> busy or frame-filling
    busy_runs: int = 6  # this many separate unexplained stretches of border -> busy
    min_product: float = 0.002  # smallest product, share of the photo
    max_product: float = 0.9  # largest product, share of the photo
    max_border_touch: float = 0.5  # product on more of the photo's edge than this -> refuse
    keep_fraction: float = 0.1  # keep extra components at least this share of the largest
    grabcut_iterations: int = 3


@dataclass(frozen=True)
class _Mask:
    """The work-scale mask and what it took to make it."""

    foreground: np.ndarray  # bool (h, w)
    kept_share: float  # product share of all not-backdrop area (clutter left out)
    border_touch: float


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return int((a & b).sum()) / union if union else 1.0


class ClassicalSegmenter:
    name = "classical"

    def __init__(self, settings: ClassicalSettings | None = None) -> None:
        self.settings = settings or ClassicalSettings()

    def __call__(self, image: Image.Image) -> Segmentation:
        s = self.settings
        rgb_image = to_rgb(image)
        rgb = np.asarray(rgb_image)
        h, w = rgb.shape[:2]
        if min(h, w) < 32:
            raise SegmentationFailed(f"the photo is too small to segment ({w}x{h} pixels)")

        # 1. a reduced working copy: mask estimation does not need every pixel
        factor = min(1.0, s.work_side / max(h, w))
        wh, ww = max(1, round(h * factor)), max(1, round(w * factor))
        work = cv2.resize(rgb, (ww, wh), interpolation=cv2.INTER_AREA) if factor < 1 else rgb

        # 2. model the backdrop from the border; refuse if it is not a studio backdrop
        band = max(3, round(s.band_fraction * min(wh, ww)))
        backdrop = fit_backdrop(work, band=band, degree=s.degree)
        self._check_backdrop(backdrop)

        # 3. what differs from the backdrop, cleaned into the product mask
        plate = backdrop.render(wh, ww)
        distance = np.linalg.norm(work.astype(np.float32) - plate, axis=2)
        rough = self._clean(distance > backdrop.threshold, wh * ww)

        # 4. cast shadows differ from the backdrop too: flag them so GrabCut may drop them,
        # unless they are most of the mask (then the product itself is backdrop-coloured)
        shadow = rough.foreground & _shadow_like(work, plate)
        shadow_share = float(shadow.sum()) / max(int(rough.foreground.sum()), 1)
        if shadow_share > 0.5:
            shadow[:] = False
        expected = rough.foreground & ~shadow

        # 5. GrabCut refines the mask where colour statistics say better than distance
        refined = self._grabcut(work, rough.foreground, shadow, distance, backdrop.threshold)
        agreement = _iou(refined, expected)
        # a GrabCut that wanders far from the distance mask is less trustworthy than it
        final = refined if agreement >= 0.7 else expected
        if not final.any():
            raise SegmentationFailed("no product found: only shadows differ from the backdrop in this photo")

        # 6. soft edges at (near) full resolution on a band covering the upscale error
        hard = final.astype(np.uint8) * 255
        if factor < 1:
            hard = cv2.resize(hard, (w, h), interpolation=cv2.INTER_LINEAR)
        matte = soft_matte(rgb, hard > 127, band=math.ceil(1.5 / factor) + 2)

        # 7. confidence: the weakest of the cues, each 0..1
        clear = float((distance[final] > backdrop.threshold).mean())
        outline = final & ~(cv2.erode(final.astype(np.uint8), _disk(2)) > 0)
        edge_contrast = float(np.median(distance[outline])) / backdrop.threshold if outline.any() else 0.0
        cues = {
            "backdrop": 1.0 - max(0.0, backdrop.noise - 4.0) / (s.busy_noise - 4.0),
            "contrast": (clear - 0.5) / 0.4,
            "outline": (edge_contrast - 1.5) / 1.5,
            "agreement": (agreement - 0.7) / 0.25,
            "clutter": (rough.kept_share - 0.5) / 0.4,
            "frame": 1.0 - max(0.0, rough.border_touch - 0.15) / (s.max_border_touch - 0.15),
            # a backdrop-coloured (grey on white) product: shadows could not be told apart
            "shadow": 0.5 if shadow_share > 0.5 else 1.0,
        }
        confidence = min(float(np.clip(v, 0.0, 1.0)) for v in cues.values())
        return build_segmentation(rgb_image, matte, self.name, confidence)

    def _check_backdrop(self, backdrop: Backdrop) -> None:
        s = self.settings
        if backdrop.noise > s.busy_noise:
            raise SegmentationFailed(
                "the background is too busy to separate: the photo's edges are textured "
                f"(residual {backdrop.noise:.0f} levels), not a plain or gradient backdrop; "
                "use a plain backdrop or upload a cutout with transparency"
            )
        if backdrop.border_runs >= s.busy_runs or backdrop.outlier_fraction > s.busy_outliers:
            raise SegmentationFailed(
                "the background is too busy to separate: "
                f"{backdrop.outlier_fraction:.0%} of the photo's edges, in "
                f"{backdrop.border_runs} separate stretches, do not match a plain or gradient "
                "backdrop; use a plain backdrop with space around the product, or upload a "
                "cutout with transparency"
            )

    def _clean(self, raw: np.ndarray, area: int) -> _Mask:
        s = self.settings
        short = min(raw.shape)
        # open removes specks of noise, close bridges hairline gaps in the outline
        mask = cv2.morphologyEx(raw.astype(np.uint8), cv2.MORPH_OPEN, _disk(1))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _disk(max(1, short // 200)))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        total = int(areas.sum())
        if count <= 1 or areas.max() < s.min_product * area:
            raise SegmentationFailed(
                "no product found: the photo looks like an empty backdrop (nothing differs "
                "from the background colour)"
            )
        keep = np.flatnonzero(areas >= max(s.keep_fraction * areas.max(), s.min_product * area))
        foreground = np.isin(labels, keep + 1)
        foreground = _fill_small_holes(foreground, max_area=0.01 * area)
        touch = border_fraction(foreground)
        if touch > s.max_border_touch:
            raise SegmentationFailed(
                f"the product touches {touch:.0%} of the photo's edges (it fills the frame), "
                "so the background cannot be told apart; photograph it with space around it"
            )
        if foreground.mean() > s.max_product:
            raise SegmentationFailed(
                f"the product fills {foreground.mean():.0%} of the photo (it fills the frame), "
                "leaving too little background to separate; photograph it with space around it"
            )
        kept = int(areas[keep].sum())
        return _Mask(foreground=foreground, kept_share=kept / total, border_touch=touch)

    def _grabcut(
        self,
        work: np.ndarray,
        rough: np.ndarray,
        shadow: np.ndarray,
        distance: np.ndarray,
        threshold: float,
    ) -> np.ndarray:
        h, w = rough.shape
        r = max(2, min(h, w) // 100)
        rough8 = rough.astype(np.uint8)
        near = cv2.dilate(rough8, _disk(3 * r)) > 0
        core = cv2.erode(rough8, _disk(r)) > 0

        # labels: far from the mask is backdrop; the mask's core, where it clearly
        # differs from the backdrop, is product; everything between is GrabCut's call
        labels = np.full((h, w), cv2.GC_BGD, np.uint8)
        labels[near] = cv2.GC_PR_BGD
        labels[rough & ~shadow] = cv2.GC_PR_FGD
        labels[core & ~shadow & (distance > 2 * threshold)] = cv2.GC_FGD

        # GrabCut only on a box around the product: the rest is fixed backdrop
        ys, xs = np.nonzero(near)
        margin = 4 * r
        y0, y1 = max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, h)
        x0, x1 = max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, w)
        roi = np.ascontiguousarray(labels[y0:y1, x0:x1])
        if not (roi == cv2.GC_BGD).any() and not (roi == cv2.GC_PR_BGD).any():
            return rough
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # GrabCut's GMM initialisation is random: keep results repeatable
        try:
            cv2.grabCut(
                np.ascontiguousarray(work[y0:y1, x0:x1]),
                roi,
                None,
                bgd,
                fgd,
                self.settings.grabcut_iterations,
                cv2.GC_INIT_WITH_MASK,
            )
        except cv2.error:
            # degenerate colour statistics (e.g. a flat product): keep the distance mask
            return rough & ~shadow
        refined = np.zeros_like(rough)
        refined[y0:y1, x0:x1] = (roi == cv2.GC_FGD) | (roi == cv2.GC_PR_FGD)

        # keep only what connects to the rough product: GrabCut can light up stray patches
        refined = cv2.morphologyEx(refined.astype(np.uint8), cv2.MORPH_OPEN, _disk(1)) > 0
        count, comp = cv2.connectedComponents(refined.astype(np.uint8), connectivity=8)
        touching = np.unique(comp[refined & rough])
        refined = np.isin(comp, touching[touching > 0])
        if not refined.any():
            return rough & ~shadow
        return _fill_small_holes(refined, max_area=0.01 * h * w)


def _shadow_like(rgb: np.ndarray, plate: np.ndarray) -> np.ndarray:
    """Pixels that are the backdrop's own colour, only darker: a cast shadow's signature.

    Each channel is dimmed by nearly the same factor; a coloured product is not.
    """
    ratio = rgb.astype(np.float32) / np.maximum(plate, 1.0)
    level = ratio.mean(axis=2)
    spread = np.abs(ratio - level[..., None]).max(axis=2)
    return (level > 0.3) & (level < 0.97) & (spread < 0.05)


def _fill_small_holes(mask: np.ndarray, max_area: float) -> np.ndarray:
    """Fill enclosed background pockets smaller than ``max_area`` (specular gaps, labels).

    Large enclosed regions stay: they are usually real openings (a mug's handle).
    """
    inverse = (~mask).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    small = stats[:, cv2.CC_STAT_AREA] <= max_area
    small[0] = False  # label 0 is the mask itself
    # pockets that reach the edge are open backdrop, not holes
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    small[np.unique(edge)] = False
    return mask | small[labels]


_default = ClassicalSegmenter()


def segment_classical(
    image: Image.Image, config: GenerationConfig | None = None, mask: Image.Image | None = None
) -> Segmentation:
    """Registry entry point: the classical segmenter with default settings."""
    del config  # no weights, no device: nothing to configure
    if mask is not None:
        raise InvalidSpec("a mask was given: use the 'alpha' or 'auto' segmenter with it")
    return _default(image)
