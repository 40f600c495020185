"""Upload hardening: turn whatever a merchant uploads into a safe, upright sRGB image.

Only JPEG, PNG, WebP and HEIC/HEIF are decoded. Everything else, oversized files,
decompression bombs and damaged files are refused with ``ImageRejected`` whose
``code`` says why (``empty``, ``too_large``, ``too_many_pixels``, ``side_too_long``,
``unsupported_format``, ``corrupt``, ``unreadable``).

The order matters: the byte limit is enforced while reading (never more than
``max_bytes + 1`` bytes are read), the format is sniffed from magic bytes, the pixel
limit is checked from the header, and only then are pixels decoded.
"""

from __future__ import annotations

import io
import os
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps

from generation.errors import ImageRejected

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
ACCEPTED_TEXT = "JPEG, PNG, WebP or HEIC/HEIF"
_MB = 1024 * 1024

# Pillow's MAX_IMAGE_PIXELS and LOAD_TRUNCATED_IMAGES are process globals; decoding
# holds this lock while they are lowered so concurrent threads restore them correctly.
_decode_lock = threading.Lock()
_heif_registered = False

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 40 * _MB
    max_pixels: int = 50_000_000
    max_side: int = 12000


@dataclass(frozen=True)
class NormalizedImage:
    image: Image.Image  # RGB, or RGBA when the upload has real transparency; fully loaded
    source_format: str  # JPEG | PNG | WEBP | HEIF
    original_size: tuple[int, int]  # as stored in the file, before EXIF rotation
    orientation_applied: bool
    has_alpha: bool
    frames: int  # 1, or the frame count of an animated file (only the first is kept)


ImageSource = bytes | bytearray | memoryview | BinaryIO | str | os.PathLike[str]


@dataclass(frozen=True)
class ImageHeader:
    format: str  # JPEG | PNG | WEBP | HEIF, as sniffed from the magic bytes
    width: int  # as stored in the file, before EXIF rotation
    height: int


def normalize_image(
    data: ImageSource,
    limits: ImageLimits = ImageLimits(),  # noqa: B008 -- frozen, safe as a default
) -> NormalizedImage:
    """Decode an upload into an upright, fully loaded RGB/RGBA sRGB image.

    Raises ``ImageRejected`` (never a raw PIL or OS error) when the file cannot be used.
    """
    raw, detected = _read_and_sniff(data, limits)
    with _pillow_guards(limits):
        return _decode(raw, detected, limits)


def read_header(
    data: ImageSource,
    limits: ImageLimits = ImageLimits(),  # noqa: B008 -- frozen, safe as a default
) -> ImageHeader:
    """Format and size from the file's header, checked against ``limits``; no pixel is
    decoded, so this is cheap enough to run before deciding to decode at all.

    Raises ``ImageRejected`` exactly as ``normalize_image`` would for the same limits
    (empty, too large, unsupported, corrupt header, too many pixels, side too long).
    """
    raw, detected = _read_and_sniff(data, limits)
    with _pillow_guards(limits):
        with _open_checked(raw, detected, limits) as im:
            return ImageHeader(format=detected, width=im.width, height=im.height)


def _read_and_sniff(data: ImageSource, limits: ImageLimits) -> tuple[bytes, str]:
    # 1. read at most max_bytes + 1 bytes
    raw = _read_limited(data, limits)
    if not raw:
        raise ImageRejected("The file is empty.", code="empty")

    # 2. sniff the format from magic bytes; refuse what we do not decode
    detected = sniff_format(raw[:4096])
    if detected not in ACCEPTED_FORMATS:
        raise ImageRejected(_unsupported_message(detected), code="unsupported_format")
    if detected == "HEIF":
        _register_heif()
    return raw, detected


@contextmanager
def _pillow_guards(limits: ImageLimits) -> Iterator[None]:
    # 3. Pillow's bomb guard lowered to our limit, truncated files refused
    with _decode_lock:
        saved_max = Image.MAX_IMAGE_PIXELS
        saved_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
        try:
            Image.MAX_IMAGE_PIXELS = limits.max_pixels
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved_max
            ImageFile.LOAD_TRUNCATED_IMAGES = saved_truncated


def sniff_format(head: bytes) -> str:
    """A short name for the file type from its first bytes ("JPEG", "GIF", "text", ...)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
        if brands & _AVIF_BRANDS:
            return "AVIF"
        if brands & _HEIF_BRANDS:
            return "HEIF"
        if head[8:10] == b"qt":
            return "QuickTime video"
        return "MP4 video"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM"):
        return "BMP"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "ICO"
    if head.startswith(b"\x00\x00\x00\x0cjP  "):
        return "JPEG 2000"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL ")):
        return "JPEG XL"
    if head.startswith(b"PK\x03\x04"):
        return "ZIP archive"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<") and b"<svg" in head.lower():
        return "SVG"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            # the 4096-byte window may cut a multi-byte character at its end
            try:
                head[:-3].decode("utf-8")
            except UnicodeDecodeError:
                return "unknown"
        return "text"
    return "unknown"


def _read_limited(data: object, limits: ImageLimits) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) > limits.max_bytes:
            raise _too_large(len(raw), limits)
        return raw
    if isinstance(data, (str, os.PathLike)):
        try:
            with open(data, "rb") as fh:
                return _read_stream(fh, limits)
        except OSError as exc:
            raise ImageRejected(
                f"Could not read {os.fspath(data)}: {exc.strerror or exc}.", code="unreadable"
            ) from None
    if hasattr(data, "read"):
        return _read_stream(data, limits)  # type: ignore[arg-type]
    raise TypeError(f"expected bytes, a binary file or a path, got {type(data).__name__}")


def _read_stream(fh: BinaryIO, limits: ImageLimits) -> bytes:
    raw = fh.read(limits.max_bytes + 1)
    if len(raw) > limits.max_bytes:
        total: int | None = None
        try:
            total = os.fstat(fh.fileno()).st_size
        except (OSError, AttributeError, io.UnsupportedOperation):
            pass  # a pipe or an upload stream: only "more than the limit" is known
        raise _too_large(total, limits)
    return raw


def _size_text(n: float) -> str:
    if n < _MB / 10:  # tiny custom limits (tests, thumbnails) read better in KB
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{n / _MB:.1f}".removesuffix(".0") + " MB"


def _pixels_text(n: float) -> str:
    if n < 100_000:
        return f"{int(n)} pixels"
    return f"{n / 1e6:.1f}".removesuffix(".0") + " megapixels"


def _too_large(size: int | None, limits: ImageLimits) -> ImageRejected:
    got = f"is {_size_text(size)}" if size is not None else f"is over {_size_text(limits.max_bytes)}"
    return ImageRejected(
        f"The file {got}; the limit is {_size_text(limits.max_bytes)}. "
        "Export a smaller JPEG and upload it again.",
        code="too_large",
    )


def _too_many_pixels(pixels: int | None, limits: ImageLimits, dims: str = "") -> ImageRejected:
    size = _pixels_text(pixels) if pixels else f"over {_pixels_text(limits.max_pixels)}"
    return ImageRejected(
        f"The image is {size}{dims}; the limit is "
        f"{_pixels_text(limits.max_pixels)}. Resize it and upload it again.",
        code="too_many_pixels",
    )


def _unsupported_message(detected: str) -> str:
    if detected == "text":
        what = "text, not an image"
    elif detected == "unknown":
        what = "not in an image format we recognise"
    else:
        what = f"in {detected} format"
    return f"This file is {what}; we accept {ACCEPTED_TEXT} photos."


def _corrupt() -> ImageRejected:
    return ImageRejected("The file is damaged or not a complete image.", code="corrupt")


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pillow_heif  # lazy: only HEIC uploads need libheif

        pillow_heif.register_heif_opener()
        _heif_registered = True


def _open_checked(raw: bytes, detected: str, limits: ImageLimits) -> Image.Image:
    """The image opened lazily (only the header parsed), its size checked against limits."""
    # a. open lazily: only the header is parsed
    try:
        im = Image.open(io.BytesIO(raw), formats=[detected])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        match = _BOMB_PIXELS.search(str(exc))
        raise _too_many_pixels(int(match.group(1)) if match else None, limits) from None
    except Exception:  # noqa: BLE001 -- any parser failure means a damaged file
        raise _corrupt() from None

    # b. pixel and side limits from the header, before any pixel is decoded
    width, height = im.size
    try:
        if width < 1 or height < 1:
            raise _corrupt()
        if width * height > limits.max_pixels:
            raise _too_many_pixels(width * height, limits, f" ({width} x {height} px)")
        if max(width, height) > limits.max_side:
            raise ImageRejected(
                f"The image is {width} x {height} px; the longest side may be at most "
                f"{limits.max_side} px. Resize it and upload it again.",
                code="side_too_long",
            )
    except ImageRejected:
        im.close()
        raise
    return im


def _decode(raw: bytes, detected: str, limits: ImageLimits) -> NormalizedImage:
    with _open_checked(raw, detected, limits) as im:
        width, height = im.size
        source_format = "JPEG" if im.format == "MPO" else (im.format or detected)

        try:
            # c. decode the current frame (the first one; HEIF opens on its primary image)
            frames = int(getattr(im, "n_frames", 1) or 1)
            im.load()
            orientation = _orientation(im)
            icc = im.info.get("icc_profile")
            upright = ImageOps.exif_transpose(im) if orientation not in (None, 1) else im
            # d. colour: one RGB/RGBA 8-bit sRGB image
            image = _to_srgb(upright, icc)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError):
            raise _too_many_pixels(width * height, limits) from None
        except Exception:  # noqa: BLE001 -- truncated streams, bad CRCs, broken chunks
            raise _corrupt() from None

    has_alpha = image.mode == "RGBA"
    if has_alpha and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")  # an all-opaque alpha says nothing
        has_alpha = False
    image.info.pop("icc_profile", None)
    image.info.pop("exif", None)
    return NormalizedImage(
        image=image,
        source_format=source_format,
        original_size=(width, height),
        orientation_applied=orientation not in (None, 1),
        has_alpha=has_alpha,
        frames=frames,
    )


def _orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 -- a broken EXIF block must not lose the photo
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert any decoded mode to RGB/RGBA, through the embedded ICC profile if any."""
    mode = im.mode
    if mode == "CMYK":
        # Pillow already undoes Adobe's inverted CMYK; a CMYK profile gives truer colour.
        converted = _apply_icc(im, icc, "CMYK") if icc else None
        return converted if converted is not None else im.convert("RGB")

    alpha: Image.Image | None = None
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        colour = _sixteen_bit_to_l(im)
    elif mode in ("RGBA", "RGBa", "LA", "La", "PA") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    ):
        rgba = im.convert("RGBA")
        alpha = rgba.getchannel("A")
        colour = rgba.convert("RGB")
    elif mode in ("L", "RGB"):
        colour = im
    else:  # 1, P, YCbCr, ...
        colour = im.convert("RGB")

    converted = _apply_icc(colour, icc, colour.mode) if icc else None
    # convert() always returns a new image, detached from the file object
    rgb = converted if converted is not None else colour.convert("RGB")
    if alpha is not None:
        rgb.putalpha(alpha)
    return rgb


def _sixteen_bit_to_l(im: Image.Image) -> Image.Image:
    # convert("L") clips 16-bit values at 255; scale 0..65535 down to 0..255 instead.
    arr = np.asarray(im.convert("I"), dtype=np.int64)
    scaled = (np.clip(arr, 0, 65535) + 128) // 257
    return Image.fromarray(scaled.astype(np.uint8), "L")


def _apply_icc(im: Image.Image, icc: bytes, in_mode: str) -> Image.Image | None:
    """``im`` converted from its embedded profile to sRGB, or None to keep its pixels."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if in_mode != "CMYK" and "srgb" in ImageCms.getProfileDescription(source).lower():
            return None  # already sRGB: converting would only add rounding noise
        srgb = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(
            im, source, srgb, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB"
        )
    except Exception:  # noqa: BLE001 -- a broken or mismatched profile: keep the pixels
        return None
