"""How much of a diffusion scene asset is the denoising loop, and what batching variants buys.

Measured side by side in one run, on the same loaded SD1.5 ControlNet inpaint pipeline:

  bare   the denoising loop alone: ControlNet + UNet forward passes (classifier-free
         guidance, so batch = 2 x variants) and the scheduler step, N steps at the
         generation size, on tensors prepared in advance
  whole  DiffusionEngine.render: placement, conditioning, text encoding, VAE encode and
         decode, the same N steps, upscale to the output size, paste-back, fidelity

and prints whole/bare (the engine's overhead; target <= 1.15 on a GPU) and images per
second with 1 vs 4 variants in one call.

On CUDA (default there: --size real) the models are real-size SD1.5 architectures
(UNet 320/640/1280/1280, ControlNet, VAE 128/256/512/512, CLIP-L text encoder) with
RANDOM weights in fp16: nothing is downloaded, the images are noise, the timings are real.
On CPU (default there: --size tiny) the models are the tiny test models: the numbers only
show the plumbing works and are not performance numbers.

    .venv/bin/python bench/bench_diffusion.py                 # auto: real on cuda, tiny on cpu
    .venv/bin/python bench/bench_diffusion.py --size real --steps 25 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from generation import models  # noqa: E402
from generation.engines.diffusion import DiffusionEngine  # noqa: E402
from generation.specs import SceneSpec  # noqa: E402
from generation.types import Segmentation  # noqa: E402
from tests.generation.tiny_models import (  # noqa: E402
    SD15_TINY,
    ModelConfigs,
    ModelFolders,
    build_sd15,
)
from tests.synthetic import product_photo  # noqa: E402

# The stable-diffusion-v1-5 inpainting and control_v11p_sd15_canny architectures.
SD15_REAL = ModelConfigs(
    unet={
        "sample_size": 64,
        "in_channels": 9,
        "out_channels": 4,
        "down_block_types": (
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "DownBlock2D",
        ),
        "up_block_types": (
            "UpBlock2D",
            "CrossAttnUpBlock2D",
            "CrossAttnUpBlock2D",
            "CrossAttnUpBlock2D",
        ),
        "block_out_channels": (320, 640, 1280, 1280),
        "layers_per_block": 2,
        "cross_attention_dim": 768,
        "attention_head_dim": 8,
        "norm_num_groups": 32,
    },
    controlnet={
        "in_channels": 4,
        "down_block_types": (
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "DownBlock2D",
        ),
        "block_out_channels": (320, 640, 1280, 1280),
        "layers_per_block": 2,
        "cross_attention_dim": 768,
        "attention_head_dim": 8,
        "conditioning_embedding_out_channels": (16, 32, 96, 256),
    },
    vae={
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ("DownEncoderBlock2D",) * 4,
        "up_block_types": ("UpDecoderBlock2D",) * 4,
        "block_out_channels": (128, 256, 512, 512),
        "layers_per_block": 2,
        "latent_channels": 4,
        "norm_num_groups": 32,
        "sample_size": 512,
    },
    text_encoder={
        # CLIP ViT-L/14 text tower; ids come from the byte tokenizer (all < 514)
        "bos_token_id": 512,
        "eos_token_id": 513,
        "pad_token_id": 513,
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_attention_heads": 12,
        "num_hidden_layers": 12,
        "max_position_embeddings": 77,
        "vocab_size": 49408,
        "hidden_act": "quick_gelu",
        "projection_dim": 768,
    },
    scheduler=SD15_TINY.scheduler,
)


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed_pair(a: Callable[[], Any], b: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median wall times of ``a`` and ``b``, interleaved so drift hits both alike."""
    a()
    b()
    sync()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((a, times[0]), (b, times[1])):
            start = time.perf_counter()
            fn()
            sync()
            out.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def bare_loop(pipe: Any, variants: int, size: tuple[int, int], steps: int) -> Callable[[], Any]:
    """The pipeline's denoising loop for ``variants`` images, on prepared tensors."""
    import torch

    device, dtype = pipe.unet.device, pipe.unet.dtype
    w, h = size
    f = pipe.vae_scale_factor
    batch = 2 * variants  # classifier-free guidance: unconditional + conditional
    gen = torch.Generator(device="cpu").manual_seed(0)

    def rand(*shape: int) -> Any:
        return torch.randn(shape, generator=gen).to(device=device, dtype=dtype)

    latents0 = rand(variants, 4, h // f, w // f)
    mask = torch.ones(batch, 1, h // f, w // f, device=device, dtype=dtype)
    masked_latents = rand(batch, 4, h // f, w // f)
    control = rand(batch, 3, h, w).clamp(0, 1)
    text_dim = pipe.text_encoder.config.hidden_size
    embeds = rand(batch, 77, text_dim)
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)

    @torch.inference_mode()
    def run() -> Any:
        scheduler.set_timesteps(steps, device=device)
        latents = latents0 * scheduler.init_noise_sigma
        for t in scheduler.timesteps:
            model_in = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            down, mid = pipe.controlnet(
                model_in,
                t,
                encoder_hidden_states=embeds,
                controlnet_cond=control,
                conditioning_scale=0.8,
                return_dict=False,
            )
            noise = pipe.unet(
                torch.cat([model_in, mask, masked_latents], dim=1),
                t,
                encoder_hidden_states=embeds,
                down_block_additional_residuals=down,
                mid_block_additional_residual=mid,
                return_dict=False,
            )[0]
            uncond, cond = noise.chunk(2)
            latents = scheduler.step(uncond + 7.0 * (cond - uncond), t, latents, return_dict=False)[0]
        return latents

    return run


def main() -> None:
    import torch

    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=["auto", "real", "tiny"], default="auto")
    parser.add_argument("--steps", type=int, default=None, help="default: 25 real, 4 tiny")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--out", type=int, default=None, help="output side; default 1600 real, 256 tiny")
    parser.add_argument("--scheduler", default="dpm")
    args = parser.parse_args()
    size = args.size if args.size != "auto" else ("real" if cuda else "tiny")
    if size == "real" and not cuda:
        print("warning: real-size models on CPU take minutes per image", file=sys.stderr)
    steps = args.steps or (25 if size == "real" else 4)
    out_side = args.out or (1600 if size == "real" else 256)
    base = 512 if size == "real" else 64
    dtype = torch.float16 if cuda else torch.float32

    with tempfile.TemporaryDirectory(prefix="bench-diffusion-") as tmp:
        # 1. models: built with random weights, saved, loaded through the production path
        start = time.perf_counter()
        configs = SD15_REAL if size == "real" else SD15_TINY
        folders: ModelFolders = build_sd15(Path(tmp), configs, device="cuda" if cuda else "cpu", dtype=dtype)
        if cuda:
            torch.cuda.empty_cache()
        config = folders.config(
            device="auto",
            steps=steps,
            scheduler=args.scheduler,
            generation_base=base,
        )
        engine = DiffusionEngine(config)
        loaded = models.load_diffusion_pipeline(config)
        pipe = loaded.pipe
        setup_s = time.perf_counter() - start

        photo, mask = product_photo((800, 1000))
        x0, y0, x1, y1 = mask.getbbox()
        seg = Segmentation(photo, mask, (x0, y0, x1 - x0, y1 - y0), segmenter="exact")

        device = torch.cuda.get_device_name(0) if cuda else "cpu"
        print(f"device: {device}  torch {torch.__version__}  dtype {loaded.key.dtype}")
        print(
            f"models: {size}-size SD1.5 ControlNet inpaint, random weights "
            f"(built + saved + loaded in {setup_s:.1f} s)"
        )
        print(
            f"steps {steps}, scheduler {loaded.scheduler_class}, output {out_side}x{out_side}, "
            f"median of {args.repeats}"
        )
        if not cuda or size == "tiny":
            print(
                "NOTE: CPU / tiny models: these numbers only show the plumbing runs; "
                "they say nothing about GPU performance."
            )

        # 2. bare loop vs whole asset, per variant count, side by side
        rows = []
        for variants in args.variants:
            spec = SceneSpec(engine="diffusion", count=variants, width=out_side, height=out_side, seed=1)
            gen_size = tuple(engine.render(seg, spec)[0].meta["generation_size"])
            bare, whole = timed_pair(
                bare_loop(pipe, variants, gen_size, steps),
                lambda spec=spec: engine.render(seg, spec),
                args.repeats,
            )
            rows.append((variants, gen_size, bare, whole))

        print()
        print(f"{'variants':>8} {'gen size':>9} {'bare s':>8} {'whole s':>8} {'whole/bare':>10} {'img/s':>7}")
        for variants, gen_size, bare, whole in rows:
            print(
                f"{variants:>8} {gen_size[0]:>4}x{gen_size[1]:<4} {bare:>8.3f} {whole:>8.3f} "
                f"{whole / bare:>10.3f} {variants / whole:>7.3f}"
            )
        if len(rows) > 1:
            first, last = rows[0], rows[-1]
            speedup = (last[0] / last[3]) / (first[0] / first[3])
            print(f"\nimages/s with {last[0]} variants batched vs {first[0]}: x{speedup:.2f}")
        worst = max(whole / bare for _, _, bare, whole in rows)
        print(f"worst whole/bare: {worst:.3f} (target <= 1.15 on a GPU)")


if __name__ == "__main__":
    main()
