"""Fetch one segmentation model file: resumable, checked, atomic.

The file is written to ``<name>.part`` beside its final place. A dropped connection
resumes from the bytes already there (an HTTP ``Range`` request), in the same run or the
next one. When all bytes are in, size, SHA-256 and MD5 are checked; a file that does not
match is deleted, a file that does is renamed into place in one step, so the final name
only ever holds a checked file. ``SHOPASSETS_MODEL_MIRROR`` replaces the official URL by
``<mirror>/<file name>``: an HTTP(S) base URL, or a local folder for air-gapped installs
(a copy of another machine's models folder works as one).
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from generation.errors import GenerationError
from generation.weights.registry import SegmentationModel, onnx_problem

if TYPE_CHECKING:  # requests and tqdm load on first use: workers that never download skip them
    from tqdm import tqdm

CONNECT_TIMEOUT = 5.0  # seconds; offline machines must fail fast
READ_TIMEOUT = 60.0
ATTEMPTS = 4  # one request plus resumes after dropped connections
CHUNK = 1 << 20


class DownloadFailed(GenerationError):
    """The file could not be fetched (offline, not found, connection dropped too often)."""

    code = "download_failed"


class ChecksumMismatch(DownloadFailed):
    """The bytes arrived but are not the registry's file; nothing was kept."""

    code = "checksum_mismatch"


def source_url(model: SegmentationModel, mirror: str | None) -> str:
    """Where ``model`` is fetched from: the mirror's copy when one is set, else the official URL."""
    if not mirror:
        return model.url
    return f"{mirror.rstrip('/')}/{model.file}"


def fetch(
    model: SegmentationModel,
    dest: Path,
    *,
    mirror: str | None = None,
    progress: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> Path:
    """Install ``model``'s file at ``dest``; returns ``dest``. Raises ``DownloadFailed``.

    A ``dest`` that already holds the checked file is left alone.
    """
    url = source_url(model, mirror)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with _exclusive(dest.parent):
        if dest.is_file() and onnx_problem(model, dest) is None:
            return dest
        if urlsplit(url).scheme in ("http", "https"):
            _download(url, part, model, progress, connect_timeout)
        else:
            _copy(url, part, model, progress)
        problem = onnx_problem(model, part)
        if problem is not None:
            part.unlink()
            raise ChecksumMismatch(f"{model.name} from {url}: {problem}; the file was deleted")
        os.replace(part, dest)
        _fsync_dir(dest.parent)
    return dest


def _download(url: str, part: Path, model: SegmentationModel, progress: bool, connect_timeout: float) -> None:
    import requests

    host = urlsplit(url).netloc
    bar: tqdm | None = None
    with requests.Session() as session:
        try:
            for _ in range(ATTEMPTS):
                have = _size_or_restart(part, model.size)
                if have == model.size:
                    return
                headers = {"Range": f"bytes={have}-"} if have else {}
                try:
                    response = session.get(
                        url, headers=headers, stream=True, timeout=(connect_timeout, READ_TIMEOUT)
                    )
                except requests.ConnectionError as exc:
                    # Nothing came back at all: offline, DNS, firewall. Retrying only wastes time.
                    raise DownloadFailed(
                        unreachable(host, model.name, exc) + _offline_hint(model, part)
                    ) from exc
                except requests.RequestException as exc:
                    raise DownloadFailed(f"{url} could not be fetched for {model.name}: {exc}") from exc
                with response:
                    if response.status_code == 416:  # our partial file is not a prefix the server knows
                        part.unlink()
                        continue
                    if response.status_code >= 400:
                        raise DownloadFailed(
                            f"{url} answered HTTP {response.status_code} {response.reason} for {model.name}"
                        )
                    resumed = response.status_code == 206 and response.headers.get(
                        "Content-Range", ""
                    ).startswith(f"bytes {have}-")
                    bar = bar or _bar(model, progress)
                    bar.reset(total=model.size)
                    bar.update(have if resumed else 0)
                    try:
                        with open(part, "ab" if resumed else "wb") as f:
                            for chunk in response.iter_content(CHUNK):
                                f.write(chunk)
                                bar.update(len(chunk))
                    except requests.RequestException:
                        continue  # dropped mid-file: resume from what arrived (disk errors propagate)
        finally:
            if bar is not None:
                bar.close()
    have = _size_or_restart(part, model.size)
    if have != model.size:
        raise DownloadFailed(
            f"the download of {model.name} from {host} kept breaking off ({have} of {model.size} bytes "
            "are kept); run the same command again to resume"
        )


def unreachable(host: str, what: str, exc: BaseException) -> str:
    """The one line saying ``host`` cannot be reached for ``what``."""
    return f"cannot reach {host} for {what} ({_reason(exc)}); this machine looks offline"


def probe(url: str, what: str, hint: str, connect_timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise ``DownloadFailed`` at once when ``url``'s server cannot be reached at all.

    Clients with their own retries (huggingface_hub backs off for half a minute) are
    asked only after this answers.
    """
    import requests

    try:
        requests.head(url, timeout=(connect_timeout, READ_TIMEOUT), allow_redirects=False).close()
    except requests.ConnectionError as exc:
        raise DownloadFailed(f"{unreachable(urlsplit(url).netloc, what, exc)}: {hint}") from exc
    except requests.RequestException:
        pass  # it answered, slowly or oddly: let the real client report what goes wrong


def _offline_hint(model: SegmentationModel, part: Path) -> str:
    return (
        f": set SHOPASSETS_MODEL_MIRROR to a mirror or a folder that has {model.file}, "
        f"or copy the file to {part.parent / model.file}"
    )


def _copy(url: str, part: Path, model: SegmentationModel, progress: bool) -> None:
    source = Path(urlsplit(url).path if url.startswith("file:") else url)
    if not source.is_file():
        raise DownloadFailed(f"the mirror folder has no {model.file} ({source} does not exist)")
    have = _size_or_restart(part, model.size)
    bar = _bar(model, progress)
    with open(source, "rb") as src, open(part, "ab") as dst, bar:
        bar.update(have)
        src.seek(have)
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            bar.update(len(chunk))


def _size_or_restart(part: Path, size: int) -> int:
    """Bytes already in ``part``; a part longer than the file cannot be right and is dropped."""
    try:
        have = part.stat().st_size
    except FileNotFoundError:
        return 0
    if have > size:
        part.unlink()
        return 0
    return have


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for reason in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if reason.lower() in text.lower():
            return reason.lower()
    return type(exc).__name__


def _bar(model: SegmentationModel, progress: bool) -> tqdm:
    from tqdm import tqdm

    return tqdm(
        total=model.size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=model.name,
        file=sys.stderr,
        disable=not progress,
        leave=False,
    )


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """One pull at a time in a models folder (two would write the same ``.part``)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
