"""Install diffusion models: a hub repository at a pinned commit becomes a local folder.

``pull_repo`` lists the repository at that commit, picks the files a diffusers pipeline
loads (``select_files``: safetensors before pickles, one precision), downloads them with
``huggingface_hub.snapshot_download`` into ``<folder>.partial`` (resumable: a second run
continues where the first stopped), checks every file against the hub's own checksums
(SHA-256 of LFS files, the git blob id of small ones), writes the install record and only
then renames the folder into place. ``HF_ENDPOINT`` points at a mirror; ``HF_TOKEN`` is
used as huggingface_hub uses it.

Workers never call this: they load what is installed (``registry.local_source``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import posixpath
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

from generation.weights.download import ChecksumMismatch, DownloadFailed, probe
from generation.weights.registry import MARKER, DiffusionModel, hub_folder, read_marker

VARIANTS = ("full", "fp16", "all")
WEIGHT_FORMATS = (".safetensors", ".bin")  # what diffusers and transformers load, best first
# Other weight formats in model repositories (original checkpoints, other frameworks).
_OTHER_WEIGHTS = (".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".onnx", ".onnx_data", ".pb", ".ot", ".gguf")


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # LFS files
    git_sha1: str  # every file's git blob id


def endpoint() -> str | None:
    """The hub mirror from ``HF_ENDPOINT`` as it is now (huggingface_hub reads it only at import)."""
    return os.environ.get("HF_ENDPOINT") or None


def select_files(
    files: Iterable[str], variant: str, *, skip: Iterable[str] = (), only: Iterable[str] = ()
) -> list[str]:
    """The repository files to download for ``variant`` (full | fp16 | all).

    ``only`` names exact files. Otherwise everything but ``skip`` patterns and weight
    formats diffusers does not load (and, in a pipeline repository, the single-file
    checkpoints at its root), and in each folder the weights of one format
    (safetensors when there are any, else pytorch ``.bin``) and one precision: the
    ``fp16`` variant files for ``fp16`` (the full ones where a folder has none), the
    full-precision files for ``full`` (fp16 where a folder has nothing else), both for
    ``all``. Sharded weights travel with their index file.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}")
    files = list(files)
    if only:
        return [f for f in files if f in set(only)]
    skip = list(skip)
    if "model_index.json" in files:  # a pipeline: weights at its root are single-file checkpoints
        skip += [f for f in files if "/" not in f and _weight_format(f) is not None]
    kept = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in skip)]
    plain = [f for f in kept if _weight_format(f) is None and not f.endswith(_OTHER_WEIGHTS)]
    weights: dict[str, list[str]] = {}
    for f in kept:
        if _weight_format(f) is not None:
            weights.setdefault(posixpath.dirname(f), []).append(f)
    chosen: list[str] = []
    for group in weights.values():
        fmt = next(x for x in WEIGHT_FORMATS if any(_weight_format(f) == x for f in group))
        same = [f for f in group if _weight_format(f) == fmt]
        half = [f for f in same if _is_fp16(f)]
        full = [f for f in same if not _is_fp16(f)]
        if variant == "all":
            chosen += same
        elif variant == "fp16":
            chosen += half or full
        else:
            chosen += full or half
    picked = set(plain) | set(chosen)
    return [f for f in files if f in picked]


def _weight_format(path: str) -> str | None:
    """ ".safetensors" or ".bin" for weight files and their shard indexes, else None."""
    name = posixpath.basename(path)
    if name.endswith(".json"):  # "model.safetensors.index.json", "...index.fp16.json"
        stem = name[: -len(".json")].replace(".fp16", "")
        if not stem.endswith(".index"):
            return None
        name = stem[: -len(".index")]
    return next((fmt for fmt in WEIGHT_FORMATS if name.endswith(fmt)), None)


def _is_fp16(path: str) -> bool:
    return ".fp16" in posixpath.basename(path)


def pull_repo(model: DiffusionModel, root: Path, *, variant: str = "full", progress: bool = True) -> Path:
    """Install ``model`` under ``root``; returns its folder. Raises ``DownloadFailed``."""
    target = hub_folder(root, model.repo)
    partial = target.with_name(target.name + ".partial")
    # 1. what the pinned commit holds, and what of it we need
    remote = _list(model)
    wanted = select_files(remote, variant, skip=model.skip, only=model.only)
    missing = sorted(set(model.only) - set(wanted))
    if missing:
        raise DownloadFailed(f"{model.repo}@{model.revision} has no {', '.join(missing)}")
    record = read_marker(target)
    if (
        record
        and record.get("revision") == model.revision
        and sorted(record.get("files", {})) == sorted(wanted)
    ):
        return target

    # 2. download (resumes inside .partial)
    if not progress:
        disable_progress_bars()
    try:
        snapshot_download(
            model.repo,
            revision=model.revision,
            local_dir=partial,
            allow_patterns=[_literal(f) for f in wanted],
            endpoint=endpoint(),
            max_workers=4,
        )
    except (RepositoryNotFoundError, RevisionNotFoundError, GatedRepoError, HfHubHTTPError) as exc:
        raise DownloadFailed(_hub_error(model, exc)) from exc
    except (HTTPError, LocalEntryNotFoundError) as exc:
        raise DownloadFailed(_offline(model, exc)) from exc
    finally:
        if not progress:
            enable_progress_bars()

    # 3. check every file against the hub's checksums; a bad file is deleted
    files = {}
    for name in wanted:
        entry = remote[name]
        path = partial / name
        problem = _file_problem(path, entry)
        if problem:
            path.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"{model.repo}@{model.revision}: {name} {problem}; it was deleted, run the pull again"
            )
        files[name] = {
            "size": entry.size,
            **({"sha256": entry.sha256} if entry.sha256 else {"git_sha1": entry.git_sha1}),
        }

    # 4. the record last, then the folder into place in one rename
    (partial / MARKER).write_text(
        json.dumps(
            {
                "name": model.name,
                "repo": model.repo,
                "revision": model.revision,
                "variant": variant,
                "files": files,
            },
            indent=1,
        )
    )
    old = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(partial, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def folder_problems(folder: Path) -> list[str]:
    """What is wrong with an installed folder (every file re-hashed); empty when it is sound."""
    record = read_marker(folder)
    if record is None:
        return [f"{folder} is not installed (no {MARKER})"]
    problems = []
    for name, expected in record["files"].items():
        entry = RemoteFile(name, expected["size"], expected.get("sha256"), expected.get("git_sha1", ""))
        problem = _file_problem(folder / name, entry)
        if problem:
            problems.append(f"{name} {problem}")
    return problems


def _list(model: DiffusionModel) -> dict[str, RemoteFile]:
    probe(endpoint() or "https://huggingface.co", model.repo, _offline_hint(model))
    try:
        entries = HfApi(endpoint=endpoint()).list_repo_tree(
            model.repo, revision=model.revision, recursive=True
        )
        return {
            e.path: RemoteFile(e.path, e.size, e.lfs.sha256 if e.lfs else None, e.blob_id)
            for e in entries
            if isinstance(e, RepoFile)
        }
    except (RepositoryNotFoundError, RevisionNotFoundError, GatedRepoError, HfHubHTTPError) as exc:
        raise DownloadFailed(_hub_error(model, exc)) from exc
    except HTTPError as exc:
        raise DownloadFailed(_offline(model, exc)) from exc


def _file_problem(path: Path, entry: RemoteFile) -> str | None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "is missing"
    if size != entry.size:
        return f"has {size} bytes instead of {entry.size}"
    if entry.sha256:
        digest, want = hashlib.sha256(), entry.sha256
    else:  # git's blob id: sha1 over a header and the content
        digest, want = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False), entry.git_sha1
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return None if digest.hexdigest() == want else "does not match its checksum"


def _literal(path: str) -> str:
    """``path`` as an fnmatch pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in path)


def _hub_error(model: DiffusionModel, exc: Exception) -> str:
    if isinstance(exc, GatedRepoError):
        return (
            f"{model.repo} is gated on the hub: accept its licence on its model page, then set HF_TOKEN "
            "and pull again"
        )
    if isinstance(exc, RevisionNotFoundError):
        return f"{model.repo} has no revision {model.revision} on {endpoint() or 'the hub'}"
    if isinstance(exc, RepositoryNotFoundError):
        return f"{model.repo} was not found on {endpoint() or 'the hub'}"
    status = getattr(getattr(exc, "response", None), "status_code", "?")
    return f"{endpoint() or 'the hub'} answered HTTP {status} for {model.repo}@{model.revision}"


def _offline(model: DiffusionModel, exc: Exception) -> str:
    where = endpoint() or "the Hugging Face hub"
    return f"cannot reach {where} for {model.repo} ({type(exc).__name__}); this machine looks offline: {_offline_hint(model)}"


def _offline_hint(model: DiffusionModel) -> str:
    return (
        "set HF_ENDPOINT to a hub mirror, or copy an installed folder "
        f"({hub_folder(Path('<models folder>'), model.repo)}) from another machine"
    )
