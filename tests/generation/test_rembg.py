"""The rembg segmenter and ``auto``'s choice, on a tiny u2net-shaped ONNX model.

The tiny model (tests/generation/fixtures_segment.py) marks dark pixels: these tests
check plumbing, session reuse, the no-download guarantee and shapes, not matting quality.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from generation.config import GenerationConfig
from generation.errors import InvalidSpec, ModelUnavailable
from generation.segment import available_segmenters, rembg_sessions, segment, weights_available
from generation.segment.rembg_sessions import (
    CPU,
    CUDA,
    clear_sessions,
    get_session,
    install_status,
    onnx_providers,
)
from generation.weights import load_registry
from tests.generation.fixtures_segment import (
    TINY_MODEL_NAME,
    boxes_close,
    dark_silhouette,
    export_tiny_saliency,
    iou,
    mask_box,
)
from tests.synthetic import product_photo, product_rgba

SIZE = (640, 800)


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding only the tiny u2net-shaped model."""
    home = tmp_path_factory.mktemp("models")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's constant-folding notes
        export_tiny_saliency(home)
    return home


@pytest.fixture
def tiny_config(tiny_home: Path) -> GenerationConfig:
    return GenerationConfig(
        rembg_model=str(tiny_home / TINY_MODEL_NAME), models_dir=str(tiny_home), device="cpu"
    )


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    home = tmp_path / "empty_models"
    home.mkdir()
    return home


@pytest.fixture
def session_spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Records every rembg session built as (session name, file); empty cache first."""
    clear_sessions()
    calls: list[tuple[str, str]] = []
    real = rembg_sessions._build_session

    def spy(ref, providers):  # noqa: ANN001
        calls.append((ref.session_name, str(ref.path)))
        return real(ref, providers)

    monkeypatch.setattr(rembg_sessions, "_build_session", spy)
    yield calls
    clear_sessions()


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records (and blocks) any socket connection and any download through rembg's pooch."""
    import pooch

    attempts: list[str] = []

    def connect(self, address):  # noqa: ANN001
        attempts.append(f"connect {address!r}")
        raise OSError("network disabled in this test")

    def retrieve(url, *args, **kwargs):  # noqa: ANN001
        attempts.append(f"download {url}")
        raise OSError("downloads disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(pooch, "retrieve", retrieve)
    return attempts


def sized_file(path: Path, size: int) -> Path:
    """A file of exactly ``size`` bytes (sparse zeros): installed by size, wrong by checksum."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# --- rembg -----------------------------------------------------------------------------


def test_rembg_custom_model_matte_follows_the_model(tiny_config: GenerationConfig, session_spy: list) -> None:
    """Tiny-model test: checks plumbing, shapes, determinism and fidelity, not quality.

    The tiny model marks dark pixels, so for a dark bottle on a light backdrop the
    expected matte is the bottle's mask (up to rembg's 320x320 round trip).
    """
    env_before = os.environ.get("U2NET_HOME")

    for scale in (0.6, 0.35):
        # given a dark bottle of this size
        photo, mask = dark_silhouette(SIZE, scale=scale)

        # when
        seg = segment(photo, "rembg", tiny_config)
        again = segment(photo, "rembg", tiny_config)

        # then the matte is the bottle, where the model says, at the photo's size
        score = iou(np.asarray(seg.matte) > 127, np.asarray(mask) > 127)
        print(f"rembg tiny scale {scale}: IoU {score:.4f}, box {seg.box} vs {mask_box(mask)}")
        assert score >= 0.98
        # one model pixel is 2.5 photo pixels, and the model blurs by one
        assert boxes_close(seg.box, mask_box(mask), 6)
        assert seg.segmenter == f"rembg:custom:{TINY_MODEL_NAME}"
        assert (seg.matte.mode, seg.matte.size, seg.image.mode) == ("L", SIZE, "RGB")
        assert np.array_equal(np.asarray(seg.image), np.asarray(photo))
        assert np.array_equal(np.asarray(seg.matte), np.asarray(again.matte))

    # one session for all four calls, built from the file itself
    assert session_spy == [("u2net_custom", str(Path(tiny_config.rembg_model)))]
    assert os.environ.get("U2NET_HOME") == env_before  # the process environment is untouched


def test_rembg_session_is_cached_per_model_file(
    tiny_config: GenerationConfig, tiny_home: Path, tmp_path: Path, session_spy: list
) -> None:
    # given a second folder holding a copy of the same model, outside the models folder
    other = tmp_path / "elsewhere" / TINY_MODEL_NAME
    other.parent.mkdir()
    shutil.copy(tiny_home / TINY_MODEL_NAME, other)

    # when
    first = get_session(tiny_config)
    second = get_session(tiny_config)
    third = get_session(tiny_config.with_overrides(rembg_model=str(other)))

    # then the same file reuses its session; another file gets its own
    assert first is second
    assert third is not first
    assert session_spy == [("u2net_custom", str(tiny_home / TINY_MODEL_NAME)), ("u2net_custom", str(other))]


def test_rembg_session_built_once_under_concurrent_calls(
    tiny_config: GenerationConfig, session_spy: list
) -> None:
    # given eight threads asking for the session at the same moment
    results: list[object] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        results.append(get_session(tiny_config))

    threads = [threading.Thread(target=ask) for _ in range(8)]

    # when
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then
    assert len(session_spy) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)


@pytest.mark.parametrize("via", ["config", "SHOPASSETS_MODELS_DIR", "U2NET_HOME"])
def test_rembg_missing_weights_raise_without_download(
    via: str,
    empty_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    session_spy: list,
    network_attempts: list,
) -> None:
    # given an empty models folder, named in the config or in the environment
    monkeypatch.delenv("SHOPASSETS_MODELS_DIR", raising=False)
    if via == "config":
        config = GenerationConfig(rembg_model="u2net", models_dir=str(empty_home))
    else:
        monkeypatch.setenv(via, str(empty_home))
        config = GenerationConfig.from_env().with_overrides(rembg_model="u2net")
    photo, _ = product_photo(SIZE, "plain")

    # when / then
    assert weights_available(config) is False
    with pytest.raises(ModelUnavailable) as info:
        segment(photo, "rembg", config)
    assert "'u2net'" in str(info.value) and str(empty_home) in str(info.value)
    assert "`python -m generation models pull u2net`" in str(info.value)
    # and nothing was attempted: no connection, no download, no session, no files
    assert network_attempts == []
    assert session_spy == []
    assert list(empty_home.iterdir()) == []


def test_rembg_finds_files_in_both_layouts_by_size(empty_home: Path) -> None:
    # given files of the registry's sizes in the flat layout and in rembg's per-model layout,
    # and a u2net file of the wrong size
    registry = load_registry()
    sized_file(
        empty_home / "models" / "isnet-general-use" / "isnet-general-use.onnx",
        registry.get("isnet-general-use").size,
    )
    sized_file(empty_home / "u2netp.onnx", registry.get("u2netp").size)
    sized_file(empty_home / "u2net.onnx", 1000)
    config = GenerationConfig(models_dir=str(empty_home))

    # when / then: a size check finds the first two, not the third
    assert weights_available(config.with_overrides(rembg_model="isnet-general-use"))
    assert weights_available(config.with_overrides(rembg_model="u2netp"))
    assert not weights_available(config.with_overrides(rembg_model="u2net"))
    assert weights_available(config)  # auto: some model is installed


def test_rembg_refuses_a_file_whose_checksum_does_not_match(
    empty_home: Path, session_spy: list, network_attempts: list
) -> None:
    # given a u2netp file of the right size but the wrong bytes
    sized_file(empty_home / "u2netp.onnx", load_registry().get("u2netp").size)
    config = GenerationConfig(rembg_model="u2netp", models_dir=str(empty_home))
    photo, mask = product_photo(SIZE, "gradient")

    # when / then: listed by size, refused by checksum, with the command that fixes it
    assert weights_available(config) is True
    assert weights_available(config, verify=True) is False
    with pytest.raises(
        ModelUnavailable,
        match="does not match its checksums; reinstall it with `python -m generation models pull u2netp`",
    ):
        segment(photo, "rembg", config)
    # auto (with auto's model choice) goes on with the classical segmenter
    seg = segment(photo, "auto", config.with_overrides(rembg_model="auto"))
    assert seg.segmenter == "classical"
    assert session_spy == [] and network_attempts == []


def test_rembg_custom_model_file_that_does_not_exist(empty_home: Path, session_spy: list) -> None:
    config = GenerationConfig(rembg_model=str(empty_home / "mine.onnx"), models_dir=str(empty_home))
    photo, _ = dark_silhouette(SIZE)
    with pytest.raises(ModelUnavailable, match=f"rembg model file {empty_home / 'mine.onnx'} does not exist"):
        segment(photo, "rembg", config)
    assert session_spy == []


def test_rembg_unknown_model_name_is_refused() -> None:
    config = GenerationConfig(rembg_model="u2net-typo")
    with pytest.raises(InvalidSpec, match="unknown rembg model 'u2net-typo'"):
        weights_available(config)


# --- ONNX Runtime providers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "available", "expected"),
    [
        ("auto", [CPU], [CPU]),
        ("auto", [CUDA, CPU], [CUDA, CPU]),
        ("cpu", [CUDA, CPU], [CPU]),
        ("cuda", [CUDA, CPU], [CUDA, CPU]),
        ("cuda:0", [CUDA, CPU], [CUDA, CPU]),
        ("cuda:2", [CUDA, CPU], [(CUDA, {"device_id": 2}), CPU]),
        ("cuda", [CPU], [CPU]),  # onnxruntime without GPU support: cutouts still run
        ("cuda:1", ["TensorrtExecutionProvider", CPU], [CPU]),
    ],
)
def test_onnx_providers(device: str, available: list[str], expected: list) -> None:
    assert onnx_providers(device, available) == expected


# --- auto -------------------------------------------------------------------------------


def test_auto_uses_alpha_for_a_cutout_upload(tiny_config: GenerationConfig) -> None:
    # given an RGBA cutout, even with rembg weights present
    upload = product_rgba(SIZE)

    # when
    seg = segment(upload, config=tiny_config)

    # then
    assert seg.segmenter == "alpha"
    assert np.array_equal(np.asarray(seg.matte), np.asarray(upload.getchannel("A")))


def test_auto_uses_alpha_for_an_explicit_mask(empty_home: Path) -> None:
    photo, mask = product_photo(SIZE, "busy")
    seg = segment(photo, config=GenerationConfig(models_dir=str(empty_home)), mask=mask)
    assert seg.segmenter == "alpha"
    assert np.array_equal(np.asarray(seg.matte), np.asarray(mask))


def test_auto_falls_back_to_classical_without_weights(empty_home: Path, network_attempts: list) -> None:
    # given no rembg weights, and an RGBA photo whose alpha says nothing (all opaque)
    config = GenerationConfig(models_dir=str(empty_home))
    photo, mask = product_photo(SIZE, "gradient")

    # when
    seg = segment(photo.convert("RGBA"), config=config)

    # then
    assert seg.segmenter == "classical"
    assert iou(np.asarray(seg.matte) > 127, np.asarray(mask) > 127) >= 0.95
    assert network_attempts == []
    assert available_segmenters(config) == ["auto", "alpha", "classical"]


def test_auto_uses_rembg_when_weights_are_present(tiny_config: GenerationConfig) -> None:
    # given the tiny model's weights on disk
    photo, mask = dark_silhouette(SIZE)

    # when
    seg = segment(photo, config=tiny_config)

    # then
    assert seg.segmenter == f"rembg:custom:{TINY_MODEL_NAME}"
    assert iou(np.asarray(seg.matte) > 127, np.asarray(mask) > 127) >= 0.98
    assert available_segmenters(tiny_config) == ["auto", "alpha", "rembg", "classical"]


# --- what the dashboard shows -----------------------------------------------------------


def test_install_status_names_the_active_segmenter_and_a_better_one(empty_home: Path) -> None:
    registry = load_registry()
    config = GenerationConfig(models_dir=str(empty_home))

    # nothing installed: classical, and the default model to install
    assert install_status(config) == rembg_sessions.InstallStatus(
        active="classical",
        installed=(),
        better=registry.default,
        command=f"python -m generation models pull {registry.default}",
    )

    # the default installed: it is active; the best model is the better one
    sized_file(empty_home / f"{registry.default}.onnx", registry.get(registry.default).size)
    best = next(iter(registry.segmentation))
    assert install_status(config) == rembg_sessions.InstallStatus(
        active=f"rembg:{registry.default}",
        installed=(registry.default,),
        better=best,
        command=f"python -m generation models pull {best}",
    )

    # a model pinned in the configuration but missing: that one is what to install
    pinned = install_status(config.with_overrides(rembg_model="u2net"))
    assert (pinned.active, pinned.better) == ("classical", "u2net")

    # the best installed too: nothing better to offer
    sized_file(empty_home / f"{best}.onnx", registry.get(best).size)
    assert install_status(config) == rembg_sessions.InstallStatus(
        active=f"rembg:{best}", installed=(best, registry.default), better=None, command=None
    )
