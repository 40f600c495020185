"""Sized pictures of a job's assets for its page: a 2000 px packshot or a 1080x1920 poster is
shown in a card a few hundred pixels wide, so the page loads a WebP of one of the server's
widths (``storage.THUMBNAIL_WIDTHS``) instead of the file itself.

Each is made once per asset and width, from the stored file, and stored through the default
storage beside it (``storage.thumbnail_key``: under the job's folder, named after the bytes it
was made from), so every web process and node finds it there. The URL names an asset and a
width from that list, never a key; the lightbox and the downloads still get the file itself.
"""

from __future__ import annotations

import io

from django.core.files.storage import default_storage
from PIL import Image

from shop_assets.jobs import storage
from shop_assets.jobs.models import Asset

PICTURE_FORMATS = ("png", "jpg", "webp")
QUALITY = 85


def thumbnail(asset: Asset, width: int) -> str:
    """The key of ``asset``'s picture at most ``width`` px wide (one of
    ``storage.THUMBNAIL_WIDTHS``), made and stored the first time it is asked for."""
    if width not in storage.THUMBNAIL_WIDTHS or asset.format not in PICTURE_FORMATS:
        raise ValueError(f"no {width} px thumbnail of a {asset.format} asset")
    key = storage.thumbnail_key(asset.storage_key, asset.checksum, width)
    if not default_storage.exists(key):
        storage.put_bytes(key, _webp(storage.read_bytes(asset.storage_key), width))
    return key


def _webp(data: bytes, width: int) -> bytes:
    with Image.open(io.BytesIO(data)) as picture:
        picture.load()
        # a cutout keeps its transparency; anything else is drawn as RGB
        image = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    if image.width > width:
        image = image.resize(
            (width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS
        )
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=QUALITY, method=4)
    return out.getvalue()
