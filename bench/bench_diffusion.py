"""The diffusion engine on a GPU: real dtypes, memory, overhead over the denoising loop, FLOPs.

Measured in one run, on ControlNet inpaint pipelines built with random weights from the
real SD1.5 and SDXL architectures (configs below, as data: nothing is downloaded), saved,
and loaded through the production path (``generation.models``):

  dtype   each scheduler's view: the dtype of every module, read from its parameters
  load    weight bytes (read from the modules) and device memory after loading
  flops   FLOPs of one denoising step with and without the ControlNet, and of one whole
          variant (text encoders, VAE, every step), counted by torch's FlopCounterMode
  time    per variant count (1, 4, 16): bare = the denoising loop alone (ControlNet +
          UNet, classifier-free guidance, scheduler step; the ControlNet only for the
          theme's share of the schedule, as the engine runs it) on tensors prepared in
          advance; whole = DiffusionEngine.render (placement, set preview, conditioning,
          text encoding, VAE encode and decode, upscale, paste-back, fidelity); their
          ratio, peak device memory, images per second and model-FLOP utilisation
          against the device's dense fp16 peak
  target  SDXL + ControlNet, 1024 px output, 30 steps, one variant, whole asset

Timings are medians of runs interleaved with their baseline (bare), in the same process.
On the CPU (``--size tiny``, the default there) the models are the test suite's tiny ones:
the numbers only show that the plumbing runs and say nothing about GPU performance.

    python bench/bench_diffusion.py                  # auto: real size on cuda, tiny on cpu
    python bench/bench_diffusion.py --json           # one JSON object per line (bench/gpu_check.sh)
    python bench/bench_diffusion.py --family sdxl --variants 1 4
"""

from __future__ import annotations

import argparse
import json
import math
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
from generation.config import SCHEDULER_NAMES  # noqa: E402
from generation.engines.denoise import BYTES_PER_LATENT_PIXEL, STRENGTH  # noqa: E402
from generation.engines.diffusion import DiffusionEngine  # noqa: E402
from generation.errors import InvalidSpec  # noqa: E402
from generation.specs import SceneSpec  # noqa: E402
from generation.types import Segmentation  # noqa: E402
from tests.generation.tiny_models import (  # noqa: E402
    SD15_TINY,
    SDXL_TINY,
    ModelConfigs,
    ModelFolders,
    build_sd15,
    build_sdxl,
)
from tests.synthetic import product_photo  # noqa: E402

THEME = "marble_counter"

# CLIP ViT-L/14's text tower (both families); ids come from the byte tokenizer (all < 514).
_CLIP_L = {
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
}

_SD_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "latent_channels": 4,
    "norm_num_groups": 32,
    "sample_size": 512,
}

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
    vae=_SD_VAE,
    text_encoder=_CLIP_L,
    scheduler=SD15_TINY.scheduler,
)

_SDXL_BLOCKS = {
    "block_out_channels": (320, 640, 1280),
    "layers_per_block": 2,
    "attention_head_dim": (5, 10, 20),
    "cross_attention_dim": 2048,  # CLIP-L (768) + OpenCLIP bigG (1280) hidden states
    "transformer_layers_per_block": (1, 2, 10),
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,  # 6 x 256 time ids + 1280 pooled text
}

# The stable-diffusion-xl-1.0-inpainting-0.1 and controlnet-canny-sdxl-1.0 architectures,
# with the fp16-safe SDXL VAE (same architecture; its config needs no fp32 upcast).
SDXL_REAL = ModelConfigs(
    unet={
        "sample_size": 128,
        "in_channels": 9,
        "out_channels": 4,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        "norm_num_groups": 32,
        **_SDXL_BLOCKS,
    },
    controlnet={
        "in_channels": 4,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        "conditioning_embedding_out_channels": (16, 32, 96, 256),
        **_SDXL_BLOCKS,
    },
    vae={**_SD_VAE, "sample_size": 1024, "scaling_factor": 0.13025, "force_upcast": False},
    text_encoder=_CLIP_L,
    text_encoder_2={
        # OpenCLIP ViT-bigG/14's text tower
        **_CLIP_L,
        "hidden_size": 1280,
        "intermediate_size": 5120,
        "num_attention_heads": 20,
        "num_hidden_layers": 32,
        "hidden_act": "gelu",
        "projection_dim": 1280,
    },
    scheduler=SDXL_TINY.scheduler,
)

# Dense (no sparsity) fp16/bf16 tensor-core peaks in TFLOP/s from the vendors' datasheets,
# matched against torch.cuda.get_device_name() in this order (the first substring wins).
DENSE_FP16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("GH200", 989.4),
    ("H200", 989.4),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),
    ("H800", 989.4),
    ("H20", 148.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("A800", 312.0),
    ("L40S", 362.05),
    ("L40", 181.05),
    ("L4", 121.0),
    ("A10", 125.0),
    ("V100", 125.0),
    ("T4", 65.0),
)

TARGETS = {"whole_over_bare": 1.10, "sdxl_1024_30_steps_one_variant_s": 1.5, "sdxl_mfu": 0.40}


def peak_tflops(device_name: str) -> float | None:
    """The device's dense fp16 peak from DENSE_FP16_TFLOPS, or None when unknown."""
    for part, tflops in DENSE_FP16_TFLOPS:
        if part in device_name:
            return tflops
    return None


class Report:
    """Prints each measurement as a JSON line (``--json``) or a readable line."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.rows: list[dict[str, Any]] = []

    def __call__(self, check: str, **values: Any) -> dict[str, Any]:
        row = {"check": check, **values}
        self.rows.append(row)
        if self.as_json:
            print(json.dumps(row), flush=True)
        else:
            shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items())
            print(f"{check:>7}: {shown}", flush=True)
        return row


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed_pair(
    a: Callable[[], Any], b: Callable[[], Any], repeats: int, warm: bool = True
) -> tuple[float, float, int | None, int | None]:
    """Median wall times of ``a`` and ``b``, interleaved so drift hits both alike, and the
    peak device memory each allocated (None on the CPU)."""
    import torch

    cuda = torch.cuda.is_available()
    if warm:
        a()
        b()
        sync()
    times: tuple[list[float], list[float]] = ([], [])
    peaks = [0, 0]
    for _ in range(repeats):
        for k, fn in enumerate((a, b)):
            sync()
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            fn()
            sync()
            times[k].append(time.perf_counter() - start)
            if cuda:
                peaks[k] = max(peaks[k], int(torch.cuda.max_memory_allocated()))
    return (
        statistics.median(times[0]),
        statistics.median(times[1]),
        peaks[0] if cuda else None,
        peaks[1] if cuda else None,
    )


class BareLoop:
    """The engine's denoising loop on prepared tensors: what the GPU must do for N variants."""

    def __init__(self, pipe: Any, family: str, size: tuple[int, int], steps: int, control_end: float) -> None:
        import torch

        self.pipe = pipe
        self.sdxl = family == "sdxl"
        self.device, self.dtype = pipe.unet.device, pipe.unet.dtype
        self.size = size
        self.control_end = control_end
        gen = torch.Generator(device="cpu").manual_seed(0)
        self._rand = lambda *shape: torch.randn(shape, generator=gen).to(device=self.device, dtype=self.dtype)
        # the engine's schedule: the strength drops SDXL's first step
        scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
        scheduler.set_timesteps(steps, device=self.device)
        self.steps = steps
        self.begin = (steps - min(int(steps * STRENGTH[family]), steps)) * scheduler.order
        self.timesteps = scheduler.timesteps[self.begin :]
        self.scheduler = scheduler

    def inputs(self, variants: int) -> dict[str, Any]:
        import torch

        w, h = self.size
        f = self.pipe.vae_scale_factor
        batch = 2 * variants  # classifier-free guidance: unconditional + conditional
        text_dim = self.pipe.unet.config.cross_attention_dim
        extra = {}
        if self.sdxl:
            pooled = self.pipe.text_encoder_2.config.projection_dim
            extra = {"text_embeds": self._rand(batch, pooled), "time_ids": self._rand(batch, 6)}
        return {
            "latents": self._rand(variants, 4, h // f, w // f),
            "mask": torch.ones(batch, 1, h // f, w // f, device=self.device, dtype=self.dtype),
            "masked": self._rand(batch, 4, h // f, w // f),
            "control": self._rand(batch, 3, h, w).clamp(0, 1),
            "embeds": self._rand(batch, 77, text_dim),
            "added": extra,
        }

    def step(self, x: dict[str, Any], latents: Any, t: Any, control: bool) -> Any:
        import torch

        pipe = self.pipe
        model_in = self.scheduler.scale_model_input(torch.cat([latents] * 2), t)
        cond = {"added_cond_kwargs": x["added"]} if self.sdxl else {}
        residuals: dict[str, Any] = {}
        if control:
            down, mid = pipe.controlnet(
                model_in,
                t,
                encoder_hidden_states=x["embeds"],
                controlnet_cond=x["control"],
                conditioning_scale=0.5,
                return_dict=False,
                **cond,
            )
            residuals = {"down_block_additional_residuals": down, "mid_block_additional_residual": mid}
        noise = pipe.unet(
            torch.cat([model_in, x["mask"], x["masked"]], dim=1),
            t,
            encoder_hidden_states=x["embeds"],
            return_dict=False,
            **cond,
            **residuals,
        )[0]
        uncond, text = noise.chunk(2)
        return uncond + 7.0 * (text - uncond)

    def controlled(self, i: int) -> bool:
        """Whether step ``i`` runs the ControlNet (the pipeline's rule)."""
        return (i + 1) / len(self.timesteps) <= self.control_end

    def runner(self, variants: int) -> Callable[[], Any]:
        import torch

        x = self.inputs(variants)

        @torch.inference_mode()
        def run() -> Any:
            self.scheduler.set_timesteps(self.steps, device=self.device)  # resets its state
            if hasattr(self.scheduler, "set_begin_index"):
                self.scheduler.set_begin_index(self.begin)
            latents = x["latents"] * self.scheduler.init_noise_sigma
            for i, t in enumerate(self.timesteps):
                guided = self.step(x, latents, t, self.controlled(i))
                latents = self.scheduler.step(guided, t, latents, return_dict=False)[0]
            return latents

        return run

    def step_flops(self, control: bool) -> int:
        """FLOPs of one step for one variant, counted by torch's FlopCounterMode."""
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        x = self.inputs(1)
        counter = FlopCounterMode(display=False)
        with torch.inference_mode(), counter:
            self.step(x, x["latents"], self.timesteps[0], control)
        return int(counter.get_total_flops())

    def loop_flops(self, variants: int) -> int:
        on = sum(self.controlled(i) for i in range(len(self.timesteps)))
        off = len(self.timesteps) - on
        return variants * (on * self.step_flops(True) + off * self.step_flops(False))


def count_flops(fn: Callable[[], Any]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


def bench_family(family: str, size: str, args: argparse.Namespace, report: Report, tmp: Path) -> None:
    import torch

    cuda = torch.cuda.is_available()
    dtype = getattr(torch, args.dtype)
    real = size == "real"
    steps = args.steps or ((25 if family == "sd15" else 30) if real else 2)
    base = None if real else 64

    # 1. models: random weights from the real configs, saved, loaded through the production path
    start = time.perf_counter()
    configs = {"sd15": SD15_REAL if real else SD15_TINY, "sdxl": SDXL_REAL if real else SDXL_TINY}[family]
    builder = build_sd15 if family == "sd15" else build_sdxl
    folders: ModelFolders = builder(tmp / family, configs, device="cuda" if cuda else "cpu", dtype=dtype)
    models.release_memory()
    config = folders.config(
        device="auto",
        steps=steps,
        generation_base=base,
        diffusion_dtype=args.dtype,
        diffusion_compile=args.compile,
    )
    engine = DiffusionEngine(config)
    loaded = models.load_diffusion_pipeline(config)
    pipe = loaded.pipe
    report(
        "load",
        family=family,
        size=size,
        seconds=round(time.perf_counter() - start, 1),
        weight_bytes=models.weight_bytes(pipe),
        device_allocated_bytes=int(torch.cuda.memory_allocated()) if cuda else None,
        parameters={name: sum(p.numel() for p in m.parameters()) for name, m in _modules(pipe).items()},
    )

    # 2. the real dtype of every module in every scheduler's view
    for name in SCHEDULER_NAMES:
        try:
            view = models.load_diffusion_pipeline(config.with_overrides(scheduler=name))
        except InvalidSpec as exc:  # lcm without LCM weights: refused, as in production
            report("dtype", family=family, scheduler=name, refused=exc.message)
            continue
        dtypes = view.dtypes()
        report(
            "dtype",
            family=family,
            scheduler=name,
            scheduler_class=view.scheduler_class,
            requested=args.dtype,
            dtypes=dtypes,
            all_requested=set(dtypes.values()) == {args.dtype},
        )

    photo, mask = product_photo((800, 1000))
    x0, y0, x1, y1 = mask.getbbox()
    seg = Segmentation(photo, mask, (x0, y0, x1 - x0, y1 - y0), segmenter="exact")
    out = args.out or (1600 if real else 256)

    def spec(variants: int, side: int = out) -> SceneSpec:
        return SceneSpec(engine="diffusion", theme=THEME, count=variants, width=side, height=side, seed=1)

    first = engine.render(seg, spec(1))[0]
    gen_size = tuple(first.meta["generation_size"])
    control_end = first.meta["control_end"]
    bare = BareLoop(pipe, family, gen_size, steps, control_end)

    # 3. FLOPs: one step with and without the ControlNet, one whole variant
    step_on, step_off = bare.step_flops(True), bare.step_flops(False)
    whole_flops = count_flops(lambda: engine.render(seg, spec(1)))
    report(
        "flops",
        family=family,
        generation_size=list(gen_size),
        steps_run=len(bare.timesteps),
        control_end=control_end,
        step_with_controlnet=step_on,
        step_unet_only=step_off,
        denoise_per_variant=bare.loop_flops(1),
        whole_per_variant=whole_flops,
    )
    device_name = torch.cuda.get_device_name(0) if cuda else "cpu"
    peak = args.peak_tflops or (peak_tflops(device_name) if cuda else None)

    # 4. bare loop vs whole asset per variant count, side by side
    repeats = {1: args.repeats, 4: max(1, args.repeats - 1)}
    rows = []
    for i, variants in enumerate(args.variants):
        reps = repeats.get(variants, 1)
        run_bare = bare.runner(variants)
        bare_s, whole_s, peak_bare, peak_whole = timed_pair(
            run_bare, lambda v=variants: engine.render(seg, spec(v)), reps, warm=i == 0 or variants <= 4
        )
        flops_bare = bare.loop_flops(variants)
        rows.append(
            report(
                "time",
                family=family,
                variants=variants,
                generation_size=list(gen_size),
                output=[out, out],
                steps=steps,
                repeats=reps,
                bare_s=round(bare_s, 4),
                whole_s=round(whole_s, 4),
                whole_over_bare=round(whole_s / bare_s, 4),
                images_per_s=round(variants / whole_s, 3),
                peak_bytes_whole=peak_whole,
                peak_bytes_bare=peak_bare,
                estimated_bytes_per_variant=BYTES_PER_LATENT_PIXEL[family]
                * (gen_size[0] // 8)
                * (gen_size[1] // 8),
                tflops_bare=round(flops_bare / bare_s / 1e12, 2),
                mfu_bare=None if peak is None else round(flops_bare / bare_s / (peak * 1e12), 4),
                mfu_whole=None
                if peak is None
                else round(variants * whole_flops / whole_s / (peak * 1e12), 4),
            )
        )
    if cuda and len(rows) > 1 and rows[0]["peak_bytes_whole"] and rows[-1]["peak_bytes_whole"]:
        a, b = rows[0], rows[-1]
        measured = (b["peak_bytes_whole"] - a["peak_bytes_whole"]) / max(1, b["variants"] - a["variants"])
        report(
            "memory",
            family=family,
            measured_bytes_per_variant=int(measured),
            estimated_bytes_per_variant=a["estimated_bytes_per_variant"],
        )

    # 5. the SDXL target: 1024 px output, 30 steps (real size), one variant, whole asset
    if family == "sdxl":
        side = 1024 if real else 256
        one = lambda: engine.render(seg, spec(1, side))  # noqa: E731
        one()
        sync()
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            one()
            sync()
            times.append(time.perf_counter() - t0)
        report(
            "target",
            family=family,
            name="sdxl_1024_30_steps_one_variant_s",
            output=[side, side],
            steps=steps,
            seconds=round(statistics.median(times), 4),
            target=TARGETS["sdxl_1024_30_steps_one_variant_s"],
            met=bool(
                real and cuda and statistics.median(times) <= TARGETS["sdxl_1024_30_steps_one_variant_s"]
            ),
        )
    models.clear_models()


def _modules(pipe: Any) -> dict[str, Any]:
    import torch

    return {n: m for n, m in pipe.components.items() if isinstance(m, torch.nn.Module)}


def main(argv: list[str] | None = None) -> None:
    import diffusers
    import torch

    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=["auto", "real", "tiny"], default="auto")
    parser.add_argument("--family", choices=["sd15", "sdxl", "both"], default="both")
    parser.add_argument("--steps", type=int, default=None, help="default: 25 sd15 / 30 sdxl real, 2 tiny")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs for 1 variant (4: one fewer; 16: one)"
    )
    parser.add_argument("--variants", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--out", type=int, default=None, help="output side; default 1600 real, 256 tiny")
    parser.add_argument("--dtype", choices=["float16", "bfloat16", "float32"], default=None)
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet and ControlNet")
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense fp16 peak of an unlisted GPU")
    parser.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    args = parser.parse_args(argv)
    size = args.size if args.size != "auto" else ("real" if cuda else "tiny")
    args.dtype = args.dtype or ("float16" if cuda else "float32")
    if size == "real" and not cuda:
        print("warning: real-size models on the CPU take minutes per image", file=sys.stderr)

    report = Report(args.json)
    device_name = torch.cuda.get_device_name(0) if cuda else "cpu"
    report(
        "env",
        device=device_name,
        torch=torch.__version__,
        diffusers=diffusers.__version__,
        cuda=torch.version.cuda,
        dense_fp16_peak_tflops=args.peak_tflops or (peak_tflops(device_name) if cuda else None),
        size=size,
        dtype=args.dtype,
        compile=args.compile,
        theme=THEME,
        note=None if (cuda and size == "real") else "CPU or tiny models: plumbing only, not performance",
    )
    families = ["sd15", "sdxl"] if args.family == "both" else [args.family]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-diffusion-") as tmp:
        for family in families:
            bench_family(family, size, args, report, Path(tmp))

    # 6. the targets, against what was measured in this run
    times = [r for r in report.rows if r["check"] == "time"]
    worst = max((r["whole_over_bare"] for r in times), default=math.nan)
    sdxl_mfu = [r["mfu_bare"] for r in times if r["family"] == "sdxl" and r["mfu_bare"] is not None]
    target = next((r for r in report.rows if r["check"] == "target"), None)
    measured_on_gpu = cuda and size == "real"
    report(
        "summary",
        seconds=round(time.perf_counter() - started, 1),
        measured_on_gpu=measured_on_gpu,
        worst_whole_over_bare=worst,
        whole_over_bare_met=measured_on_gpu and worst <= TARGETS["whole_over_bare"],
        sdxl_one_variant_s=target["seconds"] if target else None,
        sdxl_one_variant_met=bool(target and target["met"]),
        sdxl_best_mfu=max(sdxl_mfu) if sdxl_mfu else None,
        sdxl_mfu_met=bool(measured_on_gpu and sdxl_mfu and max(sdxl_mfu) >= TARGETS["sdxl_mfu"]),
        all_dtypes_as_requested=all(
            r.get("all_requested", True) for r in report.rows if r["check"] == "dtype"
        ),
        targets=TARGETS,
    )


if __name__ == "__main__":
    main()
