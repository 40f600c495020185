"""What the diffusion pipeline is conditioned on: canvas, init image, mask, control images.

The scene layout is decided once, at full output resolution: the product stands where
the theme stands it (the studio engine's own placement), on the theme's set. Everything
here is that layout mapped onto the model's canvas, a training bucket of its family
(so sizes repeat and compiled kernels are reused), with the output's frame centred in it;
the band outside the frame is painted too and cropped away.

Control images describe that intended set, not the product alone over flat grey: the
canny map holds the product's outline and the set's structural lines (table edge,
podium, arch), the depth estimator sees the product standing in the set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from generation.compose import RESAMPLE, paste_back, place_product
from generation.config import GenerationConfig
from generation.errors import ModelUnavailable
from generation.sets import Theme, render_flat_set, render_set, stage_at_box
from generation.types import Box, PlacedProduct

# controlnet-aux's CannyDetector defaults; the canny ControlNets were trained on these.
CANNY_LOW = 100
CANNY_HIGH = 200
# The set preview is smooth (drawn, then blurred): its structural lines are low-contrast
# steps, found with lower thresholds; the blur keeps grain and fine texture out.
SET_CANNY_LOW = 8
SET_CANNY_HIGH = 24
SET_BLUR = 1.8  # px at preview size
SET_MIN_LINE = 0.04  # shortest structural line kept, fraction of the preview's long side

# Background of the product-only layout (the inpaint model's masked-out value, mid grey).
NEUTRAL = (128, 128, 128)

# Training buckets (width, height) at the family's native pixel budget, multiples of 64 so
# latents divide through every UNet level. SDXL: the aspect buckets of its training;
# SD 1.5: the same ratios around 512x512.
BUCKETS: dict[str, tuple[tuple[int, int], ...]] = {
    "sd15": (
        (512, 512),
        (576, 448),
        (448, 576),
        (640, 384),
        (384, 640),
        (704, 384),
        (384, 704),
        (768, 320),
        (320, 768),
    ),
    "sdxl": (
        (1024, 1024),
        (1152, 896),
        (896, 1152),
        (1216, 832),
        (832, 1216),
        (1344, 768),
        (768, 1344),
        (1536, 640),
        (640, 1536),
    ),
}
FAMILY_BASE = {"sd15": 512, "sdxl": 1024}


@dataclass(frozen=True)
class ControlImage:
    image: Image.Image  # RGB, the size of the generation canvas
    kind: str  # canny | depth
    impl: str  # opencv | controlnet_aux


@dataclass(frozen=True)
class GenerationCanvas:
    """The model's canvas: one of the family's buckets, and the output's frame on it."""

    size: tuple[int, int]  # (width, height)
    window: Box  # (x, y, w, h): the output canvas scaled into it, centred


@dataclass(frozen=True)
class InpaintLayout:
    """The scene on the generation canvas: what to keep (the product) and what to paint."""

    canvas: GenerationCanvas
    product: Image.Image  # RGB: the product on neutral grey (what canny outlines)
    alpha: Image.Image  # L: the product's matte at this size
    init: Image.Image  # RGB: the product standing in the set preview (or on grey)
    mask: Image.Image  # L: 255 = paint (everything but the product's opaque core), 0 = keep
    margin: int  # px the mask reaches into the product so edges are repainted, not haloed

    @property
    def size(self) -> tuple[int, int]:
        return self.canvas.size


@dataclass(frozen=True)
class SetPreview:
    """The theme's set drawn by the studio engine under the placed product, canvas size."""

    set_only: Image.Image  # RGB, without the product
    structure: np.ndarray  # bool (h, w): the set's structural edges


def generation_canvas(output_size: tuple[int, int], family: str, base: int | None = None) -> GenerationCanvas:
    """The bucket nearest the output's aspect ratio, and where the output's frame lies on it.

    ``base`` scales the buckets to another pixel budget (side of the square of the same
    area; multiples of 8 after scaling); tests use small ones. The frame keeps the output's
    aspect and fills the bucket on one axis; the other axis has a band painted and cropped.
    """
    native = FAMILY_BASE[family]
    k = (base or native) / native
    w, h = output_size
    aspect = w / h
    bw, bh = min(BUCKETS[family], key=lambda b: abs(math.log(b[0] / b[1] / aspect)))
    if k != 1:
        bw, bh = max(8, round(bw * k / 8) * 8), max(8, round(bh * k / 8) * 8)
    s = min(bw / w, bh / h)
    ww, wh = min(bw, max(1, round(w * s))), min(bh, max(1, round(h * s)))
    window = ((bw - ww) // 2, (bh - wh) // 2, ww, wh)
    return GenerationCanvas(size=(bw, bh), window=window)


def generation_base(config: GenerationConfig) -> int:
    return config.generation_base or FAMILY_BASE[config.diffusion_family]


def to_canvas(box: Box, canvas: GenerationCanvas, output_size: tuple[int, int]) -> tuple[float, ...]:
    """An output-pixel box in canvas pixels (floats)."""
    wx, wy, ww, wh = canvas.window
    sx, sy = ww / output_size[0], wh / output_size[1]
    x, y, w, h = box
    return (wx + x * sx, wy + y * sy, w * sx, h * sy)


def inpaint_layout(
    placed: PlacedProduct, canvas: GenerationCanvas, background: Image.Image | None = None
) -> InpaintLayout:
    """The full-resolution layout scaled into the canvas's window, and the inpaint mask.

    ``background`` (canvas size, e.g. ``set_preview``) is what the init image shows around
    the product; without one it is neutral grey. The mask reaches a few pixels into the
    product: the model repaints the product's rim against its new background, and the
    paste-back at full resolution lays the product's own soft edge over that, so no fringe
    from the init image survives. Everything outside the window is painted.
    """
    wx, wy, ww, wh = canvas.window
    rgb, a = _scaled_layout(placed, (ww, wh))
    product = Image.new("RGB", canvas.size, NEUTRAL)
    product.paste(rgb, (wx, wy))
    alpha = Image.new("L", canvas.size, 0)
    alpha.paste(a, (wx, wy))
    init = product if background is None else Image.composite(product, background.convert("RGB"), alpha)
    margin = max(1, round(min(canvas.size) / 170))
    # OpenCV's erosion: PIL's MinFilter takes over a second at SDXL size
    keep = cv2.erode((np.asarray(alpha) == 255).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8))
    mask = Image.fromarray(((1 - keep) * 255).astype(np.uint8), "L")
    return InpaintLayout(canvas=canvas, product=product, alpha=alpha, init=init, mask=mask, margin=margin)


def set_preview(
    theme: Theme,
    placed: PlacedProduct,
    canvas: GenerationCanvas,
    *,
    brand_color: tuple[int, int, int] | None = None,
    seed: int = 0,
    flat: bool = False,
) -> SetPreview:
    """The theme's set built under the product as placed on the canvas (studio engine);
    ``flat``: the theme's surface seen from above with the product lying on it, as the
    studio engine sets a flat-lay (no wall, no horizon: no line for the model to stand
    the product on).

    Drawn at about half the canvas size (the set is smooth; this keeps it cheap), with the
    set solved for the product's box on the whole canvas, so the band outside the output's
    frame continues the same floor and wall. ``structure`` holds the set's lines (horizon
    or table edge, podium, arch) found on a blurred copy, away from the product.
    """
    cw, ch = canvas.size
    p = max(256, max(cw, ch) // 2) / max(cw, ch)
    small = (max(8, round(cw * p)), max(8, round(ch * p)))
    x, y, w, h = to_canvas(placed.box, canvas, placed.canvas_size)
    box = (round(x * p), round(y * p), max(1, round(w * p)), max(1, round(h * p)))
    product = place_product(placed.layer, small, box)
    if flat:
        drawn = render_flat_set(theme, product, brand_color=brand_color, seed=seed)
    else:
        stage = stage_at_box(theme, box, small, seed=seed)
        drawn = render_set(theme, product, stage=stage, brand_color=brand_color, seed=seed)
    set_small = np.clip(drawn + 0.5, 0, 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(set_small, (0, 0), SET_BLUR)
    lines = cv2.Canny(blurred, SET_CANNY_LOW, SET_CANNY_HIGH)
    # nothing of the set behind the product: the product's own outline is drawn separately
    near: np.ndarray = np.zeros(lines.shape, np.uint8)
    near[box[1] : box[1] + box[3], box[0] : box[0] + box[2]] = np.asarray(product.layer.getchannel("A")) > 0
    near = cv2.dilate(near, np.ones((5, 5), np.uint8))
    lines[near > 0] = 0
    # drop specks (grain, concrete pores): structure is long lines
    n, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    short = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < SET_MIN_LINE * max(small))
    lines[np.isin(labels, short[short > 0])] = 0
    structure = cv2.resize(lines, canvas.size, interpolation=cv2.INTER_NEAREST) > 0
    set_only = Image.fromarray(set_small, "RGB").resize(canvas.size, Image.Resampling.BILINEAR)
    return SetPreview(set_only=set_only, structure=structure)


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


def canny_control(layout: InpaintLayout, preview: SetPreview | None = None) -> ControlImage:
    """Canny edges of the product (on grey, at canvas size) plus the set's structure lines.

    The product's edges use the thresholds the canny ControlNets were trained on, via
    controlnet-aux's CannyDetector when it imports (OpenCV otherwise: the same map). The
    set's lines tell the model where the floor meets the wall and where a podium stands, so
    the background is painted as a set rather than pushed towards a flat, edge-less field.
    """
    edges, impl = canny_edges(layout.product)
    if preview is not None:
        edges = edges | preview.structure
    rgb = np.repeat((edges.astype(np.uint8) * 255)[..., None], 3, axis=2)
    return ControlImage(image=Image.fromarray(rgb, "RGB"), kind="canny", impl=impl)


def canny_edges(image: Image.Image, low: int = CANNY_LOW, high: int = CANNY_HIGH) -> tuple[np.ndarray, str]:
    """(bool edge map, implementation) of ``image`` at its own size."""
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
        return np.asarray(edges.convert("L")) > 0, "controlnet_aux"
    return cv2.Canny(np.asarray(rgb), low, high) > 0, "opencv"


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


def depth_control(layout: InpaintLayout, config: GenerationConfig) -> ControlImage:
    """Depth map of the product standing in its set (``layout.init``), from the configured
    controlnet-aux estimator: a product over flat grey has no floor or wall to measure."""
    from generation.models import load_depth_estimator

    require_depth(config)
    assert config.depth_estimator is not None  # checked by require_depth
    detector = load_depth_estimator(config.depth_estimator, config)
    image = layout.init
    result = detector(image.convert("RGB"))
    # Older controlnet-aux versions return (depth, normals).
    depth = result[0] if isinstance(result, tuple) else result
    if not isinstance(depth, Image.Image):
        depth = Image.fromarray(np.asarray(depth))
    depth = depth.convert("RGB")
    if depth.size != image.size:
        depth = depth.resize(image.size, RESAMPLE)
    return ControlImage(image=depth, kind="depth", impl="controlnet_aux")
