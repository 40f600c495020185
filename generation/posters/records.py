"""What a poster records about itself: its checked elements and its layout JSON."""

from __future__ import annotations

from typing import Any

from generation.posters.checks import (
    Element,
    PosterChecks,
)
from generation.posters.layout import PosterLayout
from generation.posters.palette import Palette
from generation.posters.slots import Content
from generation.posters.spec import PosterSpec, to_hex
from generation.posters.template import Template
from generation.types import Box

LAYOUT_VERSION = 1


def elements_of(layout: PosterLayout, plans: dict[str, dict[str, Any]]) -> list[Element]:
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


def layout_dict(
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
