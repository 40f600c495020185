"""Photo URLs of a catalogue, fetched by the workers through the outbound client.

Every request goes through ``shop_assets.outbound`` (public addresses only, the checked
address pinned, every redirect hop checked again, size and time capped while the body
streams). A URL fetched before for the same product is asked with ``If-None-Match`` /
``If-Modified-Since``: ``304`` means the photo is unchanged and nothing is downloaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings

from shop_assets.outbound import (
    Limits,
    OutboundConnectionError,
    OutboundError,
    OutboundTimeout,
    default_client,
)

MAX_REDIRECTS = 3


class FetchFailed(Exception):
    """The photo could not be had. ``transient``: worth another try later."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Fetched:
    """A photo URL's answer: ``body`` is None when the server said it is unchanged (304)."""

    body: bytes | None
    checksum: str
    etag: str
    last_modified: str


def fetch_image(url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
    """GET ``url`` as a photo, conditionally when validators are given. Raises ``FetchFailed``."""
    headers = {"Accept": "image/jpeg, image/png, image/webp, image/heic, image/*;q=0.8"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    limits = Limits(
        connect_timeout=5.0,
        read_timeout=10.0,
        total_timeout=float(settings.BATCH_FETCH_SECONDS),
        max_bytes=settings.MAX_UPLOAD_BYTES,
        max_redirects=MAX_REDIRECTS,
    )
    try:
        with default_client().stream("GET", url, headers=headers, limits=limits) as answer:
            if answer.status == 304 and (etag or last_modified):
                return Fetched(
                    None,
                    "",
                    answer.headers.get("ETag", etag),
                    answer.headers.get("Last-Modified", last_modified),
                )
            if answer.status != 200:
                transient = answer.status >= 500 or answer.status in (408, 429)
                raise FetchFailed(f"the photo URL answered HTTP {answer.status}", transient=transient)
            if not answer.content_type.startswith("image/"):
                raise FetchFailed(
                    f"the photo URL answered {answer.content_type or 'no content type'}, not an image"
                )
            digest = hashlib.sha256()
            parts: list[bytes] = []
            for chunk in answer.iter_bytes():
                digest.update(chunk)
                parts.append(chunk)
            return Fetched(
                b"".join(parts),
                digest.hexdigest(),
                answer.headers.get("ETag", "")[:512],
                answer.headers.get("Last-Modified", "")[:64],
            )
    except (OutboundTimeout, OutboundConnectionError) as exc:
        raise FetchFailed(f"the photo URL could not be fetched: {exc}", transient=True) from None
    except OutboundError as exc:
        raise FetchFailed(f"the photo URL was refused: {exc}") from None
