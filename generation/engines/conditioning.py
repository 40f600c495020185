"""What the diffusion pipeline is conditioned on: canvas size, init image, mask, control images.

The scene layout is decided once, at full output resolution (the product placed on the
canvas); everything here is that layout scaled down to the size the model generates at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from generation.compose import RESAMPLE, paste_back
from generation.config import GenerationConfig
from generation.errors import ModelUnavailable
from generation.types import PlacedProduct

# controlnet-aux's CannyDetector defaults; the canny ControlNets were trained on these.
CANNY_LOW = 100
CANNY_HIGH = 200

# The masked-out area of an inpaint model's input is mid grey in its [-1, 1] space, so the
# init background is the same grey: the control image then has edges only at the product.
NEUTRAL = (128, 128, 128)

FAMILY_BASE = {"sd15": 512, "sdxl": 1024}


@dataclass(frozen=True)
class ControlImage:
    image: Image.Image  # RGB, the size of the generation canvas
    kind: str  # canny | depth
    impl: str  # opencv | controlnet_aux


@dataclass(frozen=True)
class InpaintLayout:
    """The scene at generation size: what to keep (the product) and what to paint."""

    size: tuple[int, int]
    init: Image.Image  # RGB: the product on neutral grey
    mask: Image.Image  # L: 255 = paint (everything but the product's opaque core), 0 = keep
    margin: int  # px the mask reaches into the product so edges are repainted, not haloed


def generation_size(output_size: tuple[int, int], base: int) -> tuple[int, int]:
    """A size with the output's aspect ratio and about ``base``x``base`` pixels, multiples of 8.

    SD models are trained on a pixel budget (512x512, 1024x1024) rather than a side length;
    keeping the area keeps the model in its comfort zone for wide and tall outputs alike.
    """
    w, h = output_size
    aspect = w / h
    gw = base * math.sqrt(aspect)
    gh = base / math.sqrt(aspect)
    return max(8, round(gw / 8) * 8), max(8, round(gh / 8) * 8)


def generation_base(config: GenerationConfig) -> int:
    return config.generation_base or FAMILY_BASE[config.diffusion_family]


def inpaint_layout(placed: PlacedProduct, size: tuple[int, int]) -> InpaintLayout:
    """Scale the full-resolution layout down to ``size`` and derive the inpaint mask.

    The mask reaches a few pixels into the product: the model repaints the product's rim
    against its new background, and the paste-back at full resolution lays the product's
    own soft edge over that, so no grey fringe from the init image survives.
    """
    init, alpha = _scaled_layout(placed, size)
    keep = alpha.point(lambda v: 255 if v == 255 else 0)
    margin = max(1, round(min(size) / 170))
    keep = keep.filter(ImageFilter.MinFilter(2 * margin + 1))
    mask = keep.point(lambda v: 255 - v)
    return InpaintLayout(size=size, init=init, mask=mask, margin=margin)


def _scaled_layout(placed: PlacedProduct, size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    """(RGB product on grey, L alpha) at ``size``: the full canvas resized, computed on a crop.

    Compositing and resizing the whole output canvas costs ~0.1 s at 1600 px; only the
    product's neighbourhood differs from flat grey, so that region alone is composited and
    resized. PIL's source ``box`` keeps the sub-pixel mapping of a full-canvas resize; values
    can differ from one by a few levels at edges (Pillow may order its two passes
    differently for a different input size), which does not move anything.
    """
    cw, ch = placed.canvas_size
    gw, gh = size
    sx, sy = gw / cw, gh / ch
    x, y, w, h = placed.box
    # destination rectangle (generation pixels) around the product, plus how far Lanczos
    # spreads it: 3 destination pixels when shrinking, 3 source pixels when enlarging
    ring = math.ceil(3 * max(sx, sy, 1.0)) + 1
    dx0 = max(0, math.floor(x * sx) - ring)
    dy0 = max(0, math.floor(y * sy) - ring)
    dx1 = min(gw, math.ceil((x + w) * sx) + ring)
    dy1 = min(gh, math.ceil((y + h) * sy) + ring)
    init = Image.new("RGB", size, NEUTRAL)
    alpha = Image.new("L", size, 0)
    if dx1 <= dx0 or dy1 <= dy0:
        return init, alpha
    # its source rectangle (output pixels), plus the filter's reach so edge weights match
    src = (dx0 / sx, dy0 / sy, dx1 / sx, dy1 / sy)
    reach = math.ceil(3 / min(sx, sy, 1.0)) + 1  # Lanczos support is 3 destination pixels
    cx0 = max(0, math.floor(src[0]) - reach)
    cy0 = max(0, math.floor(src[1]) - reach)
    cx1 = min(cw, math.ceil(src[2]) + reach)
    cy1 = min(ch, math.ceil(src[3]) + reach)
    crop_size = (cx1 - cx0, cy1 - cy0)
    local = PlacedProduct(layer=placed.layer, box=(x - cx0, y - cy0, w, h), canvas_size=crop_size)
    rgb = paste_back(Image.new("RGB", crop_size, NEUTRAL), local)
    a = Image.new("L", crop_size, 0)
    a.paste(placed.layer.getchannel("A"), (x - cx0, y - cy0))
    local_box = (src[0] - cx0, src[1] - cy0, src[2] - cx0, src[3] - cy0)
    dst = (dx1 - dx0, dy1 - dy0)
    init.paste(rgb.resize(dst, RESAMPLE, box=local_box), (dx0, dy0))
    alpha.paste(a.resize(dst, RESAMPLE, box=local_box), (dx0, dy0))
    return init, alpha


def canny_control(image: Image.Image, low: int = CANNY_LOW, high: int = CANNY_HIGH) -> ControlImage:
    """Canny edges of ``image`` (RGB, same size), via controlnet-aux when it imports.

    controlnet-aux's CannyDetector runs cv2.Canny on the RGB array with these thresholds,
    so the OpenCV path produces the same map; only its resizing differs, which is undone.
    """
    from generation.models import import_controlnet_aux

    rgb = image.convert("RGB")
    aux = import_controlnet_aux()
    if aux is not None:
        side = min(rgb.size)
        edges = aux.CannyDetector()(
            rgb,
            low_threshold=low,
            high_threshold=high,
            detect_resolution=side,
            image_resolution=side,
            output_type="pil",
        )
        # It rounds sizes to multiples of 64; the pipeline needs the canvas size exactly.
        if edges.size != rgb.size:
            edges = edges.resize(rgb.size, Image.Resampling.NEAREST)
        return ControlImage(image=edges.convert("RGB"), kind="canny", impl="controlnet_aux")

    import cv2

    edges = cv2.Canny(np.asarray(rgb), low, high)
    return ControlImage(image=Image.fromarray(edges, "L").convert("RGB"), kind="canny", impl="opencv")


def require_depth(config: GenerationConfig) -> None:
    """Raise ModelUnavailable unless depth conditioning can run (when it is configured)."""
    from generation.models import controlnet_aux_missing_message, import_controlnet_aux

    if not depth_controlnet(config):
        return
    if not config.depth_estimator:
        raise ModelUnavailable(
            "a depth ControlNet is configured but no depth estimator: set "
            "SHOPASSETS_DEPTH_ESTIMATOR (e.g. lllyasviel/Annotators or a local folder), "
            "or unset the depth ControlNet (depth is optional)"
        )
    if import_controlnet_aux() is None:
        raise ModelUnavailable(controlnet_aux_missing_message())


def depth_controlnet(config: GenerationConfig) -> str | None:
    if config.diffusion_family == "sd15":
        return config.sd15_controlnet_depth
    return config.sdxl_controlnet_depth


def depth_control(image: Image.Image, config: GenerationConfig) -> ControlImage:
    """Depth map of ``image`` from the configured controlnet-aux estimator."""
    from generation.models import load_depth_estimator

    require_depth(config)
    assert config.depth_estimator is not None  # checked by require_depth
    detector = load_depth_estimator(config.depth_estimator, config)
    result = detector(image.convert("RGB"))
    # Older controlnet-aux versions return (depth, normals).
    depth = result[0] if isinstance(result, tuple) else result
    if not isinstance(depth, Image.Image):
        depth = Image.fromarray(np.asarray(depth))
    depth = depth.convert("RGB")
    if depth.size != image.size:
        depth = depth.resize(image.size, RESAMPLE)
    return ControlImage(image=depth, kind="depth", impl="controlnet_aux")
