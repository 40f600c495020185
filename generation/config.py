"""Runtime configuration for the library: devices, model ids or local folders.

The library never reads Django settings. The service builds a ``GenerationConfig``
from its settings; the CLI builds one from the environment with ``from_env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from generation.errors import InvalidSpec

# Noise schedulers the diffusion engine offers (generation.models.SCHEDULERS maps them to
# diffusers classes); "default" keeps the checkpoint's own.
SCHEDULER_NAMES = ("default", "dpm", "lcm", "euler", "euler_a", "ddim")
DIFFUSION_DTYPES = ("auto", "float16", "bfloat16", "float32")
_LCM_EXAMPLES = {"sd15": "latent-consistency/lcm-lora-sdv1-5", "sdxl": "latent-consistency/lcm-lora-sdxl"}


@dataclass(frozen=True)
class GenerationConfig:
    # "auto" picks cuda when torch sees a GPU, else cpu.
    device: str = "auto"

    # Segmentation (rembg). ``rembg_model`` is "auto" (the best installed), a model name of
    # generation/weights/registry.json or a path to a u2net-style .onnx file.
    rembg_model: str = "auto"
    # Where model weights are installed; None: SHOPASSETS_MODELS_DIR, else U2NET_HOME,
    # else ~/.u2net (generation.weights.models_dir).
    models_dir: str | None = None

    # Diffusion engine. Each model is a hub id or a local folder.
    diffusion_family: str = "sd15"  # sd15 | sdxl
    sd15_inpaint_model: str = "stable-diffusion-v1-5/stable-diffusion-inpainting"
    sd15_controlnet_canny: str = "lllyasviel/control_v11p_sd15_canny"
    sd15_controlnet_depth: str | None = None
    sdxl_inpaint_model: str = "diffusers/stable-diffusion-xl-1.0-inpainting-0.1"
    sdxl_controlnet_canny: str = "diffusers/controlnet-canny-sdxl-1.0"
    sdxl_controlnet_depth: str | None = None
    # An fp16-safe SDXL VAE (e.g. madebyollin/sdxl-vae-fp16-fix) replaces the checkpoint's,
    # which overflows in fp16 and is therefore upcast to fp32 for every encode and decode.
    sdxl_vae: str | None = None
    # LCM-LoRA weights per family; the "lcm" scheduler is refused without them.
    sd15_lcm_lora: str | None = None
    sdxl_lcm_lora: str | None = None
    depth_estimator: str | None = None  # controlnet-aux annotator repo or folder
    scheduler: str = "dpm"  # one of SCHEDULER_NAMES (generation.models.SCHEDULERS)
    steps: int = 25
    guidance_scale: float = 7.0
    # None: each theme's own ControlNet scales and control end (sets/themes/*.json,
    # "diffusion" section); a number overrides every theme.
    controlnet_scale: float | None = None
    control_end: float | None = None
    local_files_only: bool = False
    # Side of the square whose area the diffusion engine generates at before upscaling;
    # None = the family's native size (sd15: 512, sdxl: 1024). Small values are for tests.
    generation_base: int | None = None
    # auto: float16 on a GPU, float32 on the CPU; or float16 | bfloat16 | float32.
    diffusion_dtype: str = "auto"
    # torch.compile the UNet and ControlNet (generation sizes come from a few training
    # buckets, so shapes repeat; the first call per shape compiles for minutes).
    diffusion_compile: bool = False
    # Most variants one pipeline call denoises together; 0 = as many as free GPU memory
    # allows (all of them on the CPU). Out of memory halves it and retries.
    max_variants_per_call: int = 0
    # Diffusion model sets (weights + ControlNets) a process keeps; the least recently
    # used set is dropped and its memory freed when another is loaded.
    diffusion_cache_size: int = 2

    # Clip background motion (clips with motion "diffusion"): a Stable Video Diffusion
    # model, hub id or local folder; see generation.clips.diffusion_motion.
    clip_motion_model: str = "stabilityai/stable-video-diffusion-img2vid-xt"
    clip_motion_num_frames: int = 25
    clip_motion_steps: int = 25
    clip_motion_long_side: int = 1024
    clip_motion_decode_chunk_size: int = 8

    # The most work one job may ask for, in millions of pixel-frames (generation.request:
    # pixels x frames x count over its outputs, a still counting as four frames). The default
    # takes a 15 s 1080x1920 clip with its WebM, and refuses 60 posters at 4096 px.
    job_budget_mpx: int = 2500

    def __post_init__(self) -> None:
        if self.device not in {"auto", "cpu", "cuda"} and not self.device.startswith("cuda:"):
            raise InvalidSpec(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        if self.diffusion_family not in {"sd15", "sdxl"}:
            raise InvalidSpec(f"diffusion_family must be sd15 or sdxl, got {self.diffusion_family!r}")
        if self.steps < 1:
            raise InvalidSpec("steps must be at least 1")
        if self.generation_base is not None and (self.generation_base < 64 or self.generation_base % 8):
            raise InvalidSpec(
                f"generation_base must be a multiple of 8 and at least 64, got {self.generation_base}"
            )
        if self.job_budget_mpx < 1:
            raise InvalidSpec(f"job_budget_mpx must be at least 1, got {self.job_budget_mpx}")
        self._check_diffusion()
        check_motion_settings(
            self.clip_motion_num_frames, self.clip_motion_steps, self.clip_motion_long_side, "clip_motion_"
        )

    def _check_diffusion(self) -> None:
        if self.scheduler not in SCHEDULER_NAMES:
            raise InvalidSpec(
                f"unknown scheduler {self.scheduler!r}; choose one of {', '.join(SCHEDULER_NAMES)}"
            )
        if self.scheduler == "lcm" and not self.lcm_lora:
            family = self.diffusion_family.upper()
            raise InvalidSpec(
                f"the lcm scheduler needs LCM weights: set SHOPASSETS_{family}_LCM_LORA to an "
                f"LCM-LoRA for {self.diffusion_family} (a hub id such as "
                f"{_LCM_EXAMPLES[self.diffusion_family]} or a local folder), or choose another "
                "scheduler (dpm is the default)"
            )
        if self.diffusion_dtype not in DIFFUSION_DTYPES:
            raise InvalidSpec(
                f"diffusion_dtype must be one of {', '.join(DIFFUSION_DTYPES)}, got {self.diffusion_dtype!r}"
            )
        if self.controlnet_scale is not None and not 0.0 <= self.controlnet_scale <= 2.0:
            raise InvalidSpec(f"controlnet_scale must be 0..2, got {self.controlnet_scale}")
        if self.control_end is not None and not 0.0 < self.control_end <= 1.0:
            raise InvalidSpec(f"control_end must be in (0, 1], got {self.control_end}")
        if self.max_variants_per_call < 0:
            raise InvalidSpec(
                f"max_variants_per_call must be 0 (auto) or more, got {self.max_variants_per_call}"
            )
        if self.diffusion_cache_size < 1:
            raise InvalidSpec(f"diffusion_cache_size must be at least 1, got {self.diffusion_cache_size}")

    @property
    def lcm_lora(self) -> str | None:
        """The LCM-LoRA configured for the chosen family, if any."""
        return self.sd15_lcm_lora if self.diffusion_family == "sd15" else self.sdxl_lcm_lora

    def with_overrides(self, **changes: Any) -> GenerationConfig:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GenerationConfig:
        """Read ``SHOPASSETS_<FIELD>`` variables (e.g. SHOPASSETS_DEVICE=cuda).

        ``U2NET_HOME`` is honoured for ``models_dir`` as rembg itself does.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"SHOPASSETS_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _coerce(f.name, str(f.type), raw)
        if "models_dir" not in values and env.get("U2NET_HOME"):
            values["models_dir"] = env["U2NET_HOME"]
        return cls(**values)  # type: ignore[arg-type]


def check_motion_settings(num_frames: int, steps: int, long_side: int, prefix: str = "") -> None:
    """The video model's frame count, steps and size (shared with MotionModelConfig)."""
    if not 2 <= num_frames <= 64:
        raise InvalidSpec(f"{prefix}num_frames must be 2..64, got {num_frames}")
    if steps < 1:
        raise InvalidSpec(f"{prefix}steps must be at least 1")
    if long_side < 64 or long_side % 64:
        raise InvalidSpec(f"{prefix}long_side must be a multiple of 64, got {long_side}")


def _coerce(name: str, type_name: str, raw: str) -> object:
    if "None" in type_name and raw.strip() == "":
        return None
    try:
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
        if type_name.startswith("bool"):
            low = raw.strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
    except ValueError as exc:
        raise InvalidSpec(f"SHOPASSETS_{name.upper()}={raw!r} is not a valid {type_name}") from exc
    return raw
