"""The webhook outbox's state gauges for /metrics (read at scrape time; see
``polar.observability.metrics.SCRAPE_COLLECTORS``)."""

import datetime as dt

from django.db import connection
from prometheus_client.core import GaugeMetricFamily

_STATE_SQL = """
SELECT
  (SELECT count(*) FROM webhooks_webhookevent WHERE fanned_out_at IS NULL),
  (SELECT count(*) FROM webhooks_webhookdelivery WHERE status = 'pending'),
  (SELECT min(event_created_at) FROM webhooks_webhookdelivery WHERE status = 'pending')
"""


def webhooks_state():
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL)
        not_fanned_out, pending, oldest = cursor.fetchone()
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
