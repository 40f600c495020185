"""The images ZIP of a catalogue import: checked whole before anything is read from it.

``ImageArchive(file)`` reads the central directory only and refuses the archive
(``ArchiveRefused``, naming the entry and the rule) when any entry has a ``..`` part, an
absolute or drive path, is a symbolic link or encrypted, when there are too many entries,
when the declared sizes add up past the total limit, when one file is over the per-photo
limit, or when an entry expands more than ``max_ratio`` times its compressed size (a ZIP
bomb). Entries are then read one at a time, counted while they stream, so an archive that
lies about its sizes is still stopped at the limit.

Rows find their photo by path inside the archive (``shirts/blue.jpg``) or by file name
alone (``blue.jpg``) when only one entry has that name; case does not matter. A row that
names no photo gets the entry named after its SKU (``BTL-001.jpg``), if there is one.
macOS resource forks (``__MACOSX/``, ``._name``) and folders are skipped.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")
# Images barely compress (JPEG ~1x, PNG a few x); a file that expands far more is a bomb.
RATIO_FLOOR_BYTES = 1024 * 1024  # smaller files may compress well without harm
_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveRefused(Exception):
    """The ZIP is refused as a whole; the message names the entry and the rule."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int = 20_000
    max_total_bytes: int = 4 * 1024**3  # all files together, uncompressed
    max_entry_bytes: int = 40 * 1024**2  # one photo (the upload limit)
    max_ratio: float = 100.0


@dataclass(frozen=True)
class Entry:
    path: str  # normalised: forward slashes, no leading "./"
    size: int  # declared uncompressed size
    info: zipfile.ZipInfo


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def normalise(name: str) -> str:
    """A path as rows and archives both write it: ``a\\b.jpg`` and ``./a/b.jpg`` -> ``a/b.jpg``."""
    text = name.replace("\\", "/").strip().lstrip("/")
    return posixpath.normpath(text) if text else ""


class ImageArchive:
    """A checked images ZIP (see the module docstring). ``file`` is a seekable binary file."""

    def __init__(self, file: IO[bytes], limits: ArchiveLimits = ArchiveLimits()) -> None:
        self.limits = limits
        try:
            self.zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
            raise ArchiveRefused(f"The images file is not a readable ZIP archive ({exc}).") from None
        self.entries: dict[str, Entry] = {}
        self._by_name: dict[str, list[Entry]] = {}
        self._check()

    def _check(self) -> None:
        infos = self.zip.infolist()
        limits = self.limits
        if len(infos) > limits.max_entries:
            raise ArchiveRefused(
                f"The ZIP has {len(infos)} entries; the limit is {limits.max_entries}. Split it into smaller archives."
            )
        total = 0
        for info in infos:
            raw = info.filename
            shown = raw[:120]
            parts = raw.replace("\\", "/").split("/")
            if raw.startswith(("/", "\\")) or _DRIVE.match(raw):
                raise ArchiveRefused(
                    f"The ZIP entry {shown!r} has an absolute path; entries must be relative."
                )
            if ".." in parts:
                raise ArchiveRefused(f"The ZIP entry {shown!r} climbs out of the archive with '..'.")
            if "\x00" in raw:
                raise ArchiveRefused("A ZIP entry name contains a NUL character.")
            if _is_link(info):
                raise ArchiveRefused(f"The ZIP entry {shown!r} is a symbolic link; links are not accepted.")
            if info.flag_bits & 0x1:
                raise ArchiveRefused(
                    f"The ZIP entry {shown!r} is encrypted; upload an archive without a password."
                )
            if info.is_dir():
                continue
            if info.file_size > limits.max_entry_bytes:
                raise ArchiveRefused(
                    f"The ZIP entry {shown!r} is {info.file_size / 1048576:.1f} MB; "
                    f"the limit is {limits.max_entry_bytes // 1048576} MB per photo."
                )
            if info.file_size > RATIO_FLOOR_BYTES and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                raise ArchiveRefused(
                    f"The ZIP entry {shown!r} expands {info.file_size / max(info.compress_size, 1):.0f} times its "
                    f"compressed size; more than {limits.max_ratio:.0f} times is refused (a ZIP bomb)."
                )
            total += info.file_size
            if total > limits.max_total_bytes:
                raise ArchiveRefused(
                    f"The ZIP's files add up to more than {limits.max_total_bytes // 1048576} MB uncompressed; "
                    "split it into smaller archives."
                )
            path = normalise(raw)
            base = posixpath.basename(path)
            if path.startswith("__MACOSX/") or base.startswith("._"):
                continue
            entry = Entry(path=path, size=info.file_size, info=info)
            self.entries[path.lower()] = entry
            self._by_name.setdefault(base.lower(), []).append(entry)

    def find(self, ref: str, *, sku: str = "") -> tuple[Entry | None, str]:
        """The entry a row names (or, with no name, the one named after ``sku``); else the reason."""
        if not ref:
            for ext in IMAGE_EXTENSIONS:
                candidates = self._by_name.get(f"{sku.lower()}{ext}", [])
                if len(candidates) == 1:
                    return candidates[0], ""
            return None, ""
        path = normalise(ref).lower()
        if path in self.entries:
            return self.entries[path], ""
        candidates = self._by_name.get(posixpath.basename(path), [])
        if len(candidates) == 1:
            return candidates[0], ""
        if len(candidates) > 1:
            paths = ", ".join(c.path for c in candidates[:3])
            return (
                None,
                f"image {ref[:80]!r} matches {len(candidates)} files in the ZIP ({paths}); give its path",
            )
        return None, f"image {ref[:80]!r} is not in the images ZIP"

    def chunks(self, entry: Entry, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        """The entry's bytes as they decompress, stopped at its declared size and the limit."""
        limit = min(entry.size, self.limits.max_entry_bytes)
        read = 0
        try:
            with self.zip.open(entry.info) as fh:
                while chunk := fh.read(chunk_size):
                    read += len(chunk)
                    if read > limit:
                        raise ArchiveRefused(f"The ZIP entry {entry.path[:120]!r} is larger than it says.")
                    yield chunk
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as exc:
            raise ArchiveRefused(f"The ZIP entry {entry.path[:120]!r} cannot be read ({exc}).") from None

    def read(self, entry: Entry) -> tuple[bytes, str]:
        """The entry's bytes and their SHA-256."""
        digest = hashlib.sha256()
        parts: list[bytes] = []
        for chunk in self.chunks(entry):
            digest.update(chunk)
            parts.append(chunk)
        return b"".join(parts), digest.hexdigest()

    def close(self) -> None:
        self.zip.close()
