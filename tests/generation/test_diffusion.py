"""The diffusion scene engine on tiny random SD1.5 and SDXL ControlNet inpaint models.

The models are built from small configs, saved like hub checkpoints and loaded through
``generation.models`` (the production ``from_pretrained`` path). Their images are noise:
these tests check plumbing, shapes, dtypes, determinism, caching, batching and product
fidelity, not image quality. Two things stand in for the world at its edge, and say so
where they are used: a pipeline call that raises torch's out-of-memory error above a
batch size (no GPU here to run out of), and a depth estimator that records its input
(its weights cannot be downloaded here).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from generation import models
from generation.clips import ClipSpec, diffusion_motion
from generation.compose import RESAMPLE, place_product
from generation.config import SCHEDULER_NAMES, GenerationConfig
from generation.engines import get_engine
from generation.engines.conditioning import (
    BUCKETS,
    NEUTRAL,
    canny_control,
    generation_canvas,
    inpaint_layout,
    set_preview,
)
from generation.engines.denoise import STRENGTH, decode_latents
from generation.engines.diffusion import (
    DiffusionEngine,
    color_name,
    scene_box,
    scene_prompt,
)
from generation.errors import GenerationError, InvalidSpec, ModelUnavailable
from generation.pipelines import OutputRequest, run_outputs
from generation.sets import flat_box, get_theme, list_themes
from generation.specs import SceneSpec
from generation.types import Segmentation
from tests.generation.tiny_models import (
    ModelFolders,
    build_fp16_safe_vae,
    build_lcm_lora,
    build_sd15,
    build_sdxl,
    build_svd,
    byte_tokenizer,
)
from tests.synthetic import product_photo

pytestmark = pytest.mark.slow

OUT = (256, 384)  # SceneSpec's smallest sizes: the 384x640 bucket, scaled to 48x80 at base 64


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModelFolders]:
    root = tmp_path_factory.mktemp("tiny-diffusion")
    return {"sd15": build_sd15(root / "sd15"), "sdxl": build_sdxl(root / "sdxl")}


@pytest.fixture(scope="session")
def tiny_fp16(tmp_path_factory: pytest.TempPathFactory) -> ModelFolders:
    """The tiny SD1.5 models saved in float16, as fp16 checkpoints are published."""
    return build_sd15(tmp_path_factory.mktemp("tiny-fp16") / "sd15", dtype=torch.float16)


@pytest.fixture(scope="session")
def lcm_lora(tiny: dict[str, ModelFolders], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lcm_lora(tiny["sd15"], tmp_path_factory.mktemp("tiny-lcm") / "lcm-lora")


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


def background_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> np.ndarray:
    """Pixels outside the placed product's box."""
    x, y, w, h = box
    arr = np.asarray(image).copy()
    outside = np.ones(arr.shape[:2], dtype=bool)
    outside[y : y + h, x : x + w] = False
    return arr[outside]


def real_dtypes(pipe: Any) -> dict[str, set[torch.dtype]]:
    """Every torch module of ``pipe`` -> the dtypes of its parameters, read here directly."""
    return {
        name: {p.dtype for p in module.parameters()}
        for name, module in pipe.components.items()
        if isinstance(module, torch.nn.Module)
    }


class RecordingPipeline:
    """The loaded pipeline, with each call's keyword arguments recorded; above
    ``fail_above`` variants per call it raises torch's out-of-memory error instead of
    running (a fault injected at the edge: there is no GPU here to run out of)."""

    def __init__(self, pipe: Any, fail_above: int | None = None) -> None:
        self._pipe = pipe
        self.fail_above = fail_above
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.fail_above is not None and kwargs["num_images_per_prompt"] > self.fail_above:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self._pipe(**kwargs)


def record_calls(
    monkeypatch: pytest.MonkeyPatch, config: GenerationConfig, **kwargs: Any
) -> RecordingPipeline:
    view = models.load_diffusion_pipeline(config)
    recorder = RecordingPipeline(view.pipe, **kwargs)
    monkeypatch.setattr(view, "pipe", recorder)
    monkeypatch.setattr(view, "chunk_limits", {})  # nothing learned by earlier tests
    return recorder


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
    theme = get_theme("marble_counter")
    expected_box = scene_box(theme, seg.cutout.size, OUT, spec.fill)
    for i, im in enumerate(images):
        assert im.kind == "scene"
        assert im.product_box == expected_box
        assert im.fidelity is not None
        assert im.fidelity.max_abs_diff == 0
        assert im.fidelity.opaque_pixels > 0
        meta = im.meta
        assert meta["engine"] == "diffusion"
        assert meta["family"] == family
        assert meta["theme"] == "marble_counter"
        assert meta["seed"] == 7 + i  # the variant's own seed, as the studio engine reports
        assert meta["variant"] == i
        assert meta["scheduler"] == "dpm"
        assert meta["scheduler_class"] == "DPMSolverMultistepScheduler"
        assert meta["steps"] == 2
        assert meta["controlnet"] == "canny"
        assert meta["controlnet_scale"] == [theme.diffusion.canny_scale] == [0.55]
        assert meta["control_end"] == theme.diffusion.control_end == 0.6
        assert meta["conditioning_impl"] == "opencv"
        assert meta["generation_size"] == [48, 80]
        assert meta["generation_window"] == [0, 4, 48, 72]
        assert meta["variants_per_call"] == 2
        assert meta["device"] == "cpu"
        assert meta["dtype"] == "float32"
        assert set(meta["dtypes"].values()) == {"float32"}
        assert meta["segmenter"] == "exact"
        assert meta["models"] == {
            "inpaint": str(tiny[family].pipeline),
            "controlnet_canny": str(tiny[family].controlnet),
        }
    # the background is the model's (not the set preview), and each variant has its own
    first, second = (background_pixels(im.image, expected_box) for im in images)
    assert not np.array_equal(first, second)


def test_a_flat_lay_is_placed_and_prompted_as_seen_from_above(tiny, seg):
    """A product asked to lie flat is placed as the studio engine places a flat-lay (no
    floor line to stand on), the model asked for a flat-lay seen from above, and the
    scene records the view (a clip of it moves its surface as one)."""
    # when
    [flat] = DiffusionEngine(tiny["sd15"].config()).render(seg, scene(count=1, view="flat"))
    [standing] = DiffusionEngine(tiny["sd15"].config()).render(seg, scene(count=1, view="standing"))
    # then
    assert flat.product_box == flat_box(seg.cutout.size, OUT, fill=0.6)
    assert standing.product_box == scene_box(get_theme("marble_counter"), seg.cutout.size, OUT, 0.6)
    assert flat.product_box != standing.product_box
    assert flat.meta["view"] == "flat" and standing.meta["view"] == "standing"
    assert flat.meta["prompt"].startswith("flat lay, top-down view from directly above")
    assert "flat lay" not in standing.meta["prompt"]
    assert flat.fidelity is not None and flat.fidelity.max_abs_diff == 0


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
        background_pixels(other.image, first.product_box), background_pixels(first.image, first.product_box)
    )
    # the product itself is the same pixels in both
    assert other.fidelity is not None and other.fidelity.max_abs_diff == 0


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_a_variants_stored_seed_makes_it_again_on_its_own(tiny, seg, family):
    """Variant 2 of seed 7 is variant 0 of seed 9: its init and masked-image latents are
    sampled with its own generator, not the first variant's. (A batch of 3 and a
    batch of 1 may round a last bit differently on the CPU.)"""
    # given
    engine = DiffusionEngine(tiny[family].config())
    batch = engine.render(seg, scene(count=3, seed=7))
    # when
    alone = engine.render(seg, scene(count=1, seed=batch[2].meta["seed"]))[0]
    # then
    assert batch[2].meta["seed"] == 9
    diff = np.abs(np.asarray(batch[2].image, int) - np.asarray(alone.image, int))
    assert diff.max() <= 1
    # and it is not any other variant's picture
    assert np.abs(np.asarray(batch[1].image, int) - np.asarray(alone.image, int)).max() > 10


def test_every_scheduler_view_keeps_the_loaded_float16_weights(tiny_fp16, lcm_lora):
    """Scheduler views share the fp16 modules without casting them (``from_pipe`` cast every
    shared module to float32). Dtypes are read from the modules' parameters."""
    # given: the fp16 checkpoint loaded in float16 on the CPU
    config = tiny_fp16.config(diffusion_dtype="float16", scheduler="default", sd15_lcm_lora=str(lcm_lora))
    base = models.load_diffusion_pipeline(config)
    # when: every scheduler's view is built
    views = {
        name: models.load_diffusion_pipeline(config.with_overrides(scheduler=name))
        for name in SCHEDULER_NAMES
    }
    # then: every module of every view, and of the base, is float16
    for name, view in views.items():
        dtypes = real_dtypes(view.pipe)
        assert set(dtypes) == {"vae", "text_encoder", "unet", "controlnet"}, name
        assert all(d == {torch.float16} for d in dtypes.values()), (name, dtypes)
        assert view.dtypes() == dict.fromkeys(dtypes, "float16")
        assert view.key.dtype == "float16"
    assert all(d == {torch.float16} for d in real_dtypes(base.pipe).values())
    # the non-LCM views share the base's modules; the LCM view has its own fused UNet
    for name in ("dpm", "euler", "euler_a", "ddim"):
        assert views[name].pipe.unet is base.pipe.unet
        assert views[name].pipe.scheduler is not base.pipe.scheduler
    assert views["lcm"].scheduler_class == "LCMScheduler"
    assert views["lcm"].pipe.unet is not base.pipe.unet
    # the base keeps its own scheduler in its config
    assert base.pipe.config["scheduler"][1] == "PNDMScheduler"
    assert views["dpm"].pipe.config["scheduler"][1] == "DPMSolverMultistepScheduler"


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


def test_the_cache_drops_the_least_recently_used_models_and_frees_them(tiny, tmp_path):
    # given: a cache of two, holding A then B, and A used again since
    copies = []
    for name in ("a", "b", "c"):
        copies.append(tmp_path / name)
        shutil.copytree(tiny["sd15"].pipeline, copies[-1])
    a, b, c = (tiny["sd15"].config(sd15_inpaint_model=str(p), diffusion_cache_size=2) for p in copies)
    models.load_diffusion_pipeline(a)
    b_unet = weakref.ref(models.load_diffusion_pipeline(b).pipe.unet)
    a_key = models.load_diffusion_pipeline(a).key
    loaded = models.load_count()
    # when: a third key comes
    c_key = models.load_diffusion_pipeline(c).key
    # then: B, the least recently used, is gone and its weights were freed; A and C remain
    gc.collect()
    assert b_unet() is None
    assert models.loaded_keys()[-2:] == [a_key, c_key]
    assert models.diffusion_key(b) not in models.loaded_keys()
    assert models.load_count() == loaded + 1
    # when: B is asked for again, it is loaded again
    models.load_diffusion_pipeline(b)
    assert models.load_count() == loaded + 2
    assert models.loaded_keys()[-2:] == [c_key, models.diffusion_key(b)]


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


def test_lcm_is_refused_without_lcm_weights_before_anything_loads():
    # when / then: the configuration itself refuses it, naming the setting to fill
    with pytest.raises(
        InvalidSpec, match="the lcm scheduler needs LCM weights: set SHOPASSETS_SD15_LCM_LORA"
    ):
        GenerationConfig(scheduler="lcm")
    with pytest.raises(InvalidSpec, match="SHOPASSETS_SDXL_LCM_LORA"):
        GenerationConfig.from_env({"SHOPASSETS_SCHEDULER": "lcm", "SHOPASSETS_DIFFUSION_FAMILY": "sdxl"})
    # an LCM-LoRA for the other family does not count
    with pytest.raises(InvalidSpec, match="SHOPASSETS_SD15_LCM_LORA"):
        GenerationConfig(scheduler="lcm", sdxl_lcm_lora="latent-consistency/lcm-lora-sdxl")


def test_lcm_with_lcm_weights_fuses_them_and_renders(tiny, seg, lcm_lora):
    """Plumbing: the LoRA is loaded from a folder and fused into a UNet of its own."""
    # given
    config = tiny["sd15"].config(scheduler="lcm", sd15_lcm_lora=str(lcm_lora))
    plain = models.load_diffusion_pipeline(tiny["sd15"].config())
    # when
    images = DiffusionEngine(config).render(seg, scene(count=1))
    view = models.load_diffusion_pipeline(config)
    # then
    assert images[0].meta["scheduler_class"] == "LCMScheduler"
    assert images[0].meta["models"]["lcm_lora"] == str(lcm_lora)
    fused = dict(view.pipe.unet.named_parameters())
    original = dict(plain.pipe.unet.named_parameters())
    assert fused.keys() == original.keys()  # fused in place: no adapter layers left
    changed = [k for k in fused if not torch.equal(fused[k], original[k])]
    assert changed and all(".attn" in k for k in changed)
    assert images[0].fidelity is not None and images[0].fidelity.max_abs_diff == 0


def test_unknown_scheduler_is_rejected_before_loading(tiny):
    # given
    loaded = models.load_count()
    # when / then
    with pytest.raises(InvalidSpec, match="unknown scheduler 'heun'"):
        models.load_diffusion_pipeline(tiny["sd15"].config(scheduler="heun"))
    assert models.load_count() == loaded
    assert set(models.SCHEDULERS) == set(SCHEDULER_NAMES)


def test_variants_that_do_not_fit_are_retried_in_smaller_chunks(tiny, seg, monkeypatch):
    """Out of memory (injected above 1 variant per call) halves the chunk and retries; the
    pictures are the ones one call of three makes, and the size that fitted is remembered."""
    # given
    config = tiny["sd15"].config()
    expected = DiffusionEngine(config).render(seg, scene(count=3))
    recorder = record_calls(monkeypatch, config, fail_above=1)
    # when
    images = DiffusionEngine(config).render(seg, scene(count=3))
    # then: 3 failed, then three calls of one
    assert [c["num_images_per_prompt"] for c in recorder.calls] == [3, 1, 1, 1]
    assert [im.meta["variants_per_call"] for im in images] == [1] * 3
    for got, want in zip(images, expected, strict=True):
        # the same pictures (a batch of 3 and of 1 may round a few last bits differently)
        diff = np.abs(np.asarray(got.image, int) - np.asarray(want.image, int))
        assert diff.max() <= 3 and diff.mean() < 0.05
        assert got.meta["seed"] == want.meta["seed"]
        assert got.fidelity is not None and got.fidelity.max_abs_diff == 0
    # when: the next request starts at the chunk that fitted
    recorder.calls.clear()
    DiffusionEngine(config).render(seg, scene(count=2))
    assert [c["num_images_per_prompt"] for c in recorder.calls] == [1, 1]


def test_a_configured_chunk_size_splits_the_variants(tiny, seg, monkeypatch):
    # given
    config = tiny["sd15"].config(max_variants_per_call=2)
    recorder = record_calls(monkeypatch, config)
    # when
    images = DiffusionEngine(config).render(seg, scene(count=5))
    # then
    assert [c["num_images_per_prompt"] for c in recorder.calls] == [2, 2, 1]
    assert [im.meta["seed"] for im in images] == [7, 8, 9, 10, 11]
    assert all(im.fidelity is not None and im.fidelity.max_abs_diff == 0 for im in images)


def test_when_one_variant_does_not_fit_the_error_names_the_limit(tiny, seg, monkeypatch):
    # given: every call runs out of memory (injected)
    config = tiny["sd15"].config()
    recorder = record_calls(monkeypatch, config, fail_above=0)
    progress: list[str] = []
    # when
    with pytest.raises(GenerationError) as err:
        DiffusionEngine(config).render(seg, scene(count=2), progress=lambda f, m: progress.append(m))
    # then
    assert err.value.code == "out_of_memory"
    assert err.value.message.startswith(
        "one sd15 variant at 48x80 px in float32 does not fit in the memory of cpu"
    )
    assert "GiB of RAM" in err.value.message
    assert isinstance(err.value.__cause__, torch.OutOfMemoryError)
    assert [c["num_images_per_prompt"] for c in recorder.calls] == [2, 1]
    # nothing was denoised, nothing finished
    assert not any(m.startswith("denoising") for m in progress)
    assert "pasting the product back" not in progress


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_pipeline_call_arguments(tiny, seg, monkeypatch, family):
    """Strength is the pipeline's own default for SDXL inpainting; control acts for the
    theme's share of the schedule at the theme's scale; latents come back for decoding."""
    # given
    config = tiny[family].config()
    recorder = record_calls(monkeypatch, config)
    theme = get_theme("podium")
    # when
    DiffusionEngine(config).render(seg, scene(count=2, theme="podium"))
    # then
    (call,) = recorder.calls
    assert call["strength"] == STRENGTH[family] == {"sd15": 1.0, "sdxl": 0.9999}[family]
    assert call["control_guidance_end"] == theme.diffusion.control_end == 0.7
    assert call["controlnet_conditioning_scale"] == theme.diffusion.canny_scale == 0.65
    assert call["output_type"] == "latent"
    assert call["num_images_per_prompt"] == 2
    assert len(call["generator"]) == 2
    assert len(call["image"]) == len(call["mask_image"]) == 2  # one per variant's generator
    assert (call["width"], call["height"]) == (48, 80)


def test_configured_control_overrides_every_theme(tiny, seg, monkeypatch):
    # given
    config = tiny["sd15"].config(controlnet_scale=0.3, control_end=0.9)
    recorder = record_calls(monkeypatch, config)
    # when
    images = DiffusionEngine(config).render(seg, scene(count=1, theme="podium"))
    # then
    assert recorder.calls[0]["controlnet_conditioning_scale"] == 0.3
    assert recorder.calls[0]["control_guidance_end"] == 0.9
    assert images[0].meta["controlnet_scale"] == [0.3]
    assert images[0].meta["control_end"] == 0.9


def test_controlnet_runs_only_while_control_is_on(tiny, seg):
    """Past control_end the ControlNet is not run at all (diffusers would run it and
    multiply by zero); the UNet runs every step."""
    # given
    config = tiny["sd15"].config(steps=4, control_end=0.5, scheduler="euler")
    pipe = models.load_diffusion_pipeline(config).pipe
    counts = {"controlnet": 0, "unet": 0}
    hooks = [
        pipe.controlnet.conv_in.register_forward_hook(
            lambda *a: counts.__setitem__("controlnet", counts["controlnet"] + 1)
        ),
        pipe.unet.conv_in.register_forward_hook(lambda *a: counts.__setitem__("unet", counts["unet"] + 1)),
    ]
    # when
    try:
        image = DiffusionEngine(config).render(seg, scene(count=1))[0]
    finally:
        for hook in hooks:
            hook.remove()
    # then
    assert counts == {"controlnet": 2, "unet": 4}
    assert "forward" not in pipe.controlnet.__dict__  # the module's own forward again
    assert image.fidelity is not None and image.fidelity.max_abs_diff == 0


def test_an_fp16_safe_sdxl_vae_replaces_the_checkpoints_and_decodes_without_upcast(tiny, tmp_path):
    # given: the tiny SDXL in float16, with and without an fp16-safe VAE
    safe = build_fp16_safe_vae(tmp_path / "sdxl-vae-fp16-fix")
    stock = models.load_diffusion_pipeline(tiny["sdxl"].config(diffusion_dtype="float16"))
    fixed = models.load_diffusion_pipeline(tiny["sdxl"].config(diffusion_dtype="float16", sdxl_vae=str(safe)))
    seen: dict[str, torch.dtype] = {}

    def watch(name: str) -> Any:
        return lambda module, args: seen.__setitem__(name, args[0].dtype)

    hooks = [
        stock.pipe.vae.decoder.register_forward_pre_hook(watch("stock")),
        fixed.pipe.vae.decoder.register_forward_pre_hook(watch("fixed")),
    ]
    latents = torch.randn(1, 4, 40, 24, generator=torch.Generator().manual_seed(0)).half()
    # when
    try:
        out_stock = decode_latents(stock.pipe, latents)
        out_fixed = decode_latents(fixed.pipe, latents)
    finally:
        for hook in hooks:
            hook.remove()
    # then: the stock VAE (force_upcast) decodes in float32, the fp16-safe one in float16
    assert fixed.key.vae == str(safe)
    assert fixed.pipe.vae.config.force_upcast is False
    assert stock.pipe.vae.config.force_upcast is True
    assert seen == {"stock": torch.float32, "fixed": torch.float16}
    assert real_dtypes(stock.pipe)["vae"] == {torch.float16}  # cast back after decoding
    assert real_dtypes(fixed.pipe)["vae"] == {torch.float16}
    assert out_stock.shape == out_fixed.shape == (80, 48, 3) and out_fixed.dtype == np.uint8


def test_missing_fp16_safe_vae_folder_is_unavailable(tiny, seg, tmp_path):
    # given
    config = tiny["sdxl"].config(sdxl_vae=str(tmp_path / "no-vae"))
    # when / then
    with pytest.raises(ModelUnavailable, match="SHOPASSETS_SDXL_VAE"):
        DiffusionEngine(config).render(seg, scene(count=1))


@pytest.mark.parametrize(
    ("output", "family", "bucket", "window"),
    [
        ((1600, 1600), "sdxl", (1024, 1024), (0, 0, 1024, 1024)),
        ((1080, 1350), "sdxl", (896, 1152), (0, 16, 896, 1120)),
        ((1080, 1920), "sdxl", (768, 1344), (6, 0, 756, 1344)),
        ((1920, 1080), "sdxl", (1344, 768), (0, 6, 1344, 756)),
        ((1920, 600), "sdxl", (1536, 640), (0, 80, 1536, 480)),
        ((1600, 1600), "sd15", (512, 512), (0, 0, 512, 512)),
        ((1080, 1920), "sd15", (384, 704), (0, 10, 384, 683)),
        ((1200, 628), "sd15", (704, 384), (0, 8, 704, 368)),
    ],
)
def test_generation_canvas_is_a_training_bucket_with_the_output_framed_in_it(output, family, bucket, window):
    # when
    canvas = generation_canvas(output, family)
    # then
    assert canvas.size == bucket
    assert bucket in BUCKETS[family]
    assert canvas.window == window
    x, y, w, h = canvas.window
    assert 0 <= x and x + w <= bucket[0] and 0 <= y and y + h <= bucket[1]
    assert abs(w / h - output[0] / output[1]) < 0.01


def test_every_common_output_size_maps_to_few_repeating_shapes():
    """Shapes repeat (compiled kernels are reused): every poster and clip size of the
    project lands on one of nine buckets per family, all multiples of 64."""
    sizes = [(1080, 1080), (1080, 1350), (1080, 1920), (1200, 628), (1000, 1500), (800, 800), (1920, 600)]
    sizes += [(w, h) for w in range(256, 4097, 160) for h in range(256, 4097, 224)]
    for family in ("sd15", "sdxl"):
        shapes = {generation_canvas(s, family).size for s in sizes}
        assert shapes <= set(BUCKETS[family])
        assert all(w % 64 == 0 and h % 64 == 0 for w, h in shapes)
    assert generation_canvas(OUT, "sd15", 64).size == (48, 80)


def _layout(seg: Segmentation, theme_name: str, out: tuple[int, int], family: str = "sdxl"):
    theme = get_theme(theme_name)
    placed = place_product(seg.cutout, out, scene_box(theme, seg.cutout.size, out, 0.6))
    canvas = generation_canvas(out, family)
    preview = set_preview(theme, placed, canvas)
    return theme, placed, canvas, preview, inpaint_layout(placed, canvas, preview.set_only)


@pytest.mark.parametrize("theme_name", ["marble_counter", "wooden_table", "podium"])
def test_canny_control_outlines_the_product_and_the_sets_structure(seg, theme_name):
    """Edges where the set has structure (the table's back edge, the podium), not only at
    the product: a control image empty around the product pushes the set towards flat."""
    # given
    theme, placed, canvas, preview, layout = _layout(seg, theme_name, (1600, 1600))
    # when
    control = canny_control(layout, preview)
    # then
    edges = np.asarray(control.image.convert("L")) > 0
    assert control.image.size == canvas.size == (1024, 1024)
    alpha = np.asarray(layout.alpha) > 0
    x0, x1 = np.flatnonzero(alpha.any(axis=0))[[0, -1]]
    # the product's outline
    assert edges[alpha].any() or edges[np.roll(alpha, 1, axis=1) & ~alpha].any()
    # lines of the set away from the product, in the columns left and right of it
    beside = edges.copy()
    beside[:, max(0, x0 - 8) : x1 + 9] = False
    rows = np.flatnonzero(beside.sum(axis=1) > 0.2 * (canvas.size[0] - (x1 - x0)))
    assert rows.size > 0, "no structural line crosses the set"
    # a horizontal line at the floor's back edge, where the studio engine draws it
    from generation.sets import stage_at_box

    scale = canvas.size[1] / 1600
    stage = stage_at_box(theme, placed.box, (1600, 1600))
    assert np.min(np.abs(rows - stage.horizon * scale)) < 0.03 * canvas.size[1]
    # no edges inside the product's opaque core other than its own
    product_only, _ = canny_control(layout).image, None
    inside = np.asarray(layout.alpha) == 255
    assert np.array_equal(edges[inside], (np.asarray(product_only.convert("L")) > 0)[inside])


def test_set_edges_leave_texture_and_grain_out(seg):
    """The structure comes from a blurred set: a seamless sweep has next to no lines."""
    # given
    _, _, canvas, preview, _ = _layout(seg, "studio_sweep", (1600, 1600))
    # then: under 0.5 % of the canvas is an edge of the set
    assert preview.structure.mean() < 0.005


def test_init_and_depth_source_are_the_product_standing_in_its_set(seg, monkeypatch):
    """The depth estimator sees the product placed in the intended set, not over grey.
    (The estimator is a recorder standing in for a model whose weights cannot be
    downloaded here.)"""
    from generation.engines import conditioning

    # given
    theme, placed, canvas, preview, layout = _layout(seg, "podium", (1080, 1350))
    seen: list[Image.Image] = []

    def estimator(image: Image.Image) -> Image.Image:
        seen.append(image)
        return image.convert("L")

    monkeypatch.setattr(models, "load_depth_estimator", lambda name, config: estimator)
    monkeypatch.setattr(conditioning, "require_depth", lambda config: None)
    # when
    control = conditioning.depth_control(layout, GenerationConfig(depth_estimator="recorder"))
    # then
    (source,) = seen
    assert source.size == control.image.size == canvas.size
    pixels = np.asarray(source)
    alpha = np.asarray(layout.alpha)
    # the product's own pixels where it stands
    core = alpha == 255
    assert np.array_equal(pixels[core], np.asarray(layout.product)[core])
    # around it the set (podium, wall), not neutral grey
    around = alpha == 0
    assert np.mean(np.all(pixels[around] == NEUTRAL, axis=-1)) < 0.01
    assert np.abs(pixels[around].astype(int) - np.asarray(preview.set_only)[around]).max() == 0
    # the band outside the output's frame continues the set
    x, y, w, h = canvas.window
    assert y > 0 and pixels[:y].std() > 0


def test_inpaint_mask_keeps_only_the_product_core_and_paints_outside_the_frame(seg):
    # given
    _, placed, canvas, preview, layout = _layout(seg, "marble_counter", (1080, 1350), "sd15")
    # then
    mask = np.asarray(layout.mask)
    assert layout.mask.size == layout.init.size == canvas.size == (448, 576)
    assert set(np.unique(mask)) == {0, 255}
    keep = mask == 0
    assert keep.sum() > 0
    assert not keep[0].any() and not keep[-1].any() and not keep[:, 0].any()
    # kept pixels are opaque product pixels, shrunk by the margin
    assert not np.any(keep & (np.asarray(layout.alpha) < 255))
    assert keep.sum() > 0.8 * (np.asarray(layout.alpha) == 255).sum()


@pytest.mark.parametrize(
    ("out", "anchor_theme"),
    [((1600, 1600), "marble_counter"), ((1920, 1080), "podium")],
)
def test_layout_in_the_window_matches_a_resize_of_the_full_canvas(seg, out, anchor_theme):
    """The crop-based layout puts the product where a full-canvas downscale would."""
    # given
    theme = get_theme(anchor_theme)
    box = scene_box(theme, seg.cutout.size, out, 0.6)
    placed = place_product(seg.cutout, out, box)
    canvas = generation_canvas(out, "sdxl")
    x, y, w, h = canvas.window
    full = Image.new("RGB", out, NEUTRAL)
    full.paste(placed.layer, box[:2], placed.layer)
    # when
    layout = inpaint_layout(placed, canvas)
    # then
    got = np.asarray(layout.product, int)[y : y + h, x : x + w]
    diff = np.abs(got - np.asarray(full.resize((w, h), RESAMPLE), int))
    assert diff.max() <= 16
    assert diff.mean() < 0.5


def test_compile_flag_compiles_the_unet_and_controlnet_in_place(tiny, monkeypatch):
    """With diffusion_compile the UNet and ControlNet are wrapped by torch.compile (kept as
    their own classes, which diffusers checks); without it they are not. (Compiling runs
    on the first call: minutes per shape, so this test does not call the model.)"""
    # given / when
    plain = models.load_diffusion_pipeline(tiny["sd15"].config())
    compiled = models.load_diffusion_pipeline(tiny["sd15"].config(diffusion_compile=True))
    # then
    assert compiled.key.compiled and not plain.key.compiled
    assert compiled.pipe.unet._compiled_call_impl is not None
    assert "forward" in compiled.pipe.controlnet.__dict__  # its forward is the compiled one
    assert type(compiled.pipe.unet).__name__ == "UNet2DConditionModel"
    assert type(compiled.pipe.controlnet).__name__ == "ControlNetModel"
    assert plain.pipe.unet._compiled_call_impl is None
    assert "forward" not in plain.pipe.controlnet.__dict__
    assert torch._dynamo.config.recompile_limit >= 64


def test_compiled_chunks_are_powers_of_two(tiny):
    from generation.engines.denoise import variants_per_call

    # given
    compiled = models.load_diffusion_pipeline(tiny["sd15"].config(diffusion_compile=True))
    plain = models.load_diffusion_pipeline(tiny["sd15"].config())
    config = GenerationConfig()
    # then
    assert [variants_per_call(compiled, (48, 80), n, config) for n in (1, 3, 7, 16)] == [1, 2, 4, 16]
    assert [variants_per_call(plain, (48, 80), n, config) for n in (1, 3, 7, 16)] == [1, 3, 7, 16]


def test_tf32_is_enabled_for_what_stays_float32():
    # given
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    before = (matmul.fp32_precision, conv.fp32_precision)
    matmul.fp32_precision = "ieee"
    conv.fp32_precision = "ieee"
    try:
        # when
        models.enable_tf32()
        # then
        assert (matmul.fp32_precision, conv.fp32_precision) == ("tf32", "tf32")
    finally:
        matmul.fp32_precision, conv.fp32_precision = before


def test_the_merchants_words_are_kept_whole_within_the_token_window(tmp_path):
    # given: the byte-level tokenizer of the tiny models (one token per character)
    tokenizer = byte_tokenizer(tmp_path / "tokenizer")

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    merchant = "amber glass perfume bottle beside fresh lemons"
    spec = scene(theme="marble_counter", prompt=merchant, negative_prompt="plastic")
    # when
    prompt, negative = scene_prompt(spec, count, 75)
    # then
    # the long first theme phrase does not fit beside them: the shorter ones do, in order;
    # the quality words do not
    assert prompt == "warm soft light, blurred neutral wall, " + merchant
    assert count(prompt) <= 75
    assert "plastic" in negative and count(negative) <= 75
    # without a window everything is kept, theme first, quality last
    full, _ = scene_prompt(spec)
    assert full.startswith(get_theme("marble_counter").prompt + ", " + merchant + ", professional")


def test_a_merchant_text_longer_than_the_window_keeps_its_first_words(tmp_path):
    tokenizer = byte_tokenizer(tmp_path / "tokenizer")

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    words = "a tall frosted glass bottle of rose water with a gold cap on a bathroom shelf near towels"
    prompt, _ = scene_prompt(scene(prompt=words), count, 40)
    assert words.startswith(prompt) and count(prompt) <= 40 and len(prompt) > 20


def test_engine_prompt_fits_the_text_encoder_and_keeps_the_merchants_words(tiny, seg):
    # given: a theme text far longer than the tiny tokenizer's window (one token per byte)
    merchant = "amber bottle, lemons"
    # when
    image = DiffusionEngine(tiny["sdxl"].config()).render(seg, scene(count=1, prompt=merchant))[0]
    # then
    prompt = image.meta["prompt"]
    assert merchant in prompt
    assert len(prompt.replace(" ", "")) <= 75


def test_clip_with_diffusion_motion_runs_through_run_outputs(tmp_path_factory, tmp_path):
    """The service's path: run_outputs with only a GenerationConfig (the video model named
    by clip_motion_model, as SHOPASSETS_CLIP_MOTION_MODEL sets it). Tiny random SVD:
    plumbing and fidelity, not motion quality."""
    # given
    diffusion_motion.clear_motion_pipelines()
    svd = build_svd(tmp_path_factory.mktemp("tiny-svd") / "svd")
    config = GenerationConfig.from_env(
        {
            "SHOPASSETS_DEVICE": "cpu",
            "SHOPASSETS_LOCAL_FILES_ONLY": "true",
            "SHOPASSETS_CLIP_MOTION_MODEL": str(svd),
            "SHOPASSETS_CLIP_MOTION_NUM_FRAMES": "4",
            "SHOPASSETS_CLIP_MOTION_STEPS": "2",
            "SHOPASSETS_CLIP_MOTION_LONG_SIDE": "64",
            "SHOPASSETS_CLIP_MOTION_DECODE_CHUNK_SIZE": "2",
        }
    )
    photo, mask = product_photo((320, 400), "gradient")
    spec = ClipSpec(size=(270, 480), duration=5, preset="story", style="push_in", motion="diffusion")
    # when
    result = run_outputs(
        photo, [OutputRequest("clip", clip=spec)], mask=mask, config=config, workdir=tmp_path
    )
    # then
    (clip,) = result.clips
    assert clip.path.exists() and clip.path.parent == tmp_path
    assert clip.meta["motion"] == "diffusion"
    assert clip.fidelity.identical
    # the video model named by the configuration was loaded and used
    assert [key[0] for key in diffusion_motion._pipes] == [str(svd)]
    diffusion_motion.clear_motion_pipelines()


def test_motion_settings_are_validated_at_start_up():
    with pytest.raises(InvalidSpec, match="clip_motion_long_side must be a multiple of 64"):
        GenerationConfig.from_env({"SHOPASSETS_CLIP_MOTION_LONG_SIDE": "100"})
    with pytest.raises(InvalidSpec, match="clip_motion_num_frames must be 2..64"):
        GenerationConfig(clip_motion_num_frames=1)


def test_diffusion_settings_are_validated_at_start_up():
    with pytest.raises(InvalidSpec, match="diffusion_dtype must be one of auto, float16, bfloat16, float32"):
        GenerationConfig.from_env({"SHOPASSETS_DIFFUSION_DTYPE": "int8"})
    with pytest.raises(InvalidSpec, match="control_end must be in"):
        GenerationConfig(control_end=0.0)
    with pytest.raises(InvalidSpec, match="diffusion_cache_size must be at least 1"):
        GenerationConfig(diffusion_cache_size=0)
    assert GenerationConfig.from_env({"SHOPASSETS_CONTROLNET_SCALE": ""}).controlnet_scale is None
    assert GenerationConfig.from_env({"SHOPASSETS_CONTROLNET_SCALE": "0.4"}).controlnet_scale == 0.4


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


def test_prompt_is_theme_then_merchant_text_then_quality_and_names_the_brand_color():
    # when
    prompt, negative = scene_prompt(
        scene(theme="brand_color", brand_color=(25, 35, 85), prompt="glass perfume bottle")
    )
    # then
    setting = get_theme("brand_color").prompt.replace("the brand color", "navy blue")
    assert prompt.startswith(setting + ", glass perfume bottle, professional commercial product photography")
    assert "brand color" not in prompt
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


def test_registry_builds_the_diffusion_engine(tiny):
    engine = get_engine("diffusion", tiny["sd15"].config())
    assert isinstance(engine, DiffusionEngine)
    assert engine.name == "diffusion"


@pytest.mark.timeout(2400)  # two families, 1 + 4 + 16 variants: minutes on a busy CPU
def test_gpu_check_runs_in_tiny_mode_and_prints_json_lines():
    """bench/gpu_check.sh end to end on the CPU with the tiny models: every check it makes
    on a GPU, as parseable JSON lines (the numbers themselves say nothing about a GPU)."""
    # when
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["bash", "bench/gpu_check.sh", "--tiny", "--repeats", "1"],
        cwd=root,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=2300,
    )
    # then
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    by_check: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_check.setdefault(row["check"], []).append(row)
    assert by_check["env"][0]["device"] == "cpu" and by_check["env"][0]["size"] == "tiny"
    assert [r["family"] for r in by_check["load"]] == ["sd15", "sdxl"]
    assert all(r["weight_bytes"] > 0 for r in by_check["load"])
    for family in ("sd15", "sdxl"):
        dtypes = {r["scheduler"]: r for r in by_check["dtype"] if r["family"] == family}
        assert set(dtypes) == set(SCHEDULER_NAMES)
        assert "SHOPASSETS_" in dtypes["lcm"]["refused"]
        for name in set(SCHEDULER_NAMES) - {"lcm"}:
            assert dtypes[name]["all_requested"] is True
            assert set(dtypes[name]["dtypes"].values()) == {"float32"}
        (flops,) = [r for r in by_check["flops"] if r["family"] == family]
        assert flops["step_with_controlnet"] > flops["step_unet_only"] > 0
        assert flops["whole_per_variant"] > flops["denoise_per_variant"] > 0
        times = [r for r in by_check["time"] if r["family"] == family]
        assert [r["variants"] for r in times] == [1, 4, 16]
        for r in times:
            assert r["bare_s"] > 0 and r["whole_s"] > 0
            # the seconds are printed rounded to 4 decimals, the ratio from the unrounded ones
            ratio = r["whole_s"] / r["bare_s"]
            slack = ratio * (5e-5 / r["bare_s"] + 5e-5 / r["whole_s"]) + 5e-5
            assert abs(r["whole_over_bare"] - ratio) <= slack
            assert r["peak_bytes_whole"] is None and r["mfu_bare"] is None  # no GPU here
    (target,) = by_check["target"]
    assert target["family"] == "sdxl" and target["met"] is False
    (summary,) = by_check["summary"]
    assert summary["measured_on_gpu"] is False
    assert summary["all_dtypes_as_requested"] is True
    assert summary["whole_over_bare_met"] is False  # never claimed without a GPU
