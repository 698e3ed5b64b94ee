"""A production process refuses to start without its secrets (issue 11, finding 9), and trusts
X-Forwarded-Proto only when told to (finding 14b). Each test starts a real Python process as a deployment
would: gunicorn imports polar.wsgi, Celery imports polar.celery, an operator runs manage.py."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

DEV_KEY = "insecure-dev-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"


def clean_env(**variables) -> dict:
    """The machine's environment without any Django/Polar variable (as on a fresh production host)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "POLAR_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(variables)
    return env


def production_variables(**overrides) -> dict:
    variables = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "billing.example.com",
        "DATABASE_URL": "postgres://polar:s3cret@db.internal:5432/polar",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "POLAR_PUBLIC_BASE_URL": "https://billing.example.com",
    }
    variables.update(overrides)
    return {key: value for key, value in variables.items() if value is not None}


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


LOAD_SETTINGS = "import django; django.setup(); from django.conf import settings; print('KEY', settings.SECRET_KEY)"


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOWED_HOSTS", "POLAR_PUBLIC_BASE_URL"]
)
def test_production_settings_refuse_to_start_without_each_required_variable(missing):
    env = clean_env(DJANGO_SETTINGS_MODULE="polar.settings.production", **production_variables(**{missing: None}))
    result = run_python(LOAD_SETTINGS, env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{missing} is not set" in result.stderr


def test_production_settings_name_every_missing_variable_at_once():
    env = clean_env(DJANGO_SETTINGS_MODULE="polar.settings.production")
    result = run_python(LOAD_SETTINGS, env)
    assert result.returncode != 0
    for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOWED_HOSTS", "POLAR_PUBLIC_BASE_URL"):
        assert f"{name} is not set" in result.stderr


@pytest.mark.parametrize(
    "key, message",
    [
        (DEV_KEY, "known, public development key"),
        ("django-insecure-" + "a1b2c3d4e5" * 6, "known, public development key"),
        ("short-key", "too weak"),
        ("a" * 80, "too weak"),
    ],
)
def test_production_settings_refuse_a_known_or_weak_secret_key(key, message):
    env = clean_env(DJANGO_SETTINGS_MODULE="polar.settings.production", **production_variables(DJANGO_SECRET_KEY=key))
    result = run_python(LOAD_SETTINGS, env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_refuse_a_plain_http_public_base_url():
    env = clean_env(
        DJANGO_SETTINGS_MODULE="polar.settings.production",
        **production_variables(POLAR_PUBLIC_BASE_URL="http://billing.example.com"),
    )
    result = run_python(LOAD_SETTINGS, env)
    assert result.returncode != 0
    assert "POLAR_PUBLIC_BASE_URL must be an absolute https:// URL" in result.stderr


def test_production_settings_start_with_every_secret_set():
    variables = production_variables()
    env = clean_env(DJANGO_SETTINGS_MODULE="polar.settings.production", **variables)
    result = run_python(LOAD_SETTINGS, env)
    assert result.returncode == 0, result.stderr
    assert f"KEY {variables['DJANGO_SECRET_KEY']}" in result.stdout


def test_the_wsgi_application_defaults_to_production_settings_and_refuses_without_secrets():
    # What gunicorn does with `polar.wsgi:application` when DJANGO_SETTINGS_MODULE was forgotten.
    result = run_python("import polar.wsgi", clean_env())
    assert result.returncode != 0
    assert "polar.settings.production" in result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_the_celery_app_defaults_to_production_settings_and_refuses_without_secrets():
    # What `celery -A polar worker` loads when DJANGO_SETTINGS_MODULE was forgotten.
    result = run_python("from polar.celery import app; app.loader.import_default_modules()", clean_env())
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_base_settings_refuse_the_public_development_key_outside_development():
    result = run_python(LOAD_SETTINGS, clean_env(DJANGO_SETTINGS_MODULE="polar.settings.base"))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "POLAR_DEVELOPMENT" in result.stderr


def test_base_settings_use_the_development_key_on_a_development_machine():
    env = clean_env(DJANGO_SETTINGS_MODULE="polar.settings.base", POLAR_DEVELOPMENT="1")
    result = run_python(LOAD_SETTINGS, env)
    assert result.returncode == 0, result.stderr
    assert f"KEY {DEV_KEY}" in result.stdout


def test_manage_py_without_settings_is_a_development_machine():
    # `make seed`, `make migrate` and the README's commands run manage.py with nothing set.
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"],
        check=False,
        cwd=settings.BASE_DIR,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert DEV_KEY in result.stdout


PROXY_HEADER = "from django.conf import settings; print('PROXY', getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))"


def test_production_ignores_x_forwarded_proto_unless_configured():
    env = clean_env(DJANGO_SETTINGS_MODULE="polar.settings.production", **production_variables())
    result = run_python("import django; django.setup(); " + PROXY_HEADER, env)
    assert result.returncode == 0, result.stderr
    assert "PROXY None" in result.stdout


def test_production_trusts_x_forwarded_proto_when_configured():
    env = clean_env(
        DJANGO_SETTINGS_MODULE="polar.settings.production",
        DJANGO_TRUST_X_FORWARDED_PROTO="true",
        **production_variables(),
    )
    result = run_python("import django; django.setup(); " + PROXY_HEADER, env)
    assert result.returncode == 0, result.stderr
    assert "PROXY ('HTTP_X_FORWARDED_PROTO', 'https')" in result.stdout
