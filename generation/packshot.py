"""Marketplace packshots: render one, and check any image against the rules.

The rules marketplaces publish for a main image: pure white (255, 255, 255)
background, square, at least 1600 px, the product filling about 85% of the frame
and centred. ``render_packshot`` makes such an image from a segmentation;
``check_packshot`` measures any image (a merchant's existing photo too).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
from PIL import Image

from generation.check import matte_evidence, product_extent
from generation.compose import fit_box, measure_fidelity, paste_back, place_product
from generation.shadows import apply_shadow, contact_shadow
from generation.specs import PackshotSpec
from generation.types import Box, PlacedProduct, RenderedImage, Segmentation

WHITE = (255, 255, 255)

# The contact shadow is deliberately faint: darkest around 225, neutral grey, so the
# packshot reads as white and ``check_packshot`` still sees it as background.
SHADOW_STRENGTH = 0.2
SHADOW_SPREAD = 0.035
# Shadow density fades to zero this close to the canvas edge (fractions of the side),
# so the border stays exactly 255 whatever the product's shape.
SHADOW_FADE = (0.01, 0.04)


def render_packshot(seg: Segmentation, spec: PackshotSpec) -> RenderedImage:
    """A square white packshot with the product's own pixels pasted back."""
    # 1. place the product: longer side = spec.fill of the canvas, centred
    size = (spec.size, spec.size)
    cutout = seg.cutout
    box = fit_box(cutout.size, size, fill=spec.fill)
    placed = place_product(cutout, size, box)

    # 2. white background, with a faint contact shadow under the product
    background = Image.new("RGB", size, WHITE)
    if spec.shadow:
        background = apply_shadow(background, _packshot_shadow(placed))

    # 3. the product's own pixels go on last, then are checked
    image = paste_back(background, placed)
    fidelity = measure_fidelity(image, placed)

    return RenderedImage(
        image=image,
        kind="packshot",
        name="packshot",
        product_box=placed.box,
        fidelity=fidelity,
        meta={
            **seg.matte_meta(),
            "engine": "packshot",
            "fill": spec.fill,
            "shadow": spec.shadow,
        },
    )


def _packshot_shadow(placed: PlacedProduct) -> Image.Image:
    density = np.asarray(
        contact_shadow(placed, strength=SHADOW_STRENGTH, spread=SHADOW_SPREAD), dtype=np.float32
    )
    h, w = density.shape
    ys = np.arange(h, dtype=np.float32)
    xs = np.arange(w, dtype=np.float32)
    to_edge = np.minimum(np.minimum(ys, h - 1 - ys)[:, None], np.minimum(xs, w - 1 - xs)[None, :])
    inner, outer = SHADOW_FADE[0] * min(w, h), SHADOW_FADE[1] * min(w, h)
    fade = np.clip((to_edge - inner) / max(outer - inner, 1.0), 0.0, 1.0)
    # floor, not round: a density that rounds up to 1 would turn a border pixel 254
    return Image.fromarray(np.floor(density * fade).astype(np.uint8), "L")


@dataclass
class PackshotCheck:
    """How an image measures against marketplace packshot rules."""

    ok: bool
    problems: list[str]
    width: int
    height: int
    square: bool
    background_white: bool
    border_white_share: float  # share of the 2-px border that is white
    fill: float  # product's longer side / canvas side (0 when no product is found)
    centred: bool
    product_box: Box | None = None
    offset: tuple[float, float] = (0.0, 0.0)  # product centre - canvas centre, in sides
    transparent: bool = False
    limits: dict[str, Any] = field(default_factory=dict)
    matte: dict[str, Any] = field(default_factory=dict)  # MatteEvidence.to_dict() of the product found

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fill"] = round(self.fill, 4)
        data["border_white_share"] = round(self.border_white_share, 4)
        data["offset"] = [round(v, 4) for v in self.offset]
        if self.product_box is not None:
            x, y, w, h = self.product_box
            data["product_box"] = {"x": x, "y": y, "width": w, "height": h}
        return data


def check_packshot(
    image: Image.Image,
    *,
    min_size: int = 1600,
    fill_range: tuple[float, float] = (0.80, 0.90),
    tolerance: int = 2,
    border: int = 2,
    min_border_white: float = 0.99,
    centre_tolerance: float = 0.03,
) -> PackshotCheck:
    """Measure ``image`` against packshot rules.

    A pixel is white when every channel is within ``tolerance`` of 255. The product is
    found by its outline as well as its colour (``generation.check.product_extent``), so
    a white product on white is measured whole and a soft shadow is left out; rows and
    columns with fewer than 3 product pixels are ignored as specks. The product's matte
    evidence (``generation.check.matte_evidence``) fails a packshot whose "product"
    kept a slab of floor or runs off the canvas's edge.
    """
    # 1. an opaque RGB view; transparency is itself a problem for marketplaces
    transparent = False
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        # a single band's extrema are (min, max)
        lowest_alpha, _ = cast(tuple[int, int], rgba.getchannel("A").getextrema())
        transparent = lowest_alpha < 255
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, (0, 0), rgba)
    else:
        flat = image.convert("RGB")
    arr = np.asarray(flat, dtype=np.int16)
    height, width = arr.shape[:2]
    white = arr.min(axis=2) >= 255 - tolerance

    # 2. size, shape, background
    square = width == height
    edge = np.ones_like(white)
    b = max(1, min(border, width // 2, height // 2))
    edge[b:-b, b:-b] = False
    border_white_share = float(white[edge].mean())
    background_white = border_white_share >= min_border_white

    # 3. the product, by outline and colour, and how far its matte can be trusted
    product, product_box = product_extent(flat, white_tolerance=tolerance)
    evidence = matte_evidence(flat, np.where(product, 255, 0).astype(np.uint8)) if product_box else None
    fill = 0.0
    centred = False
    offset = (0.0, 0.0)
    if product_box is not None:
        x0, y0, pw, ph = product_box
        x1, y1 = x0 + pw, y0 + ph
        fill = max(pw / width, ph / height)
        offset = ((x0 + x1) / 2 / width - 0.5, (y0 + y1) / 2 / height - 0.5)
        centred = abs(offset[0]) <= centre_tolerance and abs(offset[1]) <= centre_tolerance

    # 4. problems, in words a merchant can act on
    problems: list[str] = []
    if min(width, height) < min_size:
        problems.append(
            f"The image is {width} x {height} px; marketplaces want at least {min_size} px on each side."
        )
    if not square:
        problems.append(f"The image is not square ({width} x {height} px); use a 1:1 canvas.")
    if transparent:
        problems.append("The image has transparent pixels; marketplaces need an opaque white background.")
    if not background_white:
        problems.append(
            f"The background is not pure white: only {border_white_share:.1%} of the border "
            "pixels are white (255, 255, 255)."
        )
    lo, hi = fill_range
    if product_box is None:
        problems.append("No product found: the image is blank white.")
    else:
        if not lo <= fill <= hi:
            problems.append(f"The product fills {fill:.0%} of the image; aim for {lo:.0%} to {hi:.0%}.")
        if not centred:
            problems.append(f"The product is not centred: {_off_centre_words(offset)}.")
        if evidence is not None and min(evidence.cues["slab"], evidence.cues["reflection"]) < 0.5:
            problems.append(
                "The product stands on a slab of floor or tabletop that was cut out with it; "
                "fix the cutout (a box and keep/remove strokes, or a mask) and make the packshot again."
            )

    return PackshotCheck(
        ok=not problems,
        problems=problems,
        width=width,
        height=height,
        square=square,
        background_white=background_white,
        border_white_share=border_white_share,
        fill=fill,
        centred=centred,
        product_box=product_box,
        offset=offset,
        transparent=transparent,
        limits={
            "min_size": min_size,
            "fill_range": list(fill_range),
            "tolerance": tolerance,
            "min_border_white": min_border_white,
            "centre_tolerance": centre_tolerance,
        },
        matte=evidence.to_dict() if evidence is not None else {},
    )


def _off_centre_words(offset: tuple[float, float]) -> str:
    dx, dy = offset
    parts = []
    if dx:
        parts.append(f"{abs(dx):.0%} of the width {'right' if dx > 0 else 'left'} of")
    if dy:
        parts.append(f"{abs(dy):.0%} of the height {'below' if dy > 0 else 'above'}")
    return "its centre is " + " and ".join(parts) + " the canvas centre"
