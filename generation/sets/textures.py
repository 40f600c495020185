"""Procedural textures for the studio sets: noise, floor and podium materials, wall light.

All of it is seeded by the ``rng`` passed in and draws nothing else, so the same
generator state gives the same pixels. Colours are float32 RGB in 0..255.

- ``value_noise``, ``fbm``, ``screen_noise``: smooth value noise, fractal noise at
  texture coordinates, and cheap noise over a pixel grid.
- ``material``: marble (veins, drifts, a golden tint), wood (planks, rings, fibres,
  seams), concrete (blotches, pits, specks) or plain paper at texture coordinates.
- ``bokeh`` and ``window_light``: out-of-focus light discs and sunlight through a paned
  window, for the wall (and the window's patch on the floor).
- ``smoothstep`` and ``set_blur``: the blend and the blur every part of the set uses.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from generation.blur import fast_blur
from generation.sets.themes import Bokeh, WindowLight

F32 = np.float32


# ---------------------------------------------------------------------------
# Noise: value noise on a random lattice, sampled at arbitrary (u, v) with a cubic remap.


def value_noise(
    rng: np.random.Generator, u: np.ndarray, v: np.ndarray, cell_u: float, cell_v: float
) -> np.ndarray:
    """Smooth value noise in 0..1 at texture coordinates (u, v); cells in the same units."""
    u0, v0 = float(u.min()), float(v.min())
    nu = int((float(u.max()) - u0) / cell_u) + 5
    nv = int((float(v.max()) - v0) / cell_v) + 5
    lattice = rng.random((nv, nu), dtype=F32)
    mx = ((u - u0) * (1.0 / cell_u) + 1.0).astype(F32)
    my = ((v - v0) * (1.0 / cell_v) + 1.0).astype(F32)
    return cv2.remap(lattice, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def fbm(
    rng: np.random.Generator,
    u: np.ndarray,
    v: np.ndarray,
    cell: float,
    octaves: int,
    aspect: float = 1.0,
) -> np.ndarray:
    """Fractal noise, roughly 0..1 with mean 0.5; ``aspect`` stretches cells along u."""
    finest = cell / 2 ** (octaves - 1)
    if finest >= 12.0 and min(u.shape) >= 64:
        # smooth fields: sample every other pixel and scale up (4x fewer lookups)
        half = fbm(rng, u[::2, ::2], v[::2, ::2], cell, octaves, aspect)
        return cv2.resize(half, (u.shape[1], u.shape[0]), interpolation=cv2.INTER_LINEAR)
    total = np.zeros(u.shape, dtype=F32)
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        total += amp * value_noise(rng, u, v, cell * aspect, cell)
        norm += amp
        amp *= 0.5
        cell /= 2.0
    return total / norm


def screen_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Value noise in 0..1 over a pixel grid (cheap: a small lattice resized)."""
    h, w = shape
    lattice = rng.random((max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)), dtype=F32)
    big = cv2.resize(
        lattice, (int(lattice.shape[1] * cell), int(lattice.shape[0] * cell)), interpolation=cv2.INTER_CUBIC
    )
    return big[:h, :w]


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def channels(a: np.ndarray) -> np.ndarray:
    """``a`` (H x W) repeated over three channels: a contiguous H x W x 3 array of its dtype.

    ``img * channels(a)`` gives what ``img * a[..., None]`` gives, value for value, several
    times faster: broadcasting ``a[..., None]`` makes numpy's inner loop run over the three
    channels of one pixel at a time, this runs it along whole rows."""
    return cv2.merge([np.ascontiguousarray(a)] * 3)


def times(plane: np.ndarray, color: np.ndarray) -> np.ndarray:
    """``plane[..., None] * color`` (H x W times three channels), channel by channel: the
    same float values, several times faster (see ``channels``)."""
    return cv2.merge([plane * color[c] for c in range(3)])


def tinted(plane: np.ndarray, colors: list[np.ndarray], mixes: list[np.ndarray]) -> np.ndarray:
    """``colors[0] * plane[..., None]`` mixed towards each further colour by its mix in
    turn (``col + (colors[k] - col) * mixes[k - 1][..., None]``), channel by channel: the
    same float values as the broadcast expressions, several times faster (see ``channels``)."""
    out = []
    for c in range(3):
        col = colors[0][c] * plane
        for color, mix in zip(colors[1:], mixes, strict=True):
            col = col + (color[c] - col) * mix
        out.append(col)
    return cv2.merge(out)


def set_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """The set's blur: exact up to 5 px, beyond on a smaller copy (the result is smooth anyway)."""
    return fast_blur(img, sigma, exact_up_to=5.0, coarse_sigma=2.5)


# ---------------------------------------------------------------------------
# Materials: colour at texture coordinates (u, v) in "material units" (1000 units is
# about the canvas's shorter side at the product's depth). ``fp`` is the footprint of
# a pixel in units (per row on a floor), used to soften details too fine to draw.


def material(
    kind: str,
    u: np.ndarray,
    v: np.ndarray,
    palette: list[np.ndarray],
    rng: np.random.Generator,
    fp: np.ndarray | float,
) -> np.ndarray:
    if kind == "marble":
        return _marble(u, v, palette, rng, fp)
    if kind == "wood":
        return _wood(u, v, palette, rng, fp)
    if kind == "concrete":
        return _concrete(u, v, palette, rng, fp)
    # plain: a whisper of mottling so the surface does not look digital
    tone = 1.0 + 0.025 * (fbm(rng, u, v, 400.0, 3) - 0.5)
    return tinted(tone, [palette[0]], [])


def _veins(t: np.ndarray, width: float, fp: np.ndarray | float, scale: float) -> np.ndarray:
    """Thin lines where sin(pi t) crosses zero; ``width`` in units of |sin|.

    A vein narrower than about a pixel is widened and dimmed instead of aliasing.
    """
    return _veins_at(np.abs(np.sin(np.pi * t)), width, fp, scale)


def _veins_at(s: np.ndarray, width: float, fp: np.ndarray | float, scale: float) -> np.ndarray:
    """``_veins`` given s = |sin(pi t)|."""
    px_width = width * scale  # vein width in material units
    widen = np.maximum(1.0, 1.2 * np.asarray(fp) / px_width)
    return np.exp(-((s / (width * widen)) ** 2)) / widen


def _marble(
    u: np.ndarray, v: np.ndarray, palette: list[np.ndarray], rng: np.random.Generator, fp: np.ndarray | float
) -> np.ndarray:
    base, vein_c, accent = palette[0], palette[1], palette[2]
    angle = math.radians(rng.uniform(20.0, 40.0) * rng.choice([-1, 1]))
    ca, sa = math.cos(angle), math.sin(angle)
    along = u * ca + v * sa
    warp = fbm(rng, u, v, 700.0, 4)
    warp2 = fbm(rng, u, v, 160.0, 3)
    # broad grey drifts running with the veins: the cloudy body of Carrara marble
    t0 = along / 900.0 + 1.1 * warp + 0.3 * warp2
    drift = np.exp(-((np.abs(np.sin(np.pi * t0)) / 0.4) ** 2))
    drift *= np.clip(1.6 * fbm(rng, u, v, 140.0, 4) - 0.35, 0.0, 1.0)
    # main veins: long, gently meandering, fading in and out along their length
    t1 = along / 520.0 + 1.6 * warp + 0.12 * warp2
    s1 = np.abs(np.sin(np.pi * t1))  # the main veins and their halo alike
    main = _veins_at(s1, 0.03, fp, 520.0 / math.pi)
    halo = np.exp(-((s1 / 0.16) ** 2))
    strength = smoothstep(0.3, 0.65, fbm(rng, u, v, 420.0, 2))
    # secondary veins: finer, a little off the main direction, only in some patches
    b = angle + math.radians(rng.uniform(15.0, 35.0) * rng.choice([-1, 1]))
    t2 = (u * math.cos(b) + v * math.sin(b)) / 230.0 + 2.0 * warp + 0.5 * warp2
    fine = _veins(t2, 0.035, fp, 230.0 / math.pi)
    patch = smoothstep(0.45, 0.65, fbm(rng, u, v, 500.0, 2))
    amount = 0.2 * drift + strength * (0.5 * main + 0.14 * halo) + 0.28 * fine * patch
    amount = np.clip(amount, 0.0, 1.0)
    speck = value_noise(rng, u, v, 9.0, 9.0)
    detail = np.clip(9.0 / (2.0 * np.asarray(fp) + 1e-6), 0.0, 1.0)
    # veins over the base, and a warm, golden tint inside some of them (Calacatta)
    golden = 0.45 * main * strength * (1.0 - patch)
    return tinted(1.0 + 0.012 * (speck - 0.5) * detail, [base, vein_c, accent], [amount, golden])


def _wood(
    u: np.ndarray, v: np.ndarray, palette: list[np.ndarray], rng: np.random.Generator, fp: np.ndarray | float
) -> np.ndarray:
    light, mid, dark = palette[0], palette[1], palette[2]
    fp = np.asarray(fp)
    plank = 165.0
    pv = v / plank + rng.uniform(0, 1)
    idx = np.floor(pv).astype(np.int64)
    i0 = int(idx.min())
    n = int(idx.max()) - i0 + 1
    k = idx - i0
    # per board: tone, where its log was cut (grain offset), ring spacing, cathedral arcs
    tones = rng.uniform(-0.08, 0.08, n).astype(F32)
    shifts = rng.uniform(0, 5000, n).astype(F32)
    spacing = rng.uniform(14.0, 26.0, n).astype(F32)
    arc_u = rng.uniform(-700, 700, n).astype(F32)
    arc_len = rng.uniform(180, 450, n).astype(F32)
    arc_amp = rng.uniform(1.5, 6.0, n).astype(F32)
    uu = u + shifts[k]
    warp = fbm(rng, uu, v, 160.0, 3, aspect=5.0)
    arcs = arc_amp[k] * np.exp(-(((u - arc_u[k]) / arc_len[k]) ** 2))
    g = v / spacing[k] + 5.0 * warp + arcs
    # latewood: thin darker lines between wide pale bands, stronger in some stretches
    s = np.abs(np.sin(np.pi * g))
    fade = np.clip(spacing[k] / (3.0 * fp + 1e-6), 0.0, 1.0)
    contrast = np.clip(fbm(rng, uu, v, 220.0, 2, aspect=4.0) * 1.6 - 0.3, 0.15, 1.0)
    late = np.exp(-((s / 0.4) ** 2)) * fade * contrast
    figure = fbm(rng, uu, v, 120.0, 3, aspect=7.0)
    fibres = value_noise(rng, uu, v, 50.0, 2.6)
    fibre_amp = np.clip(2.6 / (2.0 * fp + 1e-6), 0.0, 1.0)
    value = 0.6 + 0.55 * (figure - 0.5) + 0.22 * (fibres - 0.5) * fibre_amp - 0.3 * late
    value = np.clip(value, 0.0, 1.0)
    # seams between boards: a thin dark groove
    frac = pv - np.floor(pv)
    edge = np.minimum(frac, 1.0 - frac) * plank
    groove = np.exp(-((edge / np.maximum(1.0, 0.8 * fp)) ** 2)) * 0.4
    dark_side, board, seam = value < 0.5, 1.0 + tones[k], 1.0 - groove
    planes = []
    for c in range(3):  # channel by channel (see ``channels``)
        col = np.where(
            dark_side,
            dark[c] + (mid - dark)[c] * (value / 0.5),
            mid[c] + (light - mid)[c] * ((value - 0.5) / 0.5),
        )
        col *= board
        planes.append(col * seam)
    return cv2.merge(planes)


def _concrete(
    u: np.ndarray, v: np.ndarray, palette: list[np.ndarray], rng: np.random.Generator, fp: np.ndarray | float
) -> np.ndarray:
    base, dark = palette[0], palette[1]
    fp = np.asarray(fp)
    blotch = fbm(rng, u, v, 420.0, 5)
    cloud = fbm(rng, u, v, 60.0, 3)
    fine = value_noise(rng, u, v, 4.0, 4.0)
    detail = np.clip(4.0 / (2.0 * fp + 1e-6), 0.0, 1.0)
    # air holes: a few small dark pits; pale aggregate specks
    holes = smoothstep(0.86, 0.95, value_noise(rng, u, v, 2.5, 2.5)) * detail
    specks = (1.0 - smoothstep(0.06, 0.14, value_noise(rng, u, v, 3.0, 3.0))) * detail
    mix = np.clip(0.5 + 1.4 * (blotch - 0.5) + 0.25 * (cloud - 0.5), 0.0, 1.0)
    tone = 1.0 + 0.05 * (fine - 0.5) * detail - 0.09 * holes + 0.04 * specks
    # channel by channel (see ``channels``)
    return cv2.merge([(base[c] + (dark - base)[c] * mix) * tone for c in range(3)])


# ---------------------------------------------------------------------------
# Light on the wall: bokeh discs and window light


def bokeh(
    wall: np.ndarray,
    bk: Bokeh,
    colors: list[np.ndarray],
    rng: np.random.Generator,
    size: tuple[int, int],
) -> np.ndarray:
    """Out-of-focus light discs screen-blended over ``wall`` (``size`` = (w, h)), in three
    depth layers; ``colors`` are the resolved ``bk.colors``, picked at random per disc."""
    w, h = size
    short = min(w, h)
    layers = [np.zeros((h, w, 3), dtype=F32) for _ in range(3)]
    lo, hi = bk.size
    for _ in range(bk.count):
        bigness = rng.uniform(0.0, 1.0)
        r = math.exp(math.log(lo) + bigness * (math.log(hi) - math.log(lo))) * short
        cx = rng.uniform(-0.05, 1.05) * w
        cy = rng.uniform(*bk.region) * h
        color = colors[int(rng.integers(len(colors)))]
        # near, big discs spread their light thinner than far, small ones
        opacity = rng.uniform(*bk.opacity) * (1.2 - 0.6 * bigness)
        depth = int(rng.integers(3))
        x0, x1 = max(0, int(cx - r - 2)), min(w, int(cx + r + 3))
        y0, y1 = max(0, int(cy - r - 2)), min(h, int(cy + r + 3))
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32)
        rho = np.sqrt((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2) / r
        disc = np.clip((1.0 - rho) * r / 1.2 + 0.5, 0.0, 1.0)
        # real lens bokeh: a flat disc with a slightly brighter rim
        profile = (0.75 + 0.25 * np.clip(rho, 0, 1) ** 6) * disc * opacity
        layers[depth][y0:y1, x0:x1] += profile[..., None] * color[None, None, :]
    light = np.zeros((h, w, 3), dtype=F32)
    for depth, layer in enumerate(layers):
        sigma = bk.blur * short * depth / 2.0 + 0.6
        light += cv2.GaussianBlur(layer, (0, 0), sigma)
    light = np.clip(light, 0, 255)
    return 255.0 - (255.0 - wall) * (1.0 - light / 255.0)


def window_light(
    win: WindowLight, size: tuple[int, int], horizon: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Soft patches of sunlight from a paned window: (on the wall, on the floor), 0..strength.

    ``size`` is (w, h), ``horizon`` the floor line as a fraction of h; ``rng`` only
    draws the foliage dapples (``win.leaves > 0``).
    """
    w, h = size
    short = min(w, h)
    cols, rows = win.panes

    def panes(x0: float, y0: float, pw: float, ph: float, skew: float) -> np.ndarray:
        mask = np.zeros((h, w), dtype=F32)
        gap_x, gap_y = 0.07 * pw / cols, 0.07 * ph / rows
        cell_w, cell_h = pw / cols, ph / rows
        for c in range(cols):
            for r in range(rows):
                ax, bx = x0 + c * cell_w + gap_x / 2, x0 + (c + 1) * cell_w - gap_x / 2
                ay, by = y0 + r * cell_h + gap_y / 2, y0 + (r + 1) * cell_h - gap_y / 2
                quad = [
                    (ax + skew * (ay - y0), ay),
                    (bx + skew * (ay - y0), ay),
                    (bx + skew * (by - y0), by),
                    (ax + skew * (by - y0), by),
                ]
                # fillPoly with 4 fractional bits: sub-pixel corners, anti-aliased edges
                pts = np.array([[round(x * 16), round(y * 16)] for x, y in quad], dtype=np.int32)
                cv2.fillPoly(mask, [pts], 1.0, lineType=cv2.LINE_AA, shift=4)
        return mask

    hy = horizon * h
    on_wall = panes(win.x * w, win.y * h, win.width * w, win.height * h, win.skew)
    # the same window thrown across the table top, squashed by the perspective
    on_floor = panes(
        (win.x + 0.1) * w,
        hy + 0.06 * (h - hy),
        win.width * w * 0.8,
        (h - hy) * 0.55,
        -1.1 * abs(win.skew) - 0.4,
    )
    blur = max(0.5, win.softness * short)
    on_wall = np.asarray(cv2.GaussianBlur(on_wall, (0, 0), blur), dtype=F32)
    on_floor = np.asarray(cv2.GaussianBlur(on_floor, (0, 0), blur * 1.5), dtype=F32)
    if win.leaves > 0:
        # foliage outside the window breaks the light into soft dapples
        leaf = screen_noise(rng, (h, w), max(4.0, short / 22)) * 0.6
        leaf += screen_noise(rng, (h, w), max(2.0, short / 60)) * 0.4
        shade = smoothstep(0.5, 0.66, leaf)
        shade = cv2.GaussianBlur(shade, (0, 0), max(0.5, 0.008 * short))
        on_wall *= 1.0 - win.leaves * shade
        on_floor *= 1.0 - 0.6 * win.leaves * shade
    return on_wall * win.strength, on_floor * win.strength * 0.5
