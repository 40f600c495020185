"""Writing rendered images to a folder, each with a JSON sidecar saying what made it.

All files are first encoded to hidden temporary files in the output folder and only
renamed into place once every one of them encoded, so an error leaves no
half-written or partial set of outputs behind.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

from generation.errors import InvalidSpec
from generation.types import RenderedImage

IMAGE_FORMATS = ("png", "jpg")
JPEG_QUALITY = 92
# Keys every sidecar carries, null when they do not apply (a cutout has no theme).
SIDECAR_DEFAULTS: dict[str, Any] = {"segmenter": None, "engine": None, "theme": None, "seed": None}
# What a file is written from: its bytes, or a function writing them to a binary file.
FileContent = bytes | Callable[[BinaryIO], object]


def output_names(
    result_images: Iterable[RenderedImage], *, stem: str, image_format: str = "png"
) -> list[str]:
    """File names ``write_outputs`` will use, in order (for overwrite checks)."""
    return [_file_name(image, stem, image_format) for image in result_images]


def write_outputs(
    result_images: Iterable[RenderedImage],
    out_dir: str | os.PathLike[str],
    *,
    stem: str,
    image_format: str = "png",
) -> list[Path]:
    """Write each image and ``<file stem>.json`` beside it; return the image paths.

    The cutout keeps the photo's name (``<stem>.png``: it is the photo, transparent);
    every other image is ``<stem>_<image.name>``. Cutouts and masks are always PNG;
    packshots and scenes are PNG, or JPEG (quality 92) with ``image_format="jpg"``.
    """
    if image_format not in IMAGE_FORMATS:
        raise InvalidSpec(f"image format must be png or jpg, got {image_format!r}")
    images = list(result_images)
    names = output_names(images, stem=stem, image_format=image_format)
    if len(set(names)) != len(names):
        raise InvalidSpec(f"two outputs would share a file name: {names}")

    def files() -> Iterator[tuple[str, FileContent]]:
        for image, name in zip(images, names, strict=True):
            yield name, functools.partial(_save_image, image, suffix=Path(name).suffix)
            sidecar = {**SIDECAR_DEFAULTS, **image.sidecar(), "file": name}
            yield Path(name).with_suffix(".json").name, _json_bytes(sidecar)

    return write_all_or_nothing(Path(out_dir), files())[::2]  # the images


def _file_name(image: RenderedImage, stem: str, image_format: str) -> str:
    base = stem if image.kind == "cutout" else f"{stem}_{image.name}"
    return f"{base}.{_extension(image, image_format)}"


def _extension(image: RenderedImage, image_format: str) -> str:
    # Transparency only survives in PNG; a mask is data, not a photo.
    if image.kind in ("cutout", "mask") or image_format == "png":
        return "png"
    return "jpg"


def _save_image(image: RenderedImage, fh: Any, suffix: str) -> None:
    if suffix == ".jpg":
        image.image.convert("RGB").save(fh, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    else:
        image.image.save(fh, "PNG")


def write_all_or_nothing(folder: Path, files: Iterable[tuple[str, FileContent]]) -> list[Path]:
    """Write ``(name, bytes or fh -> None)`` files into ``folder`` (made if need be): all, or none.

    Each is first written to a hidden temporary file in ``folder`` (the same filesystem),
    and all are renamed into place only once every one was written: an error while
    writing (also one raised while ``files`` is iterated) removes the temporary files
    and leaves every final file as it was. Returns the final paths in order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []  # (temporary, final)
    try:
        # 1. encode everything to temporary files in the same folder
        for name, content in files:
            final = folder / name
            write = content if callable(content) else lambda fh, data=content: fh.write(data)
            staged.append((_stage(final, write), final))
        # 2. then rename them all into place
        for temporary, final in staged:
            os.replace(temporary, final)
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    return [final for _, final in staged]


def temporary_path(final: Path) -> Path:
    """A hidden, unique name beside ``final`` for writing it before it is renamed into place."""
    return final.with_name(f".{final.name}.{secrets.token_hex(6)}.tmp")


def _stage(final: Path, write: Callable[[BinaryIO], object]) -> Path:
    # Not tempfile.mkstemp: its 0600 mode would survive the rename; 0666 & umask is
    # what a plain open() gives the merchant's files.
    path = temporary_path(final)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, default=_json_default) + "\n").encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Image.Image):
        return f"<image {value.mode} {value.width}x{value.height}>"
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
