"""Test-side name for the library's synthetic product photos (exact masks known)."""

from generation.samples import background, product_mask, product_photo, product_rgba, product_texture

__all__ = ["background", "product_mask", "product_photo", "product_rgba", "product_texture"]
