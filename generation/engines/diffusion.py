"""Scene images painted by a ControlNet inpaint pipeline around the merchant's product.

The model never owns the product: it paints the background at its native size, the result
is upscaled to the output size, and the product's own pixels are pasted back at full
resolution, then checked.
"""

from __future__ import annotations

import colorsys
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
from generation.engines.themes import get_theme
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

# Appended to every theme's prompt (the theme says where, this says how it is shot).
_QUALITY = "professional commercial product photography, high detail, sharp focus"

DEFAULT_NEGATIVE = (
    "text, watermark, logo, signature, lowres, blurry, jpeg artifacts, deformed, distorted, "
    "duplicate product, extra objects, people, hands, cluttered, oversaturated"
)

# Hue ranges (upper bound in degrees) -> colour words, for naming brand colours.
_HUES = (
    (15, "red"),
    (40, "orange"),
    (65, "yellow"),
    (80, "lime green"),
    (160, "green"),
    (195, "teal"),
    (250, "blue"),
    (290, "purple"),
    (335, "pink"),
    (360, "red"),
)


def color_name(rgb: tuple[int, int, int]) -> str:
    """Words for a colour ("navy blue", "pastel pink"): text encoders do not read RGB."""
    h, sat, val = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    if sat < 0.15 or val < 0.12:
        for bound, name in ((0.9, "white"), (0.7, "light grey"), (0.4, "grey"), (0.12, "charcoal")):
            if val > bound:
                return name
        return "black"
    hue = next(name for bound, name in _HUES if h * 360 < bound)
    if val < 0.45:
        return {"blue": "navy blue", "red": "burgundy", "orange": "brown", "yellow": "olive"}.get(
            hue, f"dark {hue}"
        )
    if hue in ("orange", "yellow") and val < 0.7:
        return "brown" if hue == "orange" else "olive"
    if sat < 0.45:
        return f"pastel {hue}" if val > 0.75 else f"muted {hue}"
    return hue


def scene_prompt(spec: SceneSpec) -> tuple[str, str]:
    """(prompt, negative prompt): the theme's text, then the merchant's.

    Theme text comes from the theme data the studio engine draws from
    (``engines/themes/*.json``), so both engines offer the same themes. "brand color" in
    it becomes a colour name: text encoders do not read RGB.
    """
    theme = get_theme(spec.theme)  # InvalidSpec naming the available themes
    setting = theme.prompt or theme.description or theme.label
    if "brand color" in setting:
        name = color_name(spec.brand_color or theme.brand_default)
        setting = setting.replace("the brand color", name).replace("brand color", name)
    parts = [setting, _QUALITY, spec.prompt.strip()]
    negative = [DEFAULT_NEGATIVE, spec.negative_prompt.strip()]
    return ", ".join(p for p in parts if p), ", ".join(n for n in negative if n)


def variant_seed(seed: int, index: int) -> int:
    """Noise seed of variant ``index``, numbered as the studio engine numbers variants.

    Variant i of seed s starts from the same initial noise as variant 0 of seed s + i, so
    a variant a merchant liked can be made again on its own from the seed in its meta.
    Not bit for bit: the pipeline also samples the masked image's VAE latents with the
    first generator, and batch size changes kernel numerics. With the real SD VAE (its
    posterior is nearly a point) and a non-ancestral scheduler it is the same picture.
    """
    return seed + index


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
        get_theme(spec.theme)  # InvalidSpec naming the available themes
        if seg.matte.size != seg.image.size:
            raise InvalidSpec(f"matte is {seg.matte.size}, photo is {seg.image.size}")
        cutout = seg.cutout
        if cutout.getchannel("A").getbbox() is None:
            raise InvalidSpec("the product matte is empty: nothing to place in the scene")
        require_depth(config)
        progress(0.0, "loading diffusion models")
        loaded = load_diffusion_pipeline(config)

        # 2. place the product at full output resolution: the fidelity reference
        out_size = (spec.width, spec.height)
        box = fit_box(cutout.size, out_size, fill=spec.fill, anchor=PRODUCT_ANCHOR)
        placed = place_product(cutout, out_size, box)

        # 3. the same layout at the model's native size: init, mask, control image(s)
        gen_size = generation_size(out_size, generation_base(config))
        layout = inpaint_layout(placed, gen_size)
        controls: list[ControlImage] = [canny_control(layout.init)]
        if depth_controlnet(config):
            controls.append(depth_control(layout.init, config))
        progress(0.05, "conditioning ready")

        # 4. prompts: the theme's text, then the merchant's
        prompt, negative = scene_prompt(spec)

        # 5. one pipeline call for every variant
        # One CPU generator per variant: variant i gets the same initial noise whatever
        # the count and on any device (see variant_seed).
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
        images = []
        for i, (image, fidelity) in enumerate(finished):
            meta = {
                "engine": self.name,
                "family": key.family,
                "theme": spec.theme,
                "seed": seeds[i],
                "variant": i,
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
                    name=f"scene-{spec.theme}-{i + 1:02d}",
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
