import pytest
from django.core.exceptions import ImproperlyConfigured

from shop_assets.env import env_bool, env_choice, env_int, env_list


def test_env_int_reads_and_bounds(monkeypatch):
    monkeypatch.setenv("X_INT", "42")
    assert env_int("X_INT", 1, minimum=1, maximum=100) == 42
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="X_INT=0: must be at least 1"):
        env_int("X_INT", 1, minimum=1)


def test_env_int_refuses_non_numbers(monkeypatch):
    monkeypatch.setenv("X_INT", "forty")
    with pytest.raises(ImproperlyConfigured, match="X_INT='forty': expected an integer"):
        env_int("X_INT", 1)


def test_env_bool_accepts_words_and_refuses_typos(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    assert env_bool("X_BOOL") is True
    monkeypatch.setenv("X_BOOL", "off")
    assert env_bool("X_BOOL", True) is False
    monkeypatch.setenv("X_BOOL", "ture")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL")


def test_env_list_and_choice(monkeypatch):
    monkeypatch.setenv("X_LIST", "a.com, b.com,,")
    assert env_list("X_LIST") == ["a.com", "b.com"]
    monkeypatch.setenv("X_CHOICE", "gpu")
    with pytest.raises(ImproperlyConfigured, match="expected one of auto, cpu"):
        env_choice("X_CHOICE", "auto", ("auto", "cpu"))


def test_embedded_defaults_need_no_servers(settings):
    assert settings.DATABASES["default"]["ENGINE"] in (
        "django.db.backends.sqlite3",
        "django.db.backends.postgresql",
    )
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > settings.JOB_TIME_LIMIT
    assert settings.JOB_TIME_LIMIT > settings.JOB_SOFT_TIME_LIMIT


def test_importing_urls_does_not_import_torch():
    import subprocess
    import sys

    code = "import django,os,sys;os.environ['DJANGO_SETTINGS_MODULE']='tests.settings';django.setup();import shop_assets.urls, shop_assets.jobs.tasks;print('torch' in sys.modules)"
    from django.conf import settings

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=settings.BASE_DIR
    )
    assert out.stdout.strip() == "False"
