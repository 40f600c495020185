"""A world drawn straight into the encoder's 4:2:0 planes, without an RGB frame.

Most of a frame is the world under the camera's zoom and nothing else. Warping the world
in RGB and converting every frame to Y'CbCr cost more than x264's share beyond itself, so
each world image is converted once (``WorldPlanes``: its luma, and its chroma at half size,
by the same converter the frames used) and those planes are zoomed per frame instead. The
parts of a frame that hold more than the world (the product, text, the product's shadow
layer, the light sweep) are still drawn in RGB, each in its own even-aligned rectangle,
and converted there alone (``encode.YUV420Converter``), so the product's pixels and the
checks on them are exactly what they were.

A zoom (``Similarity``: a scale and a shift, never a rotation) is drawn with
``cv2.resize``, about four times faster than ``cv2.warpAffine`` on one plane: resize
maps output pixel ``x`` to source ``x0 + (x + 0.5) / s - 0.5`` for a source window
starting at ``x0``, so a window start and the smallest crop of the output (the fewest
pixels resized only to be dropped) are chosen whose sub-pixel error is under
``TOLERANCE`` of an output pixel (``warpAffine`` itself resolves 1/32 px).
The planes are padded (edge pixels repeated, as the warp's border is) so that the window
may start beyond the image. When no window is close enough (a scale within about
``1 / PAD`` of 1 with a sub-pixel shift: the ends of a push-in), the plane is warped
(``cv2.warpAffine``, the reference the resize is held to). Drawing those zooms instead
in runs of rows that share one sub-pixel weight (the warp's own samples, blended across
on the window turned on its side in float32, then down) was tried: with OpenCV 5 the
float32 transposes alone (3.7 ms for a 1080x1920 plane) cost what the warp does, and the
runs took 8.7 ms a frame for the three planes against the warp's 5.6.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from generation.clips.encode import YUV420Converter
from generation.clips.motion import Similarity

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1

PAD = 256  # edge pixels repeated round each plane
TOLERANCE = 1 / 64  # the most a zoom by resize may be off, in output pixels


class WorldPlanes:
    """One world image (H, W, 4 RGBA) as padded Y (full size) and Cb, Cr (half size)."""

    def __init__(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        # an odd side gets its last row or column repeated (4:2:0 needs even sides)
        even = cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
        eh, ew = even.shape[:2]
        y = np.empty((eh, ew), np.uint8)
        u = np.empty((eh // 2, ew // 2), np.uint8)
        v = np.empty((eh // 2, ew // 2), np.uint8)
        YUV420Converter(ew, eh).convert(even, y, u, v)
        self.planes = tuple(
            cv2.copyMakeBorder(p, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE) for p in (y, u, v)
        )

    def draw(self, transform: Similarity, size: tuple[int, int]) -> Planes:
        """New (Y, Cb, Cr) planes of a ``size`` (w, h) frame showing the world under
        ``transform`` (world -> canvas, continuous pixel coordinates), bilinear."""
        w, h = size
        # half-size planes: continuous coordinates halve on both sides
        half = Similarity(transform.scale, transform.tx / 2, transform.ty / 2)
        y, u, v = self.planes
        # Cb and Cr have one size and one transform: one window for both
        windows = _windows(u, half, (w // 2, h // 2))
        return (
            zoom_plane(y, transform, (w, h)),
            zoom_plane(u, half, (w // 2, h // 2), windows),
            zoom_plane(v, half, (w // 2, h // 2), windows),
        )


Windows = tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]


def _windows(padded: np.ndarray, transform: Similarity, size: tuple[int, int]) -> Windows:
    """The resize windows across and down (see ``_window``) for ``zoom_plane``."""
    s = transform.scale
    # the world coordinate of the output's left (top) edge, in the padded image
    return (
        _window(PAD - transform.tx / s, s, padded.shape[1], size[0]),
        _window(PAD - transform.ty / s, s, padded.shape[0], size[1]),
    )


def zoom_plane(
    padded: np.ndarray, transform: Similarity, size: tuple[int, int], windows: Windows | None = None
) -> np.ndarray:
    """``padded`` (an image with ``PAD`` repeated pixels round it) under ``transform``
    into a new ``size`` (w, h) array: resized when a window fits (see the module
    docstring), else warped (bilinear, edges repeated). ``windows``: ``_windows`` of these
    arguments when already at hand."""
    w, h = size
    s = transform.scale
    across, down = windows if windows is not None else _windows(padded, transform, size)
    if across is not None and down is not None:
        dx, x0, x1 = across
        dy, y0, y1 = down
        zoomed = cv2.resize(padded[y0:y1, x0:x1], None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
        return zoomed[dy : dy + h, dx : dx + w]
    matrix = Similarity(1.0, -PAD, -PAD).then(transform).matrix()
    return cv2.warpAffine(padded, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _window(edge: float, s: float, n_src: int, n_out: int) -> tuple[int, int, int] | None:
    """(crop, start, end) along one side: resizing source pixels ``start:end`` by ``s``
    and dropping the first ``crop`` output pixels puts the output's edge at source
    coordinate ``edge`` within ``TOLERANCE``; None if no such window lies in the source.

    ``start + crop / s`` must equal ``edge``; ``crop >= 1`` keeps the first output pixel
    from sampling before the window (resize repeats a window's edge, the warp would not).
    """
    # the smallest crop that fits: the fewest output pixels resized only to be dropped
    # (the few first are tried first: enough unless the scale is close to 1, and cheaper)
    for crops in _CROPS:
        starts = np.round(edge - crops / s).astype(np.int64)
        error = np.abs(edge - crops / s - starts) * s
        # one source pixel beyond the last one sampled, so it interpolates as the warp does
        ends = starts + np.ceil((crops + n_out + 0.5) / s).astype(np.int64) + 2
        ok = (starts >= 0) & (ends <= n_src) & (np.round((ends - starts) * s) >= crops + n_out)
        ok &= error <= TOLERANCE
        if ok.any():
            k = int(np.argmax(ok))
            return int(crops[k]), int(starts[k]), int(ends[k])
    return None


_CROPS = (np.arange(1, 32), np.arange(32, 2 * PAD))


def even_rect(x0: float, y0: float, x1: float, y1: float, canvas: tuple[int, int]) -> Rect | None:
    """The canvas pixels of a box, grown to even coordinates (whole 2x2 chroma blocks)
    and clipped to the canvas; None if nothing is left."""
    cw, ch = canvas
    a, b = max(0, math.floor(x0) // 2 * 2), max(0, math.floor(y0) // 2 * 2)
    c, d = min(cw, -(-math.ceil(x1) // 2) * 2), min(ch, -(-math.ceil(y1) // 2) * 2)
    return (a, b, c, d) if c > a and d > b else None


def merge_rects(rects: list[Rect]) -> list[Rect]:
    """Rectangles that share no pixel: any two that overlap become their bounding box."""
    out = list(rects)
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return out


def rect_planes(planes: Planes, rect: Rect) -> Planes:
    """Views of ``planes`` (Y, Cb, Cr of a frame) at an even-aligned canvas ``rect``."""
    x0, y0, x1, y1 = rect
    y, u, v = planes
    return (
        y[y0:y1, x0:x1],
        u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
        v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
    )
