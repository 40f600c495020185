"""The data folder is private to the user the service runs as.

It holds the secret key, the SQLite database (sessions, password hashes), the broker's
messages and the merchants' photos. The folder and the folders made in it are ``0700`` and
the secret and database files ``0600``, whatever the umask, and an install made before
this rule is tightened the next time the settings load.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its missing parents) and make it ``0700``."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty as ``0600`` if it is missing, else make it ``0600``.

    An empty file is a valid empty SQLite database, so creating the database file this
    way first means SQLite never creates it (or its -wal and -shm files, which copy the
    database file's mode) readable by others.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    _chmod(path, FILE_MODE)
    return path


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` to a new ``0600`` file: it is never readable by others, not even
    between creation and a chmod."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    _chmod(path, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) == mode:
        return
    try:
        path.chmod(mode)
    except PermissionError:
        raise ImproperlyConfigured(
            f"{path} must be private to the user running ShopAssets (mode {mode:o}), "
            "but that user cannot change its permissions; give it to that user "
            "(chown) or point SHOPASSETS_DATA_DIR at a folder of its own."
        ) from None
