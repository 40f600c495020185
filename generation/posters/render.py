"""Rendering posters: layout, background, decorations, legible text, the product last.

    poster = render_poster(seg, PosterSpec(template="hero_left", size="story",
                                           headline="Cold for 24 hours", price="199",
                                           currency="CNY", locale="zh_CN"))
    poster.image, poster.layout (JSON-ready), poster.checks.ok

The product is ``seg.cutout`` resized once (``compose.place_product``) to the layout's
product box and pasted back (``compose.paste_back``) after everything else, so its
opaque pixels are the merchant's, bit for bit; ``checks`` verifies it with
``compose.measure_fidelity``. Text is coloured for contrast against what is actually
behind it; when no colour passes, a scrim or plate goes behind it and it is checked
again. ``rerender`` makes the same poster again from its layout JSON with other words
or at another size, without painting a new scene.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generation import compose
from generation.config import GenerationConfig
from generation.encode import encode_image
from generation.errors import InvalidSpec
from generation.posters import backgrounds, decor
from generation.posters.checks import (
    Element,
    PosterChecks,
    background_range,
    check_poster,
    contrast_ratio,
    contrast_tile,
    luminance,
    required_ratio,
    worst_contrast,
)
from generation.posters.fonts import CJK_LANGS, cjk_lang_for, is_cjk_char, normalize_lang
from generation.posters.layout import (
    ColorSpec,
    Content,
    PosterLayout,
    Slot,
    Template,
    box_hits,
    get_template,
    read_template,
    resolve_size,
    solve_layout,
    union_box,
)
from generation.posters.money import discount_percent, format_discount, format_price
from generation.posters.spec import RGB, PosterSpec, to_hex
from generation.posters.text import draw_text
from generation.types import Box, PlacedProduct, RenderedImage, Segmentation

LAYOUT_VERSION = 1
INK: RGB = (20, 20, 24)
PAPER: RGB = (255, 255, 255)
# opacity ladders: a plate reads as a designed element only when it is fairly solid
_FIX_OPACITIES = {"plate": (0.72, 0.86, 0.94), "scrim": (0.45, 0.6, 0.75, 0.88)}


# ---------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class RenderedPoster:
    """A finished poster: the image, everything needed to re-render it, and its checks."""

    image: Image.Image
    layout: dict[str, Any]  # JSON-ready; see ``rerender``
    checks: PosterChecks
    placed: PlacedProduct
    name: str
    template: str
    output_format: str = "png"
    meta: dict[str, Any] = field(default_factory=dict)
    # the poster just before its text was drawn: what the contrast checks sample
    behind: Image.Image | None = field(default=None, compare=False, repr=False)

    def rendered_image(self) -> RenderedImage:
        """As the library's common output type (kind ``poster``) for sidecars and storage."""
        return RenderedImage(
            image=self.image,
            kind="poster",
            name=self.name,
            product_box=self.placed.box,
            fidelity=self.checks.fidelity,
            meta={**self.meta, "checks": self.checks.to_dict()},
        )

    def sidecar(self) -> dict[str, Any]:
        return self.rendered_image().sidecar()

    def layout_json(self) -> str:
        return json.dumps(self.layout, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------
# Colours


@dataclass(frozen=True)
class Palette:
    brand: RGB
    secondary: RGB
    text: RGB

    @property
    def ink(self) -> RGB:
        # the brand's text colour when it is dark enough to count as ink
        return self.text if luminance(self.text) < 0.05 else INK

    def on(self, fill: RGB) -> RGB:
        """Ink or paper, whichever reads better on ``fill``."""
        lf = luminance(fill)
        return PAPER if contrast_ratio(1.0, lf) >= contrast_ratio(luminance(self.ink), lf) else self.ink

    def resolve(self, spec: ColorSpec) -> RGB:
        if spec.role is None:
            base = spec.rgb
        else:
            base = {
                "brand": self.brand, "secondary": self.secondary, "text": self.text,
                "ink": self.ink, "paper": PAPER,
                "on_brand": self.on(self.brand), "on_secondary": self.on(self.secondary),
            }[spec.role]  # fmt: skip
        assert base is not None
        s = spec.shift
        if s >= 0:
            out = tuple(c + (255 - c) * s for c in base)
        else:
            out = tuple(c * (1 + s) for c in base)
        return (round(out[0]), round(out[1]), round(out[2]))

    def to_dict(self) -> dict[str, str]:
        return {
            "brand": to_hex(self.brand),
            "secondary": to_hex(self.secondary),
            "text": to_hex(self.text),
            "ink": to_hex(self.ink),
        }


# ---------------------------------------------------------------------------
# The words: defaults, prices, languages


def _lang(locale: str) -> str:
    return normalize_lang(locale) or "en"


def _lang_for(text: str, base: str) -> str:
    if any(is_cjk_char(ch) for ch in text):
        return cjk_lang_for(text, base if base in CJK_LANGS else None)
    return base if base not in CJK_LANGS else "en"


def build_content(spec: PosterSpec, template: Template) -> Content:
    """The poster's words after defaults, with prices formatted for the locale."""
    locale = spec.effective_locale
    lang = _lang(locale)
    ribbon = spec.ribbon if spec.ribbon is not None else (template.string("ribbon", lang) or "")
    cta = spec.cta if spec.cta is not None else (spec.brand.default_cta or template.string("cta", lang) or "")
    price = format_price(spec.price, spec.currency, locale) if spec.price is not None else ""
    percent = discount_percent(spec.price, spec.compare_at_price) if spec.price is not None else None
    compare = format_price(spec.compare_at_price, spec.currency, locale) if percent else ""
    if spec.badge is not None:
        badge = spec.badge
    else:
        badge = format_discount(percent, locale) if percent else ""
    caption = ""
    if badge and template.badge.shape == "timer":
        # "ENDS IN 23:59:59" for the merchant's own text, another caption over a discount
        key = "caption" if spec.badge else "discount_caption"
        caption = template.string(key, lang) or ""
    words = {
        "headline": spec.headline, "subline": spec.subline, "ribbon": ribbon, "eyebrow": ribbon,
        "price": price, "compare_at": compare, "cta": cta, "badge": badge, "badge_caption": caption,
    }  # fmt: skip
    langs = {k: _lang_for(v, lang) for k, v in words.items() if v}
    return Content(
        headline=spec.headline,
        subline=spec.subline,
        eyebrow=ribbon,
        ribbon=ribbon,
        price=price,
        compare_at=compare,
        cta=cta,
        badge=badge,
        badge_caption=caption,
        lang=lang,
        langs=langs,
    )


# ---------------------------------------------------------------------------
# Theme backgrounds are the slow part; a poster set re-uses them when the box repeats.

_theme_cache: OrderedDict[tuple[Any, ...], tuple[np.ndarray, dict[str, Any]]] = OrderedDict()
_theme_lock = threading.Lock()
_THEME_CACHE_SIZE = 4


def _theme_background(
    theme: str, placed: PlacedProduct, brand: RGB, seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    alpha = placed.layer.getchannel("A")
    key = (theme, brand, seed, placed.box, placed.canvas_size, hash(alpha.tobytes()))
    with _theme_lock:
        hit = _theme_cache.get(key)
        if hit is not None:
            _theme_cache.move_to_end(key)
            return hit[0].copy(), dict(hit[1])
    bg, info = backgrounds.theme_background(theme, placed, brand, seed)
    with _theme_lock:
        _theme_cache[key] = (bg.copy(), dict(info))
        while len(_theme_cache) > _THEME_CACHE_SIZE:
            _theme_cache.popitem(last=False)
    return bg, info


# ---------------------------------------------------------------------------
# Rendering


def render_poster(
    seg: Segmentation,
    spec: PosterSpec,
    *,
    background: RenderedImage | None = None,
    config: GenerationConfig | None = None,
) -> RenderedPoster:
    """Render one poster of ``seg``'s product.

    ``background`` is a scene rendered earlier (its ``product_box`` says where its
    product stands); it is used when the template's background is ``scene`` or the spec
    names no other background. Without one, ``scene`` templates build their default
    studio theme. ``config`` is accepted for symmetry with the scene engines; the poster
    renderer itself runs on the CPU with no models.

    Raises ``InvalidSpec`` (unknown template, size or theme), ``TextDoesNotFit`` (code
    ``text_overflow``: the words cannot be set even at the template's smallest sizes)
    and ``MissingGlyph`` (characters no poster font has, such as emoji).
    """
    del config
    return _render(seg, spec, get_template(spec.template), background)


def render_variants(
    seg: Segmentation,
    base_spec: PosterSpec,
    templates: Sequence[str] | None = None,
    headlines: Sequence[str] | None = None,
    *,
    background: RenderedImage | None = None,
) -> list[RenderedPoster]:
    """One poster per template x headline (each defaults to the base spec's)."""
    out = []
    names = list(templates) if templates else [base_spec.template]
    lines = list(headlines) if headlines else [base_spec.headline]
    for template in names:
        for i, headline in enumerate(lines):
            spec = replace(base_spec, template=template, headline=headline)
            poster = _render(seg, spec, get_template(template), background)
            if len(lines) > 1:
                poster = replace(poster, name=f"{poster.name}-{i + 1:02d}")
            out.append(poster)
    return out


def rerender(
    layout_json: str | dict[str, Any],
    seg: Segmentation,
    *,
    texts: dict[str, Any] | None = None,
    size: str | tuple[int, int] | None = None,
    background: RenderedImage | None = None,
) -> RenderedPoster:
    """Render a poster again from its layout JSON: same template data (as stored), spec
    and background, with ``texts`` (headline, subline, cta, ribbon, badge, price,
    compare_at_price, currency, locale) and/or ``size`` changed. Unchanged, it gives the
    same pixels. A poster made on a scene needs that scene again as ``background``."""
    data = json.loads(layout_json) if isinstance(layout_json, str) else layout_json
    if not isinstance(data, dict) or data.get("version") != LAYOUT_VERSION:
        raise InvalidSpec("this is not a poster layout this version can re-render")
    spec = PosterSpec.from_dict(data["spec"])
    allowed = {
        "headline",
        "subline",
        "cta",
        "ribbon",
        "badge",
        "price",
        "compare_at_price",
        "currency",
        "locale",
    }
    changes = dict(texts or {})
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidSpec(f"cannot change {', '.join(sorted(unknown))}; only {', '.join(sorted(allowed))}")
    if size is not None:
        changes["size"] = size
    spec = replace(spec, **changes)
    template = read_template(data["template"]["data"], f"layout:{data['template']['id']}")
    if data["background"]["mode"] == "scene" and background is None:
        raise InvalidSpec("this poster was made on a scene: pass the same scene as background")
    return _render(seg, spec, template, background)


def _background_mode(spec: PosterSpec, template: Template, scene: RenderedImage | None) -> str:
    if spec.background is not None:
        mode = spec.background
    elif scene is not None:
        mode = "scene"
    else:
        mode = template.background.mode
        if spec.theme and mode in ("brand", "white"):
            mode = "theme"  # naming a theme asks for it
    if mode == "scene" and scene is None:
        mode = "theme"  # no scene given: build the template's studio theme instead
    return mode


def _render(
    seg: Segmentation, spec: PosterSpec, template: Template, scene: RenderedImage | None
) -> RenderedPoster:
    # 1. check inputs, resolve size, colours, typefaces and words
    size = resolve_size(spec.size)
    canvas_size = (size.width, size.height)
    cutout = seg.cutout
    if cutout.getchannel("A").getbbox() is None:
        raise InvalidSpec("the product matte is empty: nothing to put on the poster")
    brand = spec.brand
    palette = Palette(brand.primary, brand.accent, brand.text)
    families = {
        "heading": brand.heading_family or template.families["heading"],
        "body": brand.body_family or template.families["body"],
    }
    words = build_content(spec, template)
    mode = _background_mode(spec, template, scene)

    # 2. layout: every box, the product's included
    layout = solve_layout(
        template, size, cutout, words, families,
        logo_size=brand.logo.size if brand.logo is not None else None,
        has_badge=bool(words.badge),
    )  # fmt: skip
    placed = layout.placed
    short = layout.short

    # 3. background, decorative shapes, the product's shadow
    theme_name = spec.theme or template.background.theme
    bg_info: dict[str, Any] = {"mode": mode}
    light_wrap = 0.0
    if mode == "scene":
        assert scene is not None
        canvas, info = backgrounds.scene_background(scene, layout.product_box, canvas_size)
        bg_info.update(info)
    elif mode == "theme":
        canvas, info = _theme_background(theme_name, placed, brand.primary, spec.seed)
        bg_info.update(info)
        light_wrap = float(info.pop("light_wrap", 0.0))
        bg_info.pop("light_wrap", None)
        bg_info["seed"] = spec.seed
    elif mode == "brand":
        bgs = template.background
        center = _product_center(layout) if bgs.follow_product else bgs.center
        canvas = backgrounds.brand_background(
            canvas_size, [palette.resolve(c) for c in bgs.colors], style=bgs.style,
            center=center, angle=bgs.angle, grain=bgs.grain, seed=spec.seed,
        )  # fmt: skip
        bg_info.update({"style": bgs.style, "colors": [to_hex(palette.resolve(c)) for c in bgs.colors]})
    else:
        canvas = backgrounds.white_background(canvas_size)
    for shape in layout.shapes:
        if mode in shape["modes"]:
            _draw_shape(canvas, shape, palette)
    if mode in ("brand", "white"):
        canvas = backgrounds.with_contact_shadow(canvas, placed, strength=0.32 if mode == "white" else 0.4)

    # 4. free-standing text: colour for contrast, else a scrim or plate behind it
    keepout = layout.keepout
    plans = {s.name: _plan(s) for s in layout.slots if s.kind == "text"}
    fixes: list[str] = []
    extra_elements: list[Element] = []
    free = [s for s in layout.slots if s.kind == "text" and not s.parent]
    _choose_colors(canvas, free, plans, template, palette, short)
    failing = [s for s in free if not plans[s.name]["passed"]]
    if failing:
        extra_elements += _fix_contrast(
            canvas, failing, free, plans, template, palette, short, keepout, fixes
        )

    # 5. decorations: ribbons, pills, badges, plates, rules, the logo
    for slot in layout.slots:
        if slot.kind in ("pill", "badge", "ribbon", "rule", "price_plate"):
            _draw_decoration(canvas, slot, template, palette, plans, short)
    inside = [s for s in layout.slots if s.kind == "text" and s.parent]
    _choose_colors(canvas, inside, plans, template, palette, short)
    logo_plate = None
    if brand.logo is not None:
        logo_slot = next(s for s in layout.slots if s.kind == "logo")
        logo_plate = _logo_plate(canvas, logo_slot.box, brand.logo, palette, short, keepout)
        if logo_plate is not None:
            fixes.append("logo: plate for contrast")
            extra_elements.append(Element("logo_plate", "plate", logo_plate))

    # 6. what is behind the text, then the text and the logo
    behind = Image.fromarray(np.clip(canvas + 0.5, 0, 255).astype(np.uint8), "RGB")
    image = behind.copy()
    for slot in layout.slots:
        if slot.kind == "text":
            _draw_text_slot(image, slot, plans[slot.name], short)
    if brand.logo is not None:
        logo_slot = next(s for s in layout.slots if s.kind == "logo")
        logo = brand.logo.convert("RGBA").resize(logo_slot.box[2:], Image.Resampling.LANCZOS)
        image.paste(logo, logo_slot.box[:2], logo)

    # 7. the product's own pixels, last; light wrap only touches its soft edge
    final = compose.paste_back(image, placed)
    if light_wrap > 0:
        final = compose.light_wrap(final, behind, placed, light_wrap)

    # 8. checks, from the pixels
    elements = _elements(layout, plans) + extra_elements
    checks = check_poster(final, behind, elements, placed, size, fixes=fixes)
    name = f"poster-{template.id}-{size.name}"
    layout_data = _layout_dict(
        spec, template, layout, words, palette, families, plans, bg_info, fixes, checks, elements
    )
    meta = {
        "segmenter": seg.segmenter,
        "engine": "poster",
        "theme": bg_info.get("theme"),
        "seed": spec.seed,
        "template": template.id,
        "size": size.name,
        "background": mode,
    }
    return RenderedPoster(
        image=final, layout=layout_data, checks=checks, placed=placed, name=name,
        template=template.id, output_format=spec.output_format, meta=meta, behind=behind,
    )  # fmt: skip


def _product_center(layout: PosterLayout) -> tuple[float, float]:
    x, y, w, h = layout.product_box
    return ((x + w / 2) / layout.size.width, (y + h / 2) / layout.size.height)


def _draw_shape(canvas: np.ndarray, shape: dict[str, Any], palette: Palette) -> None:
    color = palette.resolve(shape["fill"])
    if shape["kind"] == "panel":
        x, y, w, h = shape["box"]
        if w <= 0 or h <= 0:
            return
        mask = decor.rounded_rect(w, h, shape["radius"]) if shape["radius"] else np.ones((h, w), np.float32)
        decor.fill(canvas, mask, (x, y), color, shape["opacity"])
    else:
        cx, cy = shape["center"]
        r = shape["r"]
        decor.fill(canvas, decor.circle(2 * r), (cx - r, cy - r), color, shape["opacity"])


# ---------------------------------------------------------------------------
# Text colours and contrast fixes


def _plan(slot: Slot) -> dict[str, Any]:
    return {"ink": _ink_box(slot), "color": None, "ratio": 0.0, "required": 4.5, "passed": False, "fix": None}


def _ink_box(slot: Slot) -> Box:
    """Where ``slot``'s text puts ink, measured by drawing it on a scratch mask."""
    assert slot.block is not None
    x, y, w, h = slot.box
    if slot.extra.get("rotated"):
        # a label along a corner band: an upright square on the band around its centre
        return slot.extra["sample"]
    scratch = Image.new("L", (max(1, w), max(1, h)), 0)
    x0, y0, x1, y1 = draw_text(scratch, slot.block, (0, 0, max(1, w), max(1, h)), (255,), valign=slot.valign)
    if x1 <= x0 or y1 <= y0:
        return (x, y, max(1, w), max(1, h))
    return (x + x0, y + y0, x1 - x0, y1 - y0)


def _candidates(preferred: RGB, palette: Palette) -> list[RGB]:
    out = [preferred]
    for c in (palette.ink, PAPER):
        if c not in out:
            out.append(c)
    return out


def _choose_colors(
    canvas: np.ndarray,
    slots: Iterable[Slot],
    plans: dict[str, dict[str, Any]],
    template: Template,
    palette: Palette,
    short: int,
) -> None:
    arr = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    for slot in slots:
        plan = plans[slot.name]
        assert slot.block is not None
        required = required_ratio(slot.block.size, slot.block.style.weight, short)
        preferred = palette.resolve(template.colors[slot.role])
        if slot.name == "compare_at" and plan.get("color") is None:
            preferred = palette.resolve(template.colors["compare_at"])
        rng = background_range(arr, plan["ink"], contrast_tile(slot.block.size))
        best: tuple[float, RGB] | None = None
        for color in _candidates(preferred, palette):
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


def _fix_contrast(
    canvas: np.ndarray, failing: list[Slot], free: list[Slot], plans: dict[str, dict[str, Any]], template: Template,
    palette: Palette, short: int, keepout: np.ndarray, fixes: list[str],
) -> list[Element]:  # fmt: skip
    """Scrim or plate behind each group that has text no colour can carry; re-check."""
    elements: list[Element] = []
    by_group: dict[int, list[Slot]] = {}
    for slot in failing:
        by_group.setdefault(slot.group, []).append(slot)
    for group, slots in by_group.items():
        members = [s for s in free if s.group == group] if group >= 0 else slots
        pad = round(0.022 * short)
        union = union_box([plans[s.name]["ink"] for s in members])
        box = _pad_box(union, pad, canvas.shape)
        if box_hits(keepout, box):
            box = _pad_box(union, 0, canvas.shape)
        # light text on a dark scrim unless the template's text is light already
        preferred = palette.resolve(template.colors[members[0].role])
        dark_text = luminance(preferred) < 0.4
        fill_color = (250, 250, 248) if dark_text else _deep(palette.brand)
        kind = template.contrast_fix
        done = False
        for opacity in _FIX_OPACITIES[kind]:
            trial = canvas.copy()
            _apply_fix(trial, kind, box, fill_color, opacity, pad, short)
            _choose_colors(trial, members, plans, template, palette, short)
            if all(plans[s.name]["passed"] for s in members):
                canvas[:] = trial
                done = True
                break
        if not done:  # a solid plate always carries ink or paper
            _apply_fix(canvas, "plate", box, fill_color, 1.0, pad, short)
            _choose_colors(canvas, members, plans, template, palette, short)
            opacity, kind = 1.0, "plate"
        for s in members:
            plans[s.name]["fix"] = kind
        fixes.append(f"{'+'.join(s.name for s in members)}: {kind} {opacity:.0%}")
        elements.append(Element(f"{kind}_{group}", "plate", box))
    return elements


def _apply_fix(
    canvas: np.ndarray, kind: str, box: Box, color: RGB, opacity: float, pad: int, short: int
) -> None:
    x, y, w, h = box
    if kind == "scrim":
        decor.scrim(canvas, box, color, opacity, feather=max(2.0, 0.03 * short))
    else:
        decor.fill(canvas, decor.rounded_rect(w, h, min(pad, h / 2)), (x, y), color, opacity)


def _deep(brand: RGB) -> RGB:
    """A deep version of the brand colour for dark plates and scrims."""
    return (round(brand[0] * 0.22), round(brand[1] * 0.22), round(brand[2] * 0.22))


def _pad_box(box: Box, pad: int, shape: tuple[int, ...]) -> Box:
    x, y, w, h = box
    H, W = shape[:2]
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(W, x + w + pad), min(H, y + h + pad)
    return (x0, y0, x1 - x0, y1 - y0)


# ---------------------------------------------------------------------------
# Decorations


def _draw_decoration(
    canvas: np.ndarray,
    slot: Slot,
    template: Template,
    palette: Palette,
    plans: dict[str, dict[str, Any]],
    short: int,
) -> None:
    x, y, w, h = slot.box
    color = palette.resolve(template.colors[slot.role]) if slot.role in template.colors else palette.brand
    lift = {"offset": (0, max(1, round(0.006 * short))), "blur": max(1.0, 0.012 * short), "opacity": 0.22}
    if slot.kind == "pill":
        radius = slot.extra.get("radius", h // 2)
        style = slot.extra.get("style", "filled")
        if style == "link":
            return
        if style == "outline":
            label = plans.get(f"{slot.name}_label")
            stroke = slot.extra.get("border", 2)
            outer = decor.rounded_rect(w, h, radius)
            inner = np.zeros_like(outer)
            inner[stroke : h - stroke, stroke : w - stroke] = decor.rounded_rect(
                w - 2 * stroke, h - 2 * stroke, max(0, radius - stroke)
            )
            decor.fill(canvas, np.clip(outer - inner, 0, 1), (x, y), label["color"] if label else color)
            return
        mask = decor.rounded_rect(w, h, radius)
        if slot.name == "cta":
            decor.drop_shadow(canvas, mask, (x, y), **lift)
        decor.fill(canvas, mask, (x, y), color)
    elif slot.kind == "badge":
        shape = slot.extra.get("shape", "circle")
        if shape == "burst":
            mask = decor.burst(w)
        elif shape == "circle":
            mask = decor.circle(w)
        else:
            mask = decor.rounded_rect(w, h, slot.extra.get("radius", round(0.22 * h)))
        decor.drop_shadow(canvas, mask, (x, y), **lift)
        decor.fill(canvas, mask, (x, y), color)
        if shape == "circle":  # a fine inner ring, like a printed sticker
            ring = decor.ring(w - 2 * max(2, round(0.045 * w)), max(1.0, 0.012 * w))
            off = max(2, round(0.045 * w))
            decor.fill(canvas, ring, (x + off, y + off), palette.on(color), 0.55)
    elif slot.kind == "ribbon":
        style = slot.extra["style"]
        if style == "corner":
            mask, box = decor.corner_band(
                (canvas.shape[1], canvas.shape[0]),
                slot.extra["band"],
                slot.extra["dist"],
                right=slot.extra["right"],
            )
            decor.drop_shadow(canvas, mask, box[:2], **{**lift, "opacity": 0.18})
            decor.fill(canvas, mask, box[:2], color)
        elif style == "band":
            mask = (
                decor.rounded_rect(w, h, slot.extra.get("radius", 0))
                if slot.extra.get("radius")
                else np.ones((h, w), np.float32)
            )
            decor.fill(canvas, mask, (x, y), color)
        else:
            mask = decor.tag(w, h, slot.extra["notch"], right=slot.extra["right"])
            decor.fill(canvas, mask, (x, y), color)
    elif slot.kind == "price_plate":
        mask = decor.price_tag(w, h, slot.extra["hole"])
        decor.drop_shadow(canvas, mask, (x, y), **lift)
        decor.fill(canvas, mask, (x, y), color)
    elif slot.kind == "rule":
        decor.fill(canvas, decor.rounded_rect(w, h, h / 2), (x, y), color)


def _logo_plate(
    canvas: np.ndarray, box: Box, logo: Image.Image, palette: Palette, short: int, keepout: np.ndarray
) -> Box | None:
    """A plate behind the logo when the logo would vanish into the background."""
    rgba = np.asarray(logo.convert("RGBA").resize(box[2:], Image.Resampling.BILINEAR), dtype=np.float32)
    opaque = rgba[..., 3] > 128
    if not opaque.any():
        return None
    logo_lum = float(np.median(luminance(rgba[..., :3][opaque])))
    arr = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    x, y, w, h = box
    under = arr[y : y + h, x : x + w][opaque]
    bg_lum = float(np.median(luminance(under))) if len(under) else 1.0
    if contrast_ratio(logo_lum, bg_lum) >= 1.8:
        return None
    pad = max(4, round(0.18 * h))
    plate = _pad_box(box, pad, canvas.shape)
    if box_hits(keepout, plate):
        return None
    color = PAPER if logo_lum < 0.4 else _deep(palette.brand)
    px, py, pw, ph = plate
    decor.fill(canvas, decor.rounded_rect(pw, ph, min(pad, ph / 2)), (px, py), color, 0.92)
    return plate


# ---------------------------------------------------------------------------
# Drawing text


def _draw_text_slot(image: Image.Image, slot: Slot, plan: dict[str, Any], short: int) -> None:
    assert slot.block is not None
    color = plan["color"]
    if slot.extra.get("rotated"):
        _draw_rotated(image, slot, color)
        return
    x0, y0, x1, y1 = draw_text(image, slot.block, slot.box, color, valign=slot.valign)
    if slot.strike and x1 > x0:
        thick = max(2, round(slot.block.size * 0.075))
        mid = y0 + (y1 - y0) * 0.52
        line = decor.rounded_rect(x1 - x0 + 2 * thick, thick, thick / 2)
        _fill_image(image, line, (x0 - thick, round(mid - thick / 2)), color)
    arrow = slot.extra.get("arrow", 0)
    if arrow and x1 > x0:
        size = round(slot.block.size * 0.8)
        mask = decor.arrow(size, max(1.5, slot.block.size * 0.09))
        ax = slot.box[0] + slot.block.width + round(slot.block.size * 0.35)
        ay = round((y0 + y1) / 2 - size / 2)
        _fill_image(image, mask, (ax, ay), color)


def _fill_image(image: Image.Image, mask: np.ndarray, origin: tuple[int, int], color: RGB) -> None:
    """``decor.fill`` on a PIL image, touching only the mask's own rectangle."""
    h, w = mask.shape
    x, y = origin
    box = (max(x, 0), max(y, 0), min(x + w, image.width), min(y + h, image.height))
    if box[2] <= box[0] or box[3] <= box[1]:
        return
    region = np.asarray(image.crop(box), dtype=np.float32).copy()
    decor.fill(region, mask, (x - box[0], y - box[1]), color)
    image.paste(Image.fromarray(np.clip(region + 0.5, 0, 255).astype(np.uint8), "RGB"), box[:2])


def _draw_rotated(image: Image.Image, slot: Slot, color: RGB) -> None:
    """A corner ribbon's label, set along the 45-degree band."""
    assert slot.block is not None
    block = slot.block
    pad = 4
    layer = Image.new("RGBA", (block.width + 2 * pad, block.height + 2 * pad), (0, 0, 0, 0))
    draw_text(layer, block, (pad, pad, block.width, block.height), (*color, 255))
    right = slot.extra.get("right", False)
    rotated = layer.rotate(-45 if right else 45, resample=Image.Resampling.BICUBIC, expand=True)
    cx, cy = slot.extra["center"]
    image.paste(rotated, (round(cx - rotated.width / 2), round(cy - rotated.height / 2)), rotated)


# ---------------------------------------------------------------------------
# Records


def _elements(layout: PosterLayout, plans: dict[str, dict[str, Any]]) -> list[Element]:
    out = []
    for slot in layout.slots:
        if slot.kind == "text":
            plan = plans[slot.name]
            assert slot.block is not None
            box = plan["ink"]
            sample = None
            if slot.extra.get("rotated"):
                box = layout_ribbon_box(layout)
                sample = plan["ink"]
            out.append(
                Element(
                    slot.name, "text", box, plan["color"], slot.block.size, slot.block.style.weight, sample
                )
            )
        else:
            kind = {"pill": "cta" if slot.name == "cta" else "eyebrow"}.get(slot.kind, slot.kind)
            out.append(Element(slot.name, kind, slot.box))
    return out


def layout_ribbon_box(layout: PosterLayout) -> Box:
    return next(s.box for s in layout.slots if s.name == "ribbon")


def _layout_dict(
    spec: PosterSpec, template: Template, layout: PosterLayout, words: Content, palette: Palette,
    families: dict[str, str], plans: dict[str, dict[str, Any]], bg_info: dict[str, Any], fixes: list[str],
    checks: PosterChecks, elements: list[Element],
) -> dict[str, Any]:  # fmt: skip
    slots = []
    for slot in layout.slots:
        entry: dict[str, Any] = {"name": slot.name, "kind": slot.kind, "box": list(slot.box)}
        if slot.kind == "text" and slot.block is not None:
            plan = plans[slot.name]
            entry.update(
                text=slot.text,
                ink=list(plan["ink"]),
                color=to_hex(plan["color"]),
                contrast=round(plan["ratio"], 2),
                required=plan["required"],
                fix=plan["fix"],
                font={
                    "family": slot.block.style.family,
                    "weight": slot.block.style.weight,
                    "size": slot.block.size,
                    "lines": [line.text for line in slot.block.lines],
                    "lang": slot.block.lang,
                },
                strike=slot.strike,
            )
            if slot.parent:
                entry["parent"] = slot.parent
        elif slot.role:
            entry["fill"] = to_hex(palette.resolve(template.colors[slot.role]))
        if "shape" in slot.extra:
            entry["shape"] = slot.extra["shape"]
        if "style" in slot.extra:
            entry["style"] = slot.extra["style"]
        slots.append(entry)
    shapes = []
    for s in layout.shapes:
        d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in s.items() if k != "fill"}
        d["fill"] = to_hex(palette.resolve(s["fill"]))
        shapes.append(d)
    return {
        "version": LAYOUT_VERSION,
        "template": {"id": template.id, "variant": layout.variant.aspect, "data": template.data},
        "size": layout.size.to_dict(),
        "spec": spec.to_dict(),
        "background": bg_info,
        "product_box": list(layout.product_box),
        "content_box": list(layout.content),
        "palette": palette.to_dict(),
        "families": families,
        "words": {k: v for k, v in vars(words).items() if k != "langs"},
        "shapes": shapes,
        "slots": slots,
        "fixes": fixes,
        "fallbacks": list(layout.fallbacks),
        "checks": checks.to_dict(),
    }


# ---------------------------------------------------------------------------
# Writing


def poster_file_names(posters: Sequence[RenderedPoster], *, stem: str) -> list[str]:
    """(image, sidecar, layout) names per poster: ``<stem>_<name>.<ext>``, ``.json``, ``.layout.json``."""
    names = []
    for p in posters:
        ext = "jpg" if p.output_format in ("jpg", "jpeg") else p.output_format
        base = f"{stem}_{p.name}"
        names += [f"{base}.{ext}", f"{base}.json", f"{base}.layout.json"]
    return names


def write_posters(
    posters: Sequence[RenderedPoster], out_dir: str | os.PathLike[str], *, stem: str
) -> list[Path]:
    """Write each poster (``generation.encode``), its sidecar and its layout JSON.

    Same all-or-nothing approach as ``generation.sidecar.write_outputs``: everything is
    encoded to hidden temporary files first and renamed into place only when all of
    them were written. Returns the image paths.
    """
    from generation.sidecar import SIDECAR_DEFAULTS, _json_default, write_all_or_nothing

    names = poster_file_names(posters, stem=stem)
    if len(set(names)) != len(names):
        raise InvalidSpec(f"two posters would share a file name: {names}")

    def files() -> Iterator[tuple[str, bytes]]:
        for k, poster in enumerate(posters):
            image_name, side_name, layout_name = names[3 * k : 3 * k + 3]
            yield image_name, encode_image(poster.image, poster.output_format)
            sidecar = {**SIDECAR_DEFAULTS, **poster.sidecar(), "file": image_name, "layout_file": layout_name}
            side = json.dumps(sidecar, indent=2, default=_json_default, ensure_ascii=False) + "\n"
            yield side_name, side.encode()
            yield layout_name, poster.layout_json().encode()

    return write_all_or_nothing(Path(out_dir), files())[::3]  # the images


__all__ = [
    "Palette",
    "RenderedPoster",
    "build_content",
    "poster_file_names",
    "render_poster",
    "render_variants",
    "rerender",
    "write_posters",
]
