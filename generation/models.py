"""Diffusion models, loaded once per process per model key and reused.

Loading an SD pipeline costs seconds to minutes and gigabytes of memory, so the weights
are cached by what identifies them (family, model ids or folders, device, dtype, VAE,
fused LCM weights, compilation). A scheduler is not part of that identity: pipelines that
differ only in scheduler share the same weight modules, and switching scheduler loads
nothing. The cache is bounded (``GenerationConfig.diffusion_cache_size``): the least
recently used set of weights is dropped, and its memory freed, before another is loaded.

What a pipeline really runs in is read from its modules' parameters (``module_dtypes``),
never from the configuration that asked for it.

Nothing here imports torch or diffusers at module import time.
"""

from __future__ import annotations

import copy
import functools
import gc
import logging
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generation.config import GenerationConfig
from generation.errors import InvalidSpec, ModelUnavailable
from generation.weights import is_hub_id, load_registry, local_source, models_dir, pull_command, read_marker

log = logging.getLogger(__name__)

# name -> (diffusers scheduler class, extra config). "default" keeps the checkpoint's own.
# The names are generation.config.SCHEDULER_NAMES, which the configuration validates.
SCHEDULERS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "default": None,
    # DPM++ 2M Karras: good images in 20-30 steps
    "dpm": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "use_karras_sigmas": True},
    ),
    # With LCM weights only (the configuration refuses it without): 4-8 steps, guidance ~1-2.
    "lcm": ("LCMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
}

# Distinct input shapes a compiled module keeps graphs for: nine buckets x a few chunk sizes.
_COMPILED_SHAPES = 64


@dataclass(frozen=True)
class ModelKey:
    """What identifies one set of loaded weights."""

    family: str  # sd15 | sdxl
    inpaint_model: str
    controlnets: tuple[tuple[str, str], ...]  # (kind, model) in the order the pipeline gets them
    device: str
    dtype: str  # torch dtype name asked for: float16 | bfloat16 | float32
    local_files_only: bool
    vae: str | None = None  # a VAE replacing the checkpoint's (fp16-safe SDXL VAE)
    lcm_lora: str | None = None  # LCM-LoRA fused into the UNet (scheduler "lcm")
    compiled: bool = False  # UNet and ControlNets under torch.compile


@dataclass
class LoadedPipeline:
    """A ready pipeline and the lock that serialises calls on its weights.

    The lock is shared by every scheduler view of the same weights: a call mutates shared
    modules (e.g. SDXL upcasts its VAE for decoding), so two calls must not overlap.
    ``chunk_limits`` (shared too) remembers, per generation size, how many variants fitted
    in one call after an out-of-memory retry, so later requests start there.
    """

    pipe: Any
    key: ModelKey
    scheduler: str
    lock: threading.Lock = field(repr=False)
    chunk_limits: dict[tuple[int, int], int] = field(default_factory=dict, repr=False)

    @property
    def scheduler_class(self) -> str:
        return type(self.pipe.scheduler).__name__

    def dtypes(self) -> dict[str, str]:
        """The real dtype of each module (see ``module_dtypes``)."""
        return module_dtypes(self.pipe)


@dataclass
class _Entry:
    base: Any  # the pipeline as loaded, with the checkpoint's scheduler
    lock: threading.Lock
    views: dict[str, LoadedPipeline] = field(default_factory=dict)
    chunk_limits: dict[tuple[int, int], int] = field(default_factory=dict)


_entries: OrderedDict[ModelKey, _Entry] = OrderedDict()  # least recently used first
_key_locks: dict[ModelKey, threading.Lock] = {}
_other: dict[tuple[str, ...], Any] = {}  # depth estimators
_cache_lock = threading.Lock()
_loads = 0


def load_count() -> int:
    """How many times weights were loaded in this process (pipelines and estimators)."""
    return _loads


def loaded_keys() -> list[ModelKey]:
    """The cached diffusion model keys, least recently used first."""
    with _cache_lock:
        return list(_entries)


def clear_models() -> None:
    """Forget every cached model and free the memory they held (tests; a worker)."""
    with _cache_lock:
        _entries.clear()
        _key_locks.clear()
        _other.clear()
    release_memory()


def release_memory() -> None:
    """Collect dropped pipelines and hand the GPU allocator's free blocks back."""
    gc.collect()
    torch = sys.modules.get("torch")  # never import torch just to free nothing
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def module_dtypes(pipe: Any) -> dict[str, str]:
    """Each torch module of ``pipe`` -> the dtype(s) of its parameters, e.g. "float16".

    Read from the loaded parameters, so a module silently cast by a library shows up
    (a module holding two dtypes reads "float16+float32").
    """
    import torch

    out: dict[str, str] = {}
    for name, component in pipe.components.items():
        if isinstance(component, torch.nn.Module):
            kinds = sorted({str(p.dtype).removeprefix("torch.") for p in component.parameters()})
            out[name] = "+".join(kinds)
    return out


def weight_bytes(pipe: Any) -> int:
    """Bytes held by the parameters and buffers of ``pipe``'s modules (shared ones once)."""
    import torch

    seen: set[int] = set()
    total = 0
    for component in pipe.components.values():
        if not isinstance(component, torch.nn.Module):
            continue
        for tensor in (*component.parameters(), *component.buffers()):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                total += tensor.numel() * tensor.element_size()
    return total


def resolve_device(config: GenerationConfig) -> tuple[str, str]:
    """(device, dtype name): cuda when a GPU is there and allowed, else cpu; the dtype is
    ``config.diffusion_dtype``, where "auto" means float16 on a GPU and float32 on the CPU."""
    import torch

    if config.device == "cpu":
        device = "cpu"
    elif torch.cuda.is_available():
        device = "cuda" if config.device == "auto" else config.device
    elif config.device == "auto":
        device = "cpu"
    else:
        # A worker configured for a GPU silently running 50x slower on the CPU is worse than an error.
        raise ModelUnavailable(
            f"device {config.device!r} was requested but torch sees no CUDA GPU; "
            "set SHOPASSETS_DEVICE=auto or cpu, or install a CUDA build of torch",
            code="device_unavailable",
        )
    dtype = config.diffusion_dtype
    if dtype == "auto":
        dtype = "float16" if device.startswith("cuda") else "float32"
    return device, dtype


def diffusion_key(config: GenerationConfig) -> ModelKey:
    """The cache key for the diffusion weights ``config`` asks for."""
    device, dtype = resolve_device(config)
    if config.diffusion_family == "sd15":
        inpaint, canny, depth = (
            config.sd15_inpaint_model,
            config.sd15_controlnet_canny,
            config.sd15_controlnet_depth,
        )
        vae = None
    else:
        inpaint, canny, depth = (
            config.sdxl_inpaint_model,
            config.sdxl_controlnet_canny,
            config.sdxl_controlnet_depth,
        )
        vae = config.sdxl_vae
    root = models_dir(config.models_dir)
    nets = [("canny", _normalise(canny, root))]
    if depth:
        nets.append(("depth", _normalise(depth, root)))
    lcm = config.lcm_lora if config.scheduler == "lcm" else None
    return ModelKey(
        family=config.diffusion_family,
        inpaint_model=_normalise(inpaint, root),
        controlnets=tuple(nets),
        device=device,
        dtype=dtype,
        local_files_only=config.local_files_only,
        vae=_normalise(vae, root) if vae else None,
        lcm_lora=_normalise(lcm, root) if lcm else None,
        compiled=config.diffusion_compile,
    )


def load_diffusion_pipeline(config: GenerationConfig) -> LoadedPipeline:
    """The process-wide ControlNet inpaint pipeline for ``config``, loading it on first use.

    Raises ModelUnavailable when weights are missing (naming the model and how to provide
    a local folder) and InvalidSpec for an unknown scheduler name. Loading a key the cache
    has no room for first drops the least recently used one.
    """
    global _loads
    if config.scheduler not in SCHEDULERS:
        raise InvalidSpec(f"unknown scheduler {config.scheduler!r}; choose one of {', '.join(SCHEDULERS)}")
    key = diffusion_key(config)
    with _cache_lock:
        entry = _entries.get(key)
        if entry is not None:
            _entries.move_to_end(key)
        key_lock = _key_locks.setdefault(key, threading.Lock())
    if entry is None:
        # One loader per key; other keys (and cache hits) do not wait for it.
        with key_lock:
            with _cache_lock:
                entry = _entries.get(key)
            if entry is None:
                # room first: the GPU may not hold two sets of weights
                _evict(keep=config.diffusion_cache_size - 1)
                base = _load_pipeline(key, config)
                entry = _Entry(base=base, lock=threading.Lock())
                with _cache_lock:
                    _entries[key] = entry
                    _loads += 1
                _evict(keep=config.diffusion_cache_size)  # another key loaded meanwhile
    with _cache_lock:
        view = entry.views.get(config.scheduler)
        if view is None:
            view = LoadedPipeline(
                pipe=_with_scheduler(entry.base, config.scheduler),
                key=key,
                scheduler=config.scheduler,
                lock=entry.lock,
                chunk_limits=entry.chunk_limits,
            )
            entry.views[config.scheduler] = view
        return view


def _evict(keep: int) -> None:
    """Drop the least recently used entries until ``keep`` remain, and free their memory.

    A pipeline still in use by a running call lives on until that call ends; its memory is
    returned then.
    """
    dropped: list[_Entry] = []
    with _cache_lock:
        while len(_entries) > max(0, keep):
            key, entry = _entries.popitem(last=False)
            _key_locks.pop(key, None)
            dropped.append(entry)
            log.info("dropping diffusion models %s from the cache", key.inpaint_model)
    if dropped:
        for entry in dropped:
            entry.views.clear()
        dropped.clear()
        release_memory()


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
    pipeline_cls: type[Any]
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
    if key.vae:
        extra["vae"] = _from_pretrained(diffusers.AutoencoderKL, key.vae, f"{family}_vae", key, dtype)
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
    if key.lcm_lora:
        _fuse_lcm_lora(pipe, key)
    if key.device.startswith("cuda"):
        pipe.to(key.device)
        _tune_for_cuda(pipe, nets)
    if key.compiled:
        _compile(pipe, nets)
    # Progress goes through the engine's callback, not tqdm on a worker's stderr.
    pipe.set_progress_bar_config(disable=True)
    log.info("loaded %s pipeline %s on %s/%s", family, key.inpaint_model, key.device, key.dtype)
    return pipe


def _fuse_lcm_lora(pipe: Any, key: ModelKey) -> None:
    """Load the LCM-LoRA and fuse it into the UNet's weights (no LoRA cost per step)."""
    assert key.lcm_lora is not None
    field_name = f"{key.family}_lcm_lora"
    if not os.path.isdir(key.lcm_lora):  # like every model: an installed folder, never the hub
        raise ModelUnavailable(_missing_message(key.lcm_lora, field_name))
    try:
        pipe.load_lora_weights(key.lcm_lora, adapter_name="lcm", local_files_only=True)
    except (OSError, ValueError) as exc:  # missing or unreadable files
        raise ModelUnavailable(_missing_message(key.lcm_lora, field_name, exc)) from exc
    pipe.fuse_lora(adapter_names=["lcm"])
    # the fused weights stay; the adapter layers go
    pipe.unload_lora_weights()


def enable_tf32() -> None:
    """Let fp32 matrix products and convolutions use TF32 tensor cores (what stays fp32 on a
    GPU: an upcast SDXL VAE, a float32 pipeline)."""
    import torch

    # torch swaps torch.backends.cudnn for a module object whose ``conv`` settings its stubs
    # do not declare
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv  # type: ignore[attr-defined]
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = "tf32"
        conv.fp32_precision = "tf32"
    else:  # torch before the fp32_precision settings
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def _tune_for_cuda(pipe: Any, nets: list[Any]) -> None:
    import torch
    from diffusers.models.attention_processor import AttnProcessor2_0

    enable_tf32()
    # diffusers picks SDPA by default on torch 2; set it explicitly so a checkpoint that
    # saved another processor does not silently run the slow path.
    for model in (pipe.unet, *nets):
        model.set_attn_processor(AttnProcessor2_0())
        # NHWC convolutions are faster on tensor cores.
        model.to(memory_format=torch.channels_last)


def _compile(pipe: Any, nets: list[Any]) -> None:
    """torch.compile the UNet and ControlNets in place (their types stay, for diffusers).

    Generation sizes are a few training buckets and chunk sizes powers of two, so the
    shapes repeat; each new shape compiles once (minutes), then runs from the cache.
    """
    import torch
    import torch._dynamo

    dynamo = torch._dynamo.config
    if hasattr(dynamo, "recompile_limit"):
        dynamo.recompile_limit = max(dynamo.recompile_limit, _COMPILED_SHAPES)
    else:  # older torch
        dynamo.cache_size_limit = max(dynamo.cache_size_limit, _COMPILED_SHAPES)
    pipe.unet.compile(dynamic=False)
    for net in nets:
        # its forward rather than the module: the engine wraps that forward to skip calls
        # at conditioning scale 0, outside the compiled graph
        net.forward = torch.compile(net.forward, dynamic=False)


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
    """``base`` itself for "default", else a pipeline sharing its modules with a new scheduler.

    A shallow copy with the scheduler swapped: every module is the same object, in the
    dtype it was loaded in. (``DiffusionPipeline.from_pipe`` would cast every shared module
    to float32 unless told a dtype, turning an fp16 pipeline into an fp32 one.)
    """
    spec = SCHEDULERS[name]
    if spec is None:
        return base
    import diffusers

    class_name, extra = spec
    scheduler = getattr(diffusers, class_name).from_config(base.scheduler.config, **extra)
    view = copy.copy(base)
    view.scheduler = scheduler  # also records the scheduler's class in the view's own config
    return view
