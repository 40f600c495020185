"""Short product clips (MP4 for feeds, stories and product pages) with the product
pixel-locked in every frame: the camera, the light and the world move; the product's
own pixels are only ever scaled and translated, never warped or recoloured.

    from generation.clips import ClipSpec, render_clip
    result = render_clip(seg, ClipSpec(preset="story", duration=8, style="parallax"), "out.mp4")

Heavy imports (PyAV, diffusers) happen inside functions.
"""

from generation.clips.render import (
    ClipFidelity,
    ClipFrame,
    ClipPlan,
    ClipResult,
    plan_clip,
    render_clip,
    write_clip,
)
from generation.clips.spec import STYLES, TRANSITIONS, ClipSpec, Preset, get_preset, preset_names

__all__ = [
    "STYLES",
    "TRANSITIONS",
    "ClipFidelity",
    "ClipFrame",
    "ClipPlan",
    "ClipResult",
    "ClipSpec",
    "Preset",
    "get_preset",
    "plan_clip",
    "preset_names",
    "render_clip",
    "write_clip",
]
