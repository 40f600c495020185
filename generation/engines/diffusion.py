"""Scene images painted by a ControlNet inpaint pipeline around the merchant's product.

The model never owns the product: it paints the background at its native size, the result
is upscaled to the output size, and the product's own pixels are pasted back at full
resolution, then checked.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PIL import Image

from generation.compose import RESAMPLE, fit_box, measure_fidelity, paste_back, place_product
from generation.config import GenerationConfig
from generation.engines.conditioning import (
    ControlImage,
    canny_control,
    depth_control,
    depth_controlnet,
    generation_base,
    generation_size,
    inpaint_layout,
    require_depth,
)
from generation.errors import GenerationError, InvalidSpec
from generation.specs import SceneSpec
from generation.types import (
    Fidelity,
    PlacedProduct,
    ProgressCallback,
    RenderedImage,
    Segmentation,
    no_progress,
)

# Centred, slightly below the middle: products stand on something, and the eye expects
# more room above a standing object than below it.
PRODUCT_ANCHOR = (0.5, 0.56)

# SceneSpec allows at most 16 variants; each (seed, variant) gets its own noise seed.
MAX_VARIANTS = 16

_QUALITY = "professional commercial product photography, high detail, sharp focus"

THEME_PROMPTS: dict[str, str] = {
    "studio_sweep": "on a seamless light grey studio sweep, soft diffused studio lighting, "
    "subtle floor reflection, clean minimal background",
    "pastel_gradient": "in front of a smooth pastel gradient backdrop, soft peach and lavender "
    "tones, gentle even lighting, minimal set",
    "marble_counter": "standing on a polished white marble countertop, soft natural daylight, "
    "softly blurred elegant kitchen in the background",
    "wooden_table": "standing on a rustic oak wooden table, warm natural light, cosy softly "
    "blurred interior in the background",
    "podium": "standing on a round cylindrical display podium, minimal geometric set with "
    "pastel shapes, soft studio lighting",
    "concrete": "standing on a raw grey concrete surface, minimal industrial setting, soft directional light",
    "soft_window_light": "standing on a linen-covered table beside a window, soft morning "
    "light, gentle long shadows, airy and bright",
    "dark_luxury": "standing on a black glossy surface, dramatic rim lighting, dark moody "
    "background, elegant reflections, luxury",
    "brand_color": "in front of a seamless {color} backdrop on a matching {color} surface, "
    "soft even studio lighting, minimal",
    "seasonal": "in a festive seasonal setting, evergreen branches and soft bokeh lights, "
    "warm cosy atmosphere",
}

DEFAULT_NEGATIVE = (
    "text, watermark, logo, signature, lowres, blurry, jpeg artifacts, deformed, distorted, "
    "duplicate product, extra objects, people, hands, cluttered, oversaturated"
)

# Named colours for the brand_color theme: text encoders do not read hex codes.
_COLOR_NAMES: dict[str, tuple[int, int, int]] = {
    "white": (245, 245, 245),
    "light grey": (200, 200, 200),
    "grey": (128, 128, 128),
    "charcoal": (54, 54, 54),
    "black": (15, 15, 15),
    "red": (200, 30, 40),
    "burgundy": (110, 20, 40),
    "coral": (250, 120, 100),
    "orange": (240, 130, 30),
    "mustard yellow": (215, 170, 40),
    "yellow": (250, 220, 60),
    "olive green": (110, 120, 50),
    "green": (40, 150, 70),
    "mint green": (160, 225, 190),
    "teal": (20, 128, 128),
    "sky blue": (120, 190, 235),
    "blue": (30, 80, 200),
    "navy blue": (20, 30, 80),
    "lavender": (190, 170, 225),
    "purple": (110, 50, 150),
    "pink": (240, 150, 190),
    "beige": (225, 205, 170),
    "brown": (120, 75, 40),
}


def color_name(rgb: tuple[int, int, int]) -> str:
    """The nearest named colour (weighted RGB distance, close enough for a prompt)."""
    r, g, b = rgb

    def distance(name: str) -> float:
        cr, cg, cb = _COLOR_NAMES[name]
        return 2 * (r - cr) ** 2 + 4 * (g - cg) ** 2 + 3 * (b - cb) ** 2

    return min(_COLOR_NAMES, key=distance)


def scene_prompt(spec: SceneSpec) -> tuple[str, str]:
    """(prompt, negative prompt): the theme's text, then the merchant's."""
    if spec.theme not in THEME_PROMPTS:
        raise InvalidSpec(f"unknown theme {spec.theme!r}; choose one of {', '.join(THEME_PROMPTS)}")
    setting = THEME_PROMPTS[spec.theme]
    if spec.theme == "brand_color":
        if spec.brand_color is None:
            raise InvalidSpec("the brand_color theme needs brand_color (r, g, b)")
        setting = setting.format(color=color_name(spec.brand_color))
    parts = [f"a product {setting}", _QUALITY, spec.prompt.strip()]
    negative = [DEFAULT_NEGATIVE, spec.negative_prompt.strip()]
    return ", ".join(p for p in parts if p), ", ".join(n for n in negative if n)


def variant_seed(seed: int, index: int) -> int:
    """Noise seed of variant ``index``: the same whatever the count, unique per (seed, index)."""
    return (seed * MAX_VARIANTS + index) % 2**63


class DiffusionEngine:
    """ControlNet (canny, optionally depth) inpainting around the placed product."""

    name = "diffusion"

    def __init__(self, config: GenerationConfig) -> None:
        self.config = config

    def render(
        self, seg: Segmentation, spec: SceneSpec, progress: ProgressCallback = no_progress
    ) -> list[RenderedImage]:
        import torch

        from generation.models import load_diffusion_pipeline

        config = self.config

        # 1. check inputs (before loading anything)
        prompt, negative = scene_prompt(spec)
        if seg.matte.size != seg.image.size:
            raise InvalidSpec(f"matte is {seg.matte.size}, photo is {seg.image.size}")
        if seg.box[2] <= 0 or seg.box[3] <= 0:
            raise InvalidSpec("the segmentation has an empty product box")
        require_depth(config)
        progress(0.0, "loading diffusion models")
        loaded = load_diffusion_pipeline(config)

        # 2. place the product at full output resolution: the fidelity reference
        out_size = (spec.width, spec.height)
        cutout = seg.cutout
        box = fit_box(cutout.size, out_size, fill=spec.fill, anchor=PRODUCT_ANCHOR)
        placed = place_product(cutout, out_size, box)

        # 3. the same layout at the model's native size: init, mask, control image(s)
        gen_size = generation_size(out_size, generation_base(config))
        layout = inpaint_layout(placed, gen_size)
        controls: list[ControlImage] = [canny_control(layout.init)]
        if depth_controlnet(config):
            controls.append(depth_control(layout.init, config))
        progress(0.05, "conditioning ready")

        # 4. prompts: built in step 1 (theme text, then the merchant's)

        # 5. one pipeline call for every variant
        # One CPU generator per variant: variant i gets the same noise whatever the count
        # and on any device, so "variant 3 of seed 42" can be made again on its own.
        seeds = [variant_seed(spec.seed, i) for i in range(spec.count)]
        generators = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]

        def on_step_end(pipe: Any, step: int, timestep: Any, kwargs: dict) -> dict:
            total = max(1, int(getattr(pipe, "num_timesteps", 0) or config.steps))
            progress(0.05 + 0.85 * (step + 1) / total, f"denoising step {step + 1}/{total}")
            return kwargs

        multi = len(controls) > 1
        with loaded.lock:
            result = loaded.pipe(
                prompt=prompt,
                negative_prompt=negative,
                image=layout.init,
                mask_image=layout.mask,
                control_image=[c.image for c in controls] if multi else controls[0].image,
                height=gen_size[1],
                width=gen_size[0],
                # 1.0: the background starts from pure noise; nothing of the grey survives.
                strength=1.0,
                num_inference_steps=config.steps,
                guidance_scale=config.guidance_scale,
                controlnet_conditioning_scale=(
                    [config.controlnet_scale] * len(controls) if multi else config.controlnet_scale
                ),
                num_images_per_prompt=spec.count,
                generator=generators,
                callback_on_step_end=on_step_end,
                output_type="pil",
            )
        painted: list[Image.Image] = list(result.images)
        if len(painted) != spec.count:
            raise GenerationError(f"the pipeline returned {len(painted)} images, not {spec.count}")

        # 6. upscale, paste the product back at full resolution, check it
        progress(0.9, "pasting the product back")
        workers = max(1, min(spec.count, os.cpu_count() or 1))
        # Resize, composite and compare release the GIL on large arrays: threads overlap them.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            finished = list(pool.map(lambda im: _finish(im, placed), painted))

        # 7. results
        key = loaded.key
        models = {"inpaint": key.inpaint_model}
        models.update({f"controlnet_{kind}": source for kind, source in key.controlnets})
        theme_slug = spec.theme.replace("_", "-")
        images = []
        for i, (image, fidelity) in enumerate(finished):
            meta = {
                "engine": self.name,
                "family": key.family,
                "theme": spec.theme,
                "seed": spec.seed,
                "variant": i,
                "variant_seed": seeds[i],
                "scheduler": loaded.scheduler,
                "scheduler_class": loaded.scheduler_class,
                "steps": config.steps,
                "guidance_scale": config.guidance_scale,
                "controlnet": "+".join(c.kind for c in controls),
                "controlnet_scale": config.controlnet_scale,
                "conditioning_impl": controls[0].impl,
                "generation_size": list(gen_size),
                "device": key.device,
                "dtype": key.dtype,
                "models": models,
                "segmenter": seg.segmenter,
            }
            images.append(
                RenderedImage(
                    image=image,
                    kind="scene",
                    name=f"scene-{theme_slug}-{i + 1:02d}",
                    product_box=placed.box,
                    fidelity=fidelity,
                    meta=meta,
                )
            )
        progress(1.0, "done")
        return images


def _finish(painted: Image.Image, placed: PlacedProduct) -> tuple[Image.Image, Fidelity]:
    background = painted.convert("RGB")
    if background.size != placed.canvas_size:
        background = background.resize(placed.canvas_size, RESAMPLE)
    image = paste_back(background, placed)
    fidelity = measure_fidelity(image, placed)
    if fidelity.max_abs_diff != 0:
        # paste_back copies opaque pixels; reaching this is a bug, never ship the image.
        raise GenerationError(
            f"product pixels changed after paste-back (max diff {fidelity.max_abs_diff})",
            code="fidelity_violation",
        )
    return image, fidelity
