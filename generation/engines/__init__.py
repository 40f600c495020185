"""Scene engines behind a name -> class registry.

Classes are named as import strings so that asking for the studio engine never
imports torch. Engines are built once per process per config and reused.
"""

from __future__ import annotations

import importlib
import threading
from typing import Protocol

from generation.config import GenerationConfig
from generation.errors import InvalidSpec
from generation.specs import SceneSpec
from generation.types import ImageCallback, ProgressCallback, RenderedImage, Segmentation, no_progress

ENGINE_CLASSES: dict[str, str] = {
    "studio": "generation.engines.studio:StudioEngine",
    "diffusion": "generation.engines.diffusion:DiffusionEngine",
}


class Engine(Protocol):
    name: str

    def render(
        self,
        seg: Segmentation,
        spec: SceneSpec,
        progress: ProgressCallback = no_progress,
        on_image: ImageCallback | None = None,
    ) -> list[RenderedImage]:
        """Every scene of ``spec``; each is handed to ``on_image`` as soon as it is finished
        (before the next one starts where the engine makes them one by one)."""
        ...


_cache: dict[tuple[str, GenerationConfig], Engine] = {}
_lock = threading.Lock()


def get_engine(name: str, config: GenerationConfig | None = None) -> Engine:
    """The process-wide engine instance for ``name`` and ``config``."""
    if name not in ENGINE_CLASSES:
        raise InvalidSpec(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_CLASSES)}")
    config = config or GenerationConfig()
    key = (name, config)
    with _lock:
        engine = _cache.get(key)
        if engine is None:
            module_name, _, class_name = ENGINE_CLASSES[name].partition(":")
            cls = getattr(importlib.import_module(module_name), class_name)
            engine = cls(config)
            _cache[key] = engine
        return engine


def clear_engines() -> None:
    """Forget cached engines (tests; a worker freeing GPU memory)."""
    with _lock:
        _cache.clear()
