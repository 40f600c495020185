"""Tiny random SD1.5 / SDXL ControlNet inpaint models, saved like hub checkpoints.

Nothing is downloaded: each model is built from a small config with random weights and
written with ``save_pretrained`` into two folders laid out like the real repositories,
an inpaint pipeline folder (``model_index.json``, unet/, vae/, text_encoder/, tokenizer/,
scheduler/) and a ControlNet folder. Production code then loads them with
``from_pretrained`` exactly as it loads real checkpoints.

The images these models paint are noise. They exercise plumbing, shapes, determinism and
fidelity, never image quality.

The builders take the configs as arguments so that ``bench/bench_diffusion.py`` can
assemble real-size random models with the same code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generation.config import GenerationConfig


@dataclass(frozen=True)
class ModelFolders:
    """Where one family's models were written."""

    family: str  # sd15 | sdxl
    pipeline: Path
    controlnet: Path

    def config(self, **overrides: Any) -> GenerationConfig:
        """A CPU config pointing at these folders, offline, 2 steps, 64 px generation base."""
        models = (
            {"sd15_inpaint_model": str(self.pipeline), "sd15_controlnet_canny": str(self.controlnet)}
            if self.family == "sd15"
            else {"sdxl_inpaint_model": str(self.pipeline), "sdxl_controlnet_canny": str(self.controlnet)}
        )
        values: dict[str, Any] = {
            "device": "cpu",
            "diffusion_family": self.family,
            "local_files_only": True,
            "steps": 2,
            "generation_base": 64,
            **models,
        }
        values.update(overrides)
        return GenerationConfig(**values)


@dataclass(frozen=True)
class ModelConfigs:
    """Constructor kwargs for each component of one family."""

    unet: dict[str, Any]
    controlnet: dict[str, Any]
    vae: dict[str, Any]
    text_encoder: dict[str, Any]
    # SDXL only: the second (projection) text encoder
    text_encoder_2: dict[str, Any] | None = None
    scheduler: dict[str, Any] = field(default_factory=dict)


# Token ids of the byte-level tokenizer below: 0..511 are characters, then the two specials.
BOS_ID = 512
EOS_ID = 513
TOKENIZER_VOCAB = 514

_TINY_TEXT = {
    "bos_token_id": BOS_ID,
    "eos_token_id": EOS_ID,
    "pad_token_id": EOS_ID,
    "hidden_size": 32,
    "intermediate_size": 37,
    "layer_norm_eps": 1e-05,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "vocab_size": 1000,
    "hidden_act": "gelu",
    "projection_dim": 32,
    "max_position_embeddings": 77,
}

# A VAE with two blocks downsamples by 2, so a 64x64 image becomes 32x32 latents.
_TINY_VAE = {
    "block_out_channels": (32, 64),
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D", "DownEncoderBlock2D"),
    "up_block_types": ("UpDecoderBlock2D", "UpDecoderBlock2D"),
    "latent_channels": 4,
    "norm_num_groups": 32,
    "sample_size": 64,
}

_SD_SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
    "skip_prk_steps": True,
    "set_alpha_to_one": False,
}

SD15_TINY = ModelConfigs(
    unet={
        "block_out_channels": (32, 64),
        "layers_per_block": 2,
        "sample_size": 32,
        # the inpaint UNet sees noisy latents (4) + mask (1) + masked-image latents (4)
        "in_channels": 9,
        "out_channels": 4,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        "cross_attention_dim": 32,
        "norm_num_groups": 32,
    },
    controlnet={
        "block_out_channels": (32, 64),
        "layers_per_block": 2,
        "in_channels": 4,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "cross_attention_dim": 32,
        "conditioning_embedding_out_channels": (16, 32),
        "norm_num_groups": 32,
    },
    vae=_TINY_VAE,
    text_encoder=_TINY_TEXT,
    scheduler=_SD_SCHEDULER,
)

_SDXL_COND = {
    "attention_head_dim": (2, 4),
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 8,
    "transformer_layers_per_block": (1, 2),
    # 6 size/crop ids x 8 + the pooled text embedding of text_encoder_2 (32)
    "projection_class_embeddings_input_dim": 80,
    # text_encoder (32) and text_encoder_2 (32) hidden states are concatenated
    "cross_attention_dim": 64,
}

SDXL_TINY = ModelConfigs(
    unet={
        "block_out_channels": (32, 64),
        "layers_per_block": 2,
        "sample_size": 32,
        "in_channels": 9,
        "out_channels": 4,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        **_SDXL_COND,
    },
    controlnet={
        "block_out_channels": (32, 64),
        "layers_per_block": 2,
        "in_channels": 4,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "conditioning_embedding_out_channels": (16, 32),
        **_SDXL_COND,
    },
    vae=_TINY_VAE,
    text_encoder=_TINY_TEXT,
    text_encoder_2=_TINY_TEXT,
    scheduler={
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "steps_offset": 1,
        "timestep_spacing": "leading",
    },
)


def byte_tokenizer(folder: Path) -> Any:
    """A CLIP tokenizer that splits text into bytes (no merges), written under ``folder``.

    The real CLIP vocabulary lives on the hub; a byte-level vocabulary with an empty merge
    list tokenizes any text offline, which is all a random text encoder needs.
    """
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    folder.mkdir(parents=True, exist_ok=True)
    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": i + len(chars) for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = BOS_ID
    vocab["<|endoftext|>"] = EOS_ID
    assert len(vocab) == TOKENIZER_VOCAB
    vocab_file = folder / "vocab.json"
    merges_file = folder / "merges.txt"
    vocab_file.write_text(json.dumps(vocab), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer(str(vocab_file), str(merges_file), model_max_length=77)


def build_sd15(
    folder: Path, configs: ModelConfigs = SD15_TINY, *, device: str = "cpu", dtype: Any = None
) -> ModelFolders:
    """Write a random SD1.5 inpaint pipeline and canny ControlNet under ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        PNDMScheduler,
        StableDiffusionInpaintPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    dtype = dtype or torch.float32
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(**configs.unet)
        controlnet = ControlNetModel(**configs.controlnet)
        vae = AutoencoderKL(**configs.vae)
        text_encoder = CLIPTextModel(CLIPTextConfig(**configs.text_encoder))
    # The real inpainting repository holds a plain inpaint pipeline; the ControlNet is a
    # separate repository. Mirror that layout so loading code is the production path.
    pipe = StableDiffusionInpaintPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=byte_tokenizer(folder / "_tokenizer"),
        unet=unet,
        scheduler=PNDMScheduler(**configs.scheduler),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    return _save("sd15", folder, pipe, controlnet, dtype)


def build_sdxl(
    folder: Path, configs: ModelConfigs = SDXL_TINY, *, device: str = "cpu", dtype: Any = None
) -> ModelFolders:
    """Write a random SDXL inpaint pipeline and canny ControlNet under ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        EulerDiscreteScheduler,
        StableDiffusionXLInpaintPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    assert configs.text_encoder_2 is not None, "SDXL needs text_encoder_2"
    dtype = dtype or torch.float32
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(**configs.unet)
        controlnet = ControlNetModel(**configs.controlnet)
        vae = AutoencoderKL(**configs.vae)
        text_encoder = CLIPTextModel(CLIPTextConfig(**configs.text_encoder))
        text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**configs.text_encoder_2))
    tokenizer = byte_tokenizer(folder / "_tokenizer")
    pipe = StableDiffusionXLInpaintPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=EulerDiscreteScheduler(**configs.scheduler),
        requires_aesthetics_score=False,
    )
    return _save("sdxl", folder, pipe, controlnet, dtype)


def _save(family: str, folder: Path, pipe: Any, controlnet: Any, dtype: Any) -> ModelFolders:
    import torch

    if dtype != torch.float32:  # casting float32 to itself only prints diffusers warnings
        pipe.to(dtype=dtype)
        controlnet.to(dtype=dtype)
    folders = ModelFolders(family=family, pipeline=folder / "inpaint", controlnet=folder / "controlnet-canny")
    pipe.save_pretrained(folders.pipeline)
    controlnet.save_pretrained(folders.controlnet)
    return folders


def build_fp16_safe_vae(folder: Path, configs: ModelConfigs = SDXL_TINY) -> Path:
    """A VAE folder like madebyollin/sdxl-vae-fp16-fix: its config says fp16 needs no upcast."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(1)
    vae = AutoencoderKL(**{**configs.vae, "force_upcast": False})
    vae.save_pretrained(folder)
    return folder


def build_lcm_lora(folders: ModelFolders, folder: Path) -> Path:
    """A random LoRA on the tiny UNet's attention, saved as LCM-LoRA repositories are
    (``pytorch_lora_weights.safetensors`` in diffusers' key format). It is not distilled:
    it exercises loading, fusing and the LCM scheduler, not few-step quality."""
    import torch
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(2)
    unet = UNet2DConditionModel.from_pretrained(folders.pipeline / "unet")
    unet.add_adapter(
        LoraConfig(
            r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False
        )
    )
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    pipeline_cls = StableDiffusionPipeline if folders.family == "sd15" else StableDiffusionXLPipeline
    pipeline_cls.save_lora_weights(folder, unet_lora_layers=layers)
    return folder


def build_svd(folder: Path) -> Path:
    """A random Stable Video Diffusion pipeline (image-to-video), saved like the hub's."""
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=8,
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32,
        num_attention_heads=8,
        projection_class_embeddings_input_dim=96,
        addition_time_embed_dim=32,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        use_karras_sigmas=True,
    )
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        latent_channels=4,
    )
    # SVD resizes its conditioning image to 224 for the image encoder
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            projection_dim=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=224,
            intermediate_size=37,
            patch_size=32,
        )
    )
    pipe = StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=encoder,
        unet=unet,
        scheduler=scheduler,
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    )
    pipe.save_pretrained(folder)
    return folder
