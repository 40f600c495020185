"""A finished poster and how it is written: image, sidecar JSON and layout JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from generation.encode import encode_image
from generation.errors import InvalidSpec
from generation.posters.checks import (
    PosterChecks,
)
from generation.types import PlacedProduct, RenderedImage


@dataclass(frozen=True)
class RenderedPoster:
    """A finished poster: the image, everything needed to re-render it, and its checks."""

    image: Image.Image
    layout: dict[str, Any]  # JSON-ready; see ``rerender``
    checks: PosterChecks
    placed: PlacedProduct
    name: str
    template: str
    output_format: str = "png"
    meta: dict[str, Any] = field(default_factory=dict)
    # the poster just before its text was drawn: what the contrast checks sample
    behind: Image.Image | None = field(default=None, compare=False, repr=False)

    def rendered_image(self) -> RenderedImage:
        """As the library's common output type (kind ``poster``) for sidecars and storage."""
        return RenderedImage(
            image=self.image,
            kind="poster",
            name=self.name,
            product_box=self.placed.box,
            fidelity=self.checks.fidelity,
            meta={**self.meta, "checks": self.checks.to_dict()},
        )

    def sidecar(self) -> dict[str, Any]:
        return self.rendered_image().sidecar()

    def layout_json(self) -> str:
        return json.dumps(self.layout, indent=2, ensure_ascii=False) + "\n"


def poster_file_names(posters: Sequence[RenderedPoster], *, stem: str) -> list[str]:
    """(image, sidecar, layout) names per poster: ``<stem>_<name>.<ext>``, ``.json``, ``.layout.json``."""
    names = []
    for p in posters:
        ext = "jpg" if p.output_format in ("jpg", "jpeg") else p.output_format
        base = f"{stem}_{p.name}"
        names += [f"{base}.{ext}", f"{base}.json", f"{base}.layout.json"]
    return names


def write_posters(
    posters: Sequence[RenderedPoster], out_dir: str | os.PathLike[str], *, stem: str
) -> list[Path]:
    """Write each poster (``generation.encode``), its sidecar and its layout JSON.

    Same all-or-nothing approach as ``generation.sidecar.write_outputs``: everything is
    encoded to hidden temporary files first and renamed into place only when all of
    them were written. Returns the image paths.
    """
    from generation.sidecar import SIDECAR_DEFAULTS, _json_default, write_all_or_nothing

    names = poster_file_names(posters, stem=stem)
    if len(set(names)) != len(names):
        raise InvalidSpec(f"two posters would share a file name: {names}")

    def files() -> Iterator[tuple[str, bytes]]:
        for k, poster in enumerate(posters):
            image_name, side_name, layout_name = names[3 * k : 3 * k + 3]
            yield image_name, encode_image(poster.image, poster.output_format)
            sidecar = {**SIDECAR_DEFAULTS, **poster.sidecar(), "file": image_name, "layout_file": layout_name}
            side = json.dumps(sidecar, indent=2, default=_json_default, ensure_ascii=False) + "\n"
            yield side_name, side.encode()
            yield layout_name, poster.layout_json().encode()

    return write_all_or_nothing(Path(out_dir), files())[::3]  # the images
