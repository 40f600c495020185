"""Gaussian blur that stays cheap for the large radii backgrounds and shadows use."""

from __future__ import annotations

import cv2
import numpy as np


def fast_blur(
    img: np.ndarray, sigma: float, *, exact_up_to: float = 6.0, coarse_sigma: float = 3.0
) -> np.ndarray:
    """``img`` blurred by about ``sigma`` pixels (an image under 0.3 is returned as is).

    Up to ``exact_up_to`` it is a true Gaussian blur. Beyond, the image is shrunk so that
    a blur of ``coarse_sigma`` there is ``sigma`` at full size, and scaled back up: the
    result is smooth, so the detail the small copy loses is never missed.
    """
    if sigma < 0.3:
        return img
    if sigma <= exact_up_to:
        return cv2.GaussianBlur(img, (0, 0), sigma)
    h, w = img.shape[:2]
    f = max(1.0, sigma / coarse_sigma)
    small = cv2.resize(img, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), coarse_sigma)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
