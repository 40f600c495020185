"""The command line, run as merchants run it (a subprocess), plus the output writer and
the pipeline it drives, on synthetic photos with exact masks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation.config import GenerationConfig
from generation.errors import InvalidSpec, ModelUnavailable
from generation.pipelines import OutputRequest, run_outputs
from generation.sidecar import write_outputs
from generation.specs import PackshotSpec
from generation.types import RenderedImage
from tests.synthetic import product_photo, product_rgba

REPO = Path(__file__).resolve().parents[2]
SIDECAR_KEYS = {"segmenter", "engine", "theme", "seed", "product_box", "fidelity", "file"}


def run_cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "generation", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    photo, mask = product_photo((480, 600), "gradient")
    photo.save(folder / "bottle.png")
    photo.save(folder / "bottle.jpg", quality=95)
    mask.save(folder / "bottle_exact_mask.png")
    product_rgba((480, 600)).save(folder / "cutout_upload.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    return folder


@pytest.fixture(scope="module")
def cutout_run(photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("cutout_out")
    done = run_cli("cutout", photos / "bottle.png", "--out", out, "--quiet", cwd=photos)
    return done, out


@pytest.fixture(scope="module")
def packshot_run(photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("packshot_out")
    done = run_cli("packshot", photos / "bottle.jpg", "--out", out, "--size", 1600, "--quiet", cwd=photos)
    return done, out


# -- cutout ------------------------------------------------------------------------


def test_cutout_writes_the_cutout_the_full_size_mask_and_sidecars(cutout_run):
    # given the cutout command ran on bottle.png
    done, out = cutout_run

    # then
    assert done.returncode == 0, done.stderr
    assert _files(out) == ["bottle.json", "bottle.png", "bottle_mask.json", "bottle_mask.png"]
    assert done.stdout.split() == [str(out / "bottle.png"), str(out / "bottle_mask.png")]
    cutout = Image.open(out / "bottle.png")
    mask = Image.open(out / "bottle_mask.png")
    assert cutout.mode == "RGBA"
    assert (mask.mode, mask.size) == ("L", (480, 600))


def test_cutout_sidecars_carry_the_documented_keys(cutout_run):
    # given
    _, out = cutout_run
    cutout = Image.open(out / "bottle.png")

    # when
    side = json.loads((out / "bottle.json").read_text())
    mask_side = json.loads((out / "bottle_mask.json").read_text())

    # then
    assert SIDECAR_KEYS <= side.keys() and SIDECAR_KEYS <= mask_side.keys()
    assert side["file"] == "bottle.png" and mask_side["file"] == "bottle_mask.png"
    assert side["segmenter"] == "classical"  # auto on an opaque photo, no rembg weights
    assert (side["engine"], side["theme"], side["seed"]) == ("cutout", None, None)
    assert side["product_box"] == {"x": 0, "y": 0, "width": cutout.width, "height": cutout.height}
    assert side["fidelity"]["max_abs_diff"] == 0 and side["fidelity"]["identical"] is True
    assert mask_side["fidelity"] is None


def test_cutout_pixels_are_the_photos_pixels(cutout_run, photos):
    # given
    _, out = cutout_run
    photo = np.asarray(Image.open(photos / "bottle.png").convert("RGB"))
    box = json.loads((out / "bottle.json").read_text())["source_box"]
    cutout = np.asarray(Image.open(out / "bottle.png"))

    # then wherever the cutout is opaque it is the photo
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    opaque = cutout[..., 3] == 255
    assert opaque.sum() > 30_000
    assert np.array_equal(cutout[..., :3][opaque], photo[y : y + h, x : x + w][opaque])


def test_alpha_segmenter_uses_the_uploads_own_transparency(photos, tmp_path):
    # when
    done = run_cli(
        "cutout",
        photos / "cutout_upload.png",
        "--segmenter",
        "alpha",
        "--out",
        tmp_path,
        "--quiet",
        cwd=photos,
    )

    # then the mask is the upload's alpha, and the sidecar says so
    assert done.returncode == 0, done.stderr
    side = json.loads((tmp_path / "cutout_upload.json").read_text())
    assert side["segmenter"] == "alpha"
    mask = Image.open(tmp_path / "cutout_upload_mask.png")
    upload_alpha = Image.open(photos / "cutout_upload.png").getchannel("A")
    assert mask.tobytes() == upload_alpha.tobytes()


def test_merchant_mask_is_used_for_the_cutout(photos, tmp_path):
    # when
    done = run_cli(
        "cutout",
        photos / "bottle.jpg",
        "--mask",
        photos / "bottle_exact_mask.png",
        "--out",
        tmp_path,
        "--quiet",
        cwd=photos,
    )

    # then
    assert done.returncode == 0, done.stderr
    mask = Image.open(tmp_path / "bottle_mask.png")
    assert mask.tobytes() == Image.open(photos / "bottle_exact_mask.png").tobytes()


# -- packshot and check ------------------------------------------------------------


def test_packshot_passes_check(packshot_run, photos):
    # given
    done, out = packshot_run
    assert done.returncode == 0, done.stderr
    assert _files(out) == ["bottle_packshot.json", "bottle_packshot.png"]

    # when
    checked = run_cli("check", out / "bottle_packshot.png", cwd=photos)

    # then
    assert checked.returncode == 0, checked.stdout
    report = json.loads(checked.stdout)
    assert report["ok"] is True and report["problems"] == []
    assert (report["width"], report["height"]) == (1600, 1600)
    assert abs(report["fill"] - 0.85) < 0.01  # a soft matte edge reads as white
    side = json.loads((out / "bottle_packshot.json").read_text())
    assert (side["engine"], side["fill"], side["shadow"]) == ("packshot", 0.85, True)
    assert side["fidelity"]["max_abs_diff"] == 0


def test_check_on_a_raw_photo_exits_1_with_problems(photos):
    # when
    checked = run_cli("check", photos / "bottle.png", cwd=photos)

    # then
    assert checked.returncode == 1
    report = json.loads(checked.stdout)
    assert report["ok"] is False
    assert report["problems"][0] == (
        "The image is 480 x 600 px; marketplaces want at least 1600 px on each side."
    )
    assert any("background is not pure white" in p for p in report["problems"])


def test_packshot_as_jpeg_without_shadow(photos, tmp_path):
    # when
    done = run_cli(
        "packshot",
        photos / "bottle.png",
        "--out",
        tmp_path,
        "--size",
        1600,
        "--no-shadow",
        "--format",
        "jpg",
        "--quiet",
        cwd=photos,
    )

    # then
    assert done.returncode == 0, done.stderr
    assert _files(tmp_path) == ["bottle_packshot.jpg", "bottle_packshot.json"]
    assert Image.open(tmp_path / "bottle_packshot.jpg").format == "JPEG"
    assert json.loads((tmp_path / "bottle_packshot.json").read_text())["shadow"] is False


# -- refusals: one line, exit 2, nothing written -------------------------------------


def test_corrupt_input_exits_2_with_one_clear_line_and_writes_nothing(photos, tmp_path):
    # given an output folder that already exists and is empty
    out = tmp_path / "out"
    out.mkdir()

    # when
    done = run_cli("cutout", photos / "broken.jpg", "--out", out, cwd=photos)

    # then
    assert done.returncode == 2
    assert done.stderr == "error: The file is damaged or not a complete image.\n"
    assert done.stdout == ""
    assert _files(out) == []


def test_unusable_segmenter_exits_2_and_writes_nothing(photos, tmp_path):
    # when: alpha asked of an opaque JPEG
    done = run_cli(
        "cutout",
        photos / "bottle.jpg",
        "--segmenter",
        "alpha",
        "--out",
        tmp_path / "o",
        "--quiet",
        cwd=photos,
    )

    # then
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


def test_refuses_to_overwrite_the_input_photo(photos, tmp_path):
    # given a PNG photo in the output folder itself
    photo = tmp_path / "shot.png"
    Image.open(photos / "bottle.png").save(photo)
    before = photo.read_bytes()

    # when
    done = run_cli("cutout", photo, "--out", tmp_path, "--quiet", cwd=tmp_path)

    # then
    assert done.returncode == 2
    assert "would overwrite" in done.stderr
    assert photo.read_bytes() == before
    assert _files(tmp_path) == ["shot.png"]


def test_bad_size_is_an_argument_error(photos, tmp_path):
    # when
    done = run_cli("scene", photos / "bottle.png", "--size", "big", "--out", tmp_path, cwd=photos)

    # then
    assert done.returncode == 2
    assert "expected WxH such as 1600x1200" in done.stderr
    assert _files(tmp_path) == []


# -- scenes (studio engine) --------------------------------------------------


def test_scene_writes_n_images_with_sidecars(photos, tmp_path):
    # when
    done = run_cli(
        "scene",
        photos / "bottle.png",
        "-n",
        2,
        "--size",
        "512x512",
        "--seed",
        5,
        "--out",
        tmp_path,
        "--quiet",
        cwd=photos,
    )

    # then
    assert done.returncode == 0, done.stderr
    images = sorted(p for p in tmp_path.iterdir() if p.suffix == ".png")
    assert len(images) == 2
    for path in images:
        assert Image.open(path).size == (512, 512)
        side = json.loads(path.with_suffix(".json").read_text())
        assert SIDECAR_KEYS <= side.keys()
        assert (side["engine"], side["theme"], side["segmenter"]) == ("studio", "studio_sweep", "classical")
        assert side["fidelity"]["max_abs_diff"] == 0
        assert side["file"] == path.name


def test_missing_engine_module_is_model_unavailable_before_segmenting(monkeypatch):
    # given a registry entry whose module is not installed, and a spy on segmentation
    import generation.engines
    import generation.segment

    monkeypatch.setitem(generation.engines.ENGINE_CLASSES, "studio", "generation.engines.absent:Nope")
    segment_calls: list[object] = []
    monkeypatch.setattr(generation.segment, "segment", lambda *a, **k: segment_calls.append(a))
    photo, _ = product_photo((64, 80), "plain")

    # when
    with pytest.raises(ModelUnavailable) as info:
        run_outputs(photo, [OutputRequest("scene")], config=GenerationConfig(steps=7))

    # then
    assert "the studio scene engine cannot be loaded" in str(info.value)
    assert segment_calls == []


# -- the writer and the pipeline, in process -------------------------------------------


def _rendered(image: Image.Image, kind: str, name: str) -> RenderedImage:
    return RenderedImage(
        image=image,
        kind=kind,
        name=name,
        product_box=(0, 0, *image.size),
        fidelity=None,
        meta={"segmenter": "exact"},
    )


def test_writer_leaves_nothing_when_one_image_fails_to_encode(tmp_path):
    # given a good image, then one PNG cannot hold (CMYK)
    good = _rendered(Image.new("RGB", (8, 8)), "scene", "scene-01")
    bad = _rendered(Image.new("CMYK", (8, 8)), "scene", "scene-02")

    # when
    with pytest.raises(OSError):
        write_outputs([good, bad], tmp_path, stem="shot")

    # then not even the good one, nor a temporary file, is left
    assert _files(tmp_path) == []


def test_writer_names_files_and_fills_sidecar_defaults(tmp_path):
    # given
    cut = _rendered(Image.new("RGBA", (8, 8)), "cutout", "cutout")
    scene = _rendered(Image.new("RGB", (8, 8)), "scene", "scene-01")

    # when
    paths = write_outputs([cut, scene], tmp_path, stem="shot", image_format="jpg")

    # then the cutout stays PNG (alpha), the scene follows --format
    assert paths == [tmp_path / "shot.png", tmp_path / "shot_scene-01.jpg"]
    assert _files(tmp_path) == ["shot.json", "shot.png", "shot_scene-01.jpg", "shot_scene-01.json"]
    side = json.loads((tmp_path / "shot_scene-01.json").read_text())
    assert (side["theme"], side["seed"], side["engine"]) == (None, None, None)
    assert side["file"] == "shot_scene-01.jpg"
    assert (os.stat(paths[0]).st_mode & 0o777) == (0o666 & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_run_outputs_segments_once_and_reports_increasing_progress():
    # given
    photo, _ = product_photo((320, 400), "plain")
    seen: list[tuple[float, str]] = []

    # when
    result = run_outputs(
        photo,
        [OutputRequest("cutout"), OutputRequest("packshot", packshot=PackshotSpec(size=1600))],
        segmenter="classical",
        progress=lambda fraction, message: seen.append((fraction, message)),
    )

    # then
    assert [image.kind for image in result.images] == ["cutout", "packshot"]
    assert all(image.meta["segmenter"] == "classical" for image in result.images)
    assert all(image.fidelity.max_abs_diff == 0 for image in result.images)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert (fractions[0], fractions[-1]) == (0.0, 1.0)
    assert seen[0][1] == "Finding the product"


def test_run_outputs_refuses_bad_requests_before_segmenting():
    # given
    photo, _ = product_photo((64, 80), "plain")

    # when / then
    with pytest.raises(InvalidSpec):
        run_outputs(photo, [])
    with pytest.raises(InvalidSpec):
        OutputRequest("poster")
    with pytest.raises(InvalidSpec):
        run_outputs(photo, [OutputRequest("cutout")], mask=Image.new("L", (10, 10)))


# -- job: a whole job request from a file -----------------------------------------------


def test_job_request_file_runs_every_output(photos, tmp_path):
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {"outputs": ["cutout", "packshot"], "format": "jpg", "packshot": {"size": 1600, "shadow": False}}
        )
    )

    done = run_cli(
        "job", photos / "bottle.png", "--request", request, "--out", tmp_path / "out", "--quiet", cwd=photos
    )

    assert done.returncode == 0, done.stderr
    assert _files(tmp_path / "out") == [
        "bottle.json",
        "bottle.png",
        "bottle_packshot.jpg",
        "bottle_packshot.json",
    ]
    assert Image.open(tmp_path / "out" / "bottle_packshot.jpg").size == (1600, 1600)


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        ('{"outputs": ["packshot"], "packshot": {"shadow": "no"}}', "error: packshot.shadow: "),
        ('{"outputs": ["poster"], "poster": {"sizes": [-5]}}', "error: poster.sizes[0]: "),
        ('{"outputs": ["packshot"], "packshot": {"fill": NaN}}', "is not JSON"),
        ('{"outputs": ["packshot"], "brand": {"logo_key": "x"}}', "error: brand.logo_key: "),
        ('{"outputs": ["clip"], "clip": {"audio": 3}}', "error: clip.audio: names one of a merchant's"),
    ],
)
def test_job_request_refusal_names_the_field_and_writes_nothing(photos, tmp_path, request_text, message):
    request = tmp_path / "request.json"
    request.write_text(request_text)

    done = run_cli("job", photos / "bottle.png", "--request", request, "--out", tmp_path / "out", cwd=photos)

    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()
