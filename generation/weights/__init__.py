"""Model weights: what can be installed (``registry.json``), where it goes, how it is checked.

Weights are installed at install time by ``python -m generation models pull`` (``make
models``), never during a job: segmentation models from their official URLs (or
``SHOPASSETS_MODEL_MIRROR``), diffusion models from the Hugging Face hub at pinned commits
(or ``HF_ENDPOINT``). Workers only look at what is installed; see ``registry`` for the
folder layout and ``download`` / ``hub`` for how files are fetched and checked.

Importing this package touches no network and does not import huggingface_hub.
"""

from __future__ import annotations

import os
from pathlib import Path

from generation.weights.download import fetch
from generation.weights.registry import (
    DiffusionModel,
    Model,
    Registry,
    SegmentationModel,
    find_onnx,
    hub_folder,
    is_hub_id,
    load_registry,
    local_source,
    models_dir,
    read_marker,
    verified_onnx,
)


def installed_segmentation(root: Path, registry: Registry | None = None) -> list[SegmentationModel]:
    """Segmentation models whose file is in ``root`` with the right size, best rank first.

    A size check only (fast enough for a web page); ``verified_onnx`` hashes before use.
    """
    registry = registry or load_registry()
    return [m for m in registry.segmentation.values() if find_onnx(m, root) is not None]


def best_verified(root: Path, registry: Registry | None = None) -> tuple[SegmentationModel, Path] | None:
    """The best-ranked installed segmentation model whose checksums match, with its file."""
    registry = registry or load_registry()
    for model in installed_segmentation(root, registry):
        path = verified_onnx(model, root)
        if path is not None:
            return model, path
    return None


def pull(model: Model, root: Path, *, variant: str = "full", progress: bool = True) -> Path:
    """Install ``model`` under ``root`` (a no-op when it is installed); returns where it is.

    Raises ``download.DownloadFailed`` (offline, not found, bad checksum: nothing kept).
    """
    if isinstance(model, SegmentationModel):
        return fetch(
            model, root / model.file, mirror=os.environ.get("SHOPASSETS_MODEL_MIRROR"), progress=progress
        )
    from generation.weights.hub import pull_repo  # huggingface_hub takes a second to import

    return pull_repo(model, root, variant=variant, progress=progress)


def pull_command(name: str) -> str:
    """The exact command that installs model (or group, or pinned hub id) ``name``."""
    return f"python -m generation models pull {name}"


__all__ = [
    "DiffusionModel",
    "Model",
    "Registry",
    "SegmentationModel",
    "best_verified",
    "find_onnx",
    "hub_folder",
    "installed_segmentation",
    "is_hub_id",
    "load_registry",
    "local_source",
    "models_dir",
    "pull",
    "pull_command",
    "read_marker",
    "verified_onnx",
]
