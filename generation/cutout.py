"""The cutout: the product's own pixels on transparency, and its full-size matte."""

from __future__ import annotations

import numpy as np
from PIL import Image

from generation.compose import measure_fidelity, place_product
from generation.errors import GenerationError
from generation.types import RenderedImage, Segmentation


def render_cutout(seg: Segmentation) -> RenderedImage:
    """RGBA crop of the product box with the matte as alpha (PNG-ready).

    Raises ``GenerationError`` (code ``fidelity_failed``) if any fully opaque pixel
    differs from the photo: a cutout is only useful if it is the merchant's pixels.
    """
    # 1. crop the product with its matte
    cutout = seg.cutout
    w, h = cutout.size

    # 2. fidelity against the placed cutout (it is its own canvas: no resize happens)
    placed = place_product(cutout, (w, h), (0, 0, w, h))
    fidelity = measure_fidelity(cutout, placed)

    # 3. and against the photo itself, where the matte is fully opaque
    x, y, _, _ = seg.box
    photo = np.asarray(seg.image.convert("RGB").crop((x, y, x + w, y + h)))
    rgba = np.asarray(cutout)
    opaque = rgba[..., 3] == 255
    if not np.array_equal(rgba[..., :3][opaque], photo[opaque]):
        raise GenerationError(
            "The cutout's pixels differ from the photo; nothing was written.",
            code="fidelity_failed",
        )

    return RenderedImage(
        image=cutout,
        kind="cutout",
        name="cutout",
        product_box=(0, 0, w, h),
        fidelity=fidelity,
        meta={
            **seg.matte_meta(),
            "engine": "cutout",
            "source_box": _box_dict(seg.box),
        },
    )


def render_mask(seg: Segmentation) -> Image.Image:
    """The full-size matte (mode L, same size as the photo): 255 product, 0 background."""
    return seg.matte.convert("L").copy()


def _box_dict(box: tuple[int, int, int, int]) -> dict[str, int]:
    x, y, w, h = box
    return {"x": x, "y": y, "width": w, "height": h}
