"""Runtime configuration for the library: devices, model ids or local folders.

The library never reads Django settings. The service builds a ``GenerationConfig``
from its settings; the CLI builds one from the environment with ``from_env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from generation.errors import InvalidSpec


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
    depth_estimator: str | None = None  # controlnet-aux annotator repo or folder
    scheduler: str = "dpm"  # default | dpm | lcm | euler | euler_a | ddim (generation.models.SCHEDULERS)
    steps: int = 25
    guidance_scale: float = 7.0
    controlnet_scale: float = 0.8
    local_files_only: bool = False
    # Side of the square whose area the diffusion engine generates at before upscaling;
    # None = the family's native size (sd15: 512, sdxl: 1024). Small values are for tests.
    generation_base: int | None = None

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

    def with_overrides(self, **changes: object) -> GenerationConfig:
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


def _coerce(name: str, type_name: str, raw: str) -> object:
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
    if "None" in type_name and raw.strip() == "":
        return None
    return raw
