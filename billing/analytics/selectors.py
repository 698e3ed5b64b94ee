"""The metrics' SQL: one statement per source (orders, subscriptions, checkouts, events), each answering one
row per bucket. Read-only, no locks, always scoped to one organization.

Buckets come from ``generate_series`` over *local* timestamps in the requested time zone, converted back with
``AT TIME ZONE``, so a day across a daylight-saving change is 23 or 25 hours; hours are a series of absolute
hours from the first local midnight. A row is put in its bucket by the bucket key of its timestamp
(``date_trunc(unit, t, tz)``, or whole hours since the first bucket), joined on equality, so the cost is
linear in the rows read, never buckets × rows.

Flows (orders, revenue, new and churned subscriptions…) count rows whose instant falls in the bucket.
Stocks (active subscriptions, MRR…) are measured at the bucket's *snapshot*: the last instant of the bucket,
or now for the bucket that contains now and later ones. A subscription (or a billed period) counts at the
snapshot ``s`` when ``start < s <= end`` (it started before the end of the bucket and had not ended before
it): each row adds +x at its start and −x at its end, keyed to the first bucket whose snapshot is after the
instant (rows from before the range go to the first bucket), and a running ``SUM() OVER`` over the buckets
gives the stock. docs/metrics.md defines every metric.
"""

import dataclasses
import datetime as dt
import uuid
import zoneinfo

from django.db import connection

UNITS = ("hour", "day", "week", "month", "year")
PAID_ORDER_STATUSES = ("paid", "refunded", "partially_refunded")
# A subscription's end: when it ended, or (dunning gave up: status unpaid, not ended) when it went past due.
SUBSCRIPTION_END = "COALESCE(s.ended_at, CASE WHEN s.status = 'unpaid' THEN s.past_due_at END)"
# The price of one billing interval, per month (numeric): the factor applied to a period's recurring amount.
MONTHLY_FACTOR = """(CASE s.recurring_interval
    WHEN 'month' THEN 1.0 / s.recurring_interval_count
    WHEN 'year' THEN 1.0 / (12 * s.recurring_interval_count)
    WHEN 'week' THEN 52.0 / (12 * s.recurring_interval_count)
    WHEN 'day' THEN 365.0 / (12 * s.recurring_interval_count)
END)"""


@dataclasses.dataclass(frozen=True)
class MetricsScope:
    """What a metrics query reads: one organization's rows in one currency, optionally filtered."""

    organization_id: uuid.UUID | None  # None: the caller asked for another organization: every figure is 0
    currency: str
    timezone: str
    unit: str
    range_start: dt.datetime  # the first bucket's start (aware)
    range_end: dt.datetime  # the last bucket's end (aware)
    now: dt.datetime
    product_ids: list[uuid.UUID] | None = None
    customer_ids: list[uuid.UUID] | None = None
    billing_type: str | None = None  # "one_time" | "recurring" | None

    def params(self) -> dict:
        assert self.unit in UNITS
        return {
            "org": self.organization_id,
            "currency": self.currency,
            "tz": self.timezone,
            "unit": self.unit,
            "step": f"1 {self.unit}",
            "range_start": self.range_start,
            "range_end": self.range_end,
            "now": self.now,
            "products": self.product_ids,
            "customers": self.customer_ids,
            "billing_type": self.billing_type,
        }


# Per interval, the shortest and longest range (end_date − start_date, in days) a request may ask for.
INTERVAL_LIMITS = {"hour": (0, 7), "day": (0, 366), "week": (0, 4 * 366), "month": (0, 10 * 366), "year": (0, 100 * 366)}


def bucket_range(*, start_date: dt.date, end_date: dt.date, unit: str, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """The first bucket's start and the last one's end: local midnights of the truncated dates in ``timezone``.
    Buckets are whole intervals: the first is the one containing ``start_date``, the last the one containing
    ``end_date`` (inclusive, as Polar's dates are)."""

    def truncate(day: dt.date) -> dt.date:
        if unit == "week":
            return day - dt.timedelta(days=day.weekday())
        if unit == "month":
            return day.replace(day=1)
        if unit == "year":
            return day.replace(month=1, day=1)
        return day

    first, last = truncate(start_date), truncate(end_date)
    if unit in ("hour", "day"):
        after = last + dt.timedelta(days=1)
    elif unit == "week":
        after = last + dt.timedelta(weeks=1)
    elif unit == "month":
        after = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    else:
        after = last.replace(year=last.year + 1)
    zone = zoneinfo.ZoneInfo(timezone)
    return dt.datetime.combine(first, dt.time(), zone), dt.datetime.combine(after, dt.time(), zone)


# The buckets, numbered from 0, with their snapshot instant.
_BUCKETS = """
buckets AS (
    SELECT (row_number() OVER (ORDER BY local_start) - 1)::int AS idx,
           local_start AT TIME ZONE %(tz)s AS bucket_start,
           (local_start + %(step)s::interval) AT TIME ZONE %(tz)s AS bucket_end,
           LEAST((local_start + %(step)s::interval) AT TIME ZONE %(tz)s, %(now)s::timestamptz) AS snapshot
    FROM generate_series(
        %(range_start)s::timestamptz AT TIME ZONE %(tz)s,
        (%(range_end)s::timestamptz AT TIME ZONE %(tz)s) - %(step)s::interval,
        %(step)s::interval
    ) AS local_start
    WHERE %(unit)s <> 'hour'
    UNION ALL
    SELECT (row_number() OVER (ORDER BY g) - 1)::int, g, g + interval '1 hour', LEAST(g + interval '1 hour', %(now)s::timestamptz)
    FROM generate_series(%(range_start)s::timestamptz, %(range_end)s::timestamptz - interval '1 hour', interval '1 hour') AS g
    WHERE %(unit)s = 'hour'
)"""


def _key(column: str) -> str:
    """The start of the bucket holding instant ``column`` (an SQL expression), comparable to bucket_start."""
    return f"""(CASE WHEN %(unit)s = 'hour'
        THEN %(range_start)s::timestamptz + floor(extract(epoch FROM ({column}) - %(range_start)s::timestamptz) / 3600) * interval '1 hour'
        ELSE date_trunc(%(unit)s, {column}, %(tz)s) END)"""


def _stock_key(column: str) -> str:
    """The bucket from whose snapshot on an instant counts: its own bucket, or the first for earlier ones."""
    return f"(CASE WHEN {column} < %(range_start)s::timestamptz THEN %(range_start)s::timestamptz ELSE {_key(column)} END)"


def _fetch(query: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def metric_buckets(scope: MetricsScope) -> list[dict]:
    """``[{"idx", "bucket_start", "bucket_end"}]``: the buckets alone (for an empty answer's timestamps)."""
    return _fetch(f"WITH {_BUCKETS} SELECT idx, bucket_start, bucket_end FROM buckets ORDER BY idx", scope.params())


# --- orders: flows keyed by the instant an order was paid -----------------------------------------------------

_ORDERS = f"""
WITH {_BUCKETS},
paid AS (
    SELECT {_key("o.paid_at")} AS bucket_start, o.billing_reason, o.net_amount,
           o.net_amount - (o.refunded_amount - o.refunded_tax_amount) AS net_after_refunds
    FROM billing_order o
    WHERE o.organization_id = %(org)s
      AND o.status IN {PAID_ORDER_STATUSES!r}
      AND o.currency = %(currency)s
      AND o.paid_at >= %(range_start)s AND o.paid_at < %(range_end)s
      AND (%(products)s::uuid[] IS NULL OR o.product_id = ANY(%(products)s::uuid[]))
      AND (%(customers)s::uuid[] IS NULL OR o.customer_id = ANY(%(customers)s::uuid[]))
      AND (%(billing_type)s::text IS NULL OR (o.billing_reason = 'purchase') = (%(billing_type)s::text = 'one_time'))
),
grouped AS (
    SELECT bucket_start,
           count(*) AS orders,
           sum(net_amount) AS revenue,
           sum(net_after_refunds) AS net_revenue,
           count(*) FILTER (WHERE billing_reason = 'purchase') AS one_time_products,
           sum(net_amount) FILTER (WHERE billing_reason = 'purchase') AS one_time_products_revenue,
           sum(net_after_refunds) FILTER (WHERE billing_reason = 'purchase') AS one_time_products_net_revenue,
           count(*) FILTER (WHERE billing_reason = 'subscription_create') AS new_subscription_orders,
           sum(net_amount) FILTER (WHERE billing_reason = 'subscription_create') AS new_subscriptions_revenue,
           sum(net_after_refunds) FILTER (WHERE billing_reason = 'subscription_create') AS new_subscriptions_net_revenue,
           count(*) FILTER (WHERE billing_reason = 'subscription_cycle') AS renewed_subscriptions,
           sum(net_amount) FILTER (WHERE billing_reason = 'subscription_cycle') AS renewed_subscriptions_revenue,
           sum(net_after_refunds) FILTER (WHERE billing_reason = 'subscription_cycle') AS renewed_subscriptions_net_revenue
    FROM paid GROUP BY bucket_start
)
SELECT b.idx,
       COALESCE(g.orders, 0) AS orders,
       COALESCE(g.revenue, 0) AS revenue,
       COALESCE(g.net_revenue, 0) AS net_revenue,
       COALESCE(sum(g.revenue) OVER w, 0) AS cumulative_revenue,
       COALESCE(sum(g.net_revenue) OVER w, 0) AS net_cumulative_revenue,
       COALESCE(g.one_time_products, 0) AS one_time_products,
       COALESCE(g.one_time_products_revenue, 0) AS one_time_products_revenue,
       COALESCE(g.one_time_products_net_revenue, 0) AS one_time_products_net_revenue,
       COALESCE(g.new_subscriptions_revenue, 0) AS new_subscriptions_revenue,
       COALESCE(g.new_subscriptions_net_revenue, 0) AS new_subscriptions_net_revenue,
       COALESCE(g.renewed_subscriptions, 0) AS renewed_subscriptions,
       COALESCE(g.renewed_subscriptions_revenue, 0) AS renewed_subscriptions_revenue,
       COALESCE(g.renewed_subscriptions_net_revenue, 0) AS renewed_subscriptions_net_revenue
FROM buckets b LEFT JOIN grouped g ON g.bucket_start = b.bucket_start
WINDOW w AS (ORDER BY b.idx)
ORDER BY b.idx
"""


def order_metrics(scope: MetricsScope) -> list[dict]:
    return _fetch(_ORDERS, scope.params())


# --- subscriptions: stocks at each snapshot, and the flows of starts, cancellations and ends -------------------

_SUBSCRIPTIONS_SCOPE = """
    s.organization_id = %(org)s
    AND s.started_at IS NOT NULL AND s.started_at < %(range_end)s
    AND s.currency = %(currency)s
    AND (%(products)s::uuid[] IS NULL OR s.product_id = ANY(%(products)s::uuid[]))
    AND (%(customers)s::uuid[] IS NULL OR s.customer_id = ANY(%(customers)s::uuid[]))
    AND (%(billing_type)s::text IS NULL OR %(billing_type)s::text = 'recurring')"""

_SUBSCRIPTIONS = f"""
WITH {_BUCKETS},
subs AS (
    SELECT s.id, s.customer_id, s.started_at, {SUBSCRIPTION_END} AS end_at, s.trial_end, s.canceled_at,
           s.customer_cancellation_reason AS reason, s.amount * {MONTHLY_FACTOR} AS trial_monthly,
           {MONTHLY_FACTOR} AS factor
    FROM billing_subscription s
    WHERE {_SUBSCRIPTIONS_SCOPE}
),
-- What each subscription (or billed period) adds to a stock over (a, b].
spans AS (
    SELECT 'active' AS stock, started_at AS a, end_at AS b, 1::numeric AS x FROM subs
    UNION ALL SELECT 'committed', started_at, LEAST(end_at, canceled_at), 1 FROM subs
    UNION ALL SELECT 'trial_mrr', started_at, LEAST(trial_end, end_at), trial_monthly FROM subs WHERE trial_end > started_at
    UNION ALL SELECT 'trial_committed_mrr', started_at, LEAST(trial_end, end_at, canceled_at), trial_monthly
        FROM subs WHERE trial_end > started_at
    UNION ALL SELECT stock.name, GREATEST(i.period_start, s.started_at, s.trial_end),
        CASE WHEN stock.name = 'mrr' THEN LEAST(i.period_end, s.end_at) ELSE LEAST(i.period_end, s.end_at, s.canceled_at) END,
        (i.amount - i.discount_amount) * s.factor
    FROM subs s
    JOIN billing_order o ON o.subscription_id = s.id AND o.status <> 'void'
    JOIN billing_orderitem i ON i.order_id = o.id AND NOT i.proration AND i.period_start IS NOT NULL
    JOIN billing_productprice p ON p.id = i.product_price_id AND p.amount_type <> 'metered_unit'
    CROSS JOIN (VALUES ('mrr'), ('committed_mrr')) AS stock(name)
),
stock_deltas AS (
    SELECT stock, e.t, e.dx
    FROM spans CROSS JOIN LATERAL (VALUES (a, x), (b, -x)) AS e(t, dx)
    WHERE (b IS NULL OR b > a) AND e.t IS NOT NULL
),
-- Paying customers (for ARPU): +1 when a customer's count of paying (started, out of trial, not ended)
-- subscriptions goes from 0 to more, -1 when it comes back to 0.
paying AS (
    SELECT customer_id, e.t, e.dx
    FROM subs CROSS JOIN LATERAL (VALUES (GREATEST(started_at, trial_end), 1), (end_at, -1)) AS e(t, dx)
    WHERE (end_at IS NULL OR end_at > GREATEST(started_at, trial_end)) AND e.t IS NOT NULL
),
paying_running AS (
    SELECT customer_id, t, row_number() OVER c AS n_row, sum(dx) OVER (c ROWS UNBOUNDED PRECEDING) AS n
    FROM paying WINDOW c AS (PARTITION BY customer_id ORDER BY t, dx DESC)
),
paying_changes AS (
    SELECT 'paying_customers' AS stock, t,
           CASE WHEN n > 0 AND prev = 0 THEN 1 WHEN n = 0 AND prev > 0 THEN -1 ELSE 0 END::numeric AS dx
    FROM (SELECT t, n, COALESCE(lag(n) OVER (PARTITION BY customer_id ORDER BY n_row), 0) AS prev FROM paying_running) AS r
),
all_deltas AS (
    SELECT * FROM stock_deltas UNION ALL SELECT * FROM paying_changes
),
stock_grouped AS (
    SELECT CASE WHEN t < %(range_start)s THEN '-infinity'::timestamptz ELSE {_key("t")} END AS bucket_start,
           sum(dx) FILTER (WHERE stock = 'active') AS active,
           sum(dx) FILTER (WHERE stock = 'committed') AS committed,
           sum(dx) FILTER (WHERE stock = 'mrr') AS mrr,
           sum(dx) FILTER (WHERE stock = 'committed_mrr') AS committed_mrr,
           sum(dx) FILTER (WHERE stock = 'trial_mrr') AS trial_mrr,
           sum(dx) FILTER (WHERE stock = 'trial_committed_mrr') AS trial_committed_mrr,
           sum(dx) FILTER (WHERE stock = 'paying_customers') AS paying_customers
    FROM all_deltas
    WHERE t < LEAST(%(now)s::timestamptz, %(range_end)s::timestamptz)
    GROUP BY 1
),
baseline AS (
    SELECT COALESCE(sum(active), 0) AS active, COALESCE(sum(committed), 0) AS committed, COALESCE(sum(mrr), 0) AS mrr,
           COALESCE(sum(committed_mrr), 0) AS committed_mrr, COALESCE(sum(trial_mrr), 0) AS trial_mrr,
           COALESCE(sum(trial_committed_mrr), 0) AS trial_committed_mrr,
           COALESCE(sum(paying_customers), 0) AS paying_customers
    FROM stock_grouped WHERE bucket_start = '-infinity'
),
flows AS (
    SELECT {_key("e.t")} AS bucket_start,
           count(*) FILTER (WHERE e.kind = 'new') AS new_subscriptions,
           count(*) FILTER (WHERE e.kind = 'churned') AS churned_subscriptions,
           count(*) FILTER (WHERE e.kind = 'canceled') AS canceled_subscriptions,
           count(*) FILTER (WHERE e.kind = 'canceled' AND e.reason = 'customer_service') AS canceled_subscriptions_customer_service,
           count(*) FILTER (WHERE e.kind = 'canceled' AND e.reason = 'low_quality') AS canceled_subscriptions_low_quality,
           count(*) FILTER (WHERE e.kind = 'canceled' AND e.reason = 'missing_features') AS canceled_subscriptions_missing_features,
           count(*) FILTER (WHERE e.kind = 'canceled' AND e.reason = 'switched_service') AS canceled_subscriptions_switched_service,
           count(*) FILTER (WHERE e.kind = 'canceled' AND e.reason = 'too_complex') AS canceled_subscriptions_too_complex,
           count(*) FILTER (WHERE e.kind = 'canceled' AND e.reason = 'too_expensive') AS canceled_subscriptions_too_expensive,
           count(*) FILTER (WHERE e.kind = 'canceled' AND e.reason = 'unused') AS canceled_subscriptions_unused,
           count(*) FILTER (WHERE e.kind = 'canceled' AND (e.reason = 'other' OR e.reason IS NULL)) AS canceled_subscriptions_other
    FROM subs CROSS JOIN LATERAL (VALUES ('new', started_at, NULL), ('churned', end_at, NULL), ('canceled', canceled_at, reason))
        AS e(kind, t, reason)
    WHERE e.t >= %(range_start)s AND e.t < %(range_end)s
    GROUP BY 1
),
running AS (
    SELECT b.idx, b.bucket_start,
           bl.active + COALESCE(sum(g.active) OVER w, 0) AS active_subscriptions,
           bl.active + COALESCE(sum(g.active) OVER w, 0) - COALESCE(g.active, 0) AS active_at_start,
           bl.committed + COALESCE(sum(g.committed) OVER w, 0) AS committed_subscriptions,
           round(bl.mrr + COALESCE(sum(g.mrr) OVER w, 0)) AS monthly_recurring_revenue,
           round(bl.committed_mrr + COALESCE(sum(g.committed_mrr) OVER w, 0)) AS committed_monthly_recurring_revenue,
           round(bl.trial_mrr + COALESCE(sum(g.trial_mrr) OVER w, 0)) AS trial_monthly_recurring_revenue,
           round(bl.trial_committed_mrr + COALESCE(sum(g.trial_committed_mrr) OVER w, 0)) AS trial_committed_monthly_recurring_revenue,
           bl.paying_customers + COALESCE(sum(g.paying_customers) OVER w, 0) AS paying_customers
    FROM buckets b CROSS JOIN baseline bl LEFT JOIN stock_grouped g ON g.bucket_start = b.bucket_start
    WINDOW w AS (ORDER BY b.idx)
)
SELECT r.idx, r.active_subscriptions::bigint, r.active_at_start::bigint, r.committed_subscriptions::bigint,
       r.monthly_recurring_revenue::bigint, r.committed_monthly_recurring_revenue::bigint,
       r.trial_monthly_recurring_revenue::bigint, r.trial_committed_monthly_recurring_revenue::bigint,
       r.paying_customers::bigint,
       COALESCE(f.new_subscriptions, 0) AS new_subscriptions,
       COALESCE(f.churned_subscriptions, 0) AS churned_subscriptions,
       COALESCE(f.canceled_subscriptions, 0) AS canceled_subscriptions,
       COALESCE(f.canceled_subscriptions_customer_service, 0) AS canceled_subscriptions_customer_service,
       COALESCE(f.canceled_subscriptions_low_quality, 0) AS canceled_subscriptions_low_quality,
       COALESCE(f.canceled_subscriptions_missing_features, 0) AS canceled_subscriptions_missing_features,
       COALESCE(f.canceled_subscriptions_switched_service, 0) AS canceled_subscriptions_switched_service,
       COALESCE(f.canceled_subscriptions_too_complex, 0) AS canceled_subscriptions_too_complex,
       COALESCE(f.canceled_subscriptions_too_expensive, 0) AS canceled_subscriptions_too_expensive,
       COALESCE(f.canceled_subscriptions_unused, 0) AS canceled_subscriptions_unused,
       COALESCE(f.canceled_subscriptions_other, 0) AS canceled_subscriptions_other
FROM running r LEFT JOIN flows f ON f.bucket_start = r.bucket_start
ORDER BY r.idx
"""


def subscription_metrics(scope: MetricsScope) -> list[dict]:
    return _fetch(_SUBSCRIPTIONS, scope.params())


# --- checkouts: created in the bucket, and those of them that succeeded -----------------------------------------

_CHECKOUTS = f"""
WITH {_BUCKETS},
grouped AS (
    SELECT {_key("c.created_at")} AS bucket_start, count(*) AS checkouts,
           count(*) FILTER (WHERE c.status = 'succeeded') AS succeeded_checkouts
    FROM billing_checkout c LEFT JOIN billing_product p ON p.id = c.product_id
    WHERE c.organization_id = %(org)s AND c.created_at >= %(range_start)s AND c.created_at < %(range_end)s
      AND (%(products)s::uuid[] IS NULL OR c.product_id = ANY(%(products)s::uuid[]))
      AND (%(customers)s::uuid[] IS NULL OR c.customer_id = ANY(%(customers)s::uuid[]))
      AND (%(billing_type)s::text IS NULL OR (p.recurring_interval IS NULL) = (%(billing_type)s::text = 'one_time'))
    GROUP BY 1
)
SELECT b.idx, COALESCE(g.checkouts, 0) AS checkouts, COALESCE(g.succeeded_checkouts, 0) AS succeeded_checkouts
FROM buckets b LEFT JOIN grouped g ON g.bucket_start = b.bucket_start
ORDER BY b.idx
"""


def checkout_metrics(scope: MetricsScope) -> list[dict]:
    return _fetch(_CHECKOUTS, scope.params())


# --- events: costs (``_cost.amount``, in cents, possibly fractional) and active users -------------------------

COST_AMOUNT = """(CASE jsonb_typeof(e.metadata #> '{_cost,amount}')
    WHEN 'number' THEN (e.metadata #>> '{_cost,amount}')::numeric
    WHEN 'string' THEN (CASE WHEN e.metadata #>> '{_cost,amount}' ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$'
                             THEN (e.metadata #>> '{_cost,amount}')::numeric END) END)"""

_EVENTS = f"""
WITH {_BUCKETS},
scoped AS (
    SELECT e."timestamp" AS t, COALESCE(e.customer_id::text, e.external_customer_id) AS who,
           CASE WHEN lower(COALESCE(e.metadata #>> '{{_cost,currency}}', %(currency)s)) = %(currency)s THEN {COST_AMOUNT} END AS cost
    FROM billing_event e
    WHERE e.organization_id = %(org)s AND e."timestamp" >= %(range_start)s AND e."timestamp" < %(range_end)s
      AND (%(customers)s::uuid[] IS NULL OR e.customer_id = ANY(%(customers)s::uuid[]))
),
grouped AS (
    SELECT bk AS bucket_start, sum(cost) AS costs, count(DISTINCT who) AS active_user_by_event
    FROM (SELECT {_key("t")} AS bk, cost, who FROM scoped) AS k
    GROUP BY GROUPING SETS ((bk), ())
)
SELECT b.idx, COALESCE(g.costs, 0) AS costs, COALESCE(sum(g.costs) OVER w, 0) AS cumulative_costs,
       COALESCE(g.active_user_by_event, 0) AS active_user_by_event,
       (SELECT COALESCE(max(active_user_by_event), 0) FROM grouped WHERE bucket_start IS NULL) AS range_active_users
FROM buckets b LEFT JOIN grouped g ON g.bucket_start = b.bucket_start
WINDOW w AS (ORDER BY b.idx)
ORDER BY b.idx
"""


def event_metrics(scope: MetricsScope) -> list[dict]:
    return _fetch(_EVENTS, scope.params())
