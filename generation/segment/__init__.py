"""Product segmentation behind a name -> backend registry.

Backends (each ``fn(image, config, mask) -> Segmentation``):

- ``alpha``: the upload's own alpha channel, or a mask the merchant uploaded with it.
- ``rembg``: a rembg model installed by ``python -m generation models pull`` (the
  configured one, or with ``auto`` the best installed), or a custom u2net-style .onnx.
- ``classical``: no weights; studio photos on plain or gradient backdrops.
- ``auto``: alpha when the upload cuts itself out (or a mask is given), else rembg when
  a model is installed and passes its checksums, else classical.

Backends are named as import strings so that asking for ``alpha`` never imports
onnxruntime or OpenCV. rembg sessions are built once per process and reused.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from PIL import Image

import generation.check as checks  # module import: generation.check imports this package too
from generation.config import GenerationConfig
from generation.errors import InvalidSpec
from generation.specs import SEGMENTERS as METHODS
from generation.types import Segmentation


class Segmenter(Protocol):
    def __call__(
        self,
        image: Image.Image,
        config: GenerationConfig | None = None,
        mask: Image.Image | None = None,
    ) -> Segmentation: ...


# method name -> "module:function"; METHODS (generation.specs) is these plus "auto"
BACKENDS: dict[str, str] = {
    "alpha": "generation.segment.alpha:segment_alpha",
    "rembg": "generation.segment.rembg_sessions:segment_rembg",
    "classical": "generation.segment.classical:segment_classical",
}


def get_segmenter(name: str) -> Segmenter:
    """The backend function registered as ``name`` (not ``auto``)."""
    if name not in BACKENDS:
        raise InvalidSpec(f"unknown segmenter {name!r}; choose one of {', '.join(METHODS)}")
    module_name, _, attr = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module_name), attr)


def weights_available(config: GenerationConfig | None = None, *, verify: bool = False) -> bool:
    """Whether rembg weights for the configured model are installed (never downloads).

    ``verify`` also checks their checksums (hashed once per process); without it only
    sizes are compared, which is what a web page can afford.
    """
    from generation.segment.rembg_sessions import weights_available as _available

    return _available(config, verify=verify)


def available_segmenters(config: GenerationConfig | None = None) -> list[str]:
    """Methods that can run on this install, ``auto`` first (a size check, nothing loaded).

    ``alpha`` is listed because it needs nothing installed, though it only works on
    uploads that have an alpha channel or come with a mask. ``rembg`` is listed only
    when a model is installed (``python -m generation models pull``).
    """
    config = config or GenerationConfig()
    names = ["auto", "alpha"]
    if weights_available(config):
        names.append("rembg")
    names.append("classical")
    return names


def choose_segmenter(
    image: Image.Image, config: GenerationConfig | None = None, mask: Image.Image | None = None
) -> str:
    """The backend ``auto`` runs for this upload: alpha, else rembg with the best installed
    model whose checksums match, else classical."""
    from generation.segment.alpha import has_meaningful_alpha

    if mask is not None or has_meaningful_alpha(image):
        return "alpha"
    if weights_available(config, verify=True):
        return "rembg"
    return "classical"


def segment(
    image: Image.Image,
    method: str = "auto",
    config: GenerationConfig | None = None,
    mask: Image.Image | None = None,
) -> Segmentation:
    """Split a product photo into product and background.

    ``mask`` is an optional merchant mask (mode L, white = product, the photo's size);
    it is used by ``alpha`` and ``auto`` and refused by the others. Raises
    ``SegmentationFailed`` (no trustworthy matte; the message says why),
    ``ModelUnavailable`` (rembg weights missing) or ``InvalidSpec`` (bad method/mask).
    ``Segmentation.segmenter`` names the backend that actually ran, e.g. "rembg:u2net".
    Every result carries its matte evidence (``generation.check.with_evidence``):
    ``confidence``, ``low_confidence`` and the named cues in ``evidence``.
    """
    config = config or GenerationConfig()
    if method not in METHODS:
        raise InvalidSpec(f"unknown segmenter {method!r}; choose one of {', '.join(METHODS)}")
    name = choose_segmenter(image, config, mask) if method == "auto" else method
    return checks.with_evidence(get_segmenter(name)(image, config, mask))


__all__ = [
    "BACKENDS",
    "METHODS",
    "Segmenter",
    "available_segmenters",
    "choose_segmenter",
    "get_segmenter",
    "segment",
    "weights_available",
]
