"""Another local user tries to read the data folder: the secret key, the SQLite database
(sessions, password hashes) and the broker's messages are private to the service's user."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # each test runs manage.py in a fresh data folder


def _manage(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "S3_BUCKET", "CACHE_URL", "SECRET_KEY")
    }
    env.update(SHOPASSETS_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="shop_assets.settings")
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # the usual umask: files would be world-readable unless the service says otherwise
        preexec_fn=lambda: os.umask(0o022),
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _read_as_nobody(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "nobody", "--", "cat", str(path)], capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every local user may enter, as /srv or a home folder often is."""
    folder = Path(tempfile.mkdtemp(prefix="shopassets-perm-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def fresh_install(open_folder) -> Path:
    data = open_folder / "data"
    result = _manage(data, "migrate", "--noinput", "-v0")
    assert result.returncode == 0, result.stderr
    return data


def test_a_fresh_install_keeps_its_secrets_private(fresh_install):
    data = fresh_install
    db = data / "shopassets.sqlite3"

    assert _mode(data) == 0o700
    assert _mode(data / "secret_key") == 0o600
    assert _mode(db) == 0o600 and db.stat().st_size > 0
    for side in (data / "shopassets.sqlite3-wal", data / "shopassets.sqlite3-shm"):
        if side.exists():
            assert _mode(side) == 0o600, side
    for folder in ("broker", "broker/queue", "broker/processed", "broker/control", "upload-tmp"):
        assert _mode(data / folder) == 0o700, folder


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("runuser") is None,
    reason="needs root and runuser to act as another user",
)
def test_another_local_user_cannot_read_the_database_or_the_secret_key(fresh_install):
    # given a fresh install, and a world-readable copy to show the attacker can read files
    decoy = fresh_install.parent / "decoy.txt"
    decoy.write_text("readable")
    decoy.chmod(0o644)
    assert _read_as_nobody(decoy).stdout == "readable"

    # when the user "nobody" tries to read the database and the key
    for target in ("shopassets.sqlite3", "secret_key"):
        result = _read_as_nobody(fresh_install / target)

        # then it is refused
        assert result.returncode != 0 and "Permission denied" in result.stderr, target


def test_an_older_world_readable_install_is_tightened_at_start(open_folder):
    # given a data folder left readable by an older release
    data = open_folder / "old"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "secret_key").write_text("an-old-secret-key-of-fifty-characters-or-so-000000")
    (data / "shopassets.sqlite3").write_bytes(b"")
    for name in ("secret_key", "shopassets.sqlite3"):
        (data / name).chmod(0o644)

    # when the service starts (any management command loads the settings)
    result = _manage(data, "check")

    # then the folder and the files are private again, and the key was kept
    assert result.returncode == 0, result.stderr
    assert _mode(data) == 0o700
    assert _mode(data / "secret_key") == 0o600
    assert _mode(data / "shopassets.sqlite3") == 0o600
    assert (data / "secret_key").read_text() == "an-old-secret-key-of-fifty-characters-or-so-000000"
