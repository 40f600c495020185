"""What a layout is made of: slots (placed elements), the words, text styles per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generation.posters.template import Template, TextStyleSpec
from generation.types import Box
from generation.typography import TextBlock, TextDoesNotFit, TextStyle


@dataclass
class Slot:
    """One drawn element at its final place.

    ``kind``: text (a laid-out block), pill (CTA), badge, ribbon, rule, logo, price_plate.
    Text slots inside a shape name it in ``parent``. ``role`` picks the colour role.
    """

    name: str
    kind: str
    box: Box
    role: str = ""
    text: str = ""
    block: TextBlock | None = None
    valign: str = "top"
    parent: str = ""
    group: int = -1
    strike: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Content:
    """The words of a poster after defaults: what the layout has to place."""

    headline: str
    subline: str
    eyebrow: str  # ribbon text when the ribbon style is eyebrow
    ribbon: str  # ribbon text for tag / corner / band ribbons
    price: str
    compare_at: str
    cta: str
    badge: str
    badge_caption: str
    lang: str
    langs: dict[str, str]  # per element language (CJK detection)


class TypeScale(float):
    """Font px per template px (the shorter side / 1080 x the variant's type scale),
    carrying the canvas's minimum legible text size (``legible``, px) and the layout's
    last resorts for long text: ``relax`` lets text shrink below the template's own
    minimum down to ``legible`` and take twice the lines, ``shorten`` lets text that
    still does not fit end with an ellipsis."""

    legible: int
    relax: bool
    shorten: bool

    def __new__(cls, value: float, *, legible: int, relax: bool = False, shorten: bool = False) -> TypeScale:
        scale = super().__new__(cls, value)
        scale.legible = legible
        scale.relax = relax or shorten
        scale.shorten = shorten
        return scale


def font_style(
    spec: TextStyleSpec,
    template: Template,
    families: dict[str, str],
    unit: TypeScale,
    *,
    align: str = "left",
    max_lines: int | None = None,
    scale: float = 1.0,
    cap: int | None = None,
) -> TextStyle:
    """The style of a text role at the layout's type scale; ``cap`` (px, at least the
    legible minimum) bounds its size from above (a subline never outgrows its headline)."""
    family = families.get(spec.font, spec.font)
    size = max(unit.legible, round(spec.size * unit * scale))
    if cap is not None:
        size = max(unit.legible, min(size, cap))
    low = unit.legible if unit.relax else max(unit.legible, min(size, round(spec.min * unit)))
    lines = max_lines if max_lines is not None else spec.max_lines
    if unit.relax and lines > 1:
        lines *= 2
    return TextStyle(
        family=family,
        weight=spec.weight,
        max_size=size,
        min_size=low,
        line_height=spec.line_height,
        align=align,
        max_lines=lines,
        uppercase=spec.uppercase,
        tracking=spec.tracking,
    )


def overflow(message: str, text: str = "", box: tuple[int, int] = (0, 0)) -> TextDoesNotFit:
    return TextDoesNotFit(message, text=text, box=box, min_size=0)
