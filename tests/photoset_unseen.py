"""Photo kinds the segmentation was never tuned on, beside ``tests/photoset.py``.

The same camera (lens blur, signal-dependent noise, JPEG 4:2:0) and exact soft mattes
as the main set, 2-3 MP, but sets and products the main set lacks: clear glass, a shoe
on planks in a room corner, saturated coloured paper with its colour cast on the
product, black gloss on black gloss, grey on grey, a product cut by two frame edges, a
top-down flat-lay on linen, thin parts (a cable, stems and leaves), a lamp whose arm is
slender but solid, and a white box on white whose lit front is the sweep's white. They are kept
apart so the main set's numbers stay comparable; ``bench/bench_unseen.py`` measures
them, and ``python -m tests.photoset_unseen OUT_DIR`` writes each photo and its matte.

For see-through glass the truth is the whole silhouette: a cutout of a bottle keeps
the bottle, with the set seen through it.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from tests.photoset import (
    Case,
    _blob,
    _box,
    _box_faces,
    _camera,
    _coverage,
    _grid,
    _over,
    _print_text,
    _reflection,
    _scaled,
    _shade,
    _smooth_noise,
    _stage,
    _sweep,
    write_cases,
)

Photo = tuple[Image.Image, np.ndarray]


def _glass_bottle_on_sweep(rng: np.random.Generator) -> Photo:
    w, h = 1600, 2000
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (234, 236, 238), (248, 248, 247), bend=0.6)
    cx, by, bw = 800.0, 1500.0, 380.0
    shoulder, neck_top = by - 640, by - 960

    def bottle(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(_box(cx - bw / 2, shoulder, cx + bw / 2, by, s), radius=40 * s, fill=255)
        d.polygon(
            _scaled(
                [
                    (cx - bw / 2, shoulder + 30),
                    (cx - 60, shoulder - 170),
                    (cx + 60, shoulder - 170),
                    (cx + bw / 2, shoulder + 30),
                ],
                s,
            ),
            fill=255,
        )
        d.rectangle(_box(cx - 58, neck_top, cx + 58, shoulder - 150, s), fill=255)

    def cap(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(_box(cx - 66, neck_top - 110, cx + 66, neck_top + 20, s), radius=8 * s, fill=255)

    glass_c, cap_c = _coverage((w, h), bottle), _coverage((w, h), cap)
    cover = np.maximum(glass_c, cap_c)
    # the set seen through the glass: squeezed towards the middle, a little darker and
    # greener; near the silhouette the glass bends the room's dark in (dark rims)
    inner = cv2.distanceTransform((glass_c > 0.5).astype(np.uint8), cv2.DIST_L2, 5)
    squeeze_x = (cx + (xs - cx) * 0.55).astype(np.float32)
    seen = cv2.remap(scene, squeeze_x, ys, cv2.INTER_LINEAR)
    tint = np.array([0.9, 0.95, 0.92], np.float32)
    rim = np.exp(-inner / 9.0) * 0.55 + np.exp(-(((inner - 26) / 6) ** 2)) * 0.1
    glass = seen * tint * (1 - rim)[..., None]
    # highlights: a window reflected as two vertical streaks, and a thick dark base
    u = (xs - cx) / (bw / 2)
    streaks = np.exp(-(((u + 0.55) / 0.06) ** 2)) * 0.9 + np.exp(-(((u - 0.62) / 0.03) ** 2)) * 0.5
    glass = glass + (streaks * (ys > shoulder - 100) * 60)[..., None]
    base = np.clip((ys - (by - 40)) / 40, 0, 1) * (glass_c > 0)
    glass = glass * (1 - 0.45 * base)[..., None]
    label = _coverage(
        (w, h),
        lambda d, s: d.rectangle(_box(cx - bw / 2, shoulder + 170, cx + bw / 2, shoulder + 420, s), fill=255),
    )
    paper = (
        np.array([250, 248, 240], np.float32)
        * (0.82 + 0.18 * np.cos(np.clip(u, -1, 1) * 1.3 + 0.3))[..., None]
    )
    product = _over(glass, paper, label)
    product = _print_text(product, "GIN  No.7", (cx - 120, shoulder + 230), 60, (30, 60, 50))
    product = _print_text(product, "small batch  70 cl", (cx - 110, shoulder + 330), 26, (90, 90, 80))
    metal = (
        np.array([176, 178, 182], np.float32) * (0.7 + 0.45 * np.cos((xs - cx + 20) / 66 * 1.4))[..., None]
    )
    product = _over(product, metal, cap_c)
    shadow = _blob(h, w, (cx + 150, by - 10), (bw * 0.75, 30), 26)
    contact = _blob(h, w, (cx, by - 4), (bw * 0.5, 8), 6)
    scene = _shade(scene, 1 - 0.22 * shadow - 0.4 * contact)
    scene = _over(scene, np.clip(product, 0, 255), cover)
    return _camera(scene, cover, rng, light=(0.3, 0.2), falloff=0.12)


def _sneaker_on_wood_corner(rng: np.random.Generator) -> Photo:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    # an off-white room corner at the right, oak planks running towards the camera
    corner_x, floor_y = 1500.0, 720.0
    wall_l = np.array([228, 224, 216], np.float32) * (1 - 0.05 * ys / h)[..., None]
    wall_r = np.array([196, 192, 186], np.float32) * (1 - 0.05 * ys / h)[..., None]
    wall = np.where((xs < corner_x)[..., None], wall_l, wall_r)
    vx = 1000.0  # planks converge on a point above the photo
    spread = (xs - vx) / np.maximum(ys - floor_y + 400, 1)
    plank = spread * 6.0
    seam = np.exp(-(((plank - np.round(plank)) * 120) ** 2))
    tone = 1 + 0.06 * np.sin(np.floor(plank) * 2.3)
    grain = (
        1
        + 0.035 * np.sin(spread * 900 + 2.5 * _smooth_noise(rng, h, w, 80))
        + 0.02 * _smooth_noise(rng, h, w, 12)
    )
    wood = np.array([176, 128, 86], np.float32) * (tone * grain * (1 - 0.45 * seam))[..., None]
    wood = wood * (0.9 + 0.12 * np.clip((ys - floor_y) / (h - floor_y), 0, 1))[..., None]
    scene = _over(wall, wood, np.clip(ys - floor_y + 0.5, 0, 1))
    skirting = (np.abs(ys - floor_y + 16) < 16).astype(np.float32)
    scene = _over(scene, np.array([240, 238, 232], np.float32), skirting)
    # a sneaker in side view: a white sole, a navy knit upper, white laces
    x0, x1, sole_y = 560.0, 1420.0, 1140.0
    sole = [
        (x0 + 30, sole_y),
        (x1 - 60, sole_y),
        (x1, sole_y - 40),
        (x1 - 10, sole_y - 70),
        (x0, sole_y - 70),
        (x0 - 10, sole_y - 30),
    ]
    upper = [
        (x0 + 10, sole_y - 70),
        (x0 - 5, sole_y - 200),
        (x0 + 40, sole_y - 320),
        (x0 + 110, sole_y - 330),
        (x0 + 180, sole_y - 260),
        (x0 + 300, sole_y - 250),
        (x0 + 520, sole_y - 190),
        (x1 - 120, sole_y - 150),
        (x1 - 10, sole_y - 90),
        (x1 - 10, sole_y - 70),
    ]
    tab = [
        (x0 + 20, sole_y - 300),
        (x0 + 30, sole_y - 370),
        (x0 + 90, sole_y - 360),
        (x0 + 100, sole_y - 320),
    ]
    parts = {
        n: _coverage((w, h), lambda d, s, p=p: d.polygon(_scaled(p, s), fill=255))
        for n, p in [("sole", sole), ("upper", upper), ("tab", tab)]
    }
    cover = np.clip(sum(parts.values()), 0, 1)
    knit = 1 + 0.06 * np.sin(xs * 0.9) * np.sin(ys * 0.8) + 0.05 * _smooth_noise(rng, h, w, 20)
    shade_up = 0.8 + 0.35 * np.clip((sole_y - ys) / 330, 0, 1)
    product = np.array([38, 48, 82], np.float32) * (knit * shade_up)[..., None]
    product = _over(product, np.array([200, 60, 50], np.float32), parts["tab"])
    rubber = (
        np.array([236, 234, 228], np.float32) * (1 - 0.12 * np.clip((ys - sole_y + 70) / 70, 0, 1))[..., None]
    )
    product = _over(product, rubber, parts["sole"])

    def laces(d: ImageDraw.ImageDraw, s: float) -> None:
        for k in range(6):
            lx = x0 + 220 + 45 * k
            ly = sole_y - 250 + 12 * k
            d.line(_scaled([(lx, ly), (lx + 60, ly + 28)], s), fill=255, width=int(9 * s))

    product = _over(product, np.array([244, 244, 240], np.float32), _coverage((w, h), laces))
    stripe = _coverage(
        (w, h),
        lambda d, s: d.polygon(
            _scaled(
                [
                    (x0 + 380, sole_y - 90),
                    (x0 + 560, sole_y - 200),
                    (x0 + 600, sole_y - 190),
                    (x0 + 440, sole_y - 90),
                ],
                s,
            ),
            fill=255,
        ),
    )
    product = _over(product, np.array([230, 230, 226], np.float32), stripe * parts["upper"])
    shadow = _blob(h, w, ((x0 + x1) / 2 + 80, sole_y - 10), ((x1 - x0) * 0.55, 34), 24)
    contact = _blob(h, w, ((x0 + x1) / 2, sole_y - 3), ((x1 - x0) * 0.5, 7), 5)
    scene = _shade(scene, 1 - 0.35 * shadow - 0.45 * contact)
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.2, 0.15), falloff=0.2)


def _bottle_on_coloured_paper(rng: np.random.Generator) -> Photo:
    w, h = 1600, 2000
    ys, xs = _grid(h, w)
    paper = np.array([226, 88, 58], np.float32)
    scene = _sweep(h, w, tuple(paper * 0.92), tuple(paper * 1.04), bend=0.6)
    scene = scene * (1 + 0.015 * _smooth_noise(rng, h, w, 60))[..., None]
    # a white pump bottle: the paper's colour bounces onto its sides and base
    cx, by, bw = 800.0, 1520.0, 360.0
    top = by - 760

    def body(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(_box(cx - bw / 2, top, cx + bw / 2, by, s), radius=70 * s, fill=255)

    def pump(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rectangle(_box(cx - 50, top - 70, cx + 50, top + 10, s), fill=255)
        d.rectangle(_box(cx - 22, top - 230, cx + 22, top - 60, s), fill=255)
        d.rounded_rectangle(_box(cx - 60, top - 290, cx + 70, top - 220, s), radius=10 * s, fill=255)
        d.rectangle(_box(cx + 60, top - 280, cx + 190, top - 254, s), fill=255)  # the nozzle

    body_c, pump_c = _coverage((w, h), body), _coverage((w, h), pump)
    cover = np.maximum(body_c, pump_c)
    u = np.clip((xs - cx) / (bw / 2), -1.4, 1.4)
    lambert = 0.78 + 0.22 * np.cos(u * 1.2 + 0.35)
    white = np.array([246, 244, 240], np.float32) * lambert[..., None]
    cast = np.clip(np.abs(u) ** 2 * 0.45 + 0.4 * np.clip((ys - by + 200) / 200, 0, 1), 0, 0.6)
    product = white * (1 - cast[..., None]) + paper * 1.05 * cast[..., None]
    product = _print_text(product, "SOFT HAND", (cx - 120, top + 300), 54, (60, 60, 60))
    product = _print_text(product, "wash  300 ml", (cx - 80, top + 380), 28, (110, 100, 96))
    pump_rgb = np.array([238, 236, 232], np.float32) * (0.75 + 0.3 * np.cos((xs - cx) / 60))[..., None]
    product = _over(product, pump_rgb, pump_c)
    shadow = _blob(h, w, (cx + 170, by - 20), (bw * 0.8, 40), 30)
    contact = _blob(h, w, (cx, by - 4), (bw * 0.5, 8), 6)
    scene = _shade(scene, 1 - 0.3 * shadow - 0.45 * contact)
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.35, 0.2), falloff=0.14)


def _black_on_glossy_black(rng: np.random.Generator) -> Photo:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    table_y = 900.0
    wall = (
        np.array([26, 26, 28], np.float32)
        * (1.3 - 0.5 * np.hypot((xs - w / 2) / w, (ys - 400) / h))[..., None]
    )
    floor = (
        np.array([14, 14, 16], np.float32)
        * (1 + 0.3 * np.clip((ys - table_y) / (h - table_y), 0, 1))[..., None]
    )
    scene = _over(wall, floor, np.clip(ys - table_y + 0.5, 0, 1))
    # a black glossy speaker with a thin bright edge light and a grille
    cx, by, sw, sh = 1024.0, 1130.0, 760.0, 520.0
    cover = _coverage(
        (w, h),
        lambda d, s: d.rounded_rectangle(
            _box(cx - sw / 2, by - sh, cx + sw / 2, by, s), radius=90 * s, fill=255
        ),
    )
    inner = cv2.distanceTransform((cover > 0.5).astype(np.uint8), cv2.DIST_L2, 5)
    body = (
        np.array([18, 18, 20], np.float32)
        + (np.exp(-inner / 6.0) * 70 * np.clip((by - ys) / sh, 0, 1) ** 1.5)[..., None]
    )
    body = (
        body
        + (np.exp(-(((ys - (by - sh + 60)) / 30) ** 2)) * 35 * (np.abs(xs - cx) < sw / 2 - 80))[..., None]
    )
    grille = _coverage(
        (w, h), lambda d, s: d.ellipse(_box(cx - 170, by - 400, cx + 170, by - 60, s), fill=255)
    )
    holes = 0.5 + 0.5 * np.sin(xs * 0.8) * np.sin(ys * 0.8)
    product = _over(body, np.array([30, 30, 33], np.float32) * (0.7 + 0.5 * holes)[..., None], grille)
    product = _print_text(product, "bass one", (cx - 60, by - sh + 30), 30, (150, 150, 156))
    scene = _shade(scene, 1 - 0.6 * _blob(h, w, (cx, by - 3), (sw * 0.5, 8), 6))
    scene = _reflection(scene, product, cover, int(by), strength=0.7, length=360)
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.5, 0.3), falloff=0.1)


def _grey_on_grey(rng: np.random.Generator) -> Photo:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    # a mid-grey backdrop lit from the left, falling off to the right
    scene = np.array([168, 168, 166], np.float32) * (1.12 - 0.28 * xs / w - 0.04 * ys / h)[..., None]
    # a grey concrete planter, a shade off the backdrop, lit from the left too
    cx, by, pw, ph = 1000.0, 1180.0, 560.0, 520.0
    shape = [(cx - pw / 2, by - ph), (cx + pw / 2, by - ph), (cx + pw * 0.4, by), (cx - pw * 0.4, by)]
    cover = _coverage((w, h), lambda d, s: d.polygon(_scaled(shape, s), fill=255))
    u = np.clip((xs - cx) / (pw / 2), -1, 1)
    concrete = np.array([158, 157, 154], np.float32) * (0.9 + 0.2 * np.cos(u * 1.2 + 0.5))[..., None]
    concrete = (
        concrete * (1 + 0.025 * _smooth_noise(rng, h, w, 6) + 0.02 * _smooth_noise(rng, h, w, 40))[..., None]
    )
    lip = _coverage(
        (w, h), lambda d, s: d.rectangle(_box(cx - pw / 2, by - ph, cx + pw / 2, by - ph + 26, s), fill=255)
    )
    product = _over(concrete, concrete * 1.06, lip)
    scene = _stage(scene, product, cover, [(_blob(h, w, (cx + 60, by - 8), (pw * 0.55, 18), 14), 0.25)])
    return _camera(scene, cover, rng, light=(0.2, 0.3), falloff=0.12)


def _close_crop_two_edges(rng: np.random.Generator) -> Photo:
    w, h = 1536, 2048
    ys, xs = _grid(h, w)
    scene = np.array([236, 232, 226], np.float32) * (1.03 - 0.07 * ys / h)[..., None]
    # a tilted cosmetics box, close up: it runs out of the frame at the bottom and right
    corners = [(620, 980), (1560, 760), (1700, 2200), (760, 2300)]
    cover = _coverage((w, h), lambda d, s: d.polygon(_scaled(corners, s), fill=255))
    teal = np.array([30, 120, 120], np.float32) * (0.9 + 0.12 * np.clip((ys - 800) / 1200, 0, 1))[..., None]
    band = _coverage(
        (w, h),
        lambda d, s: d.polygon(_scaled([(660, 1300), (1620, 1080), (1640, 1260), (680, 1480)], s), fill=255),
    )
    product = _over(teal, np.array([240, 232, 210], np.float32), band * cover)
    product = _print_text(product, "SERUM", (860, 1250), 90, (30, 80, 80))
    product = _print_text(product, "hyaluronic  30 ml", (860, 1600), 40, (220, 236, 232))
    scene = _stage(scene, product, cover, [(_blob(h, w, (700, 1700), (100, 500), 50), 0.18)])
    return _camera(scene, cover, rng, light=(0.3, 0.2), falloff=0.1)


def _flatlay_tshirt_linen(rng: np.random.Generator) -> Photo:
    w, h = 1800, 1600
    ys, xs = _grid(h, w)
    weave = 0.025 * np.sin(xs * 1.6) * np.sin(ys * 1.45) + 0.02 * _smooth_noise(rng, h, w, 5)
    slubs = 0.03 * _smooth_noise(rng, h, w, 3) * (np.abs(_smooth_noise(rng, h, w, 30)) > 1.2)
    linen = (
        np.array([222, 214, 200], np.float32)
        * (1 + weave + slubs + 0.03 * _smooth_noise(rng, h, w, 300))[..., None]
    )
    # a folded sage T-shirt from above: the body, folded sleeves, the collar
    cx, cy, sw, sh = 900.0, 820.0, 760.0, 880.0

    def shirt(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(
            _box(cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2, s), radius=24 * s, fill=255
        )
        d.polygon(
            _scaled(
                [
                    (cx - sw / 2 - 40, cy - sh / 2 + 60),
                    (cx - sw / 2, cy - sh / 2),
                    (cx - sw / 2 + 20, cy - sh / 2 + 260),
                    (cx - sw / 2 - 30, cy - sh / 2 + 230),
                ],
                s,
            ),
            fill=255,
        )
        d.polygon(
            _scaled(
                [
                    (cx + sw / 2 + 40, cy - sh / 2 + 60),
                    (cx + sw / 2, cy - sh / 2),
                    (cx + sw / 2 - 20, cy - sh / 2 + 260),
                    (cx + sw / 2 + 30, cy - sh / 2 + 230),
                ],
                s,
            ),
            fill=255,
        )

    cover = _coverage((w, h), shirt)
    knit = (
        1
        + 0.03 * _smooth_noise(rng, h, w, 2)
        + 0.05 * np.sin((xs - cx) / 90 + 0.3 * _smooth_noise(rng, h, w, 100))
    )
    sage = np.array([132, 150, 120], np.float32) * knit[..., None]
    fold = np.exp(-(((ys - (cy + 120)) / 18) ** 2)) * 0.12
    sage = sage * (1 - fold)[..., None]
    collar = _coverage(
        (w, h),
        lambda d, s: d.ellipse(_box(cx - 120, cy - sh / 2 - 20, cx + 120, cy - sh / 2 + 110, s), fill=255),
    )
    collar_in = _coverage(
        (w, h), lambda d, s: d.ellipse(_box(cx - 96, cy - sh / 2 - 4, cx + 96, cy - sh / 2 + 86, s), fill=255)
    )
    product = _over(sage, sage * 0.86, collar - collar_in * 0.0)
    product = _over(product, sage * 0.7, collar_in)
    cover = np.maximum(cover, collar)
    # from above, a soft shadow around the shirt towards the lower right
    sh_blob = cv2.GaussianBlur(cv2.resize(cover, (w // 4, h // 4)), (0, 0), 6)
    sh_blob = cv2.resize(np.roll(np.roll(sh_blob, 4, 0), 4, 1), (w, h))
    scene = _shade(linen, 1 - 0.25 * sh_blob)
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.2, 0.2), falloff=0.15)


def _earphones_thin_cable(rng: np.random.Generator) -> Photo:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (232, 232, 233), (242, 242, 241), bend=0.5)
    # black wired earphones: two buds, a Y-split and a thin cable looping to a jack
    left, right, split, jack = (780.0, 520.0), (1220.0, 560.0), (1010.0, 900.0), (1300.0, 1200.0)

    def curve(p0: tuple, p1: tuple, bend: tuple, n: int = 60) -> list[tuple[float, float]]:
        return [
            (
                (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * bend[0] + t * t * p1[0],
                (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * bend[1] + t * t * p1[1],
            )
            for t in np.linspace(0, 1, n)
        ]

    def cable(d: ImageDraw.ImageDraw, s: float) -> None:
        for pts in (
            curve((left[0], left[1] + 60), split, (820, 800)),
            curve((right[0], right[1] + 60), split, (1200, 820)),
            curve(split, (jack[0], jack[1] - 80), (760, 1250)),
        ):
            d.line(_scaled(pts, s), fill=255, width=int(7 * s), joint="curve")

    def buds(d: ImageDraw.ImageDraw, s: float) -> None:
        for bx, by in (left, right):
            d.ellipse(_box(bx - 70, by - 70, bx + 70, by + 70, s), fill=255)
            d.rounded_rectangle(_box(bx - 22, by + 30, bx + 22, by + 130, s), radius=10 * s, fill=255)
        d.rounded_rectangle(
            _box(split[0] - 14, split[1] - 40, split[0] + 14, split[1] + 10, s), radius=6 * s, fill=255
        )
        d.rounded_rectangle(
            _box(jack[0] - 20, jack[1] - 100, jack[0] + 20, jack[1], s), radius=6 * s, fill=255
        )

    cable_c, bud_c = _coverage((w, h), cable), _coverage((w, h), buds)
    plug = _coverage(
        (w, h), lambda d, s: d.rectangle(_box(jack[0] - 7, jack[1], jack[0] + 7, jack[1] + 70, s), fill=255)
    )
    cover = np.clip(cable_c + bud_c + plug, 0, 1)
    product = np.full((h, w, 3), 28, np.float32)
    for bx, by in (left, right):
        product = product + (np.exp(-(((xs - bx + 25) ** 2 + (ys - by + 25) ** 2) / 500)) * 120)[..., None]
    product = _over(product, np.array([190, 186, 176], np.float32), plug)
    shadow = cv2.GaussianBlur(np.roll(np.roll(cover, 10, 0), 14, 1), (0, 0), 8)
    scene = _shade(scene, 1 - 0.3 * shadow)
    scene = _over(scene, np.clip(product, 0, 255), cover)
    return _camera(scene, cover, rng, light=(0.4, 0.2), falloff=0.12)


def _plant_thin_leaves(rng: np.random.Generator) -> Photo:
    w, h = 1536, 2048
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (238, 236, 232), (246, 245, 242), bend=0.62)
    cx, by = 768.0, 1700.0
    pot_top = by - 420
    pot = [(cx - 230, pot_top), (cx + 230, pot_top), (cx + 170, by), (cx - 170, by)]
    pot_c = _coverage((w, h), lambda d, s: d.polygon(_scaled(pot, s), fill=255))
    stems: list[list[tuple[float, float]]] = []
    tips: list[tuple[float, float, float]] = []
    for k in range(9):
        angle = -math.pi / 2 + (k - 4) * 0.2 + rng.uniform(-0.06, 0.06)
        length = rng.uniform(520, 900)
        x0, y0 = cx + (k - 4) * 14, pot_top + 10
        pts = []
        for t in np.linspace(0, 1, 40):
            sway = 60 * t * t * (1 if k % 2 else -1)
            pts.append((x0 + math.cos(angle) * length * t + sway, y0 + math.sin(angle) * length * t))
        stems.append(pts)
        tips.append((pts[-1][0], pts[-1][1], angle))

    def plant(d: ImageDraw.ImageDraw, s: float) -> None:
        for pts in stems:
            d.line(_scaled(pts, s), fill=255, width=int(5 * s), joint="curve")
        for k, pts in enumerate(stems):
            for j in (14, 22, 30, 39):
                px, py = pts[j]
                side = 1 if (j + k) % 2 else -1
                length, width = 150.0, 26.0
                a = -math.pi / 2 + side * 0.9
                ex, ey = px + math.cos(a) * length, py + math.sin(a) * length
                nx, ny = -math.sin(a) * width, math.cos(a) * width
                mx, my = (px + ex) / 2, (py + ey) / 2
                d.polygon(_scaled([(px, py), (mx + nx, my + ny), (ex, ey), (mx - nx, my - ny)], s), fill=255)

    leaf_c = _coverage((w, h), plant)
    cover = np.maximum(pot_c, leaf_c)
    green = np.array([60, 118, 60], np.float32) * (1 + 0.15 * _smooth_noise(rng, h, w, 50))[..., None]
    u = np.clip((xs - cx) / 230, -1, 1)
    terracotta = np.array([184, 98, 64], np.float32) * (0.72 + 0.35 * np.cos(u * 1.3 + 0.3))[..., None]
    rim = _coverage(
        (w, h), lambda d, s: d.rectangle(_box(cx - 230, pot_top, cx + 230, pot_top + 50, s), fill=255)
    )
    terracotta = _over(terracotta, terracotta * 1.1, rim)
    product = _over(green, terracotta, pot_c)
    shadow = _blob(h, w, (cx + 120, by - 14), (300, 30), 26)
    scene = _shade(scene, 1 - 0.3 * shadow - 0.2 * cv2.GaussianBlur(np.roll(leaf_c, 30, 1), (0, 0), 20))
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.3, 0.2), falloff=0.12)


def _desk_lamp_slender_arm(rng: np.random.Generator) -> Photo:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (226, 228, 230), (238, 238, 236), bend=0.55)
    # a black metal desk lamp: a round base, two arm segments 20-22 px wide (slender but
    # solid: a cut that follows them is right) and a conical shade
    base_c = (1000.0, 1180.0)
    elbow, head = (880.0, 640.0), (1240.0, 420.0)

    def lamp(d: ImageDraw.ImageDraw, s: float) -> None:
        d.ellipse(_box(base_c[0] - 200, base_c[1] - 40, base_c[0] + 200, base_c[1] + 40, s), fill=255)
        d.rectangle(_box(base_c[0] - 180, base_c[1] - 70, base_c[0] + 180, base_c[1], s), fill=255)
        d.line(_scaled([(base_c[0], base_c[1] - 60), elbow], s), fill=255, width=int(22 * s))
        d.line(_scaled([elbow, head], s), fill=255, width=int(20 * s))
        d.ellipse(_box(elbow[0] - 24, elbow[1] - 24, elbow[0] + 24, elbow[1] + 24, s), fill=255)
        shade = [
            (head[0] - 40, head[1] - 30),
            (head[0] + 60, head[1] - 40),
            (head[0] + 230, head[1] + 230),
            (head[0] + 10, head[1] + 300),
        ]
        d.polygon(_scaled(shade, s), fill=255)

    cover = _coverage((w, h), lamp)
    metal = (
        np.array([34, 34, 38], np.float32) + (np.exp(-(((xs - ys * 0.3 - 620) / 90) ** 2)) * 60)[..., None]
    )
    shadow = _blob(h, w, (base_c[0] + 60, base_c[1] + 20), (260, 36), 22)
    scene = _shade(scene, 1 - 0.35 * shadow)
    scene = _over(scene, metal, cover)
    return _camera(scene, cover, rng, light=(0.4, 0.2), falloff=0.12)


def _white_box_on_white(rng: np.random.Generator) -> Photo:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (238, 238, 239), (246, 246, 245), bend=0.5)
    # a white gift box in three-quarter view: its lit front is the sweep's own white,
    # its side a pale grey, a thin printed line across the front
    fx0, fx1, by, bh, depth = 760.0, 1200.0, 1140.0, 380.0, 160.0
    faces, cover = _box_faces((w, h), fx0, fx1, by, bh, depth, rise=0.4)
    white = np.array([245, 244, 241], np.float32) * (1 + 0.01 * _smooth_noise(rng, h, w, 20))[..., None]
    product = _over(_over(white, white * 0.86, faces["side"]), white * 1.02, faces["lid"])
    product = _print_text(product, "maison", (fx0 + 150, by - 230), 56, (170, 160, 150))
    contact = _blob(h, w, ((fx0 + fx1) / 2 + 60, by - 6), ((fx1 - fx0) * 0.62, 12), 8)
    cast = _blob(h, w, (fx1 + 120, by - 40), (260, 60), 40)
    scene = _shade(scene, 1 - 0.35 * contact - 0.12 * cast)
    scene = _over(scene, np.clip(product, 0, 255), cover)
    return _camera(scene, cover, rng, light=(0.3, 0.2), falloff=0.1)


# name -> (builder, what makes it hard)
_BUILDERS: dict[str, tuple[Callable[[np.random.Generator], Photo], str]] = {
    "glass_bottle_on_sweep": (
        _glass_bottle_on_sweep,
        "clear glass: the sweep shows through, dark refraction rims",
    ),
    "sneaker_on_wood_corner": (_sneaker_on_wood_corner, "oak planks with seams, skirting and a wall corner"),
    "bottle_on_coloured_paper": (
        _bottle_on_coloured_paper,
        "saturated coral paper, its colour cast on a white bottle",
    ),
    "black_on_glossy_black": (_black_on_glossy_black, "black gloss on black gloss, strong reflection"),
    "grey_on_grey": (_grey_on_grey, "grey concrete on a grey gradient, low contrast"),
    "close_crop_two_edges": (_close_crop_two_edges, "a tilted box cut by the bottom and right frame edges"),
    "flatlay_tshirt_linen": (_flatlay_tshirt_linen, "top-down folded T-shirt on linen weave"),
    "earphones_thin_cable": (_earphones_thin_cable, "thin cable (7 px) looping between buds and a jack"),
    "plant_thin_leaves": (_plant_thin_leaves, "thin stems and leaves with the sweep between them"),
    "desk_lamp_slender_arm": (_desk_lamp_slender_arm, "black lamp with a 20-22 px arm: slender but solid"),
    "white_box_on_white": (_white_box_on_white, "white box on a white sweep, its front the sweep's white"),
}
UNSEEN: tuple[str, ...] = tuple(_BUILDERS)


@functools.lru_cache(maxsize=16)
def make_unseen_case(name: str, seed: int = 0) -> Case:
    """The photo ``name`` (one of ``UNSEEN``) and its exact matte; same seed, same pixels."""
    builder, notes = _BUILDERS[name]
    rng = np.random.default_rng(seed * 1000 + 100 + UNSEEN.index(name))
    photo, alpha = builder(rng)
    return Case(name=name, photo=photo, alpha=alpha, refuse=False, notes=notes)


def main(argv: list[str]) -> int:
    write_cases(Path(argv[0] if argv else "photoset_unseen"), argv[1:] or UNSEEN, make_unseen_case)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
