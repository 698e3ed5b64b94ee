"""Production settings: secrets are required from the environment, transport is locked down.

A forgotten variable must stop the process at start-up, never fall back to a development default: the
development secret key is public (forgeable invoice links and sessions), the default database and Redis are
someone else's, and a wrong public URL sends customers elsewhere. So the required variables are checked here,
all at once, before the shared settings are read, and ``ImproperlyConfigured`` names every one that is missing.
"""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# Keys that are public (in this repository, in Django's templates) or too weak to sign anything.
_KNOWN_INSECURE_SECRET_KEYS = frozenset(
    {
        "insecure-dev-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz",
        "change-me",
        "changeme",
        "secret",
    }
)
SECRET_KEY_MIN_LENGTH = 50


def _secret_key_problem(value: str) -> str | None:
    if value in _KNOWN_INSECURE_SECRET_KEYS or value.startswith("django-insecure-"):
        return "DJANGO_SECRET_KEY is a known, public development key"
    if len(value) < SECRET_KEY_MIN_LENGTH or len(set(value)) < 5:
        return (
            f"DJANGO_SECRET_KEY is too weak: use at least {SECRET_KEY_MIN_LENGTH} random characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    return None


def _check_environment(environ) -> None:
    problems = []
    required = {
        "DJANGO_SECRET_KEY": "Django's signing key (sessions, signed invoice links)",
        "DATABASE_URL": "the PostgreSQL database",
        "REDIS_URL": "Redis (cache, locks, rate limits, Celery)",
        "DJANGO_ALLOWED_HOSTS": "the host names the server answers to",
        "POLAR_PUBLIC_BASE_URL": "the public https:// base URL of checkout and invoice links",
    }
    for name, meaning in required.items():
        if not environ.get(name, "").strip():
            problems.append(f"{name} is not set ({meaning})")
    secret_key = environ.get("DJANGO_SECRET_KEY", "")
    if secret_key.strip():
        problem = _secret_key_problem(secret_key)
        if problem:
            problems.append(problem)
    base_url = environ.get("POLAR_PUBLIC_BASE_URL", "").strip()
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme != "https" or not parts.netloc:
            problems.append(f"POLAR_PUBLIC_BASE_URL must be an absolute https:// URL, not {base_url!r}")
    if problems:
        raise ImproperlyConfigured(
            "Production settings (polar.settings.production) refuse to start:\n  - "
            + "\n  - ".join(problems)
            + "\nSee docs/security.md."
        )


_check_environment(os.environ)

from .base import *
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

# X-Forwarded-Proto says whether the client spoke HTTPS to the proxy. Any client can send the header, so it
# is believed only when the operator says a proxy sets it (DJANGO_TRUST_X_FORWARDED_PROTO); with
# POLAR_TRUSTED_PROXIES set too, it is believed only from those addresses (polar.ratelimit.TrustedProxyMiddleware
# strips it from everyone else). Without it, a request is secure when it reached gunicorn over TLS.
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Health and metrics are scraped over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# Webhook receivers on loopback/private networks are refused in production (SSRF guard).
WEBHOOKS_ALLOW_LOOPBACK = env.bool("WEBHOOKS_ALLOW_LOOPBACK", default=False)
WEBHOOKS_ALLOW_PRIVATE = False

# drf-spectacular's deploy check builds the OpenAPI schema and reports its documentation-quality notes
# (W001: enum naming collisions, a field it cannot type) as warnings. They are not deployment risks;
# schema generation failures (E001) and errors (W002) still fail `check --deploy`.
SILENCED_SYSTEM_CHECKS = ["drf_spectacular.W001"]
