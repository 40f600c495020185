"""How a configured diffusion model (hub id or folder) becomes the folder it loads from.

Workers load only what ``python -m generation models pull`` installed: a hub id maps to
its folder under the models folder, and a model that is not installed fails at once,
naming the command that installs it, without a single network request. The tiny random
pipelines (tests/generation/tiny_models.py) check plumbing, not image quality.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from generation import models
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
