"""Synthetic product photos with exactly known masks: demo data, tests and benchmarks.

The "product" is a bottle: a shaded body, a shoulder, a cap and a printed label with
fine detail, so that any change to product pixels shows up in fidelity checks.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def product_mask(size: tuple[int, int], *, scale: float = 0.6) -> Image.Image:
    """Mode L mask (0/255) of a bottle centred in ``size``."""
    w, h = size
    mask = Image.new("L", size, 0)
    d = ImageDraw.Draw(mask)
    bh = h * scale
    bw = bh * 0.38
    cx, top = w / 2, (h - bh) / 2
    body_top = top + bh * 0.32
    d.rounded_rectangle((cx - bw / 2, body_top, cx + bw / 2, top + bh), radius=bw * 0.12, fill=255)
    d.polygon(
        [
            (cx - bw / 2, body_top + 2),
            (cx - bw * 0.16, top + bh * 0.14),
            (cx + bw * 0.16, top + bh * 0.14),
            (cx + bw / 2, body_top + 2),
        ],
        fill=255,
    )
    d.rectangle((cx - bw * 0.17, top, cx + bw * 0.17, top + bh * 0.16), fill=255)
    return mask


def product_texture(size: tuple[int, int], *, seed: int = 7) -> Image.Image:
    """RGB texture for the product: cylindrical shading, a label, stripes and noise."""
    w, h = size
    rng = np.random.default_rng(seed)
    xs = np.linspace(-1, 1, w)[None, :, None]
    shade = 0.55 + 0.45 * np.cos(xs * 1.3)
    base = np.array([38, 110, 74], dtype=np.float32)[None, None, :]
    img = np.broadcast_to(base * shade + 20, (h, w, 3)).copy()
    img[int(h * 0.55) : int(h * 0.75), :, :] = np.array([235, 225, 200]) * shade[0]
    img[int(h * 0.60) : int(h * 0.62), ::6, :] = (180, 40, 40)
    img += rng.normal(0, 3, img.shape)
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    ImageDraw.Draw(im).text((w * 0.42, h * 0.65), "SKU-42", fill=(20, 20, 20))
    return im


def background(size: tuple[int, int], kind: str = "plain", *, seed: int = 3) -> Image.Image:
    """plain (off-white), gradient (studio sweep), or busy (random shapes)."""
    w, h = size
    if kind == "plain":
        return Image.new("RGB", size, (244, 243, 240))
    if kind == "gradient":
        ys = np.linspace(0, 1, h)[:, None, None]
        top, bottom = np.array([250, 248, 245]), np.array([205, 208, 214])
        arr = np.broadcast_to(top * (1 - ys) + bottom * ys, (h, w, 3))
        return Image.fromarray(arr.astype(np.uint8), "RGB")
    if kind == "busy":
        rng = np.random.default_rng(seed)
        im = Image.new("RGB", size, (120, 100, 90))
        d = ImageDraw.Draw(im)
        for _ in range(60):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = int(rng.integers(10, max(11, w // 5)))
            d.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        return im
    raise ValueError(kind)


def product_photo(
    size: tuple[int, int] = (640, 800), kind: str = "plain", *, scale: float = 0.6
) -> tuple[Image.Image, Image.Image]:
    """(RGB photo, exact L mask) of the bottle on the given background."""
    mask = product_mask(size, scale=scale)
    photo = background(size, kind)
    photo.paste(product_texture(size), (0, 0), mask)
    return photo, mask


def product_rgba(size: tuple[int, int] = (640, 800), *, scale: float = 0.6) -> Image.Image:
    """The bottle on a transparent background (an upload with its own alpha)."""
    mask = product_mask(size, scale=scale)
    im = product_texture(size).convert("RGBA")
    im.putalpha(mask)
    return im
