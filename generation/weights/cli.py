"""``python -m generation models list|pull|verify``: install and check model weights.

    python -m generation models list
    python -m generation models pull                       # the default segmentation model
    python -m generation models pull birefnet-general sd15 # models and groups by name
    python -m generation models pull --all --variant fp16  # everything (GPU workers)
    python -m generation models pull org/name@<commit>     # any hub repository, pinned
    python -m generation models verify                     # re-hash everything installed

Exit status: 0 done, 1 ``verify`` found a problem, 2 a pull failed or a name was refused
(one line on stderr per failure). ``pull --optional`` reports a failure in one line and
exits 0: ``make run`` uses it to go on without a model when the machine is offline.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from generation.cli_common import EXIT_OK, EXIT_PROBLEMS, EXIT_REFUSED
from generation.errors import GenerationError, InvalidSpec
from generation.weights import (
    DiffusionModel,
    Model,
    Registry,
    SegmentationModel,
    find_onnx,
    hub_folder,
    load_registry,
    models_dir,
    pull,
    read_marker,
    verified_onnx,
)
from generation.weights.registry import onnx_candidates, onnx_problem

_PINNED = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)@(?P<revision>[0-9a-f]{40})$")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "models",
        help="install and check model weights (segmentation, diffusion)",
        description="Install model weights at install time; jobs never download. Models folder: "
        "SHOPASSETS_MODELS_DIR, else U2NET_HOME, else ~/.u2net.",
    )
    actions = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="what can be installed, and what is")
    pull_parser = actions.add_parser("pull", help="download, check and install models")
    pull_parser.add_argument(
        "names", nargs="*", metavar="NAME", help="model or group names (default: the default model)"
    )
    pull_parser.add_argument("--all", action="store_true", help="every model in the registry")
    pull_parser.add_argument(
        "--variant",
        choices=("full", "fp16", "all"),
        default="full",
        help="diffusion weights: full precision (CPU and GPU), fp16 (GPU only, half the download) or both",
    )
    pull_parser.add_argument(
        "--optional", action="store_true", help="a failure is one line and exit status 0"
    )
    pull_parser.add_argument("--quiet", action="store_true", help="no progress bars")
    verify_parser = actions.add_parser("verify", help="re-check installed models against their checksums")
    verify_parser.add_argument("names", nargs="*", metavar="NAME", help="default: everything installed")
    return parser


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    root = models_dir()
    if args.models_command == "list":
        return _list(registry, root)
    if args.models_command == "verify":
        return _verify(registry, root, args.names)
    return _pull(registry, root, args)


def resolve_names(registry: Registry, names: list[str], everything: bool = False) -> list[Model]:
    """Models for registry names, groups and pinned hub ids (``org/name@<commit>``)."""
    if everything:
        return [*registry.segmentation.values(), *registry.diffusion.values()]
    models: list[Model] = []
    for name in names or [registry.default]:
        pinned = _PINNED.match(name)
        if pinned:
            repo = pinned["repo"]
            models.append(registry.by_repo(repo) or _unregistered(repo, pinned["revision"]))
        elif "/" in name:
            raise InvalidSpec(f"pin a revision for {name!r}: {name}@<40-character commit hash>")
        else:
            models += registry.expand([name])
    return list({m.name: m for m in models}.values())


def _unregistered(repo: str, revision: str) -> DiffusionModel:
    return DiffusionModel(
        name=repo, repo=repo, revision=revision, setting="", licence="see its model card", good_at=""
    )


def _pull(registry: Registry, root: Path, args: argparse.Namespace) -> int:
    try:
        models = resolve_names(registry, args.names, args.all)
    except InvalidSpec as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    failed = 0
    for model in models:
        ready = _ready(model, root, args.variant)
        if ready is not None:
            print(f"{model.name}: already installed at {ready}")
            continue
        try:
            where = pull(model, root, variant=args.variant, progress=not args.quiet)
        except GenerationError as exc:
            failed += 1
            if args.optional:
                print(f"models: {model.name} is not installed ({exc}); {_without(model)}", file=sys.stderr)
            else:
                print(f"error: {exc}", file=sys.stderr)
            continue
        print(f"{model.name}: installed at {where}")
    return EXIT_OK if not failed or args.optional else EXIT_REFUSED


def _ready(model: Model, root: Path, variant: str) -> Path | None:
    """Where ``model`` is already installed as asked (checksums matched), else None."""
    if isinstance(model, SegmentationModel):
        return verified_onnx(model, root)
    folder = hub_folder(root, model.repo)
    record = read_marker(folder) or {}
    return folder if (record.get("revision"), record.get("variant")) == (model.revision, variant) else None


def _without(model: Model) -> str:
    if isinstance(model, SegmentationModel):
        return "cutouts use the classical segmenter until `make models` installs a model"
    return "diffusion jobs fail until it is installed"


def _verify(registry: Registry, root: Path, names: list[str]) -> int:
    from generation.weights.hub import folder_problems  # huggingface_hub takes a second to import

    if names:
        try:
            models = resolve_names(registry, names)
        except InvalidSpec as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_REFUSED
    else:
        known: list[Model] = [*registry.segmentation.values(), *registry.diffusion.values()]
        models = [m for m in known if _installed(m, root)]
        if not models:
            print(f"no models installed in {root}")
            return EXIT_OK
    bad = 0
    for model in models:
        if isinstance(model, SegmentationModel):
            path = find_onnx(model, root) or _any_copy(model, root)
            problems = (
                [onnx_problem(model, path)] if path else [f"not installed ({root / model.file} is missing)"]
            )
        else:
            problems = folder_problems(hub_folder(root, model.repo))
        problems = [p for p in problems if p]
        if problems:
            bad += 1
            print(
                f"BAD {model.name}: {'; '.join(problems)}; reinstall with `python -m generation models pull {model.name}`"
            )
        else:
            print(f"ok  {model.name}")
    return EXIT_PROBLEMS if bad else EXIT_OK


def _any_copy(model: SegmentationModel, root: Path) -> Path | None:
    """A file under the model's name even with the wrong size (so verify can say what is wrong)."""
    return next((p for p in onnx_candidates(model, root) if p.is_file()), None)


def _installed(model: Model, root: Path) -> bool:
    if isinstance(model, SegmentationModel):
        return _any_copy(model, root) is not None
    return read_marker(hub_folder(root, model.repo)) is not None


def _list(registry: Registry, root: Path) -> int:
    print(f"models folder: {root}  (SHOPASSETS_MODELS_DIR, else U2NET_HOME, else ~/.u2net)")
    print("\nsegmentation (auto uses the best installed; rank 1 is the best):")
    for m in registry.segmentation.values():
        default = " (default)" if m.name == registry.default else ""
        print(
            f"  {m.rank}  {m.name:<22} {m.size / 2**20:7.1f} MiB  {m.input_size:>4} px  "
            f"{_onnx_status(m, root):<10} {m.good_at}{default}; licence: {m.licence}"
        )
    print("\ndiffusion (GPU workers; each pinned to a hub commit):")
    for d in registry.diffusion.values():
        status = "installed" if read_marker(hub_folder(root, d.repo)) else "missing"
        print(f"     {d.name:<22} {status:<10} {d.repo}@{d.revision[:12]}  {d.good_at}; licence: {d.licence}")
    groups = "; ".join(f"{name} = {' '.join(members)}" for name, members in registry.groups.items())
    print(f"\ngroups: {groups}")
    return EXIT_OK


def _onnx_status(model: SegmentationModel, root: Path) -> str:
    if find_onnx(model, root) is not None:
        return "installed"
    if (root / (model.file + ".part")).exists():
        return "partial"
    if _any_copy(model, root) is not None:
        return "wrong size"
    return "missing"
