"""The merchant's own matte: the upload's alpha channel, or a mask uploaded beside it."""

from __future__ import annotations

import numpy as np
from PIL import Image

from generation.config import GenerationConfig
from generation.errors import InvalidSpec, SegmentationFailed
from generation.segment.classical import decontaminate
from generation.segment.matte import build_segmentation, to_rgb
from generation.types import Segmentation

_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


def alpha_channel(image: Image.Image) -> np.ndarray | None:
    """The image's alpha as uint8 (h, w), or None when it has no alpha at all."""
    if image.mode in _ALPHA_MODES:
        return np.asarray(image.convert("RGBA").getchannel("A"))
    if image.mode == "P" and "transparency" in image.info:
        return np.asarray(image.convert("RGBA").getchannel("A"))
    return None


def has_meaningful_alpha(image: Image.Image) -> bool:
    """True when the alpha channel cuts something out (not every pixel opaque).

    Many PNGs carry an alpha channel that is 255 everywhere; that says nothing about
    the product, so ``auto`` must look past it.
    """
    alpha = alpha_channel(image)
    return alpha is not None and int(alpha.min()) < 255


# A merchant mask value at or above this is fully opaque: painted or exported masks
# often carry 250-254 where the product is meant to be solid, and an opaque pixel is
# what the fidelity check (and the paste-back) guarantee.
OPAQUE_FROM = 250


def explicit_mask(mask: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """A merchant-uploaded mask as uint8 (h, w); white is product, near-white is opaque."""
    if mask.size != size:
        raise InvalidSpec(
            f"the mask is {mask.width}x{mask.height} but the photo is {size[0]}x{size[1]}; "
            "upload a mask exactly the size of the photo"
        )
    values = np.array(mask.convert("L"))
    values[values >= OPAQUE_FROM] = 255
    return values


def segment_alpha(
    image: Image.Image, config: GenerationConfig | None = None, mask: Image.Image | None = None
) -> Segmentation:
    """Use ``mask`` when given, else the image's own alpha, as the matte (unchanged)."""
    del config  # nothing to configure: the merchant's matte is used as it is
    # 1. pick the matte: an explicit mask wins over the upload's alpha
    matte: np.ndarray | None
    if mask is not None:
        matte = explicit_mask(mask, image.size)
        source = "mask"
    else:
        matte = alpha_channel(image)
        source = "alpha channel"
        if matte is None:
            raise SegmentationFailed(
                "the photo has no transparency (no alpha channel); upload a PNG or WebP "
                "with transparency, or a mask, or choose another background removal"
            )

    # 2. refuse mattes that do not separate anything
    if int(matte.min()) == 255:
        raise SegmentationFailed(f"the {source} is fully opaque, so it does not show where the product is")
    if int(matte.max()) <= 8:
        raise SegmentationFailed(f"the {source} is fully transparent: there is no product in it")

    # 3. the merchant's matte is trusted as it is; over a photo without transparency its
    # soft edge pixels still carry the set's colour, which is taken out as the segmenters do
    rgb = to_rgb(image)
    foreground = decontaminate(np.asarray(rgb), matte) if source == "mask" else None
    return build_segmentation(rgb, matte.copy(), "alpha", confidence=1.0, foreground=foreground)
