"""Shadows derived from the product silhouette.

The shadow functions return a mode ``L`` canvas-sized shadow density (0 none .. 255
full); ``apply_shadow`` darkens a background with it. ``reflection`` returns an RGBA
canvas layer. All of them go under the product, before ``paste_back``, so they never
touch product pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageFilter

from generation.blur import fast_blur
from generation.types import PlacedProduct

# a foot that sags more than this (a round belly, not a base seen from above) is no flat base
FOOT_RATIO_MAX = 0.3


@dataclass(frozen=True)
class FootEllipse:
    """A flat base seen from above, in the matte's pixels: the lower half of an ellipse
    across columns ``x0``..``x1`` whose lowest point is on row ``bottom`` (the row just
    under the foot), its minor/major ``ratio`` (0: seen level)."""

    x0: int
    x1: int
    bottom: int
    ratio: float

    @property
    def rx(self) -> float:
        return (self.x1 - self.x0) / 2.0

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1 + 1) / 2.0


def foot_ellipse(alpha: np.ndarray) -> FootEllipse | None:
    """The matte's lowest edge fitted with the lower half of an ellipse as wide as the
    foot (the columns whose lowest opaque row is within 15 % of the height of the lowest,
    and within ``FOOT_RATIO_MAX`` of their half-span), or None for a foot that sags more
    than ``FOOT_RATIO_MAX`` (a round belly) or is too small."""
    a = alpha > 127
    rows = np.nonzero(a.any(axis=1))[0]
    if rows.size < 8:
        return None
    height = int(rows[-1] - rows[0] + 1)
    filled = a.any(axis=0)
    # the lowest opaque row of each column (-1 where the column is empty)
    low = np.where(filled, a.shape[0] - 1 - np.argmax(a[::-1], axis=0), -1)
    # the foot's columns: within 15 % of the height of the lowest row, and no further above
    # it than an ellipse as wide as they span sags at its most (FOOT_RATIO_MAX), narrowed
    # until they agree: a tall plant's 15 % took in its tapered pot's sides, and the ellipse
    # fitted to them stood out past the base as dark ears on the floor either side
    band = 0.15 * height
    for _ in range(8):
        foot = np.nonzero(low >= low.max() - band)[0]
        x0, x1 = int(foot[0]), int(foot[-1])
        narrower = FOOT_RATIO_MAX * (x1 - x0) / 2.0 + 1.0
        if narrower >= band:
            break
        band = narrower
    half = (x1 - x0) / 2.0
    if half < 8:
        return None
    # low(x) = centre + ry * sqrt(1 - u^2), u in -1..1 across it; ratio = ry / half
    cols = np.arange(x0, x1 + 1)
    u = (cols - (x0 + x1) / 2.0) / half
    keep = np.abs(u) <= 0.9
    arc = np.sqrt(1.0 - u[keep] ** 2)
    ry, _ = np.polyfit(arc, low[cols[keep]].astype(np.float64), 1)
    ratio = max(float(ry), 0.0) / half
    return FootEllipse(x0, x1, int(rows[-1]) + 1, ratio) if ratio <= FOOT_RATIO_MAX else None


def _silhouette(placed: PlacedProduct) -> Image.Image:
    canvas = Image.new("L", placed.canvas_size, 0)
    x, y, _, _ = placed.box
    canvas.paste(placed.layer.getchannel("A"), (x, y))
    return canvas


def contact_shadow(placed: PlacedProduct, *, strength: float = 0.45, spread: float = 0.06) -> Image.Image:
    """A soft elliptical shadow where the product meets the floor.

    ``spread`` is the blur radius as a fraction of the product width.
    """
    x, y, w, h = placed.box
    canvas = Image.new("L", placed.canvas_size, 0)
    alpha = np.asarray(placed.layer.getchannel("A"))
    cols = np.nonzero(alpha.max(axis=0) > 128)[0]
    if cols.size == 0:
        return canvas
    # The footprint: the product's bottom rows set the ellipse's width.
    bottom_rows = alpha[max(0, int(h * 0.9)) :]
    foot = np.nonzero(bottom_rows.max(axis=0) > 128)[0]
    if foot.size == 0:
        foot = cols
    fx0, fx1 = x + int(foot[0]), x + int(foot[-1])
    fw = max(fx1 - fx0, 4)
    base = y + h
    eh = max(int(fw * 0.08), 3)
    from PIL import ImageDraw

    draw = ImageDraw.Draw(canvas)
    draw.ellipse(
        (fx0 - fw * 0.05, base - eh * 0.6, fx1 + fw * 0.05, base + eh * 0.6),
        fill=int(255 * strength),
    )
    radius = max(1.0, w * spread)
    return canvas.filter(ImageFilter.GaussianBlur(radius))


def apply_shadow(
    background: Image.Image, density: Image.Image, color: tuple[int, int, int] = (0, 0, 0)
) -> Image.Image:
    """Darken ``background`` towards ``color`` by ``density`` (multiply-like blend)."""
    bg = np.asarray(background.convert("RGB"), dtype=np.float32)
    d = np.asarray(density, dtype=np.float32)[..., None] / 255.0
    c = np.array(color, dtype=np.float32)
    out = bg * (1 - d) + c * d
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGB")


def cast_shadow(
    placed: PlacedProduct,
    *,
    direction: tuple[float, float] = (0.45, -0.18),
    strength: float = 0.35,
    blur: float = 0.01,
    blur_growth: float = 0.08,
    fade: float = 0.6,
    base_y: float | None = None,
) -> Image.Image:
    """The shadow the product's silhouette throws on the floor, as an L density.

    The silhouette stands on the floor at ``base_y`` (default: the bottom of its box).
    A point ``t`` px above the base lands at ``(x + dx * t, base + dy * t)`` with
    ``(dx, dy) = direction``: ``dy < 0`` throws the shadow back (up the image, behind
    the product), ``dy > 0`` towards the viewer (mirrored below the base). ``|dy|`` is
    kept at least 0.05 since a flat cut-out has no depth to cast a sideways shadow with.
    The penumbra grows with distance from the base, like a real area light: the blur
    radius is ``(blur + blur_growth * t / h) * h`` px for product height ``h``, and the
    density falls from ``strength`` at the base to ``strength * (1 - fade)`` at the tip.
    """
    cw, ch = placed.canvas_size
    x, y, w, h = placed.box
    base = float(y + h if base_y is None else base_y)
    dx, dy = direction
    dy = float(np.copysign(max(abs(dy), 0.05), dy))
    alpha = np.asarray(placed.layer.getchannel("A"), dtype=np.float32) / 255.0
    if strength <= 0 or not alpha.any():
        return Image.new("L", (cw, ch), 0)

    # 1. where the shadow lands: the projected corners of the box, plus the widest blur
    xs = np.array([x, x + w, x, x + w], dtype=np.float64)
    ys = np.array([y, y, y + h, y + h], dtype=np.float64)
    px, py = xs + dx * (base - ys), base + dy * (base - ys)
    margin = 3.0 * (blur + blur_growth) * h + 2.0
    rx0, ry0 = max(0, int(px.min() - margin)), max(0, int(py.min() - margin))
    rx1, ry1 = min(cw, int(px.max() + margin) + 1), min(ch, int(py.max() + margin) + 1)
    if rx1 <= rx0 or ry1 <= ry0:
        return Image.new("L", (cw, ch), 0)

    # 2. project the silhouette at a working scale (shadows are soft: ~320 px tall is plenty)
    s = min(1.0, 320.0 / h)
    rw, rh = rx1 - rx0, ry1 - ry0
    sw, sh = max(1, round(rw * s)), max(1, round(rh * s))
    sx, sy = sw / rw, sh / rh
    lw, lh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(alpha, (lw, lh), interpolation=cv2.INTER_AREA)
    if abs(dy) < 0.5:
        # the projection squashes rows by |dy|; pre-blur so thin parts do not alias away
        small = cv2.GaussianBlur(small, (1, 0), sigmaX=0.1, sigmaY=0.35 / abs(dy))
    kx, ky = lw / w, lh / h
    # continuous coordinates (pixel i spans [i, i+1)): layer (p, q) -> region (u, v)
    cont = np.array(
        [
            [sx / kx, -sx * dx / ky, sx * (x + dx * (base - y) - rx0)],
            [0.0, -sy * dy / ky, sy * (base + dy * (base - y) - ry0)],
            [0.0, 0.0, 1.0],
        ]
    )
    to_cont = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], dtype=np.float64)
    to_index = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], dtype=np.float64)
    m = (to_index @ cont @ to_cont)[:2]
    warped = cv2.warpAffine(
        small, m, (sw, sh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )

    # 3. penumbra growing with distance: a small blur stack, interpolated per row
    rows = ry0 + (np.arange(sh, dtype=np.float64) + 0.5) / sy
    tn = np.clip((rows - base) / dy / h, 0.0, 1.0)
    levels = np.linspace(0.0, 1.0, 4)
    stack = np.stack([fast_blur(warped, (blur + blur_growth * t) * h * s) for t in levels])
    pos = tn * (len(levels) - 1)
    k0 = np.minimum(pos.astype(int), len(levels) - 2)
    frac = (pos - k0).astype(np.float32)[:, None]
    idx = np.arange(sh)
    soft = stack[k0, idx] * (1 - frac) + stack[k0 + 1, idx] * frac
    soft *= (strength * (1.0 - fade * tn)).astype(np.float32)[:, None]

    # rounded only where the shadow was drawn: everywhere else 0 stays 0
    density = cv2.resize(soft, (rw, rh), interpolation=cv2.INTER_LINEAR)
    out8 = np.zeros((ch, cw), dtype=np.uint8)
    out8[ry0:ry1, rx0:rx1] = np.clip(density * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(out8, "L")


def reflection(
    placed: PlacedProduct,
    *,
    strength: float = 0.2,
    length: float = 0.35,
    blur: float = 0.004,
    base_y: float | None = None,
) -> Image.Image:
    """The product mirrored below its base, as on a glossy floor: an RGBA canvas layer.

    Opacity starts at ``strength`` at the base and fades out over ``length`` of the
    product height; the blur (fraction of the product height) grows with distance.
    Composite it over the background before ``paste_back``.
    """
    cw, ch = placed.canvas_size
    x, y, w, h = placed.box
    base = int(round(y + h if base_y is None else base_y))
    out = np.zeros((ch, cw, 4), dtype=np.uint8)
    n = min(h, int(np.ceil(length * h)), ch - base)
    if strength <= 0 or n <= 0:
        return Image.fromarray(out, "RGBA")

    layer = np.asarray(placed.layer.convert("RGBA"), dtype=np.float32)[::-1][:n]
    fall = np.clip(1.0 - (np.arange(n, dtype=np.float32) + 0.5) / (length * h), 0.0, 1.0) ** 2
    a = layer[..., 3] / 255.0 * strength * fall[:, None]
    sigma_far = blur * h
    m = int(np.ceil(3 * sigma_far)) + 1
    # premultiplied so the blur does not drag dark transparent pixels into the edges
    prem = np.zeros((n + m, w + 2 * m, 4), dtype=np.float32)
    prem[:n, m : m + w, :3] = layer[..., :3] * a[..., None]
    prem[:n, m : m + w, 3] = a
    near, far = fast_blur(prem, sigma_far * 0.25), fast_blur(prem, sigma_far)
    t = np.clip(np.arange(n + m, dtype=np.float32) / max(length * h, 1.0), 0, 1)[:, None, None]
    prem = near * (1 - t) + far * t
    alpha = prem[..., 3]
    rgb = prem[..., :3] / np.maximum(alpha, 1e-6)[..., None]
    rgba = np.dstack([np.clip(rgb, 0, 255), np.clip(alpha * 255.0, 0, 255)])

    # place with the mirror line at the base, clipped to the canvas
    X0, Y0 = x - m, base
    cx0, cy0 = max(X0, 0), max(Y0, 0)
    cx1, cy1 = min(X0 + w + 2 * m, cw), min(Y0 + n + m, ch)
    if cx1 > cx0 and cy1 > cy0:
        out[cy0:cy1, cx0:cx1] = (rgba[cy0 - Y0 : cy1 - Y0, cx0 - X0 : cx1 - X0] + 0.5).astype(np.uint8)
    return Image.fromarray(out, "RGBA")


def grounding_shadow(
    placed: PlacedProduct,
    *,
    strength: float = 0.55,
    spread: float = 0.05,
    side: float = 0.0,
    base_y: float | None = None,
) -> Image.Image:
    """Contact shadow and ambient occlusion from the silhouette's foot, as an L density.

    The bottom band of the matte (the rows within ``0.12 * h`` of the lowest product row,
    so a handle or an overhang higher up does not count) is laid onto the floor twice:
    squashed towards the viewer and back, the way the floor under the foot is seen from
    a camera above it. A tight, dark core (``strength`` at the contour, a sharp edge)
    holds the product down; a wider, fainter occlusion (about ``spread`` of the product
    height) softens away from it. ``side`` is where the key light comes from (+1 left,
    -1 right, 0 overhead): the shadow leans away from it. The foot stands at ``base_y``
    (default: the bottom of the box).
    """
    cw, ch = placed.canvas_size
    x, y, w, h = placed.box
    alpha = np.asarray(placed.layer.getchannel("A"))
    rows = np.nonzero((alpha > 127).any(axis=1))[0]
    if strength <= 0 or rows.size == 0:
        return Image.new("L", (cw, ch), 0)
    bottom = int(rows[-1]) + 1  # layer row just under the foot
    band = max(3, int(round(0.12 * h)))
    top = max(0, bottom - band)
    # the band fades in from its top, so the shadow comes from what really touches the floor
    weight = np.linspace(0.0, 1.0, bottom - top, dtype=np.float32)[:, None] ** 1.5
    foot = (alpha[top:bottom].astype(np.float32) * weight + 0.5).astype(np.uint8)
    layer = Image.new("RGBA", (w, bottom - top), (0, 0, 0, 0))
    layer.putalpha(Image.fromarray(foot, "L"))
    band_placed = PlacedProduct(layer=layer, box=(x, y + top, w, bottom - top), canvas_size=(cw, ch))
    base = float(y + bottom if base_y is None else base_y)
    lean = float(np.clip(side, -1.0, 1.0))  # away from the light: light from the left, lean right
    hb = bottom - top
    reach = max(2.0 * spread * h / hb, 0.6)  # the occlusion's blur, in band heights

    parts: list[tuple[np.ndarray | Image.Image, float]] = []  # (density, weight), canvas-sized
    for dy, dx, k, blur, growth, fade in (
        # core: tight at the contour, squashed hard, in front of and behind the foot
        (0.25, 0.25 * lean, 1.0, 0.03, 0.3, 0.8),
        (-0.25, 0.25 * lean, 1.0, 0.03, 0.3, 0.8),
        # occlusion: wider and fainter, leaning further away from the light
        (0.4, 0.6 * lean, 0.55, 0.2 * reach, 0.8 * reach, 0.5),
        (-0.6, 0.9 * lean, 0.55, 0.2 * reach, 0.8 * reach, 0.5),
    ):
        d = cast_shadow(
            band_placed,
            direction=(dx, dy),
            strength=1.0,
            blur=blur,
            blur_growth=growth,
            fade=fade,
            base_y=base,
        )
        parts.append((d, k))
    flat = foot_ellipse(alpha)
    if flat is not None:
        # a flat base stands on the floor all round its rim, not only at its lowest row:
        # the floor is darkest along the rim and occluded round the whole footprint (the
        # projected band above only reaches the lowest rows: a wide jar's sides floated)
        parts.append((_footprint(flat, (x, base - flat.bottom), (cw, ch), h, spread, lean), 1.0))
    # Outside every part's ink the density stays exactly 0 through every step below, so
    # the parts are combined only inside the union of their boxes: the same values there
    # as over the whole canvas, at the cost of the shadow's area instead of the canvas's.
    boxes = [b for b in (_nonzero_box(part) for part, _ in parts) if b is not None]
    out = np.zeros((ch, cw), dtype=np.uint8)
    if not boxes:
        return Image.fromarray(out, "L")
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    total: np.ndarray = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
    for part, k in parts:
        if isinstance(part, Image.Image):
            part = np.asarray(part.crop((x0, y0, x1, y1)), dtype=np.float32) / 255.0 * k
        else:
            part = part[y0:y1, x0:x1]
        total = 1.0 - (1.0 - total) * (1.0 - part)
    # the core is the darkest thing on the floor: at the contour it reaches 1.5x strength
    density = np.clip(total * strength * 1.5, 0.0, 0.95)
    out[y0:y1, x0:x1] = (density * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(out, "L")


def _nonzero_box(part: np.ndarray | Image.Image) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the non-zero values of an L image or a 2-D array; None if none."""
    if isinstance(part, Image.Image):
        return part.getbbox()
    rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


# a flat base's contact: the rim's dark core (blur, share of the foot's width) and the
# occlusion round the footprint (its weight; blur as the band's, in product heights)
FOOT_CORE_BLUR = 0.006
FOOT_OCCLUSION = 0.55


def _footprint(
    foot: FootEllipse,
    origin: tuple[float, float],
    canvas: tuple[int, int],
    height: int,
    spread: float,
    lean: float,
) -> np.ndarray:
    """(H, W) float32 0..1: the base's ellipse on the floor (layer pixels at ``origin`` on
    the canvas), as a tight core along its rim and a wider occlusion leaning away from
    the light (``lean``: +1 light from the left)."""
    cw, ch = canvas
    out = np.zeros((ch, cw), dtype=np.float32)
    rx = foot.rx + 0.5
    ry = max(foot.ratio * rx, 1.0)
    cx, cy = origin[0] + foot.cx, origin[1] + foot.bottom - ry
    core_sigma = max(0.8, FOOT_CORE_BLUR * 2.0 * rx)
    occ_sigma = max(1.0, spread * max(float(height), 2.0 * rx))
    pad = 3.0 * occ_sigma + abs(lean) * occ_sigma + 2.0
    x0, y0 = max(0, int(cx - rx - pad)), max(0, int(cy - ry - pad))
    x1, y1 = min(cw, int(cx + rx + pad) + 1), min(ch, int(cy + ry + pad) + 1)
    if x1 <= x0 or y1 <= y0:
        return out
    shape = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    k = 16  # cv2 draws at 1/16 px with shift 4
    cv2.ellipse(
        shape,
        (round((cx - x0 - 0.5) * k), round((cy - y0 - 0.5) * k)),
        (round(rx * k), round(ry * k)),
        0.0,
        0.0,
        360.0,
        255,
        -1,
        cv2.LINE_AA,
        4,
    )
    disc = shape.astype(np.float32) / 255.0
    core = cv2.GaussianBlur(disc, (0, 0), core_sigma)
    # the occlusion leans away from the light, as the projected band's does
    m = np.array([[1.0, 0.0, 0.5 * lean * occ_sigma], [0.0, 1.0, 0.0]], dtype=np.float32)
    occ = cv2.GaussianBlur(cv2.warpAffine(disc, m, (disc.shape[1], disc.shape[0])), (0, 0), occ_sigma)
    both = 1.0 - (1.0 - core) * (1.0 - FOOT_OCCLUSION * occ)
    out[y0:y1, x0:x1] = both
    return out
