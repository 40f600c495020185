"""Background motion from a video diffusion model (Stable Video Diffusion), GPU.

Image-to-video models melt products, so the model never sees the product: it animates
the EMPTY set (the world's plate, rendered without the product or its shadow). Only the
motion is kept: each generated frame minus the first, scaled up and added to the sharp
plate, faded out around the product so the floor it stands on stays still. The product
and its shadow are then composited on every frame exactly as for camera moves.

Weights are never downloaded implicitly in tests: ``MotionModelConfig.model`` is a hub
id or a local folder, loaded once per process per (model, device, dtype).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

from generation.clips.worlds import World
from generation.config import GenerationConfig, check_motion_settings
from generation.errors import InvalidSpec, ModelUnavailable
from generation.weights import local_source, models_dir

log = logging.getLogger(__name__)
F32 = np.float32


@dataclass(frozen=True)
class MotionModelConfig:
    """Where the video model is and how it is run.

    ``width``/``height`` force the generation size (tests); otherwise it follows the
    clip's aspect with the longer side ``long_side`` (a multiple of 64).
    """

    model: str = "stabilityai/stable-video-diffusion-img2vid-xt"
    device: str = "auto"
    num_frames: int = 25
    steps: int = 25
    long_side: int = 1024
    width: int | None = None
    height: int | None = None
    motion_bucket_id: int = 80  # calm: a set should breathe, not dance
    noise_aug_strength: float = 0.02
    fps: int = 7  # the rate the model's frames are played back at
    decode_chunk_size: int = 8
    min_guidance_scale: float = 1.0
    max_guidance_scale: float = 3.0
    # never download while a clip is made: `python -m generation models pull svd-xt` installs it
    local_files_only: bool = True

    def __post_init__(self) -> None:
        check_motion_settings(self.num_frames, self.steps, self.long_side)
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and (value < 64 or value % 8):
                raise InvalidSpec(f"{name} must be a multiple of 8 and at least 64, got {value}")

    @classmethod
    def from_config(cls, config: GenerationConfig) -> MotionModelConfig:
        """The video model ``config`` names (``clip_motion_*``, ``device``), loaded from disk only.

        The CLI and the service both build a ``GenerationConfig`` (``SHOPASSETS_CLIP_MOTION_MODEL``
        and friends), so a clip with diffusion motion needs nothing else from either.
        """
        # a hub id installed by `models pull` loads from its folder under the models folder
        installed = local_source(config.clip_motion_model, models_dir(config.models_dir))
        return cls(
            model=str(installed) if installed else config.clip_motion_model,
            device=config.device,
            num_frames=config.clip_motion_num_frames,
            steps=config.clip_motion_steps,
            long_side=config.clip_motion_long_side,
            decode_chunk_size=config.clip_motion_decode_chunk_size,
        )

    def generation_size(self, aspect: float) -> tuple[int, int]:
        """(width, height) the model paints at for a clip of ``aspect`` = width / height."""
        if self.width is not None and self.height is not None:
            return (self.width, self.height)
        if aspect >= 1:
            w, h = float(self.long_side), self.long_side / aspect
        else:
            w, h = self.long_side * aspect, self.long_side
        return (max(64, round(w / 64) * 64), max(64, round(h / 64) * 64))


# ---------------------------------------------------------------------------
# Loading


_pipes: dict[tuple[str, str, str, bool], Any] = {}
_lock = threading.Lock()


def load_motion_pipeline(cfg: MotionModelConfig) -> tuple[Any, str]:
    """The process-wide Stable Video Diffusion pipeline for ``cfg`` and its device."""
    from generation.models import resolve_device

    device, dtype_name = resolve_device(GenerationConfig(device=cfg.device))
    source = os.path.abspath(cfg.model) if os.path.isdir(cfg.model) else cfg.model
    key = (source, device, dtype_name, cfg.local_files_only)
    with _lock:
        pipe = _pipes.get(key)
        if pipe is None:
            pipe = _load(source, device, dtype_name, cfg.local_files_only)
            _pipes[key] = pipe
    return pipe, device


def clear_motion_pipelines() -> None:
    with _lock:
        _pipes.clear()


def _load(source: str, device: str, dtype_name: str, local_files_only: bool) -> Any:
    import torch
    from diffusers import StableVideoDiffusionPipeline

    dtype = getattr(torch, dtype_name)
    variants: list[str | None] = ["fp16", None] if dtype == torch.float16 else [None]
    error: Exception | None = None
    for variant in variants:
        try:
            pipe = StableVideoDiffusionPipeline.from_pretrained(
                source, dtype=dtype, variant=variant, local_files_only=local_files_only
            )
            break
        except (OSError, ValueError) as exc:  # missing files, bad repo id, no network
            error = exc
    else:
        raise ModelUnavailable(
            f"video model {source!r} is not installed here ({error}). Install it with "
            "`python -m generation models pull svd-xt` (or `make models MODELS=svd-xt`), or copy "
            "a downloaded folder here and set SHOPASSETS_CLIP_MOTION_MODEL to it."
        ) from error
    if device.startswith("cuda"):
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    log.info("loaded video model %s on %s/%s", source, device, dtype_name)
    return pipe


# ---------------------------------------------------------------------------
# Animating a world


def generate_motion(plate: np.ndarray, cfg: MotionModelConfig, *, seed: int, aspect: float) -> np.ndarray:
    """``cfg.num_frames`` frames (K, h, w, 3) uint8 the model paints from ``plate``."""
    import torch

    pipe, device = load_motion_pipeline(cfg)
    width, height = cfg.generation_size(aspect)
    image = Image.fromarray(np.ascontiguousarray(plate[..., :3]), "RGB")
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    # the generator lives on the CPU: the same seed gives the same noise on any device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    with torch.inference_mode():
        out = pipe(
            image=image,
            height=height,
            width=width,
            num_frames=cfg.num_frames,
            num_inference_steps=cfg.steps,
            fps=cfg.fps,
            motion_bucket_id=cfg.motion_bucket_id,
            noise_aug_strength=cfg.noise_aug_strength,
            decode_chunk_size=cfg.decode_chunk_size,
            min_guidance_scale=cfg.min_guidance_scale,
            max_guidance_scale=cfg.max_guidance_scale,
            generator=generator,
            output_type="np",
        )
    frames = np.asarray(out.frames[0], dtype=F32)  # (K, h, w, 3) in 0..1
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return np.clip(frames * 255.0 + 0.5, 0, 255).astype(np.uint8)


class DiffusionPlate:
    """A plate that moves: ``plate + (frame_k - frame_0)`` away from the product.

    The model's frames are played at ``fps`` back and forth (ping-pong, so the loop has
    no jump), blended linearly between neighbours, scaled up to the plate's size.
    Memory is the K small difference frames, whatever the clip's length.
    """

    def __init__(self, plate: np.ndarray, frames: np.ndarray, keep: np.ndarray, fps: float) -> None:
        self.plate = plate  # (H, W, 4) RGBA, alpha 255
        self.fps = fps
        h, w = frames.shape[1:3]
        still = cv2.resize(keep.astype(F32), (w, h), interpolation=cv2.INTER_AREA)[..., None]
        deltas = (frames.astype(F32) - frames[:1].astype(F32)) * (1.0 - still)
        # int16 at the model's size: 25 frames of 576x1024 are ~88 MB
        self.deltas = np.round(deltas).astype(np.int16)
        self.count = frames.shape[0]
        self._rgb = plate[..., :3].astype(np.int16)
        self._out = plate.copy()

    def plate_at(self, t: float) -> np.ndarray:
        """The plate (RGBA) at clip time ``t`` (valid until the next call)."""
        if self.count < 2:
            return self.plate
        period = 2 * (self.count - 1)
        pos = (t * self.fps) % period
        if pos > self.count - 1:
            pos = period - pos
        k = min(int(math.floor(pos)), self.count - 2)
        u = pos - k
        delta = cv2.addWeighted(self.deltas[k].astype(F32), 1.0 - u, self.deltas[k + 1].astype(F32), u, 0.0)
        big = cv2.resize(delta, (self.plate.shape[1], self.plate.shape[0]), interpolation=cv2.INTER_LINEAR)
        self._out[..., :3] = np.clip(self._rgb + np.round(big), 0, 255).astype(np.uint8)
        return self._out


def still_mask(world: World) -> np.ndarray:
    """1 where the set must not move (the product, its shadow, the floor under it), 0
    elsewhere, feathered: (H, W) float32 at the world's size."""
    w, h = world.size
    mask = np.zeros((h, w), dtype=F32)
    x, y, bw, bh = world.geometry.product_box
    pad = 0.06 * max(bw, bh)
    x0, y0 = int(max(0, x - pad)), int(max(0, y - pad))
    x1, y1 = int(min(w, x + bw + pad)), int(min(h, y + bh + pad))
    mask[y0:y1, x0:x1] = 1.0
    if world.effect is not None:
        ex, ey = world.effect.origin
        eh, ew = world.effect.ratio.shape[:2]
        shade = (np.abs(world.effect.ratio - 1.0).max(axis=2) > 0.02).astype(F32)
        mask[ey : ey + eh, ex : ex + ew] = np.maximum(mask[ey : ey + eh, ex : ex + ew], shade)
    sigma = 0.03 * max(bw, bh)
    return np.clip(cv2.GaussianBlur(mask, (0, 0), sigma) * 1.5, 0, 1)


def animate_world(world: World, cfg: MotionModelConfig, *, seed: int, canvas: tuple[int, int]) -> World:
    """``world`` with its plate animated by the video model (see module docstring)."""
    frames = generate_motion(world.plate, cfg, seed=seed, aspect=canvas[0] / canvas[1])
    animation = DiffusionPlate(world.plate, frames, still_mask(world), cfg.fps)
    meta = {
        **world.meta,
        "motion_model": os.path.basename(cfg.model.rstrip("/")),
        "motion_frames": int(frames.shape[0]),
    }
    return dataclasses.replace(world, animation=animation, meta=meta)
