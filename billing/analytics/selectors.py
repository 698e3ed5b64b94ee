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
instant (rows from before the range make the baseline), and a running ``SUM() OVER`` over the buckets gives
the stock. docs/metrics.md defines every metric.
"""

import datetime as dt
import zoneinfo

from django.db import connection
from psycopg import sql

from billing.analytics import economics_sql, event_sql, subscription_sql
from billing.analytics.buckets import (  # noqa: F401  (bucket_range, INTERVAL_LIMITS: re-exported for the API)
    BUCKETS_CTE,
    INTERVAL_LIMITS,
    PAID_ORDER_STATUSES,
    MetricsScope,
    bucket_key,
    bucket_range,
)
from billing.models import Meter, MetricDashboard
from billing.usage.event_rollups import EVENT_COST, event_rollup_watermark
from billing.usage.rollups import whole_hours
from billing.usage.sql import compile_filter


def _fetch(query: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def metric_buckets(scope: MetricsScope) -> list[dict]:
    """``[{"idx", "bucket_start", "bucket_end"}]``: the buckets alone (for an empty answer's timestamps)."""
    return _fetch(f"WITH {BUCKETS_CTE} SELECT idx, bucket_start, bucket_end FROM buckets ORDER BY idx", scope.params())


# --- orders: flows keyed by the instant an order was paid -----------------------------------------------------

_ORDERS = f"""
WITH {BUCKETS_CTE},
paid AS (
    SELECT {bucket_key("o.paid_at")} AS bucket_start, o.billing_reason, o.net_amount,
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


# --- subscriptions (SQL in subscription_sql) -----------------------------------------------------------------


def subscription_metrics(scope: MetricsScope) -> list[dict]:
    return _fetch(subscription_sql.SUBSCRIPTIONS, scope.params())


def retention_metrics(scope: MetricsScope) -> list[dict]:
    return _fetch(subscription_sql.RETENTION, scope.params())


# --- dunning: renewal orders whose charge failed, by the instant they were created, and those since paid -------

_DUNNING = f"""
WITH {BUCKETS_CTE},
grouped AS (
    SELECT {bucket_key("o.created_at")} AS bucket_start, count(*) AS dunning_orders,
           count(*) FILTER (WHERE o.status IN {PAID_ORDER_STATUSES!r}) AS dunning_recovered_orders
    FROM billing_order o
    WHERE o.organization_id = %(org)s AND o.billing_reason = 'subscription_cycle' AND o.currency = %(currency)s
      AND o.created_at >= %(range_start)s AND o.created_at < %(range_end)s
      AND (%(products)s::uuid[] IS NULL OR o.product_id = ANY(%(products)s::uuid[]))
      AND (%(customers)s::uuid[] IS NULL OR o.customer_id = ANY(%(customers)s::uuid[]))
      AND (%(billing_type)s::text IS NULL OR %(billing_type)s::text = 'recurring')
      AND EXISTS (SELECT 1 FROM billing_payment p WHERE p.order_id = o.id AND p.status = 'failed')
    GROUP BY 1
)
SELECT b.idx, COALESCE(g.dunning_orders, 0) AS dunning_orders, COALESCE(g.dunning_recovered_orders, 0) AS dunning_recovered_orders
FROM buckets b LEFT JOIN grouped g ON g.bucket_start = b.bucket_start
ORDER BY b.idx
"""


def dunning_metrics(scope: MetricsScope) -> list[dict]:
    return _fetch(_DUNNING, scope.params())


# --- checkouts: created in the bucket, and those of them that succeeded -----------------------------------------

_CHECKOUTS = f"""
WITH {BUCKETS_CTE},
grouped AS (
    SELECT {bucket_key("c.created_at")} AS bucket_start, count(*) AS checkouts,
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

_EVENTS = f"""
WITH {BUCKETS_CTE},
scoped AS (
    SELECT e."timestamp" AS t, COALESCE(e.customer_id::text, e.external_customer_id) AS who,
           CASE WHEN lower(COALESCE(e.metadata #>> '{{_cost,currency}}', %(currency)s)) = %(currency)s THEN {EVENT_COST} END AS cost
    FROM billing_event e
    WHERE e.organization_id = %(org)s AND e."timestamp" >= %(range_start)s AND e."timestamp" < %(range_end)s
      AND (%(customers)s::uuid[] IS NULL OR e.customer_id = ANY(%(customers)s::uuid[]))
),
grouped AS (
    SELECT bk AS bucket_start, sum(cost) AS costs, count(DISTINCT who) AS active_user_by_event
    FROM (SELECT {bucket_key("t")} AS bk, cost, who FROM scoped) AS k
    GROUP BY GROUPING SETS ((bk), ())
)
SELECT b.idx, COALESCE(g.costs, 0) AS costs, COALESCE(sum(g.costs) OVER w, 0) AS cumulative_costs,
       COALESCE(g.active_user_by_event, 0) AS active_user_by_event,
       (SELECT COALESCE(max(active_user_by_event), 0) FROM grouped WHERE bucket_start IS NULL) AS range_active_users
FROM buckets b LEFT JOIN grouped g ON g.bucket_start = b.bucket_start
WINDOW w AS (ORDER BY b.idx)
ORDER BY b.idx
"""


def _utc_days(scope: MetricsScope) -> bool:
    """Whether every bucket is a UTC day (the zone's offset is 0 at each local midnight of the range)."""
    if scope.unit != "day":
        return False
    zone = zoneinfo.ZoneInfo(scope.timezone)
    day, last = scope.range_start.date(), scope.range_end.date()
    while day <= last:
        if dt.datetime.combine(day, dt.time(), zone).utcoffset():
            return False
        day += dt.timedelta(days=1)
    return True


def event_metrics(scope: MetricsScope) -> list[dict]:
    """Costs and active users per bucket: from the event rollups plus the raw tail when they can answer (the whole
    organization, buckets on UTC hours, rollups refreshed at least once), else from the raw events."""
    if scope.organization_id is not None and scope.customer_ids is None:
        watermark = event_rollup_watermark(organization_id=scope.organization_id)
        if watermark is not None and whole_hours(scope.timezone, scope.range_start, scope.range_end):
            query = event_sql.EVENTS_UTC_DAYS if _utc_days(scope) else event_sql.EVENTS_ANY_GRID
            return _fetch(query, {**scope.params(), "watermark": watermark})
    return event_metrics_raw(scope)


def event_metrics_raw(scope: MetricsScope) -> list[dict]:
    """``event_metrics`` from the raw events alone: the reference the rollups are checked against."""
    return _fetch(_EVENTS, scope.params())


# --- unit economics over a range (SQL in economics_sql) --------------------------------------------------------


def customer_ranking(scope: MetricsScope, *, sorting: str, limit: int, offset: int) -> tuple[list[dict], int]:
    """One page of the customers with revenue or costs in the range, ranked; and how many there are."""
    descending = sorting.startswith("-")
    column = economics_sql.CUSTOMER_SORTING[sorting.lstrip("-")]
    query = economics_sql.CUSTOMERS.replace("{order}", f"{column} {'DESC' if descending else 'ASC'}")
    rows = _fetch(query, {**scope.params(), "limit": limit, "offset": offset})
    total = rows[0]["total_count"] if rows else 0
    return rows, total


def product_economics(scope: MetricsScope) -> list[dict]:
    return _fetch(economics_sql.PRODUCTS, scope.params())


def meter_costs(scope: MetricsScope) -> list[dict]:
    """``[{"meter_id", "name", "events", "costs"}]``: the costs of the events each live meter's filter matches."""
    meters = list(Meter.objects.filter(organization_id=scope.organization_id, archived_at__isnull=True).order_by("name", "id"))
    if not meters or scope.organization_id is None:
        return []
    cost = sql.SQL(economics_sql.COST_AMOUNT.replace("{", "{{").replace("}", "}}").replace("%(currency)s", "{currency}"))
    cost = cost.format(currency=sql.Literal(scope.currency))
    columns, params = [], []
    for meter in meters:
        filter_sql, filter_params = compile_filter(meter.filter)
        columns.append(
            sql.SQL("count(*) FILTER (WHERE {f}), sum({cost}) FILTER (WHERE {f2})").format(f=filter_sql, cost=cost, f2=filter_sql)
        )
        params.extend([*filter_params, *filter_params])
    query = sql.SQL(
        'SELECT {columns} FROM billing_event e WHERE e.organization_id = %s AND e."timestamp" >= %s AND e."timestamp" < %s'
        " AND (%s::uuid[] IS NULL OR e.customer_id = ANY(%s::uuid[]))"
    ).format(columns=sql.SQL(", ").join(columns))
    customers = scope.customer_ids
    params.extend([scope.organization_id, scope.range_start, scope.range_end, customers, customers])
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    return [
        {"meter_id": meter.id, "name": meter.name, "events": row[2 * i] or 0, "costs": row[2 * i + 1] or 0}
        for i, meter in enumerate(meters)
    ]


# --- dashboards --------------------------------------------------------------------------------------------------


def metric_dashboard_list(*, organization):
    return MetricDashboard.objects.filter(organization=organization).order_by("created_at", "id")


def metric_dashboard_get(*, organization, id) -> MetricDashboard | None:
    return MetricDashboard.objects.filter(organization=organization, pk=id).first()
