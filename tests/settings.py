"""Test settings: the real settings, with data under a fresh temporary folder.

The worker subprocesses started by end-to-end tests use these settings too, with
SHOPASSETS_DATA_DIR passed down so they share the database file, storage and broker.
"""

import os
import tempfile

os.environ.setdefault("SHOPASSETS_DATA_DIR", tempfile.mkdtemp(prefix="shopassets-test-"))
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
