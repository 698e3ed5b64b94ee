"""Prometheus metrics. With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn with several workers, Celery),
prometheus-client keeps each process's samples in files there and ``/metrics`` aggregates them."""
import os

import structlog

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client import REGISTRY

logger = structlog.get_logger(__name__)

HTTP_REQUESTS = Counter(
    "polar_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
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
SCRAPE_COLLECTORS: list = []


class _ScrapeCollector:
    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        failed = GaugeMetricFamily("polar_state_gauge_errors", "State gauges that could not be read at this scrape", labels=["gauge"])
        for collect in SCRAPE_COLLECTORS:
            try:
                families = list(collect())
            except Exception:  # the database is down, say: /metrics still answers with the process metrics
                logger.warning("metrics.state_gauge_failed", gauge=collect.__name__, exc_info=True)
                failed.add_metric([collect.__name__], 1)
                continue
            yield from families
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
