"""rembg models: the configured or best installed one, checked, loaded once per process.

``config.rembg_model`` is ``auto`` (the best-ranked model of the registry that is
installed and passes its checksums), a registry name (``birefnet-general``,
``birefnet-general-lite``, ``isnet-general-use``, ``u2net``, ``u2netp``), or a path to a
u2net-style ``.onnx`` file (rembg's ``u2net_custom`` session; a relative path is taken
from the models folder). Files live in the models folder of ``generation.weights``,
installed by ``python -m generation models pull``.

rembg downloads a missing model whenever a session is built by name. Here a session is
only ever built from a file that is on disk and has passed its checksums, through a
subclass of rembg's session class whose ``download_models`` returns that file: no path
from a job reaches the network.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generation.config import GenerationConfig
from generation.errors import InvalidSpec, ModelUnavailable, SegmentationFailed
from generation.segment.matte import border_fraction, build_segmentation, decisiveness, to_rgb
from generation.types import Segmentation
from generation.weights import (
    SegmentationModel,
    best_verified,
    find_onnx,
    installed_segmentation,
    load_registry,
    models_dir,
    pull_command,
    verified_onnx,
)

log = logging.getLogger(__name__)

AUTO = "auto"
CUSTOM_SESSION = "u2net_custom"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class ModelRef:
    """Which rembg session to build, from which checked file."""

    session_name: str  # rembg session class name
    label: str  # what Segmentation.segmenter reports after "rembg:"
    path: Path


def _is_custom(model: str) -> bool:
    return model.endswith(".onnx") or os.sep in model


def resolve_model(config: GenerationConfig) -> ModelRef:
    """The model ``config`` asks for, as a checked file on disk.

    Raises ``ModelUnavailable`` (not installed, or its checksums do not match: the
    message names the command that installs it) or ``InvalidSpec`` (an unknown name).
    Hashes a registry file once per process (see ``weights.verified_onnx``).
    """
    model = config.rembg_model.strip()
    root = models_dir(config.models_dir)
    if _is_custom(model):
        path = root / os.path.expanduser(model)  # an absolute path stays as it is
        if not path.is_file():
            raise ModelUnavailable(f"rembg model file {path} does not exist")
        return ModelRef(CUSTOM_SESSION, f"custom:{path.name}", path)
    registry = load_registry()
    if model == AUTO:
        best = best_verified(root, registry)
        if best is None:
            raise ModelUnavailable(
                f"no segmentation model is installed in {root}; install one with "
                f"`{pull_command(registry.default)}` (or `make models`), or use the classical segmenter"
            )
        return ModelRef(best[0].name, best[0].name, best[1])
    if model not in registry.segmentation:
        raise InvalidSpec(
            f"unknown rembg model {model!r}; use auto, one of {', '.join(registry.segmentation)} "
            "or a path to a u2net-style .onnx file"
        )
    entry = registry.segmentation[model]
    onnx = verified_onnx(entry, root)
    if onnx is None:
        raise ModelUnavailable(_missing_message(entry, root))
    return ModelRef(entry.name, entry.name, onnx)


def _missing_message(model: SegmentationModel, root: Path) -> str:
    if find_onnx(model, root) is not None:
        return (
            f"the rembg model file for {model.name!r} in {root} does not match its checksums; "
            f"reinstall it with `{pull_command(model.name)}`"
        )
    return (
        f"rembg weights for {model.name!r} are not installed (looked for {model.file} in {root}); "
        f"install them with `{pull_command(model.name)}`, or use another segmenter. Jobs never download weights."
    )


def weights_available(config: GenerationConfig | None = None, *, verify: bool = False) -> bool:
    """Whether the rembg segmenter can run with ``config`` (nothing is downloaded).

    Without ``verify`` only sizes are compared (fast enough for a web page); with it
    the file's checksums must match too. Raises ``InvalidSpec`` for an unknown model
    name: a typo in the configuration should be loud, not a silent fallback.
    """
    config = config or GenerationConfig()
    model = config.rembg_model.strip()
    root = models_dir(config.models_dir)
    if not verify and not _is_custom(model):
        registry = load_registry()
        if model == AUTO:
            return bool(installed_segmentation(root, registry))
        if model not in registry.segmentation:
            resolve_model(config)  # raises the InvalidSpec
        return find_onnx(registry.segmentation[model], root) is not None
    try:
        resolve_model(config)
    except ModelUnavailable:
        return False
    return True


def onnx_providers(device: str, available: Sequence[str]) -> list[str | tuple[str, dict[str, Any]]]:
    """ONNX Runtime providers for ``device`` (auto | cpu | cuda | cuda:N).

    ``available`` is what ``onnxruntime.get_available_providers()`` reports: CUDA is
    there once onnxruntime-gpu is installed. ``auto`` and ``cuda`` use it when it is,
    on GPU N for ``cuda:N``; without it everything runs on the CPU (a GPU worker still
    makes cutouts, only slower).
    """
    if device == "cpu" or CUDA not in available:
        return [CPU]
    index = int(device.partition(":")[2] or 0)
    return [(CUDA, {"device_id": index}) if index else CUDA, CPU]


# One lock guards the session cache: two threads asking at once build one session.
_lock = threading.RLock()
_sessions: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def get_session(config: GenerationConfig | None = None) -> Any:
    """The process-wide rembg session for ``config``'s model file and device."""
    config = config or GenerationConfig()
    ref = resolve_model(config)
    import onnxruntime as ort  # heavy; only once a rembg model is used

    providers = onnx_providers(config.device, ort.get_available_providers())
    if config.device.startswith("cuda") and CUDA not in ort.get_available_providers():
        log.warning(
            "device %s asked for, but onnxruntime has no CUDA provider: rembg runs on the CPU", config.device
        )
    key = (ref.session_name, str(ref.path), tuple(str(p) for p in providers))
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = _build_session(ref, providers)
            _sessions[key] = session
        return session


def _build_session(ref: ModelRef, providers: list[str | tuple[str, dict[str, Any]]]) -> Any:
    """rembg's session class for ``ref``, loading ``ref.path`` and never downloading."""
    import onnxruntime as ort  # heavy; only once a rembg model is used
    from rembg.sessions import sessions

    path = str(ref.path)

    base: Any = sessions[ref.session_name]

    class FromFile(base):
        @classmethod
        def download_models(cls, *args: Any, **kwargs: Any) -> str:
            return path

        def _warn_on_provider_fallback(self, requested: list[Any]) -> None:
            # rembg joins provider names; a (name, options) pair is named by its first item
            super()._warn_on_provider_fallback([p if isinstance(p, str) else p[0] for p in requested])

    options = ort.SessionOptions()
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads:  # as rembg.new_session does
        options.inter_op_num_threads = options.intra_op_num_threads = int(threads)
    extra = {"model_path": path} if ref.session_name == CUSTOM_SESSION else {}
    log.info("loading rembg model %s from %s", ref.label, path)
    return FromFile(ref.session_name, options, providers=providers, **extra)


def clear_sessions() -> None:
    """Forget cached sessions (tests; a worker freeing memory)."""
    with _lock:
        _sessions.clear()


def segment_rembg(
    image: Image.Image, config: GenerationConfig | None = None, mask: Image.Image | None = None
) -> Segmentation:
    """Matte from the configured rembg model (its own preprocessing, via ``predict``)."""
    if mask is not None:
        raise InvalidSpec("a mask was given: use the 'alpha' or 'auto' segmenter with it")
    config = config or GenerationConfig()
    # 1. the checked file and its cached session (ModelUnavailable before anything loads)
    ref = resolve_model(config)
    session = get_session(config)

    # 2. predict. ``predict`` rather than ``rembg.remove``: remove() re-orients by EXIF and
    # stacks multiple masks vertically; we want the one matte on this exact pixel grid.
    rgb = to_rgb(image)
    masks = session.predict(rgb)
    if not masks:
        raise SegmentationFailed(f"rembg model {ref.label} returned no mask")
    matte_image = masks[0].convert("L")
    if matte_image.size != rgb.size:
        matte_image = matte_image.resize(rgb.size, Image.Resampling.BILINEAR)
    matte = np.asarray(matte_image).copy()
    if int((matte > 127).sum()) == 0:
        raise SegmentationFailed(f"rembg model {ref.label} found no product in the photo")

    # 3. confidence: a clean matte is mostly black or white, and does not fill the frame
    edge = border_fraction(matte > 127)
    confidence = min(decisiveness(matte), 1.0 - max(0.0, edge - 0.25) * 2.0)
    return build_segmentation(rgb, matte, f"rembg:{ref.label}", confidence)


@dataclass(frozen=True)
class InstallStatus:
    """What background removal this install runs, and what would do better."""

    active: str  # "rembg:<model>" or "classical": what auto runs on a photo without alpha
    installed: tuple[str, ...]  # registry segmentation models on disk, best first
    better: str | None  # the best registry model not installed, when it beats the active one
    command: str | None  # the command that installs ``better``


def install_status(config: GenerationConfig | None = None) -> InstallStatus:
    """For the dashboard: a size check only, nothing is hashed, loaded or downloaded."""
    config = config or GenerationConfig()
    registry = load_registry()
    root = models_dir(config.models_dir)
    installed = tuple(m.name for m in installed_segmentation(root, registry))
    model = config.rembg_model.strip()
    if model == AUTO:
        current = installed[0] if installed else None
    elif weights_available(config):
        current = f"custom:{Path(model).name}" if _is_custom(model) else model
    else:
        current = None
    best = next(iter(registry.segmentation.values()))
    rank = (
        registry.segmentation[current].rank
        if current is not None and current in registry.segmentation
        else None
    )
    better = None
    if current is None:  # nothing runs: the configured model, or the default one
        better = model if model in registry.segmentation else registry.default
    elif rank is not None and model == AUTO and best.name not in installed and best.rank < rank:
        better = best.name
    return InstallStatus(
        active=f"rembg:{current}" if current else "classical",
        installed=installed,
        better=better,
        command=pull_command(better) if better else None,
    )
