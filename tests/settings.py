"""Test settings: the real settings, with data under a fresh temporary folder.

The worker subprocesses started by end-to-end tests use these settings too, with
SHOPASSETS_DATA_DIR passed down so they share the database file, storage and broker.
Under pytest-xdist each test process has a data folder of its own below it.
"""

import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("SHOPASSETS_DATA_DIR", tempfile.mkdtemp(prefix="shopassets-test-"))


def _redis_db_for_worker(url: str, index: int) -> str:
    """``url`` with its database number lowered by ``2 * index``: the broker and the cache of
    CI (databases 15 and 14) stay apart from every other test process's pair."""
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0) - 2 * index
    if db < 0:
        raise RuntimeError(f"{url}: too few Redis databases below it for test process {index}")
    return urlunsplit(parts._replace(path=f"/{db}"))


# Test processes of pytest-xdist (make test's default) share nothing a test can see: each has
# a data folder (SQLite file, filesystem broker, local storage, worker logs), an S3 bucket and
# Redis databases of its own. The worker subprocesses a test starts inherit them.
_test_process = os.environ.get("PYTEST_XDIST_WORKER", "")
if _test_process and os.environ.get("SHOPASSETS_TEST_PROCESS") != _test_process:
    os.environ["SHOPASSETS_TEST_PROCESS"] = _test_process
    _index = int(_test_process.removeprefix("gw"))
    os.environ["SHOPASSETS_DATA_DIR"] = os.path.join(os.environ["SHOPASSETS_DATA_DIR"], _test_process)
    if os.environ.get("S3_BUCKET"):
        os.environ["S3_BUCKET"] = f"{os.environ['S3_BUCKET']}-{_test_process}"
    for _name in ("CELERY_BROKER_URL", "CACHE_URL"):
        if os.environ.get(_name, "").startswith(("redis://", "rediss://")):
            os.environ[_name] = _redis_db_for_worker(os.environ[_name], _index)
    # A RabbitMQ vhost's queues are one for every process: two test processes would take
    # each other's tasks.
    if (
        os.environ.get("CELERY_BROKER_URL", "").startswith("amqp")
        and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1
    ):
        raise RuntimeError("RabbitMQ: run the tests in one process (make test TEST_PROCESSES=0)")
os.environ.setdefault("SHOPASSETS_JOB_LEASE_SECONDS", "3")
# An empty models folder of the test run's own: a developer's installed weights never
# change what the tests see (tests that need a model install one into a folder of theirs).
os.environ.setdefault("SHOPASSETS_MODELS_DIR", os.path.join(os.environ["SHOPASSETS_DATA_DIR"], "models"))

from shop_assets.settings import *  # noqa: E402,F403
from shop_assets.settings import DATA_DIR, DATABASES  # noqa: E402

# A file, not memory, so that worker processes see the same test database.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# A worker subprocess started by a test points at the database pytest-django created.
if os.environ.get("SHOPASSETS_USE_TEST_DB") == "1":
    _db = DATABASES["default"]
    _db["NAME"] = _db["TEST"]["NAME"] if _db["ENGINE"].endswith("sqlite3") else "test_" + str(_db["NAME"])
    if _test_process:  # pytest-django names each xdist process's test database with this suffix
        _db["NAME"] += f"_{_test_process}"
