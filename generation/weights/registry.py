"""The model registry (``registry.json``) and the one folder that holds installed weights.

The models folder is ``SHOPASSETS_MODELS_DIR``, else ``U2NET_HOME`` (rembg's own variable),
else ``~/.u2net``. Segmentation models are single ONNX files directly in it, under their
registry name (rembg's flat layout, so rembg's own tools find them too; rembg's newer
``models/<name>/`` layout is read as well). Diffusion models are folders under its
``diffusers/`` subfolder, one per hub repository (``org--name``), each finished by a
``shopassets-model.json`` that lists every file with its checksum; a folder without it
is not installed.

``SHOPASSETS_MODEL_REGISTRY`` names an extra registry file in the same format whose
entries are added to the built-in ones (an entry with a built-in name replaces it), for
private models and air-gapped installs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generation.errors import InvalidSpec

REGISTRY_PATH = Path(__file__).with_name("registry.json")
MARKER = "shopassets-model.json"
HUB_SUBFOLDER = "diffusers"
# What a hub id looks like ("org/name"); anything else is taken as a local path.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class SegmentationModel:
    """One rembg ONNX file. ``rank`` 1 is the best quality; ``auto`` prefers low ranks."""

    name: str  # rembg session name
    file: str  # file name in the models folder
    url: str  # official download URL
    size: int  # bytes
    sha256: str
    md5: str  # the checksum rembg itself publishes
    licence: str
    input_size: int  # the square the model sees, px
    good_at: str
    rank: int


@dataclass(frozen=True)
class DiffusionModel:
    """One hub repository pinned to a commit, installed as a folder."""

    name: str
    repo: str
    revision: str  # full commit hash
    setting: str  # the GenerationConfig field that names this model
    licence: str
    good_at: str
    skip: tuple[str, ...] = ()  # glob patterns of repository files never downloaded
    only: tuple[str, ...] = ()  # when set, exactly these files


Model = SegmentationModel | DiffusionModel


@dataclass(frozen=True)
class Registry:
    default: str  # the segmentation model ``pull`` installs when no name is given
    segmentation: Mapping[str, SegmentationModel]  # best rank first
    diffusion: Mapping[str, DiffusionModel]
    groups: Mapping[str, tuple[str, ...]]

    def get(self, name: str) -> Model:
        model = self.segmentation.get(name) or self.diffusion.get(name)
        if model is None:
            raise InvalidSpec(f"unknown model {name!r}; choose one of {', '.join(self.names())}")
        return model

    def names(self) -> list[str]:
        return [*self.segmentation, *self.diffusion, *self.groups]

    def expand(self, names: Iterable[str]) -> list[Model]:
        """The models ``names`` (model or group names) stand for, each once, in order."""
        picked: dict[str, Model] = {}
        for name in names:
            for member in self.groups.get(name, (name,)):
                picked.setdefault(member, self.get(member))
        return list(picked.values())

    def by_repo(self, repo: str) -> DiffusionModel | None:
        return next((m for m in self.diffusion.values() if m.repo == repo), None)


def load_registry(environ: Mapping[str, str] | None = None) -> Registry:
    """The built-in registry plus the file ``SHOPASSETS_MODEL_REGISTRY`` names, if any."""
    env = os.environ if environ is None else environ
    extra = env.get("SHOPASSETS_MODEL_REGISTRY", "").strip()
    stamp = os.stat(extra).st_mtime_ns if extra and os.path.isfile(extra) else 0
    return _load(extra, stamp)


@functools.cache
def _load(extra: str, stamp: int) -> Registry:  # noqa: ARG001 - stamp: reload an edited file
    data = json.loads(REGISTRY_PATH.read_text())
    if extra:
        try:
            more = json.loads(Path(extra).read_text())
        except (OSError, ValueError) as exc:
            raise InvalidSpec(
                f"SHOPASSETS_MODEL_REGISTRY={extra!r} is not a readable JSON file: {exc}"
            ) from exc
        for kind in ("segmentation", "diffusion"):
            names = {entry["name"] for entry in more.get(kind, [])}
            data[kind] = [e for e in data[kind] if e["name"] not in names] + more.get(kind, [])
        data["groups"].update(more.get("groups", {}))
        data["default"] = more.get("default", data["default"])
    try:
        segmentation = sorted((SegmentationModel(**e) for e in data["segmentation"]), key=lambda m: m.rank)
        diffusion = [
            DiffusionModel(**{**e, "skip": tuple(e.get("skip", ())), "only": tuple(e.get("only", ()))})
            for e in data["diffusion"]
        ]
    except TypeError as exc:
        raise InvalidSpec(f"model registry entry has missing or unknown fields: {exc}") from exc
    registry = Registry(
        default=data["default"],
        segmentation={m.name: m for m in segmentation},
        diffusion={m.name: m for m in diffusion},
        groups={name: tuple(members) for name, members in data["groups"].items()},
    )
    for name in [registry.default, *(m for g in registry.groups.values() for m in g)]:
        registry.get(name)
    return registry


def models_dir(configured: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The models folder: ``configured``, else SHOPASSETS_MODELS_DIR, else U2NET_HOME, else ~/.u2net."""
    env = os.environ if environ is None else environ
    folder = configured or env.get("SHOPASSETS_MODELS_DIR") or env.get("U2NET_HOME") or "~/.u2net"
    return Path(os.path.expanduser(folder)).absolute()


# --- segmentation files -----------------------------------------------------------------


def onnx_candidates(model: SegmentationModel, root: Path) -> list[Path]:
    """Where a segmentation file may be: ours (flat), then rembg's per-model folder."""
    return [root / model.file, root / "models" / model.name / model.file]


def find_onnx(model: SegmentationModel, root: Path) -> Path | None:
    """The installed file of ``model``: present with the registry's size (no hashing)."""
    for path in onnx_candidates(model, root):
        try:
            if path.stat().st_size == model.size:
                return path
        except OSError:
            continue
    return None


def file_digests(path: Path) -> tuple[str, str]:
    """(sha256, md5) of a file, read once."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def onnx_problem(model: SegmentationModel, path: Path) -> str | None:
    """Why ``path`` is not ``model``'s file (size or checksum), or None when it is."""
    size = path.stat().st_size
    if size != model.size:
        return f"{path} has {size} bytes, {model.name} has {model.size}"
    sha, md5 = file_digests(path)
    if sha != model.sha256 or md5 != model.md5:
        return f"{path} does not match the {model.name} checksums (sha256 {sha}, expected {model.sha256})"
    return None


# A file that passed the checksum once in this process is not hashed again unless it changed.
_verified: dict[tuple[str, int, int], bool] = {}
_verified_lock = threading.Lock()


def verified_onnx(model: SegmentationModel, root: Path) -> Path | None:
    """The installed file of ``model`` once its checksums match (hashed once per process)."""
    path = find_onnx(model, root)
    if path is None:
        return None
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        ok = _verified.get(key)
        if ok is None:
            ok = _verified[key] = onnx_problem(model, path) is None
    return path if ok else None


# --- diffusion folders ------------------------------------------------------------------


def is_hub_id(source: str) -> bool:
    return bool(_HUB_ID.match(source)) and not os.path.exists(source)


def hub_folder(root: Path, repo: str) -> Path:
    """Where the hub repository ``repo`` is installed under the models folder."""
    return root / HUB_SUBFOLDER / repo.replace("/", "--")


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The install record of a diffusion folder, None when it is not (fully) installed."""
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None


def local_source(source: str, root: Path) -> Path | None:
    """The local folder a configured model (hub id or folder) loads from, None when absent.

    A folder is used as it is. A hub id maps to its folder under the models folder, and
    only once ``models pull`` has finished it. Nothing here touches the network.
    """
    if os.path.isdir(source):
        return Path(source).absolute()
    if is_hub_id(source):
        folder = hub_folder(root, source)
        if read_marker(folder) is not None:
            return folder
    return None
