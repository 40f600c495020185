"""Backdrop (wall) and surface (floor): the set behind and under everything else."""

from __future__ import annotations

import math

import cv2
import numpy as np

from generation.sets import textures
from generation.sets.look import Look, side_light
from generation.sets.pieces import draw_arch
from generation.sets.stage import Stage
from generation.sets.textures import set_blur

F32 = np.float32


def backdrop_and_surface(look: Look, stage: Stage, canvas: tuple[int, int]) -> np.ndarray:
    theme = look.theme
    cw, ch = canvas
    wall, lights = _wall(look, stage, canvas)
    surf = theme.surface
    if surf.edge == "sweep":
        band = max(1.0, surf.sweep_width * ch / 2.0)
    else:
        band = max(0.8, 0.6 * surf.depth_blur * ch)
    y0 = int(max(0, stage.horizon - band - 2))
    floor = _floor(look, stage, canvas, y0)
    if surf.edge == "table":
        # the wall darkens a touch where the table meets it (ambient occlusion)
        above = np.arange(0, ch, dtype=F32) + 0.5
        ao = 1.0 - 0.1 * np.exp(-np.maximum(stage.horizon - above, 0) / (0.02 * ch))
        wall *= ao[:, None, None]
    rows = np.arange(y0, ch, dtype=F32) + 0.5
    if theme.reflection is not None:
        # a glossy floor mirrors the wall, most at grazing angles (Fresnel): its gradient and
        # glow, not its bokeh (mirrored, the discs read as lights lying on the table)
        src = np.clip((2.0 * stage.horizon - rows).astype(np.int64), 0, ch - 1)
        grazing = np.clip(1.0 - (rows - stage.horizon) / max(ch - stage.horizon, 1.0), 0, 1)
        k = (0.8 * theme.reflection.strength * grazing**1.5)[:, None, None]
        floor = floor * (1.0 - k) + set_blur(wall[src], 0.004 * ch) * k
    if lights is not None:
        # the bokeh lies behind the surface: it fades out above the floor line, which hides
        # it, and none of it is left in the band where the wall and the floor blend
        walls = np.arange(ch, dtype=F32) + 0.5
        shown = 1.0 - textures.smoothstep(stage.horizon - 2.0 * band - 1.0, stage.horizon - 0.5, walls)
        wall += lights * shown[:, None, None]
    m = textures.smoothstep(stage.horizon - band, stage.horizon + band, rows)[:, None, None]
    out = wall
    out[y0:] = wall[y0:] * (1.0 - m) + floor * m
    if theme.backdrop.arch is not None:
        draw_arch(out, look, stage, canvas)
    out *= np.tile(look.light_tint, (cw, 1))  # (W, 3): a row loop, not a pixel one
    if theme.backdrop.vignette > 0:
        yy = (np.arange(ch, dtype=F32) + 0.5) / ch - 0.5
        xx = (np.arange(cw, dtype=F32) + 0.5) / cw - 0.5
        r2 = (xx[None, :] ** 2 + yy[:, None] ** 2) * 2.0
        out *= textures.channels(1.0 - theme.backdrop.vignette * textures.smoothstep(0.15, 1.0, r2))
    return out


def _wall(look: Look, stage: Stage, canvas: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """The backdrop at full size, and what its bokeh adds to it (``None`` without bokeh),
    apart: the caller keeps the bokeh above the floor line. Smooth fields are built at
    half size and scaled up."""
    bd = look.theme.backdrop
    cw, ch = canvas
    hw, hh = (cw + 1) // 2, (ch + 1) // 2
    ys = (np.arange(hh, dtype=F32) + 0.5) / hh
    xs = (np.arange(hw, dtype=F32) + 0.5) / hw
    horizon = stage.horizon / ch
    t = np.clip(ys / max(horizon, 1e-3), 0.0, 1.0)
    t = t * t * (3.0 - 2.0 * t) * 0.5 + t * 0.5
    top, bottom = look.color(bd.top), look.color(bd.bottom)
    wall = top[None, None, :] + (bottom - top)[None, None, :] * t[:, None, None]
    wall = np.broadcast_to(wall, (hh, hw, 3)).copy()
    wall *= np.repeat(side_light(look, xs)[:, None], 3, axis=1)  # (W, 3): a row loop, not a pixel one
    product_x = (stage.box[0] + stage.box[2] / 2.0) / cw
    if bd.glow is not None:
        g = bd.glow
        gx = product_x + (g.x - 0.5) * (-1.0 if look.mirrored else 1.0)
        diag = math.hypot(cw, ch)
        dx = (xs - gx) * cw / (g.radius * diag)
        dy = (ys - g.y) * ch / (g.radius * diag)
        pool = np.exp(-(dx[None, :] ** 2 + dy[:, None] ** 2) * 2.0) * g.strength
        wall += (look.color(g.color) - wall) * textures.channels(pool)
    if bd.texture > 0:
        rng = look.rng("wall")
        mottle = textures.screen_noise(rng, (hh, hw), max(8.0, hh / 6)) * 0.6
        mottle += textures.screen_noise(rng, (hh, hw), max(3.0, hh / 40)) * 0.4
        wall *= textures.channels(1.0 + bd.texture * (mottle - 0.5) * 2.0)
    lit = None
    if bd.bokeh is not None:
        colors = [look.color(c) for c in bd.bokeh.colors]
        lit = textures.bokeh(wall, bd.bokeh, colors, look.rng("bokeh"), (hw, hh))
    if bd.window is not None:
        light, _ = textures.window_light(bd.window, (hw, hh), stage.horizon / ch, look.rng("leaves"))
        if look.mirrored:  # the window is on the other side
            light = light[:, ::-1]
        through = 1.0 + textures.times(light, look.color(bd.window.color) / 255.0)
        wall *= through
        if lit is not None:
            lit *= through
    lights = None if lit is None else cv2.resize(lit - wall, (cw, ch), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(wall, (cw, ch), interpolation=cv2.INTER_LINEAR), lights


def _floor(look: Look, stage: Stage, canvas: tuple[int, int], y0: int) -> np.ndarray:
    """The floor from row ``y0`` down, textured in perspective and lit."""
    theme, surf = look.theme, look.theme.surface
    cw, ch = canvas
    rows = np.arange(y0, ch, dtype=F32) + 0.5
    # perspective: texture depth ~ 1/(y - vanishing line); 1 texel = 1 px at the contact row
    vanish = stage.horizon - surf.vanishing * (ch - stage.horizon)
    d_ref = stage.contact - vanish
    # cap the minification towards the horizon: keeps texture lookups bounded (the far
    # floor is out of focus anyway) and rows above the horizon in a sweep's blend valid
    d = np.maximum(rows - vanish, d_ref / 8.0)
    unit = min(cw, ch) / 1000.0 * surf.scale
    xs = np.arange(cw, dtype=F32) + 0.5 - cw / 2.0
    u = (xs[None, :] * (d_ref / d)[:, None]) / unit
    v = np.broadcast_to(((d_ref * d_ref / d) / unit)[:, None], u.shape)
    fp = ((d_ref / d) / unit)[:, None]  # units per pixel across
    fp_v = (d_ref * d_ref / (d * d) / unit)[:, None]  # units per pixel down
    palette = [look.color(c) for c in surf.colors]
    rng = look.rng("floor")
    floor = textures.material(surf.material, u.astype(F32), v.astype(F32), palette, rng, np.maximum(fp, fp_v))

    # light: a pool around the product, the key light's side, a darker front edge
    px = stage.box[0] + stage.box[2] / 2.0
    xsn = (np.arange(cw, dtype=F32) + 0.5) / cw
    dxp = (np.arange(cw, dtype=F32) + 0.5 - px) / (0.55 * cw)
    dyp = (rows - stage.contact) / (0.45 * (ch - stage.horizon) + 1.0)
    pool = np.exp(-(dxp[None, :] ** 2 + dyp[:, None] ** 2))
    glow = theme.backdrop.glow.strength if theme.backdrop.glow else 0.0
    lit = (1.0 + 0.12 * glow * pool) * side_light(look, xsn)[None, :]
    near = np.clip((rows - stage.contact) / max(ch - stage.contact, 1.0), 0.0, 1.0)
    lit *= (1.0 - surf.near_shade * near**1.5)[:, None]
    floor *= textures.channels(lit)
    if theme.backdrop.window is not None:
        hw, hh = (cw + 1) // 2, (ch + 1) // 2
        window = theme.backdrop.window
        _, sun = textures.window_light(window, (hw, hh), stage.horizon / ch, look.rng("leaves"))
        if look.mirrored:
            sun = np.ascontiguousarray(sun[:, ::-1])
        sun = cv2.resize(sun, (cw, ch), interpolation=cv2.INTER_LINEAR)[y0:]
        floor *= 1.0 + textures.times(sun, look.color(theme.backdrop.window.color) / 255.0)

    # depth of field: the far floor goes soft towards the horizon, the near edge slightly
    if surf.depth_blur > 0:
        far = np.clip((stage.contact - rows) / max(stage.contact - stage.horizon, 1.0), 0, 1)
        near_b = np.clip((rows - stage.contact) / max(ch - stage.contact, 1.0), 0, 1)
        sigma = surf.depth_blur * ch * np.maximum(far**1.3, 0.3 * near_b)
        floor = _row_blur(floor, sigma)
    return floor


def _row_blur(img: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Blur whose strength varies by row: a small stack of blurs, interpolated."""
    smax = float(sigma.max())
    if smax < 0.5:
        return img
    levels = [0.0, smax / 3.0, smax * 2.0 / 3.0, smax]
    stack = [img] + [set_blur(img, s) for s in levels[1:]]
    pos = np.clip(sigma / smax * 3.0, 0.0, 3.0)
    out = np.empty_like(img)
    for k in range(3):
        sel = (pos >= k) & (pos <= k + 1) if k == 2 else (pos >= k) & (pos < k + 1)
        if not sel.any():
            continue
        f = (pos[sel] - k)[:, None, None].astype(F32)
        out[sel] = stack[k][sel] * (1.0 - f) + stack[k + 1][sel] * f
    return out
