"""Text colour for contrast against what is actually behind it, else a scrim, plate or gradient.

Each free-standing text first tries its template colour, then ink, then paper; the
first that meets the WCAG ratio for its size wins. A group whose text no colour can
carry gets a scrim or a plate (the template's ``contrast_fix``) at rising opacity,
and a solid plate as the last step, which always carries ink or paper; or, with
``gradient``, a wash from the canvas's edge behind the group's whole column (solid
where the words are, as the last step), in the set's own tone. On a fix a text
never keeps a template colour of the fix's own colour family (``same_family``): it takes
ink or paper there, as a filled button's label does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from PIL import Image

from generation.posters import decor
from generation.posters.checks import (
    BUSY_LIMIT,
    Element,
    Samples,
    contrast_tile,
    luminance,
    required_ratio,
    worst_contrast,
)
from generation.posters.geometry import Keepout, box_hits, intersects, union_box
from generation.posters.palette import PAPER, Palette, deep
from generation.posters.slots import Slot
from generation.posters.spec import RGB
from generation.posters.template import Template
from generation.types import Box
from generation.typography.draw import text_mask

F32 = np.float32

# opacity ladders: a plate reads as a designed element only when it is fairly solid (a
# brand-coloured plate at 60 % over a light set is a muddy wash); a little of the set shows
# through from 80 %
FIX_OPACITIES = {
    "plate": (0.8, 0.88, 0.94), "scrim": (0.45, 0.6, 0.75, 0.88), "gradient": (0.45, 0.6, 0.75, 0.88, 1.0),
}  # fmt: skip


def plan_for(slot: Slot) -> dict[str, Any]:
    """How ``slot``'s text will be drawn: its coverage ``mask`` (set once, painted
    later), the ``ink`` box it covers, and (filled in by ``choose_colors``) its colour."""
    mask, ink = _coverage(slot)
    return {
        "mask": mask, "ink": ink, "color": None, "ratio": 0.0, "required": 4.5, "passed": False, "fix": None,
    }  # fmt: skip


def _coverage(slot: Slot) -> tuple[Image.Image | None, Box]:
    """The text's coverage over ``slot.box`` and the box its ink takes on the canvas."""
    assert slot.block is not None
    x, y, w, h = slot.box
    if slot.extra.get("rotated"):
        # a label along a corner band: an upright square on the band around its centre
        return None, slot.extra["sample"]
    mask = text_mask(slot.block, (max(1, w), max(1, h)), valign=slot.valign)
    ink = mask.getbbox()
    if ink is None:
        return mask, (x, y, max(1, w), max(1, h))
    return mask, (x + ink[0], y + ink[1], ink[2] - ink[0], ink[3] - ink[1])


def _candidates(preferred: RGB, palette: Palette, fill: RGB | None = None) -> list[RGB]:
    """The template's colour, then ink, then paper; on a fix (``fill``: a plate's or a
    scrim's colour) not the template's colour when it is of the fill's own colour family,
    which read as a smudge (hero_left's brand-green price on a pale brand-green plate):
    such a text takes ink or paper, as a filled button's label does."""
    out = [] if fill is not None and same_family(preferred, fill) else [preferred]
    for c in (palette.ink, PAPER):
        if c not in out:
            out.append(c)
    return out


FAMILY_CHROMA = 0.05  # a colour whose channels span less (of 255) is a grey: of no family
FAMILY_HUE = 30.0  # degrees: two colours of some chroma closer in hue are one family


def same_family(a: RGB, b: RGB) -> bool:
    """Whether ``a`` and ``b`` are shades or tints of one hue (both of some chroma, their
    hues within ``FAMILY_HUE``): a brand green and its pale tint are; ink and any colour,
    or a gold and a green, are not."""
    hues = []
    for c in (a, b):
        hi, lo = max(c), min(c)
        if (hi - lo) / 255.0 < FAMILY_CHROMA:
            return False
        r, g, bl = c
        d = float(hi - lo)
        if hi == r:
            h = ((g - bl) / d) % 6.0
        elif hi == g:
            h = (bl - r) / d + 2.0
        else:
            h = (r - g) / d + 4.0
        hues.append(60.0 * h)
    gap = abs(hues[0] - hues[1]) % 360.0
    return min(gap, 360.0 - gap) <= FAMILY_HUE


def choose_colors(
    canvas: np.ndarray,
    slots: Iterable[Slot],
    plans: dict[str, dict[str, Any]],
    template: Template,
    palette: Palette,
    short: int,
    samples: Samples,
    fill: RGB | None = None,
) -> None:
    """Each text's colour for contrast with what is behind it (``_candidates``); ``fill``:
    the colour of the plate or scrim they were just given."""
    for slot in slots:
        plan = plans[slot.name]
        assert slot.block is not None
        required = required_ratio(slot.block.size, slot.block.style.weight, short)
        preferred = palette.resolve(template.colors[slot.role])
        if slot.name == "compare_at" and plan.get("color") is None:
            preferred = palette.resolve(template.colors["compare_at"])
        patch, box = as_pixels(canvas, plan["ink"])
        rng = samples.background_range(patch, box, contrast_tile(slot.block.size), at=plan["ink"])
        best: tuple[float, RGB] | None = None
        for color in _candidates(preferred, palette, fill):
            ratio = worst_contrast(color, rng)
            if ratio >= required:
                best = (ratio, color)
                break
            if best is None or ratio > best[0]:
                best = (ratio, color)
        assert best is not None
        plan.update(color=best[1], ratio=best[0], required=required, passed=best[0] >= required)
        if best[1] != preferred:
            plan["fix"] = plan["fix"] or "color"


def is_busy(canvas: np.ndarray, slot: Slot, plan: dict[str, Any], samples: Samples) -> bool:
    """Whether the background under ``slot``'s ink is too busy for text (``checks.busyness``)."""
    assert slot.block is not None
    patch, box = as_pixels(canvas, plan["ink"])
    return samples.busyness(patch, box, slot.block.size, at=plan["ink"]) > BUSY_LIMIT


def as_pixels(canvas: np.ndarray, box: Box) -> tuple[np.ndarray, Box]:
    """The 8-bit pixels of the float ``canvas`` under ``box`` (clipped to it), and
    ``box`` relative to them: only what is sampled is converted."""
    x, y, w, h = box
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    patch = np.clip(canvas[y0:y1, x0:x1] + 0.5, 0, 255).astype(np.uint8)
    return patch, (x - x0, y - y0, w, h)


def fill_outline_buttons(
    slots: Iterable[Slot], failing: list[Slot], plans: dict[str, dict[str, Any]], fixes: list[str]
) -> list[Slot]:
    """An outlined button whose label fails (no colour carries it, or the set under it is
    busy) becomes a filled button in the template's button colour, its label inside it
    (given ink or paper with the other labels on fills): a designed button, not a scrim or
    plate inside its outline. The labels so taken in, which need no other fix."""
    pills = {s.name: s for s in slots if s.kind == "pill"}
    filled = []
    for slot in failing:
        pill = pills.get(slot.name.removesuffix("_label")) if slot.name.endswith("_label") else None
        if pill is None or pill.extra.get("style") != "outline":
            continue
        pill.extra["style"] = "filled"
        slot.parent = pill.name
        plans[slot.name]["fix"] = "button"
        fixes.append(f"{slot.name}: filled button")
        filled.append(slot)
    return filled


def fix_contrast(
    canvas: np.ndarray, failing: list[Slot], free: list[Slot], plans: dict[str, dict[str, Any]], template: Template,
    palette: Palette, short: int, keepout: np.ndarray | Keepout, fixes: list[str], samples: Samples,
) -> list[Element]:  # fmt: skip
    """Scrim or plate behind each group that has text no colour can carry or text over
    busy detail; re-check."""
    elements: list[Element] = []
    by_group: dict[int, list[Slot]] = {}
    for slot in failing:
        by_group.setdefault(slot.group, []).append(slot)
    pad = round(PLATE_PAD * short)
    runs: list[tuple[int, list[Slot]]] = []
    for group, slots in by_group.items():
        members = [s for s in free if s.group == group] if group >= 0 else slots
        # one fix per run of the group's texts that stand close together (a column's
        # message and its price far below it get two plates, not one slab across the gap);
        # a run none of whose texts fails needs none
        # a gradient washes in from the canvas's edge behind the group's whole column
        group_runs = [members] if template.contrast_fix == "gradient" else _runs(members, plans, 2 * pad)
        for run in group_runs:
            if any(s is f for s in run for f in slots):
                runs.append((group, run))
    fixed: set[str] = set()  # texts a fix has been drawn for
    for n, (group, members) in enumerate(runs):
        members = [s for s in members if s.name not in fixed]
        if not members:  # taken into an earlier run's fix
            continue
        while True:
            kind, opacity, box, touched, before = _draw_fix(
                canvas, members, plans, template, palette, short, keepout, samples, pad
            )
            # a fix's edge (a scrim's feather, a plate's padding) can run under a text
            # beside it that passed before: that text joins the run and the fix is drawn
            # again round all of them (a text that failed already has a run of its own)
            spoiled = [
                s for s in free
                if s.name not in fixed and all(s is not m for m in members + failing)
                and _spoiled(canvas, s, plans[s.name], touched, samples)
            ]  # fmt: skip
            if not spoiled:
                break
            tx, ty, tw, th = touched
            canvas[ty : ty + th, tx : tx + tw] = before
            members = _with_overlapped(members + spoiled, free, fixed, plans)
        for s in members:
            plans[s.name]["fix"] = kind
            fixed.add(s.name)
        fixes.append(f"{'+'.join(s.name for s in members)}: {kind} {opacity:.0%}")
        name = f"{kind}_{group}" if all(g != group for g, _ in runs[n + 1 :]) else f"{kind}_{group}_{n}"
        elements.append(Element(name, "plate", box))
    return elements


def _draw_fix(
    canvas: np.ndarray, members: list[Slot], plans: dict[str, dict[str, Any]], template: Template,
    palette: Palette, short: int, keepout: np.ndarray | Keepout, samples: Samples, pad: int,
) -> tuple[str, float, Box, Box, np.ndarray]:  # fmt: skip
    """Draw the lightest scrim or plate behind ``members`` that lets them all pass (a
    solid plate if none does) and choose their colours on it: the fix's kind, opacity
    and box, the part of the canvas it can touch, and that part as it was before."""
    union = union_box([plans[s.name]["ink"] for s in members])
    box = _clear_pad_box(union, pad, canvas.shape, keepout)
    kind = template.contrast_fix
    if kind == "gradient":
        wash = _wash(union, pad, short, canvas.shape)
        if not box_hits(keepout, wash[0]):
            return _draw_wash(canvas, members, plans, template, palette, short, samples, wash, box)
        kind = "scrim"  # the words' side of the canvas holds part of the product: a veil behind them alone
    if kind == "plate":
        # light text on a dark plate unless the template's text is light already
        dark_text = luminance(palette.resolve(template.colors[members[0].role])) < 0.4
        # a plate is a designed element: the brand's own hue, a deep shade behind light
        # text and a pale tint behind dark text (a near-black or near-white plate over a
        # light set read as a flat grey slab)
        fill_color = brand_tint(palette.brand) if dark_text else brand_shade(palette.brand)
    else:
        # a scrim is a veil towards the set's own tone, the text then in the ink that
        # reads on it: a light veil that calms a light set's veins, a dark one on a dark
        # set (a dark scrim over a light set read as a grey slab, the text beside it dark)
        patch, _ = as_pixels(canvas, box)
        light_ground = float(np.median(luminance(patch.reshape(-1, 3)))) > GROUND_SPLIT
        fill_color = (250, 250, 248) if light_ground else deep(palette.brand)
    # each try is drawn on the canvas itself and taken back if it fails: only the
    # part a fix can touch is kept aside, not a copy of the whole canvas per try
    touched = pad_box(box, _fix_reach(short), canvas.shape)
    tx, ty, tw, th = touched
    before = canvas[ty : ty + th, tx : tx + tw].copy()
    shape = _fix_shape(kind, box, pad, short, _cores([plans[s.name]["ink"] for s in members], box, pad))
    for opacity in FIX_OPACITIES[kind]:
        _apply_fix(canvas, kind, box, fill_color, opacity, pad, short, shape)
        choose_colors(canvas, members, plans, template, palette, short, samples, fill_color)
        if all(plans[s.name]["passed"] and not is_busy(canvas, s, plans[s.name], samples) for s in members):
            return kind, opacity, box, touched, before
        canvas[ty : ty + th, tx : tx + tw] = before
    # a solid plate always carries ink or paper
    _apply_fix(canvas, "plate", box, fill_color, 1.0, pad, short)
    choose_colors(canvas, members, plans, template, palette, short, samples, fill_color)
    return "plate", 1.0, box, touched, before


WASH_REACH = 0.3  # how far a gradient fades out past its words, of the shorter side


def _wash(union: Box, pad: int, short: int, shape: tuple[int, ...]) -> tuple[Box, Box, np.ndarray]:
    """A gradient behind the words in ``union``: from the canvas's edge on their side (the
    side their centre lies furthest towards, for the canvas's size) at full strength to
    ``pad`` past their far side, then fading as a smoothstep to nothing ``WASH_REACH`` of
    the shorter side further, across the whole canvas. (its full part's box, its tile's
    box, its coverage over the tile)."""
    H, W = shape[:2]
    x, y, w, h = union
    dx, dy = (x + w / 2) / W - 0.5, (y + h / 2) / H - 0.5
    reach = max(8, round(WASH_REACH * short))
    if abs(dx) >= abs(dy):
        n, far = W, (x + w + pad if dx < 0 else W - x + pad)
    else:
        n, far = H, (y + h + pad if dy < 0 else H - y + pad)
    far = min(far, n)
    end = min(far + reach, n)
    d = np.arange(end, dtype=F32) + F32(0.5)  # from the edge the wash comes in at
    t = np.clip(F32(1.0) - (d - F32(far)) / F32(reach), 0.0, 1.0)
    ramp = t * t * (F32(3.0) - F32(2.0) * t)
    if abs(dx) >= abs(dy):
        full: Box = (0, 0, far, H) if dx < 0 else (W - far, 0, far, H)
        tile: Box = (0, 0, end, H) if dx < 0 else (W - end, 0, end, H)
        mask = np.broadcast_to((ramp if dx < 0 else ramp[::-1])[None, :], (H, end))
    else:
        full = (0, 0, W, far) if dy < 0 else (0, H - far, W, far)
        tile = (0, 0, W, end) if dy < 0 else (0, H - end, W, end)
        mask = np.broadcast_to((ramp if dy < 0 else ramp[::-1])[:, None], (end, W))
    return full, tile, np.ascontiguousarray(mask)


def _draw_wash(
    canvas: np.ndarray, members: list[Slot], plans: dict[str, dict[str, Any]], template: Template,
    palette: Palette, short: int, samples: Samples, wash: tuple[Box, Box, np.ndarray], box: Box,
) -> tuple[str, float, Box, Box, np.ndarray]:  # fmt: skip
    """``_draw_fix`` for a gradient: the lightest wash (``_wash``) in the set's own tone
    that lets every text of ``members`` pass, the last one solid where the words are.
    The fix's box is ``box``, round the words, as a scrim's: the wash beyond it is the
    set's light, free to run under a platform's UI zone like the set itself."""
    full, tile, mask = wash
    patch, _ = as_pixels(canvas, full)
    light_ground = float(np.median(luminance(patch.reshape(-1, 3)))) > GROUND_SPLIT
    fill_color = (250, 250, 248) if light_ground else deep(palette.brand)
    tx, ty, tw, th = tile
    before = canvas[ty : ty + th, tx : tx + tw].copy()
    for opacity in FIX_OPACITIES["gradient"]:
        decor.wash(canvas, mask, (tx, ty), fill_color, opacity)
        choose_colors(canvas, members, plans, template, palette, short, samples, fill_color)
        if all(plans[s.name]["passed"] and not is_busy(canvas, s, plans[s.name], samples) for s in members):
            break
        if opacity < FIX_OPACITIES["gradient"][-1]:
            canvas[ty : ty + th, tx : tx + tw] = before
    return "gradient", opacity, box, tile, before


def _with_overlapped(
    members: list[Slot], free: list[Slot], fixed: set[str], plans: dict[str, dict[str, Any]]
) -> list[Slot]:
    """``members`` and every other text (not fixed yet) whose ink their union box
    overlaps, until none more does: a fix is never drawn through part of a text."""
    members = list(members)
    while True:
        union = union_box([plans[s.name]["ink"] for s in members])
        more = [
            s for s in free
            if s.name not in fixed and all(s is not m for m in members) and intersects(plans[s.name]["ink"], union)
        ]  # fmt: skip
        if not more:
            return sorted(members, key=lambda s: plans[s.name]["ink"][1])
        members += more


def _spoiled(canvas: np.ndarray, slot: Slot, plan: dict[str, Any], touched: Box, samples: Samples) -> bool:
    """Whether ``slot``'s text, under part of ``touched`` (where a fix was drawn), fails
    there now: its colour short of its ratio or the background under it too busy."""
    if plan["color"] is None or not intersects(plan["ink"], touched):
        return False
    assert slot.block is not None
    patch, box = as_pixels(canvas, plan["ink"])
    rng = samples.background_range(patch, box, contrast_tile(slot.block.size), at=plan["ink"])
    return worst_contrast(plan["color"], rng) < plan["required"] or is_busy(canvas, slot, plan, samples)


GROUND_SPLIT = 0.18  # WCAG luminance where ink and paper read alike: a lighter set gets a light scrim
PLATE_PAD = 0.018  # a fix's padding round its texts' ink, of the shorter side
SHADE_LUMINANCE = 0.04  # a brand shade behind light text is at most this light (WCAG luminance)
TINT_LUMINANCE = 0.82  # a brand tint behind dark text is at least this light


def brand_shade(brand: RGB) -> RGB:
    """``brand`` darkened, its hue kept, to ``SHADE_LUMINANCE`` at most (a brand that dark
    already is kept): the plate behind light text."""
    k = 1.0
    shade = brand
    while luminance(shade) > SHADE_LUMINANCE and k > 0.05:
        k *= 0.9
        shade = (round(brand[0] * k), round(brand[1] * k), round(brand[2] * k))
    return shade


def brand_tint(brand: RGB) -> RGB:
    """``brand`` mixed with white to ``TINT_LUMINANCE`` at least, keeping a trace of its
    hue: the plate behind dark text."""
    t = 0.8
    tint = brand
    while True:
        tint = (round(255 - (255 - brand[0]) * (1 - t)), round(255 - (255 - brand[1]) * (1 - t)),
                round(255 - (255 - brand[2]) * (1 - t)))  # fmt: skip
        if luminance(tint) >= TINT_LUMINANCE or t >= 0.98:
            return tint
        t += 0.02


def _runs(members: list[Slot], plans: dict[str, dict[str, Any]], gap: int) -> list[list[Slot]]:
    """``members`` in runs down the canvas: a text more than ``gap`` below the run
    above it (by ink) starts a new run."""
    order = sorted(members, key=lambda s: plans[s.name]["ink"][1])
    runs: list[list[Slot]] = []
    bottom = 0
    for s in order:
        x, y, w, h = plans[s.name]["ink"]
        if not runs or y > bottom + gap:
            runs.append([])
            bottom = y + h
        runs[-1].append(s)
        bottom = max(bottom, y + h)
    return runs


def _feather(short: int) -> float:
    return max(2.0, 0.03 * short)


def _fix_reach(short: int) -> int:
    """How far outside its box a fix draws: a scrim's feathered edge (a plate draws
    inside its box)."""
    return decor.scrim_pad(_feather(short))


def _fix_shape(kind: str, box: Box, pad: int, short: int, cores: list[Box]) -> np.ndarray:
    """The coverage a fix of ``kind`` draws through, made once for all its opacities: a
    scrim shaped to its text block (``cores``), a plate filling its box."""
    _, _, w, h = box
    if kind == "scrim":
        return decor.block_scrim_mask(w, h, cores, _fix_reach(short))
    return decor.rounded_rect(w, h, min(pad, h / 2))


def _cores(inks: list[Box], box: Box, pad: int) -> list[Box]:
    """Where a scrim over ``box`` is at full strength, relative to ``box``: each text's ink
    padded by ``pad`` (inside ``box``, which stays off the product), and the gap between
    two texts one under the other across their common width, so that the block reads as
    one shape and not as a stack of bars."""
    bx, by, bw, bh = box

    def clip(x0: int, y0: int, x1: int, y1: int) -> Box | None:
        x0, y0, x1, y1 = max(x0, bx), max(y0, by), min(x1, bx + bw), min(y1, by + bh)
        return (x0 - bx, y0 - by, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None

    spans = sorted(((x - pad, y - pad, x + w + pad, y + h + pad) for x, y, w, h in inks), key=lambda b: b[1])
    cores = [c for b in spans if (c := clip(*b)) is not None]
    for a, b in zip(spans, spans[1:], strict=False):
        x0, x1 = max(a[0], b[0]), min(a[2], b[2])
        if x1 > x0 and b[1] > a[3]:
            if (c := clip(x0, a[3], x1, b[1])) is not None:
                cores.append(c)
    return cores or [(0, 0, bw, bh)]


def _apply_fix(
    canvas: np.ndarray, kind: str, box: Box, color: RGB, opacity: float, pad: int, short: int,
    shape: np.ndarray | None = None,
) -> None:  # fmt: skip
    x, y, w, h = box
    if kind == "scrim":
        decor.scrim(canvas, box, color, opacity, feather=_feather(short), mask=shape)
    else:
        mask = decor.rounded_rect(w, h, min(pad, h / 2)) if shape is None else shape
        decor.fill(canvas, mask, (x, y), color, opacity)


def _clear_pad_box(box: Box, pad: int, shape: tuple[int, ...], keepout: np.ndarray | Keepout) -> Box:
    """``box`` padded by ``pad`` on every side that stays off the product's keep-out;
    a side that would touch it is padded as much as stays clear (in quarters of ``pad``),
    so text keeps its plate's padding wherever the product leaves room for it."""
    padded = pad_box(box, pad, shape)
    if not box_hits(keepout, padded):
        return padded
    steps = [round(pad * k / 4) for k in (4, 3, 2, 1, 0)]
    sides = []
    for side in range(4):  # left, top, right, bottom
        for p in steps:
            grown = [0, 0, 0, 0]
            grown[side] = p
            if not p or not box_hits(keepout, _grow(box, grown, shape)):
                sides.append(p)
                break
    padded = _grow(box, sides, shape)
    return pad_box(box, 0, shape) if box_hits(keepout, padded) else padded


def _grow(box: Box, sides: list[int], shape: tuple[int, ...]) -> Box:
    """``box`` grown by ``sides`` (left, top, right, bottom), kept on the canvas."""
    x, y, w, h = box
    H, W = shape[:2]
    x0, y0 = max(0, x - sides[0]), max(0, y - sides[1])
    x1, y1 = min(W, x + w + sides[2]), min(H, y + h + sides[3])
    return (x0, y0, x1 - x0, y1 - y0)


def pad_box(box: Box, pad: int, shape: tuple[int, ...]) -> Box:
    x, y, w, h = box
    H, W = shape[:2]
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(W, x + w + pad), min(H, y + h + pad)
    return (x0, y0, x1 - x0, y1 - y0)
