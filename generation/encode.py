"""Encoding output images to file bytes, one place for every caller (CLI, service)."""

from __future__ import annotations

import io

from PIL import Image

from generation.errors import InvalidSpec

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}


def encode_image(image: Image.Image, fmt: str) -> bytes:
    """PNG keeps alpha and is lossless; JPEG (quality 92, 4:4:4) and WebP (lossless for RGBA)."""
    key = fmt.lower()
    if key not in FORMATS:
        raise InvalidSpec(f"unknown image format {fmt!r}; use png, jpg or webp")
    buf = io.BytesIO()
    if FORMATS[key] == "PNG":
        image.save(buf, format="PNG", compress_level=6)
    elif FORMATS[key] == "JPEG":
        image.convert("RGB").save(buf, format="JPEG", quality=92, subsampling=0, optimize=True)
    else:
        lossless = image.mode == "RGBA"
        image.save(buf, format="WEBP", quality=92, lossless=lossless, method=4)
    return buf.getvalue()
