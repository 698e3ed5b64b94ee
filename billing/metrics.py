"""Billing's state gauges for /metrics (read from the database at scrape time; see
``polar.observability.metrics.SCRAPE_COLLECTORS``). What to alert on is in docs/runbook.md."""

import datetime as dt

from django.db import connection
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from polar import clock

# One query, on the indexes the sweeps use (subscription_due_idx, payment_pending_idx).
_STATE_SQL = """
SELECT
  (SELECT count(*) FROM billing_subscription WHERE status = ANY(%(renewable)s) AND current_period_end <= %(now)s),
  (SELECT min(current_period_end) FROM billing_subscription WHERE status = ANY(%(renewable)s) AND current_period_end <= %(now)s),
  (SELECT count(*) FROM billing_payment WHERE status = 'pending'),
  (SELECT min(created_at) FROM billing_payment WHERE status = 'pending'),
  (SELECT count(*) FROM billing_order WHERE status = 'pending' AND billing_reason = 'subscription_cycle'),
  (SELECT count(*) FROM billing_subscription WHERE status = 'past_due')
"""


def _age(now: dt.datetime, since) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


def billing_state():
    from billing.models import Subscription

    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, {"renewable": list(Subscription.RENEWABLE_STATUSES), "now": now})
        due, oldest_due, pending, oldest_pending, unpaid_cycles, past_due = cursor.fetchone()
    yield GaugeMetricFamily("polar_renewals_due", "Subscriptions whose period has ended and that are not renewed yet", value=due)
    yield GaugeMetricFamily(
        "polar_renewals_due_oldest_seconds",
        "How long the oldest due subscription has waited for its renewal",
        value=_age(now, oldest_due),
    )
    # The same age under the name the SLO and alerts use (docs/slo.md): how late is the oldest renewal.
    yield GaugeMetricFamily(
        "polar_renewal_lag_seconds",
        "Age of the oldest period that ended and is not renewed yet (0 when none is due)",
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
    yield GaugeMetricFamily("polar_subscriptions_past_due", "Subscriptions past due (a renewal charge failed)", value=past_due)


# --- Counters and histograms, incremented by the services (one line each) ------------------------------
# They live in the process that did the work: a gunicorn worker (checkouts, ingestion) or a Celery worker
# (renewals, retries). With PROMETHEUS_MULTIPROC_DIR set each process writes its own files and the web's
# /metrics or the worker's metrics port (polar/observability/worker_metrics.py) adds them up.
# Every label value comes from a closed set below: processors invent decline codes, customers do not get a label.

ORDER_BILLING_REASONS = frozenset({"purchase", "subscription_create", "subscription_cycle", "subscription_update"})
DECLINE_CODES = frozenset(
    {
        "card_declined",
        "insufficient_funds",
        "expired_card",
        "incorrect_cvc",
        "incorrect_number",
        "invalid_token",
        "processing_error",
        "processor_error",
        "authentication_required",
        "do_not_honor",
        "fraudulent",
        "lost_card",
        "stolen_card",
    }
)

EVENTS_INGESTED = Counter("polar_events_ingested_total", "Usage events stored by POST /v1/events/ingest")
EVENTS_REJECTED = Counter(
    "polar_events_rejected_total", "Usage events refused (their batch failed validation: all-or-nothing, 422)"
)
ORDERS_CREATED = Counter("polar_orders_created_total", "Orders written", ["billing_reason"])
CHARGES = Counter("polar_charges_total", "Charge outcomes from the payment processor", ["outcome", "decline_code"])
RENEWAL_DELAY = Histogram(
    "polar_renewal_delay_seconds",
    "Time from the end of a period to its renewal (the renewal timeliness SLI: the share under 300 s)",
    buckets=(30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600),
)
DUNNING_RECOVERIES = Counter(
    "polar_dunning_recoveries_total", "Past-due subscriptions back to active once their unpaid orders were paid"
)


def order_created(billing_reason: str, count: int = 1) -> None:
    ORDERS_CREATED.labels(billing_reason if billing_reason in ORDER_BILLING_REASONS else "other").inc(count)


def charge_observed(decline_code: str | None) -> None:
    """One processor answer: ``None`` is a success; any other code is a decline, bucketed into a closed set."""
    if decline_code is None:
        CHARGES.labels("succeeded", "").inc()
    else:
        CHARGES.labels("declined", decline_code if decline_code in DECLINE_CODES else "other").inc()


def renewal_observed(delay: dt.timedelta) -> None:
    RENEWAL_DELAY.observe(max(delay.total_seconds(), 0.0))
