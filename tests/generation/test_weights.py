"""``python -m generation models``: install segmentation weights from a loopback mirror.

A real HTTP server on 127.0.0.1 (tests/loopback.py) plays the mirror named by
``SHOPASSETS_MODEL_MIRROR``; the model it serves is the tiny u2net-shaped ONNX model the
tests build, registered under the name ``u2netp`` by an extra registry file
(``SHOPASSETS_MODEL_REGISTRY``). Nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation.cli import main
from generation.config import GenerationConfig
from generation.segment import weights_available
from generation.segment.rembg_sessions import clear_sessions
from generation.weights import load_registry
from generation.weights.hub import select_files
from tests.generation.fixtures_segment import dark_silhouette, export_tiny_saliency, iou
from tests.loopback import LoopbackServer, Request, closed_port

NAME = "u2netp"
FILE = f"/mirror/{NAME}.onnx"


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's constant-folding notes
        return export_tiny_saliency(tmp_path_factory.mktemp("tiny-onnx")).read_bytes()


@pytest.fixture
def mirror() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def register(
    tmp_path: Path, models: Path, mirror: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., None]:
    """Register ``data`` as model ``u2netp`` (its size and checksums) and point the
    models folder and the mirror at this test's own."""

    def setup(data: bytes, *, mirror_url: str | None = None) -> None:
        entry = {
            "name": NAME,
            "file": f"{NAME}.onnx",
            "url": f"{mirror.url}/official/{NAME}.onnx",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "md5": hashlib.md5(data).hexdigest(),
            "licence": "test",
            "input_size": 320,
            "good_at": "tests",
            "rank": 5,
        }
        registry = tmp_path / "registry.json"
        registry.write_text(json.dumps({"segmentation": [entry]}))
        monkeypatch.setenv("SHOPASSETS_MODEL_REGISTRY", str(registry))
        monkeypatch.setenv("SHOPASSETS_MODELS_DIR", str(models))
        monkeypatch.setenv("SHOPASSETS_MODEL_MIRROR", mirror_url or f"{mirror.url}/mirror")
        clear_sessions()

    yield setup
    clear_sessions()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_pull_from_mirror_then_auto_cuts_out_with_it(
    register, mirror: LoopbackServer, models: Path, tiny_onnx: bytes, tmp_path: Path, capsys
) -> None:
    """Tiny-model test: a real cutout through the installed file checks the plumbing, not quality."""
    # given the mirror has the model, and nothing is installed
    register(tiny_onnx)
    mirror.files[FILE] = tiny_onnx
    photo, mask = dark_silhouette((640, 800))
    photo.save(tmp_path / "bottle.png")
    assert weights_available(GenerationConfig.from_env()) is False

    # when
    pulled = main(["models", "pull", NAME, "--quiet"])
    out = capsys.readouterr()

    # then the file is in place, whole, with nothing else left behind
    assert pulled == 0, out.err
    assert out.out == f"{NAME}: installed at {models / f'{NAME}.onnx'}\n"
    assert (models / f"{NAME}.onnx").read_bytes() == tiny_onnx
    assert files_in(models) == [f"{NAME}.onnx"]
    assert mirror.requests == [Request("GET", FILE, None)]

    # when: a cutout with the default segmenter
    cut = main(["cutout", str(tmp_path / "bottle.png"), "--out", str(tmp_path / "out"), "--quiet"])

    # then auto used the installed model, and its matte is the bottle
    assert cut == 0, capsys.readouterr().err
    capsys.readouterr()
    side = json.loads((tmp_path / "out" / "bottle.json").read_text())
    assert side["segmenter"] == f"rembg:{NAME}"
    matte = np.asarray(Image.open(tmp_path / "out" / "bottle_mask.png"))
    assert iou(matte > 127, np.asarray(mask) > 127) >= 0.98

    # and a second pull finds it installed without a request
    assert main(["models", "pull", NAME, "--quiet"]) == 0
    assert capsys.readouterr().out == f"{NAME}: already installed at {models / f'{NAME}.onnx'}\n"
    assert len(mirror.requests) == 1


def test_bad_checksum_keeps_nothing(
    register, mirror: LoopbackServer, models: Path, tiny_onnx: bytes, capsys
) -> None:
    # given a mirror whose copy has one byte changed (same size)
    register(tiny_onnx)
    tampered = bytearray(tiny_onnx)
    tampered[len(tampered) // 2] ^= 0xFF
    mirror.files[FILE] = bytes(tampered)

    # when
    status = main(["models", "pull", NAME, "--quiet"])

    # then: refused in one line, and no file, no partial file is kept
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert f"error: {NAME} from {mirror.url}{FILE}: " in err
    assert "does not match the u2netp checksums" in err and err.endswith("the file was deleted\n")
    assert files_in(models) == []
    assert weights_available(GenerationConfig.from_env()) is False


def test_interrupted_download_resumes_with_range(
    register, mirror: LoopbackServer, models: Path, capsys
) -> None:
    # given a 3 MB file whose first transfer breaks off after 1.5 MB
    data = np.random.default_rng(3).bytes(3 * 2**20)
    register(data)
    mirror.files[FILE] = data
    mirror.drop_after[FILE] = 3 * 2**19

    # when
    status = main(["models", "pull", NAME, "--quiet"])

    # then the second request asked for the rest only, and the file is whole
    assert status == 0, capsys.readouterr().err
    first, second = mirror.requests
    assert first == Request("GET", FILE, None)
    assert second.method == "GET" and second.range is not None
    resumed_at = int(second.range.removeprefix("bytes=").removesuffix("-"))
    assert second.range == f"bytes={resumed_at}-" and 0 < resumed_at <= 3 * 2**19
    assert (models / f"{NAME}.onnx").read_bytes() == data
    assert files_in(models) == [f"{NAME}.onnx"]


def test_a_partial_file_from_an_earlier_run_is_resumed(
    register, mirror: LoopbackServer, models: Path
) -> None:
    # given the first 1000 bytes from an earlier, interrupted run
    data = np.random.default_rng(4).bytes(200_000)
    register(data)
    mirror.files[FILE] = data
    models.mkdir()
    (models / f"{NAME}.onnx.part").write_bytes(data[:1000])

    # when
    status = main(["models", "pull", NAME, "--quiet"])

    # then only the rest was asked for
    assert status == 0
    assert mirror.requests == [Request("GET", FILE, "bytes=1000-")]
    assert (models / f"{NAME}.onnx").read_bytes() == data


def test_missing_file_on_the_mirror(
    register, mirror: LoopbackServer, models: Path, tiny_onnx: bytes, capsys
) -> None:
    # given a mirror without the file
    register(tiny_onnx)

    # when
    status = main(["models", "pull", NAME, "--quiet"])

    # then
    assert status == 2
    assert capsys.readouterr().err == f"error: {mirror.url}{FILE} answered HTTP 404 Not Found for {NAME}\n"
    assert mirror.requests == [Request("GET", FILE, None)]
    assert files_in(models) == []


@pytest.mark.parametrize("optional", [False, True])
def test_no_network(register, models: Path, tiny_onnx: bytes, optional: bool, capsys) -> None:
    # given a mirror address where nothing listens (connections are refused)
    port = closed_port()
    register(tiny_onnx, mirror_url=f"http://127.0.0.1:{port}/mirror")

    # when
    status = main(["models", "pull", NAME, "--quiet", *(["--optional"] if optional else [])])

    # then one line says so; --optional (make run) goes on with exit status 0
    err = capsys.readouterr().err
    line = (
        f"cannot reach 127.0.0.1:{port} for {NAME} (connection refused); this machine looks offline: "
        f"set SHOPASSETS_MODEL_MIRROR to a mirror or a folder that has {NAME}.onnx, "
        f"or copy the file to {models / f'{NAME}.onnx'}"
    )
    if optional:
        assert status == 0
        assert err == (
            f"models: {NAME} is not installed ({line}); cutouts use the classical segmenter "
            "until `make models` installs a model\n"
        )
    else:
        assert status == 2
        assert err == f"error: {line}\n"
    assert files_in(models) == []


def test_a_local_folder_works_as_a_mirror(register, models: Path, tiny_onnx: bytes, tmp_path: Path) -> None:
    # given another machine's models folder, copied here (air-gapped install)
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / f"{NAME}.onnx").write_bytes(tiny_onnx)
    register(tiny_onnx, mirror_url=str(usb))

    # when
    status = main(["models", "pull", NAME, "--quiet"])

    # then
    assert status == 0
    assert (models / f"{NAME}.onnx").read_bytes() == tiny_onnx
    assert weights_available(GenerationConfig.from_env(), verify=True) is True


def test_verify_reports_a_corrupted_file(
    register, mirror: LoopbackServer, models: Path, tiny_onnx: bytes, capsys
) -> None:
    # given the model installed, then damaged on disk (same size)
    register(tiny_onnx)
    mirror.files[FILE] = tiny_onnx
    assert main(["models", "pull", NAME, "--quiet"]) == 0
    assert main(["models", "verify"]) == 0
    assert capsys.readouterr().out.endswith(f"ok  {NAME}\n")
    damaged = bytearray(tiny_onnx)
    damaged[100] ^= 0x01
    (models / f"{NAME}.onnx").write_bytes(bytes(damaged))

    # when
    status = main(["models", "verify"])

    # then
    out = capsys.readouterr().out
    assert status == 1
    assert out.startswith(f"BAD {NAME}: {models / f'{NAME}.onnx'} does not match the {NAME} checksums")
    assert out.endswith(f"reinstall with `python -m generation models pull {NAME}`\n")
    # and auto no longer picks it
    assert weights_available(GenerationConfig.from_env()) is True  # by size
    assert weights_available(GenerationConfig.from_env(), verify=True) is False


def test_unknown_names_are_refused(capsys) -> None:
    assert main(["models", "pull", "u3net"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: unknown model 'u3net'; choose one of birefnet-general, "
    )
    assert main(["models", "pull", "someone/some-model"]) == 2
    assert capsys.readouterr().err == (
        "error: pin a revision for 'someone/some-model': someone/some-model@<40-character commit hash>\n"
    )


def test_registry_entries_are_complete() -> None:
    registry = load_registry()
    for model in registry.segmentation.values():
        assert model.url.startswith("https://github.com/danielgatis/rembg/releases/download/v0.0.0/")
        assert len(model.sha256) == 64 and len(model.md5) == 32 and model.size > 0
    for model in registry.diffusion.values():
        assert len(model.revision) == 40 and int(model.revision, 16) >= 0
    assert registry.default in registry.segmentation
    assert {"u2net", "isnet-general-use", "birefnet-general", "birefnet-general-lite"} <= set(
        registry.segmentation
    )
    assert [m.rank for m in registry.segmentation.values()] == sorted(
        m.rank for m in registry.segmentation.values()
    )


# --- which hub files a diffusion pull takes ---------------------------------------------

SD_REPO = [
    ".gitattributes",
    "README.md",
    "model_index.json",
    "sd-v1-5-inpainting.ckpt",
    "sd-v1-5-inpainting.safetensors",  # a single-file checkpoint at a pipeline's root
    "safety_checker/config.json",
    "safety_checker/model.safetensors",
    "scheduler/scheduler_config.json",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "text_encoder/model.fp16.safetensors",
    "text_encoder/pytorch_model.bin",
    "tokenizer/vocab.json",
    "unet/config.json",
    "unet/diffusion_pytorch_model.bin",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.bin",  # a folder with pickles only
    "big/config.json",
    "big/diffusion_pytorch_model-00001-of-00002.safetensors",
    "big/diffusion_pytorch_model-00002-of-00002.safetensors",
    "big/diffusion_pytorch_model.safetensors.index.json",
    "big/diffusion_pytorch_model.bin.index.json",
    "big/diffusion_pytorch_model-00001-of-00002.bin",
]
COMMON = [
    ".gitattributes",
    "README.md",
    "model_index.json",
    "scheduler/scheduler_config.json",
    "text_encoder/config.json",
]


@pytest.mark.parametrize(
    ("variant", "weights"),
    [
        (
            "full",
            [
                "text_encoder/model.safetensors",
                "unet/diffusion_pytorch_model.safetensors",
                "vae/diffusion_pytorch_model.bin",
            ],
        ),
        (
            "fp16",
            [
                "text_encoder/model.fp16.safetensors",
                "unet/diffusion_pytorch_model.fp16.safetensors",
                "vae/diffusion_pytorch_model.bin",
            ],
        ),
    ],
)
def test_select_files_prefers_safetensors_and_one_precision(variant: str, weights: list[str]) -> None:
    picked = select_files(SD_REPO, variant, skip=["safety_checker/*"])
    shards = [
        "big/diffusion_pytorch_model-00001-of-00002.safetensors",
        "big/diffusion_pytorch_model-00002-of-00002.safetensors",
        "big/diffusion_pytorch_model.safetensors.index.json",
    ]
    expected = [
        *COMMON,
        "tokenizer/vocab.json",
        "unet/config.json",
        "vae/config.json",
        "big/config.json",
        *weights,
        *shards,
    ]
    assert sorted(picked) == sorted(expected)


def test_select_files_only_takes_exactly_those() -> None:
    assert select_files(SD_REPO, "full", only=["sd-v1-5-inpainting.ckpt"]) == ["sd-v1-5-inpainting.ckpt"]
