"""Billing's state gauges for /metrics (read from the database at scrape time; see
``polar.observability.metrics.SCRAPE_COLLECTORS``). What to alert on is in docs/runbook.md."""

import datetime as dt

from django.db import connection
from prometheus_client.core import GaugeMetricFamily

from polar import clock

# One query, on the indexes the sweeps use (subscription_due_idx, payment_pending_idx).
_STATE_SQL = """
SELECT
  (SELECT count(*) FROM billing_subscription WHERE status = ANY(%(renewable)s) AND current_period_end <= %(now)s),
  (SELECT min(current_period_end) FROM billing_subscription WHERE status = ANY(%(renewable)s) AND current_period_end <= %(now)s),
  (SELECT count(*) FROM billing_payment WHERE status = 'pending'),
  (SELECT min(created_at) FROM billing_payment WHERE status = 'pending'),
  (SELECT count(*) FROM billing_order WHERE status = 'pending' AND billing_reason = 'subscription_cycle')
"""


def _age(now: dt.datetime, since) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


def billing_state():
    from billing.models import Subscription

    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, {"renewable": list(Subscription.RENEWABLE_STATUSES), "now": now})
        due, oldest_due, pending, oldest_pending, unpaid_cycles = cursor.fetchone()
    yield GaugeMetricFamily("polar_renewals_due", "Subscriptions whose period has ended and that are not renewed yet", value=due)
    yield GaugeMetricFamily(
        "polar_renewals_due_oldest_seconds",
        "How long the oldest due subscription has waited for its renewal",
        value=_age(now, oldest_due),
    )
    yield GaugeMetricFamily("polar_payments_pending", "Payments waiting for the processor's answer", value=pending)
    yield GaugeMetricFamily(
        "polar_payments_pending_oldest_seconds",
        "Age of the oldest pending payment",
        value=_age(dt.datetime.now(dt.UTC), oldest_pending),
    )
    yield GaugeMetricFamily(
        "polar_renewal_orders_unpaid", "Renewal orders not paid yet (declined or waiting)", value=unpaid_cycles
    )
