"""What a clip request asks for, checked against the platform presets in ``presets.json``.

Presets are data: sizes, frame rate, duration limits, CRF and bitrate caps per platform,
encoder settings and the motion amounts of each style all live in ``presets.json``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from generation.errors import InvalidSpec
from generation.safe_zones import Insets, zone_insets
from generation.specs import VIEWS

PRESETS_FILE = Path(__file__).with_name("presets.json")

STYLES = ("push_in", "pull_out", "pan", "parallax", "sequence")
TRANSITIONS = ("cut", "crossfade", "slide")
DIRECTIONS = ("left", "right")
MOTIONS = ("camera", "diffusion")
# how a clip opens: the product drops onto its set, the set fades in around it, or neither
REVEALS = ("drop_in", "fade", "none")
# the sets a sequence cuts to after the one the merchant picked: a sunlit room, a counter
# top, the plain sweep
SEQUENCE_FOLLOW = ("soft_window_light", "marble_counter", "studio_sweep")


def sequence_themes(first: str, count: int = 3) -> tuple[str, ...]:
    """The ``count`` themes of a sequence clip that opens on ``first``: then the stock sets of
    ``SEQUENCE_FOLLOW``, never the same set twice (a sequence on ``marble_counter`` does not
    come back to it)."""
    return (first, *[t for t in SEQUENCE_FOLLOW if t != first][: count - 1])


@functools.cache
def presets_data() -> dict[str, Any]:
    """The parsed ``presets.json`` (read once per process)."""
    return json.loads(PRESETS_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Preset:
    """One delivery target: frame size, rate control and what it is for."""

    name: str
    label: str
    width: int
    height: int
    crf: int
    maxrate_kbps: int
    bufsize_kbps: int
    safe_zone: str | None = None  # the platform UI zone over the picture (``generation.safe_zones``)


def preset_names() -> list[str]:
    return list(presets_data()["presets"])


def get_preset(name: str) -> Preset:
    data = presets_data()["presets"]
    if name not in data:
        raise InvalidSpec(f"unknown clip preset {name!r}; choose one of {', '.join(data)}")
    p = data[name]
    return Preset(
        name=name,
        label=p["label"],
        width=int(p["width"]),
        height=int(p["height"]),
        crf=int(p["crf"]),
        maxrate_kbps=int(p["maxrate_kbps"]),
        bufsize_kbps=int(p["bufsize_kbps"]),
        safe_zone=p.get("safe_zone"),
    )


@dataclass(frozen=True)
class ClipSpec:
    """A product clip: platform preset, length, camera style, scenes and the text on it.

    ``size`` overrides the preset's frame size (the preset's rate control is kept); both
    sides must be even (H.264 4:2:0) and within ``presets.json``'s ``size_px``.
    ``themes`` are studio themes: the first is used by single-scene styles, all of them
    (in order) by ``sequence``. ``price`` is a decimal string such as ``"19.90"``;
    ``compare_at`` the price before a discount (shown struck through on the end card
    only when it is higher than ``price``). ``end_card`` (the last seconds: product,
    price and call to action) defaults to on whenever there is a price, a CTA or a logo.
    """

    preset: str = "story"
    duration: float = 8.0
    style: str = "push_in"
    themes: tuple[str, ...] = ("studio_sweep",)
    seed: int = 0
    size: tuple[int, int] | None = None
    direction: str = "right"  # pan and parallax: where the camera travels
    transition: str = "crossfade"  # sequence: between scenes
    headline: str = ""
    price: str | None = None
    compare_at: str | None = None
    currency: str = "USD"
    locale: str = "en_US"
    cta: str = ""
    end_card: bool | None = None
    brand_color: tuple[int, int, int] | None = None
    fill: float = 0.5  # product's longer side of the frame's matching side, or by area of the safe area's
    motion: str = "camera"  # camera | diffusion (background motion from a video model)
    reveal: str = "drop_in"  # drop_in | fade | none: how the clip opens (REVEALS)
    webm: bool = False
    preview: bool = False
    poster: bool = True
    # how a set made for the clip lays the product: as ``SceneSpec.view`` ("flat": lying on
    # the surface, seen from above; "auto": flat when the photo shows it lying down)
    view: str = "auto"

    def __post_init__(self) -> None:
        get_preset(self.preset)  # InvalidSpec naming the presets
        data = presets_data()
        lo, hi = data["duration_s"]["min"], data["duration_s"]["max"]
        if isinstance(self.duration, bool) or not isinstance(self.duration, (int, float)):
            raise InvalidSpec(f"clip duration must be a number of seconds, got {self.duration!r}")
        if not lo <= self.duration <= hi:
            raise InvalidSpec(f"clip duration must be {lo}..{hi} s, got {self.duration:g} s")
        if self.size is not None:
            _check_size(self.size)
        if self.style not in STYLES:
            raise InvalidSpec(f"unknown clip style {self.style!r}; choose one of {', '.join(STYLES)}")
        if self.transition not in TRANSITIONS:
            raise InvalidSpec(
                f"unknown transition {self.transition!r}; choose one of {', '.join(TRANSITIONS)}"
            )
        if self.direction not in DIRECTIONS:
            raise InvalidSpec(f"direction must be left or right, got {self.direction!r}")
        if self.motion not in MOTIONS:
            raise InvalidSpec(f"motion must be camera or diffusion, got {self.motion!r}")
        if self.reveal not in REVEALS:
            raise InvalidSpec(f"unknown reveal {self.reveal!r}; choose one of {', '.join(REVEALS)}")
        if not self.themes or not all(isinstance(t, str) and t for t in self.themes):
            raise InvalidSpec("name at least one theme")
        if self.view not in VIEWS:
            raise InvalidSpec(f"clip view must be one of {', '.join(VIEWS)}, got {self.view!r}")
        max_scenes = data["styles"]["sequence"]["max_scenes"]
        if self.style != "sequence" and len(self.themes) > 1:
            raise InvalidSpec(
                f"{len(self.themes)} themes were given but style {self.style!r} shows one scene; "
                "use style 'sequence' to join several"
            )
        if len(self.themes) > max_scenes:
            raise InvalidSpec(f"a sequence joins at most {max_scenes} scenes, got {len(self.themes)}")
        if self.motion == "diffusion" and self.style == "sequence":
            raise InvalidSpec("diffusion motion animates one scene; choose a single-scene style")
        if not 0.2 <= self.fill <= 0.8:
            raise InvalidSpec(f"clip fill must be 0.2..0.8, got {self.fill}")
        for name in ("price", "compare_at"):
            given = getattr(self, name)
            if given is None:
                continue
            try:
                value = Decimal(str(given))
            except InvalidOperation:
                raise InvalidSpec(f"{name} must be a number such as 19.90, got {given!r}") from None
            if not value.is_finite() or value < 0:
                raise InvalidSpec(f"{name} must be a positive number, got {given!r}")
        if self.compare_at is not None and self.price is None:
            raise InvalidSpec("a compare-at price needs a price to compare with")
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise InvalidSpec(f"currency must be a 3-letter ISO code such as EUR, got {self.currency!r}")
        for name, text, limit in (("headline", self.headline, 80), ("cta", self.cta, 32)):
            if len(text) > limit:
                raise InvalidSpec(f"{name} must be at most {limit} characters, got {len(text)}")

    # -- derived values -------------------------------------------------------------

    @property
    def width(self) -> int:
        return self.size[0] if self.size else get_preset(self.preset).width

    @property
    def height(self) -> int:
        return self.size[1] if self.size else get_preset(self.preset).height

    @property
    def safe_insets(self) -> Insets:
        """What the preset's platform UI covers, scaled to the clip's size (none for a
        feed, product page or landscape preset)."""
        return zone_insets(get_preset(self.preset).safe_zone, (self.width, self.height))

    @property
    def fps(self) -> int:
        return int(presets_data()["fps"])

    @property
    def frame_count(self) -> int:
        return round(self.duration * self.fps)

    def wants_end_card(self, *, has_logo: bool = False) -> bool:
        if self.end_card is not None:
            return self.end_card
        return self.price is not None or bool(self.cta) or has_logo

    @property
    def discounted(self) -> bool:
        """A compare-at price above the price: the end card shows it struck through."""
        if self.price is None or self.compare_at is None:
            return False
        return Decimal(str(self.compare_at)) > Decimal(str(self.price))


def _check_size(size: tuple[int, int]) -> None:
    limits = presets_data()["size_px"]
    if (
        not isinstance(size, tuple)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    ):
        raise InvalidSpec(f"clip size must be (width, height) in pixels, got {size!r}")
    w, h = size
    if not (limits["min"] <= w <= limits["max"] and limits["min"] <= h <= limits["max"]):
        raise InvalidSpec(f"clip size must be {limits['min']}..{limits['max']} px per side, got {w}x{h}")
    if w % 2 or h % 2:
        raise InvalidSpec(f"clip width and height must be even (H.264 4:2:0), got {w}x{h}")
