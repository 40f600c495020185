"""Set pieces: the arch panel on the wall and the podium the product stands on."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from generation.sets import textures
from generation.sets.look import Look, side_light
from generation.sets.shadows import SHADOW_TINT, Shadow, cast_density, darken
from generation.sets.shapes import coverage_box, ellipse_sd, podium_cover
from generation.sets.stage import PodiumGeometry, Stage
from generation.sets.textures import set_blur, times
from generation.types import PlacedProduct

F32 = np.float32


def arch_foot(horizon: float, contact: float) -> float:
    """The canvas row the wall's arch panel stands on (the floor's ``horizon`` and
    ``contact`` rows): a little below the horizon, on the floor in front of the wall (a
    clip moves the floor rows above it with the wall)."""
    return horizon + 0.12 * (contact - horizon)


def arch_geometry(look: Look, stage: Stage, canvas: tuple[int, int]) -> tuple[float, float, float, float]:
    """The wall's arch panel on the canvas: (centre x, radius, top row, bottom row)."""
    arch = look.theme.backdrop.arch
    assert arch is not None
    cw, ch = canvas
    # sized on the shorter side, but always wider than what stands in front of it
    front = 2.0 * stage.podium.rx if stage.podium is not None else stage.box[2]
    aw = min(max(arch.width * min(cw, ch), 1.15 * front), 0.95 * cw)
    cx = stage.box[0] + stage.box[2] / 2.0 + arch.offset * cw * (-1.0 if look.mirrored else 1.0)
    r = aw / 2.0
    # behind an off-centre product it slides inwards rather than run off the frame's side
    margin = 0.025 * cw
    cx = float(np.clip(cx, min(r + margin, cw / 2.0), max(cw - r - margin, cw / 2.0)))
    bottom = arch_foot(stage.horizon, stage.contact)
    top = max(stage.horizon - arch.height * ch, 0.06 * ch)
    top = min(top, bottom - r * 1.2)
    return cx, r, top, bottom


def draw_arch(img: np.ndarray, look: Look, stage: Stage, canvas: tuple[int, int]) -> None:
    arch = look.theme.backdrop.arch
    assert arch is not None
    cw, ch = canvas
    cx, r, top, bottom = arch_geometry(look, stage, canvas)
    spring = top + r  # where the round top meets the straight sides
    side = -math.cos(math.radians(look.azimuth))
    sh_dx, sh_blur = side * 0.018 * cw, 0.02 * min(cw, ch)
    x0 = int(max(0, cx - r - abs(sh_dx) - 3 * sh_blur))
    x1 = int(min(cw, cx + r + abs(sh_dx) + 3 * sh_blur + 1))
    y0 = int(max(0, top - 3 * sh_blur))
    y1 = int(min(ch, bottom + 2))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5

    def shape(cx_: float) -> np.ndarray:
        sides = coverage_box(xx, cx_ - r, cx_ + r)
        rect = sides * np.clip(yy - spring + 0.5, 0, 1)
        dome = np.clip(0.5 - (np.sqrt((xx - cx_) ** 2 + (yy - spring) ** 2) - r), 0, 1)
        dome *= np.clip(spring - yy + 0.5, 0, 1)
        return np.clip(rect + dome, 0, 1) * np.clip(bottom - yy + 0.5, 0, 1)

    region = img[y0:y1, x0:x1]
    shadow = set_blur(shape(cx + sh_dx), sh_blur) * arch.shadow
    region *= 1.0 - times(shadow, 1.0 - SHADOW_TINT)
    cover = shape(cx)
    xsn = xx / cw
    color = look.color(arch.color)[None, None, :] * side_light(look, xsn)[..., None]
    # a touch darker towards its foot, where the floor bounce does not reach
    color = color * (1.0 - 0.05 * np.clip((yy - spring) / max(bottom - spring, 1.0), 0, 1))[..., None]
    region[:] = region * (1.0 - cover[..., None]) + color * cover[..., None]


def draw_podium(img: np.ndarray, look: Look, stage: Stage, canvas: tuple[int, int]) -> None:
    pod = stage.podium
    p = look.theme.podium
    assert pod is not None and p is not None
    cw, ch = canvas
    # shadows the podium throws on the floor first, so the podium covers their inside
    for density, origin in podium_shadows(look, stage, canvas):
        darken(img, density, origin)

    x0, x1 = int(max(0, pod.cx - pod.rx - 2)), int(min(cw, pod.cx + pod.rx + 3))
    y0, y1 = int(max(0, pod.top - pod.ry - 2)), int(min(ch, pod.bottom + pod.ry + 3))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5
    top, body = podium_cover(pod, xx, yy)
    unit = min(cw, ch) / 1000.0
    palette = [look.color(c) for c in p.colors]
    tex = textures.material(
        p.material, (xx - pod.cx) / unit, (yy - pod.top) / unit, palette, look.rng("podium"), 1.0 / unit
    )
    lv = look.light_vector
    soft = look.theme.light.softness
    if pod.shape == "cylinder":
        s = np.clip((xx - pod.cx) / pod.rx, -1.0, 1.0)
        ndl = s * lv[0] + np.sqrt(1.0 - s * s) * lv[2]
    else:
        # a flat front face: lit evenly, but a box reads as a box when its top is brighter
        ndl = np.full_like(xx, lv[2] - 0.25)
    # half-Lambert, softened by the light's size: big softboxes wrap round the podium
    wrap = 0.35 + 0.4 * soft
    front = 0.8 + 0.28 * np.clip((ndl + wrap) / (1.0 + wrap), 0, 1) ** 1.5
    front = front * (1.0 - 0.07 * np.clip((yy - pod.top) / max(pod.height, 1.0), 0, 1))
    top_shade = 0.94 + 0.14 * float(lv[1])
    # a fine highlight along the front lip of the top face catches the light
    if pod.shape == "cylinder":
        sd = ellipse_sd(xx, yy, pod.cx, pod.top, pod.rx, pod.ry)
        lip = np.exp(-((sd / 1.3) ** 2)) * (yy > pod.top)
    else:
        lip = np.exp(-(((yy - (pod.top + pod.ry)) / 1.3) ** 2)) * coverage_box(
            xx, pod.cx - pod.rx, pod.cx + pod.rx
        )
    region = img[y0:y1, x0:x1]
    tex = tex * look.light_tint
    top_col = tex * top_shade * (1.0 + 0.06 * lip)[..., None]
    body_col = tex * front[..., None]
    region[:] = (
        region * (1.0 - (top + body))[..., None] + top_col * top[..., None] + body_col * body[..., None]
    )


def podium_shadows(look: Look, stage: Stage, canvas: tuple[int, int]) -> list[Shadow]:
    """The shadows the stage's podium throws on the floor, as ``draw_podium`` darkens the
    set with them one after the other: its cast shadow, then its occlusion where it stands."""
    pod = stage.podium
    assert pod is not None
    out: list[Shadow] = []
    cast = cast_density(_podium_silhouette(pod, canvas), look, base_y=pod.bottom + 0.5 * pod.ry)
    if (box := cast.getbbox()) is not None:
        out.append((np.asarray(cast.crop(box), dtype=F32) / 255.0, box[:2]))
    out.append(_ellipse_shadow(canvas, pod, look))
    return out


def _podium_silhouette(pod: PodiumGeometry, canvas: tuple[int, int]) -> PlacedProduct:
    cw, ch = canvas
    x0, x1 = int(max(0, pod.cx - pod.rx - 2)), int(min(cw, pod.cx + pod.rx + 3))
    y0, y1 = int(max(0, pod.top - pod.ry - 2)), int(min(ch, pod.bottom + pod.ry + 3))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5
    top, body = podium_cover(pod, xx, yy)
    alpha = (np.clip(top + body, 0, 1) * 255 + 0.5).astype(np.uint8)
    layer = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
    layer.putalpha(Image.fromarray(alpha, "L"))
    return PlacedProduct(layer=layer, box=(x0, y0, x1 - x0, y1 - y0), canvas_size=canvas)


def _ellipse_shadow(
    canvas: tuple[int, int], pod: PodiumGeometry, look: Look
) -> tuple[np.ndarray, tuple[int, int]]:
    """Soft occlusion where the podium stands on the floor: (density 0..1, its origin)."""
    cw, ch = canvas
    blur = max(1.0, 0.06 * pod.rx)
    x0 = int(max(0, pod.cx - pod.rx * 1.2 - 3 * blur))
    x1 = int(min(cw, pod.cx + pod.rx * 1.2 + 3 * blur))
    y0 = int(max(0, pod.bottom - 2 * pod.ry))
    y1 = int(min(ch, pod.bottom + 2 * pod.ry + 3 * blur))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0), dtype=F32), (0, 0)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(F32) + 0.5
    sd = ellipse_sd(xx, yy, pod.cx, pod.bottom + 0.1 * pod.ry, pod.rx * 1.04, pod.ry * 1.25)
    inside = np.clip(0.5 - sd, 0, 1)
    return set_blur(inside, blur) * look.theme.contact_shadow.strength, (x0, y0)
