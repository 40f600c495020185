"""ShopAssets settings, read from the environment (see README's configuration table).

With no environment at all this runs on the embedded defaults: SQLite, local file
storage and a Celery broker on the filesystem, all under ``SHOPASSETS_DATA_DIR``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from shop_assets.datadir import private_dir, private_file, write_private_text
from shop_assets.env import (
    cache_config,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_path,
    env_rate,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# Private (0700): the secret key, the SQLite database and the broker's messages live here.
DATA_DIR = private_dir(env_path("SHOPASSETS_DATA_DIR", BASE_DIR / "data"))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("SHOPASSETS_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set")
    # A per-install key, so a fresh machine works without setup and keys never repeat.
    _key_file = DATA_DIR / "secret_key"
    if _key_file.exists():
        SECRET_KEY = private_file(_key_file).read_text().strip()
    else:
        SECRET_KEY = get_random_secret_key()
        write_private_text(_key_file, SECRET_KEY)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    # django-ninja's bundled Swagger UI, served from our static files (no CDN)
    "ninja",
    "axes",
    "shop_assets.limits",
    "shop_assets.accounts",
    "shop_assets.catalog",
    "shop_assets.jobs",
    "shop_assets.dashboard",
    "shop_assets.api",
    "shop_assets.webhooks",
    "shop_assets.bulk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # under /api/: Django's own 404/405/500 pages become the API's JSON error shape
    "shop_assets.api.errors.ApiErrorMiddleware",
    # before anything reads the body: oversized uploads are refused unread
    "shop_assets.limits.uploads.LimitsMiddleware",
    # before the session's: a signed-out background request's 403 sets no cookie (not even
    # the deletion of an expired session's)
    "shop_assets.accounts.signed_out.NoCookiesWhenSignedOutMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # last, as django-axes requires: turns a lockout into the sign-in page with 429
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "shop_assets.urls"
WSGI_APPLICATION = "shop_assets.wsgi.application"
ASGI_APPLICATION = "shop_assets.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "shopassets.sqlite3"),
            # WAL + a busy timeout so the web process and a worker can share one file.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and str(DATABASES["default"]["NAME"]) != ":memory:":
    # Sessions and password hashes: created 0600 before SQLite makes it (its -wal and -shm
    # files copy the mode), and tightened if an older install left it readable.
    _sqlite = Path(DATABASES["default"]["NAME"])
    for _path in (
        _sqlite,
        _sqlite.with_name(_sqlite.name + "-wal"),
        _sqlite.with_name(_sqlite.name + "-shm"),
    ):
        if _path == _sqlite or _path.exists():
            private_file(_path)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:products"
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out users and addresses first
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve app static files without a collectstatic step on a single machine.
WHITENOISE_USE_FINDERS = True

# --- uploads ----------------------------------------------------------------
MAX_UPLOAD_MB = env_int("SHOPASSETS_MAX_UPLOAD_MB", 40, minimum=1, maximum=500)
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
# A clip's audio track (also held to MAX_UPLOAD_MB while it streams in). The defaults are
# the library's (generation.clips.audio), not imported: settings load no media code.
MAX_AUDIO_MB = env_int("SHOPASSETS_MAX_AUDIO_MB", 20, minimum=1, maximum=500)
MAX_AUDIO_SECONDS = env_int("SHOPASSETS_MAX_AUDIO_SECONDS", 300, minimum=5, maximum=3600)
MAX_IMAGE_PIXELS = env_int("SHOPASSETS_MAX_IMAGE_PIXELS", 50_000_000, minimum=1_000_000)
# Non-file bodies (JSON, form fields) above this are refused unread with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# A multipart body may be one photo plus the form around it; more is refused unread, and
# LimitedUploadHandler stops any one file at MAX_UPLOAD_BYTES while it streams in.
MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "shop_assets.limits.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = private_dir(DATA_DIR / "upload-tmp")
# Photos decoded at once per web process; a request finding none free within the wait
# is answered 503 with Retry-After rather than holding a web thread.
DECODE_SLOTS = env_int("SHOPASSETS_DECODE_SLOTS", 1, minimum=1, maximum=64)
DECODE_WAIT_SECONDS = env_float("SHOPASSETS_DECODE_WAIT_SECONDS", 0.0, minimum=0.0, maximum=60.0)

# --- limits -------------------------------------------------------------------
# Counters (rates, axes' lockouts live in the database) are kept in this cache; the
# database cache by default so every web process and machine shares them.
CACHES = {"default": {**cache_config(env_str("CACHE_URL", "")), "KEY_PREFIX": "shopassets"}}
# Proxies in front of the web processes whose X-Forwarded-For is trusted (0: none).
TRUSTED_PROXIES = env_int("SHOPASSETS_TRUSTED_PROXIES", 0, minimum=0, maximum=10)
API_RATE = env_rate("SHOPASSETS_API_RATE", "300/m")
UPLOADS_PER_MINUTE = env_int("SHOPASSETS_UPLOADS_PER_MINUTE", 30, minimum=1)
MAX_QUEUED_JOBS = env_int("SHOPASSETS_MAX_QUEUED_JOBS", 50, minimum=1)
NINJA_PAGINATION_CLASS = "shop_assets.limits.api.CappedLimitOffsetPagination"

AXES_FAILURE_LIMIT = env_int("SHOPASSETS_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SHOPASSETS_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# Either count locks: one user's failures from anywhere, or one address's for any user.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Attempts made while locked out do not extend the lockout, and a successful sign-in
# does not wipe the address's failures (an attacker with an account of their own would
# otherwise reset the count between guesses).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "shop_assets.limits.client_address"
AXES_LOCKOUT_CALLABLE = "shop_assets.limits.login.lockout_response"

# --- bulk import (catalogue CSV + images ZIP) --------------------------------------
BATCH_MAX_ROWS = env_int("SHOPASSETS_BATCH_MAX_ROWS", 20_000, minimum=1)
BATCH_MAX_CSV_MB = env_int("SHOPASSETS_BATCH_MAX_CSV_MB", 100, minimum=1)
BATCH_MAX_ZIP_MB = env_int("SHOPASSETS_BATCH_MAX_ZIP_MB", 2048, minimum=1)
BATCH_ZIP_MAX_ENTRIES = env_int("SHOPASSETS_BATCH_ZIP_MAX_ENTRIES", 20_000, minimum=1)
BATCH_ZIP_MAX_TOTAL_MB = env_int("SHOPASSETS_BATCH_ZIP_MAX_TOTAL_MB", 8192, minimum=1)
BATCH_ZIP_MAX_RATIO = env_int("SHOPASSETS_BATCH_ZIP_MAX_RATIO", 100, minimum=2)
# Rows of one batch being prepared at once (each a task on the broker).
BATCH_WINDOW = env_int("SHOPASSETS_BATCH_WINDOW", 50, minimum=1)
# One photo URL: connect, redirects and the whole body together.
BATCH_FETCH_SECONDS = env_int("SHOPASSETS_BATCH_FETCH_SECONDS", 30, minimum=1, maximum=600)

# --- storage ----------------------------------------------------------------
S3_BUCKET = env_str("S3_BUCKET", "")
S3_URL_EXPIRY_SECONDS = env_int("S3_URL_EXPIRY_SECONDS", 300, minimum=10, maximum=7 * 24 * 3600)
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("S3_REGION", "") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
            "querystring_auth": True,
            "querystring_expire": S3_URL_EXPIRY_SECONDS,
            # Deterministic keys: a rerun overwrites its own files instead of adding copies.
            "file_overwrite": True,
            "default_acl": None,
            "addressing_style": env_choice("S3_ADDRESSING_STYLE", "path", ("path", "virtual", "auto")),
            "signature_version": "s3v4",
        },
    }
else:
    _default_storage = {
        "BACKEND": "shop_assets.jobs.storage.OverwritingFileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Celery -----------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        private_dir(BROKER_DIR / _sub)
    private_dir(BROKER_DIR)
    # kombu's filesystem transport, its messages renamed into place once written (a worker
    # that read one half written stopped)
    CELERY_BROKER_TRANSPORT = "shop_assets.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # an idle or full consumer looks again after this long (kombu's default is 1 s):
        # webhook deliveries are short and many
        "polling_interval": 0.2,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
JOB_SOFT_TIME_LIMIT = env_int("SHOPASSETS_JOB_SOFT_TIME_LIMIT", 900, minimum=5)
JOB_TIME_LIMIT = env_int("SHOPASSETS_JOB_TIME_LIMIT", JOB_SOFT_TIME_LIMIT + 60, minimum=10)
if JOB_TIME_LIMIT <= JOB_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("SHOPASSETS_JOB_TIME_LIMIT must be above SHOPASSETS_JOB_SOFT_TIME_LIMIT")
# A job whose worker stopped reporting for this long is taken over by another worker.
JOB_LEASE_SECONDS = env_int("SHOPASSETS_JOB_LEASE_SECONDS", 120, minimum=2)
JOB_MAX_ATTEMPTS = env_int("SHOPASSETS_JOB_MAX_ATTEMPTS", 4, minimum=1, maximum=20)
# Redis/SQS redeliver unacknowledged messages after this; it must outlast the hard limit.
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = JOB_TIME_LIMIT + 300
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- outbound HTTP (webhooks, image URLs) ----------------------------------------
# Development and tests deliver to loopback; production must leave this off (SSRF).
ALLOW_PRIVATE_URLS = env_bool("SHOPASSETS_ALLOW_PRIVATE_URLS", False)
# One webhook attempt may take this long (connect, answer and body together).
WEBHOOK_TIMEOUT_SECONDS = env_int("SHOPASSETS_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
# An endpoint whose every attempt failed for this long is disabled.
WEBHOOK_DISABLE_AFTER_DAYS = env_int("SHOPASSETS_WEBHOOK_DISABLE_AFTER_DAYS", 5, minimum=1, maximum=60)

# --- generation ---------------------------------------------------------------
# Passed to generation.config.GenerationConfig.from_env by the workers; listed here
# for the README. SHOPASSETS_DEVICE, SHOPASSETS_SD15_INPAINT_MODEL, U2NET_HOME, ...
DEFAULT_SEGMENTER = env_choice("SHOPASSETS_SEGMENTER", "auto", ("auto", "alpha", "rembg", "classical"))
# Whether jobs may ask for diffusion scenes and diffusion motion: "auto" when this node's
# models folder holds their models, "yes" on web nodes that do not hold the GPU workers'
# models (a worker without them fails the job naming the install command), "no" never.
OFFER_DIFFUSION = env_choice("SHOPASSETS_OFFER_DIFFUSION", "auto", ("auto", "yes", "no"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = False
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
