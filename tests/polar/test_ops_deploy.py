"""Production settings pass Django's deployment checklist once real secrets are in the environment."""

import os
import secrets
import subprocess
import sys

from django.conf import settings


def production_env(**overrides) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "POLAR_"))}
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="billing.example.com",
        # The check needs no connection, but the settings must parse real URLs.
        DATABASE_URL="postgres://polar:s3cret@db.internal:5432/polar",
        REDIS_URL="redis://redis.internal:6379/0",
        POLAR_PUBLIC_BASE_URL="https://billing.example.com",
    )
    env.update(overrides)
    return env


def run_deploy_check(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--settings=polar.settings.production", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings_and_real_secrets():
    result = run_deploy_check(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_production_settings_refuse_a_weak_secret_key():
    result = run_deploy_check(production_env(DJANGO_SECRET_KEY="short"))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is too weak" in result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = run_deploy_check(env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
