"""The set drawn around a placed product, in order: backdrop and surface, podium, props,
reflection, the product's shadows, grain."""

from __future__ import annotations

import numpy as np

from generation.sets.backdrop import backdrop_and_surface
from generation.sets.look import Look, resolve_brand, resolve_theme
from generation.sets.pieces import draw_podium, podium_shadows
from generation.sets.props import PropPlacement, draw_props, place_props, prop_shadows
from generation.sets.shadows import Shadow, add_reflection, grain, product_shadows
from generation.sets.stage import Stage, stage_at_box
from generation.sets.themes import Theme
from generation.sets.variants import Variant
from generation.types import PlacedProduct


def render_set(
    theme: Theme | str,
    placed: PlacedProduct,
    *,
    stage: Stage | None = None,
    brand_color: tuple[int, int, int] | None = None,
    seed: int = 0,
    variant: Variant | None = None,
    podium: bool = True,
) -> np.ndarray:
    """The studio set around a product already placed: wall, floor, podium, the product's
    shadows and reflection, grain. Float32 HxWx3 in about 0..255 (neither clipped nor
    rounded) at ``placed.canvas_size``, without the product: paste it back on top.
    A ``variant`` sets the key light's direction and the colour set (its stage should
    come from ``stage_for_product`` with the same variant).

    ``stage`` is where the set stands (``stage_for_product``; its box must be
    ``placed.box``); without one the set is built under ``placed.box`` (``stage_at_box``).
    ``brand_color`` fills the theme's brand slots (default: the theme's own); a value that
    is not three integers 0..255 raises ``InvalidSpec``. The same inputs give the same array.
    ``podium=False`` leaves the stage's podium (and the shadows it throws) out, every line
    of the set where the podium would have it (a clip moves the podium as a layer of its own).
    """
    look, stage = _set_look(theme, placed, stage, brand_color, seed, variant)
    bg = _backdrop(look, stage, placed, variant, seed, podium=podium)
    bg = _product_dressing(bg, placed, look, stage)
    # 4. grain on the background only (it also dithers away gradient banding)
    bg += grain(look, placed.canvas_size)
    return bg


def render_set_pair(
    theme: Theme | str,
    placed: PlacedProduct,
    *,
    stage: Stage | None = None,
    brand_color: tuple[int, int, int] | None = None,
    seed: int = 0,
    variant: Variant | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``render_set`` with the product, and the same set without it (the product's layer
    transparent at the same box: no shadows, no reflection), the backdrop drawn once.
    Both equal what ``render_set`` gives for each, value for value."""
    look, stage = _set_look(theme, placed, stage, brand_color, seed, variant)
    bg = _backdrop(look, stage, placed, variant, seed)
    noise = grain(look, placed.canvas_size)
    empty = bg + noise
    shadowed = _product_dressing(bg, placed, look, stage)
    shadowed += noise
    return shadowed, empty


def piece_shadows(
    theme: Theme | str,
    stage: Stage,
    props: list[PropPlacement],
    canvas: tuple[int, int],
    *,
    brand_color: tuple[int, int, int] | None = None,
    seed: int = 0,
    variant: Variant | None = None,
) -> tuple[list[Shadow], list[list[Shadow]]]:
    """The shadows the set's pieces throw on it, each piece's apart, as ``render_set``
    (same arguments) darkens the set with them: the podium's (none without one), then
    each of ``props``' (``place_props``) in their order. A clip that moves each piece as
    a layer of its own moves its shadows with it."""
    theme = resolve_theme(theme)
    look = Look.make(theme, resolve_brand(brand_color, theme), seed, variant)
    podium = podium_shadows(look, stage, canvas) if stage.podium is not None else []
    return podium, [prop_shadows(p, look, canvas) for p in props]


def _set_look(
    theme: Theme | str,
    placed: PlacedProduct,
    stage: Stage | None,
    brand_color: tuple[int, int, int] | None,
    seed: int,
    variant: Variant | None,
) -> tuple[Look, Stage]:
    theme = resolve_theme(theme)
    brand = resolve_brand(brand_color, theme)
    if stage is None:
        stage = stage_at_box(theme, placed.box, placed.canvas_size, seed=seed)
    elif tuple(stage.box) != tuple(placed.box):
        raise ValueError(f"the stage is for box {stage.box}, the product is placed at {placed.box}")
    return Look.make(theme, brand, seed, variant), stage


def _backdrop(
    look: Look, stage: Stage, placed: PlacedProduct, variant: Variant | None, seed: int, podium: bool = True
) -> np.ndarray:
    """1. backdrop + surface (+ podium and its own shadows, and the props): everything
    that does not depend on the product's pixels."""
    bg = backdrop_and_surface(look, stage, placed.canvas_size)
    if podium and stage.podium is not None:
        draw_podium(bg, look, stage, placed.canvas_size)
    if variant is not None and variant.props:
        # the theme's props (scenes only: a poster's layout has its own use for that space)
        draw_props(bg, look, stage, place_props(look.theme, stage, placed, variant, seed=seed))
    return bg


def _product_dressing(bg: np.ndarray, placed: PlacedProduct, look: Look, stage: Stage) -> np.ndarray:
    # 2. optional reflection on a glossy floor
    if look.theme.reflection is not None:
        bg = add_reflection(bg, placed, look)
    # 3. cast shadow from the silhouette + contact shadow and occlusion under its foot
    # (over the reflection: the floor right under the foot gets no light to mirror)
    return product_shadows(bg, placed, look, stage)
