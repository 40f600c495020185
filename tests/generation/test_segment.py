"""generation.segment: the alpha, rembg, classical and auto segmenters."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation.config import GenerationConfig
from generation.errors import InvalidSpec, ModelUnavailable, SegmentationFailed
from generation.segment import available_segmenters, segment, weights_available
from generation.segment.rembg_sessions import clear_sessions, get_session
from tests.generation.fixtures_segment import (
    TINY_MODEL_NAME,
    camera_like,
    dark_silhouette,
    export_tiny_saliency,
    iou,
    mask_box,
    studio_photo,
)
from tests.synthetic import background, product_mask, product_photo, product_rgba

SIZE = (640, 800)


def _close(box: tuple[int, int, int, int], expected: tuple[int, int, int, int], px: int) -> bool:
    """Every edge of ``box`` (left, top, right, bottom) within ``px`` of ``expected``'s."""
    (x, y, w, h), (ex, ey, ew, eh) = box, expected
    return all(abs(a - b) <= px for a, b in [(x, ex), (y, ey), (x + w, ex + ew), (y + h, ey + eh)])


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rembg home (U2NET_HOME) holding only the tiny u2net-shaped model."""
    home = tmp_path_factory.mktemp("rembg_home")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's constant-folding notes
        export_tiny_saliency(home)
    return home


@pytest.fixture
def tiny_config(tiny_home: Path) -> GenerationConfig:
    return GenerationConfig(
        rembg_model=str(tiny_home / TINY_MODEL_NAME), rembg_home=str(tiny_home), device="cpu"
    )


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    home = tmp_path / "empty_rembg_home"
    home.mkdir()
    return home


@pytest.fixture
def session_spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """Records every rembg session construction (and still builds it); empty cache first."""
    import rembg

    clear_sessions()
    calls: list[tuple[str, dict]] = []
    real = rembg.new_session

    def spy(model_name: str, *args, **kwargs):
        calls.append((model_name, dict(kwargs)))
        return real(model_name, *args, **kwargs)

    monkeypatch.setattr(rembg, "new_session", spy)
    yield calls
    clear_sessions()


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records (and blocks) any socket connection and any pooch download."""
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


# --- classical --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "gradient"])
def test_classical_matches_known_mask(kind: str) -> None:
    # given a synthetic bottle on a studio backdrop, with its exact mask
    photo, mask = product_photo(SIZE, kind)

    # when
    seg = segment(photo, "classical")

    # then the matte is the bottle, the box is the bottle's, nothing is flagged
    score = iou(np.asarray(seg.matte) > 127, np.asarray(mask) > 127)
    print(f"classical {kind}: IoU {score:.4f}, box {seg.box} vs {mask_box(mask)}")
    assert score >= 0.95
    assert _close(seg.box, mask_box(mask), 2)
    assert seg.segmenter == "classical"
    assert seg.image.mode == "RGB" and seg.image.size == SIZE
    assert seg.matte.mode == "L" and seg.matte.size == SIZE
    assert np.array_equal(np.asarray(seg.image), np.asarray(photo))  # pixels untouched
    assert seg.confidence >= 0.9 and not seg.low_confidence
    assert seg.cutout.size == seg.box[2:]


@pytest.mark.parametrize("kind", ["plain", "gradient"])
def test_classical_on_camera_like_photo(kind: str) -> None:
    # given the bottle with a soft lens, sensor noise and JPEG artefacts
    photo, mask = studio_photo(SIZE, kind)

    # when
    seg = segment(photo, "classical")

    # then the soft edges stay within a few pixels of the true outline
    score = iou(np.asarray(seg.matte) > 127, np.asarray(mask) > 127)
    print(f"classical camera-like {kind}: IoU {score:.4f}, box {seg.box} vs {mask_box(mask)}")
    assert score >= 0.95
    # the soft edge (lens blur, JPEG ringing) reaches a few pixels past the hard outline
    assert _close(seg.box, mask_box(mask), 5)
    assert not seg.low_confidence


def test_classical_leaves_the_cast_shadow_out() -> None:
    # given the bottle casting a soft shadow on the backdrop to its lower right
    photo, mask = studio_photo(SIZE, "plain", shadow=0.35)

    # when
    seg = segment(photo, "classical")

    # then the shadow is not part of the product: the box ends where the bottle does
    score = iou(np.asarray(seg.matte) > 127, np.asarray(mask) > 127)
    print(f"classical with shadow: IoU {score:.4f}, box {seg.box} vs {mask_box(mask)}")
    assert score >= 0.95
    assert _close(seg.box, mask_box(mask), 5)


def test_classical_is_deterministic() -> None:
    # given
    photo, _ = studio_photo(SIZE, "gradient", seed=5)

    # when
    first, second = segment(photo, "classical"), segment(photo, "classical")

    # then
    assert np.array_equal(np.asarray(first.matte), np.asarray(second.matte))
    assert first.confidence == second.confidence


def test_classical_refuses_busy_background() -> None:
    # given the bottle in front of many coloured shapes
    photo, _ = product_photo(SIZE, "busy")

    # when / then
    with pytest.raises(SegmentationFailed) as info:
        segment(photo, "classical")
    assert "background is too busy" in str(info.value)
    assert info.value.code == "segmentation_failed"


@pytest.mark.parametrize("kind", ["plain", "gradient"])
def test_classical_refuses_photo_without_product(kind: str) -> None:
    # given only the backdrop: clean, and as a camera would take it
    for empty in (background(SIZE, kind), camera_like(background(SIZE, kind))):
        # when / then
        with pytest.raises(SegmentationFailed, match="no product found"):
            segment(empty, "classical")


def test_classical_refuses_product_filling_the_frame() -> None:
    # given a close-up where the bottle covers almost the whole photo
    photo, _ = product_photo(SIZE, "plain", scale=2.0)

    # when / then
    with pytest.raises(SegmentationFailed, match="fills the frame"):
        segment(photo, "classical")


def test_classical_refuses_a_mask() -> None:
    photo, mask = product_photo(SIZE, "plain")
    with pytest.raises(InvalidSpec, match="mask was given"):
        segment(photo, "classical", mask=mask)


# --- alpha ------------------------------------------------------------------------------


def test_alpha_uses_the_uploads_alpha_exactly() -> None:
    # given a cutout upload with its own transparency
    upload = product_rgba(SIZE)

    # when
    seg = segment(upload, "alpha")

    # then the matte is the alpha, byte for byte, and the colours are the upload's
    assert np.array_equal(np.asarray(seg.matte), np.asarray(upload.getchannel("A")))
    assert np.array_equal(np.asarray(seg.image), np.asarray(upload.convert("RGB")))
    assert seg.image.mode == "RGB"
    assert seg.box == mask_box(product_mask(SIZE))
    assert (seg.segmenter, seg.confidence, seg.low_confidence) == ("alpha", 1.0, False)


def test_alpha_refuses_fully_opaque_alpha() -> None:
    # given an RGBA photo whose alpha is 255 everywhere
    photo, _ = product_photo(SIZE, "plain")
    opaque = photo.convert("RGBA")

    # when / then
    with pytest.raises(SegmentationFailed, match="fully opaque"):
        segment(opaque, "alpha")


def test_alpha_refuses_fully_transparent_alpha() -> None:
    upload = product_rgba(SIZE)
    upload.putalpha(0)
    with pytest.raises(SegmentationFailed, match="fully transparent"):
        segment(upload, "alpha")


def test_alpha_refuses_photo_without_alpha() -> None:
    photo, _ = product_photo(SIZE, "plain")
    with pytest.raises(SegmentationFailed, match="no alpha channel"):
        segment(photo, "alpha")


def test_explicit_mask_becomes_the_matte() -> None:
    # given a plain RGB photo and the merchant's own mask for it
    photo, mask = product_photo(SIZE, "busy")

    # when
    seg = segment(photo, "alpha", mask=mask)

    # then
    assert np.array_equal(np.asarray(seg.matte), np.asarray(mask))
    assert seg.box == mask_box(mask)
    assert seg.segmenter == "alpha"


def test_explicit_mask_of_wrong_size_is_refused() -> None:
    # given a mask half the photo's size
    photo, _ = product_photo(SIZE, "plain")
    small = product_mask((320, 400))

    # when / then, whichever method receives it
    for method in ("alpha", "auto"):
        with pytest.raises(InvalidSpec, match="320x400 but the photo is 640x800"):
            segment(photo, method, mask=small)


def test_unknown_method_is_refused() -> None:
    photo, _ = product_photo(SIZE, "plain")
    with pytest.raises(InvalidSpec, match="unknown segmenter 'magic'"):
        segment(photo, "magic")


# --- rembg (tiny model) -----------------------------------------------------------------


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
        assert _close(seg.box, mask_box(mask), 6)
        assert seg.segmenter == f"rembg:custom:{TINY_MODEL_NAME}"
        assert (seg.matte.mode, seg.matte.size, seg.image.mode) == ("L", SIZE, "RGB")
        assert np.array_equal(np.asarray(seg.image), np.asarray(photo))
        assert np.array_equal(np.asarray(seg.matte), np.asarray(again.matte))

    assert len(session_spy) == 1  # one session for all four calls
    assert os.environ.get("U2NET_HOME") == env_before  # the home override did not leak


def test_rembg_session_is_cached_per_model_and_home(
    tiny_config: GenerationConfig, tiny_home: Path, tmp_path: Path, session_spy: list
) -> None:
    # given a second home holding a copy of the same model
    other_home = tmp_path / "other_home"
    other_home.mkdir()
    shutil.copy(tiny_home / TINY_MODEL_NAME, other_home / TINY_MODEL_NAME)
    other = tiny_config.with_overrides(
        rembg_home=str(other_home), rembg_model=str(other_home / TINY_MODEL_NAME)
    )

    # when
    first = get_session(tiny_config)
    second = get_session(tiny_config)
    third = get_session(other)

    # then the same config reuses its session; another home gets its own
    assert first is second
    assert third is not first
    assert [name for name, _ in session_spy] == ["u2net_custom", "u2net_custom"]
    assert session_spy[0][1]["model_path"] == str(tiny_home / TINY_MODEL_NAME)


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


@pytest.mark.parametrize("via", ["config", "environment"])
def test_rembg_missing_weights_raise_without_download(
    via: str,
    empty_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    session_spy: list,
    network_attempts: list,
) -> None:
    # given an empty rembg home, named in the config or in U2NET_HOME as rembg reads it
    if via == "config":
        config = GenerationConfig(rembg_model="u2net", rembg_home=str(empty_home))
    else:
        monkeypatch.setenv("U2NET_HOME", str(empty_home))
        config = GenerationConfig(rembg_model="u2net")
    photo, _ = product_photo(SIZE, "plain")

    # when / then
    assert weights_available(config) is False
    with pytest.raises(ModelUnavailable) as info:
        segment(photo, "rembg", config)
    assert "'u2net'" in str(info.value) and str(empty_home) in str(info.value)
    # and nothing was attempted: no connection, no download, no session, no files
    assert network_attempts == []
    assert session_spy == []
    assert list(empty_home.iterdir()) == []


def test_rembg_weights_found_where_rembg_keeps_them(empty_home: Path) -> None:
    # given weight files (contents irrelevant: nothing is loaded) in rembg's two layouts
    (empty_home / "models" / "isnet-general-use").mkdir(parents=True)
    (empty_home / "models" / "isnet-general-use" / "isnet-general-use.onnx").write_bytes(b"x")
    (empty_home / "birefnet-general.onnx").write_bytes(b"x")  # legacy flat layout
    config = GenerationConfig(rembg_home=str(empty_home))

    # when / then
    assert weights_available(config.with_overrides(rembg_model="isnet-general-use"))
    assert weights_available(config.with_overrides(rembg_model="birefnet-general"))
    assert not weights_available(config.with_overrides(rembg_model="u2net"))


def test_rembg_custom_model_outside_home_is_refused(
    tiny_home: Path, empty_home: Path, session_spy: list
) -> None:
    # given the tiny model, but a rembg home that does not contain it
    config = GenerationConfig(rembg_model=str(tiny_home / TINY_MODEL_NAME), rembg_home=str(empty_home))
    photo, _ = dark_silhouette(SIZE)

    # when / then
    assert weights_available(config) is False
    with pytest.raises(ModelUnavailable, match="outside the rembg home"):
        segment(photo, "rembg", config)
    assert session_spy == []


def test_rembg_unknown_model_name_is_refused() -> None:
    config = GenerationConfig(rembg_model="u2net-typo")
    with pytest.raises(InvalidSpec, match="unknown rembg model 'u2net-typo'"):
        weights_available(config)


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
    seg = segment(photo, config=GenerationConfig(rembg_home=str(empty_home)), mask=mask)
    assert seg.segmenter == "alpha"
    assert np.array_equal(np.asarray(seg.matte), np.asarray(mask))


def test_auto_falls_back_to_classical_without_weights(empty_home: Path, network_attempts: list) -> None:
    # given no rembg weights, and an RGBA photo whose alpha says nothing (all opaque)
    config = GenerationConfig(rembg_model="u2net", rembg_home=str(empty_home))
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


def test_matte_is_a_copy_not_the_callers_image() -> None:
    # given a merchant mask that the caller goes on editing
    photo, mask = product_photo(SIZE, "plain")
    seg = segment(photo, "alpha", mask=mask)

    # when
    mask.paste(0, (0, 0, *SIZE))
    photo.paste((0, 0, 0), (0, 0, *SIZE))

    # then the segmentation keeps what it was given
    assert seg.box == mask_box(product_mask(SIZE))
    assert np.asarray(seg.image).max() > 0
    assert isinstance(seg.cutout, Image.Image) and seg.cutout.mode == "RGBA"
