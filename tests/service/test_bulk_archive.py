"""The images ZIP: hostile archives refused whole, entries matched to rows by path or name."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile

import pytest

from shop_assets.bulk.archive import ArchiveLimits, ArchiveRefused, ImageArchive
from tests.bulk_files import zip_bytes


def archive(data: bytes, **limits: int) -> ImageArchive:
    return ImageArchive(io.BytesIO(data), ArchiveLimits(**limits))


def with_info(info: zipfile.ZipInfo, data: bytes = b"x") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.jpg", b"fine")
        zf.writestr(info, data)
    return buf.getvalue()


def link_entry() -> bytes:
    info = zipfile.ZipInfo("photo.jpg")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return with_info(info, b"/etc/passwd")


def encrypted_entry() -> bytes:
    # zipfile cannot write encrypted entries: set the "encrypted" flag bit in the headers
    data = bytearray(zip_bytes({"secret.jpg": b"x"}, compression=zipfile.ZIP_STORED))
    data[data.index(b"PK\x03\x04") + 6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            zip_bytes({"ok.jpg": b"1", "../evil.jpg": b"2"}),
            "The ZIP entry '../evil.jpg' climbs out of the archive with '..'.",
        ),
        (
            zip_bytes({"a/../../b.jpg": b"2"}),
            "The ZIP entry 'a/../../b.jpg' climbs out of the archive with '..'.",
        ),
        (
            zip_bytes({"..\\evil.jpg": b"2"}),
            "The ZIP entry '..\\\\evil.jpg' climbs out of the archive with '..'.",
        ),
        (
            zip_bytes({"/etc/cron.d/x.jpg": b"2"}),
            "The ZIP entry '/etc/cron.d/x.jpg' has an absolute path; entries must be relative.",
        ),
        (
            zip_bytes({"C:/Windows/x.jpg": b"2"}),
            "The ZIP entry 'C:/Windows/x.jpg' has an absolute path; entries must be relative.",
        ),
        (link_entry(), "The ZIP entry 'photo.jpg' is a symbolic link; links are not accepted."),
        (encrypted_entry(), "The ZIP entry 'secret.jpg' is encrypted; upload an archive without a password."),
        (
            b"PK\x03\x04 not really a zip",
            "The images file is not a readable ZIP archive (File is not a zip file).",
        ),
    ],
)
def test_hostile_entries_refuse_the_whole_archive(data, message):
    with pytest.raises(ArchiveRefused) as refused:
        archive(data)
    assert str(refused.value) == message


def test_zip_bomb_by_compression_ratio_is_refused():
    # given 50 MB of zeros that deflate to about 50 KB
    data = zip_bytes({"bomb.jpg": bytes(50 * 1024 * 1024)})
    assert len(data) < 100 * 1024

    with pytest.raises(ArchiveRefused) as refused:
        archive(data, max_entry_bytes=100 * 1024 * 1024)
    assert "expands 1" in str(refused.value) and "more than 100 times is refused (a ZIP bomb)" in str(
        refused.value
    )


def test_limits_on_entries_total_size_and_one_photo():
    files = {f"p{i}.jpg": bytes([i]) * 1000 for i in range(6)}
    stored = zip_bytes(files, compression=zipfile.ZIP_STORED)
    with pytest.raises(ArchiveRefused, match="The ZIP has 6 entries; the limit is 5."):
        archive(stored, max_entries=5)
    with pytest.raises(ArchiveRefused, match="add up to more than 0 MB uncompressed"):
        archive(stored, max_total_bytes=5500)
    big = zip_bytes({"big.jpg": b"\xff" * (3 * 1024 * 1024)}, compression=zipfile.ZIP_STORED)
    with pytest.raises(ArchiveRefused) as refused:
        archive(big, max_entry_bytes=2 * 1024 * 1024)
    assert str(refused.value) == "The ZIP entry 'big.jpg' is 3.0 MB; the limit is 2 MB per photo."


def test_an_entry_whose_bytes_do_not_match_its_header_cannot_be_read():
    # given an archive whose stored data was damaged after it was written
    data = bytearray(zip_bytes({"photo.jpg": b"JPEGDATA" * 100}, compression=zipfile.ZIP_STORED))
    offset = data.index(b"JPEGDATA")
    data[offset : offset + 8] = b"TAMPERED"
    checked = archive(bytes(data))

    with pytest.raises(ArchiveRefused, match="The ZIP entry 'photo.jpg' cannot be read"):
        checked.read(checked.entries["photo.jpg"])


def test_rows_find_photos_by_path_name_or_sku():
    data = zip_bytes(
        {
            "shirts/blue.jpg": b"blue",
            "shirts/red.jpg": b"red-1",
            "old/red.jpg": b"red-2",
            "BTL-001.png": b"bottle",
            "__MACOSX/shirts/._blue.jpg": b"fork",
            "shirts/": b"",
        }
    )
    checked = archive(data)

    assert sorted(checked.entries) == ["btl-001.png", "old/red.jpg", "shirts/blue.jpg", "shirts/red.jpg"]
    assert checked.find("shirts/blue.jpg")[0].path == "shirts/blue.jpg"
    assert checked.find(".\\Shirts\\BLUE.JPG")[0].path == "shirts/blue.jpg"
    assert checked.find("blue.jpg")[0].path == "shirts/blue.jpg"
    assert checked.find("red.jpg") == (
        None,
        "image 'red.jpg' matches 2 files in the ZIP (shirts/red.jpg, old/red.jpg); give its path",
    )
    assert checked.find("old/red.jpg")[0].path == "old/red.jpg"
    assert checked.find("green.jpg") == (None, "image 'green.jpg' is not in the images ZIP")
    assert checked.find("", sku="BTL-001")[0].path == "BTL-001.png"
    assert checked.find("", sku="NONE-1") == (None, "")
    body, checksum = checked.read(checked.find("old/red.jpg")[0])
    assert body == b"red-2"
    assert checksum == hashlib.sha256(b"red-2").hexdigest()
