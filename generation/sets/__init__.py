"""Studio sets: procedural product-photography sets on the CPU, no model weights.

A theme (``themes/*.json``, read by ``themes.py``) describes a set: a wall with a gradient,
glow, bokeh or window light; a floor plane seen in perspective with a procedural material
(marble, wood, concrete, plain paper); an optional podium and props; a light. The set is
built around a placed product with the shadows and reflection its silhouette throws; the
caller pastes the product's own pixels back on top. Scenes (``engines/studio.py``),
posters (``posters/backgrounds.py``), clips (``clips/worlds.py``) and the diffusion
engine's conditioning all draw their sets through this package, as peers.

Everything is seeded: the same inputs give the same bytes. A scene's variant (its seed)
drifts a little in colour, light direction, placement and texture.

- ``stage_for_product``: where the theme stands a product; ``stage_at_box``: the set moved
  under a box someone else chose (``stage.py``).
- ``render_set``: the set itself, as float pixels without the product; ``render_set_pair``:
  the same with and without the product's shadows, the backdrop drawn once (``render.py``).
- ``plan_variant``, ``estimate_light_side``, ``estimate_foot_ratio`` and
  ``estimate_product_tone``: one scene's composition, matched to the light, camera and
  tone already on the product (``variants.py``).
- ``estimate_flat_lay`` (``lies_flat`` with the merchant's choice), ``flat_variant``,
  ``flat_box`` and ``render_flat_set`` (``render_flat_set_pair``: with and without the
  product's shadows): a product shot lying on a surface from above, set from above too,
  in scenes, posters and clips alike; ``lying_shadow`` (offset by ``lying_offset``,
  reaching ``lying_reach``) is the shadow such a product throws round itself, on a set
  or, under ``NEUTRAL_LIGHT`` (``neutral_lying_shadow``), on a poster's brand colour or
  white and a clip's end card (``flat.py``).
- ``neutral_standing_shadow``: a standing product's contact shadow, occlusion and faint
  floor shadow under ``NEUTRAL_LIGHT``, as a scene grounds it (``shadows.py``): a
  product standing on a poster's brand colour or white.
- The parts of the set: ``look.py`` (the theme resolved to colours, seeded drift),
  ``backdrop.py`` (wall and floor), ``pieces.py`` (arch, podium), ``shadows.py`` (shadows,
  reflection, grain), ``props.py``, ``shapes.py`` (anti-aliased coverage) and
  ``textures.py`` (noise, materials, bokeh, window light).
"""

from generation.sets.flat import (
    estimate_flat_lay,
    flat_box,
    flat_variant,
    lies_flat,
    lying_offset,
    lying_reach,
    lying_shadow,
    neutral_lying_offset,
    neutral_lying_shadow,
    render_flat_set,
    render_flat_set_pair,
)
from generation.sets.look import NEUTRAL_LIGHT, resolve_brand
from generation.sets.props import PropPlacement, place_props
from generation.sets.render import piece_shadows, render_set, render_set_pair
from generation.sets.shadows import neutral_standing_shadow
from generation.sets.stage import (
    MAX_PRODUCT_WIDTH,
    PodiumGeometry,
    Stage,
    move_stage,
    podium_reach,
    stage_at_box,
    stage_for_product,
)
from generation.sets.themes import Theme, get_theme, list_themes, load_themes
from generation.sets.variants import (
    LIGHT_SIDE_THRESHOLD,
    Variant,
    estimate_foot_ratio,
    estimate_light_side,
    estimate_product_tone,
    plan_variant,
)

__all__ = [
    "LIGHT_SIDE_THRESHOLD",
    "NEUTRAL_LIGHT",
    "MAX_PRODUCT_WIDTH",
    "PodiumGeometry",
    "PropPlacement",
    "Stage",
    "Theme",
    "Variant",
    "estimate_flat_lay",
    "estimate_foot_ratio",
    "estimate_light_side",
    "estimate_product_tone",
    "flat_box",
    "flat_variant",
    "get_theme",
    "list_themes",
    "load_themes",
    "piece_shadows",
    "place_props",
    "plan_variant",
    "lies_flat",
    "lying_offset",
    "neutral_lying_offset",
    "neutral_lying_shadow",
    "neutral_standing_shadow",
    "lying_reach",
    "lying_shadow",
    "render_flat_set",
    "render_flat_set_pair",
    "render_set",
    "render_set_pair",
    "resolve_brand",
    "move_stage",
    "stage_at_box",
    "podium_reach",
    "stage_for_product",
]
