"""What rendering a clip returns: one frame before encoding, the product's fidelity over
the clip, and the written files with their sidecar."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from generation.clips.motion import Similarity
from generation.clips.product import ProductLayer
from generation.types import Box


@dataclass(frozen=True)
class ClipFrame:
    """One frame just before encoding. ``image`` is a view of the renderer's buffer: it
    is only valid until the next frame is drawn (copy it to keep it).

    ``planes`` is the frame as the encoder takes it (Y, Cb, Cr; BT.709 limited range,
    4:2:0), when asked for: new arrays, the caller's to keep. A frame drawn in the planes
    directly is not ``whole``: then ``image`` holds only what was drawn in RGB (the
    product and what lies round it; see ``generation.clips.planes``)."""

    index: int
    time: float
    image: np.ndarray  # (H, W, 3) uint8 RGB (a view of ``rgba``)
    rgba: np.ndarray  # (H, W, 4) uint8, alpha 255: the buffer itself
    product_transform: Similarity  # product master -> canvas
    product: ProductLayer  # the reference the frame's product pixels must equal
    max_abs_diff: int  # measured on ``image`` where the reference is opaque
    opaque_pixels: int
    planes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    whole: bool = True


@dataclass(frozen=True)
class ClipFidelity:
    """Product fidelity over a whole clip.

    ``max_abs_diff`` is the largest difference, over every frame before encoding,
    between the frame and the product's reference resampling where that is opaque;
    ``encoded_psnr_db`` the lowest PSNR of the same pixels in sampled frames decoded
    back from the MP4 (None when not checked).
    """

    max_abs_diff: int
    min_opaque_pixels: int
    frames_checked: int
    encoded_psnr_db: float | None = None
    encoded_frames_checked: int = 0

    @property
    def identical(self) -> bool:
        return self.max_abs_diff == 0 and self.min_opaque_pixels > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_abs_diff": self.max_abs_diff,
            "min_opaque_pixels": self.min_opaque_pixels,
            "frames_checked": self.frames_checked,
            "identical": self.identical,
            "encoded_psnr_db": None if self.encoded_psnr_db is None else round(self.encoded_psnr_db, 2),
            "encoded_frames_checked": self.encoded_frames_checked,
        }


@dataclass(frozen=True)
class ClipResult:
    path: Path
    duration: float  # seconds: frame_count / fps
    fps: int
    codec: str  # as the written file reports it, e.g. "h264"
    width: int
    height: int
    frame_count: int
    size_bytes: int
    fidelity: ClipFidelity
    product_box: Box  # the product's box in the first frame
    webm: Path | None = None
    preview: Path | None = None
    poster: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def sidecar(self) -> dict[str, Any]:
        x, y, w, h = self.product_box
        data: dict[str, Any] = {
            "kind": "clip",
            "file": self.path.name,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "fps": self.fps,
            "codec": self.codec,
            "frame_count": self.frame_count,
            "size_bytes": self.size_bytes,
            "product_box": {"x": x, "y": y, "width": w, "height": h},
            "fidelity": self.fidelity.to_dict(),
            "webm": self.webm.name if self.webm else None,
            "preview": self.preview.name if self.preview else None,
            "poster": self.poster.name if self.poster else None,
        }
        data.update(self.meta)
        return data
