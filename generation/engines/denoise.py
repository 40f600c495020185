"""Running a ControlNet inpaint pipeline for many variants within the device's memory.

Variants are denoised in chunks: as many per pipeline call as the free GPU memory holds
(all of them on the CPU, or ``max_variants_per_call``). An out-of-memory error releases
the allocator's cache and retries the same variants at half the chunk; the size that fitted
is remembered for the weights and canvas size. When even one variant does not fit, the
error says so and names the memory there was.

Each variant is reproducible from its own seed: it gets its own generator, and every
random draw the pipeline makes for it (initial noise, the VAE posterior samples of the
init and masked images, ancestral noise) comes from that generator, whatever the chunk
it lands in. The pipeline returns latents; each variant is decoded on its own (bounded
memory) and handed over as soon as it exists, so finishing it on the CPU overlaps the
next decode.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from generation.config import GenerationConfig
from generation.errors import GenerationError
from generation.models import LoadedPipeline, release_memory
from generation.types import ProgressCallback

# Activation memory one variant needs while denoising (classifier-free guidance doubles
# its batch), per latent pixel (8x8 image pixels), in fp16/bf16; fp32 doubles it. About
# 0.5 GiB per SD1.5 variant at 512 px and 2.5 GiB per SDXL variant at 1024 px, on the safe
# side for SDPA attention; bench/gpu_check.sh prints the measured value next to it.
BYTES_PER_LATENT_PIXEL = {"sd15": 128 * 1024, "sdxl": 160 * 1024}
# Share of the free memory a chunk may plan to use (the allocator fragments).
_MEMORY_HEADROOM = 0.8

# SDXL inpainting degrades when started from pure noise; 0.9999 is its pipeline's default.
STRENGTH = {"sd15": 1.0, "sdxl": 0.9999}


@dataclass(frozen=True)
class DenoiseRequest:
    """One scene's pipeline inputs, shared by all its variants."""

    prompt: str
    negative_prompt: str
    init: Image.Image  # RGB, canvas size
    mask: Image.Image  # L, canvas size, 255 = paint
    controls: tuple[Image.Image, ...]  # RGB, canvas size, one per ControlNet
    scales: tuple[float, ...]  # ControlNet conditioning scale, one per ControlNet
    control_end: float  # fraction of the schedule the ControlNets act for
    steps: int
    guidance_scale: float

    @property
    def size(self) -> tuple[int, int]:
        return self.init.size


def variants_per_call(
    loaded: LoadedPipeline, size: tuple[int, int], count: int, config: GenerationConfig
) -> int:
    """How many variants the first pipeline call takes (see module docstring)."""
    chunk = min(count, config.max_variants_per_call or count, loaded.chunk_limits.get(size, count))
    if loaded.key.device.startswith("cuda"):
        chunk = min(chunk, _fits_in_memory(loaded, size))
    if loaded.key.compiled:
        chunk = _power_of_two(chunk)  # few batch shapes: few compiled graphs
    return max(1, chunk)


def run_variants(
    loaded: LoadedPipeline,
    request: DenoiseRequest,
    seeds: list[int],
    config: GenerationConfig,
    on_image: Callable[[int, np.ndarray], None],
    progress: ProgressCallback,
) -> int:
    """Denoise and decode one variant per seed; ``on_image(i, rgb)`` gets variant i as an
    (h, w, 3) uint8 array at canvas size (again, identical, if its chunk is retried).

    Returns the largest chunk that ran. Raises GenerationError(code="out_of_memory") when
    one variant alone does not fit.
    """
    import torch

    chunk = variants_per_call(loaded, request.size, len(seeds), config)
    largest = 0
    done = 0
    while done < len(seeds):
        n = min(chunk, len(seeds) - done)
        try:
            _run_chunk(loaded, request, seeds[done : done + n], done, on_image, progress, len(seeds))
        except torch.OutOfMemoryError as exc:
            release_memory()
            if n == 1:
                raise _out_of_memory(loaded, request.size) from exc
            chunk = n // 2 if not loaded.key.compiled else _power_of_two(n // 2)
            loaded.chunk_limits[request.size] = chunk
            continue
        largest = max(largest, n)
        done += n
    return largest


def _run_chunk(
    loaded: LoadedPipeline,
    request: DenoiseRequest,
    seeds: list[int],
    first: int,
    on_image: Callable[[int, np.ndarray], None],
    progress: ProgressCallback,
    total_variants: int,
) -> None:
    import torch

    pipe = loaded.pipe
    n = len(seeds)
    # CPU generators: the same seed gives the same noise on any device.
    generators = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
    multi = len(request.controls) > 1

    def on_step_end(pipe_: Any, step: int, timestep: Any, kwargs: dict) -> dict:
        total = max(1, int(getattr(pipe_, "num_timesteps", 0) or request.steps))
        part = (first + n * (step + 1) / total) / total_variants
        progress(part, f"denoising step {step + 1}/{total}")
        return kwargs

    family = loaded.key.family
    with loaded.lock, _encode_once(pipe.vae), _controlnets_skip_when_off(pipe), torch.inference_mode():
        result = pipe(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            # one init and mask per variant, so each variant's VAE posterior samples come
            # from its own generator (the pixels are encoded once: see _encode_once)
            image=[request.init] * n,
            mask_image=[request.mask] * n,
            control_image=list(request.controls) if multi else request.controls[0],
            height=request.size[1],
            width=request.size[0],
            strength=STRENGTH[family],
            num_inference_steps=request.steps,
            guidance_scale=request.guidance_scale,
            controlnet_conditioning_scale=list(request.scales) if multi else request.scales[0],
            control_guidance_end=[request.control_end] * len(request.controls)
            if multi
            else request.control_end,
            num_images_per_prompt=n,
            generator=generators,
            callback_on_step_end=on_step_end,
            output_type="latent",
        )
        latents = result.images
        if latents.shape[0] != n:
            raise GenerationError(f"the pipeline returned {latents.shape[0]} images, not {n}")
        for i in range(n):
            on_image(first + i, decode_latents(pipe, latents[i : i + 1]))


def decode_latents(pipe: Any, latents: Any) -> np.ndarray:
    """One variant's latents -> (h, w, 3) uint8 RGB, as the pipeline's own decode would.

    The VAE runs in its loaded dtype, upcast to float32 only when it is float16 and its
    config says it overflows there (the original SDXL VAE; an fp16-safe one says not).
    """
    import torch

    vae = pipe.vae
    upcast = vae.dtype == torch.float16 and vae.config.force_upcast
    if upcast:
        vae.to(dtype=torch.float32)
    try:
        mean = getattr(vae.config, "latents_mean", None)
        std = getattr(vae.config, "latents_std", None)
        scaling = vae.config.scaling_factor
        if mean is not None and std is not None:
            mean_t = torch.tensor(mean).view(1, -1, 1, 1).to(latents.device, latents.dtype)
            std_t = torch.tensor(std).view(1, -1, 1, 1).to(latents.device, latents.dtype)
            latents = latents * std_t / scaling + mean_t
        else:
            latents = latents / scaling
        with torch.inference_mode():
            image = vae.decode(latents.to(vae.dtype), return_dict=False)[0]
    finally:
        if upcast:
            vae.to(dtype=torch.float16)
    watermark = getattr(pipe, "watermark", None)
    if watermark is not None:
        image = watermark.apply_watermark(image)
    # the pipeline's postprocess: [-1, 1] -> [0, 1], then x255 rounded (here on the device)
    pixels = ((image.float() / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
    return pixels[0].permute(1, 2, 0).cpu().numpy()


@contextlib.contextmanager
def _encode_once(vae: Any) -> Iterator[None]:
    """Within the block, the VAE encodes the same pixels once.

    The pipeline encodes each variant's init and masked image separately so that each is
    sampled with that variant's generator; the pixels are the same for every variant, so
    the posterior is computed once and each generator draws its own sample from it.
    """
    import torch

    real = vae.encode
    seen: list[tuple[Any, Any]] = []

    def encode(pixels: Any, *args: Any, **kwargs: Any) -> Any:
        for known, posterior in seen:
            if known.shape == pixels.shape and known.dtype == pixels.dtype and torch.equal(known, pixels):
                return posterior
        posterior = real(pixels, *args, **kwargs)
        seen.append((pixels, posterior))
        return posterior

    vae.encode = encode
    try:
        yield
    finally:
        del vae.encode  # the class's method again


@contextlib.contextmanager
def _controlnets_skip_when_off(pipe: Any) -> Iterator[None]:
    """ControlNets called at conditioning scale 0 return zeros without running.

    Past ``control_guidance_end`` the pipeline still runs each ControlNet and multiplies
    its residuals by 0; skipping that saves the ControlNet's share of every late step.
    """
    controlnet = pipe.controlnet
    nets = list(getattr(controlnet, "nets", [controlnet]))
    saved = [net.__dict__.get("forward") for net in nets]
    for net in nets:
        net.forward = _skipping_forward(net.forward)
    try:
        yield
    finally:
        for net, forward in zip(nets, saved, strict=True):
            if forward is None:
                del net.forward
            else:
                net.forward = forward


def _skipping_forward(forward: Callable[..., Any]) -> Callable[..., Any]:
    last: list[Any] = []  # the residuals of the last real call: their shapes

    def run(*args: Any, conditioning_scale: float = 1.0, **kwargs: Any) -> Any:
        tuple_out = kwargs.get("return_dict", True) is False
        if conditioning_scale == 0 and last and tuple_out:
            down, mid = last[0]
            return [d.new_zeros(d.shape) for d in down], mid.new_zeros(mid.shape)
        out = forward(*args, conditioning_scale=conditioning_scale, **kwargs)
        if tuple_out:
            last[:] = [(out[0], out[1])]
        return out

    return run


def _fits_in_memory(loaded: LoadedPipeline, size: tuple[int, int]) -> int:
    import torch

    device = torch.device(loaded.key.device)
    free, _ = torch.cuda.mem_get_info(device)
    # blocks the caching allocator holds but does not use are free to this process too
    free += torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    return max(1, int(free * _MEMORY_HEADROOM // variant_bytes(loaded.key.family, size, loaded.key.dtype)))


def variant_bytes(family: str, size: tuple[int, int], dtype: str) -> int:
    """Estimated activation memory of one variant at canvas ``size`` (see BYTES_PER_LATENT_PIXEL)."""
    latent_pixels = (size[0] // 8) * (size[1] // 8)
    return BYTES_PER_LATENT_PIXEL[family] * latent_pixels * (2 if dtype == "float32" else 1)


def _power_of_two(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


def _out_of_memory(loaded: LoadedPipeline, size: tuple[int, int]) -> GenerationError:
    import torch

    key = loaded.key
    where = f"the memory of {key.device}"
    if key.device.startswith("cuda"):
        free, total = torch.cuda.mem_get_info(torch.device(key.device))
        where += f" ({free / 2**30:.1f} GiB free of {total / 2**30:.1f} GiB after releasing the cache)"
    else:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        where += f" ({ram / 2**30:.1f} GiB of RAM)"
    return GenerationError(
        f"one {key.family} variant at {size[0]}x{size[1]} px in {key.dtype} does not fit in {where}; "
        "free the GPU of other processes, use a GPU with more memory, or choose the sd15 family",
        code="out_of_memory",
    )
