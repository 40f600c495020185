"""Typed readers for settings that come from environment variables.

Each helper refuses a malformed value with ImproperlyConfigured naming the variable,
so a typo fails at start-up instead of turning into a silent default.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T", int, float)
_TRUE = {"1", "true", "yes", "on"}
_RATE = re.compile(r"^([1-9][0-9]*)/(s|m|h|d)$")
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of true/false/1/0/yes/no/on/off")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    return _bounded(name, _parse(name, int, "an integer", default), minimum, maximum)


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    return _bounded(name, _parse(name, float, "a number", default), minimum, maximum)


def _parse(name: str, kind: type[T], what: str, default: T) -> T:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected {what}") from None
    if value != value:  # NaN
        raise ImproperlyConfigured(f"{name}={raw!r}: expected {what}")
    return value


def _bounded(name: str, value: T, minimum: T | None, maximum: T | None) -> T:
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value}: must be at most {maximum}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def env_rate(name: str, default: str) -> str:
    """A request rate like ``300/m`` (count per ``s``, ``m``, ``h`` or ``d``)."""
    value = os.environ.get(name, default).strip()
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name}={value!r}: expected a rate like 300/m (per s, m, h or d)")
    return value


def cache_config(url: str) -> dict[str, object]:
    """Django's CACHES entry for ``CACHE_URL``.

    ``redis://`` / ``rediss://`` / ``unix://``: Redis (shared by every process and machine);
    ``db://`` or empty: the database cache table ``shopassets_cache`` (shared wherever the
    database is); ``locmem://``: one process only (a single ``runserver``, never gunicorn).
    """
    scheme = urlsplit(url).scheme if url else "db"
    if scheme in ("redis", "rediss", "unix"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if scheme == "db":
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "shopassets_cache"}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shopassets"}
    raise ImproperlyConfigured(
        f"CACHE_URL={url!r}: expected redis://, rediss://, unix://, db:// or locmem://"
    )
