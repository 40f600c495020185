"""Diffusion models, loaded once per process per model key and reused.

Loading an SD pipeline costs seconds to minutes and gigabytes of memory, so the weights
are cached by what identifies them (family, model ids or folders, device, dtype). A
scheduler is not part of that identity: pipelines that differ only in scheduler share the
same weight modules, and switching scheduler loads nothing.

Nothing here imports torch or diffusers at module import time.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generation.config import GenerationConfig
from generation.errors import InvalidSpec, ModelUnavailable
from generation.weights import is_hub_id, load_registry, local_source, models_dir, pull_command, read_marker

log = logging.getLogger(__name__)

# name -> (diffusers scheduler class, extra config). "default" keeps the checkpoint's own.
SCHEDULERS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "default": None,
    # DPM++ 2M Karras: good images in 20-30 steps
    "dpm": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "use_karras_sigmas": True},
    ),
    # Only useful with LCM weights (e.g. an LCM-LoRA) and guidance_scale ~1-2.
    "lcm": ("LCMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
}


@dataclass(frozen=True)
class ModelKey:
    """What identifies one set of loaded weights."""

    family: str  # sd15 | sdxl
    inpaint_model: str
    controlnets: tuple[tuple[str, str], ...]  # (kind, model) in the order the pipeline gets them
    device: str
    dtype: str  # torch dtype name: float16 | float32
    local_files_only: bool


@dataclass
class LoadedPipeline:
    """A ready pipeline and the lock that serialises calls on its weights.

    The lock is shared by every scheduler view of the same weights: a call mutates shared
    modules (e.g. SDXL upcasts its VAE for decoding), so two calls must not overlap.
    """

    pipe: Any
    key: ModelKey
    scheduler: str
    lock: threading.Lock = field(repr=False)

    @property
    def scheduler_class(self) -> str:
        return type(self.pipe.scheduler).__name__


@dataclass
class _Entry:
    base: Any  # the pipeline as loaded, with the checkpoint's scheduler
    lock: threading.Lock
    views: dict[str, LoadedPipeline] = field(default_factory=dict)


_entries: dict[ModelKey, _Entry] = {}
_key_locks: dict[ModelKey, threading.Lock] = {}
_other: dict[tuple[str, ...], Any] = {}  # depth estimators
_cache_lock = threading.Lock()
_loads = 0


def load_count() -> int:
    """How many times weights were loaded in this process (pipelines and estimators)."""
    return _loads


def clear_models() -> None:
    """Forget every cached model (tests; a worker freeing GPU memory)."""
    with _cache_lock:
        _entries.clear()
        _key_locks.clear()
        _other.clear()


def resolve_device(config: GenerationConfig) -> tuple[str, str]:
    """(device, dtype name): cuda + float16 when a GPU is there and allowed, else cpu + float32."""
    import torch

    if config.device == "cpu":
        return "cpu", "float32"
    if torch.cuda.is_available():
        return ("cuda" if config.device == "auto" else config.device), "float16"
    if config.device == "auto":
        return "cpu", "float32"
    # A worker configured for a GPU silently running 50x slower on the CPU is worse than an error.
    raise ModelUnavailable(
        f"device {config.device!r} was requested but torch sees no CUDA GPU; "
        "set SHOPASSETS_DEVICE=auto or cpu, or install a CUDA build of torch",
        code="device_unavailable",
    )


def diffusion_key(config: GenerationConfig) -> ModelKey:
    """The cache key for the diffusion weights ``config`` asks for."""
    device, dtype = resolve_device(config)
    if config.diffusion_family == "sd15":
        inpaint, canny, depth = (
            config.sd15_inpaint_model,
            config.sd15_controlnet_canny,
            config.sd15_controlnet_depth,
        )
    else:
        inpaint, canny, depth = (
            config.sdxl_inpaint_model,
            config.sdxl_controlnet_canny,
            config.sdxl_controlnet_depth,
        )
    root = models_dir(config.models_dir)
    nets = [("canny", _normalise(canny, root))]
    if depth:
        nets.append(("depth", _normalise(depth, root)))
    return ModelKey(
        family=config.diffusion_family,
        inpaint_model=_normalise(inpaint, root),
        controlnets=tuple(nets),
        device=device,
        dtype=dtype,
        local_files_only=config.local_files_only,
    )


def load_diffusion_pipeline(config: GenerationConfig) -> LoadedPipeline:
    """The process-wide ControlNet inpaint pipeline for ``config``, loading it on first use.

    Raises ModelUnavailable when weights are missing (naming the model and how to provide
    a local folder) and InvalidSpec for an unknown scheduler name.
    """
    global _loads
    if config.scheduler not in SCHEDULERS:
        raise InvalidSpec(f"unknown scheduler {config.scheduler!r}; choose one of {', '.join(SCHEDULERS)}")
    key = diffusion_key(config)
    with _cache_lock:
        entry = _entries.get(key)
        key_lock = _key_locks.setdefault(key, threading.Lock())
    if entry is None:
        # One loader per key; other keys (and cache hits) do not wait for it.
        with key_lock:
            with _cache_lock:
                entry = _entries.get(key)
            if entry is None:
                base = _load_pipeline(key, config)
                entry = _Entry(base=base, lock=threading.Lock())
                with _cache_lock:
                    _entries[key] = entry
                    _loads += 1
    with _cache_lock:
        view = entry.views.get(config.scheduler)
        if view is None:
            view = LoadedPipeline(
                pipe=_with_scheduler(entry.base, config.scheduler),
                key=key,
                scheduler=config.scheduler,
                lock=entry.lock,
            )
            entry.views[config.scheduler] = view
        return view


def import_controlnet_aux() -> Any | None:
    """The controlnet_aux module, or None when it cannot be imported here."""
    return _import_controlnet_aux()[0]


@functools.cache
def _import_controlnet_aux() -> tuple[Any | None, str]:
    # Cached: a failed import is retried (and re-fails slowly) on every attempt otherwise.
    try:
        import controlnet_aux
    except Exception as exc:  # noqa: BLE001 - ImportError, or torchvision failing inside it
        log.info("controlnet_aux unavailable (%s); using OpenCV for canny", exc)
        return None, f"{type(exc).__name__}: {exc}"
    return controlnet_aux, ""


def controlnet_aux_error() -> str:
    """Why controlnet_aux could not be imported ('' when it can)."""
    return _import_controlnet_aux()[1]


def controlnet_aux_missing_message() -> str:
    return (
        "depth conditioning needs the controlnet-aux package, which cannot be imported "
        f"here ({controlnet_aux_error()}); install controlnet-aux with a matching "
        "torchvision, or unset the depth ControlNet (depth is optional)"
    )


def load_depth_estimator(estimator: str, config: GenerationConfig) -> Any:
    """A controlnet-aux depth detector (Zoe when the name says zoe, else MiDaS), cached."""
    global _loads
    aux = import_controlnet_aux()
    if aux is None:
        raise ModelUnavailable(controlnet_aux_missing_message())
    device, _ = resolve_device(config)
    key = ("depth", estimator, device, str(config.local_files_only))
    with _cache_lock:
        detector = _other.get(key)
        if detector is not None:
            return detector
        cls = aux.ZoeDetector if "zoe" in estimator.lower() else aux.MidasDetector
        folder = local_source(estimator, models_dir(config.models_dir))
        if folder is None:
            raise ModelUnavailable(_missing_message(estimator, "depth_estimator"))
        try:
            # a folder: controlnet-aux reads its file from there and never asks the hub
            detector = cls.from_pretrained(str(folder))
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(_missing_message(str(folder), "depth_estimator", exc)) from exc
        if hasattr(detector, "to"):
            detector = detector.to(device) or detector
        _other[key] = detector
        _loads += 1
        return detector


def _normalise(source: str, root: Path) -> str:
    """The folder a configured model loads from (a hub id becomes its installed folder
    under the models folder), or ``source`` unchanged when nothing is installed for it.

    One cache entry per folder however it was spelled. Nothing here touches the network.
    """
    folder = local_source(source, root)
    return str(folder) if folder is not None else source


def _load_pipeline(key: ModelKey, config: GenerationConfig) -> Any:
    import diffusers
    import torch

    dtype = getattr(torch, key.dtype)
    family = key.family
    fields = {
        "canny": f"{family}_controlnet_canny",
        "depth": f"{family}_controlnet_depth",
    }
    nets = [
        _from_pretrained(diffusers.ControlNetModel, source, fields[kind], key, dtype)
        for kind, source in key.controlnets
    ]
    if family == "sd15":
        pipeline_cls = diffusers.StableDiffusionControlNetInpaintPipeline
        # The safety checker is off: inputs are product photos and outputs are backgrounds
        # behind them; its false positives blank whole assets. Moderation of merchant
        # prompts, if wanted, belongs in the service, not in a per-image NSFW classifier.
        extra: dict[str, Any] = {
            "safety_checker": None,
            "feature_extractor": None,
            "requires_safety_checker": False,
        }
    else:
        # SDXL pipelines ship no safety checker; the invisible watermark is applied when the
        # invisible-watermark package is installed (diffusers' default), to backgrounds only
        # since the product is pasted back afterwards.
        pipeline_cls = diffusers.StableDiffusionXLControlNetInpaintPipeline
        extra = {}
    # A list becomes a MultiControlNetModel inside the pipeline.
    controlnet = nets[0] if len(nets) == 1 else nets
    pipe = _from_pretrained(
        pipeline_cls,
        key.inpaint_model,
        f"{family}_inpaint_model",
        key,
        dtype,
        controlnet=controlnet,
        **extra,
    )
    if key.device.startswith("cuda"):
        pipe.to(key.device)
        _tune_for_cuda(pipe, nets)
    # Progress goes through the engine's callback, not tqdm on a worker's stderr.
    pipe.set_progress_bar_config(disable=True)
    log.info("loaded %s pipeline %s on %s/%s", family, key.inpaint_model, key.device, key.dtype)
    return pipe


def _tune_for_cuda(pipe: Any, nets: list[Any]) -> None:
    import torch
    from diffusers.models.attention_processor import AttnProcessor2_0

    # diffusers picks SDPA by default on torch 2; set it explicitly so a checkpoint that
    # saved another processor does not silently run the slow path.
    for model in (pipe.unet, *nets):
        model.set_attn_processor(AttnProcessor2_0())
        # NHWC convolutions are faster on tensor cores.
        model.to(memory_format=torch.channels_last)


def _from_pretrained(cls: Any, source: str, field_name: str, key: ModelKey, dtype: Any, **kwargs: Any) -> Any:
    """Load ``cls`` from the local folder ``source`` (see ``_normalise``), never from the hub.

    A job must not download gigabytes: a model that is not installed fails at once with
    the command that installs it.
    """
    import torch

    if not os.path.isdir(source):
        raise ModelUnavailable(_missing_message(source, field_name))
    # fp16 checkpoints ship an "fp16" variant half the size; not every repo or folder has
    # one, so fall back to the full-precision files (cast to fp16 on load).
    variants: list[str | None] = ["fp16", None] if dtype == torch.float16 else [None]
    error: Exception | None = None
    for variant in variants:
        try:
            return cls.from_pretrained(source, dtype=dtype, variant=variant, local_files_only=True, **kwargs)
        except (OSError, ValueError) as exc:  # missing or unreadable files
            error = exc
    assert error is not None
    raise ModelUnavailable(_missing_message(source, field_name, error)) from error


def _missing_message(source: str, field_name: str, error: Exception | None = None) -> str:
    """What is wrong with model ``source`` (configured as ``field_name``) and the command that fixes it."""
    env = f"SHOPASSETS_{field_name.upper()}"
    if error is not None:
        record = read_marker(Path(source))
        fix = (
            f"reinstall it with `{pull_command(record['name'])}`"
            if record
            else f"point {env} at a complete folder saved with save_pretrained"
        )
        return f"model folder {source} ({env}) could not be loaded: {error}; {fix}"
    if is_hub_id(source):
        registry = load_registry()
        entry = registry.by_repo(source)
        name = entry.name if entry else f"{source}@<commit>"
        group = next((g for g, members in registry.groups.items() if name in members), None)
        whole = f"; the whole {group} set: `{pull_command(group)}`" if group else ""
        return (
            f"model {source} ({env}) is not installed on this worker; install it with "
            f"`{pull_command(name)}` (or `make models MODELS={name}`){whole}. Jobs never download weights."
        )
    return (
        f"model folder {source} ({env}) does not exist; set {env} to a folder saved with save_pretrained, "
        f"or to a hub id installed with `python -m generation models pull`"
    )


def _with_scheduler(base: Any, name: str) -> Any:
    """``base`` itself for "default", else a pipeline sharing its modules with a new scheduler."""
    spec = SCHEDULERS[name]
    if spec is None:
        return base
    import diffusers

    class_name, extra = spec
    scheduler = getattr(diffusers, class_name).from_config(base.scheduler.config, **extra)
    # from_pipe reuses every module (no copy, no load) and carries the pipeline's config.
    pipe = type(base).from_pipe(base, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    return pipe
