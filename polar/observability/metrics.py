"""Prometheus metrics. With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn with several workers, Celery),
prometheus-client keeps each process's samples in files there and ``/metrics`` aggregates them."""

import os

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from .queues import celery_queues_state

logger = structlog.get_logger(__name__)

# Label values are chosen from closed sets, never copied from the request: an unauthenticated client
# inventing methods or paths would otherwise add a time series per request (finding 5 of issue 11).
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_STATUS_CODES = frozenset(
    {200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 405, 406, 409, 410, 413, 415, 422, 429, 500, 502, 503, 504}
)


def method_label(method: str | None) -> str:
    return method if method in HTTP_METHODS else "other"


def status_label(status_code: int) -> str:
    """The code itself when it is a usual one, else its class ("4xx"); anything outside 100-599 is "other"."""
    if status_code in HTTP_STATUS_CODES:
        return str(status_code)
    if 100 <= status_code <= 599:
        return f"{status_code // 100}xx"
    return "other"


def route_label(match) -> str:
    """The URL pattern that answered (its template, as written in the urlconf), never the requested path:
    the urlconf is finite, paths are not. Unresolved requests (404 before routing) share "unmatched"."""
    if match is None or not match.route:
        return "unmatched"
    return "/" + match.route


HTTP_REQUESTS = Counter("polar_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "polar_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


# Gauges of state, read from the database when /metrics is scraped (apps register theirs in ready()):
# they hold across processes (Celery workers keep no metrics files of their own) and are what an
# on-call engineer alerts on — a renewal backlog, payments stuck pending. Each is a callable that
# yields prometheus-client metric families.
SCRAPE_COLLECTORS: list = [celery_queues_state]

# Gauges the alerts need whose source is not built yet (the ledger lives in payouts/, another issue): reported
# as 0 with "placeholder" in their help until a collector in SCRAPE_COLLECTORS yields the same name, so the
# alert rules and dashboards exist from day one. docs/slo.md says which ones are placeholders.
PLACEHOLDER_GAUGES = {
    "polar_ledger_breaches": "Ledger invariant breaches found by the last ledger check (placeholder: no ledger yet)",
}


class _ScrapeCollector:
    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        failed = GaugeMetricFamily(
            "polar_state_gauge_errors", "State gauges that could not be read at this scrape", labels=["gauge"]
        )
        seen = set()
        for collect in SCRAPE_COLLECTORS:
            try:
                families = list(collect())
            except Exception:  # the database is down, say: /metrics still answers with the process metrics
                logger.warning("metrics.state_gauge_failed", gauge=collect.__name__, exc_info=True)
                failed.add_metric([collect.__name__], 1)
                continue
            seen.update(family.name for family in families)
            yield from families
        for name, documentation in PLACEHOLDER_GAUGES.items():
            if name not in seen:
                yield GaugeMetricFamily(name, documentation, value=0)
        yield failed


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    state = CollectorRegistry()
    state.register(_ScrapeCollector())
    return generate_latest(registry) + generate_latest(state), CONTENT_TYPE_LATEST
