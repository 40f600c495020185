"""rembg models: sessions found the way rembg finds them, built once per process.

``config.rembg_model`` is a rembg session name (``u2net``, ``isnet-general-use``,
``birefnet-general``) or a path to a u2net-style ``.onnx`` file (rembg's
``u2net_custom`` session). Weights live under rembg's home (``U2NET_HOME``);
``config.rembg_home`` overrides it. rembg downloads missing weights on first use;
this module never lets it: a missing file raises ``ModelUnavailable`` instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generation.config import GenerationConfig
from generation.errors import InvalidSpec, ModelUnavailable, SegmentationFailed
from generation.segment.matte import border_fraction, build_segmentation, decisiveness, to_rgb
from generation.types import Segmentation

# rembg session names we support; each stores its weights as "<name>.onnx".
NAMED_MODELS = ("u2net", "isnet-general-use", "birefnet-general")
CUSTOM_SESSION = "u2net_custom"


@dataclass(frozen=True)
class ModelRef:
    """Which rembg session to build and where its weights must be."""

    session_name: str  # rembg registry name
    label: str  # what Segmentation.segmenter reports after "rembg:"
    model_path: str | None  # custom .onnx only
    home: str | None  # U2NET_HOME to use; None keeps the process environment


def model_ref(config: GenerationConfig) -> ModelRef:
    model = config.rembg_model.strip()
    home = os.path.expanduser(config.rembg_home) if config.rembg_home else None
    if model.endswith(".onnx") or os.sep in model:
        path = os.path.expanduser(model)
        return ModelRef(CUSTOM_SESSION, f"custom:{Path(path).name}", path, home)
    if model not in NAMED_MODELS:
        raise InvalidSpec(
            f"unknown rembg model {model!r}; use one of {', '.join(NAMED_MODELS)} "
            "or a path to a u2net-style .onnx file"
        )
    return ModelRef(model, model, None, home)


# One lock guards the session cache and every temporary change of U2NET_HOME: rembg
# reads the variable while it builds a session, and the environment is process-wide.
_lock = threading.RLock()
_sessions: dict[tuple[str, str, str, tuple[str, ...]], Any] = {}


@contextmanager
def _rembg_home(home: str | None) -> Iterator[None]:
    with _lock:
        if home is None:
            yield
            return
        saved = os.environ.get("U2NET_HOME")
        os.environ["U2NET_HOME"] = home
        try:
            yield
        finally:
            if saved is None:
                del os.environ["U2NET_HOME"]
            else:
                os.environ["U2NET_HOME"] = saved


def _session_class(name: str) -> Any:
    from rembg.sessions import sessions

    return sessions[name]


@dataclass(frozen=True)
class WeightsLookup:
    found: str | None  # the weight file rembg will load, None when absent or not loadable
    expected: str  # where rembg keeps (or would download) the file
    home: str  # the rembg home in effect
    searched: tuple[str, ...]  # every folder looked in, for the error message


def find_weights(ref: ModelRef) -> WeightsLookup:
    """Locate the weight file as rembg would, without downloading anything.

    Named models go through rembg's own ``resolve_existing`` (its per-model folder, then
    the legacy flat folder). A custom file must sit inside the home, because rembg
    refuses model paths outside it; a relative custom path is taken from the home.
    """
    with _rembg_home(ref.home):
        cls = _session_class(ref.session_name)
        home = os.path.abspath(cls.rembg_home())
        if ref.model_path is None:
            fname = f"{ref.session_name}.onnx"
            folders = tuple(dict.fromkeys([cls.model_dir(), cls.legacy_home()]))
            return WeightsLookup(cls.resolve_existing(fname), os.path.join(folders[0], fname), home, folders)
        roots = tuple(dict.fromkeys([home, os.path.abspath(cls.legacy_home())]))
    path = os.path.abspath(os.path.join(home, ref.model_path))  # absolute paths stay as they are
    inside = any(path.startswith(root + os.sep) for root in roots)
    return WeightsLookup(path if inside and os.path.isfile(path) else None, path, home, roots)


def weights_available(config: GenerationConfig | None = None) -> bool:
    """True when the configured rembg model's weight file is on disk (no download).

    Raises ``InvalidSpec`` for a model name this module does not support: a typo in
    the configuration should be loud, not a silent fallback to another segmenter.
    """
    config = config or GenerationConfig()
    return find_weights(model_ref(config)).found is not None


def _providers(device: str) -> list[str] | None:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return None  # "auto": rembg picks from what onnxruntime offers


def get_session(config: GenerationConfig | None = None) -> Any:
    """The process-wide rembg session for this config's model and home."""
    config = config or GenerationConfig()
    ref = model_ref(config)
    providers = _providers(config.device)
    with _lock:
        weights = find_weights(ref)
        key = (ref.session_name, weights.expected, weights.home, tuple(providers or ()))
        session = _sessions.get(key)
        if session is not None:
            return session
        if weights.found is None:
            raise ModelUnavailable(_missing_message(ref, weights))

        import rembg

        kwargs: dict[str, Any] = {}
        if ref.model_path is not None:
            kwargs["model_path"] = weights.found
        if providers is not None:
            kwargs["providers"] = providers
        with _rembg_home(ref.home):
            session = rembg.new_session(ref.session_name, **kwargs)
        _sessions[key] = session
        return session


def _missing_message(ref: ModelRef, weights: WeightsLookup) -> str:
    if ref.model_path is not None:
        if not os.path.isfile(weights.expected):
            return f"rembg model file {weights.expected} does not exist"
        return (
            f"rembg model file {weights.expected} is outside the rembg home {weights.home}; "
            "rembg only loads custom models from inside it (set rembg_home / U2NET_HOME)"
        )
    return (
        f"rembg weights for {ref.session_name!r} are not on this machine (looked for "
        f"{ref.session_name}.onnx in {' and '.join(weights.searched)}); downloads are disabled here: copy the file there, point "
        "rembg_home / U2NET_HOME at a folder that has it, or use another segmenter"
    )


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
    # 1. the cached session (raises ModelUnavailable before any download)
    session = get_session(config)
    ref = model_ref(config)

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
