"""Poster colours: the brand kit's roles resolved, ink or paper on any fill."""

from __future__ import annotations

from dataclasses import dataclass

from generation.posters.checks import (
    contrast_ratio,
    luminance,
)
from generation.posters.spec import RGB, to_hex
from generation.posters.template import ColorSpec

INK: RGB = (20, 20, 24)
PAPER: RGB = (255, 255, 255)


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


def deep(brand: RGB) -> RGB:
    """A deep version of the brand colour for dark plates and scrims."""
    return (round(brand[0] * 0.22), round(brand[1] * 0.22), round(brand[2] * 0.22))
