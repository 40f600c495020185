"""Upload hardening: every input is generated here, in code."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile

from generation.errors import ImageRejected
from generation.normalize import ImageLimits, normalize_image

# -- builders ----------------------------------------------------------------------


def _encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _png(
    width: int, height: int, *, bit_depth: int, color_type: int, row: bytes, extra: bytes = b""
) -> bytes:
    """A valid PNG whose every scanline is ``row``, compressed as a stream (cheap for huge sizes)."""
    comp = zlib.compressobj(9)
    line = b"\x00" + row  # filter type 0
    idat = bytearray()
    for _ in range(height):
        idat += comp.compress(line)
    idat += comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + extra
        + _chunk(b"IDAT", bytes(idat))
        + _chunk(b"IEND", b"")
    )


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _icc_rgb(primaries: tuple[tuple[float, float, float], ...], description: str) -> bytes:
    """A minimal ICC v2 matrix/TRC RGB display profile with the given D50 primaries."""

    def xyz(v: tuple[float, float, float]) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + b"".join(_s15f16(c) for c in v)

    text = description.encode("ascii") + b"\x00"
    desc = (
        b"desc\x00\x00\x00\x00"
        + struct.pack(">I", len(text))
        + text
        + b"\x00" * 8  # no unicode description
        + b"\x00" * 70  # no scriptcode description
    )
    gamma = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, int(2.2 * 256)) + b"\x00\x00"
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(primaries[0])),
        (b"gXYZ", xyz(primaries[1])),
        (b"bXYZ", xyz(primaries[2])),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\x00" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"none"
        + b"\x02\x10\x00\x00"
        + b"mntrRGB XYZ "
        + b"\x00" * 12
        + b"acsp"
        + b"\x00" * 24
        + b"\x00" * 4  # perceptual intent
        + _s15f16(0.9642)
        + _s15f16(1.0)
        + _s15f16(0.8249)
    )
    header += b"\x00" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data


# sRGB's primaries adapted to D50 (the columns of its RGB -> XYZ matrix).
SRGB_RED = (0.4361, 0.2225, 0.0139)
SRGB_GREEN = (0.3851, 0.7169, 0.0971)
SRGB_BLUE = (0.1431, 0.0606, 0.7141)


class CountingReader(io.BytesIO):
    """A binary stream that remembers how many bytes were asked of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.bytes_read += len(out)
        return out


@pytest.fixture
def load_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Records every pixel decode (ImageFile.load) with the image size."""
    calls: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        calls.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return calls


def _rejected(data: object, limits: ImageLimits = ImageLimits()) -> ImageRejected:  # noqa: B008
    with pytest.raises(ImageRejected) as info:
        normalize_image(data, limits)  # type: ignore[arg-type]
    return info.value


# -- accepted inputs ---------------------------------------------------------------


def test_plain_jpeg_decodes_to_rgb_with_its_pixels():
    # given a flat-colour JPEG
    data = _encode(Image.new("RGB", (64, 48), (30, 120, 200)), "JPEG", quality=95)

    # when
    out = normalize_image(data)

    # then
    assert out.image.mode == "RGB"
    assert out.image.size == (64, 48)
    assert out.source_format == "JPEG"
    assert (out.orientation_applied, out.has_alpha, out.frames) == (False, False, 1)
    assert np.abs(np.asarray(out.image, dtype=int) - (30, 120, 200)).max() <= 2


def test_path_and_stream_inputs_give_the_same_image(tmp_path):
    # given one PNG as a path and as a stream
    data = _encode(Image.new("RGB", (20, 10), (1, 2, 3)), "PNG")
    path = tmp_path / "photo.png"
    path.write_bytes(data)

    # when
    from_path = normalize_image(path)
    from_str = normalize_image(str(path))
    from_stream = normalize_image(io.BytesIO(data))

    # then
    assert from_path.image.tobytes() == from_str.image.tobytes() == from_stream.image.tobytes()
    assert from_path.image.getpixel((5, 5)) == (1, 2, 3)


def test_cmyk_jpeg_becomes_rgb_with_expected_colours():
    # given an Adobe CMYK JPEG (Pillow writes the inverted-CMYK Adobe marker): red | blue
    cmyk = Image.new("CMYK", (64, 32), (0, 255, 255, 0))
    cmyk.paste((255, 255, 0, 0), (32, 0, 64, 32))
    data = _encode(cmyk, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"

    # when
    out = normalize_image(data)

    # then
    assert out.image.mode == "RGB"
    arr = np.asarray(out.image, dtype=int)
    assert np.abs(arr[16, 8] - (255, 0, 0)).max() <= 6
    assert np.abs(arr[16, 56] - (0, 0, 255)).max() <= 6


def test_phone_photo_with_exif_orientation_6_is_rotated_upright():
    # given a 60x40 sensor image whose top-left quarter is red, tagged "rotate 90 CW"
    sensor = Image.new("RGB", (60, 40), (240, 240, 240))
    sensor.paste((220, 20, 20), (0, 0, 30, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encode(sensor, "JPEG", quality=95, exif=exif)

    # when
    out = normalize_image(data)

    # then the display is 40 wide, 60 tall and the red quarter is now top-right
    assert out.original_size == (60, 40)
    assert out.image.size == (40, 60)
    assert out.orientation_applied is True
    arr = np.asarray(out.image, dtype=int)
    assert np.abs(arr[5, 35] - (220, 20, 20)).max() <= 8
    assert np.abs(arr[5, 5] - (240, 240, 240)).max() <= 8
    assert "exif" not in out.image.info  # the tag must not rotate it a second time


def test_16_bit_grey_png_is_scaled_not_clipped():
    # given a 16-bit grey PNG with values v * 257 (v = 0..255)
    values = np.arange(256, dtype=np.uint16).reshape(16, 16)
    data = _encode(Image.fromarray(values * 257), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"

    # when
    out = normalize_image(data)

    # then each grey level maps back to v, in all three channels
    arr = np.asarray(out.image)
    assert out.image.mode == "RGB"
    assert np.array_equal(arr[..., 0], values.astype(np.uint8))
    assert np.array_equal(arr[..., 0], arr[..., 2])


def test_16_bit_rgb_png_keeps_its_colour():
    # given a 16-bit-per-channel RGB PNG of (200, 100, 50) * 257
    row = struct.pack(">HHH", 200 * 257, 100 * 257, 50 * 257) * 8
    data = _png(8, 4, bit_depth=16, color_type=2, row=row)

    # when
    out = normalize_image(data)

    # then
    assert out.image.mode == "RGB"
    assert out.image.getpixel((3, 2)) == (200, 100, 50)


def test_palette_png_with_transparency_becomes_rgba():
    # given a palette PNG whose index 0 is transparent
    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    pal.paste(1, (5, 0, 10, 10))
    data = _encode(pal, "PNG", transparency=0)

    # when
    out = normalize_image(data)

    # then
    assert out.image.mode == "RGBA"
    assert out.has_alpha is True
    assert out.image.getpixel((2, 2))[3] == 0
    assert out.image.getpixel((7, 2)) == (200, 30, 30, 255)


def test_la_png_becomes_rgba_with_grey_replicated():
    # given a grey + alpha PNG
    la = Image.new("LA", (8, 8), (90, 128))
    data = _encode(la, "PNG")

    # when
    out = normalize_image(data)

    # then
    assert out.image.mode == "RGBA"
    assert out.image.getpixel((4, 4)) == (90, 90, 90, 128)


def test_rgba_png_keeps_alpha_and_opaque_rgba_drops_it():
    # given a half-transparent RGBA PNG and an all-opaque one
    soft = Image.new("RGBA", (8, 8), (10, 20, 30, 255))
    soft.putpixel((1, 1), (10, 20, 30, 0))
    opaque = Image.new("RGBA", (8, 8), (10, 20, 30, 255))

    # when
    kept = normalize_image(_encode(soft, "PNG"))
    dropped = normalize_image(_encode(opaque, "PNG"))

    # then
    assert (kept.image.mode, kept.has_alpha) == ("RGBA", True)
    assert kept.image.getpixel((1, 1))[3] == 0
    assert (dropped.image.mode, dropped.has_alpha) == ("RGB", False)
    assert dropped.image.getpixel((1, 1)) == (10, 20, 30)


def test_one_bit_png_becomes_rgb():
    # given a 1-bit PNG: 8 black pixels then 8 white pixels per row
    data = _png(16, 2, bit_depth=1, color_type=0, row=b"\x00\xff")

    # when
    out = normalize_image(data)

    # then
    assert out.image.mode == "RGB"
    assert out.image.getpixel((0, 0)) == (0, 0, 0)
    assert out.image.getpixel((15, 1)) == (255, 255, 255)


def test_animated_webp_keeps_the_first_frame_and_counts_frames():
    # given a three-frame lossless animated WebP: red, green, blue
    frames = [Image.new("RGB", (24, 24), c) for c in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=100)

    # when
    out = normalize_image(buf.getvalue())

    # then
    assert out.source_format == "WEBP"
    assert out.frames == 3
    assert out.image.convert("RGB").getpixel((12, 12)) == (250, 0, 0)


def test_animated_png_keeps_the_first_frame():
    # given a two-frame APNG
    frames = [Image.new("RGB", (16, 16), c) for c in ((0, 0, 250), (250, 250, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], duration=100)

    # when
    out = normalize_image(buf.getvalue())

    # then
    assert (out.source_format, out.frames) == ("PNG", 2)
    assert out.image.getpixel((8, 8)) == (0, 0, 250)


def test_heic_written_by_pillow_heif_decodes():
    # given an HEIC photo, if this libheif can encode one
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif build has no HEVC encoder, so no HEIC file can be written")
    src = Image.new("RGB", (64, 48), (40, 160, 90))
    buf = io.BytesIO()
    pillow_heif.from_pillow(src).save(buf, quality=95)

    # when
    out = normalize_image(buf.getvalue())

    # then
    assert out.source_format == "HEIF"
    assert out.image.mode == "RGB"
    assert out.image.size == (64, 48)
    assert np.abs(np.asarray(out.image, dtype=int) - (40, 160, 90)).max() <= 8


def test_icc_profile_is_converted_to_srgb():
    # given a PNG tagged with a profile whose red and blue primaries are swapped:
    # its "red" pixels are really blue
    swapped = _icc_rgb((SRGB_BLUE, SRGB_GREEN, SRGB_RED), "swapped red blue")
    data = _encode(Image.new("RGB", (8, 8), (200, 0, 0)), "PNG", icc_profile=swapped)

    # when
    out = normalize_image(data)

    # then the colour comes out blue in sRGB, and the profile is gone
    r, g, b = out.image.getpixel((4, 4))
    assert b > 150 and r < 40 and g < 40
    assert "icc_profile" not in out.image.info


def test_srgb_and_broken_icc_profiles_keep_pixels_exactly():
    # given the same pixels tagged with sRGB, and with a damaged profile
    noise = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    im = Image.fromarray(noise, "RGB")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    # when
    with_srgb = normalize_image(_encode(im, "PNG", icc_profile=srgb))
    with_junk = normalize_image(_encode(im, "PNG", icc_profile=b"not a profile at all"))

    # then
    assert np.array_equal(np.asarray(with_srgb.image), noise)
    assert np.array_equal(np.asarray(with_junk.image), noise)


# -- refusals ----------------------------------------------------------------------


def test_random_bytes_are_refused_as_unknown_format():
    # given
    data = np.random.default_rng(5).integers(0, 256, 4000, dtype=np.uint8).tobytes()

    # when
    err = _rejected(data)

    # then
    assert err.code == "unsupported_format"
    assert "not in an image format we recognise" in str(err)


def test_random_bytes_behind_a_jpeg_signature_are_corrupt(load_calls):
    # given JPEG magic followed by noise
    noise = np.random.default_rng(6).integers(0, 256, 4000, dtype=np.uint8).tobytes()

    # when
    err = _rejected(b"\xff\xd8\xff\xe0" + noise)

    # then
    assert err.code == "corrupt"
    assert str(err) == "The file is damaged or not a complete image."


def test_truncated_jpeg_is_corrupt_and_pillow_state_is_restored():
    # given the first half of a real JPEG
    photo = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = _encode(Image.fromarray(photo, "RGB"), "JPEG", quality=90)
    max_before = Image.MAX_IMAGE_PIXELS
    filters_before = list(warnings.filters)

    # when
    err = _rejected(data[: len(data) // 2])

    # then
    assert err.code == "corrupt"
    assert "damaged or not a complete image" in str(err)
    assert err.__cause__ is None  # no raw PIL error chained into tracebacks
    assert Image.MAX_IMAGE_PIXELS == max_before
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert warnings.filters == filters_before


def test_truncated_png_is_corrupt():
    # given a noisy PNG cut in the middle of its pixel data
    noise = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = _encode(Image.fromarray(noise, "RGB"), "PNG")

    # when
    err = _rejected(data[: len(data) // 2])

    # then
    assert err.code == "corrupt"


def test_20000_square_png_is_refused_from_its_header_without_decoding(load_calls):
    # given a real, valid 20000 x 20000 1-bit PNG (a few KB compressed, 400 MP decoded)
    data = _png(20000, 20000, bit_depth=1, color_type=0, row=b"\x00" * 2500)
    assert len(data) < 100_000

    # when
    err = _rejected(data)

    # then refused by size, no pixel was decoded, Pillow's global limit is back
    assert err.code == "too_many_pixels"
    assert "400 megapixels" in str(err) and "limit is 50 megapixels" in str(err)
    assert load_calls == []
    assert Image.MAX_IMAGE_PIXELS == 1024 * 1024 * 1024 // 4 // 3


def test_pixel_limit_is_checked_on_both_sides_of_pillows_bomb_threshold(load_calls):
    # given an image just over our limit (Pillow would only warn) and one over twice it
    just_over = _encode(Image.new("RGB", (40, 30)), "PNG")  # 1200 px
    far_over = _encode(Image.new("RGB", (100, 100)), "PNG")  # 10000 px
    limits = ImageLimits(max_pixels=1000)

    # when
    err_warn = _rejected(just_over, limits)
    err_error = _rejected(far_over, limits)

    # then both are refused with the pixel counts, and nothing was decoded
    assert (err_warn.code, err_error.code) == ("too_many_pixels", "too_many_pixels")
    assert "1200 pixels" in str(err_warn) and "limit is 1000 pixels" in str(err_warn)
    assert "10000 pixels" in str(err_error)
    assert load_calls == []


def test_load_spy_sees_a_normal_decode(load_calls):
    # given (control for the two tests above: the spy does see real decodes)
    data = _encode(Image.new("RGB", (40, 30)), "PNG")

    # when
    normalize_image(data)

    # then
    assert load_calls
    assert set(load_calls) == {(40, 30)}


def test_overlong_side_is_refused():
    # given a 16000 x 1 strip (few pixels, one very long side)
    data = _png(16000, 1, bit_depth=1, color_type=0, row=b"\x00" * 2000)

    # when
    err = _rejected(data)

    # then
    assert err.code == "side_too_long"
    assert "16000 x 1 px" in str(err) and "12000 px" in str(err)


def test_gif_is_refused_naming_the_format_and_the_accepted_ones():
    # given
    data = _encode(Image.new("P", (10, 10)), "GIF")

    # when
    err = _rejected(data)

    # then
    assert err.code == "unsupported_format"
    assert str(err) == ("This file is in GIF format; we accept JPEG, PNG, WebP or HEIC/HEIF photos.")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (_encode(Image.new("RGB", (4, 4)), "BMP"), "BMP"),
        (_encode(Image.new("RGB", (4, 4)), "TIFF"), "TIFF"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "PDF"),
    ],
)
def test_other_formats_are_refused_by_name(data, name):
    # when
    err = _rejected(data)

    # then
    assert err.code == "unsupported_format"
    assert f"in {name} format" in str(err)


def test_text_is_refused_as_text():
    # when
    err = _rejected(b"product,price\nbottle,12.50\n")

    # then
    assert err.code == "unsupported_format"
    assert "text, not an image" in str(err)


def test_empty_file_is_refused():
    # when
    err = _rejected(b"")

    # then
    assert err.code == "empty"


def test_file_over_the_byte_limit_is_refused_before_reading_it_all():
    # given a 6 KB PNG of noise and a 4 KB limit, read from a stream
    noise = np.random.default_rng(4).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    data = _encode(Image.fromarray(noise, "RGB"), "PNG")
    assert len(data) > 4800
    stream = CountingReader(data)

    # when
    err = _rejected(stream, ImageLimits(max_bytes=4096))

    # then refused naming the limit, and no more than limit + 1 bytes were read
    assert err.code == "too_large"
    assert "the limit is 4 KB" in str(err)
    assert stream.bytes_read == 4097


def test_file_over_the_byte_limit_from_a_path_names_its_size(tmp_path):
    # given a 3 MB file on disk and a 2 MB limit
    path = tmp_path / "big.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\x00" * (3 * 1024 * 1024 - 3))

    # when
    err = _rejected(path, ImageLimits(max_bytes=2 * 1024 * 1024))

    # then
    assert err.code == "too_large"
    assert str(err).startswith("The file is 3 MB; the limit is 2 MB.")


def test_missing_path_is_refused_as_unreadable(tmp_path):
    # when
    err = _rejected(tmp_path / "nope.jpg")

    # then
    assert err.code == "unreadable"
    assert "nope.jpg" in str(err)
