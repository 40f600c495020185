"""How a configured diffusion model (hub id or folder) becomes the folder it loads from.

Workers load only what ``python -m generation models pull`` installed: a hub id maps to
its folder under the models folder, and a model that is not installed fails at once,
naming the command that installs it, without a single network request. The tiny random
pipelines (tests/generation/tiny_models.py) check plumbing, not image quality.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from generation import models
from generation.cli import main
from generation.config import GenerationConfig
from generation.engines.diffusion import DiffusionEngine
from generation.errors import ModelUnavailable
from generation.specs import SceneSpec
from generation.types import Segmentation
from generation.weights import hub_folder
from generation.weights.registry import MARKER
from tests.generation.tiny_models import ModelFolders, build_sd15
from tests.loopback import LoopbackServer
from tests.synthetic import product_photo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def tiny_sd15(tmp_path_factory: pytest.TempPathFactory) -> ModelFolders:
    return build_sd15(tmp_path_factory.mktemp("tiny-sources") / "sd15")


@pytest.fixture
def hub() -> Iterator[LoopbackServer]:
    """A stand-in hub (HF_ENDPOINT) that records every request it gets."""
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records and refuses every outgoing connection except to loopback."""
    attempts: list[object] = []
    real = socket.socket.connect

    def connect(self, address):  # noqa: ANN001
        if isinstance(address, tuple) and address[0] in ("127.0.0.1", "::1", "localhost"):
            return real(self, address)
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def seg() -> Segmentation:
    photo, mask = product_photo((160, 200))
    x0, y0, x1, y1 = mask.getbbox()
    return Segmentation(image=photo, matte=mask, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")


def scene() -> SceneSpec:
    return SceneSpec(engine="diffusion", theme="marble_counter", count=1, seed=7, width=256, height=384)


def install(folder: Path, root: Path, repo: str, name: str) -> Path:
    """``folder`` installed under ``root`` as ``models pull`` leaves it (its record last)."""
    target = hub_folder(root, repo)
    shutil.copytree(folder, target)
    (target / MARKER).write_text(json.dumps({"name": name, "repo": repo, "revision": "0" * 40, "files": {}}))
    return target


def test_hub_ids_load_from_their_installed_folders(
    tiny_sd15: ModelFolders, tmp_path: Path, hub: LoopbackServer, no_network: list, monkeypatch
) -> None:
    # given the tiny pipeline installed under two hub ids, and a hub that would answer
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    root = tmp_path / "models"
    inpaint = install(tiny_sd15.pipeline, root, "test-org/tiny-inpaint", "tiny-inpaint")
    canny = install(tiny_sd15.controlnet, root, "test-org/tiny-canny", "tiny-canny")
    config = tiny_sd15.config(
        sd15_inpaint_model="test-org/tiny-inpaint",
        sd15_controlnet_canny="test-org/tiny-canny",
        models_dir=str(root),
    )
    models.clear_models()

    # when
    key = models.diffusion_key(config)
    images = DiffusionEngine(config).render(seg(), scene())

    # then the folders were loaded, and nothing went to the network
    assert key.inpaint_model == str(inpaint)
    assert key.controlnets == (("canny", str(canny)),)
    assert len(images) == 1 and images[0].fidelity is not None and images[0].fidelity.max_abs_diff == 0
    assert hub.requests == [] and no_network == []


@pytest.mark.parametrize(
    ("family", "first_missing", "name", "group"),
    [
        ("sd15", "lllyasviel/control_v11p_sd15_canny", "sd15-canny", "sd15"),
        ("sdxl", "diffusers/controlnet-canny-sdxl-1.0", "sdxl-canny", "sdxl"),
    ],
)
def test_a_model_that_is_not_installed_fails_fast_naming_the_command(
    family: str,
    first_missing: str,
    name: str,
    group: str,
    tmp_path: Path,
    hub: LoopbackServer,
    no_network: list,
    monkeypatch,
) -> None:
    # given the default hub ids, an empty models folder and a hub that would answer
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    config = GenerationConfig(device="cpu", diffusion_family=family, models_dir=str(tmp_path / "empty"))
    loaded = models.load_count()

    # when
    with pytest.raises(ModelUnavailable) as err:
        DiffusionEngine(config).render(seg(), scene())

    # then the message names the model, its setting and the exact commands
    setting = f"SHOPASSETS_{family.upper()}_CONTROLNET_CANNY"
    assert err.value.message == (
        f"model {first_missing} ({setting}) is not installed on this worker; install it with "
        f"`python -m generation models pull {name}` (or `make models MODELS={name}`); the whole {group} set: "
        f"`python -m generation models pull {group}`. Jobs never download weights."
    )
    # and nothing was loaded, asked of the hub, or attempted on the network
    assert models.load_count() == loaded
    assert hub.requests == [] and no_network == []


def test_an_installed_folder_that_cannot_load_names_the_reinstall_command(
    tmp_path: Path, tiny_sd15: ModelFolders
) -> None:
    # given an installed record over a folder whose weights are gone
    root = tmp_path / "models"
    canny = install(tiny_sd15.controlnet, root, "test-org/tiny-canny", "tiny-canny")
    for weights in canny.glob("*.safetensors"):
        weights.unlink()
    config = tiny_sd15.config(sd15_controlnet_canny="test-org/tiny-canny", models_dir=str(root))

    # when / then
    with pytest.raises(ModelUnavailable) as err:
        DiffusionEngine(config).render(seg(), scene())
    assert err.value.message.startswith(
        f"model folder {canny} (SHOPASSETS_SD15_CONTROLNET_CANNY) could not be loaded: "
    )
    assert err.value.message.endswith("; reinstall it with `python -m generation models pull tiny-canny`")


# --- models pull from a stand-in hub -----------------------------------------------------

REVISION = "c0ffee" + "0" * 34


def publish(hub: LoopbackServer, repo: str, folder: Path, *, tamper: str | None = None) -> None:
    """Serve ``folder`` as hub repository ``repo`` at REVISION, the way the hub's API does:
    a tree listing with sizes, git blob ids and LFS SHA-256s, and resolve URLs with ETags."""
    tree = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        blob = hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()
        sha256 = hashlib.sha256(data).hexdigest()
        lfs = name.endswith(".safetensors")
        entry = {"type": "file", "path": name, "size": len(data), "oid": blob}
        if lfs:
            entry["lfs"] = {"oid": sha256, "size": len(data), "pointerSize": 134}
        tree.append(entry)
        url = f"/{repo}/resolve/{REVISION}/{name}"
        hub.files[url] = bytes(b ^ 0xFF for b in data) if name == tamper else data
        hub.headers[url] = {"X-Repo-Commit": REVISION, "ETag": f'"{sha256 if lfs else blob}"'}
    hub.files[f"/api/models/{repo}/tree/{REVISION}"] = json.dumps(tree).encode()


@pytest.fixture
def tiny_registry(tmp_path: Path, hub: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Registry entries for the two tiny repositories (group "tiny"); returns the models folder."""
    entries = [
        {"name": "tiny-inpaint", "repo": "test-org/tiny-inpaint", "setting": "sd15_inpaint_model"},
        {"name": "tiny-canny", "repo": "test-org/tiny-canny", "setting": "sd15_controlnet_canny"},
    ]
    for entry in entries:
        entry.update(revision=REVISION, licence="test", good_at="tests")
    registry = tmp_path / "registry.json"
    registry.write_text(
        json.dumps({"diffusion": entries, "groups": {"tiny": ["tiny-inpaint", "tiny-canny"]}})
    )
    root = tmp_path / "models"
    monkeypatch.setenv("SHOPASSETS_MODEL_REGISTRY", str(registry))
    monkeypatch.setenv("SHOPASSETS_MODELS_DIR", str(root))
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    return root


def test_pull_installs_pinned_repositories_that_workers_then_load(
    tiny_sd15: ModelFolders, tiny_registry: Path, hub: LoopbackServer, no_network: list, capsys
) -> None:
    # given both tiny repositories on the stand-in hub
    publish(hub, "test-org/tiny-inpaint", tiny_sd15.pipeline)
    publish(hub, "test-org/tiny-canny", tiny_sd15.controlnet)

    # when
    status = main(["models", "pull", "tiny", "--quiet"])

    # then both folders are in place, checked, with nothing half-done left
    out = capsys.readouterr()
    assert status == 0, out.err
    inpaint = hub_folder(tiny_registry, "test-org/tiny-inpaint")
    canny = hub_folder(tiny_registry, "test-org/tiny-canny")
    assert out.out == f"tiny-inpaint: installed at {inpaint}\ntiny-canny: installed at {canny}\n"
    assert sorted(p.name for p in (tiny_registry / "diffusers").iterdir()) == [
        "test-org--tiny-canny",
        "test-org--tiny-inpaint",
    ]
    record = json.loads((inpaint / MARKER).read_text())
    assert (record["repo"], record["revision"]) == ("test-org/tiny-inpaint", REVISION)
    shipped = sorted(
        p.relative_to(tiny_sd15.pipeline).as_posix() for p in tiny_sd15.pipeline.rglob("*") if p.is_file()
    )
    assert sorted(record["files"]) == shipped
    assert main(["models", "verify", "tiny"]) == 0
    # every request went to the hub named by HF_ENDPOINT, on loopback
    assert hub.requests and no_network == []

    # when a worker renders with the hub ids configured
    asked = len(hub.requests)
    config = GenerationConfig(
        device="cpu",
        steps=2,
        generation_base=64,
        sd15_inpaint_model="test-org/tiny-inpaint",
        sd15_controlnet_canny="test-org/tiny-canny",
    )
    models.clear_models()
    images = DiffusionEngine(config).render(seg(), scene())

    # then it loaded the installed folders without asking anyone
    assert models.diffusion_key(config).inpaint_model == str(inpaint)
    assert len(images) == 1 and images[0].fidelity is not None and images[0].fidelity.max_abs_diff == 0
    assert len(hub.requests) == asked


def test_a_file_that_does_not_match_the_hub_checksum_is_not_installed(
    tiny_sd15: ModelFolders, tiny_registry: Path, hub: LoopbackServer, capsys
) -> None:
    # given a hub whose copy of the ControlNet weights is damaged
    weights = next(p.name for p in tiny_sd15.controlnet.glob("*.safetensors"))
    publish(hub, "test-org/tiny-canny", tiny_sd15.controlnet, tamper=weights)

    # when
    status = main(["models", "pull", "tiny-canny", "--quiet"])

    # then: refused in one line, nothing installed, the bad file gone from the partial folder
    err = capsys.readouterr().err
    assert status == 2
    assert err == (
        f"error: test-org/tiny-canny@{REVISION}: {weights} does not match its checksum; "
        "it was deleted, run the pull again\n"
    )
    assert not hub_folder(tiny_registry, "test-org/tiny-canny").exists()
    partial = hub_folder(tiny_registry, "test-org/tiny-canny").with_name("test-org--tiny-canny.partial")
    assert not (partial / weights).exists() and not (partial / MARKER).exists()
