"""Anti-aliased coverage of the set's shapes at pixel centres: spans, ellipses, the podium."""

from __future__ import annotations

import numpy as np

from generation.sets.stage import PodiumGeometry


def coverage_box(xx: np.ndarray, x0: float | np.ndarray, x1: float | np.ndarray) -> np.ndarray:
    """Anti-aliased coverage of the span [x0, x1] at pixel centres ``xx``."""
    return np.clip(np.minimum(xx - x0, x1 - xx) + 0.5, 0.0, 1.0)


def ellipse_sd(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Approximate signed distance (px) to an ellipse: negative inside."""
    qx, qy = (xx - cx) / rx, (yy - cy) / ry
    q = np.sqrt(qx * qx + qy * qy) + 1e-9
    grad = np.sqrt((qx / rx) ** 2 + (qy / ry) ** 2) / q + 1e-9
    return (q - 1.0) / grad


def podium_cover(pod: PodiumGeometry, xx: np.ndarray, yy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(top face, front) anti-aliased coverage of the podium at pixel centres."""
    if pod.shape == "cylinder":
        top = np.clip(0.5 - ellipse_sd(xx, yy, pod.cx, pod.top, pod.rx, pod.ry), 0, 1)
        s = np.clip((xx - pod.cx) / pod.rx, -1.0, 1.0)
        lower = pod.bottom + pod.ry * np.sqrt(1.0 - s * s)
        body = coverage_box(xx, pod.cx - pod.rx, pod.cx + pod.rx)
        body = body * np.clip(lower - yy + 0.5, 0, 1) * np.clip(yy - pod.top + 0.5, 0, 1)
        body = np.clip(body - top, 0, 1)
        return top, body
    # box: a thin top face in perspective (narrower at the back) and a front face
    front_y = pod.top + pod.ry
    back_y = pod.top - pod.ry
    t = np.clip((yy - back_y) / max(front_y - back_y, 1e-3), 0, 1)
    half = pod.rx * (0.94 + 0.06 * t)
    top = coverage_box(xx - pod.cx, -half, half) * coverage_box(yy, back_y, front_y)
    body = coverage_box(xx, pod.cx - pod.rx, pod.cx + pod.rx)
    body = body * coverage_box(yy, front_y, pod.bottom + pod.ry)
    return top, body
