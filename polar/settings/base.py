"""Settings shared by every environment, read from the environment with django-environ.

One section per concern. Nothing here is computed from state that tests must change:
tests override with pytest-django's ``settings`` fixture or ``polar.settings.test``.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env is a convenience for developers; the process environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The development key below is public. It is accepted only on a machine that says it is for development
# (POLAR_DEVELOPMENT, which `manage.py` with no DJANGO_SETTINGS_MODULE, `make demo` and the test settings set)
# or with DJANGO_DEBUG; anything else without DJANGO_SECRET_KEY refuses to start rather than sign invoice
# links and sessions with a key anyone can read. polar.settings.production checks more (docs/security.md).
DEVELOPMENT = env.bool("POLAR_DEVELOPMENT", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEVELOPMENT or DEBUG):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. In production use DJANGO_SETTINGS_MODULE=polar.settings.production "
            "with DJANGO_SECRET_KEY and the other required variables (docs/security.md); on a development "
            "machine set POLAR_DEVELOPMENT=1 to use the public development key."
        )
    SECRET_KEY = "insecure-dev-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The public base URL, used to build hosted checkout and invoice links.
PUBLIC_BASE_URL = env("POLAR_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

ROOT_URLCONF = "polar.urls"
WSGI_APPLICATION = "polar.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Collections live at trailing-slash paths and items without; a redirect would break SDK POSTs.
APPEND_SLASH = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "guardian",
    "auditlog",
    "polar.organizations",
    "polar.api",
    "polar.webhooks",
    "customers",
    "billing",
    "payouts",
]

MIDDLEWARE = [
    "polar.observability.middleware.RequestContextMiddleware",
    # NUL / non-UTF-8 in the path, query or headers, and oversize bodies: refused before any view runs.
    "polar.api.middleware.InputLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, API docs) served by the app itself: no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "polar.audit.AuditlogMiddleware",  # auditlog's, leaving no context behind (polar/audit.py)
]

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

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/polar"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Behind PgBouncer in transaction mode (docs/scaling.md) a server connection serves another client after each
# transaction: nothing may outlive one. Django's server-side cursors (QuerySet.iterator()) and psycopg's
# prepared statements do, so both are turned off. tests/ops/test_pgbouncer.py runs the billing flows so.
if env.bool("DATABASE_POOLER_TRANSACTION_MODE", default=False):
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None

# --- Auth -----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Staff passwords guard refunds and payouts: no common or all-digit passwords, 12 characters at least.
# (createsuperuser and the admin's password forms apply these; the demo seed's password is random.)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
GUARDIAN_RAISE_403 = True

# --- I18n / time ----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Without collectstatic (tests, a fresh checkout) whitenoise finds files through the finders.
WHITENOISE_USE_FINDERS = True
# The pages' own stylesheet and script (assets/polar/, served at /static/polar/; /static/ is collectstatic's).
STATICFILES_DIRS = [BASE_DIR / "assets"]

# --- Redis and Celery -----------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
# Queues split by kind (docs/scaling.md): with CELERY_SPLIT_QUEUES on, renewals, webhook deliveries and the
# ledger's tasks each get a queue of their own, drained by workers started for it (`celery worker -Q renewals`),
# so a webhook backlog never delays a renewal. Off (the default, and the demo), everything shares "celery".
if env.bool("CELERY_SPLIT_QUEUES", default=False):
    CELERY_TASK_ROUTES = {
        "billing.tasks.renewals_*": {"queue": "renewals"},
        "billing.tasks.subscription_cycle*": {"queue": "renewals"},
        "billing.tasks.late_usage_*": {"queue": "renewals"},
        "polar.webhooks.tasks.*": {"queue": "webhooks"},
        "payouts.tasks.*": {"queue": "ledger"},
    }
# Beat's schedule lives in the database (django-celery-beat) so staff can see and change it.
# This is the default set, written there by `manage.py sync_periodic_tasks` (run on migrate).
CELERY_BEAT_SCHEDULE = {
    "prune-idempotency-keys": {
        "task": "polar.api.tasks.idempotency_keys_prune",
        "schedule": timedelta(hours=1),
    },
    "events-partitions-ensure": {
        "task": "billing.tasks.events_partitions_ensure",
        "schedule": timedelta(days=1),
    },
    "renewals-sweep": {
        "task": "billing.tasks.renewals_sweep",
        "schedule": timedelta(minutes=1),
    },
    "late-usage-after-end": {
        "task": "billing.tasks.late_usage_after_end",
        "schedule": timedelta(hours=1),
    },
    "payments-reconcile": {
        "task": "billing.tasks.payments_reconcile",
        "schedule": timedelta(minutes=5),
    },
    # After a charge, nothing fails: deliver what a failure or a crash left undelivered (docs/fulfilment.md).
    "fulfilment-sweep": {
        "task": "billing.tasks.fulfilment_sweep",
        "schedule": timedelta(minutes=1),
    },
    # Ledger (docs/ledger.md): pending funds past the holding period become available.
    "ledger-release-due": {
        "task": "payouts.tasks.ledger_release_due",
        "schedule": timedelta(hours=1),
    },
    # Dunning: retries of failed renewals on each organization's schedule (docs/billing.md, "Dunning").
    "dunning-run": {
        "task": "billing.tasks.dunning_run",
        "schedule": timedelta(hours=1),
    },
    # Customer sessions (the portal's tokens) expired more than a week ago are deleted.
    "customer-sessions-prune": {
        "task": "billing.tasks.customer_sessions_prune",
        "schedule": timedelta(hours=1),
    },
    # Hourly meter rollups: newly ingested events folded in behind a watermark (docs/events.md).
    "meter-rollups-refresh": {
        "task": "billing.tasks.meter_rollups_refresh",
        "schedule": timedelta(minutes=1),
    },
    # Costs and active users per organization, the same way (docs/events.md).
    "event-rollups-refresh": {
        "task": "billing.tasks.event_rollups_refresh",
        "schedule": timedelta(minutes=1),
    },
    # Disputes reported by the processor: recorded, followed and posted to the ledger.
    "disputes-sync": {
        "task": "billing.tasks.disputes_sync",
        "schedule": timedelta(minutes=15),
    },
    # Payouts (docs/ledger.md): send pending payouts, settle those due; the automatic weekly payouts.
    "payouts-process": {
        "task": "payouts.tasks.payouts_process",
        "schedule": timedelta(minutes=15),
    },
    "payouts-weekly": {
        "task": "payouts.tasks.payouts_weekly",
        "schedule": timedelta(hours=1),
    },
    # Ledger: verify every invariant once a day; the breach count feeds the polar_ledger_breaches gauge.
    "ledger-check": {
        "task": "payouts.tasks.ledger_check",
        "schedule": timedelta(days=1),
    },
    # Webhook outbox: fan out events a crash left behind, send due retries, disable failing endpoints.
    "webhooks-sweep": {
        "task": "polar.webhooks.tasks.webhooks_sweep",
        "schedule": timedelta(seconds=5),
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "polar",
    }
}

# --- API ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["polar.organizations.authentication.OrganizationTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["polar.api.permissions.HasTokenScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Strict JSON: no NUL, NaN/Infinity, integers beyond int64, deep nesting or oversize bodies (docs/input-limits.md).
    "DEFAULT_PARSER_CLASSES": ["polar.api.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "polar.api.pagination.PolarPagination",
    "EXCEPTION_HANDLER": "polar.api.exceptions.polar_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "polar.api.openapi.PolarAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Polar-compatible billing API",
    "DESCRIPTION": "Public v1 API, wire-compatible with Polar's (polar-sdk 0.32.x and 1.0.x).",
    "VERSION": "2026-04",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema per API version (Polar-Version or ?version=): polar.api.openapi, docs/api-versions.md.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "polar.api.openapi.schema_for_version"],
}

# --- Input limits (docs/input-limits.md) ------------------------------------
# The largest body held in memory (2.5 MiB: 1,000 ingested events with metadata fit); larger is a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# JSON deeper than this is refused with a 422 (Polar's own payloads nest 4 levels at most).
API_MAX_JSON_DEPTH = 32

# Idempotency keys are remembered this long, then pruned by beat.
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)

# --- Webhooks -------------------------------------------------------------
# Loopback receivers are refused outside development (SSRF guard); development and tests allow them.
WEBHOOKS_ALLOW_LOOPBACK = env.bool("WEBHOOKS_ALLOW_LOOPBACK", default=DEVELOPMENT or DEBUG)
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
# Wall-clock bound on one delivery attempt (DNS, connect, TLS, headers, body); the lease is this + 30 s.
WEBHOOK_DELIVERY_DEADLINE_SECONDS = env.float("WEBHOOK_DELIVERY_DEADLINE_SECONDS", default=10.0)

# --- Email ----------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="billing@localhost")

# --- Audit ----------------------------------------------------------------
AUDITLOG_CID_GETTER = "polar.observability.context.get_request_id"
AUDITLOG_INCLUDE_ALL_MODELS = False

# --- Logging --------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="json")  # json | console
# Django calls this with LOGGING at start-up: structlog JSON lines for every logger.
LOGGING_CONFIG = "polar.observability.logging.configure_from_settings"
LOGGING = {"level": LOG_LEVEL, "format": LOG_FORMAT}

# --- Metrics --------------------------------------------------------------
# With several gunicorn workers prometheus-client aggregates through files in this directory.
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")

# --- Payments -------------------------------------------------------------
# Which billing.payments.processors implementation charges cards; "sandbox" is built in (docs/sandbox.md).
PAYMENT_PROCESSOR = env("PAYMENT_PROCESSOR", default="sandbox")
# Sandbox fault switch overriding the admin's SandboxSettings row: "", "timeout", "timeout_after_charge", "error".
SANDBOX_PROCESSOR_FAULT = env("SANDBOX_PROCESSOR_FAULT", default="")

# --- Local data -----------------------------------------------------------
# Embedded PostgreSQL/Redis data, the demo token and password, gunicorn's metrics files (scripts/devservices.py).
POLAR_DATA_DIR = Path(env("POLAR_DATA_DIR", default=str(BASE_DIR / ".data")))

# --- Checkouts and invoices ---------------------------------------------------------------------------
# How long the signed invoice link returned by GET /v1/orders/{id}/invoice stays valid (seconds).
INVOICE_URL_MAX_AGE = env.int("INVOICE_URL_MAX_AGE", default=3600)
# The invoice link in a receipt e-mail (read days later): 30 days.
INVOICE_EMAIL_URL_MAX_AGE = env.int("INVOICE_EMAIL_URL_MAX_AGE", default=30 * 24 * 3600)
# How long a customer session (the customer portal's bearer token, POST /v1/customer-sessions/) lasts: an hour, as Polar's.
CUSTOMER_SESSION_TTL = env.int("POLAR_CUSTOMER_SESSION_TTL", default=3600)

# --- Rate limits and lockouts (polar/ratelimit.py, docs/security.md) -------------------------------------
# Fixed windows counted in Redis, shared by every worker. Each rate is "N/period" ("3000/minute", "20/15m");
# "off" disables one. Defaults are far above what a well-behaved integration (or the test suite) sends.
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS_ENABLED", default=True)
RATE_LIMIT_REDIS_URL = env("RATE_LIMIT_REDIS_URL", default=REDIS_URL)
RATE_LIMITS = {
    # per access token, every authenticated API call except ingestion and license keys
    "token": env("RATE_LIMIT_TOKEN", default="3000/minute"),
    # per access token, POST /v1/events/ingest (each call carries up to 1,000 events)
    "ingest": env("RATE_LIMIT_INGEST", default="1200/minute"),
    # per access token, the events those calls carry (a batch that does not fit is refused whole)
    "ingest_events": env("RATE_LIMIT_INGEST_EVENTS", default="300000/minute"),
    # per token and per client address, license-key validate/activate/deactivate
    "license_keys": env("RATE_LIMIT_LICENSE_KEYS", default="600/minute"),
    # per client address: /v1/checkouts/client/... and the hosted checkout page /checkout/<secret>
    "public": env("RATE_LIMIT_PUBLIC", default="300/minute"),
    # per client address: other views that need no token (OpenAPI schema, docs)
    "anonymous": env("RATE_LIMIT_ANONYMOUS", default="600/minute"),
    # per client address: failed API authentications; past it every attempt from there is refused
    "auth_failures": env("RATE_LIMIT_AUTH_FAILURES", default="100/10m"),
    # admin login: failed attempts per username and per client address before a lockout
    "admin_login_user": env("RATE_LIMIT_ADMIN_LOGIN_USER", default="5/15m"),
    "admin_login_ip": env("RATE_LIMIT_ADMIN_LOGIN_IP", default="30/15m"),
}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["polar.api.throttling.PolarRateThrottle"]
# Addresses (or networks) of the reverse proxies in front of gunicorn. Only from these are X-Forwarded-For
# (the client address rate limits count against) and X-Forwarded-Proto believed; from anyone else they are
# dropped. Empty: the TCP peer is the client and the headers are left alone (production still ignores
# X-Forwarded-Proto unless DJANGO_TRUST_X_FORWARDED_PROTO is set).
TRUSTED_PROXIES = env.list("POLAR_TRUSTED_PROXIES", default=[])
TRUST_X_FORWARDED_PROTO = env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False)
MIDDLEWARE = ["polar.ratelimit.TrustedProxyMiddleware", *MIDDLEWARE, "polar.ratelimit.RateLimitMiddleware"]
