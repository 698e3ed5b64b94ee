"""Unit economics over a range: revenue, costs and margin per customer (the ranking), per product and per meter.

Costs are events' ``_cost.amount`` (cents, possibly fractional) in the organization's currency. A product's
costs are those of events sent while the customer had a subscription to it (the earliest started, if
several), so a cost is never counted twice; a meter's costs are those of the events its filter matches (an
event may match several meters).
"""

from billing.analytics.buckets import PAID_ORDER_STATUSES
from billing.usage.event_rollups import EVENT_COST

COST_AMOUNT = f"""(CASE WHEN lower(COALESCE(e.metadata #>> '{{_cost,currency}}', %(currency)s)) = %(currency)s
    THEN {EVENT_COST} END)"""

_PAID_IN_RANGE = f"""
    o.organization_id = %(org)s AND o.status IN {PAID_ORDER_STATUSES!r} AND o.currency = %(currency)s
    AND o.paid_at >= %(range_start)s AND o.paid_at < %(range_end)s
    AND (%(products)s::uuid[] IS NULL OR o.product_id = ANY(%(products)s::uuid[]))
    AND (%(customers)s::uuid[] IS NULL OR o.customer_id = ANY(%(customers)s::uuid[]))"""

_EVENTS_IN_RANGE = """
    e.organization_id = %(org)s AND e."timestamp" >= %(range_start)s AND e."timestamp" < %(range_end)s
    AND e.metadata ? '_cost'
    AND (%(customers)s::uuid[] IS NULL OR e.customer_id = ANY(%(customers)s::uuid[]))"""

# Sorting keys -> ORDER BY text (a fixed whitelist: nothing from the request reaches the SQL text).
CUSTOMER_SORTING = {
    "revenue": "revenue",
    "net_revenue": "net_revenue",
    "costs": "costs",
    "margin": "margin",
    "orders": "orders",
}

CUSTOMERS = f"""
WITH revenue AS (
    SELECT o.customer_id, count(*) AS orders, sum(o.net_amount) AS revenue,
           sum(o.net_amount - (o.refunded_amount - o.refunded_tax_amount)) AS net_revenue
    FROM billing_order o WHERE {_PAID_IN_RANGE}
    GROUP BY 1
),
costs AS (
    SELECT e.customer_id, sum({COST_AMOUNT}) AS costs
    FROM billing_event e WHERE {_EVENTS_IN_RANGE} AND e.customer_id IS NOT NULL
    GROUP BY 1
),
ranked AS (
    SELECT c.id AS customer_id, c.external_id, c.email, c.name,
           COALESCE(r.orders, 0) AS orders, COALESCE(r.revenue, 0) AS revenue, COALESCE(r.net_revenue, 0) AS net_revenue,
           COALESCE(k.costs, 0) AS costs, COALESCE(r.net_revenue, 0) - COALESCE(k.costs, 0) AS margin
    FROM customers_customer c
    LEFT JOIN revenue r ON r.customer_id = c.id
    LEFT JOIN costs k ON k.customer_id = c.id
    WHERE c.organization_id = %(org)s AND (r.customer_id IS NOT NULL OR k.customer_id IS NOT NULL)
      AND (%(customers)s::uuid[] IS NULL OR c.id = ANY(%(customers)s::uuid[]))
)
SELECT *, count(*) OVER () AS total_count FROM ranked
ORDER BY {{order}}, customer_id
LIMIT %(limit)s OFFSET %(offset)s
"""

PRODUCTS = f"""
WITH revenue AS (
    SELECT o.product_id, count(*) AS orders, sum(o.net_amount) AS revenue,
           sum(o.net_amount - (o.refunded_amount - o.refunded_tax_amount)) AS net_revenue
    FROM billing_order o WHERE {_PAID_IN_RANGE} AND o.product_id IS NOT NULL
    GROUP BY 1
),
event_costs AS (
    SELECT e.customer_id, e."timestamp" AS t, {COST_AMOUNT} AS cost
    FROM billing_event e WHERE {_EVENTS_IN_RANGE} AND e.customer_id IS NOT NULL
),
attributed AS (
    SELECT (SELECT s.product_id FROM billing_subscription s
            WHERE s.customer_id = ec.customer_id AND s.started_at <= ec.t AND (s.ended_at IS NULL OR s.ended_at > ec.t)
            ORDER BY s.started_at, s.id LIMIT 1) AS product_id,
           ec.cost
    FROM event_costs ec
),
costs AS (
    SELECT product_id, sum(cost) AS costs FROM attributed WHERE product_id IS NOT NULL GROUP BY 1
)
SELECT p.id AS product_id, p.name, COALESCE(r.orders, 0) AS orders, COALESCE(r.revenue, 0) AS revenue,
       COALESCE(r.net_revenue, 0) AS net_revenue, COALESCE(k.costs, 0) AS costs,
       COALESCE(r.net_revenue, 0) - COALESCE(k.costs, 0) AS margin
FROM billing_product p
LEFT JOIN revenue r ON r.product_id = p.id
LEFT JOIN costs k ON k.product_id = p.id
WHERE p.organization_id = %(org)s AND (r.product_id IS NOT NULL OR k.product_id IS NOT NULL)
  AND (%(products)s::uuid[] IS NULL OR p.id = ANY(%(products)s::uuid[]))
ORDER BY margin DESC, p.id
"""
