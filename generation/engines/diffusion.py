"""Scene images painted by a ControlNet inpaint pipeline around the merchant's product.

The model never owns the product: it paints the background at its native size, the result
is upscaled to the output size, and the product's own pixels are pasted back at full
resolution, then checked.
"""

from __future__ import annotations

import colorsys
import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image

from generation.compose import RESAMPLE, measure_fidelity, paste_back, place_product
from generation.config import GenerationConfig
from generation.engines.conditioning import (
    ControlImage,
    canny_control,
    depth_control,
    depth_controlnet,
    generation_canvas,
    inpaint_layout,
    require_depth,
    set_preview,
)
from generation.engines.denoise import DenoiseRequest, run_variants
from generation.errors import GenerationError, InvalidSpec
from generation.sets import Theme, flat_box, get_theme, lies_flat, stage_for_product
from generation.specs import SceneSpec
from generation.types import (
    Box,
    Fidelity,
    ImageCallback,
    PlacedProduct,
    ProgressCallback,
    RenderedImage,
    Segmentation,
    no_progress,
)

# CLIP's window: 77 tokens, less the start and end markers.
PROMPT_TOKENS = 75

# Appended to every theme's prompt (the theme says where, this says how it is shot).
_QUALITY = "professional commercial product photography, high detail, sharp focus"

# a flat-lay (``sets.flat``): the set's surface seen from straight above
FLAT_LAY = "flat lay, top-down view from directly above, product lying on the surface"
FLAT_LAY_NEGATIVE = "wall, horizon, perspective, product standing upright"

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


def scene_prompt(
    spec: SceneSpec,
    count_tokens: Callable[[str], int] | None = None,
    budget: int = PROMPT_TOKENS,
    *,
    flat: bool = False,
) -> tuple[str, str]:
    """(prompt, negative prompt): the theme's setting, the merchant's words, quality words.

    Theme text comes from the theme data the studio engine draws from
    (``sets/themes/*.json``), so both engines offer the same themes. "brand color" in
    it becomes a colour name: text encoders do not read RGB. With ``count_tokens`` (the
    text encoder's tokenizer) each prompt is kept within ``budget`` tokens, the encoder's
    window: the merchant's words are kept first, then the theme's phrases in order, then
    the quality phrases; what does not fit is left out whole rather than cut mid-word by
    the tokenizer. ``flat``: a flat-lay, the set seen from straight above (``FLAT_LAY``
    first, and a wall or horizon in the negative prompt).
    """
    theme = get_theme(spec.theme)  # InvalidSpec naming the available themes
    setting = theme.prompt or theme.description or theme.label
    if "brand color" in setting:
        name = color_name(spec.brand_color or theme.brand_default)
        setting = setting.replace("the brand color", name).replace("brand color", name)
    view = _phrases(FLAT_LAY) if flat else []
    prompt = _fit_phrases(
        view + _phrases(setting), spec.prompt.strip(), _phrases(_QUALITY), count_tokens, budget
    )
    negative = _fit_phrases(
        _phrases(DEFAULT_NEGATIVE) + (_phrases(FLAT_LAY_NEGATIVE) if flat else []),
        spec.negative_prompt.strip(),
        [],
        count_tokens,
        budget,
    )
    return prompt, negative


def _phrases(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _fit_phrases(
    before: list[str],
    merchant: str,
    after: list[str],
    count_tokens: Callable[[str], int] | None,
    budget: int,
) -> str:
    """``before``, the merchant's text, ``after`` joined by commas, within ``budget`` tokens."""

    def join(b: list[str], m: str, a: list[str]) -> str:
        return ", ".join([*b, *([m] if m else []), *a])

    if count_tokens is None:
        return join(before, merchant, after)
    words = merchant.split()
    while words and count_tokens(" ".join(words)) > budget:
        words.pop()  # the merchant's text alone is over the window: keep what the encoder reads
    merchant = " ".join(words)
    kept_before: list[str] = []
    kept_after: list[str] = []
    for phrase in before:
        if count_tokens(join([*kept_before, phrase], merchant, [])) <= budget:
            kept_before.append(phrase)
    for phrase in after:
        if count_tokens(join(kept_before, merchant, [*kept_after, phrase])) <= budget:
            kept_after.append(phrase)
    return join(kept_before, merchant, kept_after)


def token_counter(pipe: Any) -> tuple[Callable[[str], int], int]:
    """(count_tokens, budget) for the pipeline's text encoder(s): tokens without the start
    and end markers, and the window they must fit in."""
    tokenizers = [t for t in (getattr(pipe, "tokenizer", None), getattr(pipe, "tokenizer_2", None)) if t]

    def count(text: str) -> int:
        # verbose=False: over-long texts are what this measures, not a mistake to log
        return max(len(t(text, add_special_tokens=False, verbose=False)["input_ids"]) for t in tokenizers)

    return count, min(t.model_max_length for t in tokenizers) - 2


def variant_seed(seed: int, index: int) -> int:
    """Noise seed of variant ``index``, numbered as the studio engine numbers variants.

    Variant i of seed s is variant 0 of seed s + i: every random draw made for it comes
    from a generator seeded with s + i (see ``engines/denoise.py``), so a variant a
    merchant liked can be made again on its own from the seed in its meta (up to the
    last bits of kernel arithmetic, which batch size can change on a GPU).
    """
    return seed + index


def scene_box(theme: Theme, product_size: tuple[int, int], out_size: tuple[int, int], fill: float) -> Box:
    """Where the product stands: the theme's own placement (as in the studio engine),
    without the per-variant drift, so every variant shares one layout."""
    steady = dataclasses.replace(theme, variation=dataclasses.replace(theme.variation, anchor=0.0))
    return stage_for_product(steady, product_size, out_size, fill=fill).box


def control_strength(theme: Theme, config: GenerationConfig, kinds: list[str]) -> tuple[list[float], float]:
    """(scale per ControlNet, control end): the theme's, unless the configuration overrides."""
    own = {"canny": theme.diffusion.canny_scale, "depth": theme.diffusion.depth_scale}
    scales = [config.controlnet_scale if config.controlnet_scale is not None else own[k] for k in kinds]
    end = config.control_end if config.control_end is not None else theme.diffusion.control_end
    return scales, end


class DiffusionEngine:
    """ControlNet (canny, optionally depth) inpainting around the placed product."""

    name = "diffusion"

    def __init__(self, config: GenerationConfig) -> None:
        self.config = config

    def render(
        self,
        seg: Segmentation,
        spec: SceneSpec,
        progress: ProgressCallback = no_progress,
        on_image: ImageCallback | None = None,
    ) -> list[RenderedImage]:
        from generation.models import load_diffusion_pipeline

        config = self.config

        # 1. check inputs (before loading anything)
        theme = get_theme(spec.theme)  # InvalidSpec naming the available themes
        if seg.matte.size != seg.image.size:
            raise InvalidSpec(f"matte is {seg.matte.size}, photo is {seg.image.size}")
        cutout = seg.cutout
        if cutout.getchannel("A").getbbox() is None:
            raise InvalidSpec("the product matte is empty: nothing to place in the scene")
        require_depth(config)
        progress(0.0, "loading diffusion models")
        loaded = load_diffusion_pipeline(config)

        # 2. place the product where the theme stands it, at full output resolution: the
        # fidelity reference
        # (a flat-lay lies on the set's surface seen from above, as in the studio engine)
        out_size = (spec.width, spec.height)
        flat = lies_flat(spec.view, seg.image, seg.matte)
        box = (
            flat_box(cutout.size, out_size, fill=spec.fill)
            if flat
            else scene_box(theme, cutout.size, out_size, spec.fill)
        )
        placed = place_product(cutout, out_size, box)

        # 3. the same layout on the model's canvas (a training bucket): the theme's set under
        # the product, init, mask, control image(s)
        canvas = generation_canvas(out_size, config.diffusion_family, config.generation_base)
        preview = set_preview(theme, placed, canvas, brand_color=spec.brand_color, flat=flat)
        layout = inpaint_layout(placed, canvas, preview.set_only)
        controls: list[ControlImage] = [canny_control(layout, preview)]
        if depth_controlnet(config):
            controls.append(depth_control(layout, config))
        scales, control_end = control_strength(theme, config, [c.kind for c in controls])
        progress(0.05, "conditioning ready")

        # 4. prompts within the text encoder's window, the merchant's words kept
        count_tokens, budget = token_counter(loaded.pipe)
        prompt, negative = scene_prompt(spec, count_tokens, budget, flat=flat)

        # 5. denoise in chunks that fit the device; finish each variant as it is decoded:
        # crop the output's frame, upscale, paste the product back at full resolution, check
        seeds = [variant_seed(spec.seed, i) for i in range(spec.count)]
        request = DenoiseRequest(
            prompt=prompt,
            negative_prompt=negative,
            init=layout.init,
            mask=layout.mask,
            controls=tuple(c.image for c in controls),
            scales=tuple(scales),
            control_end=control_end,
            steps=config.steps,
            guidance_scale=config.guidance_scale,
        )
        workers = max(1, min(spec.count, os.cpu_count() or 1))
        # Resize, composite and compare release the GIL on large arrays: threads overlap
        # them with each other and with the next decode on the GPU.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures: dict[int, Future[tuple[Image.Image, Fidelity]]] = {}

            def on_decoded(index: int, rgb: np.ndarray) -> None:
                futures[index] = pool.submit(_finish, rgb, canvas.window, placed)

            largest = run_variants(
                loaded, request, seeds, config, on_decoded, lambda f, m: progress(0.05 + 0.85 * f, m)
            )
            progress(0.9, "pasting the product back")
            finished = [futures[i].result() for i in range(spec.count)]

        # 6. results; dtypes are read from the loaded modules, not from the configuration
        key = loaded.key
        dtypes = loaded.dtypes()
        models = {"inpaint": key.inpaint_model}
        models.update({f"controlnet_{kind}": source for kind, source in key.controlnets})
        if key.vae:
            models["vae"] = key.vae
        if key.lcm_lora:
            models["lcm_lora"] = key.lcm_lora
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
                "controlnet_scale": scales,
                "control_end": control_end,
                "conditioning_impl": controls[0].impl,
                "generation_size": list(canvas.size),
                "generation_window": list(canvas.window),
                "variants_per_call": largest,
                "prompt": prompt,
                "device": key.device,
                "dtype": dtypes["unet"],
                "dtypes": dtypes,
                "models": models,
                "segmenter": seg.segmenter,
                # how the product was set: a clip made from the scene moves a flat-lay's
                # surface with it (no floor in perspective)
                "view": "flat" if flat else "standing",
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
        for done in images:  # a batch is finished together
            if on_image is not None:
                on_image(done)
        progress(1.0, "done")
        return images


def _finish(painted: np.ndarray, window: Box, placed: PlacedProduct) -> tuple[Image.Image, Fidelity]:
    x, y, w, h = window
    background = Image.fromarray(np.ascontiguousarray(painted[y : y + h, x : x + w]), "RGB")
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
