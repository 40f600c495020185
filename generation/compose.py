"""Placing the product on a canvas and pasting its own pixels back.

The guarantee lives here: wherever the placed product's alpha is 255, the output
pixel is the placed product's pixel, bit for bit. Engines may paint anything they
like; ``paste_back`` is always the last thing that touches product pixels
(``light_wrap``, after it, changes soft edge pixels only).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from generation.check import measure_fidelity  # re-exported: callers import it from here
from generation.errors import InvalidSpec
from generation.types import Box, PlacedProduct

__all__ = ["RESAMPLE", "fit_box", "light_wrap", "measure_fidelity", "paste_back", "place_product"]

RESAMPLE = Image.Resampling.LANCZOS


def fit_box(
    product_size: tuple[int, int],
    canvas_size: tuple[int, int],
    *,
    fill: float,
    anchor: tuple[float, float] = (0.5, 0.5),
    region: Box | None = None,
) -> Box:
    """Box for a product scaled so its longer side is ``fill`` of the region's matching side.

    ``anchor`` is where the product's centre sits inside ``region`` (0..1 each axis);
    the box is clamped so the product stays inside the canvas.
    """
    if not 0 < fill <= 1:
        raise InvalidSpec(f"fill must be in (0, 1], got {fill}")
    pw, ph = product_size
    if pw <= 0 or ph <= 0:
        raise InvalidSpec("the product has no pixels")
    rx, ry, rw, rh = region if region else (0, 0, *canvas_size)
    scale = min(rw * fill / pw, rh * fill / ph)
    w = max(1, round(pw * scale))
    h = max(1, round(ph * scale))
    x = round(rx + anchor[0] * rw - w / 2)
    y = round(ry + anchor[1] * rh - h / 2)
    cw, ch = canvas_size
    x = min(max(x, 0), max(cw - w, 0))
    y = min(max(y, 0), max(ch - h, 0))
    return (x, y, w, h)


def place_product(cutout: Image.Image, canvas_size: tuple[int, int], box: Box) -> PlacedProduct:
    """Resize the RGBA cutout once to the box size. This resize is the reference for fidelity."""
    if cutout.mode != "RGBA":
        raise InvalidSpec("the cutout must be RGBA")
    x, y, w, h = box
    layer = cutout if cutout.size == (w, h) else cutout.resize((w, h), RESAMPLE)
    return PlacedProduct(layer=layer, box=(x, y, w, h), canvas_size=canvas_size)


def paste_back(background: Image.Image, placed: PlacedProduct, *, in_place: bool = False) -> Image.Image:
    """Composite the product over ``background`` (RGB, canvas size) with its matte.

    Fully opaque product pixels are copied, not blended, so they come out unchanged.
    Soft edge pixels are blended in 8-bit arithmetic with rounding. Returns a copy, or
    with ``in_place`` (an RGB ``background`` its caller owns) ``background`` itself.
    """
    if background.size != placed.canvas_size:
        raise InvalidSpec(f"background is {background.size}, expected canvas {placed.canvas_size}")
    if background.mode != "RGB":
        out = background.convert("RGB")
    else:
        out = background if in_place else background.copy()
    cw, ch = placed.canvas_size
    x, y, w, h = placed.box
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, cw), min(y + h, ch)  # the visible part
    if x1 <= x0 or y1 <= y0:
        return out
    # Pillow's paste through the layer's own alpha: round((fg * a + bg * (255 - a)) / 255)
    # per channel, which is (fg * a + bg * (255 - a) + 127) // 255 for every fg, bg and a
    # (255 is odd: no value lies half-way), so an opaque pixel is fg and a clear one bg
    layer = placed.layer if placed.layer.mode == "RGBA" else placed.layer.convert("RGBA")
    part = layer.crop((x0 - x, y0 - y, x1 - x, y1 - y))
    out.paste(part, (x0, y0), part)
    return out


def light_wrap(
    image: Image.Image,
    background: Image.Image,
    placed: PlacedProduct,
    amount: float,
    *,
    in_place: bool = False,
) -> Image.Image:
    """Let a little of the set's light bleed into the product's soft edge pixels.

    ``image`` is the pasted-back result and ``background`` the set without the product
    (both RGB, canvas size); an edge pixel moves towards the blurred set by ``amount``
    (0..1) times its transparency. Only pixels whose placed alpha is strictly between
    0 and 255 change: fully opaque product pixels (the fidelity guarantee) and pure
    background stay as they are. Returns a copy, or ``image`` itself if nothing is soft
    or with ``in_place`` (an ``image`` its caller owns, changed where it is).
    """
    x, y, w, h = placed.box
    cw, ch = placed.canvas_size
    x0, y0, x1, y1 = max(0, x), max(0, y), min(cw, x + w), min(ch, y + h)
    if x1 <= x0 or y1 <= y0:
        return image
    alpha = np.asarray(placed.layer.getchannel("A"))[y0 - y : y1 - y, x0 - x : x1 - x]
    soft = (alpha > 0) & (alpha < 255)
    if not soft.any():
        return image
    pad = max(2, int(0.01 * max(w, h)))
    # blur a padded window of the set so the edge picks up light from just outside it
    px0, py0, px1, py1 = max(0, x0 - pad), max(0, y0 - pad), min(cw, x1 + pad), min(ch, y1 + pad)
    around = np.asarray(background.crop((px0, py0, px1, py1)), dtype=np.float32)
    glow = cv2.GaussianBlur(around, (0, 0), max(1.0, pad / 2))
    glow = glow[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0]
    # only soft pixels move: elsewhere k is 0 and the rounded mix is the pixel itself
    region = np.array(image.crop((x0, y0, x1, y1)), dtype=np.uint8)
    k = (amount * (1.0 - alpha[soft] / 255.0)).astype(np.float32)[:, None]
    here = region[soft].astype(np.float32)
    mixed = here + (glow[soft] - here) * k
    region[soft] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    out = image if in_place else image.copy()
    out.paste(Image.fromarray(region, "RGB"), (x0, y0))
    return out
