"""Realistic synthetic product photos with exact soft masks: the segmentation test set.

Each case is the kind of photo merchants shoot and a weight-free segmenter gets wrong:
floors, cast and contact shadows, floor reflections, wall/floor corners, tabletops,
white on white, dark on dark, holes, glossy highlights, a product cut by the frame and
a busy styled set. Photos are 2-3 MP and made the way a camera makes them:

1. the scene is drawn in linear-ish light at full size, product shapes anti-aliased
   (drawn at 4x and averaged down), so the true alpha has partial values on the rim;
2. the light falls off across the set (a key light from one side and a vignette);
3. a lens blur softens the whole image, and the ground-truth alpha by the same amount;
4. signal-dependent sensor noise, then a JPEG round trip at quality 88 with 4:2:0
   chroma subsampling, as phones and cameras save them.

The ground truth is the product's coverage after the lens blur (float 0..1), so a matte
is compared with what an ideal matte of this photo would be. Shared by the tests and
``bench/bench_segment.py``; ``python -m tests.photoset OUT_DIR`` writes every case and
its mask as PNGs to look at.
"""

from __future__ import annotations

import functools
import io
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

Box = tuple[int, int, int, int]
Draw = Callable[[ImageDraw.ImageDraw, float], None]  # (draw, scale) on a 4x canvas
_SUPER = 4  # supersampling factor for anti-aliased shapes


@dataclass(frozen=True)
class Case:
    """One photo of the set with its exact matte and what a segmenter must do with it."""

    name: str
    photo: Image.Image  # RGB, after the JPEG round trip
    alpha: np.ndarray  # float32 (h, w) in 0..1: the product's coverage after the lens blur
    refuse: bool  # the automatic segmenter must refuse this photo (busy styled set)
    notes: str

    @property
    def mask(self) -> np.ndarray:
        """Bool (h, w): the product at half coverage."""
        return self.alpha >= 0.5

    @property
    def box(self) -> Box:
        """(x, y, w, h) of the product at half coverage."""
        ys, xs = np.nonzero(self.mask)
        return int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1


# --- drawing helpers -----------------------------------------------------------------


def _coverage(size: tuple[int, int], draw: Draw, *, ss: int = _SUPER) -> np.ndarray:
    """Anti-aliased coverage (float32 0..1, (h, w)) of what ``draw`` paints with 255.

    ``ss`` is the supersampling factor; props that are not measured use 2 (faster).
    """
    w, h = size
    canvas = Image.new("L", (w * ss, h * ss), 0)
    draw(ImageDraw.Draw(canvas), float(ss))
    if ss > 1:
        canvas = canvas.reduce(ss)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _scaled(points: list[tuple[float, float]], s: float) -> list[tuple[float, float]]:
    return [(x * s, y * s) for x, y in points]


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return ys, xs


def _smooth_noise(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Low-frequency noise (mean 0, std about 1) with features about ``scale`` px big."""
    sh, sw = max(2, int(h / scale) + 2), max(2, int(w / scale) + 2)
    small = rng.normal(0, 1, (sh, sw)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return big / max(float(big.std()), 1e-6)


def _over(base: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``colour`` (h, w, 3) or (3,) over ``base`` with coverage ``alpha`` (h, w)."""
    a = alpha[..., None]
    return base * (1 - a) + colour * a


def _shade(rgb: np.ndarray, factor: np.ndarray) -> np.ndarray:
    return rgb * factor[..., None]


def _blob(h: int, w: int, centre: tuple[float, float], radii: tuple[float, float], blur: float) -> np.ndarray:
    """A soft elliptical blob, 1 at the centre, for shadows (drawn at a quarter size: it is smooth)."""
    q = 4 if blur >= 8 else 1
    blot = np.zeros((math.ceil(h / q), math.ceil(w / q)), np.float32)
    cv2.ellipse(
        blot,
        (int(centre[0] / q), int(centre[1] / q)),
        (max(1, int(radii[0] / q)), max(1, int(radii[1] / q))),
        0,
        0,
        360,
        1.0,
        -1,
    )
    blot = cv2.GaussianBlur(blot, (0, 0), blur / q)
    return cv2.resize(blot, (w, h), interpolation=cv2.INTER_CUBIC) if q > 1 else blot


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def _print_text(rgb: np.ndarray, text: str, xy: tuple[float, float], size: int, colour: tuple) -> np.ndarray:
    """Anti-aliased text (a label) drawn onto ``rgb``."""
    h, w = rgb.shape[:2]
    layer = Image.new("L", (w, h), 0)
    ImageDraw.Draw(layer).text(xy, text, fill=255, font=_font(size))
    cover = np.asarray(layer, dtype=np.float32) / 255.0
    return _over(rgb, np.array(colour, np.float32), cover)


# --- the camera ------------------------------------------------------------------------


def _camera(
    scene: np.ndarray,
    cover: np.ndarray,
    rng: np.random.Generator,
    *,
    light: tuple[float, float] = (0.3, 0.25),
    falloff: float = 0.18,
    blur: float = 1.0,
    quality: int = 88,
) -> tuple[Image.Image, np.ndarray]:
    """Light falloff, lens blur, sensor noise and JPEG; returns (photo, true alpha)."""
    h, w = cover.shape
    ys, xs = _grid(h, w)
    # 1. light falls off away from the key light, and towards the corners
    d = np.hypot((xs / w - light[0]) * 1.2, ys / h - light[1])
    light_map = 1.0 - falloff * d**2
    scene = scene * light_map[..., None]
    # 2. the lens softens everything the same way, so the true alpha too
    scene = cv2.GaussianBlur(scene, (0, 0), blur)
    alpha = cv2.GaussianBlur(cover, (0, 0), blur)
    # 3. shot noise grows with the signal, read noise does not
    sigma = np.sqrt(1.2 + 0.012 * np.clip(scene, 0, 255))
    scene = scene + rng.normal(0, 1, scene.shape).astype(np.float32) * sigma
    scene = scene + rng.normal(0, 0.8, (h, w, 1)).astype(np.float32)  # luminance grain
    photo = Image.fromarray(np.clip(np.rint(scene), 0, 255).astype(np.uint8), "RGB")
    # 4. saved as phones save: JPEG with 4:2:0 chroma subsampling
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=quality, subsampling=2)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB"), np.clip(alpha, 0.0, 1.0).astype(np.float32)


def _stage(
    scene: np.ndarray, product: np.ndarray, cover: np.ndarray, shadows: list[tuple[np.ndarray, float]]
) -> np.ndarray:
    """The set darkened by each (blob, strength) shadow, then the product on it."""
    for blob, strength in shadows:
        scene = _shade(scene, 1 - strength * blob)
    return _over(scene, product, cover)


def _sweep(h: int, w: int, top: tuple, bottom: tuple, *, bend: float = 0.55) -> np.ndarray:
    """A paper sweep: the wall's colour at the top curving into the floor's at the bottom."""
    ys, _ = _grid(h, w)
    t = np.clip((ys / h - bend + 0.25) / 0.5, 0, 1)
    t = t * t * (3 - 2 * t)
    top_c, bottom_c = np.array(top, np.float32), np.array(bottom, np.float32)
    return top_c * (1 - t[..., None]) + bottom_c * t[..., None]


def _reflection(
    scene: np.ndarray, product: np.ndarray, cover: np.ndarray, base: int, strength: float, length: float
) -> np.ndarray:
    """A glossy floor mirrors the product below its base, fading with distance."""
    h = cover.shape[0]
    rows = min(int(length), h - base - 1)
    if rows <= 0:
        return scene
    src_rows = np.arange(base - 1, base - 1 - rows, -1)
    src_rows = src_rows[src_rows >= 0]
    rows = len(src_rows)
    mirrored_c = cover[src_rows]
    mirrored_p = product[src_rows]
    fade = strength * (1 - np.arange(rows, dtype=np.float32) / rows) ** 1.6
    a = cv2.GaussianBlur(mirrored_c * fade[:, None], (0, 0), 2.0)
    p = cv2.GaussianBlur(mirrored_p, (0, 0), 2.0)
    out = scene.copy()
    out[base : base + rows] = _over(scene[base : base + rows], p, a)
    return out


# --- the cases -------------------------------------------------------------------------


def _bag_on_white_sweep(rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    w, h = 1600, 2000
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (236, 236, 238), (250, 250, 250), bend=0.6)
    cx, base, bw, bh = 800.0, 1420.0, 760.0, 560.0
    top = base - bh
    body = [(cx - bw / 2, base), (cx - bw * 0.42, top), (cx + bw * 0.42, top), (cx + bw / 2, base)]

    def bag(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(_box(cx - bw / 2, top, cx + bw / 2, base, s), radius=40 * s, fill=255)
        d.polygon(_scaled(body, s), fill=255)
        # the handle: a thick arch with the backdrop showing through it
        d.arc(_box(cx - 230, top - 260, cx + 230, top + 300, s), 180, 360, fill=255, width=int(46 * s))

    cover = _coverage((w, h), bag)
    # tan leather: mottled, lit from the upper left, a darker flap and light stitching
    leather = np.array([176, 112, 66], np.float32)
    mottle = 1 + 0.04 * _smooth_noise(rng, h, w, 40) + 0.02 * rng.normal(0, 1, (h, w)).astype(np.float32)
    light = 1.08 - 0.25 * np.clip((ys - top) / bh, 0, 1) - 0.12 * np.abs(xs - cx + 120) / bw
    product = leather * (mottle * light)[..., None]
    flap = _coverage(
        (w, h),
        lambda d, s: d.polygon(
            _scaled(
                [
                    (cx - bw * 0.43, top + 8),
                    (cx + bw * 0.43, top + 8),
                    (cx + 40, top + 250),
                    (cx - 40, top + 250),
                ],
                s,
            ),
            fill=255,
        ),
    )
    product = _over(product, product * 0.8, flap)
    stitch = _coverage(
        (w, h),
        lambda d, s: [
            d.line(
                _scaled([(cx - bw * 0.4 + 14 * k, top + 24), (cx - bw * 0.4 + 14 * k + 7, top + 24)], s),
                fill=255,
                width=int(3 * s),
            )
            for k in range(int(bw * 0.8 / 14))
        ],
    )
    product = _over(product, np.array([222, 190, 140], np.float32), stitch * 0.8)
    clasp = _coverage(
        (w, h),
        lambda d, s: d.rounded_rectangle(
            _box(cx - 34, top + 226, cx + 34, top + 280, s), radius=8 * s, fill=255
        ),
    )
    gold = (
        np.array([205, 170, 80], np.float32) * (1.15 - 0.4 * np.clip((ys - top - 226) / 54, 0, 1))[..., None]
    )
    product = _over(product, gold, clasp)
    # contact shadow (dark and tight) and a soft cast shadow behind to the right
    contact = _blob(h, w, (cx, base - 4), (bw * 0.52, 16), 9)
    cast = _blob(h, w, (cx + 140, base - 60), (bw * 0.55, 70), 45)
    scene = _shade(scene, 1 - 0.55 * contact - 0.22 * cast)
    scene = _reflection(scene, product, cover, int(base), strength=0.3, length=bh * 0.45)
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.25, 0.2), falloff=0.12)


def _box(x0: float, y0: float, x1: float, y1: float, s: float) -> tuple[float, float, float, float]:
    return (x0 * s, y0 * s, x1 * s, y1 * s)


def _white_jar_on_white(
    rng: np.random.Generator, faces: dict | None = None
) -> tuple[Image.Image, np.ndarray]:
    w, h = 2000, 1500
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (240, 240, 241), (247, 247, 246), bend=0.5)
    cx, base, jw = 1000.0, 1080.0, 560.0
    body_top, lid_top = base - 330, base - 470
    ell = 38.0  # the top and bottom rims seen slightly from above

    def body(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rectangle(_box(cx - jw / 2, body_top, cx + jw / 2, base - ell, s), fill=255)
        d.ellipse(_box(cx - jw / 2, base - 2 * ell, cx + jw / 2, base, s), fill=255)

    def lid(d: ImageDraw.ImageDraw, s: float) -> None:
        lw = jw * 0.96
        d.rectangle(_box(cx - lw / 2, lid_top + ell, cx + lw / 2, body_top + 6, s), fill=255)
        d.ellipse(_box(cx - lw / 2, lid_top, cx + lw / 2, lid_top + 2 * ell, s), fill=255)

    body_c, lid_c = _coverage((w, h), body), _coverage((w, h), lid)
    cover = np.maximum(body_c, lid_c)
    if faces is not None:
        faces["lid"] = np.clip(lid_c - body_c, 0, 1)
    # a white cylinder: bright in the middle, greyer towards its sides and lower rim
    u = np.clip((xs - cx) / (jw / 2), -1, 1)
    cyl = 0.86 + 0.16 * np.cos(u * 1.35 + 0.25)
    glaze = (
        np.array([249, 247, 242], np.float32) * (cyl - 0.05 * np.clip((ys - body_top) / 330, 0, 1))[..., None]
    )
    glaze = _print_text(glaze, "HYDRA", (cx - 110, body_top + 110), 64, (150, 146, 140))
    glaze = _print_text(glaze, "night cream  50 ml", (cx - 130, body_top + 190), 28, (170, 166, 160))
    brushed = 1 + 0.03 * cv2.resize(rng.normal(0, 1, (1, w)).astype(np.float32), (w, h))
    lid_rgb = np.array([236, 236, 238], np.float32) * (cyl * brushed)[..., None]
    top_face = _coverage(
        (w, h),
        lambda d, s: d.ellipse(
            _box(cx - jw * 0.46, lid_top + 3, cx + jw * 0.46, lid_top + 2 * ell - 6, s), fill=255
        ),
    )
    lid_rgb = _over(lid_rgb, np.array([252, 252, 252], np.float32), top_face)
    product = _over(glaze, lid_rgb, lid_c)
    # white "wings": the contact shadow reaching out on both sides of the base
    contact = _blob(h, w, (cx, base - ell * 0.6), (jw * 0.62, ell * 0.9), 14)
    cast = _blob(h, w, (cx - 180, base - 90), (jw * 0.6, 60), 50)
    scene = _shade(scene, 1 - 0.38 * contact - 0.12 * cast)
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.45, 0.2), falloff=0.1, blur=1.1)


def _box_faces(
    size: tuple[int, int], fx0: float, fx1: float, by: float, bh: float, depth: float, *, rise: float
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A box in three-quarter view: the coverage of its front, right side and lid, and of all three.

    The front spans ``fx0``..``fx1`` up from the base line ``by`` by ``bh``; the side runs
    ``depth`` px to the right and ``depth * rise`` up.
    """
    up = depth * rise
    front = [(fx0, by), (fx1, by), (fx1, by - bh), (fx0, by - bh)]
    side = [(fx1, by), (fx1 + depth, by - up), (fx1 + depth, by - bh - up), (fx1, by - bh)]
    lid = [(fx0, by - bh), (fx1, by - bh), (fx1 + depth, by - bh - up), (fx0 + depth, by - bh - up)]
    faces = {
        name: _coverage(size, lambda d, s, p=p: d.polygon(_scaled(p, s), fill=255))
        for name, p in [("front", front), ("side", side), ("lid", lid)]
    }
    return faces, np.clip(faces["front"] + faces["side"] + faces["lid"], 0, 1)


def _box_in_corner(rng: np.random.Generator, faces: dict | None = None) -> tuple[Image.Image, np.ndarray]:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    # the room: a warm left wall, a shaded right wall meeting at a vertical corner,
    # a grey floor; the floor line runs from each side down to the corner's foot
    corner_x, foot_y = 1090.0, 930.0
    left_y, right_y = 760.0, 800.0
    floor_line = np.where(
        xs < corner_x,
        left_y + (foot_y - left_y) * xs / corner_x,
        foot_y + (right_y - foot_y) * (xs - corner_x) / (w - corner_x),
    )
    wall_l = np.array([214, 200, 178], np.float32) * (1 - 0.05 * ys / h)[..., None]
    wall_r = np.array([172, 162, 146], np.float32) * (1 - 0.06 * ys / h)[..., None]
    wall = np.where((xs < corner_x)[..., None], wall_l, wall_r)
    floor_tex = 1 + 0.035 * _smooth_noise(rng, h, w, 30) + 0.015 * rng.normal(0, 1, (h, w)).astype(np.float32)
    floor = np.array([128, 128, 126], np.float32) * (floor_tex * (0.92 + 0.12 * ys / h))[..., None]
    wall_cover = np.clip(floor_line - ys + 0.5, 0, 1)  # anti-aliased floor line
    scene = _over(floor, wall, wall_cover)
    # a kraft product box in three-quarter view, standing in the corner
    fx0, fx1, by = 880.0, 1270.0, 1130.0  # front face, base line
    bh, depth = 420.0, 150.0
    box, cover = _box_faces((w, h), fx0, fx1, by, bh, depth, rise=0.45)
    if faces is not None:
        faces["side"] = box["side"]
    kraft = np.array([180, 140, 96], np.float32) * (1 + 0.03 * _smooth_noise(rng, h, w, 12))[..., None]
    product = _over(_over(kraft * 0.98, kraft * 0.72, box["side"]), kraft * 1.12, box["lid"])
    logo = _coverage(
        (w, h), lambda d, s: d.rectangle(_box(fx0 + 80, by - bh + 110, fx1 - 80, by - bh + 200, s), fill=255)
    )
    product = _over(product, np.array([40, 52, 70], np.float32), logo)
    product = _print_text(product, "ACME  DESK LAMP", (fx0 + 90, by - 150), 40, (60, 48, 36))
    # its shadows: on the floor to the right, on the walls behind
    floor_shadow = _blob(h, w, (fx1 + 120, by - 40), (260, 70), 40) * (ys > floor_line)
    wall_shadow = _blob(h, w, (fx1 + 60, by - bh * 0.5), (180, bh * 0.55), 60) * (ys <= floor_line)
    contact = _blob(h, w, ((fx0 + fx1) / 2 + 60, by - 6), ((fx1 - fx0) * 0.62, 12), 8)
    scene = _shade(scene, 1 - 0.35 * floor_shadow - 0.25 * wall_shadow - 0.5 * contact)
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.15, 0.1), falloff=0.22)


def _carton_on_tabletop(
    rng: np.random.Generator, faces: dict | None = None
) -> tuple[Image.Image, np.ndarray]:
    w, h = 1536, 2048
    ys, xs = _grid(h, w)
    back_edge, front_edge = 690.0, 1720.0
    wall = np.array([206, 208, 210], np.float32) * (1.02 - 0.06 * ys / back_edge)[..., None]
    # beige wood: long grain lines stretched along the table, lighter towards the front
    grain = np.sin(ys / 7.0 + 1.2 * _smooth_noise(rng, h, w, 160)) * 0.025
    table = (
        np.array([214, 192, 158], np.float32) * (1 + grain + 0.02 * _smooth_noise(rng, h, w, 25))[..., None]
    )
    table = table * (0.94 + 0.08 * np.clip((ys - back_edge) / (front_edge - back_edge), 0, 1))[..., None]
    apron = np.array([150, 128, 100], np.float32) * (1 + grain)[..., None]
    scene = _over(wall, table, np.clip(ys - back_edge + 0.5, 0, 1))
    rim = np.clip(1 - np.abs(ys - front_edge + 5) / 6, 0, 1)  # the rounded front edge catches light
    scene = _over(scene, np.array([235, 218, 190], np.float32), rim * 0.6)
    scene = _over(scene, apron, np.clip(ys - front_edge + 0.5, 0, 1))
    # a gable-top juice carton
    cx, by, cw, ch = 760.0, 1420.0, 380.0, 700.0
    shoulder = by - ch
    front = [(cx - cw / 2, by), (cx + cw / 2, by), (cx + cw / 2, shoulder), (cx - cw / 2, shoulder)]
    gable = [
        (cx - cw / 2, shoulder),
        (cx + cw / 2, shoulder),
        (cx + cw / 2 - 20, shoulder - 150),
        (cx - cw / 2 + 20, shoulder - 150),
    ]
    fin = [
        (cx - cw / 2 + 20, shoulder - 150),
        (cx + cw / 2 - 20, shoulder - 150),
        (cx + cw / 2 - 20, shoulder - 195),
        (cx - cw / 2 + 20, shoulder - 195),
    ]
    side = [
        (cx + cw / 2, by),
        (cx + cw / 2 + 90, by - 40),
        (cx + cw / 2 + 90, shoulder - 40),
        (cx + cw / 2, shoulder),
    ]
    parts = {
        n: _coverage((w, h), lambda d, s, p=p: d.polygon(_scaled(p, s), fill=255))
        for n, p in [("front", front), ("gable", gable), ("fin", fin), ("side", side)]
    }
    cover = np.clip(sum(parts.values()), 0, 1)
    if faces is not None:
        faces["side"] = parts["side"] * (ys < shoulder + 120)  # the grey side above the orange band
    paper = np.array([246, 244, 238], np.float32) * (1 - 0.05 * (ys - shoulder) / ch)[..., None]
    product = _over(paper, paper * 0.78, parts["side"])
    product = _over(product, paper * 0.9, parts["gable"])
    band = _coverage(
        (w, h),
        lambda d, s: d.rectangle(
            _box(cx - cw / 2, shoulder + 120, cx + cw / 2 + 90, shoulder + 330, s), fill=255
        ),
    )
    product = _over(
        product, np.array([232, 118, 30], np.float32) * (1 - 0.2 * parts["side"])[..., None], band
    )
    fruit = _coverage(
        (w, h), lambda d, s: d.ellipse(_box(cx - 90, shoulder + 380, cx + 90, shoulder + 560, s), fill=255)
    )
    product = _over(product, np.array([246, 160, 40], np.float32), fruit)
    product = _print_text(product, "ORANGE", (cx - 120, shoulder + 180), 70, (255, 255, 255))
    product = _print_text(product, "100% juice  1 L", (cx - 110, by - 90), 34, (90, 80, 70))
    shadow = _blob(h, w, (cx + 150, by - 20), (cw * 0.7, 46), 30)
    contact = _blob(h, w, (cx + 40, by - 4), (cw * 0.6, 10), 7)
    scene = _shade(scene, 1 - 0.3 * shadow - 0.45 * contact)
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.7, 0.15), falloff=0.2)


def _gradient_sweep(rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (150, 186, 222), (206, 226, 244), bend=0.55)
    scene = scene * (1 - 0.1 * ((xs - w / 2) / w) ** 2)[..., None]
    # a red sports tumbler with a black lid
    cx, by, tw = 1020.0, 1200.0, 300.0
    body = [(cx - tw / 2, 440), (cx + tw / 2, 440), (cx + tw * 0.38, by), (cx - tw * 0.38, by)]
    body_c = _coverage(
        (w, h),
        lambda d, s: (
            d.polygon(_scaled(body, s), fill=255),
            d.ellipse(_box(cx - tw * 0.38, by - 24, cx + tw * 0.38, by + 10, s), fill=255),
        ),
    )
    lid_c = _coverage(
        (w, h),
        lambda d, s: d.rounded_rectangle(
            _box(cx - tw * 0.52, 360, cx + tw * 0.52, 450, s), radius=18 * s, fill=255
        ),
    )
    cover = np.clip(body_c + lid_c, 0, 1)
    u = np.clip((xs - cx) / (tw / 2), -1, 1)
    cyl = 0.7 + 0.35 * np.cos(u * 1.4 + 0.3)
    product = np.array([200, 36, 40], np.float32) * cyl[..., None]
    product = _over(product, np.array([30, 30, 34], np.float32) * (0.8 + 0.5 * cyl)[..., None], lid_c)
    product = _print_text(product, "RUN", (cx - 60, 720), 80, (250, 240, 235))
    scene = _stage(scene, product, cover, [(_blob(h, w, (cx + 60, by), (tw * 0.7, 28), 20), 0.35)])
    return _camera(scene, cover, rng, light=(0.5, 0.0), falloff=0.15)


def _dark_on_dark(rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    w, h = 1536, 2048
    ys, xs = _grid(h, w)
    scene = (
        np.array([46, 46, 50], np.float32)
        * (1.1 - 0.35 * np.hypot((xs - w / 2) / w, (ys - h * 0.4) / h))[..., None]
    )
    # a black perfume bottle with a rim light tracing its sides
    cx, by, bw = 768.0, 1620.0, 520.0
    top = by - 820
    body_c = _coverage(
        (w, h),
        lambda d, s: d.rounded_rectangle(_box(cx - bw / 2, top, cx + bw / 2, by, s), radius=60 * s, fill=255),
    )
    neck_c = _coverage(
        (w, h), lambda d, s: d.rectangle(_box(cx - 70, top - 90, cx + 70, top + 10, s), fill=255)
    )
    cap_c = _coverage(
        (w, h),
        lambda d, s: d.rounded_rectangle(
            _box(cx - 120, top - 330, cx + 120, top - 80, s), radius=24 * s, fill=255
        ),
    )
    cover = np.clip(body_c + neck_c + cap_c, 0, 1)
    u = (xs - cx) / (bw / 2)
    rim = np.exp(-(((np.abs(u) - 0.93) / 0.05) ** 2)) * 150
    glass = np.array([20, 20, 24], np.float32) + rim[..., None] * np.array([0.9, 0.92, 1.0], np.float32)
    product = _over(glass, np.array([70, 62, 40], np.float32), neck_c)  # a bronze collar
    cap = np.array([14, 14, 16], np.float32) + (np.exp(-(((xs - cx + 70) / 20) ** 2)) * 90)[..., None]
    product = _over(product, cap, cap_c)
    product = _print_text(product, "NOIR", (cx - 90, top + 340), 90, (150, 140, 110))
    scene = _stage(scene, product, cover, [(_blob(h, w, (cx, by - 6), (bw * 0.6, 16), 10), 0.4)])
    return _camera(scene, cover, rng, light=(0.5, 0.35), falloff=0.1)


def _mug_with_handle(rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (228, 228, 230), (238, 238, 238), bend=0.55)
    cx, by, mw = 930.0, 1160.0, 520.0
    top = by - 560

    def mug(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(_box(cx - mw / 2, top, cx + mw / 2, by, s), radius=36 * s, fill=255)
        # the handle: a D-shaped loop on the right, with the backdrop showing inside it
        d.ellipse(_box(cx + mw / 2 - 80, top + 110, cx + mw / 2 + 210, top + 430, s), fill=255)
        d.ellipse(_box(cx + mw / 2 - 30, top + 165, cx + mw / 2 + 150, top + 375, s), fill=0)
        d.rounded_rectangle(_box(cx - mw / 2, top, cx + mw / 2, by, s), radius=36 * s, fill=255)

    cover = _coverage((w, h), mug)
    u = np.clip((xs - cx) / (mw / 2), -1.6, 1.6)
    cyl = 0.68 + 0.38 * np.cos(u * 1.1 + 0.35)
    product = np.array([38, 126, 134], np.float32) * cyl[..., None]
    product = _print_text(product, "good morning", (cx - 170, top + 250), 56, (240, 236, 228))
    scene = _stage(scene, product, cover, [(_blob(h, w, (cx + 90, by - 8), (mw * 0.75, 24), 18), 0.35)])
    return _camera(scene, cover, rng, light=(0.3, 0.2), falloff=0.15)


def _glossy_vase(rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    w, h = 1536, 2048
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (246, 246, 247), (236, 236, 236), bend=0.6)
    cx, by = 768.0, 1640.0

    def vase(d: ImageDraw.ImageDraw, s: float) -> None:
        d.ellipse(_box(cx - 330, by - 780, cx + 330, by, s), fill=255)
        d.rectangle(_box(cx - 110, by - 1180, cx + 110, by - 600, s), fill=255)
        d.ellipse(_box(cx - 170, by - 1230, cx + 170, by - 1150, s), fill=255)

    cover = _coverage((w, h), vase)
    u = np.clip((xs - cx) / 330, -1, 1)
    v = np.clip((ys - (by - 390)) / 390, -1, 1)
    lambert = 0.55 + 0.5 * np.clip(np.cos(u * 1.3 + 0.4) * np.cos(v * 0.9 + 0.3), 0, 1)
    product = np.array([168, 30, 44], np.float32) * lambert[..., None]
    # glaze: clipped specular highlights, one running out to the silhouette on the left
    spec = _blob(h, w, (cx - 250, by - 520), (40, 150), 14) + _blob(h, w, (cx - 60, by - 1000), (22, 110), 8)
    spec += 0.8 * _blob(h, w, (cx - 318, by - 420), (30, 120), 6)
    product = product + np.clip(spec, 0, 1.4)[..., None] * 255
    window = np.exp(-(((xs - cx - 180) / 25) ** 2)) * (np.abs(ys - by + 420) < 200)
    product = product + (window * 90)[..., None]
    shadow = _blob(h, w, (cx - 120, by - 10), (360, 26), 20)
    scene = _shade(scene, 1 - 0.3 * shadow)
    scene = _reflection(scene, np.clip(product, 0, 255), cover, int(by), strength=0.18, length=220)
    scene = _over(scene, np.clip(product, 0, 255), cover)
    return _camera(scene, cover, rng, light=(0.4, 0.3), falloff=0.12)


def _cut_by_frame(rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    w, h = 1536, 2048
    ys, xs = _grid(h, w)
    scene = np.array([222, 220, 216], np.float32) * (1.04 - 0.08 * ys / h)[..., None]
    # a close-up of a wine bottle; its lower part runs out of the frame
    cx = 800.0

    def bottle(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(_box(cx - 300, 900, cx + 300, h + 400, s), radius=80 * s, fill=255)
        d.polygon(_scaled([(cx - 296, 960), (cx - 95, 560), (cx + 95, 560), (cx + 296, 960)], s), fill=255)
        d.rectangle(_box(cx - 88, 120, cx + 88, 600, s), fill=255)

    cover = _coverage((w, h), bottle)
    u = np.clip((xs - cx) / 300, -1, 1)
    glass = np.array([24, 58, 34], np.float32) * (0.7 + 0.5 * np.cos(u * 1.3 + 0.2))[..., None]
    glass = glass + (np.exp(-(((xs - cx + 170) / 22) ** 2)) * 110)[..., None]
    label = _coverage((w, h), lambda d, s: d.rectangle(_box(cx - 300, 1250, cx + 300, 1850, s), fill=255))
    paper = np.array([236, 226, 200], np.float32) * (0.75 + 0.3 * np.cos(u * 1.2 + 0.2))[..., None]
    product = _over(glass, paper, label)
    product = _print_text(product, "Chateau", (cx - 170, 1400), 90, (110, 30, 40))
    product = _print_text(product, "2019", (cx - 60, 1560), 70, (60, 50, 40))
    foil = _coverage((w, h), lambda d, s: d.rectangle(_box(cx - 92, 120, cx + 92, 330, s), fill=255))
    product = _over(
        product, np.array([120, 20, 34], np.float32) * (0.8 + 0.4 * np.cos(u * 3))[..., None], foil
    )
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.3, 0.2), falloff=0.1)


def _busy_styled_set(rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    # linen backdrop with a weave, a wooden tray, eucalyptus, a cloth, a second candle
    weave = 0.03 * np.sin(xs * 1.3) * np.sin(ys * 1.1) + 0.04 * _smooth_noise(rng, h, w, 8)
    scene = (
        np.array([214, 204, 190], np.float32) * (1 + weave + 0.05 * _smooth_noise(rng, h, w, 200))[..., None]
    )
    tray = _coverage(
        (w, h), lambda d, s: d.rounded_rectangle(_box(300, 900, 1750, 1400, s), radius=40 * s, fill=255), ss=2
    )
    wood = (
        np.array([128, 84, 50], np.float32)
        * (1 + 0.12 * np.sin(xs / 9 + 4 * _smooth_noise(rng, h, w, 90)))[..., None]
    )
    scene = _over(scene, wood, tray)
    cloth = _coverage(
        (w, h),
        lambda d, s: d.polygon(_scaled([(0, 1100), (700, 980), (900, 1536), (0, 1536)], s), fill=255),
        ss=2,
    )
    folds = 1 + 0.12 * np.sin((xs + ys * 0.6) / 45) + 0.04 * _smooth_noise(rng, h, w, 30)
    scene = _over(scene, np.array([222, 176, 170], np.float32) * folds[..., None], cloth)

    def leaves(d: ImageDraw.ImageDraw, s: float) -> None:
        for k in range(26):  # eucalyptus leaves along a stem
            t = k / 25
            lx, ly = 1450 + 420 * t, 300 + 700 * t + 40 * math.sin(k)
            x0, x1 = (lx + 10, lx + 100) if k % 2 else (lx - 100, lx - 10)
            d.ellipse(_box(x0, ly - 28, x1, ly + 28, s), fill=255)

    leaf = _coverage((w, h), leaves, ss=2)
    tone = 1 + 0.12 * _smooth_noise(rng, h, w, 60)
    scene = _over(scene, np.array([96, 130, 112], np.float32) * tone[..., None], leaf)
    dots = np.zeros((h, w), np.float32)
    for _ in range(40):  # dried flower heads
        cv2.circle(dots, (int(rng.uniform(150, 600)), int(rng.uniform(150, 900))), 14, 1.0, -1)
    scene = _over(scene, np.array([240, 230, 205], np.float32), cv2.GaussianBlur(dots, (0, 0), 2))
    small = _coverage(
        (w, h),
        lambda d, s: d.rounded_rectangle(_box(1300, 700, 1560, 1160, s), radius=30 * s, fill=255),
        ss=2,
    )
    scene = _over(
        scene, np.array([238, 232, 222], np.float32) * (1 - 0.1 * np.abs(xs - 1430) / 130)[..., None], small
    )
    flame = _blob(h, w, (1430, 650), (12, 34), 4)
    scene = _over(scene, np.array([255, 220, 140], np.float32), np.clip(flame * 1.4, 0, 1))
    # the product: an amber glass jar candle with a cream label
    cx, by, cw = 960.0, 1240.0, 420.0
    top = by - 560
    jar = _coverage(
        (w, h),
        lambda d, s: d.rounded_rectangle(_box(cx - cw / 2, top, cx + cw / 2, by, s), radius=40 * s, fill=255),
    )
    lid = _coverage(
        (w, h),
        lambda d, s: d.rounded_rectangle(
            _box(cx - cw / 2 - 6, top - 70, cx + cw / 2 + 6, top + 10, s), radius=14 * s, fill=255
        ),
    )
    cover = np.clip(jar + lid, 0, 1)
    u = np.clip((xs - cx) / (cw / 2), -1, 1)
    amber = np.array([150, 82, 26], np.float32) * (0.6 + 0.55 * np.cos(u * 1.4 + 0.4))[..., None]
    label = _coverage(
        (w, h), lambda d, s: d.rectangle(_box(cx - cw / 2, top + 170, cx + cw / 2, top + 420, s), fill=255)
    )
    product = _over(amber, np.array([232, 222, 200], np.float32) * (0.8 + 0.2 * np.cos(u))[..., None], label)
    product = _print_text(product, "FIG & CEDAR", (cx - 150, top + 260), 46, (70, 60, 50))
    product = _over(product, np.array([60, 56, 54], np.float32) * (0.8 + 0.5 * np.cos(u * 2))[..., None], lid)
    scene = _stage(scene, product, cover, [(_blob(h, w, (cx + 120, by - 10), (cw * 0.7, 30), 22), 0.35)])
    return _camera(scene, cover, rng, light=(0.7, 0.1), falloff=0.25)


def _perfume_on_dark_table(
    rng: np.random.Generator, reflection: float = 0.35
) -> tuple[Image.Image, np.ndarray]:
    w, h = 1600, 2000
    ys, xs = _grid(h, w)
    table_y = 1180.0
    wall = (
        np.array([92, 84, 78], np.float32)
        * (1.1 - 0.3 * np.hypot((xs - w * 0.4) / w, (ys - 500) / h))[..., None]
    )
    grain = np.sin(xs / 11.0 + 2.0 * _smooth_noise(rng, h, w, 200)) * 0.03
    table = np.array([58, 40, 30], np.float32) * (1 + grain + 0.03 * _smooth_noise(rng, h, w, 40))[..., None]
    table = table * (0.9 + 0.2 * np.clip((ys - table_y) / (h - table_y), 0, 1))[..., None]
    scene = _over(wall, table, np.clip(ys - table_y + 0.5, 0, 1))
    cx, by, bw = 800.0, 1560.0, 420.0
    top = by - 600

    def cap(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(_box(cx - 95, top - 300, cx + 95, top - 60, s), radius=10 * s, fill=255)

    def neck(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rectangle(_box(cx - 50, top - 70, cx + 50, top + 10, s), fill=255)

    def bottle(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(_box(cx - bw / 2, top, cx + bw / 2, by, s), radius=34 * s, fill=255)
        neck(d, s)
        cap(d, s)

    def liquid(d: ImageDraw.ImageDraw, s: float) -> None:
        d.rounded_rectangle(
            _box(cx - bw / 2 + 20, top + 120, cx + bw / 2 - 20, by - 20, s), radius=20 * s, fill=255
        )

    cover = _coverage((w, h), bottle)
    u = (xs - cx) / (bw / 2)
    rims = np.exp(-(((u + 0.6) / 0.08) ** 2)) * 160 + np.exp(-(((np.abs(u) - 0.95) / 0.04) ** 2)) * 90
    glass = np.array([30, 22, 40], np.float32) + rims[..., None]
    glass = _over(glass, glass + np.array([40, 18, 50], np.float32), _coverage((w, h), liquid) * 0.7)
    gold = np.array([196, 160, 90], np.float32) * (0.8 + 0.35 * np.cos(u * 2.5 + 0.5))[..., None]
    product = _over(glass, gold, _coverage((w, h), neck))
    product = _over(product, gold * 0.9, _coverage((w, h), cap))
    product = _print_text(product, "MINUIT", (cx - 110, top + 260), 72, (214, 190, 140))
    product = _print_text(product, "eau de parfum 100 ml", (cx - 140, top + 360), 26, (190, 170, 130))
    product = np.clip(product, 0, 255)
    scene = _shade(scene, 1 - 0.5 * _blob(h, w, (cx, by - 4), (bw * 0.55, 12), 8))
    scene = _reflection(scene, product, cover, int(by), strength=reflection, length=320)
    scene = _over(scene, product, cover)
    return _camera(scene, cover, rng, light=(0.35, 0.3), falloff=0.15)


def perfume_on_dark_table(seed: int = 0, *, reflection: float = 0.35) -> Case:
    """A dark glass bottle on a dark wooden tabletop with its reflection under it: the
    product's dark base and its reflection are nearly one colour, so a cut at the base
    can take a bite out of the bottle. ``reflection`` is the table's gloss (the mirrored
    bottle's strength at the base); at 0.55 the reflection is strong enough to be
    found and cut at the base. Not in ``CASES``: the evidence and base tests use it."""
    photo, alpha = _perfume_on_dark_table(np.random.default_rng(seed), reflection)
    return Case(
        name="perfume_on_dark_table",
        photo=photo,
        alpha=alpha,
        refuse=False,
        notes="dark bottle on dark wood, reflection the colour of its base",
    )


def _keyring_tag_on_sweep(rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    w, h = 2048, 1536
    ys, xs = _grid(h, w)
    scene = _sweep(h, w, (226, 228, 232), (238, 238, 238), bend=0.6)
    cx, cy, tw, th = 1000.0, 760.0, 560.0, 300.0
    hole = (cx - tw / 2 + 100, cy, 30.0)  # the punched hole's centre and radius

    def tag(d: ImageDraw.ImageDraw, s: float) -> None:
        # a leather key tag lying flat, a round hole punched near its left end
        d.rounded_rectangle(
            _box(cx - tw / 2, cy - th / 2, cx + tw / 2, cy + th / 2, s), radius=70 * s, fill=255
        )
        hx, hy, r = hole
        d.ellipse(_box(hx - r, hy - r, hx + r, hy + r, s), fill=0)

    cover = _coverage((w, h), tag)
    grain = 1 + 0.04 * _smooth_noise(rng, h, w, 6) + 0.05 * _smooth_noise(rng, h, w, 120)
    leather = np.array([120, 70, 38], np.float32) * grain[..., None]
    # a stitched border and an embossed word, both of the leather's own darker shade
    stitch = _coverage(
        (w, h),
        lambda d, s: d.rounded_rectangle(
            _box(cx - tw / 2 + 24, cy - th / 2 + 24, cx + tw / 2 - 24, cy + th / 2 - 24, s),
            radius=50 * s,
            outline=255,
            width=round(4 * s),
        ),
    )
    leather = _over(leather, leather * 0.6, stitch)
    product = _print_text(leather, "HOME", (cx - 60, cy - 40), 72, (70, 40, 22))
    scene = _stage(
        scene, product, cover, [(_blob(h, w, (cx + 20, cy + 20), (tw * 0.52, th * 0.55), 24), 0.2)]
    )
    return _camera(scene, cover, rng, light=(0.3, 0.2), falloff=0.15)


def keyring_tag_on_sweep(seed: int = 0) -> Case:
    """A leather key tag on a pale sweep with a round hole punched through it (30 px in
    radius, 1.8 % of the tag): the sweep shows through the hole, and a cutout must leave
    it open. Not in ``CASES``: the editor's hole tests use it."""
    photo, alpha = _keyring_tag_on_sweep(np.random.default_rng(seed))
    return Case(
        name="keyring_tag_on_sweep",
        photo=photo,
        alpha=alpha,
        refuse=False,
        notes="leather key tag with a small punched hole on a pale sweep",
    )


# --- variants of a case: a matte or photo split in two pieces ----------------------------


def _band(case: Case, at: float, height: float) -> slice:
    """Rows of a band across the product, ``at`` of its height from its top."""
    x, y, w, h = case.box
    y0 = y + int(at * h)
    return slice(y0, y0 + max(2, int(height * h)))


def band_left_out(case: Case, *, at: float = 0.55, height: float = 0.08) -> np.ndarray:
    """The exact matte less a band across the whole product (``height`` of its height):
    what a cut returns when it drops a band of the product close to the set's colour."""
    alpha = case.alpha.copy()
    alpha[_band(case, at, height)] = 0.0
    return alpha


def with_gap(case: Case, *, at: float = 0.55, height: float = 0.08) -> tuple[Image.Image, np.ndarray]:
    """(photo, alpha) of the product with a see-through gap across it: the same band as
    ``band_left_out`` shows the set (each row blended from the set just left and right
    of the product, with the set's own grain), and the matte leaves it out."""
    photo = np.asarray(case.photo).astype(np.float32).copy()
    x, y, w, h = case.box
    rows = _band(case, at, height)
    left = np.median(photo[rows, max(x - 40, 0) : max(x - 10, 1)], axis=1)
    right = np.median(photo[rows, x + w + 10 : x + w + 40], axis=1)
    span = np.arange(x - 10, x + w + 10)
    t = ((span - span[0]) / (span.size - 1))[None, :, None]
    patch = photo[rows, 20 : 20 + span.size]  # the set's grain, from the photo's left side
    grain = patch - cv2.blur(patch, (9, 9))
    photo[rows, span[0] : span[-1] + 1] = left[:, None] * (1 - t) + right[:, None] * t + grain
    alpha = case.alpha.copy()
    alpha[rows] = 0.0
    return Image.fromarray(np.clip(np.rint(photo), 0, 255).astype(np.uint8), "RGB"), alpha


def side_by_side(case: Case, *, gap: float = 0.15) -> tuple[Image.Image, np.ndarray]:
    """(photo, alpha) of two of the product side by side on the set, ``gap`` of its
    width apart (a second copy pasted beside the first by its exact matte). The copy
    goes to the right, or to the left where it does not fit there; where it fits on
    neither side, the photo is widened on the side with more room by the set beside
    that edge, mirrored back and forth, so both products are whole (none wraps around
    the frame)."""
    photo = np.asarray(case.photo).astype(np.float32)
    alpha = case.alpha
    x, _, w, _ = case.box
    dx = int(w * (1 + gap))
    width = photo.shape[1]
    if x + w + dx >= width - 10 and x - dx < 10:
        margin = 10 + int(0.1 * w)
        if width - (x + w) >= x:
            extra = x + w + dx + margin - width
            photo = np.concatenate([photo, _mirrored(photo[:, x + w + 10 :], extra)], axis=1)
            alpha = np.pad(alpha, ((0, 0), (0, extra)))
        else:
            extra = margin + dx - x
            photo = np.concatenate([_mirrored(photo[:, : x - 10][:, ::-1], extra)[:, ::-1], photo], axis=1)
            alpha = np.pad(alpha, ((0, 0), (extra, 0)))
            x += extra
        width = photo.shape[1]
    if x + w + dx >= width - 10:
        dx = -dx
    moved = np.roll(alpha, dx, axis=1)
    out = photo * (1 - moved[..., None]) + np.roll(photo, dx, axis=1) * moved[..., None]
    photo_out = Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")
    return photo_out, np.maximum(alpha, moved)


def _mirrored(strip: np.ndarray, columns: int) -> np.ndarray:
    """``columns`` columns that continue ``strip`` (h, n, 3) past its right end: its
    columns mirrored back and forth."""
    return np.pad(strip, ((0, 0), (0, columns), (0, 0)), mode="symmetric")[:, strip.shape[1] :]


# name -> (builder, must refuse, what makes it hard)
_BUILDERS: dict[str, tuple[Callable[[np.random.Generator], tuple[Image.Image, np.ndarray]], bool, str]] = {
    "bag_on_white_sweep": (
        _bag_on_white_sweep,
        False,
        "contact and cast shadow, floor reflection, handle hole",
    ),
    "white_jar_on_white": (_white_jar_on_white, False, "white product on white, shadow wings at the base"),
    "box_in_corner": (_box_in_corner, False, "two-tone wall corner, grey floor, floor line behind the box"),
    "carton_on_tabletop": (_carton_on_tabletop, False, "beige tabletop, wall behind, table front edge"),
    "gradient_sweep": (_gradient_sweep, False, "coloured gradient sweep, soft shadow"),
    "dark_on_dark": (_dark_on_dark, False, "black bottle with rim light on charcoal"),
    "mug_with_handle": (_mug_with_handle, False, "backdrop showing through the handle"),
    "glossy_vase": (_glossy_vase, False, "clipped specular highlights reaching the silhouette, reflection"),
    "cut_by_frame": (_cut_by_frame, False, "bottle running out of the bottom of the frame"),
    "busy_styled_set": (_busy_styled_set, True, "candle among props on linen and wood"),
}
CASES: tuple[str, ...] = tuple(_BUILDERS)


@functools.lru_cache(maxsize=16)
def make_case(name: str, seed: int = 0) -> Case:
    """The photo ``name`` (one of ``CASES``) and its exact matte; same seed, same pixels."""
    builder, refuse, notes = _BUILDERS[name]
    rng = np.random.default_rng(seed * 1000 + CASES.index(name))
    photo, alpha = builder(rng)
    return Case(name=name, photo=photo, alpha=alpha, refuse=refuse, notes=notes)


def without_face(case: Case, face: str) -> np.ndarray:
    """``case``'s exact matte (float32 coverage) less one face of its product, as its
    builder drew it: ``"side"`` of the carton (above its band) or of the kraft box,
    ``"lid"`` of the white jar. A cut that left that face out."""
    builder = _BUILDERS[case.name][0]
    faces: dict[str, np.ndarray] = {}
    builder(np.random.default_rng(CASES.index(case.name)), faces=faces)  # type: ignore[call-arg]
    return np.clip(case.alpha - faces[face], 0.0, 1.0).astype(np.float32)


def write_cases(out: Path, names: Iterable[str], make: Callable[[str], Case]) -> None:
    """Each named case's photo (JPEG) and exact matte (PNG) into ``out``, to look at."""
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        case = make(name)
        case.photo.save(out / f"{name}.jpg", quality=95)
        Image.fromarray(np.rint(case.alpha * 255).astype(np.uint8), "L").save(out / f"{name}_mask.png")
        print(f"{name}: {case.photo.width}x{case.photo.height}, {case.notes}")


def main(argv: list[str]) -> int:
    write_cases(Path(argv[0] if argv else "photoset"), CASES, make_case)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
