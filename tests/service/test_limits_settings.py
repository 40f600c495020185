"""Settings of the limits: rates, numbers and the cache are read strictly at start-up."""

from __future__ import annotations

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from shop_assets.env import cache_config, env_float, env_rate


@pytest.mark.parametrize("value", ["300/m", "5/s", "10000/d", "1/h"])
def test_env_rate_accepts_count_per_unit(monkeypatch, value):
    monkeypatch.setenv("X_RATE", value)
    assert env_rate("X_RATE", "1/m") == value


@pytest.mark.parametrize("value", ["300", "300/min", "0/m", "-1/m", "m/300", "3.5/m", "300 / m"])
def test_env_rate_refuses_anything_else(monkeypatch, value):
    monkeypatch.setenv("X_RATE", value)
    with pytest.raises(ImproperlyConfigured, match=r"X_RATE=.*expected a rate like 300/m"):
        env_rate("X_RATE", "1/m")


def test_env_float_reads_bounds_and_refuses_nan(monkeypatch):
    monkeypatch.setenv("X_FLOAT", "2.5")
    assert env_float("X_FLOAT", 0.0, minimum=0.0, maximum=60.0) == 2.5
    monkeypatch.setenv("X_FLOAT", "61")
    with pytest.raises(ImproperlyConfigured, match="X_FLOAT=61.0: must be at most 60.0"):
        env_float("X_FLOAT", 0.0, maximum=60.0)
    monkeypatch.setenv("X_FLOAT", "nan")
    with pytest.raises(ImproperlyConfigured, match="X_FLOAT='nan': expected a number"):
        env_float("X_FLOAT", 0.0)


@pytest.mark.parametrize(
    ("url", "backend", "location"),
    [
        ("", "django.core.cache.backends.db.DatabaseCache", "shopassets_cache"),
        ("db://", "django.core.cache.backends.db.DatabaseCache", "shopassets_cache"),
        (
            "redis://127.0.0.1:6379/3",
            "django.core.cache.backends.redis.RedisCache",
            "redis://127.0.0.1:6379/3",
        ),
        ("rediss://cache:6380/0", "django.core.cache.backends.redis.RedisCache", "rediss://cache:6380/0"),
        ("locmem://", "django.core.cache.backends.locmem.LocMemCache", "shopassets"),
    ],
)
def test_cache_url_picks_the_backend(url, backend, location):
    assert cache_config(url) == {"BACKEND": backend, "LOCATION": location}


def test_cache_url_refuses_unknown_schemes():
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL='memcached://x': expected redis://"):
        cache_config("memcached://x")


@pytest.mark.skipif(bool(os.environ.get("CACHE_URL")), reason="CACHE_URL names another cache in this run")
def test_the_default_cache_is_shared_through_the_database(settings, db):
    from django.core.cache import cache
    from django.db import connection

    # given the embedded defaults (no CACHE_URL)
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"

    # when a value is cached
    cache.set("shared-check", 41)

    # then it is a row of the table migrate created, which every process reads
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM shopassets_cache")
        assert cursor.fetchone()[0] >= 1
    assert cache.incr("shared-check") == 42
