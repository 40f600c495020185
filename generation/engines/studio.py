"""Studio scene engine: procedural product-photography scenes on the CPU, no model weights.

The set (wall, floor, podium, props, the product's shadows and reflection, grain) is drawn
by ``generation.sets`` from a theme; the engine plans each variant's composition, places
the product where the theme stands it, builds the set around it and pastes the product's
own pixels back on top, untouched. ``compose.light_wrap`` softens the product's edge after
the paste-back.

Everything is seeded: the same spec gives the same bytes. Variant ``i`` uses seed
``spec.seed + i`` and drifts a little in colour, light direction, placement and texture.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image

from generation import compose
from generation.config import GenerationConfig
from generation.errors import InvalidSpec
from generation.sets import (
    Theme,
    estimate_foot_ratio,
    estimate_light_side,
    estimate_product_tone,
    flat_box,
    flat_variant,
    get_theme,
    lies_flat,
    place_props,
    plan_variant,
    render_flat_set,
    render_set,
    resolve_brand,
    stage_for_product,
)
from generation.specs import SceneSpec
from generation.types import ImageCallback, ProgressCallback, RenderedImage, Segmentation, no_progress


class StudioEngine:
    """Renders themed product scenes without any model: CPU, numpy and OpenCV."""

    name = "studio"

    def __init__(self, config: GenerationConfig, *, themes: Mapping[str, Theme] | None = None) -> None:
        """``themes`` replaces the built-in library (e.g. ``load_themes(folder)``)."""
        self.config = config
        self.themes = dict(themes) if themes is not None else None

    def theme(self, name: str) -> Theme:
        """The named theme; ``InvalidSpec`` naming the available themes if there is none."""
        if self.themes is None:
            return get_theme(name)
        if name not in self.themes:
            raise InvalidSpec(f"unknown theme {name!r}; choose one of {', '.join(sorted(self.themes))}")
        return self.themes[name]

    def render(
        self,
        seg: Segmentation,
        spec: SceneSpec,
        progress: ProgressCallback = no_progress,
        on_image: ImageCallback | None = None,
    ) -> list[RenderedImage]:
        # 1. check inputs
        theme = self.theme(spec.theme)  # InvalidSpec naming the available themes
        brand = resolve_brand(spec.brand_color, theme)
        cutout = seg.cutout
        if cutout.getchannel("A").getbbox() is None:
            raise InvalidSpec("the product matte is empty: nothing to place in the scene")
        size = (spec.width, spec.height)
        # the light already on the product picks the side the set's key light comes from
        light_side = estimate_light_side(cutout)
        # and the way its base is seen, the camera height the set is seen from
        foot_ratio = estimate_foot_ratio(cutout)
        # and its tone, how far a light set must be deepened for it to stand out
        tone = estimate_product_tone(cutout)
        # a product photographed lying on a surface from above is set from above too
        flat = lies_flat(spec.view, seg.image, seg.matte)

        results = []
        for i in range(spec.count):
            seed = spec.seed + i
            progress(i / spec.count, f"Scene {i + 1} of {spec.count}: {theme.label}")

            # 2. the variant's composition (placement, camera, light, palette), then place
            # the product: the theme's anchor is where the set touches the floor
            variant = plan_variant(
                theme, seed, light_side=light_side, foot_ratio=foot_ratio, product_tone=tone
            )
            if flat:
                variant = flat_variant(variant)
                placed = compose.place_product(
                    cutout, size, flat_box(cutout.size, size, fill=spec.fill, variant=variant)
                )
                bg = render_flat_set(theme, placed, brand_color=brand, seed=seed, variant=variant)
                # no wall and no floor line: the surface fills the frame
                layout: dict[str, Any] = {
                    "horizon": 0.0,
                    "contact": float(placed.box[1] + placed.box[3]),
                    "props": [],
                    "podium": None,
                }
            else:
                stage = stage_for_product(
                    theme, cutout.size, size, fill=spec.fill, seed=seed, variant=variant
                )
                placed = compose.place_product(cutout, size, stage.box)

                # 3. the set around it: backdrop, surface, podium, shadows, reflection, grain
                bg = render_set(theme, placed, stage=stage, brand_color=brand, seed=seed, variant=variant)
                props = place_props(theme, stage, placed, variant, seed=seed) if variant.props else []
                layout = {
                    "horizon": round(float(stage.horizon), 3),
                    "contact": round(float(stage.contact), 3),
                    "props": [p.to_dict() for p in props],
                    # a clip moves the podium with the product standing on it
                    "podium": None if stage.podium is None else stage.podium.to_dict(),
                }
            background = Image.fromarray(np.clip(bg + 0.5, 0, 255).astype(np.uint8), "RGB")

            # 4. paste the product back; light wrap touches soft edge pixels only
            image = compose.paste_back(background, placed)
            if theme.light_wrap > 0:
                image = compose.light_wrap(image, background, placed, theme.light_wrap)

            # 5. check the product's pixels survived
            fidelity = compose.measure_fidelity(image, placed)
            results.append(
                RenderedImage(
                    image=image,
                    kind="scene",
                    name=f"scene-{theme.name}-{i + 1:02d}",
                    product_box=placed.box,
                    fidelity=fidelity,
                    meta={
                        "engine": self.name,
                        "theme": theme.name,
                        "seed": seed,
                        "segmenter": seg.segmenter,
                        "variant": variant.to_dict(),
                        # the set's lines and props as data, for clips made from this scene
                        "layout": layout,
                    },
                )
            )
            if on_image is not None:  # the merchant sees it while the next is made
                on_image(results[-1])
        progress(1.0, f"{spec.count} scene(s) done")
        return results
