"""The subscriptions' SQL: stocks at each bucket's snapshot (active, committed, MRR, paying customers), the flows
of starts, cancellations and ends, and retention (logo and revenue churn, net revenue retention)."""

from billing.analytics.buckets import BUCKETS_CTE, bucket_key

# A subscription's end: when it ended, or (dunning gave up: status unpaid, not ended) when it went past due.
SUBSCRIPTION_END = "COALESCE(s.ended_at, CASE WHEN s.status = 'unpaid' THEN s.past_due_at END)"
# The price of one billing interval, per month (numeric): the factor applied to a period's recurring amount.
MONTHLY_FACTOR = """(CASE s.recurring_interval
    WHEN 'month' THEN 1.0 / s.recurring_interval_count
    WHEN 'year' THEN 1.0 / (12 * s.recurring_interval_count)
    WHEN 'week' THEN 52.0 / (12 * s.recurring_interval_count)
    WHEN 'day' THEN 365.0 / (12 * s.recurring_interval_count)
END)"""

_SUBSCRIPTIONS_SCOPE = """
    s.organization_id = %(org)s
    AND s.started_at IS NOT NULL AND s.started_at < %(range_end)s
    AND s.currency = %(currency)s
    AND (%(products)s::uuid[] IS NULL OR s.product_id = ANY(%(products)s::uuid[]))
    AND (%(customers)s::uuid[] IS NULL OR s.customer_id = ANY(%(customers)s::uuid[]))
    AND (%(billing_type)s::text IS NULL OR %(billing_type)s::text = 'recurring')"""

SUBSCRIPTION_CTES = f"""
subs AS (
    SELECT s.id, s.customer_id, s.started_at, {SUBSCRIPTION_END} AS end_at, s.trial_end, s.canceled_at,
           s.customer_cancellation_reason AS reason, s.amount * {MONTHLY_FACTOR} AS trial_monthly,
           {MONTHLY_FACTOR} AS factor
    FROM billing_subscription s
    WHERE {_SUBSCRIPTIONS_SCOPE}
),
-- What each subscription (or billed period) adds to a stock over (a, b].
spans AS (
    SELECT 'active' AS stock, customer_id, started_at AS a, end_at AS b, 1::numeric AS x, false AS churn FROM subs
    UNION ALL SELECT 'committed', customer_id, started_at, LEAST(end_at, canceled_at), 1, false FROM subs
    UNION ALL SELECT 'trial_mrr', customer_id, started_at, LEAST(trial_end, end_at), trial_monthly, false
        FROM subs WHERE trial_end > started_at
    UNION ALL SELECT 'trial_committed_mrr', customer_id, started_at, LEAST(trial_end, end_at, canceled_at), trial_monthly, false
        FROM subs WHERE trial_end > started_at
    -- churn: this period's MRR leaves because the subscription ends (not because a new period follows).
    UNION ALL SELECT stock.name, s.customer_id, GREATEST(i.period_start, s.started_at, s.trial_end),
        CASE WHEN stock.name = 'mrr' THEN LEAST(i.period_end, s.end_at) ELSE LEAST(i.period_end, s.end_at, s.canceled_at) END,
        (i.amount - i.discount_amount) * s.factor, COALESCE(s.end_at <= i.period_end, false)
    FROM subs s
    JOIN billing_order o ON o.subscription_id = s.id AND o.status <> 'void'
    -- A period that ended before the range adds +x and −x to the baseline: nothing. Skipping it is exact.
    JOIN billing_orderitem i ON i.order_id = o.id AND NOT i.proration AND i.period_start IS NOT NULL
                            AND (i.period_end IS NULL OR i.period_end >= %(range_start)s)
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
    SELECT 'paying_customers' AS stock, customer_id, t, n_row,
           CASE WHEN n > 0 AND prev = 0 THEN 1 WHEN n = 0 AND prev > 0 THEN -1 ELSE 0 END::numeric AS dx
    FROM (SELECT customer_id, t, n, n_row, COALESCE(lag(n) OVER (PARTITION BY customer_id ORDER BY n_row), 0) AS prev
          FROM paying_running) AS r
)
"""

SUBSCRIPTIONS = f"""
WITH {BUCKETS_CTE},
{SUBSCRIPTION_CTES},
all_deltas AS (
    SELECT stock, t, dx FROM stock_deltas UNION ALL SELECT stock, t, dx FROM paying_changes
),
stock_grouped AS (
    SELECT CASE WHEN t < %(range_start)s THEN '-infinity'::timestamptz ELSE {bucket_key("t")} END AS bucket_start,
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
    SELECT {bucket_key("e.t")} AS bucket_start,
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
           bl.paying_customers + COALESCE(sum(g.paying_customers) OVER w, 0) AS paying_customers,
           round(bl.mrr + COALESCE(sum(g.mrr) OVER w, 0) - COALESCE(g.mrr, 0)) AS mrr_at_start,
           bl.paying_customers + COALESCE(sum(g.paying_customers) OVER w, 0) - COALESCE(g.paying_customers, 0) AS paying_at_start
    FROM buckets b CROSS JOIN baseline bl LEFT JOIN stock_grouped g ON g.bucket_start = b.bucket_start
    WINDOW w AS (ORDER BY b.idx)
)
SELECT r.idx, r.active_subscriptions::bigint, r.active_at_start::bigint, r.committed_subscriptions::bigint,
       r.monthly_recurring_revenue::bigint, r.committed_monthly_recurring_revenue::bigint,
       r.trial_monthly_recurring_revenue::bigint, r.trial_committed_monthly_recurring_revenue::bigint,
       r.paying_customers::bigint, r.mrr_at_start::bigint, r.paying_at_start::bigint,
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

# Retention, per bucket: the MRR that churned (periods cut short by the subscription's end), the MRR moves of
# customers who were paying at the bucket's start (for net revenue retention), and customers gained and lost.
RETENTION = f"""
WITH {BUCKETS_CTE},
{SUBSCRIPTION_CTES},
paying_intervals AS (
    SELECT customer_id, t AS a, b FROM (
        SELECT customer_id, t, dx, lead(t) OVER (PARTITION BY customer_id ORDER BY n_row) AS b
        FROM paying_changes WHERE dx <> 0
    ) AS c WHERE dx = 1
),
mrr_moves AS (
    SELECT sp.customer_id, {bucket_key("e.t")} AS bucket_start, e.dx, (e.dx < 0 AND sp.churn) AS churned
    FROM spans sp CROSS JOIN LATERAL (VALUES (sp.a, sp.x), (sp.b, -sp.x)) AS e(t, dx)
    WHERE sp.stock = 'mrr' AND (sp.b IS NULL OR sp.b > sp.a)
      AND e.t >= %(range_start)s AND e.t < LEAST(%(now)s::timestamptz, %(range_end)s::timestamptz)
),
existing AS (
    SELECT m.bucket_start, sum(m.dx) AS change
    FROM mrr_moves m
    WHERE EXISTS (SELECT 1 FROM paying_intervals p WHERE p.customer_id = m.customer_id
                  AND p.a < m.bucket_start AND (p.b IS NULL OR p.b >= m.bucket_start))
    GROUP BY 1
),
range_existing AS (
    SELECT COALESCE(sum(m.dx), 0) AS change
    FROM mrr_moves m
    WHERE EXISTS (SELECT 1 FROM paying_intervals p WHERE p.customer_id = m.customer_id
                  AND p.a < %(range_start)s AND (p.b IS NULL OR p.b >= %(range_start)s))
),
churned AS (
    SELECT bucket_start, -sum(dx) FILTER (WHERE churned) AS mrr FROM mrr_moves GROUP BY 1
),
logos AS (
    SELECT {bucket_key("t")} AS bucket_start, count(*) FILTER (WHERE dx = 1) AS gained, count(*) FILTER (WHERE dx = -1) AS lost
    FROM paying_changes
    WHERE dx <> 0 AND t >= %(range_start)s AND t < LEAST(%(now)s::timestamptz, %(range_end)s::timestamptz)
    GROUP BY 1
)
SELECT b.idx,
       COALESCE(e.change, 0) AS existing_mrr_change,
       (SELECT change FROM range_existing) AS range_existing_mrr_change,
       round(COALESCE(c.mrr, 0))::bigint AS churned_monthly_recurring_revenue,
       COALESCE(l.gained, 0) AS customers_gained,
       COALESCE(l.lost, 0) AS customers_lost
FROM buckets b
LEFT JOIN existing e ON e.bucket_start = b.bucket_start
LEFT JOIN churned c ON c.bucket_start = b.bucket_start
LEFT JOIN logos l ON l.bucket_start = b.bucket_start
ORDER BY b.idx
"""
