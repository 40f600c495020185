"""The diffusion scene engine on tiny random SD1.5 and SDXL ControlNet inpaint models.

The models are built from small configs, saved like hub checkpoints and loaded through
``generation.models`` (the production ``from_pretrained`` path). Their images are noise:
these tests check plumbing, shapes, determinism, caching and product fidelity, not image
quality.
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_erosion

from generation import models
from generation.compose import RESAMPLE, fit_box, place_product
from generation.engines import get_engine
from generation.engines.conditioning import (
    NEUTRAL,
    canny_control,
    generation_size,
    inpaint_layout,
)
from generation.engines.diffusion import (
    PRODUCT_ANCHOR,
    DiffusionEngine,
    color_name,
    scene_prompt,
)
from generation.engines.themes import get_theme, list_themes
from generation.errors import InvalidSpec, ModelUnavailable
from generation.specs import SceneSpec
from generation.types import Segmentation
from tests.generation.tiny_models import ModelFolders, build_sd15, build_sdxl
from tests.synthetic import product_photo

pytestmark = pytest.mark.slow

OUT = (256, 384)  # SceneSpec's smallest sizes; generated at 56x80 with generation_base 64


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModelFolders]:
    root = tmp_path_factory.mktemp("tiny-diffusion")
    return {"sd15": build_sd15(root / "sd15"), "sdxl": build_sdxl(root / "sdxl")}


@pytest.fixture(scope="session")
def seg() -> Segmentation:
    photo, mask = product_photo((160, 200))
    x0, y0, x1, y1 = mask.getbbox()
    return Segmentation(image=photo, matte=mask, box=(x0, y0, x1 - x0, y1 - y0), segmenter="exact")


def scene(**changes: object) -> SceneSpec:
    values: dict[str, object] = {
        "engine": "diffusion",
        "theme": "marble_counter",
        "count": 2,
        "seed": 7,
        "width": OUT[0],
        "height": OUT[1],
    }
    values.update(changes)
    return SceneSpec(**values)  # type: ignore[arg-type]


def background_pixels(image: Image.Image, seg: Segmentation, spec: SceneSpec) -> np.ndarray:
    """Pixels outside the placed product's box."""
    x, y, w, h = fit_box(seg.cutout.size, image.size, fill=spec.fill, anchor=PRODUCT_ANCHOR)
    arr = np.asarray(image).copy()
    outside = np.ones(arr.shape[:2], dtype=bool)
    outside[y : y + h, x : x + w] = False
    return arr[outside]


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_renders_count_variants_at_output_size_with_exact_product(tiny, seg, family):
    """Plumbing and fidelity on tiny models: sizes, names, meta, product pixels exact."""
    # given
    engine = DiffusionEngine(tiny[family].config())
    spec = scene()
    # when
    images = engine.render(seg, spec)
    # then
    assert [im.image.size for im in images] == [OUT, OUT]
    assert [im.name for im in images] == ["scene-marble_counter-01", "scene-marble_counter-02"]
    expected_box = fit_box(seg.cutout.size, OUT, fill=spec.fill, anchor=PRODUCT_ANCHOR)
    for i, im in enumerate(images):
        assert im.kind == "scene"
        assert im.product_box == expected_box
        assert im.fidelity is not None
        assert im.fidelity.max_abs_diff == 0
        assert im.fidelity.opaque_pixels > 0
        assert im.meta["engine"] == "diffusion"
        assert im.meta["family"] == family
        assert im.meta["theme"] == "marble_counter"
        assert im.meta["seed"] == 7 + i  # the variant's own seed, as the studio engine reports
        assert im.meta["variant"] == i
        assert im.meta["scheduler"] == "dpm"
        assert im.meta["scheduler_class"] == "DPMSolverMultistepScheduler"
        assert im.meta["steps"] == 2
        assert im.meta["controlnet"] == "canny"
        assert im.meta["conditioning_impl"] == "opencv"
        assert im.meta["generation_size"] == [56, 80]
        assert im.meta["device"] == "cpu"
        assert im.meta["dtype"] == "float32"
        assert im.meta["segmenter"] == "exact"
        assert im.meta["models"] == {
            "inpaint": str(tiny[family].pipeline),
            "controlnet_canny": str(tiny[family].controlnet),
        }
    # the background is the model's (not the grey init), and each variant has its own
    first, second = (background_pixels(im.image, seg, spec) for im in images)
    assert not np.all(first == NEUTRAL)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_same_seed_same_bytes_other_seed_other_background(tiny, seg, family):
    """Determinism on tiny models: a fresh engine with the same seed repeats every byte."""
    # given
    config = tiny[family].config()
    spec = scene(count=1, seed=3)
    first = DiffusionEngine(config).render(seg, spec)[0]
    # when
    again = DiffusionEngine(config).render(seg, spec)[0]
    other = DiffusionEngine(config).render(seg, scene(count=1, seed=4))[0]
    # then
    assert again.image.tobytes() == first.image.tobytes()
    assert not np.array_equal(
        background_pixels(other.image, seg, spec), background_pixels(first.image, seg, spec)
    )
    # the product itself is the same pixels in both
    assert other.fidelity is not None and other.fidelity.max_abs_diff == 0


def test_second_render_loads_nothing_and_another_folder_loads_again(tiny, seg, tmp_path):
    """The model cache: weights load once per process per model key."""
    # given
    config = tiny["sd15"].config()
    DiffusionEngine(config).render(seg, scene(count=1))
    loaded = models.load_count()
    # when: a second render, through another engine instance with an equal config
    DiffusionEngine(tiny["sd15"].config()).render(seg, scene(count=1, seed=1))
    # then
    assert models.load_count() == loaded
    # when: the same weights from another folder
    copy = tmp_path / "inpaint-copy"
    shutil.copytree(tiny["sd15"].pipeline, copy)
    images = DiffusionEngine(config.with_overrides(sd15_inpaint_model=str(copy))).render(seg, scene(count=1))
    # then: that is another model key, loaded once; the first one is still cached
    assert models.load_count() == loaded + 1
    assert images[0].meta["models"]["inpaint"] == str(copy)
    DiffusionEngine(config).render(seg, scene(count=1))
    assert models.load_count() == loaded + 1


def test_threads_asking_for_a_new_model_at_once_load_it_once(tiny, tmp_path):
    # given: a model key nobody has loaded yet, and four threads released together
    copy = tmp_path / "inpaint-for-threads"
    shutil.copytree(tiny["sd15"].pipeline, copy)
    config = tiny["sd15"].config(sd15_inpaint_model=str(copy))
    barrier = threading.Barrier(4)
    loaded = models.load_count()

    def load() -> models.LoadedPipeline:
        barrier.wait()
        return models.load_diffusion_pipeline(config)

    # when
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: load(), range(4)))
    # then
    assert models.load_count() == loaded + 1
    assert all(r.pipe is results[0].pipe for r in results)


@pytest.mark.parametrize(
    ("name", "scheduler_class"),
    [
        ("default", "PNDMScheduler"),  # what the tiny SD1.5 checkpoint was saved with
        ("dpm", "DPMSolverMultistepScheduler"),
        ("lcm", "LCMScheduler"),
        ("euler", "EulerDiscreteScheduler"),
        ("euler_a", "EulerAncestralDiscreteScheduler"),
        ("ddim", "DDIMScheduler"),
    ],
)
def test_scheduler_is_selected_by_name_and_shares_the_weights(tiny, seg, name, scheduler_class):
    """Plumbing: each scheduler runs a real call on the shared tiny weights."""
    # given
    base = models.load_diffusion_pipeline(tiny["sd15"].config(scheduler="default"))
    loaded = models.load_count()
    # when
    view = models.load_diffusion_pipeline(tiny["sd15"].config(scheduler=name))
    images = DiffusionEngine(tiny["sd15"].config(scheduler=name)).render(seg, scene(count=1))
    # then
    assert view.scheduler_class == scheduler_class
    assert images[0].meta["scheduler_class"] == scheduler_class
    assert view.pipe.unet is base.pipe.unet
    assert view.lock is base.lock
    assert models.load_count() == loaded
    assert images[0].fidelity is not None and images[0].fidelity.max_abs_diff == 0


def test_unknown_scheduler_is_rejected_before_loading(tiny):
    # given
    loaded = models.load_count()
    # when / then
    with pytest.raises(InvalidSpec, match="unknown scheduler 'heun'"):
        models.load_diffusion_pipeline(tiny["sd15"].config(scheduler="heun"))
    assert models.load_count() == loaded


@pytest.mark.parametrize("field", ["sd15_inpaint_model", "sd15_controlnet_canny"])
def test_missing_local_folder_raises_model_unavailable(tiny, seg, tmp_path, field):
    # given
    missing = str(tmp_path / "not-downloaded")
    config = tiny["sd15"].config(**{field: missing})
    loaded = models.load_count()
    # when
    with pytest.raises(ModelUnavailable) as err:
        DiffusionEngine(config).render(seg, scene(count=1))
    # then: the message names the model, the setting, and what to point it at
    assert err.value.code == "model_unavailable"
    assert err.value.message == (
        f"model folder {missing} (SHOPASSETS_{field.upper()}) does not exist; set SHOPASSETS_{field.upper()} "
        "to a folder saved with save_pretrained, or to a hub id installed with `python -m generation models pull`"
    )
    assert models.load_count() == loaded


def test_depth_without_estimator_or_controlnet_aux_is_unavailable_before_loading(tiny, seg):
    # given: a depth ControlNet configured (the canny folder stands in for it)
    depth = str(tiny["sd15"].controlnet)
    loaded = models.load_count()
    # when / then: no estimator named
    with pytest.raises(ModelUnavailable, match="no depth estimator"):
        DiffusionEngine(tiny["sd15"].config(sd15_controlnet_depth=depth)).render(seg, scene())
    # when / then: an estimator named, but controlnet-aux cannot be imported here
    if models.import_controlnet_aux() is None:
        config = tiny["sd15"].config(sd15_controlnet_depth=depth, depth_estimator="lllyasviel/Annotators")
        with pytest.raises(ModelUnavailable, match="controlnet-aux"):
            DiffusionEngine(config).render(seg, scene())
    assert models.load_count() == loaded


def test_progress_reports_each_denoising_step_and_ends_at_one(tiny, seg):
    # given
    calls: list[tuple[float, str]] = []
    # when
    DiffusionEngine(tiny["sd15"].config()).render(
        seg, scene(count=1), progress=lambda f, m: calls.append((f, m))
    )
    # then
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert [m for _, m in calls if m.startswith("denoising")] == [
        "denoising step 1/2",
        "denoising step 2/2",
    ]


def test_unknown_theme_fails_before_loading(tiny, seg):
    # given: a config whose weights do not exist, so any loading attempt would fail otherwise
    engine = DiffusionEngine(tiny["sd15"].config(sd15_inpaint_model="/nowhere"))
    loaded = models.load_count()
    # when / then: InvalidSpec, not ModelUnavailable
    with pytest.raises(InvalidSpec, match="unknown theme 'beach'; choose one of brand_color"):
        engine.render(seg, scene(theme="beach"))
    assert models.load_count() == loaded


def test_prompt_is_theme_then_merchant_text_and_names_the_brand_color():
    # when
    prompt, negative = scene_prompt(
        scene(theme="brand_color", brand_color=(25, 35, 85), prompt="glass perfume bottle")
    )
    # then
    assert prompt.startswith(get_theme("brand_color").prompt.replace("the brand color", "navy blue"))
    assert "brand color" not in prompt
    assert prompt.endswith(", glass perfume bottle")
    assert negative.startswith("text, watermark")
    assert scene_prompt(scene(negative_prompt="flowers"))[1].endswith(", flowers")


def test_brand_color_theme_without_a_color_uses_the_theme_default():
    prompt, _ = scene_prompt(scene(theme="brand_color"))
    assert color_name(get_theme("brand_color").brand_default) in prompt
    assert "brand color" not in prompt


def test_every_studio_theme_has_a_diffusion_prompt():
    for name in list_themes():
        theme = get_theme(name)
        prompt, _ = scene_prompt(scene(theme=name))
        assert theme.prompt, f"theme {name} has no prompt for prompt-driven engines"
        if "brand color" in theme.prompt:
            assert "brand color" not in prompt
        else:
            assert prompt.startswith(theme.prompt + ", ")


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((25, 35, 85), "navy blue"),
        ((74, 111, 165), "blue"),
        ((200, 30, 40), "red"),
        ((240, 150, 190), "pastel pink"),
        ((120, 75, 40), "brown"),
        ((250, 250, 250), "white"),
        ((128, 128, 128), "grey"),
        ((0, 0, 0), "black"),
    ],
)
def test_color_name(rgb, name):
    assert color_name(rgb) == name


def test_generation_size_keeps_aspect_and_pixel_budget_in_multiples_of_8():
    assert generation_size((1600, 1600), 512) == (512, 512)
    assert generation_size((1920, 1080), 1024) == (1368, 768)
    assert generation_size((1080, 1920), 512) == (384, 680)
    assert generation_size((256, 384), 64) == (56, 80)


def test_inpaint_layout_keeps_only_the_product_core_and_canny_outlines_it(seg):
    """The mask repaints everything but the opaque product shrunk by the margin."""
    # given
    spec = scene()
    box = fit_box(seg.cutout.size, OUT, fill=spec.fill, anchor=PRODUCT_ANCHOR)
    placed = place_product(seg.cutout, OUT, box)
    # when
    layout = inpaint_layout(placed, (112, 160))
    control = canny_control(layout.init)
    # then
    mask = np.asarray(layout.mask)
    assert layout.init.size == layout.mask.size == control.image.size == (112, 160)
    assert set(np.unique(mask)) == {0, 255}
    keep = mask == 0
    init = np.asarray(layout.init)
    # kept pixels are product pixels (not the grey), and the border rows are repainted
    assert keep.sum() > 0
    assert not np.any(np.all(init[keep] == NEUTRAL, axis=-1))
    assert not keep[0].any() and not keep[-1].any() and not keep[:, 0].any()
    # canny: edges where the product meets the grey, none in the flat background
    edges = np.asarray(control.image.convert("L")) > 0
    assert control.kind == "canny"
    assert control.impl == ("opencv" if models.import_controlnet_aux() is None else "controlnet_aux")
    assert edges.any()
    # a pixel whose whole 3x3 neighbourhood is grey has no gradient, hence no edge
    flat = binary_erosion(np.all(init == NEUTRAL, axis=-1), structure=np.ones((3, 3)))
    assert flat.sum() > 0
    assert not edges[flat].any()


@pytest.mark.parametrize(
    ("out", "gen", "anchor"),
    [((1600, 1600), (512, 512), PRODUCT_ANCHOR), ((1920, 1080), (1368, 768), (0.1, 0.9))],
)
def test_inpaint_layout_matches_a_resize_of_the_full_canvas(seg, out, gen, anchor):
    """The crop-based layout puts the product where a full-canvas downscale would."""
    # given
    box = fit_box(seg.cutout.size, out, fill=0.6, anchor=anchor)
    placed = place_product(seg.cutout, out, box)
    full = Image.new("RGB", out, NEUTRAL)
    full.paste(placed.layer, box[:2], placed.layer)
    alpha = Image.new("L", out, 0)
    alpha.paste(placed.layer.getchannel("A"), box[:2])
    # when
    layout = inpaint_layout(placed, gen)
    # then: same picture up to Lanczos rounding at edges; same kept region up to the margin
    init_diff = np.abs(np.asarray(layout.init, int) - np.asarray(full.resize(gen, RESAMPLE), int))
    assert init_diff.max() <= 16
    assert init_diff.mean() < 0.5
    opaque = np.asarray(alpha.resize(gen, RESAMPLE)) == 255
    keep = np.asarray(layout.mask) == 0
    assert not np.any(keep & ~opaque)
    assert keep.sum() > 0.8 * opaque.sum()


def test_registry_builds_the_diffusion_engine(tiny):
    engine = get_engine("diffusion", tiny["sd15"].config())
    assert isinstance(engine, DiffusionEngine)
    assert engine.name == "diffusion"
