"""gunicorn settings for ``make demo`` and production. Every value can be overridden from the environment
(``GUNICORN_*``) or the command line."""

import os
import shutil
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

# With several worker processes prometheus-client keeps each one's samples in files under this directory and
# /metrics adds them up. prometheus-client picks its storage when first imported, so this is set before
# anything imports it (the workers fork from this master), and the directory starts empty in on_starting:
# files from an earlier run would be counted again.
PROMETHEUS_MULTIPROC_DIR = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    str(Path(os.environ.get("POLAR_DATA_DIR", BASE_DIR / ".data")) / "prometheus" / "gunicorn"),
)

wsgi_app = "polar.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# More than one thread switches gunicorn to its gthread worker.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "15"))
# polar.request logs one JSON line per request; gunicorn's access log would repeat it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Requests come from a proxy on this host at most. gunicorn believes its X-Forwarded-Proto only from these
# addresses; Django does with DJANGO_TRUST_X_FORWARDED_PROTO, from POLAR_TRUSTED_PROXIES (docs/security.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's runtime control socket would sit in $HOME, shared by every instance on the machine: off.
control_socket_disable = True


def on_starting(server):
    """Once, in the master, before any worker: start from an empty metrics directory."""
    shutil.rmtree(PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
    os.makedirs(PROMETHEUS_MULTIPROC_DIR, exist_ok=True)


def child_exit(server, worker):
    """A worker is gone: fold its gauges away so /metrics stops reporting a dead process."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    """Tracing per worker process, before the worker loads the app (Django's middleware chain then includes
    the OpenTelemetry one). Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (polar/observability/tracing.py)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polar.settings.production")
    from polar.observability import tracing

    tracing.setup("polar-web")
