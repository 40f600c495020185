"""The poster text checks, run on every frame of a clip.

For each text element visible in a frame: the contrast of its ink against the
pixels actually behind it in that frame (the worlds, plus its backing plate if it
has one), with the posters' function and thresholds (``generation.posters.checks``:
WCAG 2 ratio, worst of the 10th/90th percentile luminance over 1.5 em tiles, 4.5 or
3 for large text), measured once the text is fully revealed; and how many pixels of
the product's matte (alpha > 0) fall inside the element's box, in every frame where
it shows at all (the product is drawn last, so any such pixel hides text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from generation.clips.overlay import Sprite
from generation.posters.checks import background_range, contrast_tile, required_ratio, worst_contrast

Box = tuple[int, int, int, int]


def ink_box(sprite: Sprite, dy: float = 0.0) -> Box:
    """The type's box on the canvas (``dy``: the reveal slide)."""
    assert sprite.ink_box is not None
    bx, by, bw, bh = sprite.ink_box
    return (sprite.origin[0] + bx, round(sprite.origin[1] + dy) + by, bw, bh)


def _clip(box: Box, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    x, y, w, h = box
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, shape[1]), min(y + h, shape[0])
    return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)


def contrast_behind(
    behind: np.ndarray,
    box: Box,
    ink: tuple[int, int, int],
    size_px: int,
    plate: tuple[Any, float] | None = None,
) -> float | None:
    """Worst contrast of ``ink`` over ``behind`` (H x W x 3+ uint8) in ``box``, with an
    optional ``plate`` (fill, opacity) laid over the pixels first; None if off canvas."""
    rng = range_behind(behind, box, size_px, plate)
    return None if rng is None else worst_contrast(ink, rng)


def range_behind(
    behind: np.ndarray, box: Box, size_px: int, plate: tuple[Any, float] | None = None
) -> tuple[float, float] | None:
    """The poster checks' worst (10th, 90th) percentile luminance behind ``box`` (what
    ``contrast_behind`` compares an ink with: one range serves every ink); None if off
    canvas or too small to hold type."""
    c = _clip(box, behind.shape)
    if c is None:
        return None
    x0, y0, x1, y1 = c
    if (x1 - x0) * (y1 - y0) < 16:  # no type to speak of
        return None
    patch = behind[y0:y1, x0:x1, :3]
    if plate is not None:
        fill, opacity = plate
        patch = np.clip(
            patch.astype(np.float32) * (1 - opacity)
            + np.float32(opacity) * np.asarray(fill, np.float32)
            + 0.5,
            0,
            255,
        ).astype(np.uint8)
    box = (0, 0, x1 - x0, y1 - y0)
    try:
        return background_range(patch, box, contrast_tile(size_px))
    except ValueError:  # a box too small to tile: sampled whole
        return background_range(patch, box)


@dataclass
class _TextRecord:
    required: float
    min_contrast: float | None = None
    worst_frame: int | None = None
    max_overlap_px: int = 0
    frames: int = 0


@dataclass
class FrameTextChecks:
    """Accumulates the per-frame checks of one clip; ``summary()`` is stored with it."""

    canvas: tuple[int, int]
    records: dict[str, _TextRecord] = field(default_factory=dict)
    frames_checked: int = 0
    # per text: the clipped box and the pixels behind it last measured
    _last: dict[str, tuple[tuple[int, int, int, int], np.ndarray]] = field(default_factory=dict, repr=False)

    def contrast(self, index: int, behind: np.ndarray, sprite: Sprite, opacity: float, dy: float) -> None:
        """Before the text is drawn: ``behind`` is the frame's worlds. A frame whose
        pixels behind the text (and the text's place) are those of the last frame
        measured for it gives the same ratio: it is compared, not measured again."""
        if sprite.ink is None or sprite.ink_box is None or opacity < 0.999:
            return
        record = self._record(sprite)
        c = _clip(ink_box(sprite, dy), behind.shape)
        if c is None:
            return
        x0, y0, x1, y1 = c
        patch = behind[y0:y1, x0:x1, :3]
        if sprite.backing is not None:
            patch = _with_backing(patch, sprite, dy, c)
        last = self._last.get(sprite.key)
        if last is not None and last[0] == c and np.array_equal(last[1], patch):
            return
        self._last[sprite.key] = (c, patch.copy())
        ratio = contrast_behind(patch, (0, 0, x1 - x0, y1 - y0), sprite.ink, sprite.size_px)
        if ratio is not None and (record.min_contrast is None or ratio < record.min_contrast):
            record.min_contrast, record.worst_frame = ratio, index

    def overlap(
        self, sprite: Sprite, dy: float, product_origin: tuple[int, int], product_alpha: np.ndarray
    ) -> None:
        """After the product is pasted: matte pixels inside the element's box."""
        record = self._record(sprite)
        record.frames += 1
        x, y = sprite.origin[0], round(sprite.origin[1] + dy)
        h, w = sprite.pixels.shape[:2]
        if sprite.ink_box is not None and sprite.backing is None:
            x, y, w, h = ink_box(sprite, dy)
        px, py = product_origin
        ph, pw = product_alpha.shape[:2]
        x0, y0, x1, y1 = max(x, px), max(y, py), min(x + w, px + pw), min(y + h, py + ph)
        if x1 <= x0 or y1 <= y0:
            return
        hits = int(np.count_nonzero(product_alpha[y0 - py : y1 - py, x0 - px : x1 - px]))
        record.max_overlap_px = max(record.max_overlap_px, hits)

    def _record(self, sprite: Sprite) -> _TextRecord:
        if sprite.key not in self.records:
            required = (
                required_ratio(sprite.size_px, sprite.weight, min(self.canvas))
                if sprite.ink is not None
                else 0.0
            )
            self.records[sprite.key] = _TextRecord(required=required)
        return self.records[sprite.key]

    def summary(self) -> dict[str, Any]:
        texts = {}
        for key, r in self.records.items():
            contrast_ok = r.min_contrast is None or r.min_contrast >= r.required
            texts[key] = {
                "min_contrast": None if r.min_contrast is None else round(r.min_contrast, 2),
                "required": r.required if r.required else None,
                "worst_frame": r.worst_frame,
                "max_overlap_px": r.max_overlap_px,
                "frames_visible": r.frames,
                "passed": contrast_ok and r.max_overlap_px == 0,
            }
        ratios = [r.min_contrast for r in self.records.values() if r.min_contrast is not None]
        return {
            "frames_checked": self.frames_checked,
            "min_contrast": round(min(ratios), 2) if ratios else None,
            "max_overlap_px": max((r.max_overlap_px for r in self.records.values()), default=0),
            "passed": all(t["passed"] for t in texts.values()),
            "texts": texts,
        }


def _with_backing(
    patch: np.ndarray, sprite: Sprite, dy: float, clipped: tuple[int, int, int, int]
) -> np.ndarray:
    """``patch`` (the pixels at canvas box ``clipped``: x0, y0, x1, y1) with the
    sprite's plate laid over it, as a new array."""
    assert sprite.backing is not None
    x0, y0, x1, y1 = clipped
    sx, sy = sprite.origin[0], round(sprite.origin[1] + dy)
    plate = sprite.backing[y0 - sy : y1 - sy, x0 - sx : x1 - sx].astype(np.float32)
    under = patch.astype(np.float32)
    return np.clip(plate[..., :3] + under * (1 - plate[..., 3:4] / 255.0) + 0.5, 0, 255).astype(np.uint8)
