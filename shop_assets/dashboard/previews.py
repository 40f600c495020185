"""Poster template previews for the new-job form and the campaign editor, drawn at install time.

Each template is rendered once with a sample product (the bottle from
``generation.samples``) at the feed size and kept as a small WebP under
``dashboard/previews/``. A template whose preview is missing is simply shown without one.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import numpy as np

from generation.posters.render import render_poster
from generation.posters.spec import PosterSpec
from generation.posters.template import TEMPLATE_DIR, list_templates
from generation.samples import product_photo
from generation.segment.matte import build_segmentation

OUTPUT_DIR = Path(__file__).resolve().parent / "static" / "dashboard" / "previews"
STATIC_PREFIX = "dashboard/previews/"
SIDE = 320
STAMP = "stamp.json"


def _fingerprint(names: list[str]) -> str:
    digest = hashlib.sha256(json.dumps([names, SIDE]).encode())
    for path in sorted(TEMPLATE_DIR.glob("*.json")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_template_previews(
    out_dir: Path = OUTPUT_DIR, *, names: list[str] | None = None, force: bool = False
) -> list[Path]:
    """Write ``<template>.webp`` for each template; skipped when the template files are unchanged."""
    names = names or list_templates()
    stamp = out_dir / STAMP
    fingerprint = _fingerprint(names)
    files = [out_dir / f"{name}.webp" for name in names]
    if not force and stamp.is_file() and json.loads(stamp.read_text()).get("fingerprint") == fingerprint:
        if all(f.is_file() for f in files):
            return files
    out_dir.mkdir(parents=True, exist_ok=True)
    photo, mask = product_photo((640, 800), "plain")
    seg = build_segmentation(photo, np.asarray(mask), "sample")
    for name, path in zip(names, files, strict=True):
        spec = PosterSpec(
            template=name,
            size="feed",
            headline="Insulated bottle",
            subline="Cold for 24 hours",
            price=Decimal("29.00"),
            compare_at_price=Decimal("39.00"),
        )
        image = render_poster(seg, spec).image.convert("RGB")
        image.thumbnail((SIDE, SIDE))
        image.save(path, format="WEBP", quality=80)
    stamp.write_text(json.dumps({"fingerprint": fingerprint}))
    return files


def preview_path(name: str) -> str:
    """The static path of ``name``'s preview, or "" when it has not been built."""
    return f"{STATIC_PREFIX}{name}.webp" if (OUTPUT_DIR / f"{name}.webp").is_file() else ""
