"""What the caller asks for: frozen specs for each kind of output."""

from __future__ import annotations

from dataclasses import dataclass

from generation.errors import InvalidSpec

SEGMENTERS = ("auto", "alpha", "rembg", "classical")
ENGINES = ("studio", "diffusion")
VIEWS = ("auto", "standing", "flat")


@dataclass(frozen=True)
class PackshotSpec:
    """Marketplace packshot: pure white, square, product ~85% of the longer side."""

    size: int = 2000
    fill: float = 0.85
    shadow: bool = True

    def __post_init__(self) -> None:
        if self.size < 1600 or self.size > 8000:
            raise InvalidSpec(f"packshot size must be 1600..8000 px, got {self.size}")
        if not 0.5 <= self.fill <= 0.95:
            raise InvalidSpec(f"packshot fill must be 0.5..0.95, got {self.fill}")


@dataclass(frozen=True)
class SceneSpec:
    """Scene images of the product in a themed setting."""

    theme: str = "studio_sweep"
    count: int = 1
    seed: int = 0
    width: int = 1600
    height: int = 1600
    engine: str = "studio"
    prompt: str = ""  # merchant text added to the theme's prompt (diffusion engine)
    negative_prompt: str = ""
    brand_color: tuple[int, int, int] | None = None
    fill: float = 0.6  # product's longer side as a share of the canvas's matching side
    # how the product is set: "standing" on the floor, "flat" (a flat-lay: lying on the
    # surface, the set seen from above) or "auto" (flat when the photo shows it lying down)
    view: str = "auto"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InvalidSpec(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if not 1 <= self.count <= 16:
            raise InvalidSpec(f"scene count must be 1..16, got {self.count}")
        if not (256 <= self.width <= 4096 and 256 <= self.height <= 4096):
            raise InvalidSpec(f"scene size must be 256..4096 px per side, got {self.width}x{self.height}")
        if not 0.1 <= self.fill <= 0.95:
            raise InvalidSpec(f"scene fill must be 0.1..0.95, got {self.fill}")
        if self.view not in VIEWS:
            raise InvalidSpec(f"scene view must be one of {', '.join(VIEWS)}, got {self.view!r}")
