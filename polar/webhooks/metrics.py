"""The webhook outbox's metrics: state gauges read at scrape time (see
``polar.observability.metrics.SCRAPE_COLLECTORS``) and the delivery counters the delivery service
increments (in the Celery worker that sent them)."""

import datetime as dt

from django.db import connection
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

_STATE_SQL = """
SELECT
  (SELECT count(*) FROM webhooks_webhookevent WHERE fanned_out_at IS NULL),
  (SELECT count(*) FROM webhooks_webhookdelivery WHERE status = 'pending'),
  (SELECT min(event_created_at) FROM webhooks_webhookdelivery WHERE status = 'pending'),
  (SELECT count(*) FROM webhooks_webhookendpoint WHERE NOT enabled AND deleted_at IS NULL)
"""

# outcome: "succeeded"; "retrying" (failed, another attempt is scheduled); "failed" (out of retries);
# "error" (failed, the schedule was not this worker's to move: a stale lease).
DELIVERY_OUTCOMES = ("succeeded", "retrying", "failed", "error")
DISABLE_REASONS = frozenset({"user", "gone", "failing", "deleted"})

DELIVERIES = Counter("polar_webhook_deliveries_total", "Webhook delivery attempts by outcome", ["outcome"])
DELIVERY_LATENCY = Histogram(
    "polar_webhook_delivery_latency_seconds",
    "From the event's creation to its successful delivery (the SLI: the share under 600 s)",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600, 24 * 3600),
)
ENDPOINTS_DISABLED = Counter("polar_webhook_endpoints_disabled_total", "Webhook endpoints disabled, by reason", ["reason"])


def delivery_observed(*, succeeded: bool, status: str, retrying: bool, latency: dt.timedelta) -> None:
    if succeeded:
        DELIVERIES.labels("succeeded").inc()
        DELIVERY_LATENCY.observe(max(latency.total_seconds(), 0.0))
    elif status == "failed":
        DELIVERIES.labels("failed").inc()
    else:
        DELIVERIES.labels("retrying" if retrying else "error").inc()


def endpoint_disabled(reason: str) -> None:
    ENDPOINTS_DISABLED.labels(reason if reason in DISABLE_REASONS else "other").inc()


def webhooks_state():
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL)
        not_fanned_out, pending, oldest, disabled = cursor.fetchone()
    yield GaugeMetricFamily(
        "polar_webhook_events_not_fanned_out", "Webhook events committed but not fanned out yet", value=not_fanned_out
    )
    yield GaugeMetricFamily(
        "polar_webhook_deliveries_pending", "Webhook deliveries not sent successfully yet (queued or retrying)", value=pending
    )
    age = max((dt.datetime.now(dt.UTC) - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    yield GaugeMetricFamily(
        "polar_webhook_deliveries_pending_oldest_seconds", "Age of the event of the oldest pending delivery", value=age
    )
    yield GaugeMetricFamily(
        "polar_webhook_endpoints_disabled", "Webhook endpoints disabled (not deleted): their events wait", value=disabled
    )
