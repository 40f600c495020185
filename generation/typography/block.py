"""The typesetting vocabulary: styles, the laid-out block and its lines and runs.

``TextStyle`` says how to set a text (family, weight, size range, lines, tracking);
``layout_text`` (``fit.py``) returns a ``TextBlock`` whose lines and runs say exactly
what to draw where, and ``draw_text`` (``draw.py``) draws it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from generation.errors import GenerationError, InvalidSpec
from generation.typography.fonts import FAMILIES

ALIGNS = ("left", "center", "right")
VALIGNS = ("top", "middle", "bottom")


class TextDoesNotFit(GenerationError):
    """The text cannot be set inside the box at or above the style's minimum size."""

    code = "text_overflow"

    def __init__(self, message: str, *, text: str, box: tuple[int, int], min_size: int) -> None:
        super().__init__(message)
        self.text = text
        self.box = box
        self.min_size = min_size


@dataclass(frozen=True)
class TextStyle:
    family: str = "inter"
    weight: int = 700
    max_size: int = 96  # px
    min_size: int = 24  # px; below this the text does not fit -> TextDoesNotFit
    line_height: float = 1.15  # baseline-to-baseline distance, in multiples of size
    align: str = "left"  # left | center | right
    max_lines: int = 3
    uppercase: bool = False
    tracking: float = 0.0  # extra letter spacing in em (0.05 = 5 % of the size)
    balance: bool = True  # even out line lengths (same line count as greedy filling)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise InvalidSpec(
                f"Font family {self.family!r} is not one of the poster families: {', '.join(FAMILIES)}."
            )
        if not isinstance(self.weight, int) or not 100 <= self.weight <= 900:
            raise InvalidSpec(f"Font weight {self.weight!r} must be an integer from 100 to 900.")
        if not 1 <= self.min_size <= self.max_size:
            raise InvalidSpec(
                f"Text sizes need 1 <= min_size <= max_size, got min_size={self.min_size}, "
                f"max_size={self.max_size}."
            )
        if not 0.5 <= self.line_height <= 4:
            raise InvalidSpec(f"line_height {self.line_height} must be between 0.5 and 4.")
        if self.align not in ALIGNS:
            raise InvalidSpec(f"align {self.align!r} must be one of {', '.join(ALIGNS)}.")
        if self.max_lines < 1:
            raise InvalidSpec(f"max_lines {self.max_lines} must be at least 1.")
        if not -0.1 <= self.tracking <= 1:
            raise InvalidSpec(f"tracking {self.tracking} em must be between -0.1 and 1.")


@dataclass(frozen=True)
class TextRun:
    """A stretch of one line set in one face."""

    text: str
    font_path: str
    font_index: int
    weight: int
    x: float  # offset of the run's pen origin from the line's left edge, px
    face: str = ""  # family name or "cjk"
    width: float = 0.0  # advance, px (tracking included)
    language: str | None = None  # passed to raqm when shaping and drawing this run
    features: tuple[str, ...] = ()  # OpenType features, likewise

    def to_dict(self) -> dict[str, Any]:
        # The sidecar names the font file, not this machine's path to it.
        return {
            "text": self.text,
            "face": self.face,
            "font_file": self.font_path.replace("\\", "/").rsplit("/", 1)[-1],
            "font_index": self.font_index,
            "weight": self.weight,
            "x": self.x,
            "width": round(self.width, 2),
            "language": self.language,
            "features": list(self.features),
        }


@dataclass(frozen=True)
class TextLine:
    text: str
    width: int  # ink-and-advance extent, px
    runs: tuple[TextRun, ...]
    baseline: int = 0  # y of this line's baseline below the block's top (ink top), px

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "width": self.width,
            "baseline": self.baseline,
            "runs": [run.to_dict() for run in self.runs],
        }


@dataclass(frozen=True)
class TextBlock:
    lines: tuple[TextLine, ...]
    size: int  # chosen font size, px
    line_height_px: int
    width: int  # widest line
    height: int  # ink top of the first line to ink bottom of the last, px
    style: TextStyle
    lang: str | None = None  # the language given (normalised), None if not given
    broken_words: bool = False  # True when a word had to be split (last resort)
    truncated: bool = False  # True when the text was shortened with an ellipsis
    tracking_px: float = field(default=0.0)
    # True when a line breaks inside a phrase the merchant set apart with spaces (CJK text
    # whose phrases could not be kept whole within ``fit.PHRASE_SHRINK``)
    broken_phrases: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": "\n".join(line.text for line in self.lines),
            "size": self.size,
            "line_height_px": self.line_height_px,
            "width": self.width,
            "height": self.height,
            "lang": self.lang,
            "broken_words": self.broken_words,
            "truncated": self.truncated,
            "style": asdict(self.style),
            "lines": [line.to_dict() for line in self.lines],
        }


def measure(block: TextBlock) -> tuple[int, int]:
    return block.width, block.height
