"""Builders for the segmentation tests: a tiny u2net-shaped ONNX model and photos.

The tiny model is a "darkness detector": two fixed convolutions and a sigmoid, so the
mask it predicts for a dark product on a light backdrop is known in advance. It has
u2net's interface (input 1x3x320x320, outputs shaped 1x1x320x320) so rembg's
``u2net_custom`` session runs it exactly as it runs u2net.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from tests.synthetic import background, product_mask, product_photo, product_texture

TINY_MODEL_NAME = "tiny_saliency.onnx"

# rembg feeds (pixel / max - mean) / std: a light backdrop averages about +2.4 over the
# three channels, a dark product about -1; the model splits them at this level.
_DARKNESS_SPLIT = 0.7
_GAIN = 4.0


def export_tiny_saliency(folder: Path) -> Path:
    """Write the tiny model to ``folder / TINY_MODEL_NAME`` and return its path."""
    import torch

    class TinySaliency(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # channel mean minus the split level: positive on light pixels
            self.brightness = torch.nn.Conv2d(3, 1, kernel_size=1)
            # 3x3 box blur, like a network's smooth output (replicated edges: no dark rim)
            self.smooth = torch.nn.Conv2d(
                1, 1, kernel_size=3, padding=1, padding_mode="replicate", bias=False
            )
            with torch.no_grad():
                self.brightness.weight.fill_(1.0 / 3.0)
                self.brightness.bias.fill_(-_DARKNESS_SPLIT)
                self.smooth.weight.fill_(1.0 / 9.0)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            saliency = torch.sigmoid(-_GAIN * self.smooth(self.brightness(x)))
            # u2net returns several side outputs; rembg reads the first one
            return saliency, saliency * 1.0

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TINY_MODEL_NAME
    torch.onnx.export(
        TinySaliency().eval(),
        (torch.zeros(1, 3, 320, 320),),
        str(path),
        dynamo=False,
        input_names=["input.1"],
        output_names=["d0", "d1"],
        opset_version=17,
    )
    return path


def dark_silhouette(size: tuple[int, int], *, scale: float = 0.6) -> tuple[Image.Image, Image.Image]:
    """(photo, mask): a dark bottle on the off-white backdrop, what the tiny model sees."""
    mask = product_mask(size, scale=scale)
    photo = background(size, "plain")
    photo.paste((40, 60, 50), (0, 0), mask)
    return photo, mask


def studio_photo(
    size: tuple[int, int], kind: str, *, seed: int = 0, shadow: float = 0.0
) -> tuple[Image.Image, Image.Image]:
    """(photo, exact mask) like a camera makes them: a soft cast shadow under the
    product (``shadow`` = how much it darkens the backdrop), a slightly soft lens,
    sensor noise and JPEG compression."""
    import cv2

    w, h = size
    mask = product_mask(size)
    if shadow:
        plate = np.asarray(background(size, kind)).astype(np.float32)
        ys, xs = np.nonzero(np.asarray(mask))
        blot = np.zeros((h, w), np.float32)
        centre = (int(xs.mean()) + w // 25, int(ys.max()) - 5)
        cv2.ellipse(blot, centre, (int(np.ptp(xs) * 0.75), h // 45), 0, 0, 360, 1.0, -1)
        blot = cv2.GaussianBlur(blot, (0, 0), h / 65)
        photo = Image.fromarray((plate * (1 - shadow * blot[..., None])).astype(np.uint8))
        photo.paste(product_texture(size), (0, 0), mask)
    else:
        photo, mask = product_photo(size, kind)
    return camera_like(photo, seed=seed), mask


def camera_like(photo: Image.Image, *, seed: int = 0) -> Image.Image:
    """A slightly soft lens, sensor noise (2.5 levels) and JPEG compression (q88)."""
    soft = np.asarray(photo.filter(ImageFilter.GaussianBlur(0.8))).astype(np.float32)
    soft += np.random.default_rng(seed).normal(0, 2.5, soft.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(soft, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=88)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def mask_box(mask: Image.Image) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the white pixels of a 0/255 mask."""
    ys, xs = np.nonzero(np.asarray(mask) > 127)
    return (int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def boxes_close(box: tuple[int, int, int, int], expected: tuple[int, int, int, int], px: int) -> bool:
    """Every edge of ``box`` (x, y, width, height) within ``px`` of ``expected``'s."""
    (x, y, w, h), (ex, ey, ew, eh) = box, expected
    return all(abs(a - b) <= px for a, b in [(x, ex), (y, ey), (x + w, ex + ew), (y + h, ey + eh)])
