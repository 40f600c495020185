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
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from PIL import Image

from generation import compose
from generation.config import GenerationConfig
from generation.errors import InvalidSpec
from generation.posters import backgrounds
from generation.posters.checks import (
    Element,
    Samples,
    check_poster,
)
from generation.posters.content import build_content
from generation.posters.contrast import choose_colors, fill_outline_buttons, fix_contrast, is_busy, plan_for
from generation.posters.layout import PosterLayout, solve_layout
from generation.posters.output import RenderedPoster
from generation.posters.paint import draw_decoration, draw_shape, draw_text_slot, logo_plate
from generation.posters.palette import Palette
from generation.posters.records import LAYOUT_VERSION, elements_of, layout_dict
from generation.posters.sizes import resolve_size
from generation.posters.spec import RGB, PosterSpec, to_hex
from generation.posters.template import Template, get_template, read_template
from generation.sets import Variant, estimate_light_side, flat_variant, lies_flat, plan_variant
from generation.types import PlacedProduct, RenderedImage, Segmentation

# ---------------------------------------------------------------------------
# Theme backgrounds are the slow part; a poster set re-uses them when the box repeats.
# The cache keeps each set as built (``backgrounds.theme_set``, a few MB) and scales it
# to the canvas on every use, so neither a miss nor a hit copies a whole canvas.

_theme_cache: OrderedDict[tuple[Any, ...], tuple[np.ndarray, dict[str, Any]]] = OrderedDict()
_theme_lock = threading.Lock()
_THEME_CACHE_SIZE = 4


def _theme_background(
    theme: str, placed: PlacedProduct, brand: RGB, seed: int, flat: Variant | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    alpha = placed.layer.getchannel("A")
    key = (theme, brand, seed, placed.box, placed.canvas_size, hash(alpha.tobytes()), flat)
    with _theme_lock:
        hit = _theme_cache.get(key)
        if hit is not None:
            _theme_cache.move_to_end(key)
    if hit is None:
        built, info = backgrounds.theme_set(theme, placed, brand, seed, flat=flat)
        built.setflags(write=False)  # shared by every later hit
        with _theme_lock:
            _theme_cache[key] = (built, dict(info))
            while len(_theme_cache) > _THEME_CACHE_SIZE:
                _theme_cache.popitem(last=False)
    else:
        built, info = hit
    return backgrounds.set_on_canvas(built, placed.canvas_size, seed), dict(info)


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


def _scene_flat(scene: RenderedImage) -> Variant | None:
    """A flat-lay studio scene's composition (``sets.flat``), from its record; None for
    any other scene."""
    recorded = scene.meta.get("variant") or {}
    return Variant.from_dict(recorded) if recorded.get("view") == "flat" else None


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
    rebuild = mode == "scene" and scene is not None and backgrounds.rebuildable(scene)
    if rebuild and scene is not None and not backgrounds.scene_covers(scene, layout.product_box, canvas_size):
        # a studio scene that does not cover this canvas is built again at its own aspect
        # (a flat-lay's as it was: lying on the surface, in its light and colours)
        canvas, info = _theme_background(
            scene.meta["theme"], placed, brand.primary, int(scene.meta["seed"]), _scene_flat(scene)
        )
        light_wrap = float(info.pop("light_wrap", 0.0))
        bg_info.update(info, scene=scene.name, seed=int(scene.meta["seed"]), rebuilt=True)
    elif mode == "scene":
        assert scene is not None
        canvas, info = backgrounds.scene_background(scene, layout.product_box, canvas_size)
        bg_info.update(info)
    elif mode == "theme":
        # a flat-lay lies on the theme's surface seen from above, as in its scenes
        flat = (
            flat_variant(plan_variant(theme_name, spec.seed, light_side=estimate_light_side(cutout)))
            if lies_flat(spec.view, seg.image, seg.matte)
            else None
        )
        canvas, info = _theme_background(theme_name, placed, brand.primary, spec.seed, flat)
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
            draw_shape(canvas, shape, palette)
    if mode in ("brand", "white"):
        # the product grounded on the colour as in its scenes: a flat-lay lies in its shadow
        # round it (never a floor shadow at its foot), a standing product on a contact shadow
        lying = lies_flat(spec.view, seg.image, seg.matte)
        shadow = backgrounds.with_lying_shadow if lying else backgrounds.with_standing_shadow
        canvas = shadow(
            canvas, placed, strength=backgrounds.SHADOW_STRENGTH[mode], light_side=estimate_light_side(cutout)
        )
        if lying:
            bg_info["view"] = "flat"

    # 4. free-standing text: colour for contrast, else a scrim or plate behind it
    keepout = layout.keepout
    plans = {s.name: plan_for(s) for s in layout.slots if s.kind == "text"}
    fixes: list[str] = []
    extra_elements: list[Element] = []
    free = [s for s in layout.slots if s.kind == "text" and not s.parent]
    samples = Samples()  # what is measured here, the checks reuse where the pixels stay the same
    choose_colors(canvas, free, plans, template, palette, short, samples)
    # busy detail under the words (a set's texture, a shape's edge) whatever the background
    failing = [s for s in free if not plans[s.name]["passed"] or is_busy(canvas, s, plans[s.name], samples)]
    # an outlined button whose label fails is filled (step 5 draws it, its label then
    # coloured with the texts inside shapes), never given a box inside its outline
    filled = fill_outline_buttons(layout.slots, failing, plans, fixes)
    free = [s for s in free if all(s is not f for f in filled)]
    failing = [s for s in failing if all(s is not f for f in filled)]
    if failing:
        extra_elements += fix_contrast(
            canvas, failing, free, plans, template, palette, short, keepout, fixes, samples
        )

    # 5. decorations: ribbons, pills, badges, plates, rules, the logo
    for slot in layout.slots:
        if slot.kind in ("pill", "badge", "ribbon", "rule", "price_plate"):
            draw_decoration(canvas, slot, template, palette, plans, short)
    inside = [s for s in layout.slots if s.kind == "text" and s.parent]
    choose_colors(canvas, inside, plans, template, palette, short, samples)
    if brand.logo is not None:
        logo_slot = next(s for s in layout.slots if s.kind == "logo")
        plate = logo_plate(canvas, logo_slot.box, brand.logo, palette, short, keepout)
        if plate is not None:
            fixes.append("logo: plate for contrast")
            extra_elements.append(Element("logo_plate", "plate", plate))

    # 6. what is behind the text, then the text and the logo
    behind_pixels = _rounded(canvas)  # the checks read these, not a copy out of ``behind``
    behind = Image.fromarray(behind_pixels, "RGB")
    image = behind.copy()
    for slot in layout.slots:
        if slot.kind == "text":
            draw_text_slot(image, slot, plans[slot.name], short)
    if brand.logo is not None:
        logo_slot = next(s for s in layout.slots if s.kind == "logo")
        logo = brand.logo.convert("RGBA").resize(logo_slot.box[2:], Image.Resampling.LANCZOS)
        image.paste(logo, logo_slot.box[:2], logo)

    # 7. the product's own pixels, last; light wrap only touches its soft edge
    # ``image`` is this poster's own: the product and its light wrap go on it in place
    final = compose.paste_back(image, placed, in_place=True)
    if light_wrap > 0:
        final = compose.light_wrap(final, behind, placed, light_wrap, in_place=True)

    # 8. checks, from the pixels
    elements = elements_of(layout, plans) + extra_elements
    checks = check_poster(
        final, behind_pixels, elements, placed, size, fixes=fixes, keepout=layout.keepout, samples=samples
    )
    name = f"poster-{template.id}-{size.name}"
    layout_data = layout_dict(
        spec, template, layout, words, palette, families, plans, bg_info, fixes, checks, elements
    )
    meta = {
        **seg.matte_meta(),  # the matte the product was cut with, as the cutout's says it
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


_ROUND_ROWS = 64  # rows rounded at a time: a band of a 1080 px wide float canvas stays in cache


def _rounded(canvas: np.ndarray) -> np.ndarray:
    """``np.clip(canvas + 0.5, 0, 255).astype(np.uint8)``, the same bytes, computed in
    place (``canvas`` is this poster's own and not used again) band by band: each band's
    three passes run while it is in cache, where whole-canvas passes read and write the
    canvas-sized float array three times over from memory."""
    out = np.empty(canvas.shape, np.uint8)
    for y0 in range(0, canvas.shape[0], _ROUND_ROWS):
        band = canvas[y0 : y0 + _ROUND_ROWS]
        np.add(band, 0.5, out=band)
        np.clip(band, 0, 255, out=band)
        np.copyto(out[y0 : y0 + _ROUND_ROWS], band, casting="unsafe")  # astype's truncation
    return out


def _product_center(layout: PosterLayout) -> tuple[float, float]:
    x, y, w, h = layout.product_box
    return ((x + w / 2) / layout.size.width, (y + h / 2) / layout.size.height)
